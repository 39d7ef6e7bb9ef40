"""The periodic jobs' pure steps and the stream watermark that gates minute closing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.campaign import load_campaign
from pipeline.events import Author, Mention, ThreadPost
from pipeline.jobs.cascades import reach_row
from pipeline.jobs.lag import lag_rows
from pipeline.jobs.minutes import baseline_from_rows, baseline_rows, close_minutes
from pipeline.processors.raw import content_token
from pipeline.processors.threads import thread_alerts
from pipeline.scoring.baseline import BaselineState
from pipeline.scoring.buzz import MinuteBuzz
from pipeline.scoring.conversation import thread_metrics
from pipeline.scoring.signups import lagged_correlation
from pipeline.scoring.validator_reach import index_validators
from pipeline.stream.progress import (
    LATENESS,
    NEVER,
    PartitionProgress,
    closable_through,
    stream_watermark,
)

T0 = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
CAMPAIGN = load_campaign()
INDEX = index_validators(CAMPAIGN)


def mention(n: str, text: str, who: str = "ana", audience: int = 10, **kw: Any) -> Mention:
    return Mention(
        event_id=f"x:{n}", platform="x", occurred_at=kw.pop("at", T0),
        author=Author(id=f"x:{who}", handle=who, audience=audience), text=text, **kw,
    )  # fmt: skip


def _buzz(subject: str, minute: datetime, n: int, negative: float = 0.0) -> MinuteBuzz:
    return MinuteBuzz(subject, minute, n, n, float(n), float(n), -negative, negative)


# --- the watermark ------------------------------------------------------------------------

EXPECTED = {"buzz.mentions": 2, "buzz.signups": 1}


def test_no_minute_closes_while_a_partition_has_not_reported() -> None:
    reports = [("buzz.mentions", 0, T0, T0), ("buzz.signups", 0, T0, T0)]
    assert stream_watermark(reports, EXPECTED) is None
    assert closable_through(None) is None


def test_the_slowest_partition_holds_every_minute_back() -> None:
    now = T0 + timedelta(minutes=30)
    reports = [
        ("buzz.mentions", 0, now, now),  # caught up now
        ("buzz.mentions", 1, T0 + timedelta(minutes=5, seconds=30), NEVER),  # re-reading a backlog
        ("buzz.signups", 0, NEVER, now),  # idle, caught up
        ("buzz.threads", 0, NEVER, NEVER),  # not a topic minutes wait for
    ]
    w = stream_watermark(reports, EXPECTED)
    assert w == T0 + timedelta(minutes=5, seconds=30) - LATENESS
    assert closable_through(w) == T0 + timedelta(minutes=3)  # 12:04:30 -> 12:03 has ended


def test_a_restart_that_re_reads_a_backlog_does_not_close_its_minutes() -> None:
    """What was seen: after a restart every minute looked settled and closed with a few mentions.

    The partition being re-read reports when it was last caught up (before the crash), so the
    watermark stays there until it has caught up again.
    """
    crash = T0 + timedelta(minutes=10)
    now = T0 + timedelta(minutes=20)
    before = [("buzz.mentions", 0, crash, crash), ("buzz.mentions", 1, crash, crash)]
    after_restart = [
        ("buzz.mentions", 0, now, now),  # this one caught up at once
        ("buzz.mentions", 1, crash, crash),  # still re-reading what it had not committed
        ("buzz.signups", 0, NEVER, now),
    ]
    assert closable_through(
        stream_watermark([*before, ("buzz.signups", 0, NEVER, crash)], EXPECTED)
    ) == (T0 + timedelta(minutes=8))
    assert closable_through(stream_watermark(after_restart, EXPECTED)) == T0 + timedelta(minutes=8)


def test_a_source_clock_ahead_cannot_push_a_partition_into_the_future() -> None:
    p = PartitionProgress(0)
    p.written(10, T0 + timedelta(hours=3), now=T0)
    assert p.watermark == T0 and p.next_offset == 10
    p.written(5, T0 - timedelta(hours=1), now=T0)  # never goes back
    assert p.watermark == T0 and p.next_offset == 10


@given(
    st.lists(
        st.tuples(st.integers(0, 1), st.integers(0, 10_000), st.integers(0, 10_000)), min_size=1
    )
)
def test_the_watermark_never_passes_any_partitions_own_time(
    reports: list[tuple[int, int, int]],
) -> None:
    rows = [
        ("buzz.mentions", p, T0 + timedelta(seconds=w), T0 + timedelta(seconds=c))
        for p, w, c in reports
    ]
    w = stream_watermark(rows, {"buzz.mentions": 2})
    latest = {p: max(T0 + timedelta(seconds=a), T0 + timedelta(seconds=b)) for p, a, b in reports}
    if len(latest) < 2:
        assert w is None
    else:
        assert w is not None and w + LATENESS == min(latest.values())
        through = closable_through(w)
        assert through is not None and through + timedelta(minutes=1) <= w


# --- closing minutes ----------------------------------------------------------------------


def test_an_attack_after_a_learned_baseline_and_a_replay_that_changes_nothing() -> None:
    quiet = [_buzz("kim", T0 + timedelta(minutes=i), 2) for i in range(40)]
    burst = T0 + timedelta(minutes=40)
    rows = [*quiet, _buzz("kim", burst, 12, 1.0), _buzz("reyes", burst, 4)]
    signups = [("web", T0 + timedelta(minutes=i), 1) for i in range(40)] + [("web", burst, 9)]
    state = BaselineState()
    closed = close_minutes(rows, signups, state, CAMPAIGN)
    last = {r.subject: r for r in closed.buzz_rows[-2:]}
    assert last["kim"].anomaly_score == pytest.approx(10 / 2**0.5)
    assert (last["kim"].spike, last["kim"].attack) == (1, 1)
    assert last["kim"].share_of_voice == pytest.approx(12 / 16)
    assert last["reyes"].share_of_voice == pytest.approx(4 / 16)
    assert [a.row.subject_id for a in closed.spikes] == ["kim"]
    assert [(a.row.subject_id, a.row.mentions) for a in closed.surges] == [("signup:web", 9)]

    saved = baseline_rows(state, closed.series)
    assert {r.series for r in saved} == {"kim", "reyes", "signup:web"}
    rebuilt = baseline_from_rows([(r.state,) for r in saved])
    assert rebuilt.to_dict() == state.to_dict()

    again = close_minutes(rows, signups, rebuilt, CAMPAIGN)  # a replay after a restart
    assert again.buzz_rows == [] and again.spikes == [] and again.surges == []


def test_issues_have_no_share_of_voice() -> None:
    closed = close_minutes([_buzz("transit", T0, 3)], [], BaselineState(), CAMPAIGN)
    assert closed.buzz_rows[0].share_of_voice is None


# --- cascades, questions, lag -------------------------------------------------------------


def test_reach_row_of_a_two_level_cascade() -> None:
    root = mention("r", "Riverline now", who="mayortorres", audience=1000)
    a = mention("a", "Riverline now", who="a", audience=200, reshare_of="x:r")
    b = mention("b", "Riverline now", who="b", audience=300, reshare_of="x:a")
    row, reach, reasons = reach_row(root, [a, b, a], "transit", INDEX)
    assert (row.posts, row.cascade_audience, row.amplifiers, row.depth) == (3, 1500, 2, 2)
    assert row.trust_weighted_reach == pytest.approx(3.0 * 1500)
    assert row.group_name == "local officials" and reasons == () and row.taking_off == 0
    assert reach.structural_virality == pytest.approx(4 / 3)


def tp(pid: str, who: str, text: str, at: datetime, parent: str | None = None) -> ThreadPost:
    return ThreadPost(
        event_id=f"f:{pid}", platform="f", occurred_at=at, thread_id="t", post_id=pid,
        parent_id=parent, author=Author(id=who, handle=who), text=text,
    )  # fmt: skip


def test_unanswered_question_alert_is_stable_whenever_it_is_raised() -> None:
    posts = [tp("q", "ana", "Where does Kim stand on bus lanes?", T0)]
    m = thread_metrics(posts)
    assert thread_alerts("t", posts, m, "kim", CAMPAIGN, T0 + timedelta(minutes=30)) == []
    a1 = thread_alerts("t", posts, m, "kim", CAMPAIGN, T0 + timedelta(minutes=61))
    a2 = thread_alerts("t", posts, m, "kim", CAMPAIGN, T0 + timedelta(hours=5))
    assert [a.kind for a in a1] == ["unanswered_question"]
    assert a1 == a2 and a1[0].at == T0 + timedelta(minutes=60)


def test_lag_rows_are_the_pure_cross_correlation() -> None:
    hours = [T0 + timedelta(hours=h) for h in range(30)]
    buzz = [("all", h, (h.hour * 7) % 11) for h in hours]
    ups = [(h, (h.hour * 7 + 3) % 11) for h in hours[2:]]
    rows = lag_rows(buzz, ups)
    want = lagged_correlation({h: n for _, h, n in buzz}, dict(ups))
    assert [r.lag_hours for r in rows] == list(range(25))
    assert [r.r for r in rows] == [None if w.r is None else round(w.r, 9) for w in want]


def test_content_tokens_drop_only_identical_rows() -> None:
    assert content_token("t", [[1, T0]]) == content_token("t", [[1, T0]])
    assert content_token("t", [[1, T0]]) != content_token("t", [[2, T0]])
    assert content_token("t", [[1, T0]]) != content_token("u", [[1, T0]])
