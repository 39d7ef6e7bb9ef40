"""The one consumer path every input topic goes through (in the spirit of Snuba's strategies).

    read a batch (by size and by time) -> each topic's processor (decode once, validate, every
    row, dead letter and alert the messages produce) -> write every table at once, idempotently
    -> dead letters and alerts out -> commit the offsets -> report progress

While one batch is being written, the next is read and processed (never more than one write in
flight, and commits stay in order). The consumer is a plain aiokafka group member (Faust's
per-message stream machinery measured far slower than this, see docs/architecture.md), so
several workers share the partitions, and a rebalance waits for the batch in flight.

Failure policy, by class (written here once, for every topic):

===========================================  ====================================================
bad input (not JSON, wrong schema, odd)      dead letter with reason and place (the processor)
a scorer raising on one message              that message dead-lettered with the error
warehouse unreachable / overloaded           retried with backoff, nothing committed meanwhile
a row the warehouse refuses                  that row's message dead-lettered with the reason;
                                             the rest of the batch is written
broker unreachable for dead letters/alerts   retried with backoff, nothing committed meanwhile
anything else (a bug)                        the worker stops without committing the batch,
                                             which is read again after the restart
===========================================  ====================================================

Nothing is committed that was not written, and no input stalls a partition.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError

from pipeline.events import DeadLetter
from pipeline.processors.common import dead_letter_for
from pipeline.processors.raw import RawMessage, content_token
from pipeline.retry import aretrying
from pipeline.stream.alerts import AlertPublisher
from pipeline.stream.output import Output
from pipeline.stream.progress import ProgressTracker
from pipeline.stream.reader import WarehouseReader
from pipeline.stream.writer import WarehouseWriter
from pipeline.tables import STREAM_PARTITIONS
from pipeline.topics import DEAD_LETTERS, STREAM_GROUP

log = logging.getLogger("pipeline.stream")

GROUP = STREAM_GROUP
PROGRESS_SECONDS = 1.0


class Processor(Protocol):
    topic: str

    def revoked(self, partitions: set[int]) -> None: ...

    async def process(self, messages: Sequence[RawMessage]) -> Output: ...


@dataclass
class Stats:
    messages: int = 0
    rows: int = 0
    dead_letters: int = 0
    alerts: int = 0
    batches: int = 0
    refused: int = 0
    # Where the time goes (seconds, cumulative): reading batches, processing them, waiting for
    # the previous batch's write before handing over the next, writing, committing.
    read_s: float = 0.0
    process_s: float = 0.0
    wait_s: float = 0.0
    write_s: float = 0.0
    commit_s: float = 0.0


@dataclass
class Batch:
    by_topic: dict[str, list[RawMessage]]
    ends: dict[TopicPartition, int]  # next offset after the batch, per partition

    @classmethod
    def of(cls, records: Mapping[TopicPartition, Sequence[Any]]) -> Batch:
        """The records as they are (aiokafka's records are RawMessages), grouped by topic."""
        by_topic: dict[str, list[RawMessage]] = {}
        ends: dict[TopicPartition, int] = {}
        for tp, recs in records.items():
            if recs:
                by_topic.setdefault(tp.topic, []).extend(recs)
                ends[tp] = recs[-1].offset + 1
        return cls(by_topic, ends)

    def token(self, topic: str) -> str:
        """The same for the same messages: one offset range per partition, in order."""
        ranges = sorted(
            (tp.partition, self.first(tp), end)
            for tp, end in self.ends.items()
            if tp.topic == topic
        )
        return content_token(topic, ranges)

    def first(self, tp: TopicPartition) -> int:
        return min(m.offset for m in self.by_topic[tp.topic] if m.partition == tp.partition)

    def __len__(self) -> int:
        return sum(len(v) for v in self.by_topic.values())


Coordination = Callable[[bool], Awaitable[None]]  # called with True to start, False to stop


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, owner: StreamConsumer) -> None:
        self.owner = owner

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self.owner._on_revoked(revoked)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        await self.owner._on_assigned(assigned)


