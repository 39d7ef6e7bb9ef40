"""Event schemas: one per topic, versioned with ``schema_version``.

These models are the contract between sources and processors (see docs/events.md). Sources
build them; processors validate raw bytes against them and dead-letter what does not fit.
Times are timezone-aware UTC; ``occurred_at`` is event time, ``ingested_at`` is when the
source saw it.

Limits, and what happens past them (real data is odder than any sample):

* Text and names longer than their limit are **truncated and flagged**, never refused: the event's
  ``truncated`` lists the cut fields (``author.handle``, ``text``, ...). Identifiers (event, author,
  thread, post and parent ids) keep a hash of the full value after the cut, so two long ids that
  share a prefix stay different and the same long id always maps to the same short one.
* Times outside what the warehouse can store and what the product can use (before 1970-01-02 or
  more than a day ahead of this machine's clock) are refused with the reason: such an event would
  poison minute buckets and watermarks.
* A dead letter keeps at most ``DEAD_LETTER_PAYLOAD_LIMIT`` bytes of the input, with the input's
  full size and SHA-256, so a huge bad record can still be told apart and is never too large for
  the broker.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, ClassVar, Literal, TypeVar

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

SCHEMA_VERSION = 1
M = TypeVar("M", bound=BaseModel)


def utcnow() -> datetime:
    return datetime.now(UTC)


EARLIEST = datetime(1970, 1, 2, tzinfo=UTC)  # ClickHouse DateTime starts at the epoch
FUTURE_SKEW = timedelta(
    days=1
)  # a source's clock may run ahead; a post from next week is bad input


def _aware_utc(v: datetime) -> datetime:
    if v.tzinfo is None or v.utcoffset() is None:
        raise ValueError("timestamp must carry a timezone (ISO 8601 with offset or Z)")
    return v.astimezone(UTC)


def _in_range(v: datetime) -> datetime:
    v = _aware_utc(v)
    if v < EARLIEST or v > utcnow() + FUTURE_SKEW:
        raise ValueError(
            f"{v.isoformat()} is out of range (from {EARLIEST.date()} to one day from now)"
        )
    return v


UtcTime = Annotated[datetime, AfterValidator(_aware_utc)]
EventTime = Annotated[datetime, AfterValidator(_in_range)]

ID_LIMIT = 200
EventId = Annotated[str, Field(min_length=3, max_length=ID_LIMIT, pattern=r"^[a-z0-9_.-]+:.+$")]


def clip_id(value: str, limit: int = ID_LIMIT) -> str:
    """An over-long identifier cut to ``limit``, ending in a hash of the whole (stable, unique)."""
    if len(value) <= limit:
        return value
    return value[: limit - 17] + "~" + hashlib.sha256(value.encode()).hexdigest()[:16]


def _clip(data: dict[str, Any], limits: Mapping[str, int], ids: frozenset[str], prefix: str,
          cut: list[str]) -> dict[str, Any]:  # fmt: skip
    """``data`` with its over-long strings (and list items) cut; the cut names added to ``cut``."""
    out = data
    for name, limit in limits.items():
        v = data.get(name)
        if isinstance(v, str):
            if len(v) > limit:
                out = dict(out) if out is data else out
                out[name] = clip_id(v, limit) if name in ids else v[:limit]
                cut.append(prefix + name)
        elif isinstance(v, list) and v:
            items = [x[:limit] if isinstance(x, str) else x for x in v[:LIST_LIMIT]]
            if len(v) > LIST_LIMIT or any(isinstance(x, str) and len(x) > limit for x in v):
                out = dict(out) if out is data else out
                out[name] = items
                cut.append(prefix + name)
    return out


LIST_LIMIT = 500  # links and hashtags per event
TEXT_LIMIT = 100_000
URL_LIMIT = 4096


class _Event(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True)
    topic: ClassVar[str]
    # field -> longest value kept; what is longer is cut and named in ``truncated``
    LIMITS: ClassVar[dict[str, int]] = {"event_id": ID_LIMIT, "platform": 64}
    IDS: ClassVar[frozenset[str]] = frozenset({"event_id"})
    NESTED: ClassVar[dict[str, tuple[dict[str, int], frozenset[str]]]] = {}

    schema_version: Literal[1] = 1
    event_id: EventId
    platform: str = Field(min_length=1, max_length=64)
    occurred_at: EventTime
    ingested_at: EventTime = Field(default_factory=utcnow)
    truncated: list[str] = Field(
        default_factory=list, description="fields cut to their limit (e.g. author.handle)"
    )

    @model_validator(mode="before")
    @classmethod
    def _truncate(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        cut: list[str] = []
        data = _clip(data, cls.LIMITS, cls.IDS, "", cut)
        for name, (limits, ids) in cls.NESTED.items():
            inner = data.get(name)
            if isinstance(inner, dict):
                clipped = _clip(inner, limits, ids, name + ".", cut)
                if clipped is not inner:
                    data = {**data, name: clipped}
            elif isinstance(inner, Author) and inner.cut:  # built (and cut) by a source
                cut += [f"{name}.{c}" for c in inner.cut]
                data = {**data, name: inner.model_copy(update={"cut": []})}
        if cut:
            data = dict(data)
            data["truncated"] = sorted({*(data.get("truncated") or ()), *cut})
        return data

    def key(self) -> bytes:
        """Partition key: what must be aggregated together lands in one partition."""
        return self.event_id.encode()

    def to_json(self) -> bytes:
        data = self.model_dump(mode="json")
        if not data["truncated"]:  # the flag travels only when something was cut
            del data["truncated"]
        return orjson.dumps(data)


AUTHOR_LIMITS = {"id": ID_LIMIT, "handle": ID_LIMIT, "display_name": 500}
AUTHOR_IDS = frozenset({"id"})


class Author(BaseModel):
    """Who wrote a post. Over-long strings are cut (see :class:`_Event` for the flag)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    id: str = Field(min_length=1, max_length=ID_LIMIT)
    handle: str = Field(min_length=1, max_length=ID_LIMIT)
    display_name: str = Field("", max_length=500)
    audience: int = Field(0, ge=0, description="followers / subscribers at the time of the post")

    # What was cut when a source built this Author directly; the event it goes into names them
    # in its own ``truncated`` (as ``author.<field>``). Not part of the JSON.
    cut: list[str] = Field(default_factory=list, exclude=True, repr=False)

    @model_validator(mode="before")
    @classmethod
    def _truncate(cls, data: Any) -> Any:
        if isinstance(data, dict):
            cut: list[str] = []
            data = _clip(data, AUTHOR_LIMITS, AUTHOR_IDS, "", cut)
            if cut:
                data = {**data, "cut": cut}
        return data


