"""What every agent shares: raw messages, dead letters, acknowledged writes, warehouse reads.

Failure policies, applied here for every agent:

* A write the warehouse does not accept is retried by :class:`pipeline.sink.WarehouseSink`
  until it is accepted; if the worker stops meanwhile, :func:`write` raises CancelledError so
  the batch is left unacked and redelivered after the restart.
* Dead letters are delivered (awaited) before the batch may be acked, so bad input is never lost.
* A read that fails raises :class:`ReadFailed`; periodic jobs log it and try again on the next
  tick, stream agents retry it like a write (their batch stays unacked meanwhile).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import orjson
from clickhouse_connect.driver.client import Client
from faust.types import EventT, StreamT, TopicT

from pipeline.events import DeadLetter
from pipeline.processors.raw import RawMessage
from pipeline.sink import WarehouseSink

log = logging.getLogger("pipeline.agents")


def batches(stream: StreamT, size: int, within: float) -> AsyncIterator[list[EventT]]:
    """``stream.take_events``: batches by size and by time (Faust's StreamT stub lacks it)."""
    return cast(AsyncIterator[list[EventT]], cast(Any, stream).take_events(size, within=within))


def raw_message(event: EventT) -> RawMessage:
    msg = event.message
    value = event.value if isinstance(event.value, bytes | type(None)) else bytes(event.value)
    return RawMessage(msg.topic, msg.partition, msg.offset, value, msg.timestamp)


async def send_dead_letters(topic: TopicT, dead_letters: Sequence[DeadLetter]) -> None:
    futures = [await topic.send(key=d.key(), value=d.to_json()) for d in dead_letters]
    for fut in futures:
        await fut


async def write(
    sink: WarehouseSink, table: str, rows: Sequence[Sequence[Any]], columns: Sequence[str],
    token: str,
) -> None:  # fmt: skip
    """Insert and return once the warehouse accepted; CancelledError if stopped meanwhile."""
    ok = await asyncio.to_thread(sink.insert, table, rows, columns, token)
    if not ok:  # stopping: leave the batch unacked so it is redelivered
        raise asyncio.CancelledError


def content_token(name: str, rows: Iterable[Sequence[Any]]) -> str:
    """A deduplication token from the rows themselves: the same rows again are dropped.

    For derived rows (scores, alerts) that do not come from one set of offsets. Rows that differ
    in any value get a different token, so a real update is never dropped.
    """
    h = hashlib.sha256(name.encode())
    for row in rows:
        h.update(orjson.dumps([*row], default=str, option=orjson.OPT_NON_STR_KEYS))
    return f"{name}-{h.hexdigest()[:40]}"


def utc_literal(at: datetime) -> str:
    """A DateTime64(3) literal in UTC for client-side bound queries."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


class ReadFailed(RuntimeError):
    pass


class WarehouseReader:
    """Queries for the agents' state, on its own connection (clients are not thread-safe)."""

    def __init__(self, factory: Callable[[], Client]) -> None:
        self._factory = factory
        self._client: Client | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()

    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                if self._client is None:
                    self._client = self._factory()
                rows = self._client.query(sql, parameters=parameters).result_rows
                return [tuple(r) for r in rows]
            except Exception as exc:
                self._client = None  # reconnect on the next call
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
                raise ReadFailed(first[:300]) from exc

    async def aquery(
        self, sql: str, parameters: dict[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        return await asyncio.to_thread(self.query, sql, parameters)

    async def aquery_retrying(
        self, sql: str, parameters: dict[str, Any] | None = None, max_backoff: float = 30.0
    ) -> list[tuple[Any, ...]]:
        """Like :meth:`aquery`, retrying with capped backoff; CancelledError when stopping."""
        delay = 0.5
        while True:
            try:
                return await self.aquery(sql, parameters)
            except ReadFailed as exc:
                log.warning("warehouse read failed (%s); retrying in %.1fs", exc, delay)
                if self._stopping.is_set():
                    raise asyncio.CancelledError from exc
                await asyncio.sleep(delay)
                delay = min(delay * 2, max_backoff)


def monotonic_due(last: float, every: float) -> bool:
    return time.monotonic() - last >= every
