"""The minute job's alerts: episodes that update, one alert for one story, bursts in it.

Every flagged minute (a spike, an attack, a signup surge, a coordinated burst), in time order,
moves its subject's episode on (``scoring.episodes``); each episode's latest version of a pass
becomes the alert, so a spike still going is one alert with a higher revision. Several subjects
spiking in one minute on the same posts are one story: the others are folded into the leading
spike (``scoring.buzz.fold_spikes``) and named in its alert. The episodes' state is in the alerts
themselves and read back when the job starts (``load``).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson

from pipeline.jobs.base import JobContext
from pipeline.jobs.bursts import MINUTE
from pipeline.scoring.alerts import Alert, coordinated_alert, signup_surge_alert, spike_alert
from pipeline.scoring.buzz import Assessment, MinuteBuzz, Spike, fold_spikes
from pipeline.scoring.coordination import Burst, burst_share
from pipeline.scoring.episodes import Episode, EpisodeBook
from pipeline.scoring.explain import SpikeExplanation
from pipeline.stream.reader import ReadFailed, as_utc, utc_literal

if TYPE_CHECKING:
    from pipeline.jobs.minutes import ClosedMinutes

log = logging.getLogger("pipeline.jobs.minutes")

SIGNUP_PREFIX = "signup:"
Explain = Callable[[str, MinuteBuzz], Awaitable[SpikeExplanation | None]]

SHARED_SQL = """
SELECT a.minute, a.subject, b.subject, count()
FROM buzz.mention_scores AS a FINAL
INNER JOIN (
    SELECT event_id, subject FROM buzz.mention_scores FINAL
    WHERE minute >= toDateTime(%(lo)s, 'UTC') AND minute <= toDateTime(%(hi)s, 'UTC')
      AND subject IN %(subjects)s
) AS b ON a.event_id = b.event_id
WHERE a.minute >= toDateTime(%(lo)s, 'UTC') AND a.minute <= toDateTime(%(hi)s, 'UTC')
  AND a.subject IN %(subjects)s AND a.subject != b.subject
GROUP BY a.minute, a.subject, b.subject
"""
EPISODES_SQL = """
SELECT explanation FROM buzz.alerts FINAL
WHERE kind IN ('spike', 'attack', 'signup_surge', 'coordinated')
  AND last_at >= toDateTime64(%(since)s, 3, 'UTC')
"""


def episodes_from_rows(rows: Sequence[tuple[Any, ...]]) -> list[Episode]:
    """The episodes stored in alerts' explanations (alerts from before episodes have none)."""
    out = []
    for (text,) in rows:
        ep = orjson.loads(text).get("episode")
        if isinstance(ep, dict):
            out.append(Episode.from_dict(ep))
    return out


