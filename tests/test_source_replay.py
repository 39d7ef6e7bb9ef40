"""The replay connector: dry-run captures, bare JSONL, CSV, dead letters by line, resume."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from pipeline.events import DeadLetter, Mention, Signup, ThreadPost
from pipeline.settings import ConfigError, load_settings
from pipeline.sources import CheckpointStore, JsonLinesEmitter, MemoryEmitter, Runner, RunOptions
from pipeline.sources.emitter import Record
from pipeline.sources.replay.source import ReplaySource
from pipeline.sources.testing import SourceTestSuite

pytestmark = pytest.mark.usefixtures("isolated_settings")

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "sources" / "replay"
CAPTURE = FIXTURES / "capture.jsonl"
SIGNUPS = FIXTURES / "signups.csv"


class TestReplayStandard(SourceTestSuite):
    source_cls = ReplaySource
    options = {"file": [CAPTURE, SIGNUPS], "topic": "buzz.signups", "progress": False}  # noqa: RUF012


def run(
    data_dir: Path, limit: int | None = None, emitter: Any = None, **options: Any
) -> tuple[int, list[Record]]:
    config = ReplaySource.Config.load("replay", **({"progress": False} | options))
    emitter = emitter or MemoryEmitter()
    runner = Runner(
        ReplaySource,
        config,
        load_settings(data_dir=data_dir),
        RunOptions(limit=limit),
        emitter=emitter,
    )
    return runner.run(), getattr(emitter, "records", [])


def test_a_dry_run_capture_replays_to_the_same_events(tmp_path: Path) -> None:
    code, records = run(tmp_path, file=[CAPTURE])
    assert code == 0 and len(records) == 24
    lines = [orjson.loads(line) for line in CAPTURE.read_bytes().splitlines()]
    for record, line in zip(records, lines, strict=True):
        assert record.topic == line["topic"] and record.key().decode() == line["key"]
        assert orjson.loads(record.to_json()) == line["value"]  # ingested_at kept as recorded
    assert {type(r) for r in records} == {Mention, Signup, ThreadPost}


def test_dry_run_output_of_a_replay_is_replayable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(tmp_path / "a", file=[CAPTURE], emitter=JsonLinesEmitter())
    again = tmp_path / "again.jsonl"
    again.write_text(capsys.readouterr().out)
    assert again.read_bytes() == CAPTURE.read_bytes()


def test_csv_rows_nest_dotted_columns_and_dead_letter_bad_rows(tmp_path: Path) -> None:
    code, records = run(tmp_path, file=[SIGNUPS], topic="buzz.signups")
    assert code == 0 and len(records) == 4
    first, second, third, bad = records
    assert isinstance(first, Signup) and first.event_id == "import:2024-0001"
    assert first.utm.source == "newsletter" and first.utm.campaign == "gotv-2024"
    assert first.referral_code == "ref-maria" and first.postal_prefix == "972"
    assert first.email_hmac is None
    assert isinstance(second, Signup) and second.referral_code == "" and second.channel == "event"
    assert isinstance(third, Signup) and third.form == "volunteer, phone bank"
    assert isinstance(bad, DeadLetter) and bad.source == "replay"
    assert bad.reason.startswith("signups.csv:5: occurred_at:")
    assert bad.payload.startswith("import:2024-0004,actionnetwork,not a date")


def test_bad_lines_are_dead_letters_with_line_numbers(tmp_path: Path) -> None:
    mention = orjson.loads(CAPTURE.read_bytes().splitlines()[0])["value"]
    path = tmp_path / "mixed.jsonl"
    lines = [
        orjson.dumps(mention),  # bare event: --topic says which
        b"{not json",
        b"",  # blank lines are skipped, but counted
        orjson.dumps({"topic": "buzz.nope", "key": "", "value": mention}),
        orjson.dumps(mention | {"schema_version": 2}),
        orjson.dumps({k: v for k, v in mention.items() if k != "author"}),
        orjson.dumps(mention),  # the same bad-free line twice: one event id, stable
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    code, records = run(tmp_path, file=[path], topic="buzz.mentions")
    assert code == 0
    kinds = [type(r).__name__ for r in records]
    assert kinds == ["Mention", "DeadLetter", "DeadLetter", "DeadLetter", "DeadLetter", "Mention"]
    reasons = [r.reason for r in records if isinstance(r, DeadLetter)]
    assert reasons[0].startswith("mixed.jsonl:2: not JSON")
    assert reasons[1] == "mixed.jsonl:4: unknown topic 'buzz.nope'"
    assert reasons[2] == "mixed.jsonl:5: unsupported schema_version 2 (expected 1)"
    assert reasons[3] == "mixed.jsonl:6: author: Field required"
    assert len({r.event_id for r in records if isinstance(r, DeadLetter)}) == 4


def test_bare_events_need_a_topic(tmp_path: Path) -> None:
    path = tmp_path / "bare.jsonl"
    path.write_bytes(orjson.dumps({"event_id": "x:1"}) + b"\n")
    _, records = run(tmp_path, file=[path])
    assert isinstance(records[0], DeadLetter)
    assert "no --topic" in records[0].reason


def test_interrupted_import_resumes_at_the_next_line(tmp_path: Path) -> None:
    _, first = run(tmp_path, limit=10, file=[CAPTURE, SIGNUPS], topic="buzz.signups")
    cp = CheckpointStore.for_source("replay", tmp_path).load()
    assert cp["files"][str(CAPTURE)]["line"] == 10
    _, rest = run(tmp_path, file=[CAPTURE, SIGNUPS], topic="buzz.signups")
    ids = [r.event_id for r in first + rest]  # type: ignore[attr-defined]
    assert len(first) == 10 and len(rest) == 18 and len(set(ids)) == 28
    _, again = run(tmp_path, file=[CAPTURE, SIGNUPS], topic="buzz.signups")
    assert again == []
    # Lines appended later are picked up on the next run.
    grown = tmp_path / "grown.jsonl"
    grown.write_bytes(CAPTURE.read_bytes()[:0] + CAPTURE.read_bytes().splitlines(True)[0])
    run(tmp_path, file=[grown])
    with grown.open("ab") as f:
        f.write(CAPTURE.read_bytes().splitlines(True)[1])
    _, tail = run(tmp_path, file=[grown])
    assert [r.event_id for r in tail] == [  # type: ignore[attr-defined]
        orjson.loads(CAPTURE.read_bytes().splitlines()[1])["value"]["event_id"]
    ]


def test_progress_and_summary_go_to_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(tmp_path, file=[SIGNUPS], topic="buzz.signups", progress=True)
    out, err = capsys.readouterr()
    assert out == ""
    assert "replay summary" in err and "buzz.signups" in err
    assert "3" in err and "1" in err


def test_config_errors_name_the_option(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"--file: .*no such file"):
        ReplaySource.Config.load("replay", file=str(tmp_path / "missing.jsonl"))
    with pytest.raises(ConfigError, match=r"--topic: .*unknown topic"):
        ReplaySource.Config.load("replay", file=[CAPTURE], topic="mentions")
