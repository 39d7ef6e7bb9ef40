"""The embedded broker's roll-over: exact backlog, outside clients, and no event lost or doubled.

The last test runs the real embedded stack (`buzz up --demo`), rolls the broker over twice while
the simulator sends (the first time right after a burst the worker needs seconds to write),
stops, and counts: every event sent is in the warehouse exactly once.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

from pipeline.broker_backlog import WORKER_GROUP, outside_clients, read_backlog
from pipeline.broker_rollover import due
from pipeline.settings import ConfigError, load_settings
from pipeline.topics import ALERTS, MENTIONS, ensure_topics
from tests.conftest import (
    ROOT,
    Child,
    buzz_cmd,
    clean_env,
    free_port,
    start_broker,
    start_warehouse,
)

pytestmark = pytest.mark.stack


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[tuple[Child, str]]:
    child, bootstrap = start_broker(tmp_path)
    yield child, bootstrap
    child.stop()


def _commit(bootstrap: str, offsets: dict[TopicPartition, int]) -> None:
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, group_id=WORKER_GROUP, enable_auto_commit=False
    )
    try:
        consumer.commit({tp: OffsetAndMetadata(n, "", -1) for tp, n in offsets.items()})
    finally:
        consumer.close()


def test_backlog_counts_records_not_batches(own_broker: tuple[Child, str]) -> None:
    _child, bootstrap = own_broker
    ensure_topics(bootstrap, 2)
    # One long linger: each partition gets its 50 records in one batch, which the broker's
    # ListOffsets would report as a single record.
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=500, batch_size=1_000_000)
    for i in range(100):
        producer.send(MENTIONS, value=b"m%d" % i, partition=i % 2)
    for _ in range(7):
        producer.send(ALERTS, value=b"alert", partition=0)
    producer.flush()
    producer.close()
    m0, m1 = TopicPartition(MENTIONS, 0), TopicPartition(MENTIONS, 1)

    backlog = read_backlog(bootstrap)
    assert backlog.unread == {m0: 50, m1: 50}
    assert (backlog.held, backlog.for_outside, backlog.drained) == (107, 7, False)

    _commit(bootstrap, {m0: 30, m1: 50})
    backlog = read_backlog(bootstrap)
    assert backlog.unread == {m0: 20}
    assert backlog.describe() == "buzz.mentions[0] 20"

    _commit(bootstrap, {m0: 50})
    backlog = read_backlog(bootstrap)
    # Unread alerts do not hold a roll-over back: the pipeline never reads that topic.
    assert backlog.drained and backlog.total == 0 and backlog.for_outside == 7


def test_outside_clients_are_named_and_ours_are_not(own_broker: tuple[Child, str]) -> None:
    child, bootstrap = own_broker
    port = int(bootstrap.rsplit(":", 1)[1])
    assert outside_clients(child.proc.pid, port, ours=set()) == []
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    try:
        producer.send(MENTIONS, value=b"x").get(timeout=30)
        found = outside_clients(child.proc.pid, port, ours=set())
        assert found and all(f"pid {os.getpid()}" in f for f in found), found
        assert outside_clients(child.proc.pid, port, ours={os.getpid()}) == []
    finally:
        producer.close()


def test_when_a_rollover_is_due() -> None:
    assert due(100.0, 512, requested=False) is None
    assert due(600.0, 512, requested=False) == "at 512 MB (BUZZ_BROKER_ROLLOVER_MB)"
    assert due(600.0, 0, requested=False) is None  # 0: never by memory
    assert due(10.0, 0, requested=True) == "on request (SIGUSR1)"


def test_rollover_threshold_setting(isolated_settings: None) -> None:
    assert load_settings().broker_rollover_mb == 512
    assert load_settings(broker_rollover_mb=0).broker_rollover_mb == 0
    with pytest.raises(ConfigError) as err:
        load_settings(broker_rollover_mb=10)
    assert "BUZZ_BROKER_ROLLOVER_MB" in err.value.message


# -- the real embedded stack ---------------------------------------------------------------------
SENT = re.compile(r"demo stopped \(.*?\)\. \d+ events emitted \(([^)]*)\), (\d+) dead-lettered")


def _wait_for(out: Path, proc: subprocess.Popen[bytes], text: str, count: int = 1) -> str:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        content = out.read_text("utf-8", "replace")
        if content.count(text) >= count:
            return content
        if proc.poll() is not None:
            pytest.fail(f"buzz up exited with {proc.returncode}:\n{content}")
        time.sleep(0.5)
    proc.kill()
    pytest.fail(f"{text!r} not printed {count} times:\n{out.read_text()}")


def _sent_by_demo(log: Path) -> Counter[str]:
    """What every run of the simulator reported sending (each run logs it when it stops)."""
    sent: Counter[str] = Counter()
    for by_topic, dead in SENT.findall(log.read_text("utf-8", "replace")):
        for part in by_topic.split(", "):
            topic, n = part.split(" ")
            sent[topic] += int(n)
        sent["dead_letters"] += int(dead)
    return sent


def _query(url: str, sql: str) -> list[str]:
    with urllib.request.urlopen(f"{url}/?query={urllib.parse.quote(sql)}", timeout=30) as r:
        return r.read().decode().split()


def _burst(tmp_path: Path, n: int) -> list[tuple[bytes, dict[str, Any]]]:
    """``n`` events from the simulator with a fixed seed, as (key, {topic, json}) to send."""
    run = subprocess.run(
        buzz_cmd("source", "run", "demo", "--dry-run", "--no-realtime", "--seed", "5",
                 "--rate", "1000", "--limit", str(n)),
        env=clean_env(BUZZ_DATA_DIR=str(tmp_path / "burst"), BUZZ_PII_KEY="test-key"),
        cwd=ROOT, capture_output=True, check=True, timeout=120,
    )  # fmt: skip
    events = []
    for line in run.stdout.splitlines():
        record = orjson.loads(line)
        topic = record["topic"].removeprefix("buzz.")
        events.append(
            (record["key"].encode(), {"topic": topic, "json": orjson.dumps(record["value"])})
        )
    assert len(events) == n
    return events


def test_rollovers_lose_and_double_nothing(tmp_path: Path) -> None:
    burst = _burst(tmp_path, 5000)
    data = tmp_path / "data"
    broker_port = free_port()
    env = clean_env(
        BUZZ_DATA_DIR=str(data), BUZZ_BROKER_PORT=str(broker_port),
        BUZZ_WAREHOUSE_PORT=str(free_port()), BUZZ_DASHBOARD_PORT=str(free_port()),
        BUZZ_WORKER_WEB_PORT=str(free_port()), BUZZ_PII_KEY="test-key",
        BUZZ_SOURCE_DEMO_HISTORY_MINUTES="0", PYTHONUNBUFFERED="1", COLUMNS="300",
    )  # fmt: skip
    out = tmp_path / "up.out"
    with out.open("wb") as sink:
        proc = subprocess.Popen(
            buzz_cmd("up", "--demo", "--rate", "100"), env=env, cwd=ROOT,
            stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        _wait_for(out, proc, "Dashboard:")
        time.sleep(5)
        # A producer outside `buzz up` could send after the last check: the roll-over waits.
        outsider = KafkaProducer(bootstrap_servers=f"127.0.0.1:{broker_port}")
        outsider.partitions_for(MENTIONS)
        proc.send_signal(signal.SIGUSR1)
        text = _wait_for(out, proc, "roll-over put off")
        assert "client(s) outside buzz up" in text and "broker rolled over" not in text
        # It sends a burst and leaves: the first roll-over starts while the worker is seconds
        # behind, so it must wait for the worker to write all of it.
        for key, value in burst:
            outsider.send(f"buzz.{value['topic']}", key=key, value=value["json"])
        outsider.flush()
        outsider.close()
        time.sleep(1)
        for n in (1, 2):
            proc.send_signal(signal.SIGUSR1)
            text = _wait_for(out, proc, "broker rolled over", count=n)
            time.sleep(8)  # the simulator sends again between roll-overs
        proc.send_signal(signal.SIGINT)
        assert proc.wait(120) == 0, out.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
    text = out.read_text()
    assert text.count("broker rolled over") == 2, text
    assert "already written by the worker" in text
    assert "stopping: the worker has written everything" in text  # what the demo sent last too
    assert (data / "logs" / "rollover.log").read_text().count("broker rolled over") == 2

    sent = _sent_by_demo(data / "logs" / "demo.log")
    assert sent["mentions"] > 1000 and sent["threads"] and sent["signups"], sent
    sent.update(Counter(value["topic"] for _key, value in burst))
    warehouse, url = start_warehouse(data)
    try:
        for topic, table in (
            ("mentions", "mentions"), ("threads", "thread_posts"), ("signups", "signups"),
        ):  # fmt: skip
            rows, distinct = _query(url, f"SELECT count(), uniqExact(event_id) FROM buzz.{table}")
            dead = _query(
                url,
                f"SELECT count() FROM buzz.dead_letters WHERE source_topic = 'buzz.{topic}'",
            )[0]
            # Every event sent is in its table or, if invalid, a dead letter; none twice.
            assert int(rows) + int(dead) == sent[topic], (topic, rows, dead, sent)
            assert rows == distinct, (table, rows, distinct)
    finally:
        warehouse.stop()
