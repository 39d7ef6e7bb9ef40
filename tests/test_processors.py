"""The processors: every row, dead letter and alert a batch produces, decoded once, no broker."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.bench import synthetic_mention
from pipeline.campaign import load_campaign
from pipeline.events import Author, Mention, Signup, ThreadPost, Utm
from pipeline.processors.housekeeping import DeadLetterProcessor, SourceStatusProcessor
from pipeline.processors.mentions import MentionScoring, process_mentions
from pipeline.processors.raw import Message, RawMessage
from pipeline.processors.signups import SignupProcessor, campaign_registry
from pipeline.processors.threads import ThreadProcessor, thread_post_row
from pipeline.scoring.signups import Target
from pipeline.scoring.subjects import compile_subjects
from pipeline.scoring.validator_reach import index_validators
from pipeline.tables import (
    DEAD_LETTERS,
    MENTION_SCORES,
    MENTIONS,
    SIGNUP_ATTRIBUTION,
    SIGNUPS,
    SOURCE_STATUS,
    THREAD_POST_SCORES,
    THREAD_POSTS,
    THREAD_SCORES,
)
from pipeline.topics import DEAD_LETTERS as DL_TOPIC
from pipeline.topics import MENTIONS as MENTIONS_TOPIC
from pipeline.topics import SIGNUPS as SIGNUPS_TOPIC
from pipeline.topics import SOURCE_STATUS as STATUS_TOPIC
from pipeline.topics import THREADS as THREADS_TOPIC

T0 = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
CAMPAIGN = load_campaign()
SCORING = MentionScoring(compile_subjects(CAMPAIGN.subjects), index_validators(CAMPAIGN))


def msgs(
    topic: str, values: list[bytes | None], start: int = 0, partition: int = 0
) -> list[RawMessage]:
    return [Message(topic, partition, start + i, v) for i, v in enumerate(values)]


def mention(n: str, text: str, who: str = "ana", audience: int = 10, **kw: Any) -> Mention:
    return Mention(
        event_id=f"x:{n}", platform="x", occurred_at=kw.pop("at", T0),
        author=Author(id=f"x:{who}", handle=who, audience=audience), text=text, **kw,
    )  # fmt: skip


# --- mentions -----------------------------------------------------------------------------


def test_one_mention_gives_its_raw_row_and_a_score_row_per_subject() -> None:
    calls: list[str] = []

    def tone(text: str) -> float:
        calls.append(text)
        return -0.5

    m = mention("1", "Jordan Kim backs the Riverline", who="mayortorres", audience=999)
    quiet = mention("2", "nothing tracked here")
    out = process_mentions(
        msgs(MENTIONS_TOPIC, [m.to_json(), quiet.to_json()]),
        MentionScoring(SCORING.matcher, SCORING.validators, tone),
    )
    raw = [MENTIONS.row(*r) for r in out.rows(MENTIONS)]
    assert [r.event_id for r in raw] == ["x:1", "x:2"]
    assert [r.sentiment for r in raw] == [-0.5, -0.5]  # every mention gets its tone
    assert calls == [m.text, quiet.text]  # scored once each
    scores = [MENTION_SCORES.row(*r) for r in out.rows(MENTION_SCORES)]
    assert [s.subject for s in scores] == ["kim", "transit"]
    assert all(s.validator == "mayor-alicia-torres" and s.negative == 1 for s in scores)
    assert scores[0].minute == T0 and scores[0].terms == ["Jordan Kim"]
    assert scores[0].audience_weight == pytest.approx(4.0)  # 1 + log10(1000)
    assert out.latest == {0: T0} and out.dead_letters == []


FAR = "2150-01-01T00:00:00Z"


def test_each_kind_of_bad_input_is_dead_lettered_with_its_reason_and_place() -> None:
    bad = [
        None,
        b"\xff\xfe not json",
        b"[1, 2]",
        orjson.dumps({"schema_version": 2, "event_id": "x:1"}),
        orjson.dumps({"schema_version": 1, "event_id": "x:1", "platform": "x",
                      "occurred_at": "2026-01-01T00:00:00", "author": {"id": "1", "handle": "a"},
                      "text": "naive time"}),
        orjson.dumps(orjson.loads(mention("far", "Kim").to_json()) | {"occurred_at": FAR}),
    ]  # fmt: skip
    out = process_mentions(
        msgs(MENTIONS_TOPIC, [synthetic_mention(0, "r"), *bad], start=100), SCORING
    )
    assert len(out.rows(MENTIONS)) == 1
    reasons = [d.reason for d in out.dead_letters]
    assert reasons[0] == "empty message (no value)"
    assert reasons[1].startswith("not JSON")
    assert reasons[2] == "expected a JSON object, got list"
    assert reasons[3] == "unsupported schema_version 2 (expected 1)"
    assert "occurred_at" in reasons[4] and "timezone" in reasons[4]
    assert "occurred_at" in reasons[5] and "out of range" in reasons[5]
    assert [d.offset for d in out.dead_letters] == [101, 102, 103, 104, 105, 106]
    assert out.dead_letters[1].payload.startswith("\\xff\\xfe")  # bytes kept, escaped
    assert len({d.event_id for d in out.dead_letters}) == 6


def test_a_scorer_that_raises_dead_letters_that_mention_and_keeps_its_raw_row() -> None:
    def broken(text: str) -> float:
        if "boom" in text:
            raise ZeroDivisionError("division by zero")
        return 0.1

    batch = [mention("1", "Jordan Kim boom").to_json(), mention("2", "Jordan Kim fine").to_json()]
    out = process_mentions(
        msgs(MENTIONS_TOPIC, batch), MentionScoring(SCORING.matcher, SCORING.validators, broken)
    )
    assert [MENTIONS.row(*r).event_id for r in out.rows(MENTIONS)] == ["x:1", "x:2"]
    assert [MENTION_SCORES.row(*r).event_id for r in out.rows(MENTION_SCORES)] == ["x:2"]
    [d] = out.dead_letters
    assert d.reason == "scoring failed: ZeroDivisionError: division by zero"
    assert d.event_id == "dl:buzz.mentions:0:0@scoring" and d.offset == 0


def test_processing_the_same_batch_twice_gives_the_same_rows() -> None:
    batch = msgs(MENTIONS_TOPIC, [synthetic_mention(i, "r") for i in range(10)])
    assert process_mentions(batch, SCORING).writes == process_mentions(batch, SCORING).writes


def test_duplicates_inside_a_batch_collapse_to_the_last_version() -> None:
    first = mention("7", "Jordan Kim", likes=1)
    again = first.model_copy(
        update={"engagement": first.engagement.model_copy(update={"likes": 9})}
    )
    out = process_mentions(msgs(MENTIONS_TOPIC, [first.to_json(), again.to_json()]), SCORING)
    [row] = [MENTIONS.row(*r) for r in out.rows(MENTIONS)]
    assert row.likes == 9 and out.rows(MENTION_SCORES)[0][0] == "x:7"


@settings(max_examples=200)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise_and_give_a_row_or_a_dead_letter(raw: bytes) -> None:
    out = process_mentions(msgs(MENTIONS_TOPIC, [raw]), SCORING)
    assert len(out.rows(MENTIONS)) + len(out.dead_letters) == 1


# --- threads ------------------------------------------------------------------------------


def post(
    pid: str, who: str, text: str, at: datetime, parent: str | None = None, thread: str = "t"
) -> ThreadPost:
    return ThreadPost(
        event_id=f"f:{thread}:{pid}", platform="f", occurred_at=at, thread_id=thread, post_id=pid,
        parent_id=parent, thread_title="Riverline funding", author=Author(id=who, handle=who),
        text=text,
    )  # fmt: skip


class FakeReader:
    """Answers thread-history reads from a list of stored posts, counting the reads."""

    def __init__(self, stored: list[ThreadPost] | None = None) -> None:
        self.stored = stored or []
        self.reads: list[tuple[str, ...]] = []

    async def aquery_retrying(
        self, sql: str, parameters: dict[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        ids = tuple(parameters["ids"]) if parameters else ()
        self.reads.append(ids)
        if "FROM buzz.thread_posts FINAL" in sql:
            return [tuple(thread_post_row(p)) for p in self.stored if p.thread_id in ids]
        return []

    aquery = aquery_retrying


GOLDEN = [
    ("a", "ana", None, "Why should the Riverline get funding before the bus lanes? The numbers "
     "say 40% of riders take the bus."),
    ("b", "ben", "a", "Because the Riverline connects 3 neighbourhoods, and the study shows $2M "
     "saved per year in commute time."),
    ("c", "ana", "b", "But the study assumes ridership that has not happened on other lines, see "
     "the 2019 report for details."),
    ("d", "ben", "c", "The 2019 report was before the new stations; ridership grew 25% since, "
     "according to the transit authority."),
    ("e", "cal", "d", "Thanks, that is useful. Does the plan also fund the bus lanes on Main "
     "Street, and when would they open?"),
    ("f", "ana", "e", "Yes, phase two funds them in 2027 because the federal grant requires both, "
     "per the council minutes."),
]  # fmt: skip


def test_a_thread_is_read_back_once_then_scored_from_memory() -> None:
    stored = [
        post(p, w, t, T0 + timedelta(minutes=i), par) for i, (p, w, par, t) in enumerate(GOLDEN[:3])
    ]
    reader = FakeReader(stored)
    proc = ThreadProcessor(reader, SCORING.matcher, CAMPAIGN)  # type: ignore[arg-type]
    later = [
        post(p, w, t, T0 + timedelta(minutes=10 + i), par)
        for i, (p, w, par, t) in enumerate(GOLDEN[3:])
    ]
    out1 = asyncio.run(proc.process(msgs(THREADS_TOPIC, [later[0].to_json()], start=3)))
    out2 = asyncio.run(proc.process(msgs(THREADS_TOPIC, [p.to_json() for p in later[1:]], start=4)))
    assert reader.reads == [("t",)]  # the history was read once, for the first batch only
    s1, s2 = (
        THREAD_SCORES.row(*out1.rows(THREAD_SCORES)[0]),
        THREAD_SCORES.row(*out2.rows(THREAD_SCORES)[0]),
    )
    assert (s1.posts, s2.posts) == (4, 6)
    assert len(out2.rows(THREAD_POSTS)) == 2 and len(out2.rows(THREAD_POST_SCORES)) == 2
    assert s2.transactions >= s1.transactions


def test_a_thread_of_a_partition_given_away_is_forgotten_and_read_again() -> None:
    reader = FakeReader([])
    proc = ThreadProcessor(reader, SCORING.matcher, CAMPAIGN)  # type: ignore[arg-type]
    p = post("a", "ana", "Is anyone there?", T0)
    asyncio.run(proc.process(msgs(THREADS_TOPIC, [p.to_json()], partition=2)))
    proc.revoked({2})
    assert "t" not in proc.cache
    asyncio.run(proc.process(msgs(THREADS_TOPIC, [p.to_json()], partition=2)))
    assert reader.reads == [("t",), ("t",)]


def test_the_thread_cache_is_bounded() -> None:
    proc = ThreadProcessor(FakeReader(), SCORING.matcher, CAMPAIGN, capacity=3)  # type: ignore[arg-type]
    posts = [post("a", "ana", "hello there", T0, thread=f"t{i}").to_json() for i in range(10)]
    asyncio.run(proc.process(msgs(THREADS_TOPIC, posts)))
    assert len(proc.cache) == 3


def test_bad_thread_posts_are_dead_lettered() -> None:
    proc = ThreadProcessor(FakeReader(), SCORING.matcher, CAMPAIGN)  # type: ignore[arg-type]
    good = post("a", "ana", "Where does Kim stand on bus lanes?", T0)
    out = asyncio.run(
        proc.process(
            msgs(THREADS_TOPIC, [good.to_json(), b"{nope", orjson.dumps({"schema_version": 1})])
        )
    )
    assert len(out.rows(THREAD_POSTS)) == 1 and len(out.dead_letters) == 2
    assert THREAD_SCORES.row(*out.rows(THREAD_SCORES)[0]).subject == "transit"  # the title


# --- signups ------------------------------------------------------------------------------


def signup(n: str, **kw: Any) -> Signup:
    return Signup(event_id=f"f:{n}", platform="f", occurred_at=T0, **{"channel": "web", **kw})


def test_signups_are_stored_with_hmacs_only_and_attributed() -> None:
    class Reader(FakeReader):
        async def aquery_retrying(
            self, sql: str, parameters: dict[str, Any] | None = None
        ) -> list[tuple[Any, ...]]:
            self.reads.append(tuple(parameters["ids"]) if parameters else ())
            return [("t-42",)] if "thread_posts" in sql else []

    reader = Reader()
    proc = SignupProcessor(reader, CAMPAIGN)  # type: ignore[arg-type]
    batch = [
        signup("1", channel="referral", referral_code="mayortorres", email_hmac="a" * 64).to_json(),
        signup("2", utm=Utm(content="t-42")).to_json(),
        signup("3").to_json(),
        None,
    ]
    out = asyncio.run(proc.process(msgs(SIGNUPS_TOPIC, batch)))
    rows = [SIGNUPS.row(*r) for r in out.rows(SIGNUPS)]
    assert [r.email_hmac for r in rows] == ["a" * 64, None, None]
    attributed = [SIGNUP_ATTRIBUTION.row(*r) for r in out.rows(SIGNUP_ATTRIBUTION)]
    assert [(a.kind, a.target_id, a.via) for a in attributed] == [
        ("validator", "mayor-alicia-torres", "referral_code"),
        ("thread", "t-42", "utm_content"),
        ("channel", "web", "channel"),
    ]
    assert len(out.dead_letters) == 1
    asyncio.run(proc.process(msgs(SIGNUPS_TOPIC, [signup("4", utm=Utm(content="t-42")).to_json()])))
    assert reader.reads == [("t-42",), ("t-42",)]  # threads and mentions, once: then remembered
    assert campaign_registry(CAMPAIGN)["rayokafor27"] == Target(
        "validator", "ray-okafor-teamsters-local-27"
    )


# --- dead letters and heartbeats -------------------------------------------------------------


def test_dead_letters_are_written_and_an_unreadable_one_is_kept_wrapped() -> None:
    from pipeline.events import DeadLetter

    d = DeadLetter.for_payload(
        b"oops", "not JSON", source_topic="buzz.mentions", partition=1, offset=3
    )
    out = asyncio.run(
        DeadLetterProcessor().process(msgs(DL_TOPIC, [d.to_json(), b"garbage"], start=7))
    )
    rows = [DEAD_LETTERS.row(*r) for r in out.rows(DEAD_LETTERS)]
    assert rows[0].event_id == "dl:buzz.mentions:1:3" and rows[0].payload_size == 4
    assert (
        rows[1].event_id == "dl:buzz.dead_letters:0:8"
        and rows[1].reason == "unreadable dead letter"
    )


def test_an_unreadable_heartbeat_is_dead_lettered() -> None:
    from pipeline.events import SourceStatus

    ok = SourceStatus(source="rss", instance="h:1", status="running", started_at=T0)
    out = asyncio.run(SourceStatusProcessor().process(msgs(STATUS_TOPIC, [ok.to_json(), b"{}"])))
    assert [SOURCE_STATUS.row(*r).source for r in out.rows(SOURCE_STATUS)] == ["rss"]
    assert out.dead_letters[0].reason.startswith("bad source status")
