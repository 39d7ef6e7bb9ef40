"""Raw-topic processors: valid events become rows, bad ones dead letters, nothing raises."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from hypothesis import given
from hypothesis import strategies as st

from pipeline.events import Author, Mention, Signup, ThreadPost, Utm
from pipeline.processors.mentions import MENTION_COLUMNS, process_mentions
from pipeline.processors.raw import RawMessage
from pipeline.processors.signups import SIGNUP_COLUMNS, process_signups
from pipeline.processors.threads import THREAD_POST_COLUMNS, process_thread_posts
from pipeline.topics import MENTIONS, SIGNUPS, THREADS

T0 = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
HMAC = "a" * 64


def post(pid: str, text: str = "What about rent?") -> ThreadPost:
    return ThreadPost(
        event_id=f"forum:{pid}", platform="forum", occurred_at=T0, thread_id="t1", post_id=pid,
        author=Author(id="u1", handle="u1"), text=text, links=["https://a.example"],
    )  # fmt: skip


def signup(n: str, channel: str = "web") -> Signup:
    return Signup(
        event_id=f"forms:{n}", platform="forms", occurred_at=T0, channel=channel,
        referral_code="MAYORTORRES", utm=Utm(source="x", content="thread:t1"),
        email_hmac=HMAC,
    )  # fmt: skip


def msgs(topic: str, values: list[bytes | None]) -> list[RawMessage]:
    return [RawMessage(topic, 0, i, v) for i, v in enumerate(values)]


def test_thread_posts_rows_follow_the_columns_and_bad_ones_are_dead_lettered() -> None:
    good = post("p1")
    out = process_thread_posts(
        msgs(THREADS, [good.to_json(), b"{nope", orjson.dumps({"schema_version": 1})])
    )
    assert out.events == [good]
    row = dict(zip(THREAD_POST_COLUMNS, out.rows[0], strict=True))
    assert row["thread_id"] == "t1" and row["post_id"] == "p1" and row["parent_id"] is None
    assert row["links"] == ["https://a.example"] and row["author_id"] == "u1"
    assert [d.offset for d in out.dead_letters] == [1, 2]
    assert out.dead_letters[0].reason.startswith("not JSON")
    assert "thread_id: Field required" in out.dead_letters[1].reason
    assert all(d.source_topic == THREADS for d in out.dead_letters)


def test_signup_rows_carry_only_hmacs_and_coarse_fields() -> None:
    out = process_signups(msgs(SIGNUPS, [signup("1").to_json(), None]))
    row = dict(zip(SIGNUP_COLUMNS, out.rows[0], strict=True))
    assert row["email_hmac"] == HMAC and row["phone_hmac"] is None
    assert row["utm_content"] == "thread:t1" and row["referral_code"] == "MAYORTORRES"
    assert not any("@" in str(v) for v in row.values())
    assert out.dead_letters[0].reason == "empty message (no value)"


def test_a_signup_with_a_clear_text_email_is_rejected() -> None:
    bad = orjson.loads(signup("2").to_json()) | {"email_hmac": "ana@example.org"}
    out = process_signups(msgs(SIGNUPS, [orjson.dumps(bad)]))
    assert out.rows == [] and "email_hmac" in out.dead_letters[0].reason


def test_a_message_on_the_wrong_topic_is_dead_lettered_not_crashed() -> None:
    out = process_thread_posts(msgs(THREADS, [signup("3").to_json()]))
    assert out.rows == [] and len(out.dead_letters) == 1


def test_duplicates_in_a_batch_keep_the_last_version() -> None:
    a, b = post("p1", "first"), post("p1", "second")
    out = process_thread_posts(msgs(THREADS, [a.to_json(), b.to_json()]))
    assert [e.text for e in out.events] == ["second"]
    assert len(out.rows) == 1


def test_mentions_keep_their_api_after_the_refactor() -> None:
    m = Mention(event_id="x:1", platform="x", occurred_at=T0,
                author=Author(id="1", handle="a"), text="hi")  # fmt: skip
    out = process_mentions(msgs(MENTIONS, [m.to_json(), b"[]"]))
    assert len(out.rows) == 1 and len(out.rows[0]) == len(MENTION_COLUMNS)
    assert out.dead_letters[0].reason == "expected a JSON object, got list"


@given(st.lists(st.one_of(st.binary(max_size=60), st.none()), max_size=20))
def test_arbitrary_bytes_never_raise_and_every_message_is_accounted_for(
    values: list[bytes | None],
) -> None:
    for topic, process in ((THREADS, process_thread_posts), (SIGNUPS, process_signups)):
        out = process(msgs(topic, values))
        # Short random bytes are never a valid event: every one is a dead letter, none is lost.
        assert out.rows == [] and len(out.dead_letters) == len(values)
        assert [d.offset for d in out.dead_letters] == list(range(len(values)))
