"""The standard connector test suite: every connector gets it with one line.

    from pipeline.sources.testing import SourceTestSuite

    class TestRssStandard(SourceTestSuite):
        source_cls = RssSource
        options = {"feed_url": "https://example.org/feed"}  # plus recorded HTTP in a fixture

It runs the connector in memory (no broker) into a temporary data directory and pins what every
connector owes the pipeline: declared metadata, registration, records that validate against their
topic's schema, unique and repeatable event ids, a checkpoint on disk after a run, dry-run output.
A connector that reads the network must replay recorded fixtures in these tests: serve them with
:class:`FixtureServer` (a local HTTP server over a folder of recorded responses) or respx/vcrpy.
"""

from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

import orjson
import pytest

from pipeline.events import DeadLetter, decode
from pipeline.settings import load_settings
from pipeline.sources.base import Source, SourceConfig
from pipeline.sources.emitter import JsonLinesEmitter, MemoryEmitter, Record
from pipeline.sources.runner import Runner, RunOptions


class SourceTestSuite:
    source_cls: ClassVar[type[Source[Any]]]
    options: ClassVar[dict[str, Any]] = {}
    limit: ClassVar[int] = 200
    registered: ClassVar[bool] = True  # set False for a connector not (yet) in the entry points
    # Run with --once? None means: polling sources yes (one poll of the recorded responses; without
    # it the runner would poll the same fixtures forever), streaming sources no (their stream ends).
    once: ClassVar[bool | None] = None

    def run_once(self) -> bool:
        return self.source_cls.kind == "polling" if self.once is None else self.once

    def run_source(
        self, data_dir: Path, limit: int | None = None, **extra: Any
    ) -> tuple[int, list[Record]]:
        settings = load_settings(data_dir=data_dir)
        config = self.source_cls.Config.load(self.source_cls.name, **(self.options | extra))
        emitter = MemoryEmitter()
        runner = Runner(
            self.source_cls,
            config,
            settings,
            RunOptions(limit=limit or self.limit, once=self.run_once()),
            emitter=emitter,
        )
        return runner.run(), emitter.records

    def test_declares_metadata(self) -> None:
        cls = self.source_cls
        assert cls.name and cls.name == cls.name.lower()
        assert cls.kind in ("polling", "streaming")
        assert cls.description.strip()
        assert issubclass(cls.Config, SourceConfig)

    def test_registered_under_its_name(self) -> None:
        if not self.registered:
            pytest.skip("not registered")
        from pipeline.sources.registry import discover

        assert discover()[self.source_cls.name].source is self.source_cls

    def test_records_validate_against_their_topic(self, tmp_path: Path) -> None:
        code, records = self.run_source(tmp_path)
        assert code == 0
        assert records, "the connector emitted nothing"
        for record in records:
            if isinstance(record, DeadLetter):
                assert record.reason and record.source == self.source_cls.name
                continue
            event = decode(record.topic, record.to_json())
            assert event.event_id == record.event_id  # type: ignore[attr-defined]

    def test_event_ids_unique_and_repeatable(self, tmp_path: Path) -> None:
        _, first = self.run_source(tmp_path / "a")
        _, second = self.run_source(tmp_path / "b")
        ids = [r.event_id for r in first]  # type: ignore[attr-defined]
        assert len(ids) == len(set(ids)), "duplicate event ids within one run"
        assert ids == [r.event_id for r in second]  # type: ignore[attr-defined]

    def test_checkpoint_written(self, tmp_path: Path) -> None:
        self.run_source(tmp_path)
        path = tmp_path / "checkpoints" / f"{self.source_cls.name}.json"
        assert isinstance(orjson.loads(path.read_bytes()), dict)

    def dry_run(self, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
        """The lines one ``--dry-run`` of 20 records prints."""
        settings = load_settings(data_dir=data_dir)
        config = self.source_cls.Config.load(self.source_cls.name, **self.options)
        runner = Runner(
            self.source_cls, config, settings,
            RunOptions(dry_run=True, limit=20, once=self.run_once()),
            emitter=JsonLinesEmitter(),
        )  # fmt: skip
        assert runner.run() == 0
        return capsys.readouterr().out.splitlines()

    def test_dry_run_prints_json_lines(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        lines = self.dry_run(tmp_path, capsys)
        assert len(lines) == 20
        for line in lines:
            row = orjson.loads(line)
            if row["topic"] != DeadLetter.topic:
                decode(row["topic"], orjson.dumps(row["value"]))

    def test_dry_run_changes_no_state(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Two dry runs print the same events and leave the data directory untouched."""
        outputs = []
        for _ in range(2):
            rows = [orjson.loads(line) for line in self.dry_run(tmp_path / "data", capsys)]
            outputs.append([(row["topic"], row["key"]) for row in rows])
        assert outputs[0] and outputs[0] == outputs[1]
        assert not (tmp_path / "data").exists(), "a dry run wrote state"


class FixtureServer:
    """Serves recorded HTTP responses from a folder on 127.0.0.1, for connector tests.

    ``GET /t/57.json?x=1`` answers with the file ``<root>/t/57.json`` (the query string is ignored;
    ``/`` is ``index``). Every answer carries an ``ETag`` (SHA-1 of the body) and honours
    ``If-None-Match`` with 304, so conditional GET is testable. ``respond(path, ...)`` overrides a
    path (429 with ``Retry-After``, 5xx, hostile bodies); ``seen`` lists the requests received.
    The server binds a random free port, so it can be started when a test module is imported
    (the suite's ``options`` need its URL) and runs in a daemon thread.
    """

    def __init__(self, root: Path | None = None) -> None:
        self.root = root
        self.overrides: dict[str, list[tuple[int, bytes, dict[str, str]]]] = {}
        self.seen: list[tuple[str, dict[str, str]]] = []
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the server first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def respond(
        self,
        path: str,
        status: int = 200,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` requests of ``path`` with this response instead."""
        self.overrides.setdefault(path, []).extend([(status, body, headers or {})] * times)

    def _answer(self, raw_path: str, headers: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        path = urlsplit(raw_path).path
        self.seen.append((raw_path, headers))
        queued = self.overrides.get(path)
        if queued:
            return queued.pop(0)
        rel = unquote(path).strip("/") or "index"
        file = (self.root / rel) if self.root else None
        if file is None or ".." in rel.split("/") or not file.is_file():
            return 404, b'{"error": "not found"}', {"Content-Type": "application/json"}
        body = file.read_bytes()
        etag = '"' + hashlib.sha1(body).hexdigest() + '"'
        if headers.get("if-none-match") == etag:
            return 304, b"", {"ETag": etag}
        kind = {".json": "application/json", ".xml": "application/xml"}.get(file.suffix)
        return 200, body, {"ETag": etag, "Content-Type": kind or "application/octet-stream"}

    def start(self) -> FixtureServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hdrs = {k.lower(): v for k, v in self.headers.items()}
                status, body, extra = owner._answer(self.path, hdrs)
                self.send_response(status)
                for k, v in extra.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:  # keep test output quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FixtureServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
