"""Closing minutes: buzz per subject and signups per channel, judged against the baseline.

A minute's mentions are spread over every partition (they are keyed by cascade, not subject), so
only the warehouse sees them all. A minute is closed once, when every partition of
``buzz.mentions`` and ``buzz.signups`` is past it (the stream's watermark, see
``pipeline.stream.progress``): after a restart, a partition that is re-reading what it had not
committed holds the watermark back, so no minute closes before its data is in. Each pass:

1. reads the partitions' progress (a few rows) and works out the last closable minute;
2. if that is later than the last closed one (``buzz.stream_progress``), aggregates
   ``buzz.mention_scores FINAL`` and ``buzz.signups FINAL`` for just those minutes;
3. looks for coordinated bursts among each closed minute's original posts (``jobs.bursts``);
4. judges each closed minute against the baseline as it was before that minute, then learns it
   (``scoring.buzz.assess_rows``), writes ``buzz.buzz_minutes`` / ``buzz.signup_minutes``, spike,
   attack, signup-surge and coordinated alerts, the baseline state per series, and the new
   progress mark.

A flagged minute continues its subject's open episode or starts one (``scoring.episodes``): the
same spike still going is one alert whose updates carry a higher revision. The episodes' state is
in the alerts themselves and read back at start.

Replay safety: counts come from tables keyed on event id and read with FINAL, so a duplicate event
cannot count twice; a minute is closed once (minutes up to the progress mark are never read
again, and the baseline skips minutes it has learned); derived rows are keyed on
(series, minute) and alerts on their deterministic id. Outputs are written before the baseline
and progress, so a crash in between recomputes the same outputs (and an episode skips a minute
it has already counted). Late data (an event arriving
after its minute closed, i.e. more than ``LATENESS`` behind every partition) stays in
``buzz.mention_scores`` but does not change the closed minute (a documented limit).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from pipeline.campaign import Campaign
from pipeline.jobs.base import JobContext
from pipeline.jobs.bursts import MINUTE, BurstWatch
from pipeline.jobs.minute_alerts import SIGNUP_PREFIX, AlertMaker
from pipeline.jobs.stored import mention_from_row
from pipeline.processors.raw import content_token
from pipeline.scoring.alerts import Alert
from pipeline.scoring.baseline import BaselineState
from pipeline.scoring.buzz import (
    Assessment,
    MinuteBuzz,
    ScoredMention,
    assess_rows,
    contenders,
    share_of_voice,
)
from pipeline.scoring.coordination import Burst, BurstRule
from pipeline.scoring.explain import explain_spike
from pipeline.stream.progress import Report, closable_through, stream_watermark
from pipeline.stream.reader import ReadFailed, as_utc, utc_literal
from pipeline.tables import (
    BASELINE_STATE,
    BUZZ_MINUTES,
    MENTIONS,
    SIGNUP_MINUTES,
    STREAM_PROGRESS,
    BaselineStateRow,
    BuzzMinuteRow,
    SignupMinuteRow,
    StreamProgressRow,
)
from pipeline.topics import MENTIONS as MENTIONS_TOPIC
from pipeline.topics import SIGNUPS as SIGNUPS_TOPIC

log = logging.getLogger("pipeline.jobs.minutes")

EXPLAIN_WINDOW = timedelta(hours=3)  # the "before" window a spike is contrasted with
EXPLAIN_MAX_POSTS = 5000
EPOCH = datetime(1970, 1, 2, tzinfo=UTC)

SETTLE = timedelta(seconds=3)  # a minute written to this recently may still be filling up
PROGRESS_SQL = (
    "SELECT topic, partition, event_time_watermark, caught_up_at, behind, updated_at"
    " FROM buzz.stream_partitions FINAL"
)
# Per (series, minute): the figures, and how long ago a row of it was last written (ms).
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
WHERE occurred_at >= toDateTime64(%(after_start)s, 3, 'UTC')
  AND occurred_at < toDateTime64(%(until_end)s, 3, 'UTC')
GROUP BY channel, m
"""


