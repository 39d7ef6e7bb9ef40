"""``attribute_signups``: raw signups and their attribution; the buzz -> signups lag.

Per batch: validate (invalid -> dead letter with reason), write the raw signups (HMACs only, never
clear text), attribute each with the pure ``scoring.signups.attribute_signup`` and write
``buzz.signup_attribution``, then ack. Signup surges are judged with the buzz minutes
(``minutes_agent``), the lag correlation by a leader-only timer that recomputes
``buzz.buzz_signup_lag`` from the de-duplicated tables over the last ``LAG_DAYS`` days.

The referral registry: a validator's referral codes are their handles, letters and digits only,
upper-case (``@mayortorres`` -> ``MAYORTORRES``, the convention the demo follows), plus the
validator key. A UTM value that is no code and no ``kind:id`` tag is looked up among the thread ids
and mention event ids in the warehouse, so a link tagged with a bare thread id or post id counts.

Failure policy: dead letters as in ``pipeline.processors.common``; reads and writes in the stream
retry until accepted (the batch stays unacked meanwhile); the timer skips a pass on a failed read.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import faust

from pipeline.agents.context import AgentContext
from pipeline.agents.plumbing import (
    ReadFailed,
    WarehouseReader,
    batches,
    content_token,
    raw_message,
    send_dead_letters,
    utc_literal,
    write,
)
from pipeline.agents.stored import as_utc
from pipeline.campaign import Campaign
from pipeline.events import Signup
from pipeline.processors.raw import batch_token
from pipeline.processors.signups import SIGNUP_COLUMNS, process_signups
from pipeline.scoring.signups import Target, attribute_signup, lagged_correlation
from pipeline.scoring.validator_reach import validator_key
from pipeline.topics import SIGNUPS

log = logging.getLogger("pipeline.agents.signups")

LAG_SECONDS = 15.0
LAG_DAYS = 14
MAX_LAG_HOURS = 24
ATTRIBUTION_COLUMNS = ("event_id", "occurred_at", "channel", "form", "kind", "target_id", "via")
LAG_COLUMNS = ("subject", "lag_hours", "r", "pairs", "window_start", "window_end")


def referral_code_of(handle: str) -> str:
    """``@mayortorres`` / ``torres@civic.social`` -> ``MAYORTORRES`` / ``TORRES``."""
    return re.sub(r"[^A-Za-z0-9]", "", handle.strip().lstrip("@").split("@")[0]).upper()


def campaign_registry(campaign: Campaign) -> dict[str, Target]:
    """Referral codes (lower-cased) -> validator, from the campaign's validators."""
    reg: dict[str, Target] = {}
    for v in campaign.validators:
        key = validator_key(v)
        reg[key.lower()] = Target("validator", key)
        for handle in v.handles.values():
            code = referral_code_of(handle)
            for c in (code, code[:16]):  # codes are printed on cards: at most 16 characters
                if c:
                    reg.setdefault(c.lower(), Target("validator", key))
    return reg


def utm_values(signups: Iterable[Signup]) -> set[str]:
    return {
        x.strip() for s in signups for x in (s.utm.content, s.utm.campaign, s.utm.source)
        if x.strip()
    }  # fmt: skip


def attribution_rows(signups: Sequence[Signup], registry: dict[str, Target]) -> list[list[Any]]:
    rows = []
    for s in signups:
        a = attribute_signup(s, registry)
        rows.append([s.event_id, s.occurred_at, s.channel, s.form, a.kind, a.target_id, a.via])
    return rows


async def lookup_targets(reader: WarehouseReader, values: set[str]) -> dict[str, Target]:
    """Bare thread ids and mention event ids among UTM values, found in the warehouse."""
    if not values:
        return {}
    ids = {"ids": tuple(sorted(values))}
    threads = await reader.aquery_retrying(
        "SELECT DISTINCT thread_id FROM buzz.thread_posts WHERE thread_id IN %(ids)s", ids
    )
    mentions = await reader.aquery_retrying(
        "SELECT DISTINCT event_id FROM buzz.mentions WHERE event_id IN %(ids)s", ids
    )
    found = {r[0]: Target("thread", r[0]) for r in threads}
    found.update({r[0]: Target("mention", r[0]) for r in mentions})
    return found


