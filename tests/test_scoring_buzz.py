"""Buzz: minute aggregates, share of voice, baseline state, spikes, attacks and explanations."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.campaign import Thresholds, load_campaign
from pipeline.events import Author, Engagement, Mention
from pipeline.scoring.baseline import BaselineParams, BaselineState, Expectation, anomaly_score
from pipeline.scoring.buzz import (
    MinuteBuzz,
    ScoredMention,
    assess_rows,
    audience_weight,
    contenders,
    detect_spike,
    engagement_weight,
    share_of_voice,
)
from pipeline.scoring.explain import contrast, explain_spike
from pipeline.scoring.sentiment import NEGATIVE_BELOW, sentiment

T0 = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
CAMPAIGN = load_campaign()


def mention(
    eid: str,
    text: str,
    *,
    at: datetime = T0,
    author: str = "a",
    audience: int = 0,
    likes: int = 0,
    reshares: int = 0,
    reshare_of: str | None = None,
    links: list[str] | None = None,
    hashtags: list[str] | None = None,
) -> Mention:
    return Mention(
        event_id=f"x:{eid}",
        platform="x",
        occurred_at=at,
        author=Author(id=author, handle=author, audience=audience),
        text=text,
        url=f"https://x.example/{eid}",
        engagement=Engagement(likes=likes, reshares=reshares, replies=0, quotes=0),
        reshare_of=reshare_of,
        links=links or [],
        hashtags=hashtags or [],
    )


def scored(m: Mention, subjects: tuple[str, ...] = ("kim",), tone: float = 0.0) -> ScoredMention:
    return ScoredMention(m, subjects, tone)


def test_weights_are_log_scaled() -> None:
    assert engagement_weight(mention("1", "t")) == 1.0
    assert engagement_weight(mention("1", "t", likes=9)) == pytest.approx(2.0)
    assert engagement_weight(mention("1", "t", likes=19, reshares=40)) == pytest.approx(3.0)
    assert audience_weight(mention("1", "t", audience=999)) == pytest.approx(4.0)


def test_share_of_voice_among_contenders() -> None:
    assert contenders(CAMPAIGN) == ["kim", "reyes"]
    assert share_of_voice({"kim": 30, "reyes": 10, "transit": 99}, contenders(CAMPAIGN)) == {
        "kim": 0.75,
        "reyes": 0.25,
    }
    assert share_of_voice({}, ["kim", "reyes"]) == {"kim": 0.0, "reyes": 0.0}


@given(st.dictionaries(st.sampled_from("abcdef"), st.floats(0, 1e6), min_size=1))
def test_share_of_voice_sums_to_one_when_anyone_is_mentioned(volumes: dict[str, float]) -> None:
    shares = share_of_voice(volumes)
    assert all(0.0 <= v <= 1.0 for v in shares.values())
    if sum(volumes.values()) > 0:
        assert math.isclose(sum(shares.values()), 1.0, rel_tol=1e-9)
    else:
        assert set(shares.values()) == {0.0}


# --- baseline -------------------------------------------------------------------------------


def test_cold_start_is_a_running_mean_and_warms_up() -> None:
    state = BaselineState(params=BaselineParams(warmup_minutes=3))
    for i, v in enumerate([1.0, 2.0, 3.0]):
        assert state.expected("kim", T0) is None
        state.update("kim", T0 + timedelta(minutes=i), v)
    overall = state.subjects["kim"].overall
    assert (overall.mean, overall.var, overall.n) == (2.0, pytest.approx(2 / 3), 3)
    exp = state.expected("kim", T0)
    assert exp is not None and exp.mean == pytest.approx(2.0) and exp.n == 3


def test_quiet_minutes_count_as_zeros_and_replays_are_ignored() -> None:
    state = BaselineState()
    assert state.update("kim", T0, 5.0)
    assert state.update("kim", T0 + timedelta(minutes=10), 5.0)
    assert state.subjects["kim"].overall.n == 11  # 9 zeros in between
    before = state.to_dict()
    assert not state.update("kim", T0 + timedelta(minutes=10), 500.0)
    assert not state.update("kim", T0 + timedelta(minutes=3), 500.0)
    assert state.to_dict() == before


def test_baseline_is_time_of_day_aware() -> None:
    state = BaselineState()
    start = datetime(2026, 11, 1, tzinfo=UTC)
    for i in range(3 * 1440):
        at = start + timedelta(minutes=i)
        state.update("kim", at, 10.0 if at.hour == 20 else 1.0)
    evening, night = state.expected("kim", start.replace(hour=20)), state.expected("kim", start)
    assert evening is not None and night is not None
    assert evening.mean > 6.0 and night.mean < 1.5
    # Ten a minute is normal at 8pm and a spike at midnight.
    z_evening, z_night = anomaly_score(10.0, evening), anomaly_score(10.0, night)
    assert z_evening is not None and z_night is not None and z_evening < 3.0 < z_night


def test_a_spike_does_not_teach_the_baseline_that_spikes_are_normal() -> None:
    state = BaselineState()
    for i in range(120):
        state.update("kim", T0 + timedelta(minutes=i), 1.0)
    state.update("kim", T0 + timedelta(minutes=120), 1000.0)
    exp = state.expected("kim", T0 + timedelta(minutes=121))
    assert exp is not None and exp.mean < 1.2  # learned at most mean + 3 std = 4


values = st.lists(st.tuples(st.integers(0, 2000), st.floats(0, 500)), max_size=40)


@settings(max_examples=40, deadline=None)
@given(values)
def test_baseline_serialisation_round_trips(points: list[tuple[int, float]]) -> None:
    state = BaselineState(params=BaselineParams(warmup_minutes=2, max_gap_fill=50))
    for minute, v in sorted(points):
        state.update("kim", T0 + timedelta(minutes=minute), v)
        state.update("reyes", T0 + timedelta(minutes=2 * minute), v / 2)
    data = json.loads(json.dumps(state.to_dict()))
    again = BaselineState.from_dict(data)
    assert again.to_dict() == state.to_dict()
    for sid in ("kim", "reyes", "nobody"):
        assert again.expected(sid, T0) == state.expected(sid, T0)


def test_from_dict_rejects_unknown_versions() -> None:
    with pytest.raises(ValueError, match="version"):
        BaselineState.from_dict({"version": 99})


# --- spikes and attacks ---------------------------------------------------------------------


def row(mentions: int, negative_share: float = 0.0, subject: str = "kim") -> MinuteBuzz:
    return MinuteBuzz(subject, T0, mentions, mentions, 0.0, 0.0, 0.0, negative_share)


def test_detect_spike_thresholds_and_attack_flag() -> None:
    normal = Expectation(mean=1.0, std=1.0, n=100)
    th = Thresholds(spike_z=3.0, attack_negative_share=0.5, unanswered_question_minutes=60)
    assert detect_spike(row(4), normal, subject_kind="candidate", thresholds=th) is None  # z=3, <5
    assert detect_spike(row(9), None, subject_kind="candidate", thresholds=th) is None  # warming
    spike = detect_spike(row(9, 0.5), normal, subject_kind="candidate", thresholds=th)
    assert spike is not None and spike.z == 8.0 and spike.expected == 1.0 and spike.attack
    calm = detect_spike(row(9, 0.49), normal, subject_kind="candidate", thresholds=th)
    assert calm is not None and not calm.attack
    rival = detect_spike(row(9, 0.9, "reyes"), normal, subject_kind="rival", thresholds=th)
    assert rival is not None and not rival.attack  # an attack is on our candidate


def spikes_of(rows: list[MinuteBuzz], state: BaselineState) -> list[Any]:
    return [a.spike for a in assess_rows(rows, state, CAMPAIGN) if a.spike is not None]


def test_assess_rows_scores_before_learning_and_is_idempotent() -> None:
    state = BaselineState()
    history = [
        MinuteBuzz("kim", T0 + timedelta(minutes=i), 1, 1, 1.0, 1.0, 0.0, 0.0) for i in range(60)
    ]
    assert spikes_of(history, state) == []
    burst = [MinuteBuzz("kim", T0 + timedelta(minutes=65), 12, 12, 12.0, 12.0, -0.6, 0.75)]
    spikes = spikes_of(burst, state)
    assert [(s.subject_id, s.mentions, s.attack) for s in spikes] == [("kim", 12, True)]
    # Four quiet minutes (61..64) were learned as zeros before judging minute 65.
    assert state.subjects["kim"].overall.n == 66
    assert assess_rows(burst, state, CAMPAIGN) == []  # a replay: not judged, not learned again


# --- explanations ---------------------------------------------------------------------------


def test_contrast_ranks_frequent_and_new_items() -> None:
    spike = [{"scandal", "kim"}] * 6 + [{"kim"}] * 4
    base = [{"kim", "rent"}] * 20
    drivers = contrast(spike, base)
    assert [d.item for d in drivers] == ["scandal"]
    d = drivers[0]
    assert (d.spike_posts, d.baseline_posts) == (6, 0)
    assert d.score == pytest.approx(6 * math.log((6.5 / 11) / (0.5 / 21)), abs=1e-5)


def test_explain_spike_finds_terms_tags_links_authors_and_examples() -> None:
    base = [
        scored(mention(f"b{i}", "Kim talked about rent again", author=f"u{i % 5}"))
        for i in range(20)
    ]
    story = mention(
        "s0",
        "Jordan Kim SCANDAL: leaked memo https://tabloid.example/story?utm_source=x",
        author="tabloid",
        likes=500,
    )
    spike = [scored(story)] + [
        scored(
            mention(
                f"s{i}",
                f"Kim scandal memo, unbelievable #KimGate {i}",
                author=f"r{i}",
                reshare_of="x:s0",
                links=["https://www.tabloid.example/story/"],
                hashtags=["kimgate"],
            )
        )
        for i in range(1, 6)
    ]
    why = explain_spike(spike, base)
    assert (why.spike_posts, why.baseline_posts) == (6, 20)
    assert {"scandal", "memo"} <= {d.item for d in why.terms}
    assert [d.item for d in why.hashtags] == ["#kimgate"]
    assert [(d.item, d.spike_posts) for d in why.links] == [("tabloid.example/story", 6)]
    assert why.authors[0].item == "@tabloid" and why.authors[0].spike_posts == 6
    assert why.examples[0].event_id == "x:s0"  # the original, most engaged
    assert why.examples[0].url == "https://x.example/s0"


def test_explain_spike_lists_the_words_that_made_the_negative_posts_negative() -> None:
    base = [
        scored(
            mention(f"b{i}", "Kim talked about rent again, what a liar", author=f"u{i}"), tone=-0.6
        )
        for i in range(2)
    ] + [scored(mention(f"c{i}", "Kim talked about rent again", author=f"v{i}")) for i in range(18)]
    texts = [
        "Jordan Kim is a liar and a fraud. Disgusting. Resign! #KimGate",
        "What a disgusting fraud, resign now #KimGate",
        "Kim should resign, this is disgusting",
    ]
    spike = [
        scored(mention(f"s{i}", texts[i % 3], author=f"r{i}"), tone=sentiment(texts[i % 3]))
        for i in range(6)
    ] + [scored(mention("p0", "Disgusting weather but Kim was great", author="p"), tone=0.2)]
    assert all(s.sentiment <= NEGATIVE_BELOW for s in spike[:6])
    why = explain_spike(spike, base)
    words = [d.item for d in why.negative_terms]
    assert {"disgusting", "resign"} <= set(words)
    # "liar" was already said in the negative posts before: it drives less than the new words.
    assert "liar" not in words[:2]
    # Only negative posts count: the positive post's "disgusting" makes no 7th.
    assert next(d for d in why.negative_terms if d.item == "disgusting").spike_posts == 6


def test_spikes_lifted_by_one_story_fold_into_it() -> None:
    from pipeline.scoring.buzz import Spike, fold_spikes

    at = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)

    def sp(subject: str, mentions: int, expected: float, attack: bool = False) -> Spike:
        return Spike(subject, "x", at, mentions, expected, 9.0, 0.5 if attack else 0.1, attack)

    kim, housing = sp("kim", 1400, 470, True), sp("housing", 680, 395)
    transit = sp("transit", 500, 390)
    # 200 of housing's posts also name Kim (its excess is 285): folded. Transit shares 20 of 110.
    shared = {("housing", "kim"): 200, ("kim", "housing"): 200, ("transit", "kim"): 20}
    assert fold_spikes([housing, transit, kim], shared) == {"housing": "kim"}
    # The attack leads even when a spike is larger; without shared posts nothing folds.
    big = sp("reyes", 3000, 100)
    assert fold_spikes([big, kim], {("kim", "reyes"): 900}) == {}
    assert fold_spikes([big, kim], {("reyes", "kim"): 2000}) == {"reyes": "kim"}
    assert fold_spikes([kim, housing], {}) == {}
