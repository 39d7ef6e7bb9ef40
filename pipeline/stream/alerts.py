"""Alerts out: each alert once to the ``buzz.alerts`` table and, as JSON, to that topic.

An alert's id is a hash of what it is about (``pipeline.scoring.alerts``), so re-processing the
same input yields the same id. The publisher remembers the ids it published lately (bounded) and,
for ids it does not remember (after a restart, or long ago), asks the table once per batch, so a
replay writes and sends nothing new. The table is a ReplacingMergeTree on the id and every write
carries a deduplication token, so even a crash between the write and the send cannot double it;
the topic is at-least-once across such a crash (consumers de-duplicate by ``alert_id``).

Failure policy: the table write retries until accepted (the caller's batch stays uncommitted);
the topic send is awaited, so the caller commits only after both happened.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence

import orjson

from pipeline.processors.raw import content_token
from pipeline.scoring.alerts import Alert
from pipeline.stream.reader import WarehouseReader
from pipeline.stream.writer import WarehouseWriter
from pipeline.tables import ALERTS, AlertRow

log = logging.getLogger("pipeline.alerts")

REMEMBERED = 10_000  # alert ids kept in memory

# Sends (topic, key, value) messages; returns once the broker acknowledged all of them.
Send = Callable[[Sequence[tuple[str, bytes, bytes]]], Awaitable[None]]


def alert_row(a: Alert) -> AlertRow:
    return AlertRow(
        alert_id=a.alert_id,
        kind=a.kind,
        subject=a.subject,
        severity=a.severity,
        title=a.title,
        at=a.at,
        explanation=orjson.dumps(a.to_dict()["explanation"]).decode(),
        example_urls=list(a.example_urls),
    )


def alert_message(a: Alert) -> bytes:
    """The JSON on the ``buzz.alerts`` topic (schema_version 1)."""
    return orjson.dumps({"schema_version": 1, **a.to_dict()})


class AlertPublisher:
    def __init__(
        self,
        writer: WarehouseWriter,
        reader: WarehouseReader,
        send: Send,
        remembered: int = REMEMBERED,
    ) -> None:
        self._writer = writer
        self._reader = reader
        self._send = send
        self._remembered = remembered
        self._published: OrderedDict[str, None] = OrderedDict()

    def _remember(self, ids: Sequence[str]) -> None:
        for i in ids:
            self._published[i] = None
            self._published.move_to_end(i)
        while len(self._published) > self._remembered:
            self._published.popitem(last=False)

    async def publish(self, alerts: Sequence[Alert]) -> list[Alert]:
        """Write and send the alerts not published before; return those."""
        fresh: dict[str, Alert] = {}
        for a in alerts:
            if a.alert_id not in self._published:
                fresh.setdefault(a.alert_id, a)
        if not fresh:
            return []
        stored = await self._reader.aquery_retrying(
            "SELECT DISTINCT alert_id FROM buzz.alerts WHERE alert_id IN %(ids)s",
            {"ids": tuple(fresh)},
        )
        old = [r[0] for r in stored]
        self._remember(old)
        new = [a for i, a in fresh.items() if i not in set(old)]
        if not new:
            return []
        rows = [alert_row(a) for a in new]
        refused = await self._writer.ainsert(ALERTS, rows, content_token("alerts", rows))
        for r in refused:  # our own rows: a bug, not bad input; say so loudly, keep the rest going
            log.error("the warehouse refused alert %s: %s", rows[r.index].alert_id, r.reason)
        await self._send([("buzz.alerts", a.alert_id.encode(), alert_message(a)) for a in new])
        self._remember([a.alert_id for a in new])
        for a in new:
            log.info("alert %s [%s] %s", a.kind, a.severity, a.title)
        return new
