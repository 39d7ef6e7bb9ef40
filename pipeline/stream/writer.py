"""Warehouse writes with the failure policy by error class.

* **Idempotent**: every insert carries an ``insert_deduplication_token`` (tables set
  ``non_replicated_deduplication_window``), so the same rows written again after a crash are
  dropped by the warehouse.
* **Outage** (connection refused or reset, timeouts, the server overloaded or restarting, a
  missing table while migrations run): retried with backoff (pipeline.retry) until it succeeds or
  the worker stops; then the error propagates, the batch is not committed and is read again after
  the restart. Nothing is lost, nothing is skipped.
* **Refusal** (the warehouse or the client cannot take *these rows*: a value out of a column's
  range, a type it cannot convert): the batch is split in halves until the refused rows are alone;
  every other row is written, and each refused row is returned with the warehouse's reason, for the
  caller to dead-letter. One bad row never stalls a partition and never takes good rows with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import struct
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError, DataError, OperationalError

from pipeline.retry import first_line, retrying
from pipeline.tables import Table

log = logging.getLogger("pipeline.stream.writer")

# ClickHouse error codes that mean "these values cannot go into this table", deterministic for the
# same rows (names from ClickHouse's ErrorCodes.cpp). Anything else is treated as an outage.
REFUSAL_CODES = frozenset(
    {
        6,  # CANNOT_PARSE_TEXT
        27,  # CANNOT_PARSE_INPUT_ASSERTION_FAILED
        38,  # CANNOT_PARSE_DATE
        41,  # CANNOT_PARSE_DATETIME
        53,  # TYPE_MISMATCH
        69,  # ARGUMENT_OUT_OF_BOUND
        70,  # CANNOT_CONVERT_TYPE
        72,  # CANNOT_PARSE_NUMBER
        117,  # INCORRECT_DATA
        131,  # TOO_LARGE_STRING_SIZE
        190,  # SIZES_OF_ARRAYS_DONT_MATCH
        321,  # VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
        349,  # CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
    }
)
_CODE = re.compile(r"Code: (\d+)")


class Refused(Exception):
    """The rows (not the warehouse) are the problem: retrying the same rows cannot succeed."""


def is_refusal(exc: BaseException) -> bool:
    """True when ``exc`` says the rows cannot be written, False for an outage."""
    if isinstance(exc, OperationalError):
        return False
    if isinstance(exc, DataError | ValueError | TypeError | OverflowError | struct.error):
        return True  # raised while the client turned the rows into columns: nothing was sent
    if isinstance(exc, DatabaseError):
        code = getattr(exc, "code", None)
        if not isinstance(code, int):
            m = _CODE.search(str(exc))
            code = int(m.group(1)) if m else None
        return code in REFUSAL_CODES
    return False


@dataclass(frozen=True)
class Refusal:
    index: int  # position of the row in what was passed to insert()
    reason: str


class WarehouseWriter:
    """Inserts into the warehouse from worker threads, one client per thread."""

    def __init__(
        self,
        factory: Callable[[], Client],
        stop: threading.Event | None = None,
        max_backoff: float = 30.0,
    ) -> None:
        self._factory = factory
        self._stop = stop or threading.Event()
        self._max_backoff = max_backoff
        self._local = threading.local()
        self._clients: list[Client] = []
        self._lock = threading.Lock()

    def stop(self) -> None:
        self._stop.set()

    def _client(self) -> Client:
        c: Client | None = getattr(self._local, "client", None)
        if c is None:
            c = self._factory()
            self._local.client = c
            with self._lock:
                self._clients.append(c)
        return c

    def _drop_client(self) -> None:
        c = getattr(self._local, "client", None)
        self._local.client = None
        if c is not None:
            with self._lock, contextlib.suppress(ValueError):
                self._clients.remove(c)
            with contextlib.suppress(Exception):
                c.close()

    def _insert_once(self, table: Table[Any], rows: Sequence[Any], token: str) -> None:
        # Column-oriented: the rows are transposed here in one C-level pass (zip), instead of
        # clickhouse-connect building each column from the rows in Python (measured: that was
        # about a tenth of the worker's time).
        columns = list(zip(*rows, strict=True))
        try:
            self._client().insert(
                table.name, columns, column_names=list(table.columns), column_oriented=True,
                settings={"insert_deduplication_token": token},
            )  # fmt: skip
        except Exception as exc:
            if is_refusal(exc):
                raise Refused(first_line(exc, 1000)) from exc
            self._drop_client()  # reconnect on the next try
            raise

    def insert(self, table: Table[Any], rows: Sequence[Any], token: str) -> list[Refusal]:
        """Write ``rows``; return the refused ones. Raises only when stopped during an outage."""
        if not rows:
            return []
        return self._insert_split(table, rows, token, 0)

    def _insert_split(
        self, table: Table[Any], rows: Sequence[Any], token: str, offset: int
    ) -> list[Refusal]:
        try:
            self._insert_retrying_refusable(table, rows, token)
            return []
        except Refused as exc:
            if len(rows) == 1:
                log.warning("warehouse refused a row for %s: %s", table.name, exc)
                return [Refusal(offset, str(exc))]
        mid = len(rows) // 2
        return [
            *self._insert_split(table, rows[:mid], f"{token}:{offset}", offset),
            *self._insert_split(table, rows[mid:], f"{token}:{offset + mid}", offset + mid),
        ]

    def _insert_retrying_refusable(
        self, table: Table[Any], rows: Sequence[Any], token: str
    ) -> None:
        """Retry outages; let a refusal out at once."""
        refused: Refused | None = None

        def once() -> None:
            nonlocal refused
            try:
                self._insert_once(table, rows, token)
            except Refused as exc:
                refused = exc

        for attempt in retrying(
            on=Exception,
            what=f"warehouse insert into {table.name}",
            initial=0.5,
            maximum=self._max_backoff,
            stop_event=self._stop,
            logger=log,
        ):
            with attempt:
                once()
        if refused is not None:
            raise refused

    async def ainsert(self, table: Table[Any], rows: Sequence[Any], token: str) -> list[Refusal]:
        return await asyncio.to_thread(self.insert, table, rows, token)

    def close(self) -> None:
        with self._lock:
            clients, self._clients = self._clients, []
        for c in clients:
            with contextlib.suppress(Exception):
                c.close()
