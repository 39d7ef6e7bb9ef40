"""The worker's fast mention decoder gives exactly pydantic's answer, whatever arrives."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.events import InvalidEvent, Mention, MentionLike, decode
from pipeline.topics import MENTIONS
from pipeline.wire import WireMention, decode_mention

NOW = datetime.now(UTC).replace(microsecond=0)
BASE: dict[str, Any] = {
    "schema_version": 1,
    "event_id": "x:1790000000000",
    "platform": "x",
    "occurred_at": (NOW - timedelta(minutes=5)).isoformat(),
    "ingested_at": NOW.isoformat(),
    "author": {"id": "42", "handle": "ana", "display_name": "Ana", "audience": 120},
    "text": "Jordan Kim on the Riverline vote #KimForSenate",
    "url": "https://x.example/ana/status/1",
    "lang": "en",
    "engagement": {"likes": 3, "reshares": 1, "replies": 0, "quotes": 0},
    "reshare_of": None,
    "reply_to": None,
    "links": ["https://kim.example/plan"],
    "hashtags": ["KimForSenate"],
}
FIELDS = (
    "event_id", "platform", "occurred_at", "ingested_at", "text", "url", "lang", "reshare_of",
    "reply_to", "links", "hashtags", "truncated",
)  # fmt: skip

edge = st.sampled_from(["", " ", "\t", "\n", "\x1c", "\u00a0", "\u3000", "\u2028"])
text = st.text(max_size=40) | st.builds(lambda a, s, b: a + s + b, edge, st.text(max_size=10), edge)
times = st.one_of(
    st.datetimes(
        min_value=datetime(1960, 1, 1),
        max_value=datetime(2200, 1, 1),
        timezones=st.sampled_from([UTC, None]),
    ).map(lambda t: t.isoformat()),
    st.builds(
        lambda t, frac, sep, zone: t.strftime(f"%Y-%m-%d{sep}%H:%M:%S") + frac + zone,
        st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2026, 11, 1)),
        st.sampled_from(["", ".5", ".123456", ".1234567", ".999999999"]),
        st.sampled_from(["T", " ", "t"]),
        st.sampled_from(["Z", "z", "+00:00", "-05:00", "+23:59", "+24:00", ""]),
    ),
    st.sampled_from(["yesterday", "2026-W48-1T12:00:00Z", "2026-11-30T12:00Z", "", "2026-11-30"]),
)
value = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False), text,
    st.lists(text, max_size=3),
)  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    d = orjson.loads(orjson.dumps(BASE))
    for _ in range(draw(st.integers(0, 4))):
        field = draw(st.sampled_from([*BASE, "author.id", "author.handle", "author.audience",
                                      "engagement.likes", "truncated", "extra"]))  # fmt: skip
        if draw(st.booleans()) and "." not in field:
            d.pop(field, None)
            continue
        new = draw(
            times if field.endswith("_at")
            else st.lists(text, max_size=4) if field in ("links", "hashtags", "truncated")
            else st.text(min_size=195, max_size=205) if draw(st.booleans()) and field == "event_id"
            else value
        )  # fmt: skip
        if "." in field:
            outer, inner = field.split(".")
            if isinstance(d.get(outer), dict):
                d[outer][inner] = new
        else:
            d[field] = new
    return d


in_range_times = st.builds(
    lambda t, frac, sep, zone: t.strftime(f"%Y-%m-%d{sep}%H:%M:%S") + frac + zone,
    st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2026, 11, 1)),
    st.sampled_from(["", ".0", ".5", ".123", ".123456", ".1234567"]),
    st.sampled_from(["T", " "]),
    st.sampled_from(["Z", "+00:00", "-05:00", "+05:30", "+13:45"]),
)
plain_text = st.text(st.characters(blacklist_categories=["Cs"]), max_size=60)


@st.composite
def plausible(draw: st.DrawFn) -> dict[str, Any]:
    """Well-typed mentions with odd but legal values: most take the fast path."""
    d = orjson.loads(orjson.dumps(BASE))
    d["event_id"] = draw(st.from_regex(r"[a-z0-9_.-]{1,20}:[^\n]{1,40}", fullmatch=True))
    d["platform"] = draw(plain_text.filter(lambda t: 0 < len(t) <= 64))
    d["text"] = draw(plain_text)
    d["lang"] = draw(st.text(max_size=8))
    d["occurred_at"] = draw(in_range_times)
    d["ingested_at"] = draw(in_range_times)
    d["hashtags"] = draw(st.lists(st.text(max_size=12), max_size=4))
    d["links"] = draw(st.lists(plain_text, max_size=3))
    d["reshare_of"] = draw(st.none() | plain_text.filter(bool))
    d["author"]["audience"] = draw(st.integers(0, 2**63 - 1))
    d["engagement"]["likes"] = draw(st.integers(0, 10**9))
    d["author"]["handle"] = draw(plain_text.filter(lambda t: 0 < len(t) <= 200))
    if draw(st.booleans()):
        d["truncated"] = draw(st.lists(st.sampled_from(["text", "author.handle"]), max_size=2))
    return d


def outcome(read: Any, raw: bytes) -> Any:
    try:
        return read(raw)
    except InvalidEvent as exc:
        return ("invalid", str(exc))


def same(fast: MentionLike, slow: Mention, had_ingested: bool) -> None:
    for f in FIELDS:
        if f == "ingested_at" and not had_ingested:
            continue  # both default to the time of decoding
        assert getattr(fast, f) == getattr(slow, f), f
    for f in ("id", "handle", "display_name", "audience"):
        assert getattr(fast.author, f) == getattr(slow.author, f), f
    for f in ("likes", "reshares", "replies", "quotes"):
        assert getattr(fast.engagement, f) == getattr(slow.engagement, f), f


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(mutated() | plausible())
def test_the_fast_decoder_agrees_with_pydantic(d: dict[str, Any]) -> None:
    raw = json.dumps(d).encode()  # any JSON, integers past 64 bits included
    fast = outcome(decode_mention, raw)
    slow = outcome(lambda r: decode(MENTIONS, r), raw)
    if isinstance(slow, tuple):
        assert fast == slow  # refused, with the same reason
    else:
        assert not isinstance(fast, tuple), fast
        same(fast, slow, "ingested_at" in d)


@given(st.binary(max_size=200))
def test_any_bytes_get_pydantics_answer(raw: bytes) -> None:
    assert outcome(decode_mention, raw) == outcome(lambda r: decode(MENTIONS, r), raw)


def test_an_ordinary_mention_takes_the_fast_path_and_an_odd_one_pydantics() -> None:
    assert isinstance(decode_mention(orjson.dumps(BASE)), WireMention)
    padded = orjson.dumps(BASE | {"text": "  Jordan Kim  "})
    long_handle = orjson.dumps(BASE | {"author": BASE["author"] | {"handle": "h" * 300}})
    for raw in (padded, long_handle):
        got = decode_mention(raw)
        assert isinstance(got, Mention) and got == decode(MENTIONS, raw)
    assert decode_mention(long_handle).truncated == ["author.handle"]


@pytest.mark.parametrize("when", ["2026-11-30T12:00:00.9999995Z", "2026-11-30T12:00:00.1234567Z"])
def test_more_than_microseconds_is_read_as_pydantic_reads_it(when: str) -> None:
    raw = orjson.dumps(
        BASE
        | {
            "occurred_at": when.replace(
                "2026-11-30", (NOW - timedelta(days=1)).strftime("%Y-%m-%d")
            )
        }
    )
    assert decode_mention(raw).occurred_at == decode(MENTIONS, raw).occurred_at
