"""Conversation: comment substance, thread metrics, golden threads, unanswered questions."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.events import Author, ThreadPost
from pipeline.scoring.conversation import (
    WEIGHTS,
    is_golden_thread,
    is_low_effort,
    is_question,
    substance,
    substance_score,
    thread_metrics,
    thread_quality,
    unanswered_questions,
)

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


def test_weights_sum_to_one() -> None:
    assert math.isclose(sum(WEIGHTS.values()), 1.0)


@pytest.mark.parametrize(
    "text", ["Great post!", "Go JK!", "🔥🔥🔥 👏", "GO KIM GO!!!", "+1", "so true"]
)
def test_low_effort_comments_score_near_zero(text: str) -> None:
    s = substance(text)
    assert s.low_effort and s.score < 0.05


def test_question_score_is_length_plus_question() -> None:
    # 7 words: 0.30 * ln(8) / ln(41) + 0.20 for the question.
    expected = 0.30 * math.log(8) / math.log(41) + 0.20
    assert substance_score(QUESTION) == pytest.approx(expected, abs=1e-6)
    assert is_question(QUESTION) and is_question("Does anyone know where the stops are")


def test_answer_with_link_numbers_and_reasoning_scores_high() -> None:
    s = substance(ANSWER)
    assert not s.low_effort and s.score > 0.6
    assert s.features["link"] == 0.15 and s.features["evidence"] == 0.10
    assert s.features["answer"] == 0.10 and s.features["argument"] == 0.15  # "because", "since"


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
    assert 0.55 < m.quality < 0.75


def test_golden_thread_and_cheer_pile() -> None:
    assert is_golden_thread(thread_metrics(thread()))
    assert not is_golden_thread(thread_metrics(thread()), min_transactions=4)
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
