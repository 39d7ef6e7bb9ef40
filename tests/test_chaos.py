"""Fault injection on the real embedded stack (marker ``chaos``; CI runs it with the rest).

What a bad day does, and what must hold after it:

* the worker and the warehouse are killed with SIGKILL, repeatedly, while a replay of the
  scripted scenario (plus a steady stream of filler) is being processed: afterwards nothing is
  lost and nothing doubled: raw events, scores, closed minutes (each closed once, with its exact
  count) and alerts (each once), exactly as the undisturbed scenario test pins them, and a second
  replay of everything changes none of it;
* more than a thousand generated bad inputs (hypothesis: bytes, wrong shapes, far-dated times,
  oversized, NUL-filled, deeply nested) are each dead-lettered with a reason, while the good
  events around them are all written and no partition stalls;
* identical signed webhook deliveries fired at the same instant are admitted once;
* after all of it, no table, topic or log holds a clear-text email address or phone number.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from pipeline.events import Author, Mention
from pipeline.scoring.baseline import floor_minute
from pipeline.topics import ALL_TOPICS, MENTIONS, SIGNUPS, THREADS
from tests import test_scenario_e2e as scenario
from tests.conftest import Child, free_port, start_warehouse

pytestmark = [pytest.mark.chaos, pytest.mark.stack]

FILLER_PER_MINUTE = 60


def filler() -> list[Mention]:
    """A steady 60 a minute about rent for the 45 minutes before the attack: volume to kill into."""
    out = []
    for k in range(45, 0, -1):
        minute = floor_minute(scenario.ATTACK) - timedelta(minutes=k)
        for i in range(FILLER_PER_MINUTE):
            out.append(
                Mention(
                    event_id=f"x:{scenario.RUN}-fill{k}-{i}", platform="x",
                    occurred_at=minute + timedelta(seconds=i % 60),
                    author=Author(id=f"x:renter{i}", handle=f"renter{i}", audience=5),
                    text=f"Rent went up again this month, number {i}",
                )
            )  # fmt: skip
    return out


class ChaosStack(scenario.Stack):
    """The scenario's stack, with a warehouse that can be killed and restarted in place."""

    def __init__(self, tmp: Path) -> None:
        super().__init__(tmp)
        self.wport = int(self.url.rsplit(":", 1)[1])

    def kill(self, child: Child) -> None:
        os.killpg(child.proc.pid, signal.SIGKILL)
        child.proc.wait()

    def restart_warehouse(self) -> None:
        self.kill(self.warehouse)
        self.warehouse, _ = start_warehouse(self.tmp, self.wport)

    def restart_worker(self, name: str) -> None:
        assert self.worker is not None
        self.kill(self.worker)
        self.start_worker(name)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChaosStack]:
    s = ChaosStack(tmp_path_factory.mktemp("chaos"))
    try:
        yield s
    finally:
        s.stop()


def send_everything(s: ChaosStack) -> None:
    s.send(MENTIONS, filler())
    scenario.send_all(s)


