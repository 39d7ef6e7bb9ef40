"""Real alerts (built by the scorers' own alert functions) for the delivery tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipeline.delivery.ledger import stored_alert
from pipeline.delivery.message import StoredAlert
from pipeline.scoring.alerts import Alert, signup_surge_alert, spike_alert, validator_first_alert
from pipeline.scoring.buzz import Spike
from pipeline.scoring.explain import Driver, ExamplePost, SpikeExplanation
from pipeline.stream.alerts import alert_row

T0 = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
HOSTILE = "Kim is a <!channel> *liar* <https://evil.example|click> & worse"


def attack(minute: datetime = T0, n: int = 12) -> Alert:
    spike = Spike("kim", "candidate", minute, n, 2.0, 7.1, 0.83, True)
    why = SpikeExplanation(
        spike_posts=n,
        baseline_posts=80,
        terms=(Driver("corrupt", 9, 0, 3.2),),
        hashtags=(Driver("#KimScandal", 11, 0, 4.0),),
        links=(),
        authors=(),
        examples=(
            ExamplePost("x:1", "https://x.example/1", "troll1", HOSTILE, -0.8, 1.0),
            ExamplePost("x:2", "https://x.example/2?a=1|b", "troll2", "Resign now", -0.6, 1.0),
        ),
    )
    return spike_alert(spike, why, "Jordan Kim")


def spike_on(subject: str, minute: datetime = T0) -> Alert:
    spike = Spike(subject, "issue", minute, 9, 2.0, 4.0, 0.1, False)
    return spike_alert(spike, None, subject)


def validator_post(post: str, subject: str = "transit", at: datetime = T0) -> Alert:
    return validator_first_alert(
        "mayor-alicia-torres", subject, post, at, f"https://x.example/{post}", "Mayor Torres"
    )


def surge(at: datetime = T0) -> Alert:
    return signup_surge_alert("referral", at, 10, 1.0, 9.0)


def stored(a: Alert, created: datetime | None = None) -> StoredAlert:
    # The columns delivery reads (ALERT_COLUMNS): the row without revision and last_at.
    return stored_alert([*alert_row(a)[:8], created or a.at + timedelta(seconds=5)])
