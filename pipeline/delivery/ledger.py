"""The record of deliveries (``buzz.alert_deliveries``): what each route was sent, and when.

Append-only: every step is a row (queued, sending, sent, failed, unknown) and a delivery's state
is its latest row. The rows are what makes delivery at most once:

* ``sending`` is written (and accepted by the warehouse) *before* a message goes out, and the
  outcome after. A worker that dies in between leaves ``sending`` as the latest row; the next
  worker to run the route (:meth:`Ledger.load`) records it as ``unknown`` and never sends it again.
* The periodic jobs run in one worker at a time (``pipeline.stream.coordinator``). As a further
  guard against a worker that lost the jobs without knowing it yet, :meth:`Ledger.claim` reads
  the ``sending`` rows back and a worker sends only the attempts whose earliest ``sending`` row
  (by the warehouse's own clock) is its own.

Failure policy: writes retry through an outage (the writer's policy), so nothing is sent that
is not recorded as ``sending`` first; reads fail fast (``ReadFailed``) and the pass is skipped,
except the claim's read-back, which retries: a claimed attempt must be decided before going on.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline.delivery.message import StoredAlert, parse_explanation
from pipeline.processors.raw import content_token
from pipeline.stream.reader import WarehouseReader, as_utc, utc_literal
from pipeline.stream.writer import WarehouseWriter
from pipeline.tables import ALERT_DELIVERIES, AlertDeliveryRow

log = logging.getLogger("pipeline.delivery")

REMEMBER = timedelta(days=7)  # deliveries older than this are not picked up again at start

ALERT_COLUMNS = (
    "alert_id, kind, subject, severity, title, at, explanation, example_urls, created_at"
)

STATE_SQL = """
SELECT alert_id,
       argMax(toString(status), (recorded_at, at)) AS status,
       argMax(toString(mode), (recorded_at, at)) AS mode,
       max(attempt) AS attempts,
       argMax(tuple(next_attempt_at), (recorded_at, at)).1 AS next_at,
       min(at) AS queued_at
FROM buzz.alert_deliveries
WHERE route = %(route)s AND at >= toDateTime64(%(since)s, 3, 'UTC')
GROUP BY alert_id
"""

LAST_DIGEST_SQL = """
SELECT max(at) FROM buzz.alert_deliveries
WHERE route = %(route)s AND mode = 'digest' AND status = 'sending'
  AND at >= toDateTime64(%(since)s, 3, 'UTC')
