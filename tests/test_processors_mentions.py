"""The pure mention processor and the event contract: validation, dead letters, idempotency."""

from __future__ import annotations

import orjson
from hypothesis import given
from hypothesis import strategies as st

from pipeline.bench import synthetic_mention
from pipeline.events import InvalidEvent, Mention, decode
from pipeline.processors.mentions import MENTION_COLUMNS, process_mentions
from pipeline.processors.raw import RawMessage, batch_token
from pipeline.topics import MENTIONS


def _msgs(values: list[bytes | None], start: int = 0) -> list[RawMessage]:
    return [RawMessage(MENTIONS, 0, start + i, v) for i, v in enumerate(values)]


def test_valid_mentions_become_rows_in_column_order() -> None:
    out = process_mentions(_msgs([synthetic_mention(1, "r"), synthetic_mention(2, "r")]))
    assert not out.dead_letters
    assert len(out.rows) == 2
    row = dict(zip(MENTION_COLUMNS, out.rows[0], strict=True))
    assert row["event_id"] == "bench:r:1"
    assert row["author_handle"] == "user1"
    assert row["hashtags"] == ["kimforsenate"]
    assert row["occurred_at"].tzinfo is not None


def test_each_kind_of_bad_input_is_dead_lettered_with_its_reason_and_place() -> None:
    bad = [
        None,
        b"\xff\xfe not json",
        b"[1, 2]",
        orjson.dumps({"schema_version": 2, "event_id": "x:1"}),
        orjson.dumps({"schema_version": 1, "event_id": "x:1", "platform": "x",
                      "occurred_at": "2026-01-01T00:00:00", "author": {"id": "1", "handle": "a"},
                      "text": "naive time"}),
    ]  # fmt: skip
    out = process_mentions(_msgs([synthetic_mention(0, "r"), *bad], start=100))
    assert len(out.rows) == 1
    reasons = [d.reason for d in out.dead_letters]
    assert reasons[0] == "empty message (no value)"
    assert reasons[1].startswith("not JSON")
    assert reasons[2] == "expected a JSON object, got list"
    assert reasons[3] == "unsupported schema_version 2 (expected 1)"
    assert "occurred_at" in reasons[4] and "timezone" in reasons[4]
    assert [d.offset for d in out.dead_letters] == [101, 102, 103, 104, 105]
    assert out.dead_letters[1].payload.startswith("\\xff\\xfe")  # bytes kept, escaped
    assert len({d.event_id for d in out.dead_letters}) == 5


def test_processing_the_same_batch_twice_gives_the_same_rows_and_token() -> None:
    batch = _msgs([synthetic_mention(i, "r") for i in range(10)])
    assert process_mentions(batch).rows == process_mentions(batch).rows
    assert batch_token("m", batch) == batch_token("m", list(reversed(batch)))
    assert batch_token("m", batch) != batch_token("m", batch[:-1])


def test_duplicates_inside_a_batch_collapse_to_one_row() -> None:
    v = synthetic_mention(7, "r")
    assert len(process_mentions(_msgs([v, v, v])).rows) == 1


@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    out = process_mentions(_msgs([raw]))
    assert len(out.rows) + len(out.dead_letters) == 1


def test_decode_round_trips_a_mention() -> None:
    event = decode(MENTIONS, synthetic_mention(3, "r"))
    assert isinstance(event, Mention)
    assert decode(MENTIONS, event.to_json()) == event
    try:
        decode(MENTIONS, b"{}")
    except InvalidEvent as exc:
        assert "unsupported schema_version None" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("an empty object must not validate")
