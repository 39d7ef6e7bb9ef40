"""The standard connector test suite: every connector gets it with one line.

    from pipeline.sources.testing import SourceTestSuite

    class TestRssStandard(SourceTestSuite):
        source_cls = RssSource
        options = {"feed_url": "https://example.org/feed"}  # plus recorded HTTP in a fixture

It runs the connector in memory (no broker) into a temporary data directory and pins what every
connector owes the pipeline: declared metadata, registration, records that validate against their
topic's schema, unique and repeatable event ids, a checkpoint on disk after a run, dry-run output.
A connector that reads the network must replay recorded fixtures (respx, vcrpy) in these tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

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
            RunOptions(limit=limit or self.limit),
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

    def test_dry_run_prints_json_lines(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        settings = load_settings(data_dir=tmp_path)
        config = self.source_cls.Config.load(self.source_cls.name, **self.options)
        runner = Runner(
            self.source_cls, config, settings, RunOptions(dry_run=True, limit=20),
            emitter=JsonLinesEmitter(),
        )  # fmt: skip
        assert runner.run() == 0
        lines = capsys.readouterr().out.splitlines()
        assert len(lines) == 20
        for line in lines:
            row = orjson.loads(line)
            if row["topic"] != DeadLetter.topic:
                decode(row["topic"], orjson.dumps(row["value"]))
