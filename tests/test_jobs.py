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
from pipeline.jobs.minutes import (
    baseline_from_rows,
    baseline_rows,
    close_minutes,
    settled_through,
)
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
    STALE,
    PartitionProgress,
    Report,
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


def rep(
    topic: str,
    p: int,
    watermark: datetime,
    caught_up: datetime,
    behind: int = 0,
    updated: datetime | None = None,
    now: datetime = T0,
) -> Report:
    return Report(topic, p, watermark, caught_up, behind, updated or now)  # fmt: skip


def test_no_minute_closes_while_a_partition_has_not_reported() -> None:
    reports = [rep("buzz.mentions", 0, T0, T0), rep("buzz.signups", 0, T0, T0)]
    assert stream_watermark(reports, EXPECTED, T0) is None
    assert closable_through(None) is None


def test_the_slowest_partition_holds_every_minute_back() -> None:
    now = T0 + timedelta(minutes=30)
    reports = [
        rep("buzz.mentions", 0, now, now, now=now),  # caught up now
        # re-reading a backlog
        rep("buzz.mentions", 1, T0 + timedelta(minutes=5, seconds=30), NEVER, 900, now=now),
        rep("buzz.signups", 0, NEVER, now, now=now),  # idle, caught up
        rep("buzz.threads", 0, NEVER, NEVER, now=now),  # not a topic minutes wait for
    ]
    w = stream_watermark(reports, EXPECTED, now)
    assert w == T0 + timedelta(minutes=5, seconds=30) - LATENESS
    assert closable_through(w) == T0 + timedelta(minutes=3)  # 12:04:30 -> 12:03 has ended


def test_a_restart_that_re_reads_a_backlog_does_not_close_its_minutes() -> None:
    """What was seen: after a restart every minute looked settled and closed with a few mentions.

    The partition being re-read reports messages left to read, so only its watermark counts
    (not the time it was last caught up, before the crash); its dead worker's last report has
    gone stale in the meantime.
    """
    crash = T0 + timedelta(minutes=10)
    now = T0 + timedelta(minutes=20)
    before = [
        rep("buzz.mentions", 0, crash, crash, now=crash),
        rep("buzz.mentions", 1, crash, crash, now=crash),
        rep("buzz.signups", 0, NEVER, crash, now=crash),
    ]
    assert closable_through(stream_watermark(before, EXPECTED, crash)) == T0 + timedelta(minutes=8)
    # Nobody has spoken for partition 1 since the crash: nothing closes.
    dead = [rep("buzz.mentions", 0, now, now, now=now), before[1]]
    dead.append(rep("buzz.signups", 0, NEVER, now, now=now))
    assert stream_watermark(dead, EXPECTED, now) is None
    after_restart = [
        rep("buzz.mentions", 0, now, now, now=now),  # this one caught up at once
        # still re-reading what it had not committed: only its events count
        rep("buzz.mentions", 1, crash - timedelta(minutes=3), crash, 5000, now=now),
        rep("buzz.signups", 0, NEVER, now, now=now),
    ]
    assert closable_through(stream_watermark(after_restart, EXPECTED, now)) == T0 + timedelta(
        minutes=5
    )


def test_a_backfill_sent_to_an_idle_stream_waits_for_its_own_events() -> None:
    """What was seen: the workers caught up on an empty topic, a backfill of old events came, and
    minutes closed on the strength of "caught up a moment ago" before the backfill was written."""
    now = T0 + timedelta(hours=2)
    idle = [rep("buzz.mentions", p, NEVER, now, now=now) for p in (0, 1)]
    idle.append(rep("buzz.signups", 0, NEVER, now, now=now))
    assert stream_watermark(idle, EXPECTED, now) == now - LATENESS
    reading = [
        rep("buzz.mentions", 0, T0 + timedelta(minutes=7), now, 3000, now=now),
        rep("buzz.mentions", 1, NEVER, now, 2000, now=now),  # not a batch written yet
        idle[2],
    ]
    w = stream_watermark(reading, EXPECTED, now)
    assert w == NEVER - LATENESS  # partition 1 has written none of it: not one minute is past


def test_a_report_the_worker_no_longer_refreshes_stops_counting() -> None:
    fresh = [
        rep("buzz.mentions", 0, T0, T0),
        rep("buzz.mentions", 1, T0, T0),
        rep("buzz.signups", 0, T0, T0),
    ]
    assert stream_watermark(fresh, EXPECTED, T0 + STALE) == T0 - LATENESS
    assert stream_watermark(fresh, EXPECTED, T0 + STALE + timedelta(seconds=1)) is None


def test_progress_knows_how_far_behind_the_broker_it_is() -> None:
    p = PartitionProgress()
    p.fetched(100, T0)
    assert p.behind == -1 and p.caught_up_at == NEVER  # where it starts is not known yet
    p.written(40, T0, now=T0)
    p.fetched(100, T0 + timedelta(seconds=1))
    assert p.behind == 60 and p.caught_up_at == NEVER
    p.written(100, T0, now=T0)
    p.fetched(100, T0 + timedelta(seconds=2))
    assert p.behind == 0 and p.caught_up_at == T0 + timedelta(seconds=2)
    p.fetched(None, None)  # the fetch said nothing about the end
    assert p.behind == -1 and p.caught_up_at == T0 + timedelta(seconds=2)


def test_minutes_settle_in_time_order_up_to_the_first_still_filling() -> None:
    m = [T0 + timedelta(minutes=k) for k in range(4)]
    settle = timedelta(seconds=3)
    assert settled_through([], settle) is None
    assert settled_through([(m[0], 10.0), (m[1], 9.0), (m[2], 8.0)], settle) == m[2]
    # one series still writes minute 1: minutes 1 and later wait, whatever their own age
    ages = [(m[0], 10.0), (m[1], 30.0), (m[1], 0.5), (m[2], 20.0)]
    assert settled_through(ages, settle) == m[0]
    assert settled_through([(m[0], 1.0), (m[3], 99.0)], settle) is None


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
        rep("buzz.mentions", p, T0 + timedelta(seconds=w), T0 + timedelta(seconds=c))
        for p, w, c in reports
    ]
    w = stream_watermark(rows, {"buzz.mentions": 2}, T0)
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
