"""The connector kit: checkpoints, retry/backoff, the runner's failure policy, config, registry."""

from __future__ import annotations

import email.utils
import logging
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import orjson
import pytest
from pydantic import Field, SecretStr
from typer.testing import CliRunner

from pipeline.events import DeadLetter, Mention, SourceStatus, decode
from pipeline.settings import ConfigError, load_settings
from pipeline.sources import (
    CheckpointStore,
    FatalError,
    MemoryEmitter,
    PollingConfig,
    PollingSource,
    RetriableError,
    RetryPolicy,
    Runner,
    RunOptions,
    SourceConfig,
    StreamingSource,
    error_for_status,
    retry_after_seconds,
)
from pipeline.sources.emitter import DeliveryError, KafkaEmitter, Record
from pipeline.sources.registry import run_main

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _isolated_settings(
    isolated_settings: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BUZZ_DATA_DIR", str(tmp_path / "data"))


# -- checkpoints ----------------------------------------------------------------------------------
def test_checkpoint_round_trip(tmp_path: Path) -> None:
    store = CheckpointStore.for_source("rss", tmp_path)
    assert store.load() == {}
    store.save({"etag": 'W/"abc"', "since_id": 1790000000000, "pages": ["a", "b"]})
    assert store.path == tmp_path / "checkpoints" / "rss.json"
    assert CheckpointStore.for_source("rss", tmp_path).load() == {
        "etag": 'W/"abc"',
        "since_id": 1790000000000,
        "pages": ["a", "b"],
    }


def test_checkpoint_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = CheckpointStore(tmp_path / "cp" / "x.json")
    store.save({"cursor": 1})

    def crash(*_a: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        store.save({"cursor": 2})
    # The old checkpoint is intact and no half-written temp file is left behind.
    assert store.load() == {"cursor": 1}
    assert [p.name for p in store.path.parent.iterdir()] == ["x.json"]


def test_corrupt_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "checkpoints" / "x.json"
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with pytest.raises(ConfigError, match=r"x\.json"):
        CheckpointStore(path).load()


# -- retry and backoff ---------------------------------------------------------------------------
def test_retry_after_forms() -> None:
    now = NOW.timestamp()
    assert retry_after_seconds({"Retry-After": "30"}, now) == 30.0
    http_date = email.utils.format_datetime(datetime.fromtimestamp(now + 90, UTC), usegmt=True)
    assert retry_after_seconds({"retry-after": http_date}, now) == pytest.approx(90, abs=1)
    assert retry_after_seconds({"x-rate-limit-reset": str(int(now) + 300)}, now) == 300.0
    assert retry_after_seconds({"x-rate-limit-reset": str(int(now) - 5)}, now) == 0.0
    assert retry_after_seconds({"RateLimit-Reset": str(int(now) + 40)}, now) == 40.0  # Bluesky
    iso = datetime.fromtimestamp(now + 75, UTC).isoformat().replace("+00:00", "Z")
    assert retry_after_seconds({"X-RateLimit-Reset": iso}, now) == pytest.approx(75)  # Mastodon
    assert retry_after_seconds({"Content-Type": "text/html"}, now) is None


def test_http_status_classes() -> None:
    now = NOW.timestamp()
    assert error_for_status(200, {}, "GET /x") is None
    err = error_for_status(429, {"x-rate-limit-reset": str(int(now) + 60)}, "GET /x", now)
    assert isinstance(err, RetriableError) and err.retry_after == 60.0
    assert isinstance(error_for_status(503, {}, "GET /x"), RetriableError)
    assert isinstance(error_for_status(401, {}, "GET /x"), FatalError)
    assert isinstance(error_for_status(404, {}, "GET /x"), FatalError)


# -- a fake connector to pin the runner's policy --------------------------------------------------
def mention(n: int) -> Mention:
    return Mention(
        event_id=f"fake:{n}",
        platform="fake",
        occurred_at=NOW,
        author={"id": "u1", "handle": "u1"},  # type: ignore[arg-type]
        text=f"post {n} about Jordan Kim",
    )


class FakeConfig(PollingConfig):
    token: SecretStr = SecretStr("t0ken-value")
    batch: int = Field(3, ge=1)
    poll_interval: float = 0.001


class FakeSource(PollingSource[FakeConfig]):
    """Reads ids ``since+1 .. since+batch``; ``script`` says what each poll does."""

    name: ClassVar[str] = "fake"
    description: ClassVar[str] = "test double"
    Config: ClassVar[type[SourceConfig]] = FakeConfig
    retry_policy: ClassVar[RetryPolicy] = RetryPolicy(initial=0.0, jitter=0.0, attempts=3)
    script: ClassVar[list[str]] = []
    polls: ClassVar[int] = 0

    def poll(self) -> Iterator[Record]:
        type(self).polls += 1
        step = self.script.pop(0) if self.script else "ok"
        since = int(self.checkpoint.get("since", 0))
        for n in range(since + 1, since + 1 + self.config.batch):
            if step == "bad-item" and n == since + 2:
                yield self.build(Mention, b'{"id": 2, "text": null}', event_id="no colon")
            else:
                yield mention(n)
            self.checkpoint["since"] = n  # advanced as the item is yielded
            if step == "retry" and n == since + 1:
                raise RetriableError("HTTP 503", retry_after=0.0)
            if step == "retry-hint" and n == since + 1:
                raise RetriableError("HTTP 429", retry_after=0.25)
            if step == "fatal" and n == since + 1:
                raise FatalError("HTTP 401 from /search")
            if step == "bug":
                raise KeyError("oops")


def run_fake(
    tmp_path: Path, script: list[str], emitter: Any = None, **opts: Any
) -> tuple[int, Any, Runner]:
    FakeSource.script = list(script)
    FakeSource.polls = 0
    emitter = emitter or MemoryEmitter()
    settings = load_settings(data_dir=tmp_path)
    runner = Runner(
        FakeSource, FakeConfig.load("fake"), settings, RunOptions(**opts), emitter=emitter
    )
    return runner.run(), emitter, runner


def ids(emitter: Any) -> list[str]:
    return [r.event_id for r in emitter.records]  # type: ignore[attr-defined]


def test_polling_checkpoint_resumes_after_restart(tmp_path: Path) -> None:
    code, em, _ = run_fake(tmp_path, [], once=True)
    assert code == 0 and ids(em) == ["fake:1", "fake:2", "fake:3"]
    assert CheckpointStore.for_source("fake", tmp_path).load() == {"since": 3}
    code, em, _ = run_fake(tmp_path, [], once=True)
    assert ids(em) == ["fake:4", "fake:5", "fake:6"]  # neither lost nor repeated


def test_retriable_error_backs_off_and_keeps_going(tmp_path: Path) -> None:
    code, em, runner = run_fake(tmp_path, ["retry", "ok"], limit=4)
    assert code == 0
    assert ids(em) == ["fake:1", "fake:2", "fake:3", "fake:4"]
    assert runner.stats.retries == 1


def test_the_servers_hint_is_waited_out(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    started = time.monotonic()
    code, em, runner = run_fake(tmp_path, ["retry-hint", "ok"], limit=4)
    assert code == 0 and runner.stats.retries == 1
    assert time.monotonic() - started >= 0.25
    assert "fake failed (HTTP 429); retrying in 0.2s (attempt 1)" in caplog.text
    assert ids(em) == ["fake:1", "fake:2", "fake:3", "fake:4"]  # what came before is kept


def test_too_many_retries_become_fatal(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    code, _, runner = run_fake(tmp_path, ["retry"] * 5)
    assert code == 1 and runner.stats.retries == 2  # three attempts, two waits between them
    assert "gave up after 3 attempts in a row: HTTP 503" in caplog.text
    # What was emitted before giving up is flushed and checkpointed.
    assert CheckpointStore.for_source("fake", tmp_path).load() == {"since": 3}


def test_fatal_error_exits_1_after_saving_progress(tmp_path: Path) -> None:
    code, em, _ = run_fake(tmp_path, ["fatal"])
    assert code == 1 and ids(em) == ["fake:1"]
    assert CheckpointStore.for_source("fake", tmp_path).load() == {"since": 1}


def test_unexpected_exception_is_fatal(tmp_path: Path) -> None:
    code, _, runner = run_fake(tmp_path, ["bug"])
    assert code == 1 and runner.stats.stop_reason == "crash"


def test_skippable_item_becomes_a_dead_letter(tmp_path: Path) -> None:
    code, em, runner = run_fake(tmp_path, ["bad-item"], once=True)
    assert code == 0
    dead = [r for r in em.records if isinstance(r, DeadLetter)]
    assert len(dead) == 1 and dead[0].source == "fake" and "event_id" in dead[0].reason
    assert dead[0].payload == '{"id": 2, "text": null}'
    assert runner.stats.dead_lettered == 1 and runner.stats.emitted == 2


class FailingEmitter(MemoryEmitter):
    def flush(self) -> None:
        raise DeliveryError("broker rejected a record: KafkaTimeoutError()")


def test_delivery_failure_does_not_move_the_checkpoint(tmp_path: Path) -> None:
    CheckpointStore.for_source("fake", tmp_path).save({"since": 10})
    code, _, _ = run_fake(tmp_path, [], emitter=FailingEmitter(), once=True)
    assert code == 1
    assert CheckpointStore.for_source("fake", tmp_path).load() == {"since": 10}


class Endless(StreamingSource[Any]):
    name: ClassVar[str] = "endless"
    description: ClassVar[str] = "streams until stopped"

    def stream(self) -> Iterator[Record]:
        n = 0
        while not self.ctx.stopping():
            n += 1
            self.checkpoint["n"] = n
            yield mention(n)
            if n == 25:
                self.ctx.stop.set()  # what the SIGTERM handler does


def test_stop_request_flushes_and_exits_0(tmp_path: Path) -> None:
    em = MemoryEmitter()
    settings = load_settings(data_dir=tmp_path)
    runner = Runner(Endless, Endless.Config.load("endless"), settings, emitter=em)
    assert runner.run() == 0
    assert len(em.records) == 25 and em.flushes >= 1
    assert runner.stats.stop_reason == "stop requested"
    assert CheckpointStore.for_source("endless", tmp_path).load() == {"n": 25}


class RecordingKafka(KafkaEmitter):
    """A Kafka emitter that keeps what it is given instead of producing (no broker needed)."""

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.statuses: list[SourceStatus] = []

    def send(self, record: Record) -> None:
        if isinstance(record, SourceStatus):
            self.statuses.append(record)
        else:
            self.records.append(record)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


def test_dry_run_saves_no_checkpoint_and_sends_no_heartbeat(tmp_path: Path) -> None:
    CheckpointStore.for_source("fake", tmp_path).save({"since": 10})
    emitter = RecordingKafka()
    code, _, _ = run_fake(tmp_path, [], emitter=emitter, once=True, dry_run=True)
    assert code == 0
    assert ids(emitter) == ["fake:11", "fake:12", "fake:13"]  # read from the saved cursor...
    assert CheckpointStore.for_source("fake", tmp_path).load() == {"since": 10}  # ...kept as is
    assert emitter.statuses == []
    # The same run for real: heartbeats on buzz.source_status and the cursor saved.
    emitter = RecordingKafka()
    code, _, _ = run_fake(tmp_path, [], emitter=emitter, once=True)
    assert code == 0 and ids(emitter) == ["fake:11", "fake:12", "fake:13"]
    assert {"running", "stopped"} <= {r.status for r in emitter.statuses}
    assert CheckpointStore.for_source("fake", tmp_path).load() == {"since": 13}


# -- config ---------------------------------------------------------------------------------------
def test_config_from_env_with_secret_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUZZ_SOURCE_FAKE_TOKEN", "s3cret-bearer")
    monkeypatch.setenv("BUZZ_SOURCE_FAKE_BATCH", "7")
    cfg = FakeConfig.load("fake")
    assert cfg.batch == 7 and cfg.token.get_secret_value() == "s3cret-bearer"
    assert "s3cret" not in repr(cfg) and "s3cret" not in str(cfg.model_dump())


def test_bad_config_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUZZ_SOURCE_FAKE_BATCH", "0")
    with pytest.raises(ConfigError, match="BUZZ_SOURCE_FAKE_BATCH"):
        FakeConfig.load("fake")
    with pytest.raises(ConfigError, match="--batch"):
        FakeConfig.load("fake", batch=-1)


# -- registry and CLI -----------------------------------------------------------------------------
def test_source_list_shows_demo() -> None:
    from pipeline.cli import app

    result = CliRunner().invoke(app, ["source", "list"])
    assert result.exit_code == 0, result.output
    assert "demo" in result.stdout and "streaming" in result.stdout


def test_unknown_source_lists_the_known_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_main("nope", dry_run=True) == 2
    err = capsys.readouterr().err
    assert "unknown source 'nope'" in err and "demo" in err


def test_bad_option_is_one_clear_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_main("demo", rate=-1.0, dry_run=True) == 2
    assert "--rate" in capsys.readouterr().err
    assert run_main("demo", dry_run=True, colour="red") == 2
    assert "no option --colour" in capsys.readouterr().err


def test_dry_run_cli_prints_valid_json_lines() -> None:
    from pipeline.cli import app

    args = ["source", "run", "demo", "--dry-run", "--limit", "50", "--rate", "2000"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 50
    for line in lines:
        row = orjson.loads(line)
        event = decode(row["topic"], orjson.dumps(row["value"]))
        assert row["key"] == event.key().decode()


def start_demo_dry_run(tmp_path: Path, out: Path) -> subprocess.Popen[bytes]:
    """``buzz source run demo --dry-run`` writing to ``out``; returns once a line is there.

    The output goes to a file, not a pipe read with readline(): a buffered reader keeps what it
    read past the first line, and a later read of the pipe itself would miss it.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUZZ_")}
    env["BUZZ_DATA_DIR"] = str(tmp_path / "data")
    with out.open("wb") as sink:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pipeline",
                "source",
                "run",
                "demo",
                "--dry-run",
                "--rate",
                "50",
            ],
            stdout=sink,
            stderr=(tmp_path / "stderr.log").open("wb"),
            env=env,
            cwd=ROOT,
        )
    deadline = time.monotonic() + 60
    while b"\n" not in out.read_bytes():  # the source is up and emitting
        assert proc.poll() is None and time.monotonic() < deadline, "the demo did not start"
        time.sleep(0.05)
    return proc


def whole_lines(out: Path) -> list[dict[str, Any]]:
    """Every line of a dry run's output, decoded; fails on a line cut in half."""
    data = out.read_bytes()
    assert data.endswith(b"\n"), f"the output ends mid-line: ...{data[-80:]!r}"
    return [orjson.loads(line) for line in data.splitlines()]


def test_sigterm_stops_cleanly_with_a_summary(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    proc = start_demo_dry_run(tmp_path, out)
    try:
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = (tmp_path / "stderr.log").read_text()
    assert proc.returncode == 0, err
    assert "stop requested" in err and "events emitted" in err
    rows = whole_lines(out)  # every line complete: nothing cut mid-write
    assert rows and all(row["topic"].startswith("buzz.") for row in rows)
    emitted = int(re.search(r"(\d+) events emitted", err)[1])  # type: ignore[index]
    assert len(rows) == emitted  # and nothing the summary counted is missing
    assert not (tmp_path / "data").exists()  # a dry run saves no checkpoint


def test_a_stop_never_cuts_an_event_in_half(tmp_path: Path) -> None:
    """Even killed outright (after a stop's grace period, or by the OOM killer), whatever the
    dry run had written is whole lines: it hands the OS complete lines only."""
    for n in range(3):
        out = tmp_path / f"out-{n}.jsonl"
        proc = start_demo_dry_run(tmp_path, out)
        deadline = time.monotonic() + 30
        while out.stat().st_size < 200_000 and time.monotonic() < deadline:
            time.sleep(0.02)  # the backfill writes fast: several chunks are out by now
        proc.kill()
        proc.wait(timeout=20)
        assert len(whole_lines(out)) > 100


# -- boolean options: --x / --no-x / --x WORD, for the runner's flags and connectors' ----------
REPLAY_CAPTURE = ROOT / "tests" / "fixtures" / "sources" / "replay" / "capture.jsonl"


def test_no_progress_works_as_documented_for_replay() -> None:
    from pipeline.cli import app

    args = ["source", "run", "replay", "--file", str(REPLAY_CAPTURE), "--no-progress"]
    result = CliRunner().invoke(app, [*args, "--dry-run", "--limit", "3"])
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 3


class SpyRunner:
    """Stands in for the runner in ``run_main``: keeps what it was given, runs nothing."""

    seen: ClassVar[list[tuple[Any, RunOptions]]] = []

    def __init__(self, _cls: Any, config: Any, _settings: Any, options: RunOptions) -> None:
        self.seen.append((config, options))
        self.stop = None

    def run(self) -> int:
        return 0


@pytest.fixture
def spy_runner(monkeypatch: pytest.MonkeyPatch) -> type[SpyRunner]:
    import pipeline.sources.registry as registry

    SpyRunner.seen.clear()
    monkeypatch.setattr(registry, "Runner", SpyRunner)
    monkeypatch.setattr(registry, "install_stop_signals", lambda _stop: lambda: None)
    return SpyRunner


@pytest.mark.parametrize(
    ("args", "progress"),
    [
        ([], True),
        (["--progress"], True),
        (["--no-progress"], False),
        *[(["--progress", w], True) for w in ("true", "yes", "1", "on", "TRUE", "Yes")],
        *[(["--progress", w], False) for w in ("false", "no", "0", "off", "False", "OFF")],
        (["--progress=off"], False),
        (["--progress=yes"], True),
    ],
)
def test_boolean_connector_options_take_every_usual_form(
    spy_runner: type[SpyRunner], args: list[str], progress: bool
) -> None:
    from pipeline.cli import app

    base = ["source", "run", "replay", "--file", str(REPLAY_CAPTURE)]
    result = CliRunner().invoke(app, [*base, *args])
    assert result.exit_code == 0, result.output
    ((config, _),) = spy_runner.seen
    assert config.progress is progress


@pytest.mark.parametrize(
    ("args", "once", "dry_run"),
    [
        ([], False, False),
        (["--once", "--dry-run"], True, True),
        (["--no-once", "--no-dry-run"], False, False),
        (["--once", "true", "--dry-run", "yes"], True, True),
        (["--once", "0", "--dry-run", "off"], False, False),
        (["--once=on", "--dry-run=1"], True, True),
    ],
)
def test_the_runners_switches_take_the_same_forms(
    spy_runner: type[SpyRunner], args: list[str], once: bool, dry_run: bool
) -> None:
    from pipeline.cli import app

    result = CliRunner().invoke(app, ["source", "run", "demo", *args])
    assert result.exit_code == 0, result.output
    ((_, options),) = spy_runner.seen
    assert (options.once, options.dry_run) == (once, dry_run)


def test_realtime_switch_of_the_demo(spy_runner: type[SpyRunner]) -> None:
    from pipeline.cli import app

    for args, realtime in ((["--no-realtime"], False), (["--realtime", "no"], False), ([], True)):
        spy_runner.seen.clear()
        result = CliRunner().invoke(app, ["source", "run", "demo", *args])
        assert result.exit_code == 0, result.output
        assert spy_runner.seen[0][0].realtime is realtime


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--progress", "maybe"], "--progress: expected true/false"),
        (["--no-progress", "false"], "--no-progress takes no value"),
        (["--progress", "--no-progress"], "--progress: given more than once"),
        (["--dry-run", "perhaps"], "--dry-run: expected true/false"),
    ],
)
def test_a_bad_boolean_is_one_clear_message(
    spy_runner: type[SpyRunner], args: list[str], message: str
) -> None:
    from pipeline.cli import app

    base = ["source", "run", "replay", "--file", str(REPLAY_CAPTURE)]
    result = CliRunner().invoke(app, [*base, *args])
    assert result.exit_code == 2
    assert message in result.output
    assert spy_runner.seen == []
