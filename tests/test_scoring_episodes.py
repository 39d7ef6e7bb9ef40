"""Episodes: the same spike, attack, surge or burst still going is one alert that updates.

Pins: flagged minutes within the gap continue an episode (same key, next revision, peak and
latest minute moving on), a longer quiet starts a new one, spikes escalate to attacks but attacks
do not fall back to spikes, a minute already counted changes nothing (replays), and a book
restored from stored episodes continues exactly where the running one was.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.scoring.alerts import coordinated_alert, signup_surge_alert, spike_alert
from pipeline.scoring.buzz import Spike
from pipeline.scoring.coordination import Burst, Post
from pipeline.scoring.episodes import Episode, EpisodeBook

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
M = timedelta(minutes=1)


def test_minutes_within_the_gap_are_one_episode_that_updates() -> None:
    book = EpisodeBook(timedelta(minutes=10))
    first = book.advance("spike", "kim", T0, 40, 4.0)
    second = book.advance("spike", "kim", T0 + 3 * M, 90, 9.0)
    third = book.advance("spike", "kim", T0 + 4 * M, 60, 5.0)
    assert first is not None and second is not None and third is not None
    assert first.key == second.key == third.key == T0.isoformat()
    assert [e.revision for e in (first, second, third)] == [1, 2, 3]
    assert (third.last, third.minutes, third.span_minutes) == (T0 + 4 * M, 3, 5)
    assert (third.peak, third.score) == (90, 9.0)
    later = book.advance("spike", "kim", T0 + 15 * M, 30, 3.0)  # 11 quiet minutes: a new one
    assert later is not None and later.revision == 1 and later.started == T0 + 15 * M


def test_subjects_and_families_are_apart() -> None:
    book = EpisodeBook()
    assert book.advance("spike", "kim", T0, 40, 4).revision == 1  # type: ignore[union-attr]
    assert book.advance("spike", "reyes", T0 + M, 40, 4).revision == 1  # type: ignore[union-attr]
    assert book.advance("coordinated", "kim", T0 + M, 40, 35).revision == 1  # type: ignore[union-attr]
    assert book.advance("signup_surge", "sms", T0 + M, 9, 5).revision == 1  # type: ignore[union-attr]
    assert book.advance("spike", "kim", T0 + M, 40, 4).revision == 2  # type: ignore[union-attr]


def test_a_spike_turning_hostile_escalates_and_an_attack_stays_one() -> None:
    book = EpisodeBook()
    spike = book.advance("spike", "kim", T0, 40, 4)
    attack = book.advance("attack", "kim", T0 + M, 90, 9)
    calmer = book.advance("spike", "kim", T0 + 2 * M, 50, 5)
    assert spike is not None and attack is not None and calmer is not None
    assert (spike.kind, attack.kind, calmer.kind) == ("spike", "attack", "attack")
    assert spike.key == attack.key == calmer.key and calmer.revision == 3
    assert (attack.opened_as, calmer.opened_as) == ("spike", "spike")

    # The alert keeps the id it was raised with; its kind and severity say what it is now.
    def s(minute: datetime, attack: bool) -> Spike:
        return Spike("kim", "candidate", minute, 90, 5.0, 9.0, 0.5 if attack else 0.1, attack)

    first = spike_alert(s(T0, False), None, "Jordan Kim", spike)
    escalated = spike_alert(s(T0 + M, True), None, "Jordan Kim", attack)
    assert escalated.alert_id == first.alert_id and first.alert_id.startswith("alert:spike:")
    assert (escalated.kind, escalated.severity, escalated.revision) == ("attack", "critical", 2)
    assert escalated.title.endswith("began as a spike")
    assert Episode.from_dict(attack.to_dict()) == attack
    fresh = EpisodeBook().advance("attack", "kim", T0, 90, 9)
    assert fresh is not None and fresh.opened_as == "attack"


def test_a_minute_already_counted_changes_nothing() -> None:
    book = EpisodeBook()
    book.advance("spike", "kim", T0, 40, 4)
    book.advance("spike", "kim", T0 + M, 50, 5)
    assert book.advance("spike", "kim", T0 + M, 50, 5) is None
    assert book.advance("spike", "kim", T0, 40, 4) is None
    assert book.latest[("buzz", "kim")].revision == 2


def test_episode_round_trips_through_json() -> None:
    ep = Episode("attack", "kim", T0, T0 + 4 * M, 3, 90.0, 3, 9.5)
    assert Episode.from_dict(orjson.loads(orjson.dumps(ep.to_dict()))) == ep
    with pytest.raises(ValueError, match="gap"):
        EpisodeBook(timedelta(seconds=30))


kinds = st.sampled_from(["spike", "attack"])
flags = st.lists(
    st.tuples(st.integers(0, 120), kinds, st.sampled_from(["kim", "reyes"])), max_size=40
)


@settings(max_examples=60, deadline=None)
@given(flags, st.integers(0, 40))
def test_a_book_restored_mid_way_ends_where_the_running_one_does(
    items: list[tuple[int, str, str]], cut: int
) -> None:
    minutes = sorted(set(items))
    running = EpisodeBook()
    for m, kind, subject in minutes:
        running.advance(kind, subject, T0 + m * M, m, m)
    # A restart after `cut` flagged minutes: state comes back from the stored episodes, then the
    # minutes since the last progress mark are judged again (some of them already counted).
    first = EpisodeBook()
    for m, kind, subject in minutes[:cut]:
        first.advance(kind, subject, T0 + m * M, m, m)
    restored = EpisodeBook()
    restored.restore(Episode.from_dict(e.to_dict()) for e in first.latest.values())
    for m, kind, subject in minutes[max(0, cut - 3) :]:
        restored.advance(kind, subject, T0 + m * M, m, m)
    assert restored.latest == running.latest


def test_alerts_of_an_episode_keep_their_id_and_carry_the_revision() -> None:
    def spike(minute: datetime, mentions: int, attack: bool = False) -> Spike:
        return Spike("kim", "candidate", minute, mentions, 5.0, 7.0, 0.5 if attack else 0.1,
                     attack)  # fmt: skip

    book = EpisodeBook()
    ep1 = book.advance("spike", "kim", T0, 40, 7.0)
    ep2 = book.advance("spike", "kim", T0 + 2 * M, 55, 7.0)
    a1 = spike_alert(spike(T0, 40), None, "Jordan Kim", ep1)
    a2 = spike_alert(spike(T0 + 2 * M, 55), None, "Jordan Kim", ep2)
    assert a1.alert_id == a2.alert_id and (a1.revision, a2.revision) == (1, 2)
    assert a2.at == T0 and a2.last_at == T0 + 2 * M and a2.severity == "warning"
    assert a1.title == "Spike in mentions of Jordan Kim: 40 a minute vs 5.0 usual"
    assert a2.title.endswith("(3 min so far, peak 55)")
    assert a2.explanation["episode"]["revision"] == 2
    surge = signup_surge_alert("sms", T0, 9, 2.0, 5.0)
    assert surge.key == T0.isoformat() and surge.revision == 1 and surge.latest == T0


def test_a_coordinated_alert_names_the_text_accounts_and_share() -> None:
    posts = tuple(
        Post(f"x:{i}", f"x:a{i}", f"a{i}", "Kim must resign now, the emails prove it all",
             T0 + timedelta(seconds=5 * i), f"https://x.example/{i}", ("kim",))
        for i in range(12)
    )  # fmt: skip
    burst = Burst("x:0", "kim", T0 + M, 12, 12, 0, posts[0].at, posts[-1].at, posts[0].text,
                  tuple(f"@a{i}" for i in range(12)), posts, ("https://x.example/0",))  # fmt: skip
    a = coordinated_alert(burst, None, "Jordan Kim")
    assert a.kind == "coordinated" and a.subject == "kim" and a.key == T0.isoformat()
    assert a.title == (
        "Coordinated posting about Jordan Kim: 12 near-identical posts from 12 accounts in 1 min"
    )
    assert a.explanation["burst"]["text"] == posts[0].text
    assert a.explanation["burst"]["handles"][:2] == ["@a0", "@a1"]
    orjson.dumps(a.to_dict())  # JSON-safe
