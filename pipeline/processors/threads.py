"""``buzz.threads``: raw discussion posts, per-post substance and per-thread quality.

Thread posts are keyed by ``thread_id``, so a thread lives in one partition and one worker. The
worker keeps the threads it has seen recently in memory (:class:`ThreadCache`, bounded, least
recently used first out, dropped for partitions it gives up); a thread it does not hold (after a
restart or an eviction) is read back once from ``buzz.thread_posts`` (which absorbs duplicates).
Per batch: decode, raw rows and post scores, add the posts to their threads, score each thread the
batch touched with the pure ``scoring.conversation`` functions, and raise golden-thread and
unanswered-question alerts (their ids are deterministic, so a repeat is absorbed downstream).

A question becomes "unanswered" by waiting, not by new input: ``pipeline.jobs.questions`` looks
at the threads whose oldest open question has aged past the campaign's threshold.

Failure policy: see :mod:`pipeline.processors.common`; a thread whose scoring raises has its
posts of the batch dead-lettered with the error (their raw rows are still written).
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

import orjson

from pipeline.campaign import Campaign
from pipeline.events import Author, ThreadPost
from pipeline.processors.common import decode_batch, failed, reader_of
from pipeline.processors.raw import RawMessage
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
from pipeline.stream.output import Output
from pipeline.stream.reader import WarehouseReader, as_utc
from pipeline.tables import (
    THREAD_POST_SCORES,
    THREAD_POSTS,
    THREAD_SCORES,
    ThreadPostRow,
    ThreadPostScoreRow,
    ThreadScoreRow,
)

UNANSWERED_UNTIL = timedelta(days=7)
CACHED_THREADS = 20_000  # threads held in memory per worker


def thread_post_row(p: ThreadPost) -> ThreadPostRow:
    a = p.author
    return ThreadPostRow(
        event_id=p.event_id,
        platform=p.platform,
        occurred_at=p.occurred_at,
        ingested_at=p.ingested_at,
        thread_id=p.thread_id,
        post_id=p.post_id,
        parent_id=p.parent_id,
        thread_title=p.thread_title,
        author_id=a.id,
        author_handle=a.handle,
        author_name=a.display_name,
        author_audience=a.audience,
        text=p.text,
        links=p.links,
        url=p.url,
        truncated=p.truncated,
    )


def post_from_row(r: ThreadPostRow) -> ThreadPost:
    """A stored post back as the event the scorers take (values were validated when written)."""
    author = Author.model_construct(
        id=r.author_id,
        handle=r.author_handle,
        display_name=r.author_name,
        audience=r.author_audience,
        cut=[],
    )
    return ThreadPost.model_construct(
        schema_version=1,
        event_id=r.event_id,
        platform=r.platform,
        occurred_at=as_utc(r.occurred_at),
        ingested_at=as_utc(r.ingested_at),
        thread_id=r.thread_id,
        post_id=r.post_id,
        parent_id=r.parent_id,
        thread_title=r.thread_title,
        author=author,
        text=r.text,
        links=list(r.links),
        url=r.url,
        truncated=list(r.truncated),
    )


def post_score_row(p: ThreadPost) -> ThreadPostScoreRow:
    s = substance(p.text, p.links)
    return ThreadPostScoreRow(
        thread_id=p.thread_id,
        post_id=p.post_id,
        event_id=p.event_id,
        occurred_at=p.occurred_at,
        author_id=p.author.id,
        substance=s.score,
        substantive=int(s.score >= SUBSTANTIVE_AT),
        low_effort=int(s.low_effort),
        is_question=int(is_question(p.text)),
        features=orjson.dumps({k: round(v, 6) for k, v in s.features.items()}).decode(),
    )


def opening_post(posts: Iterable[ThreadPost]) -> ThreadPost:
    return min(posts, key=lambda p: (p.parent_id is not None, p.occurred_at, p.post_id))


def thread_subject(posts: Sequence[ThreadPost], matcher: SubjectMatcher) -> str:
    """The first tracked subject of the title and opening post (empty if none)."""
    first = opening_post(posts)
    ids = subject_ids(matcher, f"{first.thread_title}\n{first.text}")
    return ids[0] if ids else ""


def golden(m: ThreadMetrics, campaign: Campaign) -> bool:
    t = campaign.thresholds
    return is_golden_thread(
        m,
        min_quality=t.golden_min_quality,
        min_transactions=t.golden_min_transactions,
        min_back_and_forth=t.golden_min_back_and_forth,
    )


def thread_score_row(
    thread_id: str, posts: Sequence[ThreadPost], m: ThreadMetrics, subject: str, is_golden: bool
) -> ThreadScoreRow:
    first = opening_post(posts)
    open_q = [q.asked_at for q in m.questions if q.answered_at is None]
    return ThreadScoreRow(
        thread_id=thread_id,
        thread_title=first.thread_title,
        subject=subject,
        url=first.url,
        first_post_at=min(p.occurred_at for p in posts),
        last_post_at=max(p.occurred_at for p in posts),
        posts=m.posts,
        participants=m.participants,
        substantive_posts=m.substantive_posts,
        transactions=m.transactions,
        back_and_forth=m.back_and_forth,
        links_added=m.links_added,
        questions=len(m.questions),
        questions_answered=m.questions_answered,
        oldest_open_question_at=min(open_q) if open_q else None,
        low_effort_share=m.low_effort_share,
        mean_substance=m.mean_substance,
        quality=m.quality,
        golden=int(is_golden),
    )


def thread_alerts(
    thread_id: str,
    posts: Sequence[ThreadPost],
    m: ThreadMetrics,
    subject: str,
    campaign: Campaign,
    now: datetime,
) -> list[Alert]:
    """Golden thread and unanswered opening question of one thread (pure).

    Only the question a thread was opened with alerts: someone came to ask and nobody answered.
    Questions asked inside a running exchange are the participants' to answer (they stay in
    ``buzz.thread_scores`` and on the Conversations page).
    """
    out = []
    first = opening_post(posts)
    if golden(m, campaign):
        out.append(golden_thread_alert(thread_id, subject, m, first.occurred_at, first.url))
    after = timedelta(minutes=campaign.thresholds.unanswered_question_minutes)
    for q in unanswered_questions(m, now, after=after, until=UNANSWERED_UNTIL):
        if q.post_id != first.post_id:
            continue
        # The alert's time is when the question became overdue: stable under replay.
        out.append(unanswered_question_alert(q, subject, thread_id, q.asked_at + after))
    return out


def score_thread(
    thread_id: str,
    posts: Sequence[ThreadPost],
    matcher: SubjectMatcher,
    campaign: Campaign,
    now: datetime,
) -> tuple[ThreadScoreRow, list[Alert]]:
    """The ``buzz.thread_scores`` row and the alerts of one thread (pure)."""
    m = thread_metrics(posts)
    subject = thread_subject(posts, matcher)
    row = thread_score_row(thread_id, posts, m, subject, golden(m, campaign))
    return row, thread_alerts(thread_id, posts, m, subject, campaign, now)


class ThreadCache:
    """Recently seen threads, bounded: thread id -> (partition, posts by event id)."""

    def __init__(self, capacity: int = CACHED_THREADS) -> None:
        self.capacity = capacity
        self._threads: OrderedDict[str, tuple[int, dict[str, ThreadPost]]] = OrderedDict()

    def __contains__(self, thread_id: str) -> bool:
        return thread_id in self._threads

    def __len__(self) -> int:
        return len(self._threads)

    def posts(self, thread_id: str) -> list[ThreadPost]:
        return list(self._threads[thread_id][1].values())

    def add(self, partition: int, posts: Iterable[ThreadPost]) -> None:
        for p in posts:
            entry = self._threads.get(p.thread_id)
            if entry is None:
                entry = self._threads[p.thread_id] = (partition, {})
            else:
                self._threads.move_to_end(p.thread_id)
            entry[1][p.event_id] = p
        while len(self._threads) > self.capacity:
            self._threads.popitem(last=False)

    def forget_partitions(self, partitions: set[int]) -> None:
        """Another worker owns these now: what we hold of them would go stale."""
        for tid in [t for t, (part, _) in self._threads.items() if part in partitions]:
            del self._threads[tid]


async def read_threads(
    reader: WarehouseReader, thread_ids: Sequence[str], *, retry: bool = True
) -> dict[str, list[ThreadPost]]:
    """Every stored post of the given threads (one query)."""
    sql = f"SELECT {THREAD_POSTS.select} FROM buzz.thread_posts FINAL WHERE thread_id IN %(ids)s"
    params = {"ids": tuple(thread_ids)}
    rows = await (reader.aquery_retrying if retry else reader.aquery)(sql, params)
    out: dict[str, list[ThreadPost]] = defaultdict(list)
    for values in rows:
        p = post_from_row(THREAD_POSTS.read(values))
        out[p.thread_id].append(p)
    return out


class ThreadProcessor:
    topic = "buzz.threads"

    def __init__(
        self,
        reader: WarehouseReader,
        matcher: SubjectMatcher,
        campaign: Campaign,
        capacity: int = CACHED_THREADS,
    ) -> None:
        self.reader = reader
        self.matcher = matcher
        self.campaign = campaign
        self.cache = ThreadCache(capacity)

    def revoked(self, partitions: set[int]) -> None:
        self.cache.forget_partitions(partitions)

    async def process(self, messages: Sequence[RawMessage], now: datetime | None = None) -> Output:
        out = Output()
        events = decode_batch(messages, out, reader_of(ThreadPost))
        by_thread: dict[str, list[tuple[ThreadPost, RawMessage]]] = defaultdict(list)
        for p, msg in events:
            out.add(THREAD_POSTS, thread_post_row(p), msg)
            try:
                out.add(THREAD_POST_SCORES, post_score_row(p), msg)
            except Exception as exc:
                out.dead_letters.append(failed(msg, "post scoring", exc))
            by_thread[p.thread_id].append((p, msg))
        missing = [t for t in by_thread if t not in self.cache]
        if missing:
            stored = await read_threads(self.reader, missing)
            for tid in missing:
                self.cache.add(by_thread[tid][0][1].partition, stored.get(tid, ()))
        now = now or datetime.now(UTC)
        for tid, items in sorted(by_thread.items()):
            self.cache.add(items[0][1].partition, (p for p, _ in items))
            try:
                row, alerts = score_thread(
                    tid, self.cache.posts(tid), self.matcher, self.campaign, now
                )
            except Exception as exc:
                out.dead_letters += [failed(msg, "thread scoring", exc) for _, msg in items]
                continue
            out.add(THREAD_SCORES, row, items[-1][1])
            out.alerts += alerts
        return out
