"""Buzz: per subject per minute aggregates, share of voice, spikes and attacks.

The baseline (normal level by hour of day) lives in ``baseline``; the "why" of a spike in
``explain``. Everything here is a pure function of its arguments.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from pipeline.campaign import Campaign, Thresholds
from pipeline.events import MentionLike
from pipeline.scoring.baseline import (
    BaselineState,
    Expectation,
    anomaly_score,
    floor_minute,
)

# Replies, reshares and quotes cost the reader more than a like and spread the post further.
ENGAGEMENT_WEIGHTS = {"likes": 1.0, "replies": 2.0, "reshares": 2.0, "quotes": 2.0}


@dataclass(frozen=True)
class ScoredMention:
    """A mention with the subjects it talks about and its tone, scored once."""

    mention: MentionLike
    subjects: tuple[str, ...]
    sentiment: float

    @property
    def minute(self) -> datetime:
        return floor_minute(self.mention.occurred_at)


def engagement_weight(m: MentionLike) -> float:
    """1 + log10(1 + weighted engagement): every mention counts once, a viral one a few times.

    The log keeps one post with 50,000 likes from outweighing a hundred people talking.
    """
    e = m.engagement
    raw = sum(w * getattr(e, k) for k, w in ENGAGEMENT_WEIGHTS.items())
    return 1.0 + math.log10(1.0 + raw)


def audience_weight(m: MentionLike) -> float:
    """1 + log10(1 + followers): each tenfold larger audience adds one.

    Follower counts are heavy-tailed and only loosely tied to who actually sees a post, and they
    can be bought; linear weighting would let one celebrity swamp everyone else.
    """
    return 1.0 + math.log10(1.0 + m.author.audience)


@dataclass(frozen=True)
class MinuteBuzz:
    subject_id: str
    minute: datetime
    mentions: int
    unique_authors: int
    engagement_volume: float
    audience_volume: float
    sentiment_mean: float
    negative_share: float


def contenders(campaign: Campaign) -> list[str]:
    """The candidate and the rivals: the subjects share of voice is computed among."""
    return [s.id for s in campaign.subjects if s.kind in ("candidate", "rival")]


def share_of_voice(
    volumes: Mapping[str, float], among: Iterable[str] | None = None
) -> dict[str, float]:
    """Each subject's share of the total volume among ``among`` (default: every key).

    Shares sum to 1 whenever any subject has volume; all zero when nobody was mentioned.
    """
    ids = list(dict.fromkeys(among)) if among is not None else list(volumes)
    vals = {sid: max(0.0, float(volumes.get(sid, 0.0))) for sid in ids}
    total = sum(vals.values())
    return {sid: (v / total if total > 0 else 0.0) for sid, v in vals.items()}


@dataclass(frozen=True)
class Spike:
    subject_id: str
    subject_kind: str
    minute: datetime
    mentions: int
    expected: float
    z: float
    negative_share: float
    attack: bool


def is_attack(subject_kind: str, negative_share: float, thresholds: Thresholds) -> bool:
    """An attack is a spike on the candidate whose mentions are mostly negative."""
    return subject_kind == "candidate" and negative_share >= thresholds.attack_negative_share


def detect_spike(
    buzz: MinuteBuzz,
    expected: Expectation | None,
    *,
    subject_kind: str,
    thresholds: Thresholds,
    min_mentions: int = 5,
) -> Spike | None:
    """A spike when mentions are ``spike_z`` spreads above normal and at least ``min_mentions``.

    The floor on mentions stops "3 posts where there are usually none" from paging anyone.
    """
    z = anomaly_score(buzz.mentions, expected)
    if z is None or expected is None:
        return None
    if z < thresholds.spike_z or buzz.mentions < min_mentions:
        return None
    return Spike(
        subject_id=buzz.subject_id,
        subject_kind=subject_kind,
        minute=buzz.minute,
        mentions=buzz.mentions,
        expected=expected.mean,
        z=z,
        negative_share=buzz.negative_share,
        attack=is_attack(subject_kind, buzz.negative_share, thresholds),
    )


@dataclass(frozen=True)
class Assessment:
    """One minute judged against the baseline as it was before that minute was learned."""

    row: MinuteBuzz
    expected: Expectation | None
    z: float | None
    spike: Spike | None


def assess_rows(
    rows: Iterable[MinuteBuzz],
    state: BaselineState,
    campaign: Campaign,
    *,
    min_mentions: int = 5,
) -> list[Assessment]:
    """Score each row against the baseline *before* learning it, then learn it.

    Rows must come in time order per subject; a row for a minute already learned is skipped
    (not returned), so replaying a batch neither re-alerts nor re-learns.
    """
    kinds = {s.id: s.kind for s in campaign.subjects}
    out = []
    for row in sorted(rows, key=lambda r: (r.minute, r.subject_id)):
        sb = state.subjects.get(row.subject_id)
        if sb is not None and sb.last_minute is not None and row.minute <= sb.last_minute:
            continue
        # Quiet minutes in between count as zeros; learn them before judging this one.
        state.fill_gap(row.subject_id, row.minute)
        expected = state.expected(row.subject_id, row.minute)
        spike = detect_spike(
            row,
            expected,
            subject_kind=kinds.get(row.subject_id, "issue"),
            thresholds=campaign.thresholds,
            min_mentions=min_mentions,
        )
        out.append(Assessment(row, expected, anomaly_score(row.mentions, expected), spike))
        state.update(row.subject_id, row.minute, float(row.mentions))
    return out


def fold_spikes(
    spikes: Sequence[Spike], shared: Mapping[tuple[str, str], int], share: float = 0.5
) -> dict[str, str]:
    """Spikes of one minute that are another's story: follower subject -> leading subject.

    One story often lifts several subjects at once (an attack on the candidate that names an
    issue): posts naming both count for both. A spike whose excess over normal is at least
    ``share`` made of posts that also name a larger spike of the same minute (attacks lead,
    then the larger excess) is folded into it, so staff get one alert for one story.
    ``shared[(a, b)]`` is the number of that minute's posts naming both a and b.
    """
    order = sorted(spikes, key=lambda s: (not s.attack, -(s.mentions - s.expected), s.subject_id))
    leaders: list[Spike] = []
    folded: dict[str, str] = {}
    for s in order:
        excess = s.mentions - s.expected
        lead = next(
            (x for x in leaders if shared.get((s.subject_id, x.subject_id), 0) >= share * excess),
            None,
        )
        if lead is None:
            leaders.append(s)
        else:
            folded[s.subject_id] = lead.subject_id
    return folded
