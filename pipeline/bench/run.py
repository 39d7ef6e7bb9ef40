"""``buzz bench``: broker -> worker -> warehouse, next to a peer and to its own ceilings.

It starts its own embedded broker and warehouse on free ports with a throw-away data directory,
and measures, in this order:

(c) the pure work on one core, no I/O: decode + validate + score + rows
    (``pipeline.processors.mentions.process_mentions``), the ceiling of our own code;
(b) a Quix Streams application doing the same work (``bench/quix_peer.py``) on the same broker,
    topic and warehouse: N mentions sent flat out, from the first send to the last row written;
(a) the worker with every score on (``buzz worker``, all processors and periodic jobs; ``--workers
    N`` runs N of them in one group, as ``buzz up --workers N``), the same
    way, after the topics were emptied;
(e) event-to-queryable latency (``sunk_at - ingested_at``) at steady rates (500/s, 2,000/s);
(d) a plain aiokafka consumer decoding the same topic: the ceiling of the client;
(f) a backlog of ``--backlog`` mentions queued with the worker stopped, then drained: the time,
    and the worker's peak resident memory.

then prints them side by side with the ratios a/b, a/c and a/d. "Rows written" means every
mention in ``buzz.mentions`` and its scores in ``buzz.mention_scores``. Figures only: nothing
here asserts a speed.
"""

from __future__ import annotations

import asyncio
import os
import platform
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import orjson
import psutil
from clickhouse_connect.driver.client import Client
from rich.console import Console
from rich.table import Table as RichTable

from pipeline.bench.load import FastProducer, synthetic_mention
from pipeline.netutil import can_connect, free_port
from pipeline.supervisor import Child, _http_ok
from pipeline.topics import ALL_TOPICS, MENTIONS, admin_client, ensure_topics

console = Console(highlight=False)
ROOT = Path(__file__).resolve().parents[2]
PEER_PYTHON = ROOT / ".venv-peer" / "bin" / "python"
PEER_APP = ROOT / "bench" / "quix_peer.py"
PARTITIONS = 4


@dataclass
class Figures:
    pure: float = 0.0
    peer: float | None = None
    e2e: float = 0.0
    ceiling: float = 0.0
    latency: dict[float, tuple[float, float, float]] = field(default_factory=dict)
    backlog: int = 0
    backlog_seconds: float = 0.0
    backlog_peak_mb: float = 0.0
    notes: list[str] = field(default_factory=list)


def pure_rate(n: int, batch: int = 5000) -> float:
    """Mentions per second through decode, validation, scoring and rows, on this process."""
    from pipeline.campaign import load_campaign
    from pipeline.processors.mentions import MentionScoring, process_mentions
    from pipeline.processors.raw import Message
    from pipeline.scoring.subjects import compile_subjects
    from pipeline.scoring.validator_reach import index_validators

    campaign = load_campaign()
    scoring = MentionScoring(compile_subjects(campaign.subjects), index_validators(campaign))
    values = [synthetic_mention(i, "pure") for i in range(n)]
    msgs = [Message(MENTIONS, i % PARTITIONS, i, v) for i, v in enumerate(values)]
    process_mentions(msgs[:batch], scoring)  # warm-up: the scorers build their tables once
    t0 = time.process_time()
    for start in range(0, n, batch):
        process_mentions(msgs[start : start + batch], scoring)
    return n / (time.process_time() - t0)


async def _ceiling(bootstrap: str, n: int) -> float:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )  # fmt: skip
    await consumer.start()
    try:
        tps = [TopicPartition(MENTIONS, p) for p in consumer.partitions_for_topic(MENTIONS) or ()]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        count, t0 = 0, time.perf_counter()
        while count < n:
            got = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            if not got:
                break
            for records in got.values():
                for r in records:
                    orjson.loads(r.value)
                    count += 1
        return count / (time.perf_counter() - t0)
    finally:
        await consumer.stop()


