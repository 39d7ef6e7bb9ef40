"""Event schemas: one per topic, versioned with ``schema_version``.

These models are the contract between sources and processors (see docs/events.md). Sources
build them; processors validate raw bytes against them and dead-letter what does not fit.
Times are timezone-aware UTC; ``occurred_at`` is event time, ``ingested_at`` is when the
source saw it.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal, TypeVar

import orjson
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

SCHEMA_VERSION = 1
M = TypeVar("M", bound=BaseModel)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _aware_utc(v: datetime) -> datetime:
    if v.tzinfo is None or v.utcoffset() is None:
        raise ValueError("timestamp must carry a timezone (ISO 8601 with offset or Z)")
    return v.astimezone(UTC)


UtcTime = Annotated[datetime, AfterValidator(_aware_utc)]
EventId = Annotated[str, Field(min_length=3, max_length=200, pattern=r"^[a-z0-9_.-]+:.+$")]


class _Event(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True)
    topic: ClassVar[str]

    schema_version: Literal[1] = 1
    event_id: EventId
    platform: str = Field(min_length=1, max_length=64)
    occurred_at: UtcTime
    ingested_at: UtcTime = Field(default_factory=utcnow)

    def key(self) -> bytes:
        """Partition key: what must be aggregated together lands in one partition."""
        return self.event_id.encode()

    def to_json(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json"))


class Author(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    id: str = Field(min_length=1, max_length=200)
    handle: str = Field(min_length=1, max_length=200)
    display_name: str = ""
    audience: int = Field(0, ge=0, description="followers / subscribers at the time of the post")


class Engagement(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    likes: int = Field(0, ge=0)
    reshares: int = Field(0, ge=0)
    replies: int = Field(0, ge=0)
    quotes: int = Field(0, ge=0)


class Mention(_Event):
    """A post or article that may mention a tracked subject (topic ``buzz.mentions``)."""

    topic: ClassVar[str] = "buzz.mentions"
    author: Author
    text: str = Field(max_length=100_000)
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
    thread_id: str = Field(min_length=1)
    post_id: str = Field(min_length=1)
    parent_id: str | None = None
    thread_title: str = ""
    author: Author
    text: str = Field(max_length=100_000)
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
        """Build a dead letter whose id is stable for the same input at the same place."""
        if offset >= 0:
            ident = f"{source_topic}:{partition}:{offset}"
        else:
            ident = f"{source}:{hashlib.sha256(payload).hexdigest()[:32]}"
        return cls(
            event_id=f"dl:{ident}",
            source_topic=source_topic,
            partition=partition,
            offset=offset,
            source=source,
            reason=reason[:2000],
            payload=payload.decode("utf-8", errors="backslashreplace")[:1_000_000],
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
