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
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, ClassVar, Literal, Protocol, TypeVar, runtime_checkable

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
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


def _in_range(v: datetime) -> datetime:
    """Aware, in UTC, and a time the warehouse can hold and the product can use."""
    if v.tzinfo is None or v.utcoffset() is None:
        raise ValueError("timestamp must carry a timezone (ISO 8601 with offset or Z)")
    if v.tzinfo is not UTC:
        v = v.astimezone(UTC)
    if v < EARLIEST or v > utcnow() + FUTURE_SKEW:
        raise ValueError(
            f"{v.isoformat()} is out of range (from {EARLIEST.date()} to one day from now)"
        )
    return v


def _aware_utc(v: datetime) -> datetime:
    if v.tzinfo is None or v.utcoffset() is None:
        raise ValueError("timestamp must carry a timezone (ISO 8601 with offset or Z)")
    return v.astimezone(UTC)


UtcTime = Annotated[datetime, AfterValidator(_aware_utc)]
EventTime = Annotated[datetime, AfterValidator(_in_range)]

ID_LIMIT = 200
LIST_LIMIT = 500  # links and hashtags per event
TEXT_LIMIT = 100_000
URL_LIMIT = 4096
EventId = Annotated[str, Field(min_length=3, max_length=ID_LIMIT, pattern=r"^[a-z0-9_.-]+:.+$")]
Id = Annotated[str, Field(min_length=1, max_length=ID_LIMIT)]
Url = Annotated[str, Field(max_length=URL_LIMIT)]
Links = Annotated[list[Url], Field(max_length=LIST_LIMIT)]
Tags = Annotated[list[Annotated[str, Field(max_length=200)]], Field(max_length=LIST_LIMIT)]
LENGTH_ERRORS = frozenset({"string_too_long", "too_long"})


def clip_id(value: str, limit: int = ID_LIMIT) -> str:
    """An over-long identifier cut to ``limit``, ending in a hash of the whole (stable, unique)."""
    if len(value) <= limit:
        return value
    return value[: limit - 17] + "~" + hashlib.sha256(value.encode()).hexdigest()[:16]


def _clip(data: Mapping[str, Any], limits: Mapping[str, int], ids: frozenset[str],
          cut: list[str]) -> dict[str, Any]:  # fmt: skip
    """``data`` with its over-long strings, lists and list items cut; names added to ``cut``."""
    out = dict(data)
    for name, limit in limits.items():
        v = data.get(name)
        if isinstance(v, str) and len(v) > limit:
            out[name] = clip_id(v, limit) if name in ids else v[:limit]
        elif isinstance(v, list) and (
            len(v) > LIST_LIMIT or any(isinstance(x, str) and len(x) > limit for x in v)
        ):
            out[name] = [x[:limit] if isinstance(x, str) else x for x in v[:LIST_LIMIT]]
        else:
            continue
        cut.append(name)
    return out


class _Fitted(BaseModel):
    """A model that cuts over-long values to its limits instead of refusing them.

    The limits are the fields' own ``max_length`` constraints, so a value that fits costs
    nothing extra: only when validation fails on lengths alone are the values in ``LIMITS`` cut
    (``IDS`` keep a hash of the whole, see :func:`clip_id`), named in the model's flag field,
    and validated again.
    """

    LIMITS: ClassVar[dict[str, int]] = {}
    IDS: ClassVar[frozenset[str]] = frozenset()
    FLAG: ClassVar[str] = "cut"

    @model_validator(mode="wrap")
    @classmethod
    def _fit(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        try:
            return cls._absorb(handler(data))
        except ValidationError as exc:
            if not isinstance(data, Mapping) or any(
                e["type"] not in LENGTH_ERRORS for e in exc.errors()
            ):
                raise
            cut: list[str] = []
            fitted = _clip(data, cls.LIMITS, cls.IDS, cut)
            if not cut:
                raise
            fitted[cls.FLAG] = sorted({*(data.get(cls.FLAG) or ()), *cut})
            return cls._absorb(handler(fitted))

    @classmethod
    def _absorb(cls, obj: Any) -> Any:
        return obj


class _Event(_Fitted):
    model_config = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True)
    topic: ClassVar[str]
    LIMITS: ClassVar[dict[str, int]] = {"event_id": ID_LIMIT, "platform": 64}
    IDS: ClassVar[frozenset[str]] = frozenset({"event_id"})
    FLAG: ClassVar[str] = "truncated"
    NESTED: ClassVar[tuple[str, ...]] = ()  # fields holding models that cut themselves

    schema_version: Literal[1] = 1
    event_id: EventId
    platform: str = Field(min_length=1, max_length=64)
    occurred_at: EventTime
    ingested_at: EventTime = Field(default_factory=utcnow)
    truncated: list[str] = Field(
        default_factory=list, description="fields cut to their limit (e.g. author.handle)"
    )

    @classmethod
    def _absorb(cls, obj: Any) -> Any:
        """Name what the nested models cut (``author.handle``) in this event's own flag.

        The event was just built and nobody holds it yet, so it is completed in place (pydantic
        keeps the instance it built when validating through ``__init__``).
        """
        cuts: list[str] = []
        for name in cls.NESTED:
            inner = getattr(obj, name, None)
            if inner is not None and inner.cut:
                cuts += [f"{name}.{c}" for c in inner.cut]
                obj.__dict__[name] = inner.model_copy(update={"cut": []})
        if cuts:
            obj.__dict__["truncated"] = sorted({*obj.truncated, *cuts})
        return obj

    def key(self) -> bytes:
        """Partition key: what must be aggregated together lands in one partition."""
        return self.event_id.encode()

    def to_json(self) -> bytes:
        data = self.model_dump(mode="json")
        if not data["truncated"]:  # the flag travels only when something was cut
            del data["truncated"]
        return orjson.dumps(data)


