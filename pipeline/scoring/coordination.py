"""Coordinated bursts: many accounts posting near-identical text within minutes.

People who talk about the same news use their own words; a pile-on organised somewhere else
arrives as copies of one text (a slogan, a talking point, a link with the same words) from many
accounts at once. A *burst* here is a cluster of near-duplicate original posts (reshares repeat
someone's words openly and are left out) that, within ``window``,

- comes from at least ``min_accounts`` distinct accounts, and
- is new: its rate in the window is at least ``novelty`` times its rate over the ``history``
  before (text everybody always posts, a share button's stock words, a campaign's own slogan
  repeated all day, is not a burst).

Near-duplicate: the Jaccard similarity of the two posts' *shingles* (their words and word pairs,
lower-cased, without links and @handles) is at least ``similarity``. Posts are clustered online,
in time order, around a *leader* (the first post of each cluster): a MinHash LSH index of the
leaders (datasketch) finds the candidates and the exact Jaccard decides, so each post is hashed
once and compared with a handful of leaders, never with every other post.

:class:`BurstDetector` holds the clusters of the last ``history``; it is deterministic (posts are
taken in (time, event id) order and ties broken by id), does no I/O and is tested on its own.
"""

from __future__ import annotations

import re
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise, takewhile

from datasketch import MinHash, MinHashLSH

from pipeline.scoring._text import HANDLE_RE, URL_RE

TOKEN_RE = re.compile(r"[^\W_][\w'’]*", re.UNICODE)
RT_RE = re.compile(r"^\s*rt\b", re.IGNORECASE)


@dataclass(frozen=True)
class BurstRule:
    window: timedelta = timedelta(minutes=5)
    history: timedelta = timedelta(hours=1)
    # Before this much history has been seen every text is "new": no burst is judged until then.
    warmup: timedelta = timedelta(minutes=15)
    min_accounts: int = 10
    similarity: float = 0.7
    min_words: int = 6  # "So true", "Source?": stock phrases, never evidence of anything
    novelty: float = 5.0
    num_perm: int = 64
    max_posts: int = 100_000  # posts held (the oldest go first); bounds memory at high rates

    def __post_init__(self) -> None:
        if not timedelta(0) < self.window < self.history:
            raise ValueError("window must be positive and shorter than history")
        if self.min_accounts < 2 or not 0 < self.similarity <= 1 or self.novelty < 1:
            raise ValueError("min_accounts >= 2, 0 < similarity <= 1 and novelty >= 1")


@dataclass(frozen=True)
class Post:
    """An original post as the detector sees it."""

    event_id: str
    author_id: str
    handle: str
    text: str
    at: datetime
    url: str = ""
    subjects: tuple[str, ...] = ()


@dataclass(frozen=True)
class Burst:
    """A cluster of near-identical posts from many accounts within the window ending ``until``."""

    cluster: str  # event id of the cluster's first post: the same cluster keeps it
    subject: str  # the subject most of its posts name ("" if none)
    until: datetime
    posts: int  # near-identical posts in the window
    accounts: int  # distinct accounts among them
    before: int  # posts of the same cluster in the history before the window
    first_at: datetime
    last_at: datetime
    text: str  # the cluster's first text in the window
    handles: tuple[str, ...]  # accounts, most posts first (at most 20)
    members: tuple[Post, ...]  # the posts in the window, in time order
    example_urls: tuple[str, ...]


@dataclass(frozen=True)
class BurstShare:
    """How much of a subject's talk in a time span came from coordinated bursts."""

    posts: int  # posts of bursts naming the subject in the span
    accounts: int  # distinct accounts among them
    total: int  # the subject's posts in the span (reshares included)
    share: float  # posts / total, at most 1
    text: str  # the largest burst's text
    handles: tuple[str, ...]  # its accounts, most posts first (at most 10)


def shingles(text: str) -> list[str]:
    """Words and word pairs, lower-cased, without links, @handles and a leading "RT"."""
    text = RT_RE.sub(" ", HANDLE_RE.sub(" ", URL_RE.sub(" ", text)))
    words = [w.lower().strip("'’") for w in TOKEN_RE.findall(text)]
    words = [w for w in words if w]
    return words + [f"{a} {b}" for a, b in pairwise(words)]


def word_count(text: str) -> int:
    return len(TOKEN_RE.findall(RT_RE.sub(" ", HANDLE_RE.sub(" ", URL_RE.sub(" ", text)))))


@dataclass
class _Cluster:
    leader: str
    shingles: set[str]  # the leader's: a candidate is verified against them exactly
    members: deque[Post] = field(default_factory=deque)  # in time order


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


