"""Conversation: comment substance, thread metrics, golden threads, unanswered questions."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.events import Author, ThreadPost
from pipeline.scoring.conversation import (
    SUBSTANTIVE_AT,
    is_golden_thread,
    is_low_effort,
    is_question,
    substance,
    substance_score,
    thread_metrics,
    thread_quality,
    unanswered_questions,
)
from pipeline.scoring.substance_model import FEATURES, default_model, feature_values

T0 = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
QUESTION = "What is Kim's plan for rent control?"
ANSWER = (
    "According to her housing plan, rents would be capped at 3% a year because "
    "costs rose 40% since 2019: https://kim.example/housing"
)


def tp(
    pid: str, author: str, text: str, parent: str | None = None, minutes: float = 0
) -> ThreadPost:
    return ThreadPost(
        event_id=f"forum:{pid}",
        platform="forum",
        occurred_at=T0 + timedelta(minutes=minutes),
        thread_id="t1",
        post_id=pid,
        parent_id=parent,
        author=Author(id=author, handle=author, audience=0),
        text=text,
        url=f"https://forum.example/t1#{pid}",
    )


def test_shipped_weights_cover_every_trait_and_say_what_trained_them() -> None:
    model = default_model()
    assert set(model.weights) == set(FEATURES)
    assert "UKPConvArg1" in model.meta["trained_on"]
    # Length drives it; talking at someone ("you") and a dashed-off "i" pull it down.
    assert model.weights["length"] > 0 and model.weights["link"] > 0
    assert model.weights["you"] < 0 and model.weights["lowercase_i"] < 0


@pytest.mark.parametrize(
    "text", ["Great post!", "Go JK!", "🔥🔥🔥 👏", "GO KIM GO!!!", "+1", "so true"]
)
def test_low_effort_comments_are_flagged_and_below_the_bar(text: str) -> None:
    s = substance(text)
    assert s.low_effort and s.score < SUBSTANTIVE_AT


def test_score_is_the_logistic_of_the_contributions() -> None:
    model = default_model()
    s = substance(QUESTION)
    assert s.features == {
        k: pytest.approx(model.weights[k] * v) for k, v in feature_values(QUESTION).items()
    }
    z = model.bias + sum(s.features.values())
    assert s.score == pytest.approx(1 / (1 + math.exp(-z)), abs=1e-6)
    # 36 characters: log1p(36) times the length weight.
    assert s.features["length"] == pytest.approx(model.weights["length"] * math.log1p(36))
    assert is_question(QUESTION) and is_question("Does anyone know where the stops are")


def test_a_sourced_answer_outscores_the_question_and_a_cheer() -> None:
    answer, question, cheer = substance(ANSWER), substance(QUESTION), substance("Great post!")
    assert not answer.low_effort and answer.score > question.score > SUBSTANTIVE_AT > cheer.score
    assert answer.features["link"] == default_model().weights["link"]
    assert substance(ANSWER.replace("https://kim.example/housing", "")).score < answer.score
    # The same words aimed at someone score lower.
    assert (
        substance("You are wrong about rent, you never read the plan").score
        < substance("That is wrong about rent, the post never read the plan").score
    )


@given(st.lists(st.sampled_from(["GO", "VOTE", "KIM", "JORDAN", "TUESDAY", "EVERYONE!!!", "🔥"]),
                min_size=1, max_size=8))  # fmt: skip
def test_a_cheer_never_counts_as_substantive(words: list[str]) -> None:
    assert substance(" ".join(words)).score < SUBSTANTIVE_AT
    longest = substance("VOTE JORDAN KIM TUESDAY EVERYONE!!! VOTE JORDAN EVERYONE!!!")
    assert longest.low_effort and longest.score < SUBSTANTIVE_AT


def test_long_reasoned_all_caps_is_not_a_cheer() -> None:
    assert not is_low_effort("THE BUS LANES CUT MY COMMUTE BY TEN MINUTES EVERY SINGLE DAY")
    assert is_low_effort("VOTE KIM")


@given(st.text(max_size=500), st.lists(st.text(max_size=30), max_size=3))
def test_substance_is_in_unit_interval(text: str, links: list[str]) -> None:
    assert 0.0 <= substance_score(text, links) <= 1.0


def thread() -> list[ThreadPost]:
    return [
        tp("1", "ann", QUESTION),
        tp("2", "bob", ANSWER, "1", 5),
        tp(
            "3",
            "ann",
            "But the cap would not cover new buildings, so what happens to them?",
            "2",
            9,
        ),
        tp(
            "4",
            "bob",
            "New buildings are exempt for 10 years, which means supply keeps coming.",
            "3",
            12,
        ),
        tp("5", "cat", "Great post!", "1", 13),
        tp("6", "dan", "When would the Riverline stop on Elm open?", None, 20),
        tp("7", "ann", "Go JK!", "6", 21),
        tp("2", "bob", ANSWER, "1", 5),  # duplicate delivery
    ]


def test_thread_metrics_concrete() -> None:
    m = thread_metrics(thread())
    assert (m.posts, m.participants, m.substantive_posts) == (7, 4, 5)
    assert m.transactions == 3  # 2->1, 3->2, 4->3; "Great post!" and "Go JK!" do not count
    assert m.back_and_forth == 4  # ann-bob-ann-bob
    assert m.links_added == 1
    assert m.low_effort_share == pytest.approx(2 / 7)
    asked = {q.post_id: q for q in m.questions}
    assert set(asked) == {"1", "3", "6"}
    assert asked["1"].answer_id == "2" and asked["1"].answered_at == T0 + timedelta(minutes=5)
    assert asked["3"].answer_id == "4"
    assert asked["6"].answered_at is None  # "Go JK!" is not an answer
    assert m.quality == thread_quality(m.mean_substance, 3, 4, 4, 2 / 7)
    # Three real exchanges and two cheers in seven short posts: good, short of golden (0.53).
    assert 0.4 < m.quality < 0.5


def test_golden_thread_and_cheer_pile() -> None:
    assert is_golden_thread(thread_metrics(thread()), min_quality=0.45)
    assert not is_golden_thread(thread_metrics(thread()), min_quality=0.45, min_transactions=4)
    assert not is_golden_thread(thread_metrics(thread()), min_quality=0.53, min_transactions=3)
    cheers = [tp("0", "x", "Kim's plan, thoughts?")] + [
        tp(str(i), f"u{i}", "Great post!", "0", i) for i in range(1, 30)
    ]
    m = thread_metrics(cheers)
    assert m.transactions == 0 and m.quality < 0.25 and not is_golden_thread(m)


def test_unanswered_questions_respect_age_window() -> None:
    m = thread_metrics(thread())
    at = T0 + timedelta(minutes=20)
    assert unanswered_questions(m, at + timedelta(minutes=59)) == []
    late = unanswered_questions(m, at + timedelta(minutes=60))
    assert [q.post_id for q in late] == ["6"]
    assert unanswered_questions(m, at + timedelta(days=8)) == []
    assert unanswered_questions(m, at + timedelta(minutes=5), after=timedelta(minutes=5))


def test_empty_and_self_reply_threads() -> None:
    assert thread_metrics([]).quality == 0.0
    solo = thread_metrics([tp("1", "a", ANSWER), tp("2", "a", ANSWER + " again", "1")])
    assert (solo.transactions, solo.back_and_forth, solo.participants) == (0, 1, 1)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 3), st.integers(-1, 30), st.sampled_from([QUESTION, ANSWER, "lol"])
        ),
        min_size=1,
        max_size=30,
    )
)
def test_thread_metrics_invariants(specs: list[tuple[int, int, str]]) -> None:
    posts = [
        tp(str(i), f"u{who}", text, str(parent % i) if parent >= 0 and i else None, i)
        for i, (who, parent, text) in enumerate(specs)
    ]
    m = thread_metrics(posts)
    assert 0.0 <= m.quality <= 1.0
    assert 0 <= m.transactions <= m.posts - 1
    assert 1 <= m.back_and_forth <= m.posts
    assert m.substantive_posts <= m.posts and m.participants <= 4
