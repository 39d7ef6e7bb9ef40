"""What the embedded broker holds that the worker has not yet written, and who else is connected.

Both answer one question before the broker's messages are dropped (``pipeline.broker_rollover``):
is every message already in the warehouse, and can nobody send a new one meanwhile?

* :func:`read_backlog` compares the worker group's committed offsets with the end of every
  partition. The ends come from the high watermark that a Fetch response carries, which is exact:
  Tansu answers ListOffsets with the base offset of the newest *batch* plus one, so a partition
  whose last batch holds many records looks shorter than it is (DESIGN.md: "a little off").
  The worker commits an offset only after the warehouse accepted the batch (pipeline.stream), so
  a committed offset at the end of the log means every message of that partition is written.
* :func:`outside_clients` lists the broker's TCP clients that are not processes of ``buzz up``
  (a source run by hand in another terminal, say): such a client could send a message after the
  last check, so the roll-over waits until there is none.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass, field

import psutil
from kafka import KafkaConsumer, TopicPartition

from pipeline.topics import ALERTS, STREAM_GROUP, admin_client

# The stream's consumer group: every worker reads every input topic in it (pipeline.stream).
WORKER_GROUP = STREAM_GROUP
# Topics the pipeline writes for readers outside it and never reads itself. What they hold is
# also in the warehouse (the buzz.alerts table), so a roll-over may drop it.
OUTSIDE_READERS = frozenset({ALERTS})


@dataclass(frozen=True)
class Backlog:
    """Per partition: ``unread`` holds messages not yet committed by the worker (only those > 0);
    ``held`` counts every message the broker holds, ``for_outside`` those on OUTSIDE_READERS."""

    unread: dict[TopicPartition, int] = field(default_factory=dict)
    held: int = 0
    for_outside: int = 0

    @property
    def total(self) -> int:
        return sum(self.unread.values())

    @property
    def drained(self) -> bool:
        return not self.unread

    def describe(self, limit: int = 6) -> str:
        parts = [f"{tp.topic}[{tp.partition}] {n:,}" for tp, n in sorted(self.unread.items())]
        more = f" and {len(parts) - limit} more partitions" if len(parts) > limit else ""
        return ", ".join(parts[:limit]) + more or "nothing"


def read_backlog(bootstrap: str, group: str = WORKER_GROUP, timeout: float = 20.0) -> Backlog:
    """What ``group`` has not committed, partition by partition, against exact end offsets."""
    admin = admin_client(bootstrap, timeout)
    try:
        topics = sorted(admin.list_topics())
        committed = {
            tp: max(meta.offset, 0)
            for tp, meta in admin.list_group_offsets({group: None}).get(group, {}).items()
        }
    finally:
        admin.close()
    ends = _end_offsets(bootstrap, topics, committed, timeout)
    unread: dict[TopicPartition, int] = {}
    held = for_outside = 0
    for tp, end in ends.items():
        held += end
        if tp.topic in OUTSIDE_READERS:
            for_outside += end
        elif end > committed.get(tp, 0):
            unread[tp] = end - committed.get(tp, 0)
    return Backlog(unread=unread, held=held, for_outside=for_outside)


def _end_offsets(
    bootstrap: str, topics: list[str], committed: dict[TopicPartition, int], timeout: float
) -> dict[TopicPartition, int]:
    """Exact end offsets: each partition is fetched once from its committed offset."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap.split(","),
        client_id="buzz-rollover",
        group_id=None,
        enable_auto_commit=False,
        fetch_max_wait_ms=50,
        max_partition_fetch_bytes=1024,  # one batch is enough: only the watermark is wanted
        request_timeout_ms=int(timeout * 1000),
    )
    try:
        tps = [
            TopicPartition(t, p)
            for t in topics
            for p in sorted(consumer.partitions_for_topic(t) or ())
        ]
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, committed.get(tp, 0))
        deadline = time.monotonic() + timeout
        while (missing := [tp for tp in tps if consumer.highwater(tp) is None]) and (
            time.monotonic() < deadline
        ):
            consumer.poll(timeout_ms=100, max_records=1)
        if missing:
            raise TimeoutError(f"the broker did not report the end of {len(missing)} partitions")
        return {tp: int(consumer.highwater(tp) or 0) for tp in tps}
    finally:
        consumer.close()


def outside_clients(broker_pid: int, port: int, ours: Collection[int]) -> list[str]:
    """The broker's TCP clients that are not processes in ``ours``, described for a log line.

    A client whose process cannot be seen (another user's) counts as outside.
    """
    broker = psutil.Process(broker_pid)
    peers = [
        c.raddr
        for c in broker.net_connections(kind="tcp")
        if c.status == psutil.CONN_ESTABLISHED and c.laddr and c.laddr.port == port and c.raddr
    ]
    if not peers:
        return []
    owners = {
        (c.laddr.ip, c.laddr.port): c.pid
        for c in psutil.net_connections(kind="tcp")
        if c.laddr and c.pid is not None
    }
    found = []
    for peer in peers:
        pid = owners.get((peer.ip, peer.port))
        if pid is not None and pid in ours:
            continue
        found.append(f"{peer.ip}:{peer.port} ({_describe(pid)})")
    return found


def _describe(pid: int | None) -> str:
    if pid is None:
        return "process unknown"
    try:
        cmd = " ".join(psutil.Process(pid).cmdline())
    except psutil.Error:
        return f"pid {pid}"
    return f"pid {pid}: {cmd[:80]}"