def settled_through(ages: Sequence[tuple[datetime, float]], settle: timedelta) -> datetime | None:
    """The last minute to close now, among minutes that have rows: in time order, up to (not
    including) the first one still being written to (a row of it is younger than ``settle``).

    ``ages`` holds (minute, seconds since a row of it was last written) for every series. Only
    minutes with rows are ever closed, so a backfill that arrives after a quiet spell still
    finds its minutes open; quiet minutes in between are learned as zeros when the next one is.
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
    buzz_rows: list[BuzzMinuteRow] = field(default_factory=list)
    signup_rows: list[SignupMinuteRow] = field(default_factory=list)
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
        r, exp = a.row, a.expected
        out.series.add(r.subject_id)
        out.buzz_rows.append(
            BuzzMinuteRow(
                subject=r.subject_id,
                subject_kind=kinds.get(r.subject_id, "issue"),
                minute=r.minute,
                mentions=r.mentions,
                unique_authors=r.unique_authors,
                engagement_volume=r.engagement_volume,
                audience_volume=r.audience_volume,
                sentiment_mean=r.sentiment_mean,
                negative_share=r.negative_share,
                share_of_voice=shares[r.minute].get(r.subject_id),
                expected=exp.mean if exp else None,
                expected_std=exp.std if exp else None,
                anomaly_score=a.z,
                spike=int(a.spike is not None),
                attack=int(a.spike is not None and a.spike.attack),
            )
        )
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
            SignupMinuteRow(
                channel=r.subject_id.removeprefix(SIGNUP_PREFIX),
                minute=r.minute,
                signups=r.mentions,
                expected=exp.mean if exp else None,
                anomaly_score=a.z,
                surge=int(a.spike is not None),
            )
        )
        if a.spike is not None:
            out.surges.append(a)
    return out


def baseline_rows(state: BaselineState, series: set[str]) -> list[BaselineStateRow]:
    """One ``buzz.baseline_state`` row per series: the state of that series alone, as JSON."""
    full = state.to_dict()
    rows = []
    for sid in sorted(series):
        sb = state.subjects.get(sid)
        if sb is None or sb.last_minute is None:
            continue
        one = {**full, "subjects": {sid: full["subjects"][sid]}}
        rows.append(BaselineStateRow(sid, sb.last_minute, orjson.dumps(one).decode()))
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
    name = "close_minutes"
    every = 1.0

    def __init__(self, ctx: JobContext, settle: timedelta = SETTLE) -> None:
        self.ctx = ctx
        self.settle = settle
        self.state: BaselineState | None = None
        self.through: datetime | None = None
        t = ctx.campaign.thresholds
        self.gap = timedelta(minutes=t.episode_gap_minutes)
        self.maker = AlertMaker(ctx, self.gap)
        self.watch = BurstWatch(ctx.reader, BurstRule(min_accounts=t.coordinated_min_accounts))

    async def load(self) -> None:
        r = self.ctx.reader
        rows = await r.aquery("SELECT state FROM buzz.baseline_state FINAL")
        prog = await r.aquery(
            "SELECT max(through) FROM buzz.stream_progress FINAL WHERE job = 'minutes'"
        )
        self.state = baseline_from_rows(rows)
        last = prog[0][0] if prog else None
        self.through = as_utc(last) if last and as_utc(last) > EPOCH else None
        await self.maker.load(self.through)
        self.watch.reset()
        log.info(
            "baseline rebuilt for %d series, closed through %s",
            len(self.state.subjects),
            self.through,
        )

    async def closable(self) -> datetime | None:
        """The last minute every partition of mentions and signups is past (None: none yet)."""
        rows = await self.ctx.reader.aquery(PROGRESS_SQL)
        parts = self.ctx.partitions()
        expected = {t: parts.get(t, 0) for t in (MENTIONS_TOPIC, SIGNUPS_TOPIC)}
        reports = [
            Report(t, int(p), as_utc(w), as_utc(c), int(b), as_utc(u)) for t, p, w, c, b, u in rows
        ]
        return closable_through(stream_watermark(reports, expected, datetime.now(UTC)))

    async def run_once(self) -> ClosedMinutes | None:
        if self.state is None:
            await self.load()
        assert self.state is not None
        until = await self.closable()
        if until is None or (self.through is not None and until <= self.through):
            return None
        after = self.through or EPOCH
        params = {
            "after": utc_literal(after)[:19],
            "until": utc_literal(until)[:19],
            "after_start": utc_literal(after + timedelta(minutes=1)),
            "until_end": utc_literal(until + timedelta(minutes=1)),
        }
        buzz_aggs = await self.ctx.reader.aquery(BUZZ_AGG_SQL, params)
        signup_aggs = await self.ctx.reader.aquery(SIGNUP_AGG_SQL, params)
        ages = [(as_utc(r[1]), r[-1] / 1000) for r in (*buzz_aggs, *signup_aggs)]
        last = settled_through(ages, self.settle)
        if last is None:
            return None  # nothing to close, or the first minute is still being written
        buzz = [
            MinuteBuzz(
                r[0], as_utc(r[1]), int(r[2]), int(r[3]), float(r[4]), float(r[5]),
                float(r[6]), float(r[7]),
            )
            for r in buzz_aggs
            if as_utc(r[1]) <= last
        ]  # fmt: skip
        signups = [(r[0], as_utc(r[1]), int(r[2])) for r in signup_aggs if as_utc(r[1]) <= last]
        bursts: dict[datetime, list[Burst]] = {}
        if buzz:  # read before anything learns: a failed read leaves the pass to be re-run
            # From the first closed minute with posts (a burst needs posts in its window).
            first = max(after + MINUTE, min(b.minute for b in buzz) - self.watch.rule.window)
            bursts = await self.watch.judge(first, last)
        closed = close_minutes(buzz, signups, self.state, self.ctx.campaign)
        alerts = await self.maker.alerts(closed, bursts, self._explain)
        await self._save(closed, alerts, last)
        return closed

    async def _explain(self, subject: str, row: MinuteBuzz) -> Any:
        """Why the spike: its minute's posts against the window before (None if unreadable)."""
        start = row.minute - EXPLAIN_WINDOW
        try:
            scores = await self.ctx.reader.aquery(
                "SELECT event_id, sentiment, minute FROM buzz.mention_scores FINAL"
                " WHERE subject = %(s)s AND minute >= toDateTime(%(a)s, 'UTC')"
                " AND minute <= toDateTime(%(b)s, 'UTC') ORDER BY minute DESC LIMIT %(n)s",
                {
                    "s": subject,
                    "a": utc_literal(start)[:19],
                    "b": utc_literal(row.minute)[:19],
                    "n": EXPLAIN_MAX_POSTS,
                },
            )
            if not scores:
                return None
            posts = await self.ctx.reader.aquery(
                f"SELECT {MENTIONS.select} FROM buzz.mentions FINAL WHERE event_id IN %(ids)s",
                {"ids": tuple(r[0] for r in scores)},
            )
        except ReadFailed as exc:
            log.warning("spike explanation skipped: %s", exc)
            return None
        by_id = {m.event_id: m for m in (mention_from_row(MENTIONS.read(v)) for v in posts)}
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
        w = self.ctx.writer
        await w.ainsert(
            BUZZ_MINUTES, closed.buzz_rows, content_token("buzz_minutes", closed.buzz_rows)
        )
        await w.ainsert(
            SIGNUP_MINUTES, closed.signup_rows, content_token("signup_minutes", closed.signup_rows)
        )
        await self.ctx.alerts.publish(alerts)
        rows = baseline_rows(self.state, closed.series)
        await w.ainsert(BASELINE_STATE, rows, content_token("baseline_state", rows))
        progress = [StreamProgressRow("minutes", through)]
        await w.ainsert(STREAM_PROGRESS, progress, content_token("stream_progress", progress))
        self.through = through
