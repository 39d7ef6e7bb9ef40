"""Coordinated bursts: near-identical posts from many accounts within minutes, and nothing else.

Pins: copies of one text from enough accounts inside the window are a burst (with its posts,
accounts, text and share of a subject's talk); the same text posted all along is not (novelty),
nor are many accounts saying different things, nor one account repeating itself, nor stock
phrases too short to mean anything; a burst is judged only after the warm-up; results do not
depend on the order posts arrive in or on duplicates.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.scoring.coordination import (
    BurstDetector,
    BurstRule,
    Post,
    burst_share,
    shingles,
    word_count,
)

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
POINT = "Jordan Kim lied to every family in this district and must resign before election day"
# Ordinary talk: every post its own words (a pool of words, drawn at random per post).
WORDS = ("rent", "bus", "lanes", "council", "budget", "vote", "town", "hall", "library",
         "zoning", "plan", "park", "school", "taxes", "jobs", "senate", "debate", "housing",
         "riverline", "mayor", "union", "church", "doors", "market", "poll")  # fmt: skip


def post(
    n: str, at: datetime, author: str, text: str, subjects: tuple[str, ...] = ("kim",)
) -> Post:
    return Post(f"x:{n}", f"x:{author}", author, text, at, f"https://x.example/{n}", subjects)


def chatter(rng: random.Random, start: datetime, minutes: int, per_minute: int) -> list[Post]:
    out = []
    for m in range(minutes):
        for i in range(per_minute):
            words = " ".join(rng.choice(WORDS) for _ in range(10))
            at = start + m * MINUTE + timedelta(seconds=i * 60 / per_minute)
            out.append(post(f"c{m}-{i}", at, f"person{rng.randrange(500)}", words))
    return out


def copies(start: datetime, n: int, accounts: int, text: str = POINT, tag: str = "b") -> list[Post]:
    edits = ("", "!!", " RT if you agree", " #Resign")
    return [
        post(f"{tag}{i}", start + timedelta(seconds=4 * i), f"ring{i % accounts}",
             f"{text}{edits[i % len(edits)]} https://smear.example/s?i={i}")
        for i in range(n)
    ]  # fmt: skip


def run(posts: list[Post], until: datetime, rule: BurstRule | None = None) -> BurstDetector:
    d = BurstDetector(rule)
    d.add(posts)
    d.expire(until)
    return d


def test_shingles_are_words_and_pairs_without_links_handles_or_rt() -> None:
    got = shingles("RT @jordankim: Resign NOW! https://x.example/a?b=c")
    assert got == ["resign", "now", "resign now"]
    assert word_count("@a So true https://x.example") == 2


def test_a_ring_of_accounts_pasting_one_text_is_a_burst() -> None:
    rng = random.Random(1)
    calm = chatter(rng, T0, 30, 20)
    ring = copies(T0 + 30 * MINUTE, 40, 35)
    until = T0 + 33 * MINUTE
    [b] = run(calm + ring, until).bursts(until)
    assert (b.posts, b.accounts, b.before, b.subject) == (40, 35, 0, "kim")
    assert b.text.startswith(POINT) and b.cluster == "x:b0"
    assert b.handles[:5] == ("@ring0", "@ring1", "@ring2", "@ring3", "@ring4")  # 2 posts each
    assert len(b.example_urls) == 5 and b.first_at == ring[0].at and b.last_at == ring[-1].at
    share = burst_share([b], "kim", T0 + 30 * MINUTE, T0 + 31 * MINUTE, total=50)
    assert share is not None
    assert (share.posts, share.accounts, share.total) == (15, 15, 50)  # 15 in the first minute
    assert share.share == pytest.approx(0.3)
    assert burst_share([b], "reyes", T0, until, total=10) is None


def test_organic_chatter_is_never_a_burst() -> None:
    rng = random.Random(2)
    posts = chatter(rng, T0, 60, 30)
    d = BurstDetector()
    for m in range(60):
        d.add(p for p in posts if T0 + m * MINUTE <= p.at < T0 + (m + 1) * MINUTE)
        d.expire(T0 + (m + 1) * MINUTE)
        assert d.bursts(T0 + (m + 1) * MINUTE) == []


def test_the_same_text_posted_all_along_is_not_new() -> None:
    # A slogan (or a share button's words) repeated by many people every minute for half an hour.
    steady = [
        post(f"s{m}-{i}", T0 + m * MINUTE + timedelta(seconds=6 * i), f"fan{(m * 7 + i) % 300}",
             "Proud to stand with Jordan Kim for a fairer district, join us this Saturday")
        for m in range(30) for i in range(5)
    ]  # fmt: skip
    until = T0 + 30 * MINUTE
    assert run(steady, until).bursts(until) == []
    # ... but five times its usual rate in the last window is a burst again.
    # (150 before in 30 minutes is 25 per 5 minutes: 125 is the bar.)
    surge = [post(f"z{i}", until + timedelta(seconds=1.5 * i), f"new{i}", steady[0].text)
             for i in range(130)]  # fmt: skip
    [b] = run(steady + surge, until + 5 * MINUTE).bursts(until + 5 * MINUTE)
    assert b.posts == 130 and b.before == 150
    assert run(steady + surge[:120], until + 5 * MINUTE).bursts(until + 5 * MINUTE) == []


def test_a_text_repeated_in_small_groups_keeps_its_history_while_quiet() -> None:
    # Fed minute by minute as the minute job does: groups of five copies every nine minutes, each
    # followed by eight quiet minutes (longer than the window). The hour's 30 copies are what a
    # later group is compared with, so twelve at once is its usual rate, not a new text.
    text = "Watching Jordan Kim and Dana Reyes spar over bus lanes, Kim clearly did the homework"
    groups = [
        post(f"g{g}-{i}", T0 + 9 * g * MINUTE + timedelta(seconds=10 * i), f"fan{g * 5 + i}", text)
        for g in range(6) for i in range(5)
    ]  # fmt: skip
    later = T0 + 55 * MINUTE

    def judged(extra: int) -> list[int]:
        surge = [post(f"z{i}", later + timedelta(seconds=5 * i), f"new{i}", text)
                 for i in range(extra)]  # fmt: skip
        d, found = BurstDetector(), []
        for m in range(60):
            lo, hi = T0 + m * MINUTE, T0 + (m + 1) * MINUTE
            d.add(p for p in groups + surge if lo <= p.at < hi)
            d.expire(hi)
            found += [b.before for b in d.bursts(hi)]
        return found

    assert judged(12) == []  # 30 in 55 minutes: 2.7 per window, 13.6 is the bar
    assert set(judged(15)) == {30}  # five times the usual rate is a burst, its history counted


def test_too_few_accounts_one_repeater_and_stock_phrases_are_not_bursts() -> None:
    until = T0 + 33 * MINUTE
    early = chatter(random.Random(3), T0, 30, 5)
    few = copies(T0 + 30 * MINUTE, 40, 9)  # 40 posts but 9 accounts
    assert run(early + few, until).bursts(until) == []
    one = copies(T0 + 30 * MINUTE, 40, 1, tag="o")
    assert run(early + one, until).bursts(until) == []
    stock = [post(f"k{i}", T0 + 30 * MINUTE + timedelta(seconds=i), f"p{i}", "So true, agreed!")
             for i in range(50)]  # fmt: skip
    assert run(early + stock, until).bursts(until) == []


def test_nothing_is_judged_before_the_warm_up() -> None:
    ring = copies(T0, 40, 35)
    assert run(ring, T0 + 3 * MINUTE).bursts(T0 + 3 * MINUTE) == []
    rule = BurstRule(warmup=timedelta(0))
    assert len(run(ring, T0 + 3 * MINUTE, rule).bursts(T0 + 3 * MINUTE)) == 1


def test_a_burst_leaves_the_window_and_is_forgotten_after_the_history() -> None:
    rng = random.Random(4)
    posts = chatter(rng, T0, 20, 5) + copies(T0 + 20 * MINUTE, 40, 35)
    d = run(posts, T0 + 23 * MINUTE)
    assert len(d.bursts(T0 + 23 * MINUTE)) == 1
    assert d.bursts(T0 + 30 * MINUTE) == []  # the window moved past it
    d.expire(T0 + 90 * MINUTE)
    assert len(d) == 0


def test_rule_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="window"):
        BurstRule(window=timedelta(hours=2))
    with pytest.raises(ValueError, match="min_accounts"):
        BurstRule(min_accounts=1)


def test_posts_held_are_bounded() -> None:
    d = BurstDetector(BurstRule(max_posts=50))
    d.add(chatter(random.Random(5), T0, 10, 10))
    assert len(d) == 50


ring_sizes = st.integers(min_value=10, max_value=40)


@settings(max_examples=25, deadline=None)
@given(accounts=ring_sizes, extra=st.integers(0, 20), seed=st.integers(0, 2**16))
def test_any_ring_of_enough_accounts_is_found_whatever_the_order(
    accounts: int, extra: int, seed: int
) -> None:
    rng = random.Random(seed)
    calm = chatter(rng, T0, 20, 4)
    ring = copies(T0 + 20 * MINUTE, accounts + extra, accounts)
    posts = calm + ring
    shuffled = posts[:] + rng.sample(ring, k=min(5, len(ring)))  # some duplicates too
    rng.shuffle(shuffled)
    until = T0 + 24 * MINUTE
    found = run(posts, until).bursts(until)
    again = run(shuffled, until).bursts(until)
    assert found == again  # order and duplicates change nothing
    assert [(b.posts, b.accounts) for b in found] == [(accounts + extra, accounts)]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 29), st.integers(0, 40), st.sampled_from(WORDS)),
                max_size=150))  # fmt: skip
def test_a_burst_always_has_enough_distinct_accounts(
    items: list[tuple[int, int, str]],
) -> None:
    # Few words, many repeats: whatever clusters form, a burst reports what it found.
    posts = [
        post(f"h{i}", T0 + timedelta(minutes=m, seconds=i % 60), f"a{a}",
             f"{w} {w} rally downtown tonight with Jordan Kim {w}")
        for i, (m, a, w) in enumerate(items)
    ]  # fmt: skip
    until = T0 + 30 * MINUTE
    for b in run(posts, until, BurstRule(warmup=timedelta(0))).bursts(until):
        assert b.accounts >= 10 and b.posts >= b.accounts
        assert until - timedelta(minutes=5) <= b.first_at <= b.last_at < until
        assert len(set(b.handles)) == len(b.handles) <= 20