class BurstDetector:
    """Online near-duplicate clusters of the last ``rule.history``; bursts on demand."""

    def __init__(self, rule: BurstRule | None = None) -> None:
        self.rule = rule or BurstRule()
        self._lsh = MinHashLSH(threshold=self.rule.similarity, num_perm=self.rule.num_perm)
        self._clusters: dict[str, _Cluster] = {}
        self._of: dict[str, str] = {}  # event id -> cluster
        self._order: deque[tuple[datetime, str]] = deque()  # (at, event id) of every post held
        self.since: datetime | None = None  # the earliest time the detector has seen

    def __len__(self) -> int:
        return len(self._of)

    def observe(self, since: datetime) -> None:
        """Say the stream has been watched from ``since`` (when history was read back)."""
        if self.since is None or since < self.since:
            self.since = since

    def add(self, posts: Iterable[Post]) -> int:
        """Cluster new posts (duplicates by event id count once); returns how many joined."""
        fresh: dict[str, Post] = {}
        for p in posts:
            if p.event_id not in self._of and word_count(p.text) >= self.rule.min_words:
                fresh.setdefault(p.event_id, p)
        todo = sorted(fresh.values(), key=lambda p: (p.at, p.event_id))
        if not todo:
            return 0
        sets = [set(shingles(p.text)) for p in todo]
        sigs = MinHash.bulk([[x.encode() for x in s] for s in sets], num_perm=self.rule.num_perm)
        for p, mine, sig in zip(todo, sets, sigs, strict=True):
            self.observe(p.at)
            best: tuple[float, str] | None = None
            # LSH finds the candidates; the exact Jaccard decides (no estimate noise at the edge).
            for leader in self._lsh.query(sig):
                j = jaccard(mine, self._clusters[leader].shingles)
                if j >= self.rule.similarity and (best is None or (-j, leader) < best):
                    best = (-j, leader)
            if best is None:
                self._clusters[p.event_id] = _Cluster(p.event_id, mine)
                self._lsh.insert(p.event_id, sig)
                leader = p.event_id
            else:
                leader = best[1]
            self._clusters[leader].members.append(p)
            self._of[p.event_id] = leader
            self._order.append((p.at, p.event_id))
        while len(self._of) > self.rule.max_posts:
            self._drop_oldest()
        return len(todo)

    def _drop_oldest(self) -> None:
        _, event_id = self._order.popleft()
        leader = self._of.pop(event_id, None)
        if leader is None:  # its cluster was dropped already
            return
        c = self._clusters[leader]
        if c.members[0].event_id == event_id:
            c.members.popleft()
        else:  # only when posts were added out of time order
            c.members.remove(next(p for p in c.members if p.event_id == event_id))
        if not c.members:
            del self._clusters[leader]
            self._lsh.remove(leader)

    def expire(self, now: datetime) -> None:
        """Forget posts older than ``history`` before ``now``, and lone posts gone quiet.

        A post nobody repeated within the window is most posts: as history it says only "seen
        once", and forgetting it costs at most one in the count of what came before a later
        copy, so this is what keeps memory in proportion to the window. A cluster of two or more
        is kept for the whole ``history``: forgetting it would make a text repeated all day look
        new the next time it is repeated a little faster.
        """
        while self._order and self._order[0][0] < now - self.rule.history:
            self._drop_oldest()
        quiet = now - self.rule.window
        for leader in [
            k for k, c in self._clusters.items() if len(c.members) == 1 and c.members[-1].at < quiet
        ]:
            for p in self._clusters.pop(leader).members:
                del self._of[p.event_id]
            self._lsh.remove(leader)

    def bursts(self, until: datetime) -> list[Burst]:
        """Bursts in the window ending at ``until`` (exclusive), largest first."""
        r = self.rule
        start = until - r.window
        if self.since is None:
            return []
        watched = min(max(start - self.since, timedelta(0)), r.history - r.window)
        if watched < r.warmup:
            return []
        out = []
        for leader, c in self._clusters.items():
            if len(c.members) < r.min_accounts or c.members[-1].at < start:
                continue  # too small, or quiet for the whole window
            newest = takewhile(lambda p: p.at >= start, reversed(c.members))
            recent = [p for p in newest if p.at < until][::-1]
            accounts = Counter(p.author_id for p in recent)
            if len(accounts) < r.min_accounts:
                continue
            before = sum(1 for p in c.members if until - r.history <= p.at < start)
            expected = before * (r.window / watched) if watched else 0.0
            if len(recent) < r.novelty * expected:
                continue
            out.append(_burst(leader, until, recent, accounts, before))
        return sorted(out, key=lambda b: (-b.posts, b.cluster))


def _burst(
    leader: str, until: datetime, recent: Sequence[Post], accounts: Counter[str], before: int
) -> Burst:
    subjects = Counter(s for p in recent for s in p.subjects)
    subject = min(subjects, key=lambda s: (-subjects[s], s)) if subjects else ""
    handle = {p.author_id: "@" + p.handle.lstrip("@") for p in recent}
    ranked = sorted(accounts, key=lambda a: (-accounts[a], handle[a]))
    return Burst(
        cluster=leader,
        subject=subject,
        until=until,
        posts=len(recent),
        accounts=len(accounts),
        before=before,
        first_at=recent[0].at,
        last_at=recent[-1].at,
        text=recent[0].text,
        handles=tuple(handle[a] for a in ranked[:20]),
        members=tuple(recent),
        example_urls=tuple(dict.fromkeys(p.url for p in recent if p.url))[:5],
    )


def burst_share(
    bursts: Sequence[Burst], subject: str, start: datetime, end: datetime, total: int
) -> BurstShare | None:
    """The part of ``total`` posts about ``subject`` in [start, end) that came from ``bursts``.

    None when no burst post names the subject in that span.
    """
    posts: dict[str, Post] = {}
    largest: Burst | None = None
    for b in bursts:
        mine = [p for p in b.members if subject in p.subjects and start <= p.at < end]
        for p in mine:
            posts.setdefault(p.event_id, p)
        if mine and largest is None:
            largest = b  # bursts come largest first
    if largest is None:
        return None
    return BurstShare(
        posts=len(posts),
        accounts=len({p.author_id for p in posts.values()}),
        total=max(total, len(posts)),
        share=len(posts) / max(total, len(posts)),
        text=largest.text[:280],
        handles=largest.handles[:10],
    )
