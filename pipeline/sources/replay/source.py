"""``replay``: JSONL or CSV files of any topic, for backfills and history imports.

    buzz source run replay --file capture.jsonl --file old-signups.csv --topic buzz.signups

A JSONL line is either the dry-run format ``{"topic", "key", "value"}`` (so the output of
``buzz source run X --dry-run > capture.jsonl`` replays as is) or a bare event, whose topic is
``--topic``. A CSV file has a header row; its topic is ``--topic`` or a ``topic`` column; nested
fields are dotted columns (``author.handle``, ``utm.source``), lists are JSON (``["a", "b"]``),
empty cells take the schema's default. Each record is validated against its topic's schema.

Checkpoint, per file (by absolute path): the byte offset and line number reached, so an
interrupted import resumes at the next line; a file that shrank is read again from the start.
A rich progress bar (stderr) follows the bytes read and a summary per topic ends the run.

Failure policy: an invalid record (not JSON, unknown topic, fails its schema) is a dead letter
naming the file, line and reason, and the import goes on; a file that cannot be opened is fatal
(nothing would be imported from it, and a typo should not pass quietly).
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Annotated, Any, ClassVar

from pydantic import Field, field_validator
from pydantic_settings import NoDecode
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from pipeline.sources.base import SourceConfig, StreamingConfig, StreamingSource
from pipeline.sources.emitter import Record
from pipeline.sources.errors import FatalError
from pipeline.sources.replay.parsing import TOPICS, Invalid, csv_record, parse_jsonl, validate


class ReplayConfig(StreamingConfig):
    file: Annotated[list[Path], NoDecode] = Field(description="JSONL or CSV file (repeatable)")
    topic: str | None = Field(None, description="Topic of bare events (JSONL) or CSV rows")
    progress: bool = Field(True, description="Progress bar and summary on stderr")

    @field_validator("file", mode="before")
    @classmethod
    def _split(cls, v: Any) -> Any:
        return [p for p in re.split(r"[,\s]+", v) if p] if isinstance(v, str) else v

    @field_validator("file")
    @classmethod
    def _exists(cls, v: list[Path]) -> list[Path]:
        if not v:
            raise ValueError("give at least one --file PATH")
        for path in v:
            if not path.is_file():
                raise ValueError(f"no such file: {path}")
        return v

    @field_validator("topic")
    @classmethod
    def _known(cls, v: str | None) -> str | None:
        if v is not None and v not in TOPICS:
            raise ValueError(f"unknown topic {v!r}; one of {', '.join(sorted(TOPICS))}")
        return v


class ReplaySource(StreamingSource[ReplayConfig]):
    name: ClassVar[str] = "replay"
    description: ClassVar[str] = (
        "JSONL/CSV files of any topic (backfills, history, dry-run captures)"
    )
    Config: ClassVar[type[SourceConfig]] = ReplayConfig

    def setup(self) -> None:
        self.accepted: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()
        self.console = Console(stderr=True)

    def stream(self) -> Iterator[Record]:
        files = [p.resolve() for p in self.config.file]
        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=self.console,
            disable=not self.config.progress,
        )
        try:
            with progress:
                for path in files:
                    if self.ctx.stopping():
                        return
                    yield from self._file(path, progress)
        finally:
            self._summary()

    def _file(self, path: Path, progress: Progress) -> Iterator[Record]:
        state = self.checkpoint.setdefault("files", {}).setdefault(str(path), {})
        try:
            f = path.open("rb")
        except OSError as exc:
            raise FatalError(f"--file {path}: {exc.strerror}") from None
        with f:
            size = path.stat().st_size
            offset, lineno = int(state.get("offset", 0)), int(state.get("line", 0))
            if offset > size:
                self.log.warning(
                    "%s shrank since the last run; reading it again from the start", path
                )
                offset = lineno = 0
            is_csv = path.suffix.lower() == ".csv"
            header = self._header(f) if is_csv else []
            if offset:
                f.seek(offset)
            elif is_csv:
                offset, lineno = f.tell(), 1
            task = progress.add_task(path.name, total=size, completed=offset)
            for end, raw in self._records(f, is_csv):
                first_line = lineno = lineno + 1
                # A CSV record with quoted newlines spans several lines of the file.
                lineno += raw.count(b"\n", 0, len(raw.rstrip(b"\r\n")))
                if not raw.strip():
                    state["offset"], state["line"] = end, lineno
                    continue
                record = self._one(path, first_line, raw, header, is_csv)
                state["offset"], state["line"] = end, lineno  # advanced as it is yielded
                progress.update(task, completed=end)
                yield record
                if self.ctx.stopping():
                    return

    @staticmethod
    def _header(f: IO[bytes]) -> list[str]:
        f.seek(0)
        line = f.readline().decode("utf-8-sig")
        return next(csv.reader([line]), [])

    @staticmethod
    def _records(f: IO[bytes], is_csv: bool) -> Iterator[tuple[int, bytes]]:
        """(offset after it, bytes) of each record; a CSV record may span lines."""
        while True:
            raw = f.readline()
            if not raw:
                return
            # A quoted CSV cell may hold newlines: an odd number of quotes means "not done yet".
            while is_csv and raw.count(b'"') % 2:
                more = f.readline()
                if not more:
                    break
                raw += more
            yield f.tell(), raw

    def _one(self, path: Path, lineno: int, raw: bytes, header: list[str], is_csv: bool) -> Record:
        topic = "?"
        try:
            if is_csv:
                cells = next(csv.reader([raw.decode("utf-8")]), [])
                topic, value = csv_record(header, cells, self.config.topic)
            else:
                topic, value = parse_jsonl(raw, self.config.topic)
            record: Record = validate(topic, value)
        except (Invalid, UnicodeDecodeError, csv.Error) as exc:
            self.rejected[topic] += 1
            reason = f"{path.name}:{lineno}: {exc}"
            # The id names the file and line too: two equal bad lines are two dead letters.
            ident = hashlib.sha256(f"{path}:{lineno}:".encode() + raw).hexdigest()[:32]
            dead = self.dead_letter(raw.rstrip(b"\r\n"), reason)
            return dead.model_copy(update={"event_id": f"dl:replay:{ident}"})
        self.accepted[topic] += 1
        return record

    def _summary(self) -> None:
        topics = sorted(set(self.accepted) | set(self.rejected))
        line = ", ".join(
            f"{t}: {self.accepted[t]} accepted, {self.rejected[t]} dead-lettered" for t in topics
        )
        self.log.info("replay summary: %s", line or "nothing read")
        if not self.config.progress:
            return
        table = Table(title="replay summary")
        for col in ("topic", "accepted", "dead-lettered"):
            table.add_column(col, justify="left" if col == "topic" else "right")
        for t in topics:
            table.add_row(t, str(self.accepted[t]), str(self.rejected[t]))
        table.add_row(
            "total",
            str(sum(self.accepted.values())),
            str(sum(self.rejected.values())),
            style="bold",
        )
        self.console.print(table)
