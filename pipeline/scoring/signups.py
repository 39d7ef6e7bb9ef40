"""Signups: what drove each one (attribution), counts, and the buzz -> signups lag.

Attribution precedence, most specific first (the first rule that resolves wins):

1. ``referral_code`` found in the referral registry: a code we handed to one validator, thread or
   post is the most direct evidence, and survives link shorteners that strip query strings.
2. ``utm.content``, then ``utm.campaign``, then ``utm.source``: each is looked up in the same
   registry, or read as an explicit ``kind:id`` tag (``validator:mayor-alicia-torres``,
   ``thread:abc``, ``mention:x:123``). Content names the exact link or post, campaign a push,
   source only a site, hence that order.
3. Otherwise the signup is attributed to its channel only (``kind="channel"``).

This is last-touch attribution: it credits what the person clicked, not everything they saw.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from pipeline.events import Signup

TargetKind = Literal["validator", "thread", "mention"]
_KIND: dict[str, TargetKind] = {"validator": "validator", "thread": "thread", "mention": "mention"}


@dataclass(frozen=True)
class Target:
    kind: TargetKind
    id: str


@dataclass(frozen=True)
class Attribution:
    event_id: str
    kind: Literal["validator", "thread", "mention", "channel"]
    target_id: str  # the validator key, thread id or mention event id; the channel for "channel"
    via: str  # "referral_code", "utm_content", "utm_campaign", "utm_source" or "channel"
    channel: str


def _parse_tag(value: str) -> Target | None:
    name, sep, ident = value.strip().partition(":")
    kind = _KIND.get(name.lower())
    if sep and ident.strip() and kind is not None:
        return Target(kind, ident.strip())
    return None


def _norm(code: str) -> str:
    return code.strip().lower()


def attribute_signup(signup: Signup, registry: Mapping[str, Target]) -> Attribution:
    """Attribute one signup; ``registry`` maps referral codes (any case) to what they stand for."""
    reg = {_norm(k): v for k, v in registry.items()}
    code = _norm(signup.referral_code)
    candidates = [("referral_code", code, False)] + [
        (f"utm_{field}", getattr(signup.utm, field), True)
        for field in ("content", "campaign", "source")
    ]
    for via, value, tag_allowed in candidates:
        if not value.strip():
            continue
        target = reg.get(_norm(value)) or (_parse_tag(value) if tag_allowed else None)
        if target is not None:
            return Attribution(signup.event_id, target.kind, target.id, via, signup.channel)
    return Attribution(signup.event_id, "channel", signup.channel, "channel", signup.channel)


def floor_hour(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class LagCorrelation:
    lag_hours: int  # signups measured this many hours after buzz
    r: float | None  # None when either side is constant or too few pairs
    pairs: int


def pearson(xs: list[float], ys: list[float]) -> float | None:
    """Pearson's r, or None when undefined (fewer than 3 pairs, or a constant series)."""
    n = len(xs)
    if n < 3 or n != len(ys):
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    # Relative tolerance: float noise in a constant series must not look like variation.
    if sxx <= 1e-12 * max(1.0, mx * mx) * n or syy <= 1e-12 * max(1.0, my * my) * n:
        return None
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    return max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy)))


def lagged_correlation(
    buzz: Mapping[datetime, float],
    signups: Mapping[datetime, float],
    *,
    max_lag_hours: int = 24,
) -> list[LagCorrelation]:
    """Correlation of hourly buzz with hourly signups ``lag`` hours later, lag = 0..max.

    Both series are put on the same hourly grid (missing hours are zeros) from the earliest to
    the latest hour either has. Correlation is not causation: both follow the daily rhythm, so
    compare lags with each other rather than reading one r in isolation.
    """
    b = {floor_hour(k): float(v) for k, v in buzz.items()}
    s = {floor_hour(k): float(v) for k, v in signups.items()}
    if not b and not s:
        return [LagCorrelation(lag, None, 0) for lag in range(max_lag_hours + 1)]
    start, end = min([*b, *s]), max([*b, *s])
    hours = int((end - start) / timedelta(hours=1)) + 1
    grid = [start + timedelta(hours=i) for i in range(hours)]
    xb = [b.get(h, 0.0) for h in grid]
    xs = [s.get(h, 0.0) for h in grid]
    out = []
    for lag in range(max_lag_hours + 1):
        x, y = xb[: hours - lag] if lag < hours else [], xs[lag:]
        out.append(LagCorrelation(lag, pearson(x, y), len(y)))
    return out


def best_lag(results: Iterable[LagCorrelation]) -> LagCorrelation | None:
    """The lag with the highest defined r (earliest lag on ties), or None if none is defined."""
    defined = [r for r in results if r.r is not None]
    return max(defined, key=lambda r: (r.r, -r.lag_hours)) if defined else None
