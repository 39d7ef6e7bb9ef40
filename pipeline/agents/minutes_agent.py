"""Closing minutes: buzz per subject and signups per channel, judged against the baseline.

A leader-only timer (one worker in the group runs it) reads the de-duplicated scores back from
the warehouse, because a minute's mentions are spread over every partition: only the warehouse
sees them all. Each pass:

1. aggregates ``buzz.mention_scores FINAL`` and ``buzz.signups FINAL`` per (series, minute) for
   minutes after the last closed one (``buzz.stream_progress``) and old enough, i.e. ended at
   least ``LATENESS`` ago in event time against the wall clock;
2. closes minutes in time order up to (not including) the first one that is still *settling*:
   a row for it was written less than ``SETTLE`` ago, so more may be on the way from another
   partition (this is what lets a backfill or replay with old event times close correctly);
3. judges each closed minute against the baseline as it was before that minute, then learns it
   (``scoring.buzz.assess_rows``), writes ``buzz.buzz_minutes`` / ``buzz.signup_minutes``, spike,
   attack and signup-surge alerts, the baseline state per series, and the new progress mark.

Replay safety: counts come from tables keyed on event id and read with FINAL, so a duplicate event
cannot count twice; a minute is closed once (minutes up to the progress mark are never read
again, and the baseline skips minutes it has learned); derived rows are keyed on
(series, minute) and alerts on their deterministic id. Outputs are written before the baseline
and progress, so a crash in between recomputes the same outputs. Late data for a closed minute
stays in ``buzz.mention_scores`` but does not change the closed minute (documented limit).

Failure policy: a failed read skips the pass (the next tick retries); writes retry until
accepted, like every sink write.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from pipeline.agents.context import AgentContext
from pipeline.agents.plumbing import ReadFailed, content_token, utc_literal, write
from pipeline.agents.stored import MENTION_SELECT, as_utc, mention_from_row
from pipeline.campaign import Campaign
from pipeline.scoring.alerts import Alert, signup_surge_alert, spike_alert
from pipeline.scoring.baseline import BaselineState, floor_minute
from pipeline.scoring.buzz import (
    Assessment,
    MinuteBuzz,
    ScoredMention,
    assess_rows,
    contenders,
    share_of_voice,
)
from pipeline.scoring.explain import explain_spike
from pipeline.sink import WarehouseSink

log = logging.getLogger("pipeline.agents.minutes")

PASS_SECONDS = 2.0  # how often the leader looks for minutes to close
LATENESS = timedelta(seconds=60)  # a minute is considered once it ended this long ago
SETTLE = timedelta(seconds=3)  # ...and nothing was written for it for this long
EXPLAIN_WINDOW = timedelta(hours=3)  # the "before" window a spike is contrasted with
EXPLAIN_MAX_POSTS = 5000
SIGNUP_PREFIX = "signup:"
EPOCH = datetime(1970, 1, 2, tzinfo=UTC)

BUZZ_MINUTE_COLUMNS = (
    "subject", "subject_kind", "minute", "mentions", "unique_authors", "engagement_volume",
    "audience_volume", "sentiment_mean", "negative_share", "share_of_voice", "expected",
    "expected_std", "anomaly_score", "spike", "attack",
)  # fmt: skip
SIGNUP_MINUTE_COLUMNS = ("channel", "minute", "signups", "expected", "anomaly_score", "surge")
BASELINE_COLUMNS = ("series", "last_minute", "state")

BUZZ_AGG_SQL = """
SELECT subject, minute, count(), uniqExact(author_id), sum(engagement_weight),
       sum(audience_weight), avg(sentiment), avg(negative),
       dateDiff('millisecond', max(scored_at), now64(3))
FROM buzz.mention_scores FINAL
WHERE minute > toDateTime(%(after)s, 'UTC') AND minute <= toDateTime(%(until)s, 'UTC')
GROUP BY subject, minute
"""
SIGNUP_AGG_SQL = """
SELECT channel, toStartOfMinute(occurred_at) AS m, count(),
       dateDiff('millisecond', max(sunk_at), now64(3))
