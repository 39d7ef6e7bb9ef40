"""``score_threads``: raw discussion posts, per-post substance and per-thread quality.

Thread posts are keyed by ``thread_id``, so a thread lives in one partition. Per batch: validate
(invalid -> dead letter with reason), write the raw posts, then read every post of the threads the
batch touched back from ``buzz.thread_posts FINAL`` (the thread history, which therefore survives
restarts and absorbs duplicates), score them with the pure ``scoring.conversation`` functions,
write ``buzz.thread_post_scores`` and ``buzz.thread_scores``, raise golden-thread and
unanswered-question alerts, and only then ack the batch.

A question becomes "unanswered" by waiting, not by new input, so a leader-only timer also looks at
threads whose oldest open question has aged past the campaign's threshold.

Failure policy: dead letters as in ``pipeline.processors.common``; reads and writes in the stream
retry until accepted (the batch stays unacked meanwhile); the timer skips a pass on a failed read.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import faust
import orjson

from pipeline.agents.context import AgentContext
from pipeline.agents.plumbing import (
    ReadFailed,
    WarehouseReader,
    batches,
    content_token,
    raw_message,
    send_dead_letters,
    utc_literal,
    write,
)
from pipeline.agents.stored import THREAD_POST_SELECT, thread_post_from_row
from pipeline.campaign import Campaign
from pipeline.events import ThreadPost
from pipeline.processors.raw import batch_token
from pipeline.processors.threads import THREAD_POST_COLUMNS, process_thread_posts
from pipeline.scoring.alerts import Alert, golden_thread_alert, unanswered_question_alert
from pipeline.scoring.conversation import (
    SUBSTANTIVE_AT,
    ThreadMetrics,
    is_golden_thread,
    is_question,
    substance,
    thread_metrics,
    unanswered_questions,
)
from pipeline.scoring.subjects import SubjectMatcher, subject_ids
from pipeline.topics import THREADS

log = logging.getLogger("pipeline.agents.threads")

AGE_CHECK_SECONDS = 30.0
UNANSWERED_UNTIL = timedelta(days=7)

POST_SCORE_COLUMNS = (
    "thread_id", "post_id", "event_id", "occurred_at", "author_id", "substance", "substantive",
    "low_effort", "is_question", "features",
)  # fmt: skip
THREAD_SCORE_COLUMNS = (
    "thread_id", "thread_title", "subject", "url", "first_post_at", "last_post_at", "posts",
    "participants", "substantive_posts", "transactions", "back_and_forth", "links_added",
    "questions", "questions_answered", "oldest_open_question_at", "low_effort_share",
    "mean_substance", "quality", "golden",
)  # fmt: skip


def post_score_rows(posts: Sequence[ThreadPost]) -> list[list[Any]]:
    rows = []
    for p in posts:
        s = substance(p.text, p.links)
        rows.append(
            [p.thread_id, p.post_id, p.event_id, p.occurred_at, p.author.id, s.score,
             int(s.score >= SUBSTANTIVE_AT), int(s.low_effort), int(is_question(p.text)),
             orjson.dumps({k: round(v, 6) for k, v in s.features.items()}).decode()]
        )  # fmt: skip
    return rows


def thread_subject(posts: Sequence[ThreadPost], matcher: SubjectMatcher) -> str:
    """The first tracked subject of the title and opening post (empty if none)."""
    first = min(posts, key=lambda p: (p.parent_id is not None, p.occurred_at, p.post_id))
    ids = subject_ids(matcher, f"{first.thread_title}\n{first.text}")
    return ids[0] if ids else ""


def golden(m: ThreadMetrics, campaign: Campaign) -> bool:
    t = campaign.thresholds
    return is_golden_thread(
        m, min_quality=t.golden_min_quality, min_transactions=t.golden_min_transactions
    )


def thread_score_row(
    thread_id: str, posts: Sequence[ThreadPost], m: ThreadMetrics, subject: str, is_golden: bool
) -> list[Any]:
    first = min(posts, key=lambda p: (p.parent_id is not None, p.occurred_at, p.post_id))
    open_q = [q.asked_at for q in m.questions if q.answered_at is None]
    return [
        thread_id, first.thread_title, subject, first.url, min(p.occurred_at for p in posts),
        max(p.occurred_at for p in posts), m.posts, m.participants, m.substantive_posts,
        m.transactions, m.back_and_forth, m.links_added, len(m.questions),
        m.questions_answered, min(open_q) if open_q else None, m.low_effort_share,
        m.mean_substance, m.quality, int(is_golden),
    ]  # fmt: skip


def thread_alerts(
    thread_id: str, posts: Sequence[ThreadPost], m: ThreadMetrics, subject: str,
    campaign: Campaign, now: datetime,
) -> list[Alert]:  # fmt: skip
    """Golden thread and unanswered questions of one thread (pure)."""
    out = []
    if golden(m, campaign):
        first = min(posts, key=lambda p: (p.parent_id is not None, p.occurred_at, p.post_id))
        out.append(golden_thread_alert(thread_id, subject, m, first.occurred_at, first.url))
    after = timedelta(minutes=campaign.thresholds.unanswered_question_minutes)
    for q in unanswered_questions(m, now, after=after, until=UNANSWERED_UNTIL):
        # The alert's time is when the question became overdue: stable under replay.
        out.append(unanswered_question_alert(q, subject, thread_id, q.asked_at + after))
    return out


async def read_threads(
    reader: WarehouseReader, thread_ids: Sequence[str], retry: bool
) -> dict[str, list[ThreadPost]]:
    sql = f"SELECT {THREAD_POST_SELECT} FROM buzz.thread_posts FINAL WHERE thread_id IN %(ids)s"
    params = {"ids": tuple(thread_ids)}
    rows = await (reader.aquery_retrying if retry else reader.aquery)(sql, params)
    out: dict[str, list[ThreadPost]] = defaultdict(list)
    for r in rows:
        p = thread_post_from_row(r)
        out[p.thread_id].append(p)
    return out


async def score_threads_now(
    ctx: AgentContext, sink: Any, threads: dict[str, list[ThreadPost]], now: datetime
) -> None:
    rows, alerts = [], []
    for tid, posts in sorted(threads.items()):
        m = thread_metrics(posts)
        subject = thread_subject(posts, ctx.matcher)
        rows.append(thread_score_row(tid, posts, m, subject, golden(m, ctx.campaign)))
        alerts += thread_alerts(tid, posts, m, subject, ctx.campaign, now)
    await write(sink, "buzz.thread_scores", rows, THREAD_SCORE_COLUMNS,
                content_token("thread_scores", rows))  # fmt: skip
    await ctx.alerts.publish(alerts)


def register(ctx: AgentContext) -> None:
    app = ctx.app
    topic = app.topic(THREADS, value_serializer="raw", key_serializer="raw")
    sink = ctx.new_sink()

    @app.agent(topic, name="score_threads")
    async def score_threads(stream: faust.StreamT) -> None:
        async for events in batches(stream, ctx.batch, ctx.within):
            raw = [raw_message(e) for e in events]
            result = process_thread_posts(raw)
            await send_dead_letters(ctx.dead_letters, result.dead_letters)
            await write(sink, "buzz.thread_posts", result.rows, THREAD_POST_COLUMNS,
                        batch_token("thread_posts", raw))  # fmt: skip
            if not result.events:
                continue
            await write(sink, "buzz.thread_post_scores", post_score_rows(result.events),
                        POST_SCORE_COLUMNS, batch_token("thread_post_scores", raw))  # fmt: skip
            ids = sorted({p.thread_id for p in result.events})
            threads = await read_threads(ctx.reader, ids, retry=True)
            await score_threads_now(ctx, sink, threads, datetime.now(UTC))

    age_sink = ctx.new_sink()
    seen: dict[str, Any] = {}  # thread id -> computed_at already checked

    @app.timer(interval=AGE_CHECK_SECONDS, on_leader=True, name="age_questions")
    async def age_questions() -> None:
        now = datetime.now(UTC)
        after = timedelta(minutes=ctx.campaign.thresholds.unanswered_question_minutes)
        try:
            due = await ctx.reader.aquery(
                "SELECT thread_id, computed_at FROM buzz.thread_scores FINAL"
                " WHERE oldest_open_question_at <= toDateTime64(%(due)s, 3, 'UTC')"
                " AND oldest_open_question_at >= toDateTime64(%(old)s, 3, 'UTC')",
                {"due": utc_literal(now - after), "old": utc_literal(now - UNANSWERED_UNTIL)},
            )
            todo = [tid for tid, at in due if seen.get(tid) != at]
            if todo:
                threads = await read_threads(ctx.reader, todo, retry=False)
                await score_threads_now(ctx, age_sink, threads, now)
            seen.update(dict(due))
        except ReadFailed as exc:
            log.warning("question ageing skipped this pass: %s", exc)
