"""Alert delivery: one periodic job per route, so a route whose receiver is down holds up nobody.

Each pass of a route's job:

1. **plans**: alerts raised since its cursor (``buzz.alerts.created_at``, saved in
   ``buzz.stream_progress`` as ``deliver:<route>``, and when it first ran as
   ``deliver-start:<route>``) that the route's filters take are recorded as ``queued``: urgent
   ones to go out at once (mode ``now``), opportunities (and urgent alerts held by quiet hours)
   for the digest. A route that has never run starts from the moment it first runs: adding a
   route does not send the campaign's history. An alert id the route has a record of is never
   planned again (a replay, or the same alert written again).
2. **sends urgent alerts**, oldest first, each recorded ``sending`` before it goes out and
   ``sent``, ``failed`` or ``unknown`` after (``pipeline.delivery.ledger``: at most once).
3. **sends the digest** when one is due: at the first pass of each ``digest_minutes`` slot of
   the clock (slots start at midnight UTC) with everything queued before it; also as soon as
   quiet hours end when urgent alerts were held. Nothing goes out in quiet hours except urgent
   alerts the route lets through (``pipeline.delivery.routes``).

Failure policy: a failed send that may be retried (``pipeline.delivery.channels``) pauses the
whole route with backoff (``pipeline.retry.backoff_delay``: 5 s doubling to 10 min, or the
receiver's ``Retry-After``), keeping the order of what waits; after ``max_attempts`` it is
recorded as failed for good. A failure that retrying cannot help is recorded with its error and
the route goes on. An outcome that is not known (the connection lost after the message went
out) is recorded as ``unknown`` and never sent again. The worker that takes over the jobs
reloads the route's state from the warehouse (``load``).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import SecretStr

from pipeline.delivery.channels import Channel, SendFailed, build_channel
from pipeline.delivery.ledger import ALERT_COLUMNS, Delivery, Ledger, stored_alert
from pipeline.delivery.message import Message
from pipeline.delivery.routes import RouteBase
from pipeline.jobs.base import JobContext
from pipeline.processors.raw import content_token
from pipeline.retry import backoff_delay
from pipeline.scoring.alerts import OPPORTUNITY
from pipeline.settings import ConfigError
from pipeline.stream.progress import worker_name
from pipeline.stream.reader import as_utc, utc_literal
from pipeline.tables import STREAM_PROGRESS, StreamProgressRow

log = logging.getLogger("pipeline.jobs.delivery")

# Alerts become visible in the warehouse in roughly, not exactly, created_at order: each pass
# looks this far behind its cursor again (ids already planned are skipped).
LOOKBACK = timedelta(seconds=60)
SENDS_PER_PASS = 5  # keeps a pass short, so a hand-over rarely cuts one off mid-send

NEW_ALERTS_SQL = (
    f"SELECT {ALERT_COLUMNS} FROM buzz.alerts"
    " WHERE created_at > toDateTime64(%(since)s, 3, 'UTC') ORDER BY created_at, alert_id"
)
CURSOR_SQL = "SELECT argMax(through, updated_at) FROM buzz.stream_progress WHERE job = %(job)s"


@dataclass(frozen=True)
class RetryPolicy:
    initial: float = 5.0
    maximum: float = 600.0
    max_attempts: int = 20  # about 2 h 10 min of a receiver being down


def delivery_id(route: str, alert_id: str) -> str:
    """The same for every attempt at one delivery (the webhook-id receivers may de-duplicate on)."""
    return "msg_" + hashlib.sha256(f"{route}\n{alert_id}".encode()).hexdigest()[:32]


def slot_start(at: datetime, minutes: int) -> datetime:
    """Start of the ``minutes``-long slot of the clock holding ``at`` (slots from midnight UTC)."""
    day = at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    k = int((at - day) / timedelta(minutes=minutes))
    return day + timedelta(minutes=k * minutes)


class RouteDelivery:
    every = 2.0

    def __init__(
        self,
        ctx: JobContext,
        route: RouteBase,
        channel: Channel,
        dashboard: str,
        policy: RetryPolicy = RetryPolicy(),
    ) -> None:
        self.ctx, self.route, self.channel, self.policy = ctx, route, channel, policy
        self.name = f"deliver:{route.name}"
        self.start_job = f"deliver-start:{route.name}"  # when the route first ran
        self.dashboard = dashboard
        self.names = {s.id: s.name for s in ctx.campaign.subjects}
        self.timezone = route.quiet_hours.timezone if route.quiet_hours else "UTC"
        self.ledger = Ledger(ctx.reader, ctx.writer, route.name, channel.kind, worker_name())
        self.cursor = self.start = datetime(1970, 1, 1, tzinfo=UTC)
        self.known: dict[str, datetime] = {}
        self.pending: list[Delivery] = []
        self.last_digest: datetime | None = None
        self.paused_until: datetime | None = None

    # ---- state -------------------------------------------------------------------------
    async def load(self) -> None:
        now = datetime.now(UTC)
        cursor, start = await self._saved(self.name), await self._saved(self.start_job)
        if cursor is None or start is None:
            # A new route starts now, by the warehouse's clock (alerts' created_at is its), and
            # takes nothing raised before, not even what the look-behind would see again.
            start = as_utc((await self.ctx.reader.aquery("SELECT now64(3)"))[0][0])
            row = [StreamProgressRow(self.start_job, start)]
            await self.ctx.writer.ainsert(STREAM_PROGRESS, row, content_token("deliver", row))
            cursor = start
        self.start, self.cursor = start, cursor
        await self._save_cursor()
        state = await self.ledger.load(now)
        self.known, self.pending = state.known, state.pending
        self.last_digest, self.paused_until = state.last_digest, None
        if state.in_flight:
            await self.ledger.record(
                state.in_flight,
                "unknown",
                error="the worker stopped after sending began and before the outcome was "
                "recorded; not sent again",
            )
            log.warning(
                "%s: %d deliveries were cut off mid-send; recorded as unknown, not resent",
                self.name,
                len(state.in_flight),
            )

    async def _saved(self, job: str) -> datetime | None:
        rows = await self.ctx.reader.aquery(CURSOR_SQL, {"job": job})
        saved = rows[0][0] if rows and rows[0][0] is not None else None
        return as_utc(saved) if saved is not None and as_utc(saved).year > 1970 else None

    async def _save_cursor(self) -> None:
        row = [StreamProgressRow(self.name, self.cursor)]
        await self.ctx.writer.ainsert(STREAM_PROGRESS, row, content_token("deliver", row))

    # ---- a pass ------------------------------------------------------------------------
    async def run_once(self, now: datetime | None = None) -> list[tuple[str, str]]:
        """One pass; returns (alert id, status) of every outcome recorded."""
        now = now or datetime.now(UTC)
        await self._plan(now)
        if self.paused_until is not None and now < self.paused_until:
            return []
        self.paused_until = None
        done = await self._send_now(now)
        if self.paused_until is None:
            done += await self._send_digest(now)
        return done

    def _mode(self, kind: str, severity: str, now: datetime) -> str:
        if kind in OPPORTUNITY:
            return "digest"
        quiet = self.route.quiet_hours
        if quiet is not None and quiet.active(now) and not quiet.lets_through(severity):
            return "digest"  # held until quiet hours end
        return "now"

    async def _plan(self, now: datetime) -> None:
        since = max(self.cursor - LOOKBACK, self.start)
        rows = await self.ctx.reader.aquery(NEW_ALERTS_SQL, {"since": utc_literal(since)})
        wanted: dict[str, Delivery] = {}
        for values in rows:
            a = stored_alert(values)
            if a.alert_id in self.known:
                continue
            self.known[a.alert_id] = a.created_at
            if self.route.wants(a.kind, a.severity, a.subject):
                wanted[a.alert_id] = Delivery(a, self._mode(a.kind, a.severity, now), now)
        # An alert written again later (a replay, an update of the same alert) is not new: the
        # record, not memory, says whether this route ever had it.
        seen = await self.ledger.planned(list(wanted))
        planned = [d for i, d in wanted.items() if i not in seen]
        await self.ledger.record(planned, "queued")  # before the cursor moves past them
        self.pending += planned
        newest = max((as_utc(v[8]) for v in rows), default=self.cursor)
        if newest > self.cursor:
            self.cursor = newest
            await self._save_cursor()
        horizon = self.cursor - 2 * LOOKBACK
        self.known = {i: c for i, c in self.known.items() if c >= horizon}

    async def _send_now(self, now: datetime) -> list[tuple[str, str]]:
        done: list[tuple[str, str]] = []
        due = [d for d in self.pending if d.mode == "now" and d.due(now)][:SENDS_PER_PASS]
        for d in due:
            won = await self.ledger.claim([d])
            if not won:
                self.pending.remove(d)
                continue
            message = Message(
                [d.alert], False, self.route.name, self.dashboard, self.names, self.timezone
            )
            msg_id = delivery_id(self.route.name, d.alert.alert_id)
            status = await self._send([d], message, msg_id, now)
            done.append((d.alert.alert_id, status))
            if self.paused_until is not None:
                break
        return done

    def _digest_due(self, now: datetime) -> list[Delivery]:
        if self.route.quiet(now):
            return []
        waiting = [d for d in self.pending if d.mode == "digest" and d.due(now)]
        slot = slot_start(now, self.route.digest_minutes)
        on_schedule = any(d.queued_at < slot for d in waiting) and (
            self.last_digest is None or self.last_digest < slot
        )
        held = any(d.alert.kind not in OPPORTUNITY for d in waiting)  # urgent, quiet hours over
        retry = any(d.attempt > 0 for d in waiting)
        return waiting if on_schedule or held or retry else []

    async def _send_digest(self, now: datetime) -> list[tuple[str, str]]:
        waiting = self._digest_due(now)
        if not waiting:
            return []
        # Urgent alerts held by quiet hours first, then the opportunities, oldest first.
        waiting.sort(key=lambda d: (d.alert.kind in OPPORTUNITY, d.alert.created_at))
        ids = "\n".join(d.alert.alert_id for d in waiting)
        digest = (
            "digest_"
            + hashlib.sha256(f"{self.route.name}\n{now.isoformat()}\n{ids}".encode()).hexdigest()[
                :32
            ]
        )
        won = await self.ledger.claim(waiting, digest)
        for d in waiting:
            if all(d is not w for w in won):
                self.pending.remove(d)
        if not won:
            return []
        self.last_digest = now
        message = Message(
            [d.alert for d in won], True, self.route.name, self.dashboard, self.names, self.timezone
        )
        status = await self._send(won, message, digest, now, digest)
        return [(d.alert.alert_id, status) for d in won]

    async def _send(
        self,
        ds: Sequence[Delivery],
        message: Message,
        msg_id: str,
        now: datetime,
        digest_id: str = "",
    ) -> str:
        """Send one message for ``ds`` (already claimed) and record the outcome; its status."""
        try:
            await self.channel.send(message, msg_id)
        except SendFailed as exc:
            return await self._failed(ds, exc, now, digest_id)
        await self.ledger.record(ds, "sent", digest_id=digest_id)
        for d in ds:
            self.pending.remove(d)
        log.info("%s: sent %s", self.name, message.subject_line())
        return "sent"

    async def _failed(
        self, ds: Sequence[Delivery], exc: SendFailed, now: datetime, digest_id: str
    ) -> str:
        attempt = max(d.attempt for d in ds)
        if exc.maybe_sent:
            status, next_at = "unknown", None
        elif exc.retry and attempt < self.policy.max_attempts:
            wait = backoff_delay(
                attempt,
                initial=self.policy.initial,
                maximum=self.policy.maximum,
                hint=exc.retry_after,
            )
            status, next_at = "failed", now + timedelta(seconds=wait)
        else:
            status, next_at = "failed", None
        gave_up = exc.retry and next_at is None
        error = f"gave up after {attempt} attempts: {exc.reason}" if gave_up else exc.reason
        await self.ledger.record(
            ds, status, digest_id=digest_id, error=error[:1000], next_attempt_at=next_at
        )
        if next_at is not None:
            for d in ds:
                d.next_at = next_at
            self.paused_until = next_at
            log.warning(
                "%s: attempt %d failed (%s); the route waits until %s",
                self.name,
                attempt,
                error,
                next_at.isoformat(timespec="seconds"),
            )
        else:
            for d in ds:
                self.pending.remove(d)
            log.warning("%s: %s (%s)", self.name, status, error)
        return status


def delivery_jobs(
    ctx: JobContext, secrets: dict[str, dict[str, SecretStr]], dashboard: str
) -> list[RouteDelivery]:
    """A job per route of the campaign; a secret that is unusable stops start-up, named."""
    jobs = []
    for route in ctx.campaign.routes:
        try:
            channel = build_channel(route, secrets[route.name])
        except ValueError as exc:
            names = ", ".join(route.secret_names().values())
            raise ConfigError(f"{names}: {exc} (route {route.name!r})") from None
        jobs.append(RouteDelivery(ctx, route, channel, dashboard))
    return jobs
