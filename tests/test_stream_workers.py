"""Several workers on the real embedded broker and warehouse, one of them killed mid-run.

Pins: two workers share the partitions and exactly one runs the periodic jobs; when one is killed
with SIGKILL while a backfill is being written, the other takes its partitions over, every
mention is written once, every minute is closed once with its exact count (none before its data
is in, none skipped), and the one alert the data calls for is raised once.
"""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaProducer

from pipeline.events import Author, Mention
from pipeline.scoring.baseline import floor_minute
from pipeline.topics import MENTIONS, ensure_topics
from pipeline.warehouse.client import get_client
from pipeline.warehouse.migrate import apply_migrations
from tests.conftest import Child, buzz_cmd, clean_env, free_port, start_broker, start_warehouse

pytestmark = pytest.mark.stack

NOW = datetime.now(UTC)
START = floor_minute(NOW) - timedelta(minutes=45)
BURST = START + timedelta(minutes=40)
RUN = uuid.uuid4().hex[:8]


def health(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
        return dict(json.loads(r.read()))


class Workers:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.warehouse, self.url = start_warehouse(tmp)
        self.broker, self.bootstrap = start_broker(tmp)
        apply_migrations(get_client(url=self.url))
        ensure_topics(self.bootstrap, 4)
        self.workers: dict[str, tuple[Child, int]] = {}

    def start(self, name: str) -> None:
        port = free_port()
        env = clean_env(
            BUZZ_KAFKA_URL=self.bootstrap, BUZZ_CLICKHOUSE_URL=self.url,
            BUZZ_WORKER_WEB_PORT=str(port), BUZZ_DATA_DIR=str(self.tmp / name),
            BUZZ_SINK_BATCH_SIZE="500",
        )  # fmt: skip
        child = Child(buzz_cmd("worker"), self.tmp / f"{name}.log", env)
        self.workers[name] = (child, port)

    def healthy(self, name: str) -> dict[str, Any] | None:
        child, port = self.workers[name]
        if child.proc.poll() is not None:
            raise RuntimeError(f"{name} exited:\n{child.log_tail()}")
        try:
            return health(port)
        except OSError:
            return None

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in get_client(url=self.url).query(sql).result_rows]

    def send(self, events: list[Mention]) -> None:
        producer = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all", linger_ms=20)
        for e in events:
            producer.send(MENTIONS, key=e.key(), value=e.to_json())
        producer.flush()
        producer.close()

    def stop(self) -> None:
        for child, _ in self.workers.values():
            child.stop()
        self.broker.stop()
        self.warehouse.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workers]:
    s = Workers(tmp_path_factory.mktemp("workers"))
    try:
        yield s
    finally:
        s.stop()


def backfill() -> list[Mention]:
    """45 minutes of talk about the candidate: 200 a minute, then 2,000 in the burst minute."""
    out = []
    for k in range(45):
        minute = START + timedelta(minutes=k)
        n = 2000 if minute == BURST else 200
        for i in range(n):
            out.append(
                Mention(
                    event_id=f"w:{RUN}-{k}-{i}", platform="x",
                    occurred_at=minute + timedelta(seconds=(i * 59) // n),
                    author=Author(id=f"a{i % 150}", handle=f"a{i % 150}", audience=10),
                    text=f"Jordan Kim talk {k}/{i}",
                )
            )  # fmt: skip
    return out


def test_two_workers_share_the_work_and_survive_a_sigkill(stack: Workers) -> None:
    stack.start("w1")
    stack.start("w2")
    deadline = time.monotonic() + 90
    states: dict[str, dict[str, Any] | None] = {}
    while time.monotonic() < deadline:
        states = {n: stack.healthy(n) for n in ("w1", "w2")}
        if all(states.values()) and sum(bool(s and s["coordinator"]) for s in states.values()) == 1:
            break
        time.sleep(0.5)
    assert all(states.values()), states
    assert sum(bool(s and s["coordinator"]) for s in states.values()) == 1, states

    events = backfill()
    half = len(events) // 2
    stack.send(events[:half])
    # Kill one of them while it is writing: it has written some of its partitions' messages,
    # and the half sent is not all written yet.
    deadline = time.monotonic() + 30
    victim = ""
    while time.monotonic() < deadline and not victim:
        seen = {n: s["messages"] for n in ("w1", "w2") if (s := stack.healthy(n))}
        victim = next((n for n, done in seen.items() if done > 0), "")
        time.sleep(0.02)
    assert victim and sum(seen.values()) < half, seen
    survivor = "w2" if victim == "w1" else "w1"
    child, _ = stack.workers[victim]
    os.killpg(child.proc.pid, signal.SIGKILL)
    child.proc.wait()
    stack.send(events[half:])

    want = Counter(floor_minute(e.occurred_at) for e in events)
    closed_sql = (
        "SELECT minute, mentions, spike FROM buzz.buzz_minutes FINAL WHERE subject = 'kim'"
        " ORDER BY minute"
    )
    deadline = time.monotonic() + 150
    got: list[tuple[Any, ...]] = []
    while time.monotonic() < deadline:
        got = stack.rows(closed_sql)
        if len(got) >= len(want):
            break
        time.sleep(1)
    log = stack.workers[survivor][0].log_tail(40)
    assert {r[0].replace(tzinfo=UTC): r[1] for r in got} == dict(want), log
    # Each minute was closed once (one row even without FINAL) and nothing was skipped.
    raw = stack.rows(
        "SELECT minute, count() FROM buzz.buzz_minutes WHERE subject = 'kim' GROUP BY minute"
    )
    assert all(n == 1 for _, n in raw) and len(raw) == len(want)
    assert stack.rows("SELECT uniqExact(event_id), count() FROM buzz.mentions FINAL") == [
        (len(events), len(events))
    ]
    assert [r[0].replace(tzinfo=UTC) for r in got if r[2]] == [BURST]
    alerts = stack.rows("SELECT kind, count() FROM buzz.alerts GROUP BY kind")
    assert alerts == [("spike", 1)] or alerts == [("attack", 1)], alerts
    state = stack.healthy(survivor)
    assert state and state["coordinator"], state
