"""End to end on the real embedded broker and warehouse: broker -> worker -> warehouse.

Pins: N events in gives exactly N distinct rows; the same events sent again still give N rows;
malformed input lands in ``buzz.dead_letters`` with its reason while the rest flow on.
"""

from __future__ import annotations

import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from kafka import KafkaProducer

from pipeline.bench import synthetic_mention
from pipeline.topics import MENTIONS, ensure_topics
from pipeline.warehouse.client import get_client
from tests.conftest import Child, buzz_cmd, clean_env, free_port, wait_for


def _healthy(port: int) -> bool:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
        return bool(r.status == 200)


@pytest.fixture(scope="module")
def worker(broker_url: str, migrated_warehouse: str, tmp_path_factory) -> Iterator[Child]:  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("worker")
    port = free_port()
    ensure_topics(broker_url, 4)
    child = Child(
        buzz_cmd("worker"),
        Path(tmp) / "worker.log",
        clean_env(
            BUZZ_KAFKA_URL=broker_url,
            BUZZ_CLICKHOUSE_URL=migrated_warehouse,
            BUZZ_WORKER_WEB_PORT=str(port),
            BUZZ_SINK_BATCH_SECONDS="0.3",
            BUZZ_DATA_DIR=str(tmp),
        ),
    )
    wait_for(lambda: _healthy(port), "buzz worker", child, timeout=90)
    yield child
    child.stop()


def _send(broker_url: str, values: list[bytes]) -> None:
    producer = KafkaProducer(bootstrap_servers=broker_url, acks="all")
    for i, v in enumerate(values):
        producer.send(MENTIONS, key=str(i).encode(), value=v)
    producer.flush()
    producer.close()


def _scalar(url: str, sql: str, **params: str) -> int:
    return int(get_client(url=url).query(sql, parameters=params).result_rows[0][0])


def _wait_count(url: str, sql: str, want: int, timeout: float = 90, **params: str) -> int:
    deadline = time.monotonic() + timeout
    got = -1
    while time.monotonic() < deadline:
        got = _scalar(url, sql, **params)
        if got >= want:
            return got
        time.sleep(0.3)
    return got


ROWS = "SELECT count() FROM buzz.mentions FINAL WHERE event_id LIKE {p:String}"
DISTINCT = "SELECT uniqExact(event_id) FROM buzz.mentions WHERE event_id LIKE {p:String}"


def test_n_events_give_n_rows_even_when_sent_twice(
    worker: Child, broker_url: str, migrated_warehouse: str
) -> None:
    run = uuid.uuid4().hex[:8]
    n = 500
    events = [synthetic_mention(i, run) for i in range(n)]
    _send(broker_url, events)
    p = f"bench:{run}:%"
    assert _wait_count(migrated_warehouse, ROWS, n, p=p) == n, worker.log_tail()

    # The same events again, then a sentinel that proves the worker got past them.
    _send(broker_url, [*events, synthetic_mention(n, run)])
    assert _wait_count(migrated_warehouse, DISTINCT, n + 1, p=p) == n + 1, worker.log_tail()
    assert _scalar(migrated_warehouse, ROWS, p=p) == n + 1
    assert _scalar(migrated_warehouse, DISTINCT, p=p) == n + 1


def test_malformed_events_are_dead_lettered_with_reason_and_the_rest_flow(
    worker: Child, broker_url: str, migrated_warehouse: str
) -> None:
    run = uuid.uuid4().hex[:8]
    good = [synthetic_mention(i, run) for i in range(20)]
    bad_json = f"not json {run}".encode()
    bad_schema = orjson.dumps({"schema_version": 1, "event_id": f"x:{run}", "text": "no author"})
    _send(broker_url, [*good[:10], bad_json, bad_schema, *good[10:]])

    p = f"bench:{run}:%"
    assert _wait_count(migrated_warehouse, ROWS, 20, p=p) == 20, worker.log_tail()
    dl = "SELECT count() FROM buzz.dead_letters FINAL WHERE position(payload, {r:String}) > 0"
    assert _wait_count(migrated_warehouse, dl, 2, r=run) == 2
    rows = (
        get_client(url=migrated_warehouse)
        .query(
            "SELECT reason, source_topic, offset FROM buzz.dead_letters FINAL"
            " WHERE position(payload, {r:String}) > 0 ORDER BY offset",
            parameters={"r": run},
        )
        .result_rows
    )
    reasons = [r[0] for r in rows]
    assert reasons[0].startswith("not JSON")
    assert "author: Field required" in reasons[1]
    assert all(r[1] == MENTIONS and r[2] >= 0 for r in rows)


def test_a_huge_bad_record_in_the_middle_of_a_partition_loses_none_of_the_good_ones(
    worker: Child, broker_url: str, migrated_warehouse: str
) -> None:
    """What was seen: a 200 KB value of NUL bytes (a ~1.2 MB dead letter, past the broker's limit)
    crashed the sink after the batch was acked: 0 of the 100 good mentions around it were written.
    """
    run = uuid.uuid4().hex[:8]
    good = [synthetic_mention(i, run) for i in range(100)]
    huge = b"\x00" * 200_000
    producer = KafkaProducer(bootstrap_servers=broker_url, acks="all", max_request_size=2**21)
    for v in [*good[:50], huge, *good[50:]]:  # one key: one partition, the bad one in the middle
        producer.send(MENTIONS, key=b"same-partition", value=v)
    producer.flush()
    producer.close()
    p = f"bench:{run}:%"
    assert _wait_count(migrated_warehouse, DISTINCT, 100, p=p) == 100, worker.log_tail()
    sql = (
        "SELECT count() FROM buzz.dead_letters FINAL WHERE payload_size = 200000"
        " AND payload_truncated = 1 AND startsWith(reason, 'not JSON')"
        " AND payload_sha256 = {h:String}"
    )
    import hashlib

    assert _wait_count(migrated_warehouse, sql, 1, h=hashlib.sha256(huge).hexdigest()) == 1


def test_the_health_page_listens_on_loopback_only(worker: Child) -> None:
    import psutil

    listening = [
        c.laddr.ip
        for c in psutil.Process(worker.proc.pid).net_connections(kind="tcp")
        if c.status == psutil.CONN_LISTEN
    ]
    assert listening and all(ip == "127.0.0.1" for ip in listening), listening
