"""Conversation quality: how substantive each comment is, and what a thread adds up to.

What counts is *transactions*: replies between different people where both sides say something
(argue, ask, answer, add a link or background), not the number of "Great post!" comments.
The substance score is a transparent weighted checklist, not a model, so staff can see why a
comment scored as it did (see docs/scoring.md for the table of features and weights).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from pipeline.scoring._text import WORD_RE, all_links, strip_urls, urls_in

# Feature weights sum to 1.0: a comment that has everything scores 1.
WEIGHTS = {
    "length": 0.30,  # saturates at LENGTH_SATURATION words, log-shaped
    "question": 0.20,  # asks something (questions from interested people matter)
    "argument": 0.15,  # argumentative connectives, saturating at 2
    "answer": 0.10,  # explanation / answer markers
    "link": 0.15,  # brings a source
    "evidence": 0.10,  # numbers, money, percentages, dates: background
}
LENGTH_SATURATION = 40
LOW_EFFORT_FACTOR = 0.1  # a cheer keeps a tenth of its score: present, but not substance
SUBSTANTIVE_AT = 0.30

_CONNECTIVES = re.compile(
    r"\b(because|since|however|but|therefore|thus|although|though|whereas|unless|so that|"
    r"which means|on the other hand|for example|for instance|in fact|instead|evidence|"
    r"data shows?|compared to|rather than)\b",
    re.IGNORECASE,
)
_ANSWER = re.compile(
    r"(^\s*(yes|no|yeah|nope)\b[,.]|\b(according to|in my experience|as far as i know|"
    r"here'?s|here is|the answer|the reason|you can|it depends|to answer|source:|"
    r"i think|i believe|i disagree|i agree because|the plan (is|would))\b)",
    re.IGNORECASE,
)
_QUESTION_START = re.compile(
    r"^\s*(how|what|why|when|where|who|which|whose|is|are|does|do|did|can|could|will|would|"
    r"should|has|have|was|were|any(one|body))\b",
    re.IGNORECASE,
)
_EVIDENCE = re.compile(r"\d|\$|€|£|%|\bpercent\b", re.IGNORECASE)
_CHEER = re.compile(
    r"^(go|vote|love|great|nice|awesome|amazing|so true|true|agreed?|yes+|this|same|lol|lmao|"
    r"wow|thanks?|thank you|well said|\+1|first|bump|exactly|preach|yay|congrats)\b",
    re.IGNORECASE,
)


def _words(text: str) -> list[str]:
    return WORD_RE.findall(strip_urls(text))


def is_question(text: str) -> bool:
    t = strip_urls(text)
    return "?" in t or bool(_QUESTION_START.match(t))


def is_low_effort(text: str) -> bool:
    """Emoji or punctuation only, a short stock cheer ("Great post!", "Go JK!"), all-caps cheer."""
    words = _words(text)
    if not words:
        return True  # emoji-only, punctuation-only, link-only
    letters = [c for c in "".join(words) if c.isalpha()]
    if len(words) <= 8 and len(letters) >= 4 and all(c.isupper() for c in letters):
        return True
    plain = " ".join(w.lower() for w in words)
    return len(words) <= 5 and bool(_CHEER.match(plain)) and not is_question(text)


@dataclass(frozen=True)
class Substance:
    score: float
    features: dict[str, float]  # each feature's contribution before the low-effort factor
    low_effort: bool


def substance(text: str, links: Sequence[str] = ()) -> Substance:
    """Substance of one comment in [0, 1], with the per-feature contributions."""
    words = _words(text)
    n = len(words)
    feats = {
        "length": WEIGHTS["length"] * min(1.0, math.log1p(n) / math.log1p(LENGTH_SATURATION)),
        "question": WEIGHTS["question"] * is_question(text),
        "argument": WEIGHTS["argument"] * min(1.0, len(_CONNECTIVES.findall(text)) / 2),
        "answer": WEIGHTS["answer"] * bool(_ANSWER.search(text)),
        "link": WEIGHTS["link"] * bool(list(links) or urls_in(text)),
        "evidence": WEIGHTS["evidence"] * bool(_EVIDENCE.search(strip_urls(text))),
    }
    low = is_low_effort(text)
    raw = sum(feats.values()) * (LOW_EFFORT_FACTOR if low else 1.0)
    return Substance(max(0.0, min(1.0, round(raw, 6))), feats, low)


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
    good = {pid for pid, s in subs.items() if s.score >= substantive_at}
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
    m: ThreadMetrics, *, min_quality: float = 0.5, min_transactions: int = 3
) -> bool:
    """A thread worth joining: good overall and with real exchanges in it."""
    return m.quality >= min_quality and m.transactions >= min_transactions


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
