"""Signups whose link named a thread or post not seen yet are attributed again when it appears.

A signup is attributed as it arrives (``pipeline.processors.signups``); a bare UTM value counts
only if it is a thread id or a mention id the warehouse holds. Real sources do not arrive in
order: a forum is polled every few minutes, a signup webhook arrives at once. So every pass
(when new mentions, posts or signups were written) this job takes the recent signups that are
attributed only to their channel but carry UTM values, looks those values up again, and writes a
new attribution for the ones that now resolve (``buzz.signup_attribution`` keeps the latest).
Bounded: only signups of the last ``WINDOW`` are looked at.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from pipeline.events import Signup, Utm
from pipeline.jobs.base import JobContext
from pipeline.processors.raw import content_token
from pipeline.processors.signups import TargetLookup, attribution_row, campaign_registry
from pipeline.stream.reader import as_utc, utc_literal
from pipeline.tables import SIGNUP_ATTRIBUTION, AttributionRow

log = logging.getLogger("pipeline.jobs.attribution")

WINDOW = timedelta(hours=6)

UNRESOLVED_SQL = """
SELECT s.event_id, s.occurred_at, s.channel, s.form, s.referral_code,
       s.utm_source, s.utm_medium, s.utm_campaign, s.utm_content, s.utm_term
FROM buzz.signups AS s FINAL
WHERE s.occurred_at >= toDateTime64(%(since)s, 3, 'UTC')
  AND (s.utm_content != '' OR s.utm_campaign != '' OR s.utm_source != '')
  AND s.event_id IN (
      SELECT event_id FROM buzz.signup_attribution FINAL
      WHERE kind = 'channel' AND occurred_at >= toDateTime64(%(since)s, 3, 'UTC'))
"""
# New mentions or posts may resolve a link; a signup written again (a replay) may have been
# attributed to its channel again: either is a reason for a pass.
OFFSETS_SQL = (
    "SELECT sum(next_offset) FROM buzz.stream_partitions FINAL"
    " WHERE topic IN ('buzz.mentions', 'buzz.threads', 'buzz.signups')"
)


class LateAttribution:
    name = "attribute_late_signups"
    every = 5.0

    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self.registry = campaign_registry(ctx.campaign)
        self.lookup = TargetLookup(ctx.reader)
        self.offsets: int | None = None

    async def load(self) -> None:
        self.offsets = None

    async def run_once(self, now: datetime | None = None) -> list[AttributionRow]:
        moved = await self.ctx.reader.aquery(OFFSETS_SQL)
        offsets = int(moved[0][0]) if moved and moved[0][0] is not None else 0
        if offsets == self.offsets:
            return []
        now = now or datetime.now(UTC)
        rows = await self.ctx.reader.aquery(UNRESOLVED_SQL, {"since": utc_literal(now - WINDOW)})
        self.offsets = offsets
        signups = [
            Signup.model_construct(
                schema_version=1, event_id=r[0], platform="", occurred_at=as_utc(r[1]),
                channel=r[2], form=r[3], referral_code=r[4],
                utm=Utm.model_construct(source=r[5], medium=r[6], campaign=r[7], content=r[8],
                                        term=r[9]),
            )
            for r in rows
        ]  # fmt: skip
        values = {
            v.strip()
            for s in signups
            for v in (s.utm.content, s.utm.campaign, s.utm.source)
            if v.strip() and v.strip().lower() not in self.registry
        }
        if not values:
            return []
        found = await self.lookup.find(values)
        if not found:
            return []
        registry = {**found, **self.registry}
        better = [a for a in (attribution_row(s, registry) for s in signups) if a.kind != "channel"]
        if better:
            await self.ctx.writer.ainsert(
                SIGNUP_ATTRIBUTION, better, content_token("signup_attribution", better)
            )
            log.info(
                "%d signups attributed late, now that what they link to has arrived", len(better)
            )
        return better
