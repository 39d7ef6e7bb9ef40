"""Alerts: one record per thing staff should look at, with an id that never doubles.

``alert_id`` is a hash of kind + subject + a *key* that names the occurrence (the first minute of
a spike, attack, surge or burst episode, the post of a validator, the thread of a golden thread,
...). Processing the same input twice yields the same id, so the sink's de-duplication absorbs
replays. An episode still going (``scoring.episodes``) is the same alert with a higher
``revision``: its latest minute (``last_at``), peak and explanation move on, its id and ``at``
(the first minute) stay.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pipeline.scoring.buzz import Spike
from pipeline.scoring.conversation import Question, ThreadMetrics
from pipeline.scoring.coordination import Burst, BurstShare
from pipeline.scoring.episodes import Episode
from pipeline.scoring.explain import SpikeExplanation
from pipeline.scoring.validator_reach import ValidatorReach

AlertKind = Literal[
    "spike",
    "attack",
    "validator_first",
    "cascade",
    "golden_thread",
    "unanswered_question",
    "signup_surge",
    "coordinated",
]
Severity = Literal["info", "warning", "critical"]

# Urgent alerts go out at once; opportunities (worth acting on, not this minute) wait for a
# digest. Every kind is one or the other.
URGENT: frozenset[str] = frozenset({"spike", "attack", "signup_surge", "coordinated"})
OPPORTUNITY: frozenset[str] = frozenset(
    {"golden_thread", "cascade", "validator_first", "unanswered_question"}
)


def alert_id(kind: str, subject: str, key: str) -> str:
    # JSON encoding keeps the parts apart whatever they contain: ("a|b", "c") != ("a", "b|c").
    raw = json.dumps([kind, subject, key]).encode()
    return f"alert:{kind}:{hashlib.sha256(raw).hexdigest()[:32]}"


def time_bucket(at: datetime, minutes: int = 15) -> str:
    """ISO start of the ``minutes`` bucket holding ``at`` (UTC), used as an alert key."""
    if at.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    at = at.astimezone(UTC)
    start = datetime(at.year, at.month, at.day, tzinfo=UTC)
    k = int((at - start) / timedelta(minutes=minutes))
    return (start + timedelta(minutes=k * minutes)).isoformat()


def _plain(v: Any) -> Any:
    """JSON-safe copy: dataclasses to dicts, datetimes to ISO strings, tuples to lists."""
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return {f.name: _plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple | set | frozenset):
        return [_plain(x) for x in v]
    return v


@dataclass(frozen=True)
class Alert:
    kind: AlertKind
    subject: str
    key: str  # what makes this occurrence unique within kind + subject
    severity: Severity
    title: str
    at: datetime
    explanation: dict[str, Any] = field(default_factory=dict)
    example_urls: tuple[str, ...] = ()
    revision: int = 1  # 1 when raised; an episode's updates count up
    last_at: datetime | None = None  # an episode's latest minute (None: the same as ``at``)
    opened_as: str = ""  # the kind it was raised as, when it escalated since ("" = kind)

    @property
    def alert_id(self) -> str:
        return alert_id(self.opened_as or self.kind, self.subject, self.key)

    @property
    def latest(self) -> datetime:
        return self.last_at or self.at

    def to_dict(self) -> dict[str, Any]:
        d = _plain(self)
        d["alert_id"] = self.alert_id
        return dict(d)


def _urls(urls: Sequence[str], limit: int = 5) -> tuple[str, ...]:
    return tuple(dict.fromkeys(u for u in urls if u))[:limit]


def one_minute(kind: str, subject: str, minute: datetime, value: float, score: float) -> Episode:
    """The episode of a single flagged minute (what an alert without history is)."""
    return Episode(kind, subject, minute, minute, 1, value, 1, score)


def _so_far(ep: Episode) -> str:
    return f" ({ep.span_minutes} min so far, peak {ep.peak:g})" if ep.revision > 1 else ""


def spike_alert(
    spike: Spike,
    explanation: SpikeExplanation | None = None,
    name: str = "",
    episode: Episode | None = None,
    coordinated: BurstShare | None = None,
    also: Sequence[Spike] = (),
) -> Alert:
    """A spike, or an attack when the spike flagged one: the latest minute of its episode.

    The episode's first minute is the key, so a spike lasting several minutes is one alert that
    updates. ``name`` is the subject as staff know it (campaign file); the id is used without
    it. ``coordinated`` is the part of the minute that came from coordinated bursts; ``also``
    the spikes of other subjects in the same minute that this story lifted (folded into it).
    """
    kind: AlertKind = "attack" if spike.attack else "spike"
    ep = episode or one_minute(kind, spike.subject_id, spike.minute, spike.mentions, spike.z)
    kind = "attack" if ep.kind == "attack" else kind
    severity: Severity = (
        "critical" if kind == "attack" else ("warning" if ep.score >= 6 else "info")
    )
    what = "Possible attack on" if kind == "attack" else "Spike in mentions of"
    escalated = ep.opened_as != ep.kind
    explained: dict[str, Any] = {
        "spike": _plain(spike),
        "why": _plain(explanation) if explanation else {},
        "episode": ep.to_dict(),
    }
    if coordinated is not None:
        explained["coordinated"] = _plain(coordinated)
    if also:
        explained["also"] = [
            {"subject": x.subject_id, "mentions": x.mentions, "expected": x.expected, "z": x.z}
            for x in also
        ]
    return Alert(
        kind=kind,
        subject=spike.subject_id,
        key=ep.key,
        severity=severity,
        title=f"{what} {name or spike.subject_id}: {spike.mentions} a minute vs "
        f"{spike.expected:.1f} usual{_so_far(ep)}" + (", began as a spike" if escalated else ""),
        at=ep.started,
        explanation=explained,
        example_urls=_urls([e.url for e in explanation.examples] if explanation else []),
        revision=ep.revision,
        last_at=ep.last,
        opened_as=ep.opened_as if escalated else "",
    )


def coordinated_alert(
    burst: Burst,
    episode: Episode | None = None,
    name: str = "",
    others: Sequence[Burst] = (),
    share: BurstShare | None = None,
) -> Alert:
    """Many accounts posting near-identical text within minutes (``scoring.coordination``).

    One alert per episode on a subject; ``burst`` is the largest burst of its latest minute and
    ``others`` the subject's further bursts then (a ring's small edits can split one text into a
    few clusters): the title counts them all. ``share`` is their part of that minute.
    """
    minute = burst.until - timedelta(minutes=1)
    every = [burst, *others]
    posts = sum(b.posts for b in every)
    accounts = len({p.author_id for b in every for p in b.members})
    ep = episode or one_minute("coordinated", burst.subject, minute, posts, accounts)
    first = min(b.first_at for b in every)
    window = max(1, math.ceil((max(b.last_at for b in every) - first) / timedelta(minutes=1)))
    explained: dict[str, Any] = {
        "posts": posts,
        "accounts": accounts,
        "burst": burst_dict(burst),
        "others": [burst_dict(b) for b in others[:3]],
        "episode": ep.to_dict(),
    }
    if share is not None:
        explained["share"] = _plain(share)
    return Alert(
        kind="coordinated",
        subject=burst.subject,
        key=ep.key,
        severity="warning",
        title=f"Coordinated posting about {name or burst.subject or 'the campaign'}: "
        f"{posts} near-identical posts from {accounts} accounts in {window} min{_so_far(ep)}",
        at=ep.started,
        explanation=explained,
        example_urls=_urls(burst.example_urls),
        revision=ep.revision,
        last_at=ep.last,
    )


def burst_dict(b: Burst) -> dict[str, Any]:
    """A burst for an alert: its figures, text and accounts, not every post."""
    return {
        "cluster": b.cluster,
        "posts": b.posts,
        "accounts": b.accounts,
        "before": b.before,
        "first_at": b.first_at.isoformat(),
        "last_at": b.last_at.isoformat(),
        "text": b.text[:280],
        "handles": list(b.handles),
    }


def validator_first_alert(
    validator: str, subject: str, post_id: str, at: datetime, url: str, name: str = ""
) -> Alert:
    """``validator`` is the stable key; ``name`` (from the campaign file) is what staff read."""
    return Alert(
        kind="validator_first",
        subject=subject,
        key=post_id,
        severity="info",
        title=f"First post from validator {name or validator}",
        at=at,
        explanation={"validator": validator, "post_id": post_id},
        example_urls=_urls([url]),
    )


def cascade_alert(
    reach: ValidatorReach,
    reasons: Sequence[str],
    subject: str,
    at: datetime,
    url: str,
    name: str = "",
) -> Alert:
    who = name or reach.validator or "a validator"
    return Alert(
        kind="cascade",
        subject=subject,
        key=reach.root_id,
        severity="warning",
        title=f"Post by {who} is taking off: {'; '.join(reasons)}",
        at=at,
        explanation={"reach": _plain(reach), "reasons": list(reasons)},
        example_urls=_urls([url]),
    )


def golden_thread_alert(
    thread_id: str, subject: str, metrics: ThreadMetrics, at: datetime, url: str
) -> Alert:
    return Alert(
        kind="golden_thread",
        subject=subject,
        key=thread_id,
        severity="info",
        title=f"Thread worth joining: {metrics.transactions} real exchanges, "
        f"quality {metrics.quality:.2f}",
        at=at,
        explanation={"thread_id": thread_id, "metrics": _plain(metrics)},
        example_urls=_urls([url]),
    )


def unanswered_question_alert(q: Question, subject: str, thread_id: str, now: datetime) -> Alert:
    waited = int((now - q.asked_at) / timedelta(minutes=1))
    return Alert(
        kind="unanswered_question",
        subject=subject,
        key=q.post_id,
        severity="warning",
        title=f"Unanswered question for {waited} min: {q.text[:80]}",
        at=now,
        explanation={"thread_id": thread_id, "question": _plain(q), "waited_minutes": waited},
        example_urls=_urls([q.url]),
    )


def signup_surge_alert(
    channel: str,
    at: datetime,
    signups: int,
    expected: float,
    z: float,
    episode: Episode | None = None,
) -> Alert:
    """A surge of signups on a channel in the minute ``at``: the latest of its episode."""
    ep = episode or one_minute("signup_surge", channel, at, signups, z)
    return Alert(
        kind="signup_surge",
        subject=channel,
        key=ep.key,
        severity="info",
        title=f"Signup surge on {channel}: {signups} in a minute vs {expected:.1f} usual"
        f"{_so_far(ep)}",
        at=ep.started,
        explanation={
            "channel": channel,
            "signups": signups,
            "expected": expected,
            "z": z,
            "episode": ep.to_dict(),
        },
        revision=ep.revision,
        last_at=ep.last,
    )
