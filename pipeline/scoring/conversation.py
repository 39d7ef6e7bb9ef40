"""Conversation quality: how substantive each comment is, and what a thread adds up to.

What counts is *transactions*: replies between different people where both sides say something
(argue, ask, answer, add a link or background), not the number of "Great post!" comments.
The substance score is a small learned model over a few readable traits of the comment
(``substance_model.py``; docs/scoring.md section 10), so staff can still see why a comment scored
as it did: ``features`` holds each trait's contribution.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from pipeline.scoring._text import all_links
from pipeline.scoring.substance_model import (
    default_model,
    feature_values,
    is_low_effort,
    is_question,
)

__all__ = ["is_low_effort", "is_question"]  # re-exported: the thread rules use them

# A comment counts as saying something (for transactions and answers) from this score on.
# Chosen so that a one-sentence question, answer or objection counts and a cheer does not
# (docs/scoring.md section 10 has the figures behind it).
SUBSTANTIVE_AT = 0.005
# A cheer keeps a tenth of its score: present, but never substance (all-caps cheers of up to
# eight words score below 0.05, so a tenth is below SUBSTANTIVE_AT).
LOW_EFFORT_FACTOR = 0.1


@dataclass(frozen=True)
class Substance:
    score: float
    features: dict[str, float]  # each trait's contribution to the log-odds, before the cheer factor
    low_effort: bool


def substance(text: str, links: Sequence[str] = ()) -> Substance:
    """Substance of one comment in [0, 1], with the per-trait contributions."""
    model = default_model()
    contributions = model.contributions(feature_values(text, links))
    low = is_low_effort(text)
    score = model.score(contributions) * (LOW_EFFORT_FACTOR if low else 1.0)
    return Substance(round(score, 6), contributions, low)


def substance_score(text: str, links: Sequence[str] = ()) -> float:
    return substance(text, links).score


class AuthorLike(Protocol):
    @property
    def id(self) -> str: ...


class PostLike(Protocol):
    """What thread metrics need from a post; ``pipeline.events.ThreadPost`` fits."""

    @property
    def post_id(self) -> str: ...
    @property
    def parent_id(self) -> str | None: ...
    @property
    def author(self) -> AuthorLike: ...
    @property
    def text(self) -> str: ...
    @property
    def links(self) -> Sequence[str]: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def url(self) -> str: ...


@dataclass(frozen=True)
class Question:
    post_id: str
    author_id: str
    asked_at: datetime
    url: str
    text: str
    answered_at: datetime | None  # first substantive reply from someone else
    answer_id: str | None


@dataclass(frozen=True)
class ThreadMetrics:
    posts: int
    participants: int
    substantive_posts: int
    transactions: int
    back_and_forth: int
    links_added: int
    questions: tuple[Question, ...]
    low_effort_share: float
    mean_substance: float
    quality: float

    @property
    def questions_answered(self) -> int:
        return sum(q.answered_at is not None for q in self.questions)


def _alternation(posts: dict[str, PostLike]) -> int:
    """Longest A-B-A-... chain of replies between the same two people along parent links.

    chain(p) = 1 at a thread start or a self-reply; 2 when p answers someone new; chain(parent)+1
    when p's author is the one the parent was answering (the same pair keeps going).
    """
    memo: dict[str, int] = {}
    for start in posts:
        # Walk up to a known ancestor, then fill in downwards: no recursion limit on long chains.
        path: list[str] = []
        on_path: set[str] = set()
        cur: str | None = start
        while cur is not None and cur in posts and cur not in memo and cur not in on_path:
            path.append(cur)
            on_path.add(cur)
            cur = posts[cur].parent_id
        for pid in reversed(path):
            post = posts[pid]
            parent = posts.get(post.parent_id) if post.parent_id else None
            parent_chain = memo.get(parent.post_id, 1) if parent is not None else 1
            if parent is None or parent.author.id == post.author.id:
                memo[pid] = 1
            elif parent_chain == 1:
                memo[pid] = 2
            else:
                grand = posts.get(parent.parent_id) if parent.parent_id else None
                same_pair = grand is not None and grand.author.id == post.author.id
                memo[pid] = parent_chain + 1 if same_pair else 2
    return max(memo.values(), default=0)


def thread_metrics(
    posts: Sequence[PostLike], *, substantive_at: float = SUBSTANTIVE_AT
) -> ThreadMetrics:
    """Metrics of one thread; duplicate post ids count once (the first seen)."""
    by_id: dict[str, PostLike] = {}
    for p in posts:
        by_id.setdefault(p.post_id, p)
    subs = {pid: substance(p.text, p.links) for pid, p in by_id.items()}
    good = {pid for pid, s in subs.items() if s.score >= substantive_at and not s.low_effort}
    n = len(by_id)

    transactions = 0
    replies: dict[str, list[PostLike]] = {}
    for pid, p in by_id.items():
        parent = by_id.get(p.parent_id) if p.parent_id else None
        if parent is None:
            continue
        replies.setdefault(parent.post_id, []).append(p)
        if parent.author.id != p.author.id and pid in good and parent.post_id in good:
            transactions += 1

    questions = []
    for pid, p in by_id.items():
        if not is_question(p.text) or subs[pid].low_effort:
            continue
        answers = sorted(
            (r for r in replies.get(pid, []) if r.author.id != p.author.id and r.post_id in good),
            key=lambda r: (r.occurred_at, r.post_id),
        )
        first = answers[0] if answers else None
        questions.append(
            Question(pid, p.author.id, p.occurred_at, p.url, p.text[:280],
                     first.occurred_at if first else None, first.post_id if first else None)
        )  # fmt: skip
    questions.sort(key=lambda q: (q.asked_at, q.post_id))

    links: set[str] = set()
    for p in by_id.values():
        links |= all_links(p.text, p.links)
    participants = len({p.author.id for p in by_id.values()})
    depth = _alternation(by_id)
    low_share = sum(s.low_effort for s in subs.values()) / n if n else 0.0
    mean_sub = sum(s.score for s in subs.values()) / n if n else 0.0
    return ThreadMetrics(
        posts=n,
        participants=participants,
        substantive_posts=len(good),
        transactions=transactions,
        back_and_forth=depth,
        links_added=len(links),
        questions=tuple(questions),
        low_effort_share=low_share,
        mean_substance=mean_sub,
        quality=thread_quality(mean_sub, transactions, depth, participants, low_share)
        if n
        else 0.0,
    )


def thread_quality(
    mean_substance: float,
    transactions: int,
    back_and_forth: int,
    participants: int,
    low_effort_share: float,
) -> float:
    """Thread quality in [0, 1]; each term saturates so no single one can carry a thread."""
    q = (
        0.35 * mean_substance
        + 0.25 * (1 - math.exp(-transactions / 3))
        + 0.15 * min(1.0, max(0, back_and_forth - 1) / 4)
        + 0.10 * (1 - math.exp(-max(0, participants - 1) / 3))
        + 0.15 * (1 - low_effort_share)
    )
    return max(0.0, min(1.0, round(q, 6)))


def is_golden_thread(
    m: ThreadMetrics,
    *,
    min_quality: float = 0.5,
    min_transactions: int = 3,
    min_back_and_forth: int = 0,
) -> bool:
    """A thread worth joining: good overall, with real exchanges in it, and (when asked) two
    people answering each other at least ``min_back_and_forth`` turns."""
    return (
        m.quality >= min_quality
        and m.transactions >= min_transactions
        and m.back_and_forth >= min_back_and_forth
    )


def unanswered_questions(
    m: ThreadMetrics,
    now: datetime,
    *,
    after: timedelta = timedelta(minutes=60),
    until: timedelta = timedelta(days=7),
) -> list[Question]:
    """Questions with no substantive answer from someone else, older than ``after``.

    Questions older than ``until`` are dropped: joining a week-old exchange rarely helps.
    """
    return [q for q in m.questions if q.answered_at is None and after <= now - q.asked_at <= until]
