"""Connector discovery through the ``buzz.sources`` entry points, and ``buzz source list/run``.

A connector plugs in with one line in its package's ``pyproject.toml``::

    [project.entry-points."buzz.sources"]
    rss = "pipeline.sources.rss:RssSource"

Failure policy: a connector whose module fails to import is shown as broken by ``list`` (the other
connectors still work) and ``run`` of it stops with the import error; an unknown name stops with
the list of known ones; bad settings stop with one message naming the setting (exit 2).
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from pipeline.settings import ConfigError, get_settings
from pipeline.sources.base import Source
from pipeline.sources.options import boolean_fields, resolve_booleans
from pipeline.sources.runner import Runner, RunOptions, install_stop_signals

GROUP = "buzz.sources"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Entry:
    name: str
    target: str
    source: type[Source[Any]] | None
    error: str = ""


def discover() -> dict[str, Entry]:
    """Every registered connector by name, loaded; a broken one carries its import error."""
    found: dict[str, Entry] = {}
    for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        try:
            cls = ep.load()
        except Exception as exc:  # a broken plugin must not hide the others
            found[ep.name] = Entry(ep.name, ep.value, None, f"{type(exc).__name__}: {exc}")
            continue
        if not (isinstance(cls, type) and issubclass(cls, Source)):
            found[ep.name] = Entry(ep.name, ep.value, None, "not a pipeline.sources.base.Source")
            continue
        found[ep.name] = Entry(ep.name, ep.value, cls)
    return found


def list_main() -> int:
    table = Table(title="Source connectors (entry point group buzz.sources)")
    table.add_column("name", style="bold")
    table.add_column("kind")
    table.add_column("description")
    for name, entry in discover().items():
        if entry.source is None:
            table.add_row(name, "[red]broken[/red]", f"{entry.target}: {entry.error}")
        else:
            table.add_row(name, entry.source.kind, entry.source.description)
    Console(width=120).print(table)
    return 0


def _setup_logging(level: str) -> None:
    if logging.getLogger().handlers:  # embedded (tests, supervisor): the host's logging rules
        return
    # Logs go to stderr so a dry run's stdout holds nothing but JSON lines; rich for a person at
    # a terminal, plain one-line records for log files (buzz up, CI).
    handler: logging.Handler
    fmt = "%(message)s"
    if sys.stderr.isatty():
        handler = RichHandler(console=Console(stderr=True), show_path=False)
    else:
        handler = logging.StreamHandler(sys.stderr)
        fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    logging.basicConfig(level=level, format=fmt, handlers=[handler])
    logging.getLogger("kafka").setLevel(logging.WARNING)


def _fail(message: str) -> int:
    Console(stderr=True).print(f"[red]error:[/red] {message}", highlight=False)
    return 2


def run_main(
    name: str,
    *,
    rate: float | None = None,
    once: bool | str | None = None,
    dry_run: bool | str | None = None,
    limit: int | None = None,
    **options: Any,
) -> int:
    """Run connector ``name``; returns the exit code (0 clean stop, 1 fatal, 2 bad start-up).

    ``rate`` reaches connectors whose Config has a ``rate`` field and is ignored by others (the CLI
    always passes its default). Extra ``options`` (``seed=...``) go to the Config and must exist.
    Boolean options, the runner's (``once``, ``dry_run``) and the Config's, take the forms of
    ``options.py``: ``no_x=True`` means ``x=False``, and words such as ``"off"`` are read.
    """
    try:
        settings = get_settings()
    except ConfigError as exc:
        return _fail(exc.message)
    _setup_logging(settings.log_level)
    entries = discover()
    entry = entries.get(name)
    if entry is None:
        known = ", ".join(entries) or "none"
        return _fail(f"unknown source {name!r}; known sources: {known} (see `buzz source list`)")
    if entry.source is None:
        return _fail(f"source {name!r} ({entry.target}) cannot be loaded: {entry.error}")
    cls = entry.source
    if limit is not None and limit < 0:
        return _fail("--limit: must be 0 or more")
    given = {k: v for k, v in (("once", once), ("dry_run", dry_run)) if v is not None}
    try:
        options = resolve_booleans(
            {**options, **given}, {"once", "dry_run", *boolean_fields(cls.Config)}
        )
    except ConfigError as exc:
        return _fail(f"source {name!r}: {exc.message}")
    once, dry_run = options.pop("once", False), options.pop("dry_run", False)
    fields = cls.Config.model_fields
    unknown = sorted(k for k, v in options.items() if v is not None and k not in fields)
    if unknown:
        opts = ", ".join("--" + k.replace("_", "-") for k in unknown)
        return _fail(f"source {name!r} has no option {opts}")
    overrides = {k: v for k, v in options.items() if v is not None}
    if rate is not None and "rate" in fields:
        overrides["rate"] = rate
    try:
        config = cls.Config.load(name, **overrides)
    except ConfigError as exc:
        return _fail(f"source {name!r}: {exc.message}")

    run = RunOptions(once=bool(once), dry_run=bool(dry_run), limit=limit)
    runner = Runner(cls, config, settings, run)
    restore = install_stop_signals(runner.stop)
    try:
        return runner.run()
    except ConfigError as exc:  # e.g. an unreadable checkpoint, found at start
        return _fail(exc.message)
    finally:
        restore()
        sys.stdout.flush()
