"""Alerts out: every alert to the ``buzz.alerts`` table and, as JSON, to the ``buzz.alerts`` topic.

Replay safety: an alert's id is a hash of what it is about (``pipeline.scoring.alerts``), the
table is a ReplacingMergeTree on that id, and the publisher remembers the ids it has published
(rebuilt from the table at start), so re-processing the same input writes and sends nothing new.
The topic is at-least-once across a crash between the table write and the send, and across two
workers alerting on the same thing during a rebalance: consumers de-duplicate by ``alert_id``.

Failure policy: the table write retries until accepted (the caller's batch stays unacked);
the topic send is awaited, so the caller acks only after both happened.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import faust
import orjson

from pipeline.agents.plumbing import WarehouseReader, content_token, write
from pipeline.scoring.alerts import Alert
from pipeline.sink import WarehouseSink
from pipeline.topics import ALERTS

log = logging.getLogger("pipeline.agents.alerts")

ALERT_COLUMNS = (
    "alert_id", "kind", "subject", "severity", "title", "at", "explanation", "example_urls",
)  # fmt: skip


def alert_row(a: Alert) -> list[Any]:
    d = a.to_dict()
    return [
        a.alert_id, a.kind, a.subject, a.severity, a.title, a.at,
        orjson.dumps(d["explanation"]).decode(), list(a.example_urls),
    ]  # fmt: skip


def alert_message(a: Alert) -> bytes:
    """The JSON on the ``buzz.alerts`` topic (schema_version 1)."""
    return orjson.dumps({"schema_version": 1, **a.to_dict()})


class AlertPublisher:
    def __init__(self, app: faust.App, sink: WarehouseSink, reader: WarehouseReader) -> None:
        self._topic = app.topic(ALERTS, value_serializer="raw", key_serializer="raw")
        self._sink = sink
        self._reader = reader
        self._published: set[str] = set()
        self._loaded = False

    async def load(self) -> None:
        """Remember what is already in the table, so a restart does not re-send old alerts."""
        if self._loaded:
            return
        rows = await self._reader.aquery_retrying("SELECT DISTINCT alert_id FROM buzz.alerts")
        self._published |= {r[0] for r in rows}
        self._loaded = True

    def known(self, alert_id: str) -> bool:
        return alert_id in self._published

    async def publish(self, alerts: Sequence[Alert]) -> list[Alert]:
        """Write and send the alerts not published before; return those."""
        await self.load()
        fresh: dict[str, Alert] = {}
        for a in alerts:
            if a.alert_id not in self._published:
                fresh.setdefault(a.alert_id, a)
        if not fresh:
            return []
        new = list(fresh.values())
        rows = [alert_row(a) for a in new]
        await write(self._sink, "buzz.alerts", rows, ALERT_COLUMNS, content_token("alerts", rows))
        futures = [
            await self._topic.send(key=a.alert_id.encode(), value=alert_message(a)) for a in new
        ]
        for fut in futures:
            await fut
        self._published |= fresh.keys()
        for a in new:
            log.info("alert %s [%s] %s", a.kind, a.severity, a.title)
        return new