def norm_tags(tags: Iterable[str]) -> list[str]:
    """Hashtags as stored: lower case, without '#', empty ones dropped."""
    return [t.lstrip("#").lower() for t in tags if t.strip("# ")]


class Author(_Fitted):
    """Who wrote a post. Over-long strings are cut (the event names them in ``truncated``)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    LIMITS: ClassVar[dict[str, int]] = {"id": ID_LIMIT, "handle": ID_LIMIT, "display_name": 500}
    IDS: ClassVar[frozenset[str]] = frozenset({"id"})

    id: Id
    handle: Id
    display_name: str = Field("", max_length=500)
    audience: int = Field(0, ge=0, description="followers / subscribers at the time of the post")
    # What was cut; the event this goes into moves it to its own ``truncated``. Not in the JSON.
    cut: list[str] = Field(default_factory=list, exclude=True, repr=False)


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
    NESTED: ClassVar[tuple[str, ...]] = ("author",)

    author: Author
    text: str = Field(max_length=TEXT_LIMIT)
    url: Url = ""
    lang: str = Field("", max_length=32)
    engagement: Engagement = Engagement()
    reshare_of: Id | None = None
    reply_to: Id | None = None
    links: Links = []
    hashtags: Tags = []

    @field_validator("hashtags")
    @classmethod
    def _norm_tags(cls, v: list[str]) -> list[str]:
        return norm_tags(v)

    def key(self) -> bytes:
        # A cascade (post plus its reshares) aggregates together.
        return (self.reshare_of or self.event_id).encode()


class AuthorLike(Protocol):
    """What the scorers read of an author (a pydantic ``Author`` or the worker's fast record)."""

    @property
    def id(self) -> str: ...
    @property
    def handle(self) -> str: ...
    @property
    def display_name(self) -> str: ...
    @property
    def audience(self) -> int: ...


class EngagementLike(Protocol):
    @property
    def likes(self) -> int: ...
    @property
    def reshares(self) -> int: ...
    @property
    def replies(self) -> int: ...
    @property
    def quotes(self) -> int: ...


@runtime_checkable
class MentionLike(Protocol):
    """What the processors and scorers read of a mention: a pydantic ``Mention`` (sources, the
    warehouse) or the worker's fast record (``pipeline.wire``), with the same fields."""

    @property
    def event_id(self) -> str: ...
    @property
    def platform(self) -> str: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def ingested_at(self) -> datetime: ...
    @property
    def author(self) -> AuthorLike: ...
    @property
    def text(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def lang(self) -> str: ...
    @property
    def engagement(self) -> EngagementLike: ...
    @property
    def reshare_of(self) -> str | None: ...
    @property
    def reply_to(self) -> str | None: ...
    @property
    def links(self) -> list[str]: ...
    @property
    def hashtags(self) -> list[str]: ...
    @property
    def truncated(self) -> list[str]: ...


class ThreadPost(_Event):
    """A post in a discussion thread (topic ``buzz.threads``)."""

    topic: ClassVar[str] = "buzz.threads"
    LIMITS: ClassVar[dict[str, int]] = {
        **_Event.LIMITS, "thread_id": ID_LIMIT, "post_id": ID_LIMIT, "parent_id": ID_LIMIT,
        "thread_title": 1000, "text": TEXT_LIMIT, "url": URL_LIMIT, "links": URL_LIMIT,
    }  # fmt: skip
    IDS: ClassVar[frozenset[str]] = frozenset({"event_id", "thread_id", "post_id", "parent_id"})
    NESTED: ClassVar[tuple[str, ...]] = ("author",)

    thread_id: Id
    post_id: Id
    parent_id: Id | None = None
    thread_title: str = Field("", max_length=1000)
    author: Author
    text: str = Field(max_length=TEXT_LIMIT)
    links: Links = []
    url: Url = ""

    def key(self) -> bytes:
        return self.thread_id.encode()


class Utm(_Fitted):
    model_config = ConfigDict(extra="ignore", frozen=True)
    LIMITS: ClassVar[dict[str, int]] = dict.fromkeys(
        ("source", "medium", "campaign", "content", "term"), 500
    )
    source: str = Field("", max_length=500)
    medium: str = Field("", max_length=500)
    campaign: str = Field("", max_length=500)
    content: str = Field("", max_length=500)
    term: str = Field("", max_length=500)
    cut: list[str] = Field(default_factory=list, exclude=True, repr=False)


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
    NESTED: ClassVar[tuple[str, ...]] = ("utm",)

    channel: str = Field(min_length=1, max_length=64)
    form: str = Field("", max_length=200)
    referral_code: str = Field("", max_length=200)
    utm: Utm = Utm()
    country: str = Field("", max_length=64)
    region: str = Field("", max_length=200)
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
