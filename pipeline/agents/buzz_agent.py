"""``score_mentions``: each mention's subjects, tone and weights into ``buzz.mention_scores``.

Runs beside the worker's ``sink_mentions`` on the same topic (Faust hands every message to both
and commits an offset only when both acked it). Invalid messages are skipped here: dead-lettering
them is ``sink_mentions``' job, so each bad message yields exactly one dead letter.

Per batch: validate, match subjects, score sentiment only for mentions that hit a subject (VADER is
the costly step), write one row per (mention, subject) with the batch's offset token, then ack.
Counting per minute happens later, over the de-duplicated table (``minutes_agent``), because a
minute's mentions are spread over partitions (they are keyed by cascade, not by subject).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import faust

from pipeline.agents.context import AgentContext
from pipeline.agents.plumbing import batches, raw_message, write
from pipeline.events import Mention
from pipeline.processors.mentions import process_mentions
from pipeline.processors.raw import batch_token
from pipeline.scoring.baseline import floor_minute
from pipeline.scoring.buzz import audience_weight, engagement_weight
from pipeline.scoring.sentiment import NEGATIVE_BELOW, sentiment
from pipeline.scoring.subjects import SubjectMatcher, match_subjects
from pipeline.scoring.validator_reach import ValidatorIndex, find_validator, validator_key
from pipeline.topics import MENTIONS

MENTION_SCORE_COLUMNS = (
    "event_id", "subject", "minute", "occurred_at", "author_id", "terms", "sentiment", "negative",
    "engagement_weight", "audience_weight", "validator", "reshare_of", "reply_to",
)  # fmt: skip


def mention_score_rows(
    mentions: Iterable[Mention],
    matcher: SubjectMatcher,
    validators: ValidatorIndex,
    sentiment_of: Callable[[str], float] = sentiment,
) -> list[list[Any]]:
    """One row per (mention, subject it talks about); mentions of no subject give none."""
    rows = []
    for m in mentions:
        matches = match_subjects(matcher, m.text, m.hashtags)
        if not matches:
            continue
        tone = sentiment_of(m.text)
        v = find_validator(validators, m)
        common = (
            floor_minute(m.occurred_at), m.occurred_at, m.author.id,
        )  # fmt: skip
        for match in matches:
            rows.append(
                [
                    m.event_id, match.subject_id, *common, list(match.terms), tone,
                    int(tone <= NEGATIVE_BELOW), engagement_weight(m), audience_weight(m),
                    validator_key(v) if v else "", m.reshare_of, m.reply_to,
                ]
            )  # fmt: skip
    return rows


def register(ctx: AgentContext) -> None:
    app = ctx.app
    topic = app.topic(MENTIONS, value_serializer="raw", key_serializer="raw")
    sink = ctx.new_sink()

    @app.agent(topic, name="score_mentions")
    async def score_mentions(stream: faust.StreamT) -> None:
        async for events in batches(stream, ctx.batch, ctx.within):
            raw = [raw_message(e) for e in events]
            mentions = process_mentions(raw).events
            rows = mention_score_rows(mentions, ctx.matcher, ctx.validators)
            await write(
                sink, "buzz.mention_scores", rows, MENTION_SCORE_COLUMNS,
                batch_token("mention_scores", raw),
            )  # fmt: skip
