"""Validator reach: cascade building, audiences, structural virality, first-timers, take-off."""

from __future__ import annotations

import itertools
from collections import deque
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.campaign import load_campaign
from pipeline.events import Author, Mention
from pipeline.scoring.validator_reach import (
    TakeOffRule,
    build_cascade,
    cascade_reach,
    find_validator,
    index_validators,
    new_validators,
    structural_virality,
    subtree_sizes,
    taking_off,
    validator_key,
)

T0 = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
CAMPAIGN = load_campaign()
INDEX = index_validators(CAMPAIGN)


def post(
    eid: str,
    author: str,
    audience: int = 0,
    *,
    reshare_of: str | None = None,
    reply_to: str | None = None,
    minutes: float = 0,
    platform: str = "x",
) -> Mention:
    return Mention(
        event_id=f"x:{eid}",
        platform=platform,
        occurred_at=T0 + timedelta(minutes=minutes),
        author=Author(id=author, handle=author, audience=audience),
        text="Jordan Kim is right about the Riverline",
        reshare_of=f"x:{reshare_of}" if reshare_of else None,
        reply_to=f"x:{reply_to}" if reply_to else None,
    )


def brute_force_virality(parents: list[int]) -> float:
    n = len(parents)
    adj: list[list[int]] = [[] for _ in range(n)]
    for child, parent in enumerate(parents):
        if parent >= 0:
            adj[child].append(parent)
            adj[parent].append(child)
    total = 0
    for src in range(n):
        dist = {src: 0}
        queue = deque([src])
        while queue:
            u = queue.popleft()
            for v in adj[u]:
                if v not in dist:
                    dist[v] = dist[u] + 1
                    queue.append(v)
        total += sum(dist.values())
    return total / (n * (n - 1))


def test_structural_virality_known_shapes() -> None:
    assert structural_virality([-1]) == 0.0
    assert structural_virality([-1, 0, 1]) == pytest.approx(4 / 3)  # a path of three
    assert structural_virality([-1, 0, 0, 0]) == pytest.approx(1.5)  # a star of four
    assert subtree_sizes([-1, 0, 1, 0]) == [4, 2, 1, 1]
    with pytest.raises(ValueError, match="after its parent"):
        structural_virality([-1, 2, 0])


trees = st.integers(2, 40).flatmap(
    lambda n: st.tuples(*[st.just(-1)] + [st.integers(0, i - 1) for i in range(1, n)])
)


@settings(max_examples=60, deadline=None)
@given(trees)
def test_structural_virality_matches_all_pairs_bfs(parents: tuple[int, ...]) -> None:
    assert structural_virality(list(parents)) == pytest.approx(brute_force_virality(list(parents)))


@given(st.integers(2, 500))
def test_structural_virality_of_a_star(n: int) -> None:
    assert structural_virality([-1] + [0] * (n - 1)) == pytest.approx(2 * (n - 1) / n)


def test_cascade_reach_concrete() -> None:
    root = post("r", "mayortorres", 1000)
    others = [
        post("b", "b", 200, reshare_of="r", minutes=1),
        post("c", "c", 300, reshare_of="r", minutes=2),
        post("c2", "c", 350, reshare_of="b", minutes=3),  # same person again: counted once
        post("d", "d", 5000, reply_to="r", minutes=4),  # a reply, not a broadcast
        post("e", "e", 50, reshare_of="b", minutes=5),
        post("self", "mayortorres", 1000, reshare_of="r", minutes=6),
        post("lost", "z", 10, reshare_of="never-seen"),
        post("b", "b", 200, reshare_of="r", minutes=1),  # duplicate event
    ]
    cascade = build_cascade(root, others)
    assert cascade.orphans == 1 and len(cascade.nodes) == 7
    validator = find_validator(INDEX, root)
    assert validator is not None and validator_key(validator) == "mayor-alicia-torres"
    reach = cascade_reach(cascade, validator)
    assert reach.direct_audience == 1000
    assert reach.cascade_audience == 1000 + 200 + 350 + 50
    assert (reach.amplifiers, reach.repliers, reach.depth, reach.posts) == (3, 1, 2, 7)
    assert reach.trust_weighted_reach == 3.0 * 1600
    # Tree: r -> {b, c, d, self}, b -> {c2, e}.
    assert reach.structural_virality == pytest.approx(brute_force_virality([-1, 0, 0, 0, 0, 1, 1]))


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 8), st.integers(0, 10_000), st.booleans(), st.integers(0, 50)),
        max_size=30,
    )
)
def test_cascade_audience_counts_each_person_once(
    specs: list[tuple[int, int, bool, int]],
) -> None:
    root = post("0", "root", 700)
    others = []
    for i, (who, audience, is_reshare, parent) in enumerate(specs, start=1):
        target = str(parent % i)
        reshare, reply = (target, None) if is_reshare else (None, target)
        others.append(post(str(i), f"p{who}", audience, reshare_of=reshare, reply_to=reply))
    reach = cascade_reach(build_cascade(root, others))
    resharers: dict[str, int] = {}
    for m in others:
        if m.reshare_of and m.author.id != "root":
            resharers[m.author.id] = max(resharers.get(m.author.id, 0), m.author.audience)
    assert reach.cascade_audience >= reach.direct_audience
    assert reach.cascade_audience == 700 + sum(resharers.values())
    assert reach.amplifiers == len(resharers)
    assert reach.posts == len(specs) + 1


def test_new_validators_reports_first_posts_of_unknown_validators() -> None:
    posts = [
        post("1", "someone"),
        post("2", "PastorHarmon", minutes=5),
        post("3", "pastorharmon", minutes=1),
        post("4", "mayortorres", minutes=2),
        post("5", "torres@civic.social", platform="mastodon", minutes=3),
        post("6", "rayokafor27", platform="bluesky"),  # handle is for x only
    ]
    found = new_validators(posts, INDEX, known={"mayor-alicia-torres"})
    assert [(k, m.event_id) for k, m in found] == [("pastor-lee-harmon", "x:3")]


def test_taking_off_needs_many_early_resharers_beyond_the_own_circle() -> None:
    root = post("r", "drpriyan", 1000)
    rule = TakeOffRule(within=timedelta(hours=1), min_amplifiers=10)
    small = [post(f"s{i}", f"s{i}", 10, reshare_of="r", minutes=i) for i in range(12)]
    assert taking_off(build_cascade(root, small), rule) == ()  # 1120 < 3 x 1000, depth 1
    big = [post(f"b{i}", f"b{i}", 300, reshare_of="r", minutes=i) for i in range(12)]
    reasons = taking_off(build_cascade(root, big), rule)
    assert reasons[0] == "12 people reshared within 1:00:00" and "4.6x direct" in reasons[1]
    late = [post(f"l{i}", f"l{i}", 300, reshare_of="r", minutes=61 + i) for i in range(12)]
    assert taking_off(build_cascade(root, late), rule) == ()
    chain = [
        post(f"c{i}", f"c{i}", 1, reshare_of="r" if i == 0 else f"c{i - 1}", minutes=i)
        for i in range(10)
    ]
    chain_reasons = taking_off(build_cascade(root, chain), TakeOffRule(min_amplifiers=10))
    assert chain_reasons[-1] == "the cascade reached depth 10"


def test_cascade_building_is_order_independent() -> None:
    root = post("r", "a", 1)
    others = [post(str(i), f"u{i}", i, reshare_of="r" if i < 3 else str(i - 3)) for i in range(9)]
    for perm in itertools.islice(itertools.permutations(others), 50):
        assert cascade_reach(build_cascade(root, perm)) == cascade_reach(
            build_cascade(root, others)
        )