class Bench:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.kport, self.wport = free_port(), free_port()
        self.bootstrap, self.url = f"127.0.0.1:{self.kport}", f"http://127.0.0.1:{self.wport}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("BUZZ_")}
        self.env = env | {"BUZZ_DATA_DIR": str(tmp), "BUZZ_LOG_LEVEL": "WARNING"}
        self.children: list[Child] = []
        self.producer = FastProducer(self.bootstrap)
        self.client: Client | None = None

    def spawn(self, name: str, argv: list[str], extra: dict[str, str] | None = None) -> Child:
        c = Child(name, argv, self.tmp / f"{name}.log", self.env | (extra or {}))
        c.start()
        self.children.append(c)
        return c

    def buzz(self, name: str, *args: str, extra: dict[str, str] | None = None) -> Child:
        return self.spawn(name, [sys.executable, "-m", "pipeline", *args], extra)

    @staticmethod
    def wait(child: Child, check: Callable[[], bool], what: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if not child.alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start:\n{child.tail()}")
            time.sleep(0.2)

    def start_stack(self) -> None:
        from pipeline.warehouse.client import get_client
        from pipeline.warehouse.migrate import apply_migrations

        b = self.buzz("broker", "broker", "--port", str(self.kport))
        self.wait(b, lambda: can_connect("127.0.0.1", self.kport), "broker")
        w = self.buzz("warehouse", "warehouse", "--port", str(self.wport))
        self.wait(w, lambda: _http_ok(self.url + "/ping"), "warehouse")
        self.client = get_client(url=self.url)
        apply_migrations(self.client)
        ensure_topics(self.bootstrap, PARTITIONS)

    def empty_topics(self) -> None:
        """Delete and recreate the topics, so the next contender starts from nothing."""
        admin = admin_client(self.bootstrap)
        try:
            admin.delete_topics(list(ALL_TOPICS))
        finally:
            admin.close()
        time.sleep(1)
        ensure_topics(self.bootstrap, PARTITIONS)

    def start_workers(self, k: int) -> list[Child]:
        """``k`` workers in one group (as ``buzz up --workers k``), each healthy."""
        out = []
        for i in range(k):
            port = free_port()
            worker_env = {
                "BUZZ_KAFKA_URL": self.bootstrap, "BUZZ_CLICKHOUSE_URL": self.url,
                "BUZZ_WORKER_WEB_PORT": str(port),
            }  # fmt: skip
            wk = self.buzz(f"worker{i + 1}", "worker", extra=worker_env)
            health = f"http://127.0.0.1:{port}/healthz"
            self.wait(wk, partial(_http_ok, health), "worker")
            out.append(wk)
        return out

    def written(self, run: str, n: int) -> bool:
        """Every mention of ``run`` is in buzz.mentions and has its scores."""
        assert self.client is not None
        q = (
            "SELECT (SELECT uniqExact(event_id) FROM buzz.mentions WHERE platform = 'bench'"
            " AND startsWith(event_id, {p:String})),"
            " (SELECT uniqExact(event_id) FROM buzz.mention_scores WHERE subject = 'kim'"
            " AND startsWith(event_id, {p:String}))"
        )
        got = self.client.query(q, parameters={"p": f"bench:{run}:"}).result_rows[0]
        return int(got[0]) >= n and int(got[1]) >= n

    def wait_written(self, run: str, n: int, timeout: float = 1800) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.written(run, n):
                return time.monotonic()
            time.sleep(0.25)
        raise TimeoutError(f"{run}: {n:,} mentions were not all written within {timeout:.0f} s")

    def throughput(self, run: str, n: int) -> float:
        t0 = self.producer.send(n, run)
        return n / (self.wait_written(run, n) - t0)

    def latency(self, run: str, rate: float, seconds: float) -> tuple[float, float, float]:
        assert self.client is not None
        n = int(rate * seconds)
        self.producer.send(n, run, rate=rate)
        self.wait_written(run, n)
        q = (
            "SELECT quantilesExact(0.5, 0.95, 0.99)(dateDiff('millisecond', ingested_at, sunk_at))"
            " FROM buzz.mentions FINAL WHERE startsWith(event_id, {p:String})"
        )
        p50, p95, p99 = self.client.query(q, parameters={"p": f"bench:{run}:"}).result_rows[0][0]
        return float(p50), float(p95), float(p99)

    def stop(self) -> None:
        for c in reversed(self.children):
            c.stop()


def _peak_rss(pid: int, stop: threading.Event, out: list[float]) -> None:
    proc = psutil.Process(pid)
    peak = 0
    while not stop.is_set():
        try:
            peak = max(peak, sum(p.memory_info().rss for p in [proc, *proc.children(True)]))
        except psutil.Error:
            break
        stop.wait(0.25)
    out.append(peak / 2**20)


def run(
    n: int,
    backlog: int,
    rates: tuple[float, ...],
    seconds: float,
    peer: bool,
    workers: int = 1,
) -> Figures:
    f = Figures()
    tmp = Path(tempfile.mkdtemp(prefix="buzz-bench-"))
    b = Bench(tmp)
    try:
        console.print(f"[1/6] pure work, one core: {n:,} mentions ...")
        f.pure = pure_rate(n)
        b.start_stack()
        if peer and PEER_PYTHON.exists() and PEER_APP.exists():
            console.print(f"[2/6] Quix Streams peer: {n:,} mentions flat out ...")
            qx = b.spawn("quix", [str(PEER_PYTHON), str(PEER_APP), b.bootstrap, b.url])
            b.producer.send(1000, "qxwarm")
            b.wait(qx, lambda: b.written("qxwarm", 1000), "quix peer", timeout=180)
            f.peer = b.throughput("qx", n)
            qx.stop()
            b.empty_topics()
        else:
            f.notes.append(
                "peer skipped: run `make bench` (or scripts/bench-peer.sh) to set up .venv-peer"
            )
        who = "worker" if workers == 1 else f"{workers} workers"
        console.print(f"[3/6] {who}, every score on: {n:,} mentions flat out ...")
        wks = b.start_workers(workers)
        b.producer.send(1000, "warm")
        b.wait(wks[0], lambda: b.written("warm", 1000), "worker", timeout=180)
        f.e2e = b.throughput("tp", n)
        for rate in rates:
            console.print(f"[4/6] latency at {rate:,.0f} mentions/s for {seconds:g} s ...")
            f.latency[rate] = b.latency(f"lat{int(rate)}", rate, seconds)
        console.print("[5/6] plain aiokafka consumer decoding the same topic ...")
        f.ceiling = asyncio.run(_ceiling(b.bootstrap, n + 1000))
        if backlog:
            console.print(f"[6/6] backlog: {backlog:,} mentions queued, then drained ...")
            for wk in wks:
                wk.stop()
            b.producer.send(backlog, "backlog")
            t0 = time.monotonic()
            wks = b.start_workers(workers)
            stop, peaks = threading.Event(), list[float]()
            samplers = []
            for wk in wks:
                assert wk.proc is not None
                samplers.append(
                    threading.Thread(target=_peak_rss, args=(wk.proc.pid, stop, peaks), daemon=True)
                )
                samplers[-1].start()
            f.backlog_seconds = b.wait_written("backlog", backlog, timeout=3600) - t0
            stop.set()
            for t in samplers:
                t.join()
            f.backlog, f.backlog_peak_mb = backlog, max(peaks, default=0.0)
        return f
    finally:
        b.stop()


def report(f: Figures, n: int, workers: int = 1) -> None:
    load = os.getloadavg()
    console.print(
        f"\n[bold]buzz bench[/] {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}: "
        f"{psutil.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB, "
        f"load average before the end {load[0]:.1f}; {n:,} mentions per throughput run"
    )
    t = RichTable(show_header=True, header_style="bold")
    t.add_column("figure")
    t.add_column("value", justify="right")
    who = "" if workers == 1 else f", {workers} workers"
    t.add_row(f"(a) end to end, every score on{who}", f"{f.e2e:,.0f} mentions/s")
    t.add_row(
        "(b) Quix Streams app, same work",
        "skipped" if f.peer is None else f"{f.peer:,.0f} mentions/s",
    )
    t.add_row("(c) pure work, one core, no I/O", f"{f.pure:,.0f} mentions/s")
    t.add_row("(d) plain aiokafka decode loop", f"{f.ceiling:,.0f} mentions/s")
    for rate, (p50, p95, p99) in f.latency.items():
        t.add_row(
            f"(e) latency at {rate:,.0f}/s p50 / p95 / p99",
            f"{p50:,.0f} / {p95:,.0f} / {p99:,.0f} ms",
        )
    if f.backlog:
        t.add_row(
            f"(f) {f.backlog:,} backlog drained",
            f"{f.backlog_seconds:,.0f} s ({f.backlog / f.backlog_seconds:,.0f}/s), "
            f"worker peak {f.backlog_peak_mb:,.0f} MB" + (" (the largest)" if workers > 1 else ""),
        )
    t.add_row("a/b", "-" if f.peer is None else f"{f.e2e / f.peer:.2f}")
    t.add_row("a/c", f"{f.e2e / f.pure:.2f}")
    t.add_row("a/d", f"{f.e2e / f.ceiling:.3f}")
    console.print(t)
    for note in f.notes:
        console.print(f"note: {note}")


def main(
    n: int = 50_000,
    backlog: int = 1_000_000,
    rates: tuple[float, ...] = (500.0, 2000.0),
    seconds: float = 20.0,
    peer: bool = True,
    workers: int = 1,
) -> int:
    try:
        figures = run(n, backlog, rates, seconds, peer, workers)
    except (RuntimeError, TimeoutError) as exc:
        console.print(f"[red]bench failed: {exc}[/]")
        return 1
    report(figures, n, workers)
    return 0