def lag_rows(
    buzz_hourly: Sequence[tuple[str, datetime, int]], signups_hourly: Sequence[tuple[datetime, int]]
) -> list[list[Any]]:
    """``buzz.buzz_signup_lag`` rows per subject (and ``all``) from hourly counts (pure)."""
    signups = {as_utc(h): float(n) for h, n in signups_hourly}
    series: dict[str, dict[datetime, float]] = {}
    for subject, hour, n in buzz_hourly:
        series.setdefault(subject, {})[as_utc(hour)] = float(n)
    rows = []
    for subject, buzz in sorted(series.items()):
        hours = [*buzz, *signups]
        start, end = min(hours), max(hours)
        for lc in lagged_correlation(buzz, signups, max_lag_hours=MAX_LAG_HOURS):
            r = None if lc.r is None else round(lc.r, 9)
            rows.append([subject, lc.lag_hours, r, lc.pairs, start, end])
    return rows


async def compute_lags(ctx: AgentContext, sink: Any, now: datetime) -> list[list[Any]]:
    since = {"since": utc_literal(now - timedelta(days=LAG_DAYS))}
    buzz = await ctx.reader.aquery(
        "SELECT subject, toStartOfHour(minute) AS h, uniqExact(event_id)"
        " FROM buzz.mention_scores FINAL WHERE minute >= toDateTime64(%(since)s, 3, 'UTC')"
        " GROUP BY subject, h UNION ALL"
        " SELECT 'all', toStartOfHour(minute) AS h, uniqExact(event_id)"
        " FROM buzz.mention_scores FINAL WHERE minute >= toDateTime64(%(since)s, 3, 'UTC')"
        " GROUP BY h",
        since,
    )
    signups = await ctx.reader.aquery(
        "SELECT toStartOfHour(occurred_at) AS h, count() FROM buzz.signups FINAL"
        " WHERE occurred_at >= toDateTime64(%(since)s, 3, 'UTC') GROUP BY h",
        since,
    )
    if not buzz or not signups:
        return []
    rows = lag_rows([(r[0], r[1], int(r[2])) for r in buzz], [(r[0], int(r[1])) for r in signups])
    await write(sink, "buzz.buzz_signup_lag", rows, LAG_COLUMNS, content_token("lag", rows))
    return rows


def register(ctx: AgentContext) -> None:
    app = ctx.app
    topic = app.topic(SIGNUPS, value_serializer="raw", key_serializer="raw")
    sink = ctx.new_sink()
    registry = campaign_registry(ctx.campaign)

    @app.agent(topic, name="attribute_signups")
    async def attribute_signups(stream: faust.StreamT) -> None:
        async for events in batches(stream, ctx.batch, ctx.within):
            raw = [raw_message(e) for e in events]
            result = process_signups(raw)
            await send_dead_letters(ctx.dead_letters, result.dead_letters)
            await write(sink, "buzz.signups", result.rows, SIGNUP_COLUMNS,
                        batch_token("signups", raw))  # fmt: skip
            unknown = {v for v in utm_values(result.events) if v.lower() not in registry}
            found = await lookup_targets(ctx.reader, unknown)
            rows = attribution_rows(result.events, {**found, **registry})
            await write(sink, "buzz.signup_attribution", rows, ATTRIBUTION_COLUMNS,
                        batch_token("signup_attribution", raw))  # fmt: skip

    lag_sink = ctx.new_sink()

    @app.timer(interval=LAG_SECONDS, on_leader=True, name="buzz_signup_lag")
    async def buzz_signup_lag() -> None:
        try:
            await compute_lags(ctx, lag_sink, datetime.now(UTC))
        except ReadFailed as exc:
            log.warning("lag correlation skipped this pass: %s", exc)
