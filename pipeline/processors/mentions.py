"""``buzz.mentions``: each message decoded once into every row it produces.

Per mention: the raw row (``buzz.mentions``, with the tone of its text, so analysts can ask about
the overall tone too), and one ``buzz.mention_scores`` row per tracked subject it talks about
(terms matched, tone, engagement and audience weights, the validator who wrote it). Counting per
minute happens when a minute closes (``pipeline.jobs.minutes``), over the de-duplicated table,
because a minute's mentions are spread over partitions (they are keyed by cascade, not subject).

Failure policy: see :mod:`pipeline.processors.common`. A mention whose scoring raises keeps its
raw row and is dead-lettered with the error (so it can be re-scored after a fix).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pipeline.events import MentionLike
from pipeline.processors.common import decode_batch, failed
from pipeline.processors.raw import RawMessage
from pipeline.scoring.baseline import floor_minute
from pipeline.scoring.buzz import audience_weight, engagement_weight
from pipeline.scoring.sentiment import NEGATIVE_BELOW, sentiment
from pipeline.scoring.subjects import SubjectMatcher, match_subjects
from pipeline.scoring.validator_reach import ValidatorIndex, find_validator, validator_key
from pipeline.stream.output import Output
from pipeline.tables import MENTION_SCORES, MENTIONS, MentionRow, MentionScoreRow
from pipeline.wire import decode_mention


@dataclass(frozen=True)
class MentionScoring:
    """What scoring a mention needs, built once per worker from the campaign."""

    matcher: SubjectMatcher
    validators: ValidatorIndex
    sentiment_of: Callable[[str], float] = sentiment


def mention_row(m: MentionLike, tone: float) -> MentionRow:
    a, e = m.author, m.engagement
    return MentionRow(
        event_id=m.event_id,
        platform=m.platform,
        occurred_at=m.occurred_at,
        ingested_at=m.ingested_at,
        author_id=a.id,
        author_handle=a.handle,
        author_name=a.display_name,
        author_audience=a.audience,
        text=m.text,
        url=m.url,
        lang=m.lang,
        likes=e.likes,
        reshares=e.reshares,
        replies=e.replies,
        quotes=e.quotes,
        reshare_of=m.reshare_of,
        reply_to=m.reply_to,
        links=m.links,
        hashtags=m.hashtags,
        truncated=m.truncated,
        sentiment=tone,
    )


def score_rows(m: MentionLike, tone: float, scoring: MentionScoring) -> list[MentionScoreRow]:
    """One row per tracked subject the mention talks about; none when it names no subject."""
    matches = match_subjects(scoring.matcher, m.text, m.hashtags)
    if not matches:
        return []
    v = find_validator(scoring.validators, m)
    minute, negative = floor_minute(m.occurred_at), int(tone <= NEGATIVE_BELOW)
    ew, aw, key = engagement_weight(m), audience_weight(m), validator_key(v) if v else ""
    return [
        MentionScoreRow(
            event_id=m.event_id,
            subject=match.subject_id,
            minute=minute,
            occurred_at=m.occurred_at,
            author_id=m.author.id,
            terms=list(match.terms),
            sentiment=tone,
            negative=negative,
            engagement_weight=ew,
            audience_weight=aw,
            validator=key,
            reshare_of=m.reshare_of,
            reply_to=m.reply_to,
        )
        for match in matches
    ]


def read_mention(msg: RawMessage) -> MentionLike:
    return decode_mention(msg.value)


def process_mentions(messages: Sequence[RawMessage], scoring: MentionScoring) -> Output:
    """Every row, dead letter and nothing else that a batch of ``buzz.mentions`` produces."""
    out = Output()
    events = decode_batch(messages, out, read_mention)
    for m, msg in events:
        try:
            tone = scoring.sentiment_of(m.text)
            scores = score_rows(m, tone, scoring)
        except Exception as exc:  # a scorer bug must not stop the partition
            out.add(MENTIONS, mention_row(m, 0.0), msg)
            out.dead_letters.append(failed(msg, "scoring", exc))
            continue
        out.add(MENTIONS, mention_row(m, tone), msg)
        out.extend(MENTION_SCORES, scores, msg)
    return out


class MentionProcessor:
    topic = "buzz.mentions"

    def __init__(self, scoring: MentionScoring) -> None:
        self.scoring = scoring

    def revoked(self, partitions: set[int]) -> None:
        pass  # nothing held per partition

    async def process(self, messages: Sequence[RawMessage]) -> Output:
        return process_mentions(messages, self.scoring)
