"""The warehouse tables the worker writes, defined once: name, columns, and a row record.

A row is a ``NamedTuple``: a record with named fields for the code that builds or reads it, and a
plain tuple for the insert (no copying). The column list of a table is its record's fields, so a
sink, a reader (``SELECT {table.select} ...`` then ``table.row(*values)``) and the schema test
(tests/test_tables.py checks every table here against a freshly migrated warehouse) all use the same
definition. Columns a table fills by itself (``sunk_at``, ``scored_at``, ``computed_at`` defaults)
are not part of the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, NamedTuple, TypeVar

R = TypeVar("R", bound=tuple[Any, ...])


@dataclass(frozen=True)
class Table(Generic[R]):
    name: str
    row: type[R]

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.row._fields)  # type: ignore[attr-defined]

    @property
    def select(self) -> str:
        """The column list for ``SELECT {select} FROM {name}``, in record order."""
        return ", ".join(self.columns)

    def read(self, values: Any) -> R:
        return self.row(*values)

    def __str__(self) -> str:
        return self.name


# --- raw events ---------------------------------------------------------------------------


class MentionRow(NamedTuple):
    event_id: str
    platform: str
    occurred_at: datetime
    ingested_at: datetime
    author_id: str
    author_handle: str
    author_name: str
    author_audience: int
    text: str
    url: str
    lang: str
    likes: int
    reshares: int
    replies: int
    quotes: int
    reshare_of: str | None
    reply_to: str | None
    links: list[str]
    hashtags: list[str]
    truncated: list[str]
    sentiment: float


class ThreadPostRow(NamedTuple):
    event_id: str
    platform: str
    occurred_at: datetime
    ingested_at: datetime
    thread_id: str
    post_id: str
    parent_id: str | None
    thread_title: str
    author_id: str
    author_handle: str
    author_name: str
    author_audience: int
    text: str
    links: list[str]
    url: str
    truncated: list[str]


class SignupRow(NamedTuple):
    event_id: str
    platform: str
    occurred_at: datetime
    ingested_at: datetime
    channel: str
    form: str
    referral_code: str
    utm_source: str
    utm_medium: str
    utm_campaign: str
    utm_content: str
    utm_term: str
    country: str
    region: str
    postal_prefix: str
    email_hmac: str | None
    phone_hmac: str | None
    truncated: list[str]


class DeadLetterRow(NamedTuple):
    event_id: str
    source_topic: str
    partition: int
    offset: int
    source: str
    reason: str
    payload: str
    payload_size: int
    payload_sha256: str
    payload_truncated: int
    received_at: datetime


class SourceStatusRow(NamedTuple):
    source: str
    instance: str
    status: str
    started_at: datetime
    updated_at: datetime
    events_total: int
    dead_letters_total: int
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str


# --- scores -------------------------------------------------------------------------------


class MentionScoreRow(NamedTuple):
    event_id: str
    subject: str
    minute: datetime
    occurred_at: datetime
    author_id: str
    terms: list[str]
    sentiment: float
    negative: int
    engagement_weight: float
    audience_weight: float
    validator: str
    reshare_of: str | None
    reply_to: str | None


class BuzzMinuteRow(NamedTuple):
    subject: str
    subject_kind: str
    minute: datetime
    mentions: int
    unique_authors: int
    engagement_volume: float
    audience_volume: float
    sentiment_mean: float
    negative_share: float
    share_of_voice: float | None
    expected: float | None
    expected_std: float | None
    anomaly_score: float | None
    spike: int
    attack: int


class SignupMinuteRow(NamedTuple):
    channel: str
    minute: datetime
    signups: int
    expected: float | None
    anomaly_score: float | None
    surge: int


class BaselineStateRow(NamedTuple):
    series: str
    last_minute: datetime
    state: str


class StreamProgressRow(NamedTuple):
    job: str
    through: datetime


class StreamPartitionRow(NamedTuple):
    topic: str
    partition: int
    next_offset: int
    event_time_watermark: datetime
    caught_up_at: datetime
    behind: int
    worker: str


class ValidatorRow(NamedTuple):
    validator: str
    name: str
    group_name: str
    trust_weight: float
    platforms: list[str]
    handles: list[str]


class ValidatorReachRow(NamedTuple):
    root_id: str
    validator: str
    group_name: str
    subject: str
    posted_at: datetime
    url: str
    posts: int
    direct_audience: int
    cascade_audience: int
    amplifiers: int
    repliers: int
    depth: int
    structural_virality: float
    trust_weight: float
    trust_weighted_reach: float
    taking_off: int


class ThreadScoreRow(NamedTuple):
    thread_id: str
    thread_title: str
    subject: str
    url: str
    first_post_at: datetime
    last_post_at: datetime
    posts: int
    participants: int
    substantive_posts: int
    transactions: int
    back_and_forth: int
    links_added: int
    questions: int
    questions_answered: int
    oldest_open_question_at: datetime | None
    low_effort_share: float
    mean_substance: float
    quality: float
    golden: int


class ThreadPostScoreRow(NamedTuple):
    thread_id: str
    post_id: str
    event_id: str
    occurred_at: datetime
    author_id: str
    substance: float
    substantive: int
    low_effort: int
    is_question: int
    features: str


class AttributionRow(NamedTuple):
    event_id: str
    occurred_at: datetime
    channel: str
    form: str
    kind: str
    target_id: str
    via: str


class LagRow(NamedTuple):
    subject: str
    lag_hours: int
    r: float | None
    pairs: int
    window_start: datetime
    window_end: datetime


class AlertRow(NamedTuple):
    alert_id: str
    kind: str
    subject: str
    severity: str
    title: str
    at: datetime
    explanation: str
    example_urls: list[str]
    revision: int
    last_at: datetime


class AlertDeliveryRow(NamedTuple):
    alert_id: str
    route: str
    channel: str
    kind: str
    severity: str
    mode: str
    status: str
    attempt: int
    digest_id: str
    error: str
    next_attempt_at: datetime | None
    alert_created_at: datetime
    worker: str
    at: datetime


MENTIONS = Table("buzz.mentions", MentionRow)
THREAD_POSTS = Table("buzz.thread_posts", ThreadPostRow)
SIGNUPS = Table("buzz.signups", SignupRow)
DEAD_LETTERS = Table("buzz.dead_letters", DeadLetterRow)
SOURCE_STATUS = Table("buzz.source_status", SourceStatusRow)
MENTION_SCORES = Table("buzz.mention_scores", MentionScoreRow)
BUZZ_MINUTES = Table("buzz.buzz_minutes", BuzzMinuteRow)
SIGNUP_MINUTES = Table("buzz.signup_minutes", SignupMinuteRow)
BASELINE_STATE = Table("buzz.baseline_state", BaselineStateRow)
STREAM_PROGRESS = Table("buzz.stream_progress", StreamProgressRow)
STREAM_PARTITIONS = Table("buzz.stream_partitions", StreamPartitionRow)
VALIDATORS = Table("buzz.validators", ValidatorRow)
VALIDATOR_REACH = Table("buzz.validator_reach", ValidatorReachRow)
THREAD_SCORES = Table("buzz.thread_scores", ThreadScoreRow)
THREAD_POST_SCORES = Table("buzz.thread_post_scores", ThreadPostScoreRow)
SIGNUP_ATTRIBUTION = Table("buzz.signup_attribution", AttributionRow)
BUZZ_SIGNUP_LAG = Table("buzz.buzz_signup_lag", LagRow)
ALERTS = Table("buzz.alerts", AlertRow)
ALERT_DELIVERIES = Table("buzz.alert_deliveries", AlertDeliveryRow)

ALL: tuple[Table[Any], ...] = (
    MENTIONS, THREAD_POSTS, SIGNUPS, DEAD_LETTERS, SOURCE_STATUS, MENTION_SCORES, BUZZ_MINUTES,
    SIGNUP_MINUTES, BASELINE_STATE, STREAM_PROGRESS, STREAM_PARTITIONS, VALIDATORS,
    VALIDATOR_REACH, THREAD_SCORES, THREAD_POST_SCORES, SIGNUP_ATTRIBUTION, BUZZ_SIGNUP_LAG, ALERTS,
    ALERT_DELIVERIES,
)  # fmt: skip
