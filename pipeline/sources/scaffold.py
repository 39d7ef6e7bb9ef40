"""``buzz source new NAME``: a connector package, its recorded fixture and its test, passing
as made.

Writes, relative to the project root (the current directory), the shape every connector here has:

- ``pipeline/sources/<name>/``: ``source.py`` (typed Config, ``poll()`` with a since-id
  checkpoint, the failure policy), ``client.py`` (the platform's API, through the kit's one HTTP
  helper), ``mapping.py`` (the platform's items to events, pure) and ``__init__.py``, with TODOs
  saying what to fill in;
- ``tests/fixtures/sources/<name>/items.json``: a sample response, to replace with a recorded one;
- ``tests/test_source_<name>.py``: the shared suite plus one field-level test, serving the fixture
  from a local HTTP server (``FixtureServer``), so nothing touches the network.

Failure policy: an invalid name or any file that already exists stops with a clear message and
exit code 2 before anything is written.
"""

from __future__ import annotations

import json
import keyword
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console

NAME = re.compile(r"^[a-z][a-z0-9_]{1,31}$")
# Module names of the kit itself: a connector named like them would shadow or overwrite them.
RESERVED = {
    "base", "runner", "errors", "checkpoint", "emitter", "registry", "testing", "scaffold",
    "html_text", "http", "options", "terms", "demo", "simulator", "test", "tests", "source",
    "sources",
}  # fmt: skip

PACKAGE = '''"""The ``{name}`` connector. TODO: one line on what it reads and what it becomes.

``source.py`` (the connector, registered as ``{name}``), ``client.py`` (the API),
``mapping.py`` (items to events, pure).
"""
'''

SOURCE = '''"""``{name}``: TODO: one line on what this source reads and what it becomes.

    buzz source run {name} --base-url https://api.example.org --once --dry-run

Checkpoint: ``since_id``, the highest item id yielded; a restart asks only for newer items.

Failure policy (the client raises the kit's classes, the runner applies them):

- timeouts, connection errors, 429 and 5xx: retriable (the runner backs off, honouring
  ``Retry-After``) and the next poll resumes from the checkpoint;
- other 4xx (bad credentials, wrong URL): fatal;
- an item that cannot become an event: a dead letter (``self.build`` does it), the others go on.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import orjson
from pydantic import Field, SecretStr

from pipeline.events import Mention
{source_imports}


class {cls}Config(PollingConfig):
    # Options: --base-url on the command line or BUZZ_SOURCE_{env}_BASE_URL in the environment.
    base_url: str = Field(description="API root, e.g. https://api.example.org")
    # TODO: the API's credentials, if any (SecretStr: never printed or logged).
    token: SecretStr | None = Field(None, description="Bearer token")
    timeout: float = Field(20.0, gt=0, description="Seconds per HTTP request")


class {cls}Source(PollingSource[{cls}Config]):
    name: ClassVar[str] = "{name}"
    description: ClassVar[str] = "TODO: what this source reads"
    Config: ClassVar[type[SourceConfig]] = {cls}Config

    def setup(self) -> None:
        token = self.config.token
        self.client = {cls}Client(
            self.config.base_url,
            self.config.timeout,
            token.get_secret_value() if token is not None else None,
        )

    def teardown(self) -> None:
        self.client.close()

    def poll(self) -> Iterator[Record]:
        since = int(self.checkpoint.get("since_id", 0))
        items = self.client.items_since(since)
        # Oldest first, and only what is newer than the checkpoint (servers may ignore since_id).
        for item in sorted(items, key=lambda i: int(i.get("id", 0))):
            if int(item.get("id", 0)) <= since:
                continue
            self.checkpoint["since_id"] = int(item["id"])  # advanced as the item is yielded
            raw = orjson.dumps(item)
            try:
                fields = item_fields(item)
            except Unmappable as exc:
                yield self.dead_letter(raw, str(exc))
                continue
            yield self.build(Mention, raw, **fields)
'''

CLIENT = '''"""The {name} API, as the connector uses it. TODO: name the endpoints, link the docs.

This skeleton reads ``GET {{base_url}}/items.json?since_id=N`` (a JSON list of items) through the
kit's one HTTP helper (``pipeline.sources.http``): a timeout on every request, and answers sorted
into the kit's failure classes (retriable with the server's hint, or fatal).
"""

from __future__ import annotations

from typing import Any

from pipeline.sources.errors import RetriableError
from pipeline.sources.http import TimeoutSession, fetch_json


class {cls}Client:
    def __init__(self, base_url: str, timeout: float, token: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        auth = {{"Authorization": f"Bearer {{token}}"}} if token else {{}}
        self.session = TimeoutSession(timeout, headers=auth)

    def close(self) -> None:
        self.session.close()

    def items_since(self, since_id: int) -> list[dict[str, Any]]:
        """The items newer than ``since_id`` (TODO: the real endpoint, and its paging)."""
        url = self.base_url + "/items.json"
        items, _ = fetch_json(self.session, url, f"GET {{url}}", params={{"since_id": since_id}})
        if not isinstance(items, list):
            raise RetriableError(f"GET {{url}}: expected a JSON list of items")
        return [i for i in items if isinstance(i, dict)]
'''

MAPPING = '''"""{name} items to event fields: pure functions, no I/O. TODO: map the platform's item
to the topic's schema (see docs/events.md)."""

from __future__ import annotations

from typing import Any


class Unmappable(ValueError):
    """The item lacks what an event needs; the message is the dead letter's reason."""


def item_fields(item: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments for ``Mention`` from one item; raises Unmappable."""
    if not item.get("id"):
        raise Unmappable("item without an id")
    author = item.get("author") or {{}}
    return {{
        "event_id": f"{name}:{{item['id']}}",  # stable: derived from the platform's own id
        "platform": "{name}",
        "occurred_at": item.get("created_at"),
        "author": {{
            "id": str(author.get("id", "")),
            "handle": author.get("handle", ""),
            "audience": author.get("followers", 0),
        }},
        "text": item.get("text", ""),
        "url": item.get("url", ""),
        "links": item.get("links", []),
    }}
'''

