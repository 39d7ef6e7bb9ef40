"""The warehouse sink: idempotent batch inserts with retry.

Policy: a batch is written with an ``insert_deduplication_token`` derived from its exact offsets
(tables set ``non_replicated_deduplication_window``), so a redelivered batch is dropped by the
warehouse. While the warehouse refuses or is unreachable the sink retries with capped backoff and
never returns: the caller does not ack, so offsets are committed only after the warehouse accepted
the batch. A batch the warehouse rejects as malformed (a bug, not an outage) is retried the same
way and logged loudly, because dropping it would lose data.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from clickhouse_connect.driver.client import Client

log = logging.getLogger(__name__)


class WarehouseSink:
    def __init__(self, client_factory: Callable[[], Client], max_backoff: float = 30.0) -> None:
        self._factory = client_factory
        self._client: Client | None = None
        self._lock = threading.Lock()
        self._max_backoff = max_backoff
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()

    def _get(self) -> Client:
        if self._client is None:
            self._client = self._factory()
        return self._client

    def insert(
        self, table: str, rows: Sequence[Sequence[Any]], columns: Sequence[str], token: str
    ) -> bool:
        """Insert rows; return True once accepted, False only if stopped while retrying."""
        if not rows:
            return True
        delay = 0.5
        with self._lock:
            while True:
                try:
                    self._get().insert(
                        table, rows, column_names=list(columns),
                        settings={"insert_deduplication_token": token},
                    )  # fmt: skip
                    return True
                except Exception as exc:
                    self._client = None  # reconnect on the next try
                    first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
                    log.warning(
                        "warehouse insert into %s failed (%s); retrying in %.1fs",
                        table,
                        first[:300],
                        delay,
                    )
                    if self._stopping.wait(delay):
                        return False
                    delay = min(delay * 2, self._max_backoff)

    def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None
