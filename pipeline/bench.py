"""``buzz bench``: broker -> worker -> warehouse, measured end to end.

Starts its own embedded broker and warehouse on free ports with a throw-away data directory, a
real ``buzz worker``, then:

1. latency: sends mentions at a steady rate below capacity and reports event-to-queryable
   latency (``sunk_at - ingested_at``, both stamped on this machine's clock) p50/p95/p99;
2. throughput: sends N mentions as fast as the producer can and reports events/s from the
   first send to the last row being queryable (the producer competes for the same cores);
3. drain: stops the worker, queues N more mentions, restarts it and reports the rate at which
   it writes the backlog (first written batch to last), with no producer running;
4. ceiling: a plain aiokafka consumer decoding the same messages with orjson.

Figures only; nothing here asserts a speed.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from clickhouse_connect.driver.client import Client
from rich.console import Console

from pipeline.events import Author, Engagement, Mention
from pipeline.netutil import can_connect, free_port
from pipeline.topics import MENTIONS

console = Console(highlight=False)


def synthetic_mention(i: int, run: str) -> bytes:
    now = datetime.now(UTC)
    m = Mention(
        event_id=f"bench:{run}:{i}",
        platform="bench",
        occurred_at=now - timedelta(seconds=1),
        ingested_at=now,
        author=Author(id=str(i % 5000), handle=f"user{i % 5000}", audience=(i * 7919) % 100_000),
        text=f"Jordan Kim on the Riverline vote, take {i} #KimForSenate",
        url=f"https://example.org/p/{i}",
        engagement=Engagement(likes=i % 50, reshares=i % 7),
        reshare_of=f"bench:{run}:{i // 10}" if i % 10 else None,
        hashtags=["kimforsenate"],
    )
    return m.to_json()


def _wait_rows(client: Client, run: str, n: int, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    got = 0
    q = (
        "SELECT uniqExact(event_id) FROM buzz.mentions"
        " WHERE platform = 'bench' AND event_id LIKE {p:String}"
    )
    while time.monotonic() < deadline:
        got = int(client.query(q, parameters={"p": f"bench:{run}:%"}).result_rows[0][0])
        if got >= n:
            return time.monotonic()
        time.sleep(0.2)
    raise TimeoutError(f"only {got} of {n} rows arrived within {timeout:.0f} s")


def _produce(bootstrap: str, run: str, n: int, rate: float | None) -> float:
    """Send n mentions (paced at ``rate``/s, or as fast as possible); return the start time.

    Unpaced sends are encoded before the clock starts, so the producer's own JSON work does not
    count against the pipeline.
    """
    from kafka import KafkaProducer

    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        acks=1,
        linger_ms=5,
        batch_size=256 * 1024,
        max_in_flight_requests_per_connection=5,
    )
    ready = None if rate else [synthetic_mention(i, run) for i in range(n)]
    t0 = time.monotonic()
    for i in range(n):
        if ready is not None:
            value = ready[i]
        else:
            assert rate
            delay = t0 + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            value = synthetic_mention(i, run)
        producer.send(MENTIONS, key=f"k{i}".encode(), value=value)
    producer.flush()
    producer.close()
    return t0


async def _ceiling(bootstrap: str, n: int) -> float:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await consumer.start()
    try:
        parts = consumer.partitions_for_topic(MENTIONS) or set()
        tps = [TopicPartition(MENTIONS, p) for p in parts]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        count = 0
        t0 = time.perf_counter()
        while count < n:
            batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            if not batch:
                break
            for records in batch.values():
                for r in records:
                    orjson.loads(r.value)
                    count += 1
        return count / (time.perf_counter() - t0)
    finally:
        await consumer.stop()


def main(n: int = 50_000, latency_rate: float = 500.0, latency_seconds: float = 20.0) -> int:
    from pipeline.supervisor import Child, _http_ok
    from pipeline.warehouse.client import get_client

    tmp = Path(tempfile.mkdtemp(prefix="buzz-bench-"))
    kport, wport, webport = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUZZ_")}
    env |= {
        "BUZZ_DATA_DIR": str(tmp),
        "BUZZ_BROKER_PORT": str(kport),
        "BUZZ_WAREHOUSE_PORT": str(wport),
        "BUZZ_WORKER_WEB_PORT": str(webport),
    }
    bootstrap, wurl = f"127.0.0.1:{kport}", f"http://127.0.0.1:{wport}"
    children = []

    def spawn(name: str, *args: str, extra: dict[str, str] | None = None) -> Child:
        c = Child(
            name,
            [sys.executable, "-m", "pipeline", *args],
            tmp / f"{name}.log",
            env | (extra or {}),
        )
        c.start()
        children.append(c)
        return c

    def wait(c: Child, check, what: str) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + 90
        while not check():
            if not c.alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start:\n{c.tail()}")
            time.sleep(0.2)

    try:
        console.print(
            f"bench: {n:,} mentions; latency at {latency_rate:g}/s for "
            f"{latency_seconds:g} s; data in {tmp}"
        )
        b = spawn("broker", "broker")
        wait(b, lambda: can_connect("127.0.0.1", kport), "broker")
        w = spawn("warehouse", "warehouse")
        wait(w, lambda: _http_ok(wurl + "/ping"), "warehouse")
        client = get_client(url=wurl)
        worker_env = {
            "BUZZ_KAFKA_URL": bootstrap,
            "BUZZ_CLICKHOUSE_URL": wurl,
            "BUZZ_LOG_LEVEL": "WARNING",
            "BUZZ_SINK_BATCH_SIZE": "5000",
            "BUZZ_SINK_BATCH_SECONDS": "0.5",
        }
        wk = spawn("worker", "worker", extra=worker_env)
        wait(wk, lambda: _http_ok(f"http://127.0.0.1:{webport}/healthz"), "worker")
        # Warm-up: the consumer group must have joined before anything is timed.
        _produce(bootstrap, "warm", 100, None)
        _wait_rows(client, "warm", 100, 120)

        n_lat = int(latency_rate * latency_seconds)
        console.print(f"[1/4] latency: {n_lat:,} mentions at {latency_rate:g}/s ...")
        _produce(bootstrap, "lat", n_lat, latency_rate)
        _wait_rows(client, "lat", n_lat, 300)
        q = (
            "SELECT quantilesExact(0.5, 0.95, 0.99)(dateDiff('millisecond', ingested_at, sunk_at))"
            " FROM buzz.mentions FINAL WHERE event_id LIKE 'bench:lat:%'"
        )
        p50, p95, p99 = client.query(q).result_rows[0][0]

        console.print(f"[2/4] throughput: {n:,} mentions as fast as possible ...")
        t0 = _produce(bootstrap, "tp", n, None)
        t_send = time.monotonic() - t0
        t_done = _wait_rows(client, "tp", n, 900) - t0
        console.print(f"[3/4] drain: {n:,} mentions queued while the worker is stopped ...")
        wk.stop()  # SIGTERM: the worker commits and leaves the group
        _produce(bootstrap, "drain", n, None)
        wk = spawn("worker", "worker", extra=worker_env)
        _wait_rows(client, "drain", n, 900)
        # From the first batch written to the last: the rows after the first batch, over that span.
        q = (
            "WITH d AS (SELECT sunk_at FROM buzz.mentions WHERE event_id LIKE 'bench:drain:%')"
            " SELECT countIf(sunk_at > (SELECT min(sunk_at) FROM d)),"
            " dateDiff('millisecond', min(sunk_at), max(sunk_at)) FROM d"
        )
        after_first, span_ms = client.query(q).result_rows[0]
        drain_s = max(int(span_ms), 1) / 1000
        drain_rate = int(after_first) / drain_s
        console.print("[4/4] ceiling: plain aiokafka consumer decoding the same topic ...")
        total = 2 * n + n_lat + 100
        ceiling = asyncio.run(_ceiling(bootstrap, total))

        console.print("\n[bold]results[/]")
        console.print(
            f"  end to end (broker -> worker -> warehouse): {n / t_done:,.0f} events/s "
            f"({n:,} in {t_done:.1f} s; producer alone took {t_send:.1f} s)"
        )
        console.print(
            f"  draining a backlog (no producer competing): {drain_rate:,.0f} events/s "
            f"({after_first:,} rows written in the {drain_s:.1f} s after the first batch)"
        )
        console.print(
            f"  event-to-queryable latency at {latency_rate:g}/s: "
            f"p50 {p50:.0f} ms, p95 {p95:.0f} ms, p99 {p99:.0f} ms"
        )
        console.print(f"  ceiling, plain aiokafka decode loop: {ceiling:,.0f} events/s")
        return 0
    except (RuntimeError, TimeoutError) as exc:
        console.print(f"[red]bench failed: {exc}[/]")
        return 1
    finally:
        for c in reversed(children):
            c.stop()
