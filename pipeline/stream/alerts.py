"""Alerts out: each alert version once to the ``buzz.alerts`` table and, as JSON, to that topic.

An alert's id is a hash of what it is about (``pipeline.scoring.alerts``), so re-processing the
same input yields the same id; an episode still going is the same id with a higher ``revision``
(an update). The publisher remembers the latest revision it published per id (bounded) and, for
ids it does not remember (after a restart, or long ago), asks the table once per batch, so a
replay writes and sends nothing new, and an older revision never follows a newer one. The table is
a ReplacingMergeTree on the id (the latest row wins) and every write carries a deduplication
token, so even a crash between the write and the send cannot double it; the topic is
at-least-once across such a crash (consumers de-duplicate by ``alert_id`` and ``revision``).

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
        revision=a.revision,
        last_at=a.latest,
    )


def alert_message(a: Alert) -> bytes:
    """The JSON on the ``buzz.alerts`` topic (schema_version 1; docs/events.md).

    ``update`` is true for a revision after the first: the same alert, moved on.
    """
    d = a.to_dict()
    d["last_at"] = a.latest.isoformat()
    return orjson.dumps({"schema_version": 1, **d, "update": a.revision > 1})


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
        self._published: OrderedDict[str, int] = OrderedDict()  # alert id -> latest revision

    def _remember(self, revisions: Sequence[tuple[str, int]]) -> None:
        for i, rev in revisions:
            self._published[i] = max(rev, self._published.get(i, 0))
            self._published.move_to_end(i)
        while len(self._published) > self._remembered:
            self._published.popitem(last=False)

    async def publish(self, alerts: Sequence[Alert]) -> list[Alert]:
        """Write and send the alert versions not published before; return those.

        Of several versions of one alert only the highest revision is kept, and only when it is
        higher than the one published already.
        """
        fresh: dict[str, Alert] = {}
        for a in alerts:
            if a.revision > self._published.get(a.alert_id, 0) and a.revision > (
                fresh[a.alert_id].revision if a.alert_id in fresh else 0
            ):
                fresh[a.alert_id] = a
        if not fresh:
            return []
        stored = await self._reader.aquery_retrying(
            "SELECT alert_id, max(revision) FROM buzz.alerts WHERE alert_id IN %(ids)s"
            " GROUP BY alert_id",
            {"ids": tuple(fresh)},
        )
        old = {r[0]: int(r[1]) for r in stored}
        self._remember(list(old.items()))
        new = [a for i, a in fresh.items() if a.revision > old.get(i, 0)]
        if not new:
            return []
        rows = [alert_row(a) for a in new]
        refused = await self._writer.ainsert(ALERTS, rows, content_token("alerts", rows))
        for r in refused:  # our own rows: a bug, not bad input; say so loudly, keep the rest going
            log.error("the warehouse refused alert %s: %s", rows[r.index].alert_id, r.reason)
        await self._send([("buzz.alerts", a.alert_id.encode(), alert_message(a)) for a in new])
        self._remember([(a.alert_id, a.revision) for a in new])
        for a in new:
            log.info("alert %s [%s] %s", a.kind, a.severity, a.title)
        return new
