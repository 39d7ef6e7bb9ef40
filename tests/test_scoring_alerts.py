"""Alerts: deterministic ids (replays never double an alert), JSON-safe payloads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
from hypothesis import given
from hypothesis import strategies as st

from pipeline.scoring.alerts import (
    Alert,
    alert_id,
    golden_thread_alert,
    signup_surge_alert,
    spike_alert,
    time_bucket,
    unanswered_question_alert,
    validator_first_alert,
)
from pipeline.scoring.buzz import Spike
from pipeline.scoring.conversation import Question, thread_metrics

T0 = datetime(2026, 11, 3, 12, 7, 30, tzinfo=UTC)
KINDS = ["spike", "attack", "validator_first", "cascade", "golden_thread", "unanswered_question",
         "signup_surge", "coordinated"]  # fmt: skip


def spike(minute: datetime, attack: bool = False) -> Spike:
    return Spike("kim", "candidate", minute, 12, 1.0, 11.0, 0.75 if attack else 0.1, attack)


def test_time_buckets() -> None:
    assert time_bucket(T0) == "2026-11-03T12:00:00+00:00"
    assert time_bucket(T0 + timedelta(minutes=8)) == "2026-11-03T12:15:00+00:00"
    assert time_bucket(T0, 60) == "2026-11-03T12:00:00+00:00"


def test_spike_alerts_are_keyed_by_their_first_minute_and_attacks_are_critical() -> None:
    a = spike_alert(spike(T0))
    b = spike_alert(spike(T0 + timedelta(minutes=5)))  # alone, another minute is another alert
    assert a.key == T0.isoformat() and a.alert_id != b.alert_id and a.revision == 1
    attack = spike_alert(spike(T0, attack=True))
    assert attack.kind == "attack" and attack.severity == "critical"
    assert attack.alert_id != a.alert_id and attack.alert_id.startswith("alert:attack:")


def test_alert_dict_is_json_safe_and_carries_its_id() -> None:
    q = Question("p6", "dan", T0, "https://f.example/6", "When?", None, None)
    alerts = [
        spike_alert(spike(T0)),
        unanswered_question_alert(q, "transit", "t1", T0 + timedelta(minutes=75)),
        validator_first_alert("pastor-lee-harmon", "kim", "x:3", T0, "https://x.example/3"),
        golden_thread_alert("t1", "kim", thread_metrics([]), T0, ""),
        signup_surge_alert("sms", T0, 40, 5.0, 7.0),
    ]
    for alert in alerts:
        d = orjson.loads(orjson.dumps(alert.to_dict()))
        assert d["alert_id"] == alert.alert_id and d["kind"] == alert.kind
    assert alerts[1].title.startswith("Unanswered question for 75 min")
    assert alerts[4].example_urls == () and alerts[3].example_urls == ()


def test_reprocessing_gives_the_same_id() -> None:
    def make() -> Alert:
        return validator_first_alert("pastor-lee-harmon", "kim", "x:3", T0, "https://x.example/3")

    assert make().alert_id == make().alert_id == alert_id("validator_first", "kim", "x:3")


keys = st.tuples(st.sampled_from(KINDS), st.text(max_size=20), st.text(max_size=40))


@given(keys, keys)
def test_alert_ids_are_stable_and_distinct(
    a: tuple[str, str, str], b: tuple[str, str, str]
) -> None:
    assert alert_id(*a) == alert_id(*a)
    assert (alert_id(*a) == alert_id(*b)) == (a == b)


def test_parts_cannot_bleed_into_each_other() -> None:
    assert alert_id("spike", "a|b", "c") != alert_id("spike", "a", "b|c")
    assert alert_id("spike", "a\x1fb", "c") != alert_id("spike", "a", "b\x1fc")
    assert alert_id("spike", "kim", "\ud800") == alert_id(
        "spike", "kim", "\ud800"
    )  # lone surrogate


def test_validator_alerts_read_the_name_staff_know_and_keep_the_key() -> None:
    at = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    alert = validator_first_alert(
        "ray-okafor", "kim", "x:9", at, "https://x.example/9", "Ray Okafor (Teamsters)"
    )
    assert alert.title == "First post from validator Ray Okafor (Teamsters)"
    assert alert.explanation["validator"] == "ray-okafor"
    unnamed = validator_first_alert("ray-okafor", "kim", "x:9", at, "https://x.example/9")
    assert unnamed.title == "First post from validator ray-okafor"
    assert unnamed.alert_id == alert.alert_id  # the name is presentation only


def test_spike_titles_name_the_subject_as_the_campaign_does() -> None:
    spike = Spike("kim", "candidate", datetime(2026, 11, 27, 6, 38, tzinfo=UTC), 1560, 471.4,
                  15.0, 0.43, True)  # fmt: skip
    assert spike_alert(spike, None, "Jordan Kim").title == (
        "Possible attack on Jordan Kim: 1560 a minute vs 471.4 usual"
    )
    assert spike_alert(spike).title.startswith("Possible attack on kim:")
    assert spike_alert(spike, None, "Jordan Kim").alert_id == spike_alert(spike).alert_id


def test_every_alert_kind_is_urgent_or_an_opportunity() -> None:
    from typing import get_args

    from pipeline.scoring.alerts import OPPORTUNITY, URGENT, AlertKind

    assert URGENT.isdisjoint(OPPORTUNITY)
    assert set(get_args(AlertKind)) == URGENT | OPPORTUNITY
