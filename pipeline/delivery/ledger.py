"""The record of deliveries (``buzz.alert_deliveries``): what each route was sent, and when.

Append-only: every step is a row (queued, sending, sent, failed, unknown) and a delivery's state
is its latest row. A delivery is one alert at one kind and severity to the route: an alert that
escalates (a spike that turns into an attack, a severity that rises) is delivered again as a
delivery of its own, and a version at a kind and severity already delivered is not. The rows are
what makes delivery at most once:

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
from pipeline.delivery.routes import severity_rank
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
SELECT alert_id, toString(kind) AS kind, toString(severity) AS severity,
       argMax(toString(status), (recorded_at, at)) AS status,
       argMax(toString(mode), (recorded_at, at)) AS mode,
       max(attempt) AS attempts,
       argMax(tuple(next_attempt_at), (recorded_at, at)).1 AS next_at,
       min(at) AS queued_at
FROM buzz.alert_deliveries
WHERE route = %(route)s AND at >= toDateTime64(%(since)s, 3, 'UTC')
GROUP BY alert_id, kind, severity
"""

LAST_DIGEST_SQL = """
SELECT max(at) FROM buzz.alert_deliveries
WHERE route = %(route)s AND mode = 'digest' AND status = 'sending'
  AND at >= toDateTime64(%(since)s, 3, 'UTC')
"""

CLAIMS_SQL = """
SELECT alert_id, toString(kind), toString(severity), attempt, argMin(worker, (recorded_at, worker))
FROM buzz.alert_deliveries
WHERE route = %(route)s AND status = 'sending' AND alert_id IN %(ids)s
GROUP BY alert_id, kind, severity, attempt
"""

PLANNED_SQL = """
SELECT alert_id, toString(kind), toString(severity), min(at)
FROM buzz.alert_deliveries
WHERE route = %(route)s AND alert_id IN %(ids)s
GROUP BY alert_id, kind, severity
"""

# (kind, severity): what a delivery delivers of its alert.
Level = tuple[str, str]


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


def covers(levels: Sequence[Level], level: Level) -> bool:
    """Whether a delivery at one of ``levels`` already told the route of ``level``.

    Only a change of kind or a higher severity is news (an escalation); the same kind at the
    same or a lower severity is an update the route is not sent again.
    """
    kind, severity = level
    return any(k == kind and severity_rank(s) >= severity_rank(severity) for k, s in levels)


@dataclass(eq=False)  # a delivery is itself, whatever its fields
class Delivery:
    """One alert at one kind and severity to one route, until it is sent, fails for good, or its
    outcome is unknown."""

    alert: StoredAlert
    mode: str  # "now" or "digest"
    queued_at: datetime
    attempt: int = 0  # attempts made so far
    next_at: datetime | None = None  # a failed attempt is tried again from then
    # The kind and severity this delivery is of; the alert's own unless the version delivered
    # is no longer stored (merged away after a later one) and ``alert`` is that later one.
    level: Level = ("", "")
    # For an escalation: the kind and severity of the route's previous delivery of the alert.
    was: Level | None = None

    def __post_init__(self) -> None:
        if self.level == ("", ""):
            self.level = (self.alert.kind, self.alert.severity)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.alert.alert_id, *self.level)

    def due(self, now: datetime) -> bool:
        return self.next_at is None or self.next_at <= now


@dataclass
class Loaded:
    pending: list[Delivery] = field(default_factory=list)
    in_flight: list[Delivery] = field(default_factory=list)  # latest row "sending"
    last_digest: datetime | None = None


def _previous(levels: Sequence[tuple[Level, datetime]], before: datetime) -> Level | None:
    """The level of the latest delivery planned before ``before`` (None: there is none)."""
    earlier = [(at, level) for level, at in levels if at < before]
    return max(earlier)[1] if earlier else None


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
            kind=d.level[0],
            severity=d.level[1],
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
        owner = {(str(r[0]), str(r[1]), str(r[2]), int(r[3])): str(r[4]) for r in rows}
        won = []
        for d in deliveries:
            d.attempt += 1
            who = owner.get((*d.key, d.attempt))
            if who == self.worker:
                won.append(d)
            else:
                log.warning(
                    "%s: %s (%s) attempt %d is being sent by %s; not sending it here",
                    self.route,
                    d.alert.alert_id,
                    "/".join(d.level),
                    d.attempt,
                    who,
                )
        return won

    async def planned(self, alert_ids: Sequence[str]) -> dict[str, list[tuple[Level, datetime]]]:
        """The deliveries this route has a record of (at any time) for each of ``alert_ids``:
        their kind and severity, and when each was first planned."""
        if not alert_ids:
            return {}
        rows = await self.reader.aquery(PLANNED_SQL, {"route": self.route, "ids": tuple(alert_ids)})
        out: dict[str, list[tuple[Level, datetime]]] = {}
        for alert_id, kind, severity, at in rows:
            out.setdefault(str(alert_id), []).append(((str(kind), str(severity)), as_utc(at)))
        return out

    async def load(self, now: datetime) -> Loaded:
        """The route's deliveries of the last week: what is still to send, what was cut off."""
        since = utc_literal(now - REMEMBER)
        state = await self.reader.aquery(STATE_SQL, {"route": self.route, "since": since})
        out = Loaded()
        levels: dict[str, list[tuple[Level, datetime]]] = {}
        open_: list[tuple[str, Level, str, str, int, datetime | None, datetime]] = []
        for alert_id, kind, severity, status, mode, attempts, next_at, queued_at in state:
            level = (str(kind), str(severity))
            levels.setdefault(str(alert_id), []).append((level, as_utc(queued_at)))
            if status in ("queued", "sending") or (status == "failed" and next_at is not None):
                open_.append((
                    str(alert_id), level, str(status), str(mode), int(attempts),
                    as_utc(next_at) if next_at is not None else None, as_utc(queued_at),
                ))  # fmt: skip
        if open_:
            # Every stored version: a delivery is of the version at its kind and severity (the
            # newest such), or, once merges kept only a later version, of that one.
            rows = await self.reader.aquery(
                f"SELECT {ALERT_COLUMNS}, revision FROM buzz.alerts WHERE alert_id IN %(ids)s",
                {"ids": tuple({o[0] for o in open_})},
            )
            versions: dict[str, list[tuple[int, StoredAlert]]] = {}
            for values in rows:
                versions.setdefault(str(values[0]), []).append(
                    (int(values[9]), stored_alert(values[:9]))
                )
            found = []
            for alert_id, level, status, mode, attempts, next_at, queued_at in open_:
                have = sorted(versions.get(alert_id, []), key=lambda v: (v[0], v[1].created_at))
                if not have:
                    continue  # the alert itself is gone (forgotten): nothing to send
                same = [a for _, a in have if (a.kind, a.severity) == level]
                alert = same[-1] if same else have[-1][1]
                was = _previous(levels[alert_id], queued_at)
                d = Delivery(alert, mode, queued_at, attempts, next_at, level, was)
                found.append((status, d))
            for status, d in sorted(found, key=lambda f: (f[1].queued_at, f[1].key)):
                (out.in_flight if status == "sending" else out.pending).append(d)
        last = await self.reader.aquery(LAST_DIGEST_SQL, {"route": self.route, "since": since})
        if last and last[0][0] is not None and as_utc(last[0][0]).year > 1970:
            out.last_digest = as_utc(last[0][0])
        return out
