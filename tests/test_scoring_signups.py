"""Signups: attribution precedence, counts, and the buzz -> signups lagged correlation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipeline.events import Signup, Utm
from pipeline.scoring.signups import (
    Target,
    attribute_signup,
    best_lag,
    lagged_correlation,
    pearson,
)

T0 = datetime(2026, 11, 3, 0, 0, tzinfo=UTC)
REGISTRY = {
    "TORRES": Target("validator", "mayor-alicia-torres"),
    "rally-thread": Target("thread", "reddit:abc"),
}


def signup(
    eid: str, code: str = "", channel: str = "web", form: str = "volunteer", **utm: str
) -> Signup:
    return Signup(
        event_id=f"form:{eid}",
        platform="web",
        occurred_at=T0,
        channel=channel,
        form=form,
        referral_code=code,
        utm=Utm(**utm),
        postal_prefix="",
    )


@pytest.mark.parametrize(
    ("s", "expected"),
    [
        # Referral code beats every UTM tag.
        (
            signup("1", "torres", content="thread:zzz"),
            ("validator", "mayor-alicia-torres", "referral_code"),
        ),
        # Unknown code falls through to UTM content, read as kind:id.
        (
            signup("2", "nope", content="mention:x:123", campaign="rally-thread"),
            ("mention", "x:123", "utm_content"),
        ),
        # Content absent: campaign looked up in the registry.
        (
            signup("3", campaign="Rally-Thread", source="validator:coach"),
            ("thread", "reddit:abc", "utm_campaign"),
        ),
        (
            signup("4", source="validator:coach-marcus-bell"),
            ("validator", "coach-marcus-bell", "utm_source"),
        ),
        # A referral code is never read as kind:id (codes are ours, not free text).
        (signup("5", "thread:x", channel="sms"), ("channel", "sms", "channel")),
        (signup("6", content="newsletter", source="facebook"), ("channel", "web", "channel")),
    ],
)
def test_attribution_precedence(s: Signup, expected: tuple[str, str, str]) -> None:
    a = attribute_signup(s, REGISTRY)
    assert (a.kind, a.target_id, a.via) == expected and a.event_id == s.event_id


def test_lagged_correlation_finds_a_three_hour_lag() -> None:
    pattern = [3, 8, 1, 0, 5, 9, 2, 7, 4, 6, 0, 3] * 4
    buzz = {T0 + timedelta(hours=i, minutes=17): float(v) for i, v in enumerate(pattern)}
    signups = {T0 + timedelta(hours=i + 3): float(v) / 10 for i, v in enumerate(pattern)}
    result = lagged_correlation(buzz, signups, max_lag_hours=24)
    assert [r.lag_hours for r in result] == list(range(25))
    best = best_lag(result)
    assert best is not None and best.lag_hours == 3 and best.r == pytest.approx(1.0)
    assert result[3].pairs == len(pattern)


def test_constant_or_empty_series_give_no_correlation() -> None:
    flat = {T0 + timedelta(hours=i): 5.0 for i in range(30)}
    moving = {T0 + timedelta(hours=i): float(i % 7) for i in range(30)}
    assert all(r.r is None for r in lagged_correlation(flat, moving))
    assert best_lag(lagged_correlation({}, {})) is None
    assert pearson([1.0, 2.0], [2.0, 4.0]) is None  # too few pairs
    assert pearson([0.1] * 10, [1.0, 2.0] * 5) is None  # constant despite float noise