"""

CLAIMS_SQL = """
SELECT alert_id, attempt, argMin(worker, (recorded_at, worker))
FROM buzz.alert_deliveries
WHERE route = %(route)s AND status = 'sending' AND alert_id IN %(ids)s
GROUP BY alert_id, attempt
"""


def stored_alert(values: Sequence[Any]) -> StoredAlert:
    alert_id, kind, subject, severity, title, at, explanation, urls, created = values
    return StoredAlert(
        alert_id=str(alert_id),
        kind=str(kind),
        subject=str(subject),
        severity=str(severity),
        title=str(title),
        at=as_utc(at),
        explanation=parse_explanation(str(explanation)),
        example_urls=tuple(str(u) for u in urls),
        created_at=as_utc(created),
    )


@dataclass(eq=False)  # a delivery is itself, whatever its fields
class Delivery:
    """One alert to one route, until it is sent, fails for good, or its outcome is unknown."""

    alert: StoredAlert
    mode: str  # "now" or "digest"
    queued_at: datetime
    attempt: int = 0  # attempts made so far
    next_at: datetime | None = None  # a failed attempt is tried again from then

    def due(self, now: datetime) -> bool:
        return self.next_at is None or self.next_at <= now


@dataclass
class Loaded:
    pending: list[Delivery] = field(default_factory=list)
    in_flight: list[Delivery] = field(default_factory=list)  # latest row "sending"
    known: dict[str, datetime] = field(default_factory=dict)  # alert id -> created_at
    last_digest: datetime | None = None


class Ledger:
    def __init__(
        self,
        reader: WarehouseReader,
        writer: WarehouseWriter,
        route: str,
        channel: str,
        worker: str,
    ) -> None:
        self.reader, self.writer = reader, writer
        self.route, self.channel, self.worker = route, channel, worker

    def row(
        self,
        d: Delivery,
        status: str,
        *,
        attempt: int,
        digest_id: str = "",
        error: str = "",
        next_attempt_at: datetime | None = None,
    ) -> AlertDeliveryRow:
        a = d.alert
        return AlertDeliveryRow(
            alert_id=a.alert_id,
            route=self.route,
            channel=self.channel,
            kind=a.kind,
            severity=a.severity,
            mode=d.mode,
            status=status,
            attempt=attempt,
            digest_id=digest_id,
            error=error,
            next_attempt_at=next_attempt_at,
            alert_created_at=a.created_at,
            worker=self.worker,
            at=datetime.now(UTC),
        )

    async def write(self, rows: Sequence[AlertDeliveryRow]) -> None:
        if not rows:
            return
        refused = await self.writer.ainsert(
            ALERT_DELIVERIES, rows, content_token("alert_deliveries", rows)
        )
        for r in refused:  # our own rows: a bug, not bad input
            log.error("the warehouse refused a delivery row of %s: %s", self.route, r.reason)

    async def record(
        self,
        deliveries: Sequence[Delivery],
        status: str,
        *,
        digest_id: str = "",
        error: str = "",
        next_attempt_at: datetime | None = None,
    ) -> None:
        await self.write(
            [
                self.row(
                    d,
                    status,
                    attempt=d.attempt,
                    digest_id=digest_id,
                    error=error,
                    next_attempt_at=next_attempt_at,
                )
                for d in deliveries
            ]
        )

    async def claim(self, deliveries: Sequence[Delivery], digest_id: str = "") -> list[Delivery]:
        """Record the next attempt of each as ``sending``; return those this worker owns.

        Each returned delivery's ``attempt`` is the attempt now being made.
        """
        if not deliveries:
            return []
        await self.write(
            [self.row(d, "sending", attempt=d.attempt + 1, digest_id=digest_id) for d in deliveries]
        )
        rows = await self.reader.aquery_retrying(
            CLAIMS_SQL,
            {"route": self.route, "ids": tuple(d.alert.alert_id for d in deliveries)},
        )
        owner = {(str(r[0]), int(r[1])): str(r[2]) for r in rows}
        won = []
        for d in deliveries:
            d.attempt += 1
            who = owner.get((d.alert.alert_id, d.attempt))
            if who == self.worker:
                won.append(d)
            else:
                log.warning(
                    "%s: %s attempt %d is being sent by %s; not sending it here",
                    self.route,
                    d.alert.alert_id,
                    d.attempt,
                    who,
                )
        return won

    async def planned(self, alert_ids: Sequence[str]) -> set[str]:
        """Those of ``alert_ids`` this route has a record of (at any time)."""
        if not alert_ids:
            return set()
        rows = await self.reader.aquery(
            "SELECT DISTINCT alert_id FROM buzz.alert_deliveries"
            " WHERE route = %(route)s AND alert_id IN %(ids)s",
            {"route": self.route, "ids": tuple(alert_ids)},
        )
        return {str(r[0]) for r in rows}

    async def load(self, now: datetime) -> Loaded:
        """The route's deliveries of the last week: what is still to send, what was cut off."""
        since = utc_literal(now - REMEMBER)
        state = await self.reader.aquery(STATE_SQL, {"route": self.route, "since": since})
        out = Loaded()
        open_: dict[str, tuple[str, str, int, datetime | None, datetime]] = {}
        for alert_id, status, mode, attempts, next_at, queued_at in state:
            if status in ("queued", "sending") or (status == "failed" and next_at is not None):
                open_[str(alert_id)] = (
                    str(status),
                    str(mode),
                    int(attempts),
                    as_utc(next_at) if next_at is not None else None,
                    as_utc(queued_at),
                )
        ids = [str(r[0]) for r in state]
        if ids:
            created = await self.reader.aquery(
                "SELECT alert_id, max(created_at) FROM buzz.alerts WHERE alert_id IN %(ids)s"
                " GROUP BY alert_id",
                {"ids": tuple(ids)},
            )
            out.known = {str(i): as_utc(c) for i, c in created}
        if open_:
            alerts = await self.reader.aquery(
                f"SELECT {ALERT_COLUMNS} FROM buzz.alerts FINAL WHERE alert_id IN %(ids)s",
                {"ids": tuple(open_)},
            )
            for values in sorted(alerts, key=lambda v: (v[8], v[0])):
                a = stored_alert(values)
                status, mode, attempts, next_at, queued_at = open_[a.alert_id]
                d = Delivery(a, mode, queued_at, attempts, next_at)
                (out.in_flight if status == "sending" else out.pending).append(d)
        last = await self.reader.aquery(LAST_DIGEST_SQL, {"route": self.route, "since": since})
        if last and last[0][0] is not None and as_utc(last[0][0]).year > 1970:
            out.last_digest = as_utc(last[0][0])
        return out