FROM buzz.signups FINAL
WHERE m > toDateTime(%(after)s, 'UTC') AND m <= toDateTime(%(until)s, 'UTC')
GROUP BY channel, m
"""


def closable_through(ages: Sequence[tuple[datetime, float]], settle: timedelta) -> datetime | None:
    """The last minute that can be closed: every earlier minute with rows has settled.

    ``ages`` holds (minute, seconds since a row for it was last written) for every series.
    """
    youngest: dict[datetime, float] = {}
    for minute, age in ages:
        youngest[minute] = min(age, youngest.get(minute, age))
    through = None
    for minute in sorted(youngest):
        if youngest[minute] < settle.total_seconds():
            break
        through = minute
    return through


@dataclass
class ClosedMinutes:
    buzz_rows: list[list[Any]] = field(default_factory=list)
    signup_rows: list[list[Any]] = field(default_factory=list)
    spikes: list[Assessment] = field(default_factory=list)
    surges: list[Assessment] = field(default_factory=list)
    series: set[str] = field(default_factory=set)  # baselines that learned something


def close_minutes(
    buzz: Sequence[MinuteBuzz],
    signups: Sequence[tuple[str, datetime, int]],
    state: BaselineState,
    campaign: Campaign,
) -> ClosedMinutes:
    """Judge and learn closed minutes (pure): rows for the tables plus spikes and surges."""
    out = ClosedMinutes()
    kinds = {s.id: s.kind for s in campaign.subjects}
    among = contenders(campaign)
    per_minute: dict[datetime, dict[str, float]] = defaultdict(dict)
    for b in buzz:
        per_minute[b.minute][b.subject_id] = b.mentions
    shares = {m: share_of_voice(v, among) for m, v in per_minute.items()}
    for a in assess_rows(buzz, state, campaign):
        r = a.row
        out.series.add(r.subject_id)
        exp = a.expected
        out.buzz_rows.append(
            [
                r.subject_id, kinds.get(r.subject_id, "issue"), r.minute, r.mentions,
                r.unique_authors, r.engagement_volume, r.audience_volume, r.sentiment_mean,
                r.negative_share, shares[r.minute].get(r.subject_id), exp.mean if exp else None,
                exp.std if exp else None, a.z, int(a.spike is not None),
                int(a.spike is not None and a.spike.attack),
            ]
        )  # fmt: skip
        if a.spike is not None:
            out.spikes.append(a)
    signup_buzz = [
        MinuteBuzz(SIGNUP_PREFIX + ch, minute, n, n, 0.0, 0.0, 0.0, 0.0)
        for ch, minute, n in signups
    ]
    for a in assess_rows(signup_buzz, state, campaign):
        r, exp = a.row, a.expected
        out.series.add(r.subject_id)
        out.signup_rows.append(
            [r.subject_id.removeprefix(SIGNUP_PREFIX), r.minute, r.mentions,
             exp.mean if exp else None, a.z, int(a.spike is not None)]
        )  # fmt: skip
        if a.spike is not None:
            out.surges.append(a)
    return out


def baseline_rows(state: BaselineState, series: set[str]) -> list[list[Any]]:
    """One ``buzz.baseline_state`` row per series: the state of that series alone, as JSON."""
    full = state.to_dict()
    rows = []
    for sid in sorted(series):
        sb = state.subjects.get(sid)
        if sb is None or sb.last_minute is None:
            continue
        one = {**full, "subjects": {sid: full["subjects"][sid]}}
        rows.append([sid, sb.last_minute, orjson.dumps(one).decode()])
    return rows


def baseline_from_rows(rows: Sequence[tuple[Any, ...]]) -> BaselineState:
    """Merge the per-series rows (``SELECT state FROM buzz.baseline_state FINAL``) into one."""
    merged: dict[str, Any] | None = None
    for (text,) in rows:
        one = orjson.loads(text)
        if merged is None:
            merged = one
        else:
            merged["subjects"].update(one["subjects"])
    return BaselineState.from_dict(merged) if merged else BaselineState()


class MinuteCloser:
    def __init__(self, ctx: AgentContext, sink: WarehouseSink) -> None:
        self.ctx = ctx
        self.sink = sink
        self.state: BaselineState | None = None
        self.through: datetime | None = None

    async def load(self) -> None:
        r = self.ctx.reader
        rows = await r.aquery("SELECT state FROM buzz.baseline_state FINAL")
        prog = await r.aquery(
            "SELECT max(through) FROM buzz.stream_progress FINAL WHERE job = 'minutes'"
        )
        self.state = baseline_from_rows(rows)
        last = prog[0][0] if prog else None
        self.through = as_utc(last) if last and as_utc(last) > EPOCH else None
        log.info("baseline rebuilt for %d series, closed through %s",
                 len(self.state.subjects), self.through)  # fmt: skip

    async def run_once(self, now: datetime | None = None) -> ClosedMinutes | None:
        if self.state is None:
            await self.load()
        assert self.state is not None
        now = now or datetime.now(UTC)
        until = floor_minute(now - LATENESS - timedelta(minutes=1))
        after = self.through or EPOCH
        params = {"after": utc_literal(after)[:19], "until": utc_literal(until)[:19]}
        buzz_aggs = await self.ctx.reader.aquery(BUZZ_AGG_SQL, params)
        signup_aggs = await self.ctx.reader.aquery(SIGNUP_AGG_SQL, params)
        ages = [(as_utc(r[1]), r[-1] / 1000) for r in (*buzz_aggs, *signup_aggs)]
        through = closable_through(ages, SETTLE)
        if through is None:
            return None
        buzz = [
            MinuteBuzz(r[0], as_utc(r[1]), int(r[2]), int(r[3]), float(r[4]), float(r[5]),
                       float(r[6]), float(r[7]))
            for r in buzz_aggs if as_utc(r[1]) <= through
        ]  # fmt: skip
        signups = [(r[0], as_utc(r[1]), int(r[2])) for r in signup_aggs if as_utc(r[1]) <= through]
        closed = close_minutes(buzz, signups, self.state, self.ctx.campaign)
        alerts: list[Alert] = []
        names = {sub.id: sub.name for sub in self.ctx.campaign.subjects}
        for a in closed.spikes:
            assert a.spike is not None
            why = await self._explain(a.spike.subject_id, a.row)
            alerts.append(spike_alert(a.spike, why, names.get(a.spike.subject_id, "")))
        for a in closed.surges:
            exp = a.expected.mean if a.expected else 0.0
            channel = a.row.subject_id.removeprefix(SIGNUP_PREFIX)
            alerts.append(signup_surge_alert(channel, a.row.minute, a.row.mentions, exp, a.z or 0))
        await self._save(closed, alerts, through)
        return closed

    async def _explain(self, subject: str, row: MinuteBuzz) -> Any:
        """Why the spike: its minute's posts against the window before (None if unreadable)."""
        start = row.minute - EXPLAIN_WINDOW
        try:
            scores = await self.ctx.reader.aquery(
                "SELECT event_id, sentiment, minute FROM buzz.mention_scores FINAL"
                " WHERE subject = %(s)s AND minute >= toDateTime(%(a)s, 'UTC')"
                " AND minute <= toDateTime(%(b)s, 'UTC') ORDER BY minute DESC LIMIT %(n)s",
                {"s": subject, "a": utc_literal(start)[:19], "b": utc_literal(row.minute)[:19],
                 "n": EXPLAIN_MAX_POSTS},
            )  # fmt: skip
            if not scores:
                return None
            posts = await self.ctx.reader.aquery(
                f"SELECT {MENTION_SELECT} FROM buzz.mentions FINAL WHERE event_id IN %(ids)s",
                {"ids": tuple(r[0] for r in scores)},
            )
        except ReadFailed as exc:
            log.warning("spike explanation skipped: %s", exc)
            return None
        by_id = {m.event_id: m for m in map(mention_from_row, posts)}
        spike: list[ScoredMention] = []
        base: list[ScoredMention] = []
        for event_id, tone, minute in scores:
            m = by_id.get(event_id)
            if m is None:
                continue
            s = ScoredMention(m, (subject,), float(tone))
            (spike if as_utc(minute) == row.minute else base).append(s)
        return explain_spike(spike, base)

    async def _save(self, closed: ClosedMinutes, alerts: list[Alert], through: datetime) -> None:
        assert self.state is not None
        s = self.sink
        await write(s, "buzz.buzz_minutes", closed.buzz_rows, BUZZ_MINUTE_COLUMNS,
                    content_token("buzz_minutes", closed.buzz_rows))  # fmt: skip
        await write(s, "buzz.signup_minutes", closed.signup_rows, SIGNUP_MINUTE_COLUMNS,
                    content_token("signup_minutes", closed.signup_rows))  # fmt: skip
        await self.ctx.alerts.publish(alerts)
        rows = baseline_rows(self.state, closed.series)
        await write(s, "buzz.baseline_state", rows, BASELINE_COLUMNS,
                    content_token("baseline_state", rows))  # fmt: skip
        progress = [["minutes", through]]
        await write(s, "buzz.stream_progress", progress, ("job", "through"),
                    content_token("stream_progress", progress))  # fmt: skip
        self.through = through


def register(ctx: AgentContext) -> None:
    closer = MinuteCloser(ctx, ctx.new_sink())

    @ctx.app.timer(interval=PASS_SECONDS, on_leader=True, name="close_minutes")
    async def close_minutes_timer() -> None:
        try:
            await closer.run_once()
        except ReadFailed as exc:
            log.warning("closing minutes skipped this pass: %s", exc)