class Engagement(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    likes: int = Field(0, ge=0)
    reshares: int = Field(0, ge=0)
    replies: int = Field(0, ge=0)
    quotes: int = Field(0, ge=0)


class Mention(_Event):
    """A post or article that may mention a tracked subject (topic ``buzz.mentions``)."""

    topic: ClassVar[str] = "buzz.mentions"
    LIMITS: ClassVar[dict[str, int]] = {
        **_Event.LIMITS, "text": TEXT_LIMIT, "url": URL_LIMIT, "lang": 32,
        "reshare_of": ID_LIMIT, "reply_to": ID_LIMIT, "links": URL_LIMIT, "hashtags": 200,
    }  # fmt: skip
    IDS: ClassVar[frozenset[str]] = frozenset({"event_id", "reshare_of", "reply_to"})
    NESTED: ClassVar[dict[str, tuple[dict[str, int], frozenset[str]]]] = {
        "author": (AUTHOR_LIMITS, AUTHOR_IDS)
    }
    author: Author
    text: str = Field(max_length=TEXT_LIMIT)
    url: str = ""
    lang: str = ""
    engagement: Engagement = Engagement()
    reshare_of: str | None = None
    reply_to: str | None = None
    links: list[str] = []
    hashtags: list[str] = []

    @field_validator("hashtags")
    @classmethod
    def _norm_tags(cls, v: list[str]) -> list[str]:
        return [t.lstrip("#").lower() for t in v if t.strip("# ")]

    def key(self) -> bytes:
        # A cascade (post plus its reshares) aggregates together.
        return (self.reshare_of or self.event_id).encode()


class ThreadPost(_Event):
    """A post in a discussion thread (topic ``buzz.threads``)."""

    topic: ClassVar[str] = "buzz.threads"
    LIMITS: ClassVar[dict[str, int]] = {
        **_Event.LIMITS, "thread_id": ID_LIMIT, "post_id": ID_LIMIT, "parent_id": ID_LIMIT,
        "thread_title": 1000, "text": TEXT_LIMIT, "url": URL_LIMIT, "links": URL_LIMIT,
    }  # fmt: skip
    IDS: ClassVar[frozenset[str]] = frozenset({"event_id", "thread_id", "post_id", "parent_id"})
    NESTED: ClassVar[dict[str, tuple[dict[str, int], frozenset[str]]]] = {
        "author": (AUTHOR_LIMITS, AUTHOR_IDS)
    }
    thread_id: str = Field(min_length=1, max_length=ID_LIMIT)
    post_id: str = Field(min_length=1, max_length=ID_LIMIT)
    parent_id: str | None = None
    thread_title: str = ""
    author: Author
    text: str = Field(max_length=TEXT_LIMIT)
    links: list[str] = []
    url: str = ""

    def key(self) -> bytes:
        return self.thread_id.encode()


class Utm(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    source: str = ""
    medium: str = ""
    campaign: str = ""
    content: str = ""
    term: str = ""


HmacHex = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class Signup(_Event):
    """A volunteer or supporter signup (topic ``buzz.signups``).

    Email and phone exist only as keyed HMAC-SHA256 hex digests (see ``pipeline.pii``).
    """

    topic: ClassVar[str] = "buzz.signups"
    LIMITS: ClassVar[dict[str, int]] = {
        **_Event.LIMITS, "channel": 64, "form": 200, "referral_code": 200, "country": 64,
        "region": 200, "postal_prefix": 4,
    }  # fmt: skip
    NESTED: ClassVar[dict[str, tuple[dict[str, int], frozenset[str]]]] = {
        "utm": ({k: 500 for k in ("source", "medium", "campaign", "content", "term")}, frozenset())
    }
    channel: str = Field(min_length=1, max_length=64)
    form: str = ""
    referral_code: str = ""
    utm: Utm = Utm()
    country: str = ""
    region: str = ""
    postal_prefix: str = Field("", max_length=4, description="coarse location only")
    email_hmac: HmacHex | None = None
    phone_hmac: HmacHex | None = None

    def key(self) -> bytes:
        return (self.referral_code or self.channel).encode()


DEAD_LETTER_PAYLOAD_LIMIT = 64 * 1024  # bytes of the input a dead letter keeps
REASON_LIMIT = 2000


class DeadLetter(BaseModel):
    """Input that could not be used (topic and table ``buzz.dead_letters``)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    topic: ClassVar[str] = "buzz.dead_letters"

    schema_version: Literal[1] = 1
    event_id: str
    source_topic: str = ""
    partition: int = -1
    offset: int = -1
    source: str = ""
    reason: str
    payload: str
    payload_size: int = Field(-1, description="bytes in the original input (-1: not recorded)")
    payload_sha256: str = Field("", description="SHA-256 of the whole original input")
    payload_truncated: bool = False
    received_at: UtcTime = Field(default_factory=utcnow)

    def key(self) -> bytes:
        return self.source_topic.encode() or self.source.encode()

    def to_json(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json"))

    @classmethod
    def for_payload(
        cls,
        payload: bytes,
        reason: str,
        *,
        source_topic: str = "",
        partition: int = -1,
        offset: int = -1,
        source: str = "",
    ) -> DeadLetter:
        """A dead letter whose id is stable for the same input at the same place.

        Keeps the first ``DEAD_LETTER_PAYLOAD_LIMIT`` bytes of the input (undecodable bytes
        escaped, so what is kept can grow up to four times), with the full size and hash.
        """
        digest = hashlib.sha256(payload).hexdigest()
        at = f"{source_topic}:{partition}:{offset}" if offset >= 0 else f"{source}:{digest[:32]}"
        cut = len(payload) > DEAD_LETTER_PAYLOAD_LIMIT
        text = payload[:DEAD_LETTER_PAYLOAD_LIMIT].decode("utf-8", errors="backslashreplace")
        return cls(
            event_id=f"dl:{at}",
            source_topic=source_topic,
            partition=partition,
            offset=offset,
            source=source,
            reason=reason[:REASON_LIMIT],
            payload=text,
            payload_size=len(payload),
            payload_sha256=digest,
            payload_truncated=cut,
        )


EVENT_TYPES: dict[str, type[_Event]] = {m.topic: m for m in (Mention, ThreadPost, Signup)}


class InvalidEvent(ValueError):
    """Raised by :func:`decode` with a reason fit for a dead letter."""


def describe_validation_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err["loc"]) or "event"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def validate_object(model: type[M], data: Any, *, version_optional: bool = False) -> M:
    """Validate a decoded JSON value against ``model``; raise InvalidEvent with why.

    ``version_optional`` treats a missing ``schema_version`` as the current one (history
    imports written by hand); a wrong one is always refused.
    """
    if not isinstance(data, dict):
        raise InvalidEvent(f"expected a JSON object, got {type(data).__name__}")
    version = data.get("schema_version", SCHEMA_VERSION if version_optional else None)
    if version != SCHEMA_VERSION:
        raise InvalidEvent(f"unsupported schema_version {version!r} (expected {SCHEMA_VERSION})")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidEvent(describe_validation_error(exc)) from None


def decode(topic: str, raw: bytes | None) -> _Event:
    """Parse and validate the bytes of a message on ``topic``; raise InvalidEvent with why."""
    if raw is None:
        raise InvalidEvent("empty message (no value)")
    try:
        data: Any = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidEvent(f"not JSON: {exc}") from None
    return validate_object(EVENT_TYPES[topic], data)


class SourceStatus(BaseModel):
    """A source connector's heartbeat (topic and table ``buzz.source_status``).

    Sent by the connector runner when it starts, after each successful flush (at most every
    few seconds), on errors and when it stops, so the dashboard can show each source's last
    success and last error.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)
    topic: ClassVar[str] = "buzz.source_status"

    schema_version: Literal[1] = 1
    source: str
    instance: str
    status: Literal["running", "stopped", "error"]
    started_at: UtcTime
    updated_at: UtcTime = Field(default_factory=utcnow)
    events_total: int = Field(0, ge=0)
    dead_letters_total: int = Field(0, ge=0)
    last_success_at: UtcTime | None = None
    last_error_at: UtcTime | None = None
    last_error: str = ""

    def key(self) -> bytes:
        return self.source.encode()

    def to_json(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json"))