class StreamConsumer:
    def __init__(
        self,
        *,
        bootstrap: str,
        processors: Sequence[Processor],
        writer: WarehouseWriter,
        reader: WarehouseReader,
        batch_size: int = 5000,
        batch_seconds: float = 0.25,
        coordination: Coordination | None = None,
        coordinator_partition: TopicPartition | None = None,
        group: str = GROUP,
    ) -> None:
        self.bootstrap = bootstrap
        self.processors = {p.topic: p for p in processors}
        self.writer = writer
        self.reader = reader
        self.batch_size = batch_size
        self.batch_seconds = batch_seconds
        self.coordination = coordination
        self.coordinator_partition = coordinator_partition
        self.group = group
        self.progress = ProgressTracker()
        self.stats = Stats()
        self._stop = threading.Event()
        self._lock = asyncio.Lock()  # held while a batch is processed or a rebalance handled
        self._inflight: asyncio.Task[None] | None = None
        self._coordinating = False
        self._last_progress: str = ""
        self.consumer: AIOKafkaConsumer | None = None
        self.producer: AIOKafkaProducer | None = None
        self.publisher = AlertPublisher(writer, reader, self.send)

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self.producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            acks="all",
            linger_ms=5,
            max_request_size=2 * 1024 * 1024,
        )
        await self.producer.start()
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=self.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=6000,
            heartbeat_interval_ms=1000,
            max_poll_interval_ms=120_000,
            fetch_max_wait_ms=100,
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        self.consumer.subscribe(list(self.processors), listener=_Rebalance(self))
        await self.consumer.start()

    def request_stop(self) -> None:
        self._stop.set()
        self.writer.stop()
        self.reader.stop()

    async def stop(self) -> None:
        self.request_stop()
        async with self._lock:
            await self._wait_inflight()
            if self._coordinating and self.coordination is not None:
                self._coordinating = False
                await self.coordination(False)
        if self.consumer is not None:
            await self.consumer.stop()
        if self.producer is not None:
            await self.producer.stop()

    async def run(self) -> None:
        """Consume until stopped; the progress reporter runs beside it."""
        reporter = asyncio.create_task(self._report_progress())
        try:
            while not self._stop.is_set():
                t0 = time.perf_counter()
                records = await self._collect()
                self.stats.read_s += time.perf_counter() - t0
                if records:
                    async with self._lock:
                        await self._handle(records)
            async with self._lock:
                await self._wait_inflight()
        finally:
            reporter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reporter

    # --- one batch -------------------------------------------------------------------------

    async def _collect(self) -> dict[TopicPartition, list[Any]]:
        """Read until the batch is full or its first message has waited ``batch_seconds``."""
        assert self.consumer is not None
        got: dict[TopicPartition, list[Any]] = {}
        n = 0
        deadline: float | None = None
        while not self._stop.is_set():
            wait = 0.5 if deadline is None else max(0.0, deadline - time.monotonic())
            more = await self.consumer.getmany(
                timeout_ms=int(wait * 1000), max_records=self.batch_size - n
            )
            for tp, recs in more.items():
                got.setdefault(tp, []).extend(recs)
                n += len(recs)
            if n and deadline is None:
                deadline = time.monotonic() + self.batch_seconds
            if n >= self.batch_size or (deadline is not None and time.monotonic() >= deadline):
                break
            if n == 0:
                break  # idle: let the caller check for a stop
        return got

    async def _handle(self, records: dict[TopicPartition, list[Any]]) -> None:
        assert self.consumer is not None
        owned = self.consumer.assignment()
        batch = Batch.of({tp: r for tp, r in records.items() if tp in owned})
        if not batch.ends:
            return
        outputs: list[tuple[str, Output]] = []
        t0 = time.perf_counter()
        for topic, messages in batch.by_topic.items():
            processor = self.processors.get(topic)
            if processor is not None:
                outputs.append((topic, await processor.process(messages)))
        t1 = time.perf_counter()
        await self._wait_inflight(raise_errors=True)  # commits stay in order
        self.stats.process_s += t1 - t0
        self.stats.wait_s += time.perf_counter() - t1
        self._inflight = asyncio.create_task(self._finish(batch, outputs))

    async def _wait_inflight(self, raise_errors: bool = False) -> None:
        task, self._inflight = self._inflight, None
        if task is None:
            return
        try:
            await task
        except (
            CommitFailedError
        ) as exc:  # we lost the partitions meanwhile: the new owner redoes it
            log.warning("commit failed after a rebalance (%s); the batch will be redone", exc)
        except Exception:
            if raise_errors:
                raise
            log.exception("a batch failed while stopping; it will be read again after the restart")

    async def _finish(self, batch: Batch, outputs: list[tuple[str, Output]]) -> None:
        """Write, dead-letter, alert, commit, report: in that order."""
        jobs = []
        for topic, out in outputs:
            token = batch.token(topic)
            for table, rows in out.writes.items():
                jobs.append(
                    (topic, table, rows, self.writer.ainsert(table, rows.rows, f"{table}:{token}"))
                )
        t0 = time.perf_counter()
        results = await asyncio.gather(*(j[3] for j in jobs))
        dead: list[DeadLetter] = [d for _, out in outputs for d in out.dead_letters]
        for (topic, table, rows, _), refused in zip(jobs, results, strict=True):
            self.stats.refused += len(refused)
            for r in refused:
                origin = rows.origins[r.index]
                if origin is None or topic == DEAD_LETTERS:
                    # A dead letter (or a row of our own) the table refuses cannot be dead-lettered
                    # again without looping: it is logged with everything needed to find it.
                    log.error("the warehouse refused a %s row from %s: %s", table, topic, r.reason)
                    continue
                reason = f"the warehouse refused the {table} row: {r.reason}"
                dead.append(dead_letter_for(origin, reason, suffix=f"@{table}"))
        if dead:
            await self.send([(DEAD_LETTERS, d.key(), d.to_json()) for d in dead])
        alerts = [a for _, out in outputs for a in out.alerts]
        if alerts:
            self.stats.alerts += len(await self.publisher.publish(alerts))
        assert self.consumer is not None
        t1 = time.perf_counter()
        await self.consumer.commit(dict(batch.ends))
        self.stats.write_s += t1 - t0
        self.stats.commit_s += time.perf_counter() - t1
        now = datetime.now(UTC)
        latest = {(topic, p): at for topic, out in outputs for p, at in out.latest.items()}
        for tp, end in batch.ends.items():
            pp = self.progress.get(tp.topic, tp.partition)
            if pp is not None:
                pp.written(end, latest.get((tp.topic, tp.partition)), now)
        self.stats.batches += 1
        self.stats.messages += len(batch)
        self.stats.rows += sum(len(r.rows) for _, out in outputs for r in out.writes.values())
        self.stats.dead_letters += len(dead)

    async def send(self, messages: Sequence[tuple[str, bytes, bytes]]) -> None:
        """Produce and wait for every acknowledgement; broker outages are retried."""
        assert self.producer is not None
        producer = self.producer
        async for attempt in aretrying(
            on=KafkaError, what="sending to the broker", stop_event=self._stop, logger=log
        ):
            with attempt:
                futures = [await producer.send(t, key=k, value=v) for t, k, v in messages]
                await asyncio.gather(*futures)

    # --- rebalances and progress ---------------------------------------------------------

    async def _on_revoked(self, revoked: list[TopicPartition]) -> None:
        async with self._lock:  # the batch being processed finishes first
            await self._wait_inflight()
            by_topic: dict[str, set[int]] = {}
            for tp in revoked:
                by_topic.setdefault(tp.topic, set()).add(tp.partition)
                self.progress.revoked(tp.topic, tp.partition)
            for topic, parts in by_topic.items():
                if topic in self.processors:
                    self.processors[topic].revoked(parts)
            if self._coordinating and self.coordinator_partition in revoked:
                self._coordinating = False
                if self.coordination is not None:
                    await self.coordination(False)

    async def _on_assigned(self, assigned: list[TopicPartition]) -> None:
        for tp in assigned:  # where it starts is filled in by the reporter (see mark_caught_up)
            self.progress.assigned(tp.topic, tp.partition, -1)
        log.info("assigned %s", ", ".join(f"{tp.topic}[{tp.partition}]" for tp in sorted(assigned)))
        if self.coordinator_partition in assigned and self.coordination is not None:
            self._coordinating = True
            await self.coordination(True)

    async def mark_caught_up(self) -> None:
        """Partitions whose every message the broker held at the last fetch is written."""
        consumer = self.consumer
        if consumer is None:
            return
        for tp in consumer.assignment():
            pp = self.progress.get(tp.topic, tp.partition)
            if pp is not None and pp.next_offset < 0:  # just assigned: start from the commit
                committed = await consumer.committed(tp)
                pp.written(committed or 0, None, datetime.now(UTC))
            if pp is None:
                continue
            polled = consumer.last_poll_timestamp(tp)
            at = datetime.fromtimestamp(polled / 1000, UTC) if polled else None
            pp.fetched(consumer.highwater(tp), at)

    async def _report_progress(self) -> None:
        while not self._stop.is_set():
            await asyncio.sleep(PROGRESS_SECONDS)
            await self.mark_caught_up()
            rows = self.progress.rows()
            token = content_token("stream_partitions", rows)
            if not rows or token == self._last_progress:
                continue
            try:
                await self.writer.ainsert(STREAM_PARTITIONS, rows, token)
                self._last_progress = token
            except Exception as exc:  # stopping during an outage: the next worker reports
                log.warning("progress not reported: %s", exc)
