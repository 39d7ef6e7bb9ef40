"""The score agents' pure steps and their batching, without Kafka or a warehouse."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import faust
import pytest

from pipeline.agents.buzz_agent import MENTION_SCORE_COLUMNS, mention_score_rows
from pipeline.agents.minutes_agent import (
    BUZZ_MINUTE_COLUMNS,
    baseline_from_rows,
    baseline_rows,
    closable_through,
    close_minutes,
)
from pipeline.agents.plumbing import content_token
from pipeline.agents.signups_agent import attribution_rows, campaign_registry, lag_rows
from pipeline.agents.threads_agent import thread_alerts
from pipeline.agents.validators_agent import REACH_COLUMNS, reach_row
from pipeline.campaign import load_campaign
from pipeline.events import Author, Mention, Signup, ThreadPost, Utm
from pipeline.scoring.baseline import BaselineState
from pipeline.scoring.buzz import MinuteBuzz
from pipeline.scoring.conversation import thread_metrics
from pipeline.scoring.signups import Target, lagged_correlation
from pipeline.scoring.subjects import compile_subjects
from pipeline.scoring.validator_reach import index_validators
from pipeline.settings import load_settings
from pipeline.topics import MENTIONS

T0 = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
CAMPAIGN = load_campaign()
MATCHER = compile_subjects(CAMPAIGN.subjects)
INDEX = index_validators(CAMPAIGN)


def mention(n: str, text: str, who: str = "ana", audience: int = 10, **kw: Any) -> Mention:
    return Mention(
        event_id=f"x:{n}",
        platform="x",
        occurred_at=kw.pop("at", T0),
        author=Author(id=f"x:{who}", handle=who, audience=audience),
        text=text,
        **kw,
    )


def test_a_mention_gives_one_score_row_per_subject_and_names_its_validator() -> None:
    calls: list[str] = []

    def tone(text: str) -> float:
        calls.append(text)
        return -0.5

    m = mention("1", "Jordan Kim backs the Riverline", who="mayortorres", audience=999)
    rows = mention_score_rows([m, mention("2", "nothing tracked here")], MATCHER, INDEX, tone)
    got = [dict(zip(MENTION_SCORE_COLUMNS, r, strict=True)) for r in rows]
    assert [g["subject"] for g in got] == ["kim", "transit"]
    assert calls == [m.text]  # tone once per mention, none for untracked ones
    assert all(g["validator"] == "mayor-alicia-torres" and g["negative"] == 1 for g in got)
    assert got[0]["minute"] == T0 and got[0]["terms"] == ["Jordan Kim"]
    assert got[0]["audience_weight"] == pytest.approx(4.0)  # 1 + log10(1000)


def test_minutes_close_in_order_up_to_the_first_that_is_still_settling() -> None:
    m = [T0 + timedelta(minutes=i) for i in range(4)]
    settle = timedelta(seconds=3)
    assert closable_through([(m[0], 9), (m[1], 5), (m[2], 1), (m[3], 9)], settle) == m[1]
    # One young series holds the minute back for every series.
    assert closable_through([(m[0], 9), (m[0], 0.5)], settle) is None
    assert closable_through([], settle) is None


def _buzz(subject: str, minute: datetime, n: int, negative: float = 0.0) -> MinuteBuzz:
    return MinuteBuzz(subject, minute, n, n, float(n), float(n), -negative, negative)


def test_an_attack_after_a_learned_baseline_and_a_replay_that_changes_nothing() -> None:
    quiet = [_buzz("kim", T0 + timedelta(minutes=i), 2) for i in range(40)]
    burst = T0 + timedelta(minutes=40)
    rows = [*quiet, _buzz("kim", burst, 12, 1.0), _buzz("reyes", burst, 4)]
    signups = [("web", T0 + timedelta(minutes=i), 1) for i in range(40)] + [("web", burst, 9)]
    state = BaselineState()
    closed = close_minutes(rows, signups, state, CAMPAIGN)
    last = {r[0]: dict(zip(BUZZ_MINUTE_COLUMNS, r, strict=True)) for r in closed.buzz_rows[-2:]}
    assert last["kim"]["anomaly_score"] == pytest.approx(10 / 2**0.5)
    assert (last["kim"]["spike"], last["kim"]["attack"]) == (1, 1)
    assert last["kim"]["share_of_voice"] == pytest.approx(12 / 16)
    assert last["reyes"]["share_of_voice"] == pytest.approx(4 / 16)
    assert [a.row.subject_id for a in closed.spikes] == ["kim"]
    assert [(a.row.subject_id, a.row.mentions) for a in closed.surges] == [("signup:web", 9)]

    saved = baseline_rows(state, closed.series)
    assert {r[0] for r in saved} == {"kim", "reyes", "signup:web"}
    rebuilt = baseline_from_rows([(r[2],) for r in saved])
    assert rebuilt.to_dict() == state.to_dict()

    again = close_minutes(rows, signups, rebuilt, CAMPAIGN)  # a replay after a restart
    assert again.buzz_rows == [] and again.spikes == [] and again.surges == []


def test_issues_have_no_share_of_voice() -> None:
    closed = close_minutes([_buzz("transit", T0, 3)], [], BaselineState(), CAMPAIGN)
    assert (
        dict(zip(BUZZ_MINUTE_COLUMNS, closed.buzz_rows[0], strict=True))["share_of_voice"] is None
    )


def test_reach_row_of_a_two_level_cascade() -> None:
    root = mention("r", "Riverline now", who="mayortorres", audience=1000)
    a = mention("a", "Riverline now", who="a", audience=200, reshare_of="x:r")
    b = mention("b", "Riverline now", who="b", audience=300, reshare_of="x:a")
    row, reach, reasons = reach_row(root, [a, b, a], "transit", INDEX)
    got = dict(zip(REACH_COLUMNS, row, strict=True))
    assert (got["posts"], got["cascade_audience"], got["amplifiers"], got["depth"]) == (
        3,
        1500,
        2,
        2,
    )
    assert got["trust_weighted_reach"] == pytest.approx(3.0 * 1500)
    assert got["group_name"] == "local officials" and reasons == () and got["taking_off"] == 0
    assert reach.structural_virality == pytest.approx(4 / 3)


def tp(pid: str, who: str, text: str, at: datetime, parent: str | None = None) -> ThreadPost:
    return ThreadPost(
        event_id=f"f:{pid}",
        platform="f",
        occurred_at=at,
        thread_id="t",
        post_id=pid,
        parent_id=parent,
        author=Author(id=who, handle=who),
        text=text,
    )


def test_unanswered_question_alert_is_stable_whenever_it_is_raised() -> None:
    posts = [tp("q", "ana", "Where does Kim stand on bus lanes?", T0)]
    m = thread_metrics(posts)
    early = thread_alerts("t", posts, m, "kim", CAMPAIGN, T0 + timedelta(minutes=30))
    assert early == []
    a1 = thread_alerts("t", posts, m, "kim", CAMPAIGN, T0 + timedelta(minutes=61))
    a2 = thread_alerts("t", posts, m, "kim", CAMPAIGN, T0 + timedelta(hours=5))
    assert [a.kind for a in a1] == ["unanswered_question"]
    assert a1 == a2 and a1[0].at == T0 + timedelta(minutes=60)


def test_signups_are_attributed_by_campaign_codes_and_found_threads() -> None:
    registry = campaign_registry(CAMPAIGN)
    s = [
        Signup(event_id="f:1", platform="f", occurred_at=T0, channel="referral",
               referral_code="mayortorres"),
        Signup(event_id="f:2", platform="f", occurred_at=T0, channel="web",
               utm=Utm(content="t-42")),
        Signup(event_id="f:3", platform="f", occurred_at=T0, channel="web"),
    ]  # fmt: skip
    rows = attribution_rows(s, {**registry, "t-42": Target("thread", "t-42")})
    assert [r[4:] for r in rows] == [
        ["validator", "mayor-alicia-torres", "referral_code"],
        ["thread", "t-42", "utm_content"],
        ["channel", "web", "channel"],
    ]
    assert registry["rayokafor27"] == Target("validator", "ray-okafor-teamsters-local-27")


def test_lag_rows_are_the_pure_cross_correlation() -> None:
    hours = [T0 + timedelta(hours=h) for h in range(30)]
    buzz = [("all", h, (h.hour * 7) % 11) for h in hours]
    ups = [(h, (h.hour * 7 + 3) % 11) for h in hours[2:]]
    rows = lag_rows(buzz, ups)
    want = lagged_correlation({h: n for _, h, n in buzz}, dict(ups))
    assert [r[1] for r in rows] == list(range(25))
    assert [r[2] for r in rows] == [None if w.r is None else round(w.r, 9) for w in want]


def test_content_tokens_drop_only_identical_rows() -> None:
    assert content_token("t", [[1, T0]]) == content_token("t", [[1, T0]])
    assert content_token("t", [[1, T0]]) != content_token("t", [[2, T0]])
    assert content_token("t", [[1, T0]]) != content_token("u", [[1, T0]])


class FakeSink:
    def __init__(self) -> None:
        self.inserts: list[tuple[str, list[Any], str]] = []

    def insert(self, table: str, rows: Any, columns: Any, token: str) -> bool:
        self.inserts.append((table, list(rows), token))
        return True

    def stop(self) -> None:
        pass


def test_score_mentions_writes_each_batch_once_with_its_offset_token() -> None:
    from pipeline.agents.scores import register

    settings = load_settings(sink_batch_size=2, sink_batch_seconds=0.05)
    app = faust.App("test-agents", broker="kafka://127.0.0.1:1", store="memory://",
                    value_serializer="raw", key_serializer="raw")  # fmt: skip
    sinks: list[FakeSink] = []

    def new_sink() -> Any:
        sinks.append(FakeSink())
        return sinks[-1]

    register(app, settings, new_sink)
    agent = app.agents["score_mentions"]

    async def run() -> None:
        async with agent.test_context() as ctx:
            for n in ("1", "2"):
                await ctx.put(mention(n, f"Jordan Kim post {n}").to_json())
            await asyncio.sleep(0.3)

    asyncio.run(run())
    writes = [w for s in sinks for w in s.inserts if w[0] == "buzz.mention_scores"]
    assert len(writes) == 1 and [r[0] for r in writes[0][1]] == ["x:1", "x:2"]
    assert writes[0][2].startswith("mention_scores-")
    assert MENTIONS  # the agent listens on the mentions topic (see buzz_agent.register)