def wait_settled(s: ChaosStack, filler_minutes: int, timeout: float = 240) -> None:
    """The scenario's alerts are in and every filler minute is closed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        closed = s.rows("SELECT count() FROM buzz.buzz_minutes FINAL WHERE subject = 'housing'")
        if s.rows(scenario.ALERTS) == scenario.WANT_ALERTS and closed[0][0] >= filler_minutes:
            time.sleep(4)  # the passes after that (nothing more may change)
            return
        time.sleep(1)
    raise AssertionError(
        f"not settled: {s.rows(scenario.ALERTS)}\n{s.worker.log_tail(40) if s.worker else ''}"
    )


def check_exact(s: ChaosStack) -> dict[str, Any]:
    snap = scenario.snapshot(s)
    assert snap["alerts"] == scenario.WANT_ALERTS
    assert snap["alert_rows"] == [(len(scenario.WANT_ALERTS),)]  # each alert once, even raw
    fill = filler()
    assert snap["mentions"] == [(80 + 12 + len(scenario.cascade()) + len(fill),)]
    assert snap["signups"] == [(51,)]
    scenario.check_scores(snap)
    want = Counter(floor_minute(m.occurred_at) for m in fill)
    got = s.rows("SELECT minute, mentions FROM buzz.buzz_minutes FINAL WHERE subject = 'housing'")
    assert {m.replace(tzinfo=UTC): n for m, n in got} == dict(want)
    raw = s.rows("SELECT subject, minute, count() FROM buzz.buzz_minutes GROUP BY subject, minute")
    assert all(n == 1 for *_, n in raw), [r for r in raw if r[2] != 1]  # closed once each
    return snap


def test_repeated_kills_of_the_worker_and_the_warehouse_lose_and_double_nothing(
    stack: ChaosStack,
) -> None:
    stack.start_worker("worker-1")
    send_everything(stack)
    for i, what in enumerate(("worker", "warehouse", "worker", "warehouse", "worker")):
        time.sleep(2.5)
        if what == "worker":
            stack.restart_worker(f"worker-{i + 2}")
        else:
            stack.restart_warehouse()
    wait_settled(stack, filler_minutes=45)
    first = check_exact(stack)

    # The whole input again, with one more kill: nothing may change.
    send_everything(stack)
    time.sleep(1)
    stack.restart_worker("worker-9")
    wait_settled(stack, filler_minutes=45)
    assert check_exact(stack) == first


# --- bad inputs ---------------------------------------------------------------------------

GOOD = orjson.loads(scenario.attack()[0].to_json())


def _broken(field: str, value: Any) -> bytes:
    return orjson.dumps(GOOD | {"event_id": "x:bad", field: value})


HUGE = {  # oversized inputs: a dead letter of any of them must stay under the broker's limit
    "nul": b"\x00" * 200_000,
    "open": b"{" * 100_000,
    "nested": b"[" * 50_000 + b"]" * 50_000,
}


def bad_input() -> st.SearchStrategy[bytes]:
    """Inputs that can never be a valid mention, of every kind a hostile or broken source sends."""
    not_json_object = st.binary(max_size=300).filter(lambda b: not b.lstrip().startswith(b"{"))
    ints = st.integers(-(2**63), 2**63 - 1)
    not_an_object = st.builds(
        orjson.dumps, st.one_of(st.lists(ints), st.text(), st.floats(allow_nan=False))
    )
    too_early = datetime(1970, 1, 2, tzinfo=UTC)
    too_late = datetime.now(UTC) + timedelta(days=2)
    far_dated = st.datetimes(
        min_value=datetime(1, 1, 1), max_value=datetime(9999, 1, 1), timezones=st.just(UTC)
    ).filter(lambda t: t < too_early or t > too_late)
    wrong_values = st.sampled_from(
        [
            ("author", None), ("author", 7), ("author", "someone"), ("schema_version", 2),
            ("schema_version", "1"), ("engagement", {"likes": -5}), ("occurred_at", "yesterday"),
            ("occurred_at", "2026-01-01T00:00:00"), ("occurred_at", ""), ("text", 42),
            ("text", ["a", "b"]), ("event_id", ""), ("event_id", "no-colon"),
            ("event_id", "UPPER:case"),
        ]
    )  # fmt: skip
    huge = st.sampled_from(["nul", "open", "nested"]).map(HUGE.__getitem__)
    deep = st.integers(100, 5000).map(lambda d: orjson.dumps(GOOD | {"schema_version": 7})[:-1]
                                      + b',"deep":' + b"[" * d + b"]" * d + b"}")  # fmt: skip
    return st.one_of(
        not_json_object,
        not_an_object,
        far_dated.map(lambda t: _broken("occurred_at", t.isoformat())),
        wrong_values.map(lambda fv: _broken(*fv)),
        huge,
        deep,
    )


def generate(strategy: st.SearchStrategy[bytes], n: int) -> list[bytes]:
    """``n`` examples of ``strategy``, the same on every run (hypothesis as a generator)."""
    out: list[bytes] = []

    @settings(max_examples=n, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(strategy)
    def collect(x: bytes) -> None:
        out.append(x)

    collect()
    return out[:n]


def test_a_thousand_bad_inputs_are_each_dead_lettered_and_nothing_stalls(stack: ChaosStack) -> None:
    if stack.worker is None or stack.worker.proc.poll() is not None:
        stack.start_worker("worker-bad")
    bad = generate(bad_input(), 1100)
    assert len(bad) >= 1000
    run = f"bad{time.time_ns()}"
    now = datetime.now(UTC).isoformat()
    good = [
        orjson.dumps(GOOD | {"event_id": f"x:{run}-{i}", "occurred_at": now})
        for i, _ in enumerate(bad)
    ]
    producer = KafkaProducer(bootstrap_servers=stack.bootstrap, acks="all", max_request_size=2**21)
    marks = []
    for i, (b, g) in enumerate(zip(bad, good, strict=True)):
        marks.append(producer.send(MENTIONS, key=f"k{i}".encode(), value=b))
        producer.send(MENTIONS, key=f"k{i}".encode(), value=g)
    producer.flush()
    places = {(m.get().partition, m.get().offset) for m in marks}
    producer.close()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        written = stack.rows(
            f"SELECT uniqExact(event_id) FROM buzz.mentions WHERE event_id LIKE 'x:{run}-%'"
        )
        if written[0][0] >= len(good):
            break
        time.sleep(1)
    assert written[0][0] == len(good), stack.worker.log_tail(30) if stack.worker else ""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        got = stack.rows(
            "SELECT partition, offset, reason, payload_size, length(payload)"
            " FROM buzz.dead_letters FINAL WHERE source_topic = 'buzz.mentions'"
        )
        found = {(p, o) for p, o, *_ in got} & places
        if len(found) == len(places):
            break
        time.sleep(1)
    assert len(found) == len(places)
    ours = [r for r in got if (r[0], r[1]) in places]
    assert all(r[2] for r in ours)  # every one has its reason
    assert all(r[4] <= 64 * 1024 for r in ours)  # and a bounded payload, whatever its size
    assert any(r[3] == 200_000 for r in ours)


# --- webhook replays and personal data ------------------------------------------------------


def test_concurrent_webhook_replays_are_admitted_once_and_no_pii_is_left_anywhere(
    stack: ChaosStack, tmp_path: Path
) -> None:
    from pipeline.settings import load_settings
    from pipeline.sources import Runner, RunOptions
    from pipeline.sources.webhook.source import WebhookSource
    from tests.test_source_webhook import SECRET, Live, assert_admitted_once, fire_together, signed

    if stack.worker is None or stack.worker.proc.poll() is not None:
        stack.start_worker("worker-pii")
    port = free_port()
    config = WebhookSource.Config.load("webhook", port=port, secret=SECRET)
    settings_ = load_settings(data_dir=tmp_path, kafka_url=stack.bootstrap, pii_key="k" * 32)
    runner = Runner(WebhookSource, config, settings_, RunOptions())
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    live = Live.__new__(Live)
    live.url = f"http://127.0.0.1:{port}/webhooks"
    run = f"pii{time.time_ns()}"
    emails = [f"volunteer.{run}.{r}@example.org" for r in range(20)]
    try:
        time.sleep(2)
        for r, email in enumerate(emails):
            body = orjson.dumps({"id": f"{run}-{r}", "email": email, "phone": "+1 555 010 2233"})
            assert_admitted_once(fire_together(live, "form", body, signed(body, f"m-{run}-{r}"), 8))
        # A correctly signed form-encoded signup that fails mapping (no id): a 422, a dead letter.
        form = urllib.parse.urlencode({"email": emails[0], "phone": "+15550102233"}).encode()
        headers = signed(form, f"m-{run}-bad") | {
            "Content-Type": "application/x-www-form-urlencoded"
        }
        live.post("form", form, headers)
    finally:
        runner.stop.set()
        thread.join(30)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        n = stack.rows(f"SELECT count() FROM buzz.signups FINAL WHERE event_id LIKE 'form:{run}-%'")
        if n[0][0] >= len(emails):
            break
        time.sleep(1)
    assert n == [(len(emails),)]
    assert_no_personal_data_anywhere(stack, [*emails, "5550102233"])


PATTERNS = (
    re.compile(rb"[\w.+-]+(@|%40|%2540|\\u0040)[\w-]+\.[\w.]+", re.I),  # an email, however encoded
    re.compile(rb"\+?1?[ .-]?\(?555\)?[ .-]?010[ .-]?2233"),  # the test phone number
)


def _clear_pii(blob: bytes, secrets: list[str]) -> list[bytes]:
    hits = [m.group(0) for p in PATTERNS for m in p.finditer(blob)]
    leaked = [h for h in hits if b"example.org" in h.lower() or b"555" in h]
    return leaked + [s.encode() for s in secrets if s.encode() in blob]


def assert_no_personal_data_anywhere(stack: ChaosStack, secrets: list[str]) -> None:
    from pipeline.warehouse.client import get_client

    # The scan itself sees a clear address however it is written, and the phone.
    for leak in (
        b"a.b@example.org",
        b"a.b%40example.org",
        b"a%2540example.org",
        b"+1 555 010 2233",
    ):
        assert _clear_pii(b"x " + leak + b" y", []), leak

    client = get_client(url=stack.url)
    tables = [
        r[0]
        for r in client.query(
            "SELECT name FROM system.tables WHERE database = 'buzz' AND engine NOT LIKE '%View'"
        ).result_rows
    ]
    for table in tables:
        blob = client.raw_query(f"SELECT * FROM buzz.`{table}` FORMAT TSV")
        assert not _clear_pii(blob, secrets), f"buzz.{table} holds personal data"
    consumer = KafkaConsumer(bootstrap_servers=stack.bootstrap, consumer_timeout_ms=3000)
    for topic in ALL_TOPICS:
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        for message in consumer:
            assert not _clear_pii(message.value or b"", secrets), f"{topic} holds personal data"
    consumer.close()
    for log in stack.tmp.glob("*.log"):
        assert not _clear_pii(log.read_bytes(), secrets), f"{log.name} holds personal data"
    assert SIGNUPS in ALL_TOPICS and THREADS in ALL_TOPICS
