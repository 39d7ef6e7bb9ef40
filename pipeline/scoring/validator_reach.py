"""Validator reach: who among the trusted validators spoke, and how far their word travelled.

A cascade is a validator's post (the root) plus the reshares and replies that hang from it
through ``reshare_of`` / ``reply_to``. Platforms that flatten reshares (a reshare of a reshare
points at the original, as on X) give depth-1 stars; the metrics stay correct for what is seen.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import datetime, timedelta

from pipeline.campaign import Campaign, Validator
from pipeline.events import Mention, MentionLike


def validator_key(v: Validator) -> str:
    """A stable id for a validator (the campaign file has no ids): its name, slugged."""
    return "-".join("".join(c if c.isalnum() else " " for c in v.name.lower()).split())


def _handle(h: str) -> str:
    return h.strip().lstrip("@").lower()


@dataclass(frozen=True)
class ValidatorIndex:
    by_handle: Mapping[tuple[str, str], Validator]  # (platform, handle) -> validator


def index_validators(campaign: Campaign) -> ValidatorIndex:
    return ValidatorIndex(
        {(p.lower(), _handle(h)): v for v in campaign.validators for p, h in v.handles.items()}
    )


def find_validator(index: ValidatorIndex, mention: MentionLike) -> Validator | None:
    """The validator who wrote ``mention``, matched by platform and handle (case-insensitive)."""
    return index.by_handle.get((mention.platform.lower(), _handle(mention.author.handle)))


@dataclass(frozen=True)
class CascadeNode:
    event_id: str
    parent_id: str | None
    author_id: str
    audience: int
    kind: str  # "root" | "reshare" | "reply"
    occurred_at: datetime
    depth: int


@dataclass(frozen=True)
class Cascade:
    root_id: str
    nodes: tuple[CascadeNode, ...]  # breadth-first from the root
    orphans: int  # posts given whose parent never joined the tree


def build_cascade(root: Mention, others: Iterable[Mention]) -> Cascade:
    """The tree of ``others`` hanging from ``root`` (duplicates by event id count once).

    A post joins when its parent (reshare_of, else reply_to) is already in the tree, so the
    result is always a tree, whatever order the posts arrive in.
    """
    children: dict[str, list[Mention]] = defaultdict(list)
    pool = {m.event_id: m for m in others if m.event_id != root.event_id}
    for m in pool.values():
        parent = m.reshare_of or m.reply_to
        if parent:
            children[parent].append(m)
    nodes = [
        CascadeNode(root.event_id, None, root.author.id, root.author.audience, "root",
                    root.occurred_at, 0)
    ]  # fmt: skip
    queue = deque([(root.event_id, 0)])
    while queue:
        pid, depth = queue.popleft()
        for m in sorted(children.get(pid, ()), key=lambda x: (x.occurred_at, x.event_id)):
            kind = "reshare" if m.reshare_of else "reply"
            nodes.append(
                CascadeNode(m.event_id, pid, m.author.id, m.author.audience, kind,
                            m.occurred_at, depth + 1)
            )  # fmt: skip
            queue.append((m.event_id, depth + 1))
    return Cascade(root.event_id, tuple(nodes), orphans=len(pool) - (len(nodes) - 1))


def subtree_sizes(parents: Sequence[int]) -> list[int]:
    """Sizes of every node's subtree; ``parents[i]`` < i is node i's parent, -1 for the root."""
    if any(p != -1 if i == 0 else not 0 <= p < i for i, p in enumerate(parents)):
        raise ValueError("parents must list the root first (-1) and each node after its parent")
    sizes = [1] * len(parents)
    for i in range(len(parents) - 1, 0, -1):
        sizes[parents[i]] += sizes[i]
    return sizes


def structural_virality(parents: Sequence[int]) -> float:
    """Mean shortest-path distance over all pairs of nodes (Goel et al. 2016), in O(n).

    Each edge lies on the path of every pair it separates: s * (n - s) unordered pairs for a child
    subtree of size s, so the mean over ordered pairs is sum(2 s (n - s)) / (n (n - 1)).
    0 for a lone post. ``parents`` must list each node after its parent (breadth-first order does).
    """
    n = len(parents)
    if n < 2:
        return 0.0
    sizes = subtree_sizes(parents)
    return sum(2 * s * (n - s) for s in sizes[1:]) / (n * (n - 1))


def cascade_parents(c: Cascade) -> list[int]:
    pos = {node.event_id: i for i, node in enumerate(c.nodes)}
    return [-1 if nd.parent_id is None else pos[nd.parent_id] for nd in c.nodes]


@dataclass(frozen=True)
class ValidatorReach:
    root_id: str
    validator: str  # validator_key, "" when the root author is not a validator
    posts: int  # nodes in the cascade, root included
    direct_audience: int
    cascade_audience: int
    amplifiers: int  # distinct people (not the author) who reshared
    repliers: int  # distinct people (not the author) who replied
    depth: int
    structural_virality: float
    trust_weight: float
    trust_weighted_reach: float


def cascade_reach(c: Cascade, validator: Validator | None = None) -> ValidatorReach:
    """Direct and cascade audience, amplifiers, depth, structural virality, trust-weighted reach.

    Cascade audience counts the author and each resharer once (their largest audience seen):
    the same follower reached twice is still one person's followers, and replies are not
    broadcast to the replier's followers the way reshares are.
    """
    root = c.nodes[0]
    audience: dict[str, int] = {root.author_id: root.audience}
    amplifiers: set[str] = set()
    repliers: set[str] = set()
    for nd in c.nodes[1:]:
        if nd.author_id == root.author_id:
            continue
        if nd.kind == "reshare":
            amplifiers.add(nd.author_id)
            audience[nd.author_id] = max(audience.get(nd.author_id, 0), nd.audience)
        else:
            repliers.add(nd.author_id)
    total = sum(audience.values())
    trust = validator.trust_weight if validator else 0.0
    return ValidatorReach(
        root_id=c.root_id,
        validator=validator_key(validator) if validator else "",
        posts=len(c.nodes),
        direct_audience=root.audience,
        cascade_audience=total,
        amplifiers=len(amplifiers),
        repliers=len(repliers),
        depth=max(nd.depth for nd in c.nodes),
        structural_virality=structural_virality(cascade_parents(c)),
        trust_weight=trust,
        trust_weighted_reach=trust * total,
    )


def new_validators(
    posts: Iterable[Mention], index: ValidatorIndex, known: Set[str]
) -> list[tuple[str, Mention]]:
    """Validators speaking for the first time: (validator_key, their earliest post), by time.

    ``known`` holds the keys of validators already seen (kept in the warehouse).
    """
    first: dict[str, Mention] = {}
    for m in posts:
        v = find_validator(index, m)
        if v is None:
            continue
        key = validator_key(v)
        if key in known:
            continue
        if key not in first or (m.occurred_at, m.event_id) < (
            first[key].occurred_at,
            first[key].event_id,
        ):
            first[key] = m
    return sorted(first.items(), key=lambda kv: (kv[1].occurred_at, kv[0]))


@dataclass(frozen=True)
class TakeOffRule:
    within: timedelta = timedelta(hours=1)
    min_amplifiers: int = 10
    audience_multiple: float = 3.0
    min_depth: int = 3


def taking_off(c: Cascade, rule: TakeOffRule = TakeOffRule()) -> tuple[str, ...]:
    """Reasons a cascade is taking off, empty if it is not.

    Taking off = at least ``min_amplifiers`` distinct resharers within ``within`` of the post,
    AND the word is leaving the validator's own circle: the early resharers' audience makes the
    cascade ``audience_multiple`` times the validator's own, or reshares reached ``min_depth``
    hops. Both parts are needed: many reshares inside one bubble, or one big account resharing,
    is not yet take-off.
    """
    root = c.nodes[0]
    deadline = root.occurred_at + rule.within
    early = [nd for nd in c.nodes[1:] if nd.occurred_at <= deadline]
    audience: dict[str, int] = {root.author_id: root.audience}
    for nd in early:
        if nd.kind == "reshare" and nd.author_id != root.author_id:
            audience[nd.author_id] = max(audience.get(nd.author_id, 0), nd.audience)
    amplifiers = len(audience) - 1
    if amplifiers < rule.min_amplifiers:
        return ()
    reasons = [f"{amplifiers} people reshared within {rule.within}"]
    total = sum(audience.values())
    if total >= rule.audience_multiple * max(root.audience, 1):
        reasons.append(f"cascade audience {total} is {total / max(root.audience, 1):.1f}x direct")
    depth = max((nd.depth for nd in early), default=0)
    if depth >= rule.min_depth:
        reasons.append(f"the cascade reached depth {depth}")
    return tuple(reasons) if len(reasons) > 1 else ()
