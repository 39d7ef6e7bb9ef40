"""Event limits: long real data is cut and flagged, impossible times are refused, dead letters
stay small enough for the broker whatever the input."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.events import (
    DEAD_LETTER_PAYLOAD_LIMIT,
    ID_LIMIT,
    Author,
    DeadLetter,
    InvalidEvent,
    Mention,
    Signup,
    ThreadPost,
    clip_id,
    decode,
)
from pipeline.topics import MENTIONS, SIGNUPS, THREADS

NOW = datetime.now(UTC)


def wire(**over: object) -> dict[str, object]:
    m = Mention(
        event_id="rss:1", platform="rss", occurred_at=NOW, author=Author(id="a", handle="b"),
        text="Jordan Kim",
    )  # fmt: skip
    return orjson.loads(m.to_json()) | over


def test_a_long_author_list_from_a_real_feed_is_cut_and_flagged_not_refused() -> None:
    authors = ", ".join(f"Author Number{i}" for i in range(40))  # ~600 characters
    built = Mention(
        event_id="rss:biorxiv-1", platform="rss", occurred_at=NOW,
        author=Author(id=authors, handle=authors, display_name=authors), text="A preprint",
    )  # fmt: skip
    assert built.truncated == ["author.display_name", "author.handle", "author.id"]
    assert len(built.author.handle) == ID_LIMIT and built.author.handle == authors[:ID_LIMIT]
    # The flag travels with the event, and the worker decodes the same event from the wire.
    assert decode(MENTIONS, built.to_json()) == built


def test_over_long_fields_arriving_on_the_wire_are_cut_and_flagged() -> None:
    raw = wire(text="x" * 150_000, hashtags=[f"t{i}" for i in range(600)], lang="en" * 40)
    raw["author"] = {"id": "a", "handle": "h" * 300}
    m = decode(MENTIONS, orjson.dumps(raw))
    assert isinstance(m, Mention)
    assert m.truncated == ["author.handle", "hashtags", "lang", "text"]
    assert len(m.text) == 100_000 and len(m.hashtags) == 500 and len(m.author.handle) == 200


def test_a_short_event_carries_no_flag_on_the_wire() -> None:
    assert b"truncated" not in Mention.model_validate(wire()).to_json()


def test_long_ids_keep_a_hash_so_they_stay_distinct_and_stable() -> None:
    a, b = "rss:" + "p" * 300 + "1", "rss:" + "p" * 300 + "2"
    assert clip_id(a) != clip_id(b) and clip_id(a) == clip_id(a)
    assert len(clip_id(a)) == ID_LIMIT and clip_id("rss:short") == "rss:short"
    post = ThreadPost(
        event_id=a, platform="rss", occurred_at=NOW, thread_id="t" * 250, post_id="p",
        author=Author(id="a", handle="b"), text="hi",
    )  # fmt: skip
    assert post.event_id == clip_id(a) and post.thread_id == clip_id("t" * 250)
    assert post.truncated == ["event_id", "thread_id"]
    assert decode(THREADS, post.to_json()) == post


def test_a_postal_code_is_cut_to_its_coarse_prefix() -> None:
    s = Signup(
        event_id="web:1", platform="web", occurred_at=NOW, channel="web", postal_prefix="SW1A 1AA"
    )
    assert s.postal_prefix == "SW1A" and s.truncated == ["postal_prefix"]
    assert decode(SIGNUPS, s.to_json()) == s


@pytest.mark.parametrize(
    "when",
    ["1969-12-31T23:00:00Z", "1900-01-01T00:00:00Z", "2150-01-01T00:00:00Z",
     (NOW + timedelta(days=2)).isoformat()],
)  # fmt: skip
def test_times_the_warehouse_cannot_hold_or_from_next_week_are_refused(when: str) -> None:
    with pytest.raises(InvalidEvent, match=r"occurred_at: .*out of range"):
        decode(MENTIONS, orjson.dumps(wire(occurred_at=when)))


def test_a_clock_a_few_hours_ahead_is_tolerated() -> None:
    ahead = NOW + timedelta(hours=3)
    assert decode(MENTIONS, orjson.dumps(wire(occurred_at=ahead.isoformat()))).occurred_at == ahead


def test_a_huge_bad_record_gives_a_small_dead_letter_with_size_and_hash() -> None:
    raw = b"\x00" * 200_000
    d = DeadLetter.for_payload(raw, "not JSON", source_topic=MENTIONS, partition=2, offset=9)
    assert d.payload_truncated and d.payload_size == 200_000
    assert len(d.payload) == DEAD_LETTER_PAYLOAD_LIMIT
    assert len(d.to_json()) < 512 * 1024  # far below the broker's 1 MB message limit
    assert d.payload_sha256 == hashlib.sha256(raw).hexdigest()


@given(st.binary(max_size=3 * DEAD_LETTER_PAYLOAD_LIMIT))
def test_any_input_gives_a_dead_letter_under_the_broker_limit(raw: bytes) -> None:
    d = DeadLetter.for_payload(raw, "bad", source_topic=MENTIONS, partition=0, offset=1)
    assert len(d.to_json()) < 1_000_000
    assert d.payload_size == len(raw) and d.payload_truncated == (
        len(raw) > DEAD_LETTER_PAYLOAD_LIMIT
    )