class AlertMaker:
    def __init__(self, ctx: JobContext, gap: timedelta) -> None:
        self.ctx = ctx
        self.book = EpisodeBook(gap)

    async def load(self, through: datetime | None) -> None:
        """The episodes that may still go on after ``through`` (the last closed minute)."""
        self.book = EpisodeBook(self.book.gap)
        if through is not None:
            since = utc_literal(through - self.book.gap - MINUTE)
            stored = await self.ctx.reader.aquery(EPISODES_SQL, {"since": since})
            self.book.restore(episodes_from_rows(stored))

    async def alerts(
        self, closed: ClosedMinutes, bursts: dict[datetime, list[Burst]], explain: Explain
    ) -> list[Alert]:
        """Every flagged minute, in time order, moves its episode on; each episode's latest
        version becomes the alert (one per episode per pass)."""
        flagged: list[tuple[datetime, str, str, float, float, Any]] = []
        folded = await self.fold(closed.spikes)
        for a in closed.spikes:
            assert a.spike is not None
            if (a.row.minute, a.row.subject_id) in folded:
                continue  # part of another subject's story this minute: said in its alert
            kind = "attack" if a.spike.attack else "spike"
            flagged.append((a.row.minute, kind, a.row.subject_id, a.row.mentions, a.spike.z, a))
        for a in closed.surges:
            channel = a.row.subject_id.removeprefix(SIGNUP_PREFIX)
            flagged.append((a.row.minute, "signup_surge", channel, a.row.mentions, a.z or 0, a))
        for minute, found in bursts.items():
            # A burst moves its episode on in a minute that brought it new posts, not while it
            # merely lingers in the window.
            fresh = [b for b in found if b.last_at >= minute]
            for subject in dict.fromkeys(b.subject for b in fresh):  # largest burst first
                mine = [b for b in fresh if b.subject == subject]
                posts = sum(b.posts for b in mine)
                accounts = len({p.author_id for b in mine for p in b.members})
                flagged.append((minute, "coordinated", subject, posts, accounts, mine))
        flagged.sort(key=lambda f: (f[0], f[1], f[2]))
        latest: dict[tuple[str, str, str], tuple[Episode, Any]] = {}
        for minute, kind, subject, value, score, payload in flagged:
            ep = self.book.advance(kind, subject, minute, value, score)
            if ep is not None:
                latest[(ep.kind, ep.subject, ep.key)] = (ep, payload)
        names = {sub.id: sub.name for sub in self.ctx.campaign.subjects}
        totals = {(r.subject, r.minute): r.mentions for r in closed.buzz_rows}
        alerts: list[Alert] = []
        for ep, payload in latest.values():
            minute = ep.last
            if ep.kind == "coordinated":
                b = payload[0]
                share = burst_share(payload, b.subject, minute, minute + MINUTE,
                                    totals.get((b.subject, minute), 0))  # fmt: skip
                name = names.get(b.subject, "")
                alerts.append(coordinated_alert(b, ep, name, payload[1:], share))
            elif ep.kind == "signup_surge":
                exp = payload.expected.mean if payload.expected else 0.0
                alerts.append(signup_surge_alert(ep.subject, minute, payload.row.mentions, exp,
                                                 payload.z or 0, ep))  # fmt: skip
            else:
                spike = payload.spike
                why = await explain(spike.subject_id, payload.row)
                share = burst_share(bursts.get(minute, []), spike.subject_id, minute,
                                    minute + MINUTE, payload.row.mentions)  # fmt: skip
                also = [
                    f.spike
                    for f in closed.spikes
                    if f.spike is not None
                    and folded.get((minute, f.row.subject_id)) == spike.subject_id
                ]
                name = names.get(spike.subject_id, "")
                alerts.append(spike_alert(spike, why, name, ep, share, also))
        return alerts

    async def fold(self, spikes: Sequence[Assessment]) -> dict[tuple[datetime, str], str]:
        """(minute, subject) of spikes folded into another of their minute -> its subject."""
        minutes: dict[datetime, list[Spike]] = defaultdict(list)
        for a in spikes:
            assert a.spike is not None
            minutes[a.row.minute].append(a.spike)
        busy = {m: s for m, s in minutes.items() if len(s) > 1}
        if not busy:
            return {}
        params = {
            "lo": utc_literal(min(busy))[:19],
            "hi": utc_literal(max(busy))[:19],
            "subjects": tuple({s.subject_id for ss in busy.values() for s in ss}),
        }
        try:
            rows = await self.ctx.reader.aquery(SHARED_SQL, params)
        except ReadFailed as exc:  # every spike then alerts on its own: more, never fewer
            log.warning("spikes not folded: %s", exc)
            return {}
        shared: dict[datetime, dict[tuple[str, str], int]] = defaultdict(dict)
        for minute, a, b, n in rows:
            shared[as_utc(minute)][(a, b)] = int(n)
        out = {}
        for minute, ss in busy.items():
            for follower, leader in fold_spikes(ss, shared.get(minute, {})).items():
                out[(minute, follower)] = leader
        return out
