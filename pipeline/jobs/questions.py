"""Questions left unanswered: a question becomes overdue by waiting, not by new input.

Every ``every`` seconds the job looks for threads whose oldest open question has waited past the
campaign's ``unanswered_question_minutes`` (and is not older than a week), reads those threads
back and raises an alert per overdue question (``pipeline.processors.threads.score_thread``, the
same scoring the stream uses). A thread is looked at again only when its scores changed since
(the ids remembered are bounded), and alerts have deterministic ids, so nothing is raised twice.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline.jobs.base import JobContext
from pipeline.processors.threads import UNANSWERED_UNTIL, read_threads, score_thread
from pipeline.scoring.alerts import Alert
from pipeline.stream.reader import utc_literal

log = logging.getLogger("pipeline.jobs.questions")

REMEMBERED = 10_000

DUE_SQL = (
    "SELECT thread_id, computed_at FROM buzz.thread_scores FINAL"
    " WHERE oldest_open_question_at <= toDateTime64(%(due)s, 3, 'UTC')"
    " AND oldest_open_question_at >= toDateTime64(%(old)s, 3, 'UTC')"
)


class QuestionAger:
    name = "age_questions"
    every = 30.0

    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self.seen: OrderedDict[str, Any] = OrderedDict()  # thread id -> computed_at checked

    async def load(self) -> None:
        self.seen.clear()

    async def run_once(self, now: datetime | None = None) -> list[Alert]:
        now = now or datetime.now(UTC)
        after = timedelta(minutes=self.ctx.campaign.thresholds.unanswered_question_minutes)
        due = await self.ctx.reader.aquery(
            DUE_SQL, {"due": utc_literal(now - after), "old": utc_literal(now - UNANSWERED_UNTIL)}
        )
        todo = [tid for tid, at in due if self.seen.get(tid) != at]
        alerts: list[Alert] = []
        if todo:
            threads = await read_threads(self.ctx.reader, todo, retry=False)
            for tid, posts in sorted(threads.items()):
                _, found = score_thread(tid, posts, self.ctx.matcher, self.ctx.campaign, now)
                alerts += [a for a in found if a.kind == "unanswered_question"]
        for tid, at in due:
            self.seen[tid] = at
            self.seen.move_to_end(tid)
        while len(self.seen) > REMEMBERED:
            self.seen.popitem(last=False)
        return await self.ctx.alerts.publish(alerts)
