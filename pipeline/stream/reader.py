"""Warehouse reads for the worker's state, on clients of their own (clients are not thread-safe).

Failure policy: a stream processor's read (a thread's history on a cache miss, say) retries like a
write, with backoff until it succeeds or the worker stops, because its batch cannot go on without
it; a periodic job's read (:meth:`aquery`) fails fast with :class:`ReadFailed`, and the job tries
again on its next pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from clickhouse_connect.driver.client import Client

from pipeline.retry import first_line, retrying

log = logging.getLogger("pipeline.stream.reader")


class ReadFailed(RuntimeError):
    pass


def utc_literal(at: datetime) -> str:
    """A DateTime64(3) literal in UTC for client-side bound queries."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def as_utc(v: datetime) -> datetime:
    """A time read back from the warehouse (clickhouse-connect gives naive UTC) as aware UTC."""
    return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)


class WarehouseReader:
    def __init__(self, factory: Callable[[], Client], stop: threading.Event | None = None) -> None:
        self._factory = factory
        self._stop = stop or threading.Event()
        self._local = threading.local()
        self._clients: list[Client] = []
        self._lock = threading.Lock()

    def stop(self) -> None:
        self._stop.set()

    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        client: Client | None = getattr(self._local, "client", None)
        try:
            if client is None:
                client = self._local.client = self._factory()
                with self._lock:
                    self._clients.append(client)
            return [tuple(r) for r in client.query(sql, parameters=parameters).result_rows]
        except Exception as exc:
            self._local.client = None  # reconnect on the next call
            if client is not None:
                with contextlib.suppress(Exception):
                    client.close()
            raise ReadFailed(first_line(exc)) from exc

    def query_retrying(
        self, sql: str, parameters: dict[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        for attempt in retrying(
            on=ReadFailed, what="warehouse read", stop_event=self._stop, logger=log
        ):
            with attempt:
                return self.query(sql, parameters)
        raise AssertionError("unreachable")  # pragma: no cover - retrying re-raises

    async def aquery(
        self, sql: str, parameters: dict[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        return await asyncio.to_thread(self.query, sql, parameters)

    async def aquery_retrying(
        self, sql: str, parameters: dict[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        return await asyncio.to_thread(self.query_retrying, sql, parameters)

    def close(self) -> None:
        with self._lock:
            clients, self._clients = self._clients, []
        for c in clients:
            with contextlib.suppress(Exception):
                c.close()