TEST = '''"""The {name} connector against its recorded fixtures (no network)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pipeline.events import Mention
from pipeline.settings import load_settings
from pipeline.sources import MemoryEmitter, Runner, RunOptions
{imports}

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "sources" / "{name}"
SERVER = FixtureServer(FIXTURES).start()  # serves items.json on 127.0.0.1, never the network


class Test{cls}Standard(SourceTestSuite):
    source_cls = {cls}Source
    options = {{"base_url": SERVER.url}}  # noqa: RUF012
    # TODO: set True once the entry point is in pyproject.toml and `pip install -e .` ran.
    registered = False


def test_first_item_fields(tmp_path: Path) -> None:
    """TODO: pin the exact fields your mapping gives a recorded item."""
    config = {cls}Source.Config.load("{name}", base_url=SERVER.url)
    emitter = MemoryEmitter()
    runner = Runner(
        {cls}Source, config, load_settings(data_dir=tmp_path), RunOptions(once=True),
        emitter=emitter,
    )  # fmt: skip
    assert runner.run() == 0
    first = emitter.records[0]
    assert isinstance(first, Mention)
    assert first.event_id == "{name}:1"
    assert first.author.handle == "voter_1" and first.author.audience == 10
    assert first.occurred_at == datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    # A second run resumes from the checkpoint: nothing is repeated.
    again = MemoryEmitter()
    Runner(
        {cls}Source, config, load_settings(data_dir=tmp_path), RunOptions(once=True),
        emitter=again,
    ).run()  # fmt: skip
    assert again.records == []
'''


def sample_items() -> list[dict[str, object]]:
    """A made-up response of 25 items (the shared suite's dry run asks for 20)."""
    start = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    return [
        {
            "id": n,
            "created_at": (start + timedelta(minutes=5 * (n - 1))).isoformat(),
            "author": {"id": 100 + n % 7, "handle": f"voter_{n % 7}", "followers": 10 * (n % 7)},
            "text": f"Sample post {n} about the campaign",
            "url": f"https://example.org/posts/{n}",
            "links": [],
        }
        for n in range(1, 26)
    ]


def _class_name(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def new_main(name: str, root: Path | None = None) -> int:
    """Scaffold connector ``name`` under ``root`` (default: the current directory)."""
    err = Console(stderr=True)
    if not NAME.match(name) or keyword.iskeyword(name) or name in RESERVED:
        err.print(
            f"[red]error:[/red] invalid connector name {name!r}: use 2-32 lower-case letters, "
            "digits or _, starting with a letter, not a Python keyword nor one of the kit's "
            f"modules ({', '.join(sorted(RESERVED))})",
            highlight=False,
        )
        return 2
    root = Path.cwd() if root is None else root
    if not (root / "pipeline" / "sources").is_dir():
        err.print(
            f"[red]error:[/red] no pipeline/sources/ under {root}: run `buzz source new` from "
            "the project root (the folder with pyproject.toml)",
            highlight=False,
        )
        return 2
    cls = _class_name(name)
    # In isort order, which depends on the name, so the generated test is ruff-clean as made.
    imports = "\n".join(
        sorted(
            [
                f"from pipeline.sources.{name}.source import {cls}Source",
                "from pipeline.sources.testing import FixtureServer, SourceTestSuite",
            ]
        )
    )
    source_imports = "\n".join(
        sorted(
            [
                "from pipeline.sources.base import PollingConfig, PollingSource, SourceConfig",
                "from pipeline.sources.emitter import Record",
                f"from pipeline.sources.{name}.client import {cls}Client",
                f"from pipeline.sources.{name}.mapping import Unmappable, item_fields",
            ]
        )
    )
    package = root / "pipeline" / "sources" / name
    values = {"name": name, "cls": cls, "env": name.upper(), "source_imports": source_imports}
    files = {
        package / "__init__.py": PACKAGE.format(**values),
        package / "source.py": SOURCE.format(**values),
        package / "client.py": CLIENT.format(**values),
        package / "mapping.py": MAPPING.format(**values),
        root / "tests" / "fixtures" / "sources" / name / "items.json": json.dumps(
            sample_items(), indent=2
        )
        + "\n",
        root / "tests" / f"test_source_{name}.py": TEST.format(name=name, cls=cls, imports=imports),
    }
    existing = [str(p.relative_to(root)) for p in files if p.exists()]
    if existing:
        err.print(
            f"[red]error:[/red] not overwriting what exists: {', '.join(existing)}",
            highlight=False,
        )
        return 2
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"created {path.relative_to(root)}")
    print(
        f"""
Next steps:
  1. Run its tests (they pass as generated):  pytest tests/test_source_{name}.py
  2. Fill in the TODOs in pipeline/sources/{name}/ (source.py, client.py, mapping.py); replace
     tests/fixtures/sources/{name}/items.json with a response recorded from the real API
     (or written from its documentation), and pin its fields in the test.
  3. Register it: add this line under [project.entry-points."buzz.sources"] in pyproject.toml
         {name} = "pipeline.sources.{name}.source:{cls}Source"
     then `pip install -e .`, and set registered = True in the test.
  4. Try it: buzz source list; buzz source run {name} --base-url URL --once --dry-run
See docs/connectors.md."""
    )
    return 0
