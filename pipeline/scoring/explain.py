"""Why a spike happened: what is over-represented in the spike window against the baseline window.

For terms, hashtags, links and authors alike, each item is scored by how many spike posts carry
it and how much more common it is than usual:

    score = k_w * ln(p_w / p_b),  p_w = (k_w + 0.5) / (N_w + 1),  p_b = (k_b + 0.5) / (N_b + 1)

where k_w, k_b are the numbers of posts carrying the item in the spike and baseline windows and
N_w, N_b the numbers of posts. It is each item's contribution to the KL divergence between the
two windows: an item needs to be both frequent now and rarer before. The same 0.5 smoothing on
both sides keeps a brand-new item from scoring infinity and an item present in every post of both
windows (the subject's own name) at about zero. Items seen in fewer than ``min_support`` spike
posts are left out (one post is an anecdote, not a driver).

``negative_terms`` applies the same contrast to the words that pulled the *negative* posts of each
window towards negative (``sentiment.negative_terms``): what the hostile posts say that was not
said before, e.g. "corrupt", "liar", "resign".
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from pipeline.scoring._text import HASHTAG_RE, all_links, content_words
from pipeline.scoring.buzz import ScoredMention, engagement_weight
from pipeline.scoring.sentiment import NEGATIVE_BELOW, negative_terms


@dataclass(frozen=True)
class Driver:
    item: str
    spike_posts: int
    baseline_posts: int
    score: float


@dataclass(frozen=True)
class ExamplePost:
    event_id: str
    url: str
    author: str
    text: str
    sentiment: float
    engagement_weight: float


@dataclass(frozen=True)
class SpikeExplanation:
    spike_posts: int
    baseline_posts: int
    terms: tuple[Driver, ...]
    hashtags: tuple[Driver, ...]
    links: tuple[Driver, ...]
    authors: tuple[Driver, ...]
    examples: tuple[ExamplePost, ...]
    negative_terms: tuple[Driver, ...] = ()  # words pulling the negative posts negative


def contrast(
    spike_items: Sequence[set[str]],
    baseline_items: Sequence[set[str]],
    *,
    top: int = 5,
    min_support: int = 2,
) -> tuple[Driver, ...]:
    """Items over-represented in the spike window (one set of items per post), best first."""
    n_w, n_b = len(spike_items), len(baseline_items)
    if n_w == 0:
        return ()
    k_w = Counter(i for items in spike_items for i in items)
    k_b = Counter(i for items in baseline_items for i in items)
    drivers = []
    for item, kw in k_w.items():
        if kw < min_support:
            continue
        p_w = (kw + 0.5) / (n_w + 1)
        p_b = (k_b[item] + 0.5) / (n_b + 1)
        score = kw * math.log(p_w / p_b)
        if score > 0:
            drivers.append(Driver(item, kw, k_b[item], round(score, 6)))
    drivers.sort(key=lambda d: (-d.score, -d.spike_posts, d.item))
    return tuple(drivers[:top])


def _authors(posts: Iterable[ScoredMention], origin_author: dict[str, str]) -> list[set[str]]:
    # A reshare or reply also credits the author of the post it spreads: that author is driving
    # the spike even if they posted only once.
    out = []
    for s in posts:
        m = s.mention
        items = {"@" + m.author.handle.lstrip("@").lower()}
        for parent in (m.reshare_of, m.reply_to):
            if parent and parent in origin_author:
                items.add(origin_author[parent])
        out.append(items)
    return out


def _hashtags(s: ScoredMention) -> set[str]:
    tags = {"#" + h.lower() for h in s.mention.hashtags}
    return tags | {t.lower() for t in HASHTAG_RE.findall(s.mention.text)}


def _negative_terms(s: ScoredMention) -> set[str]:
    return set(negative_terms(s.mention.text)) if s.sentiment <= NEGATIVE_BELOW else set()


def _examples(posts: Sequence[ScoredMention], n: int, text_chars: int) -> tuple[ExamplePost, ...]:
    # Originals before reshares (a reshare repeats someone else's words), then most engaged.
    ranked = sorted(
        posts,
        key=lambda s: (
            s.mention.reshare_of is not None,
            -engagement_weight(s.mention),
            s.mention.event_id,
        ),
    )
    seen_text: set[str] = set()
    out = []
    for s in ranked:
        key = " ".join(s.mention.text.lower().split())
        if key in seen_text:
            continue
        seen_text.add(key)
        m = s.mention
        out.append(
            ExamplePost(
                event_id=m.event_id,
                url=m.url,
                author="@" + m.author.handle.lstrip("@"),
                text=m.text[:text_chars],
                sentiment=s.sentiment,
                engagement_weight=round(engagement_weight(m), 6),
            )
        )
        if len(out) == n:
            break
    return tuple(out)


def explain_spike(
    spike_window: Sequence[ScoredMention],
    baseline_window: Sequence[ScoredMention],
    *,
    top: int = 5,
    min_support: int = 2,
    examples: int = 3,
    text_chars: int = 280,
) -> SpikeExplanation:
    """Terms, hashtags, links and authors driving the spike window, plus example posts.

    Pass the subject's mentions in the spike window and in a longer window before it (e.g. the
    previous few hours); duplicates by event id count once.
    """
    spike = list({s.mention.event_id: s for s in spike_window}.values())
    base = list({s.mention.event_id: s for s in baseline_window}.values())
    origin_author = {
        s.mention.event_id: "@" + s.mention.author.handle.lstrip("@").lower() for s in spike + base
    }

    def run(extract: Callable[[ScoredMention], set[str]]) -> tuple[Driver, ...]:
        return contrast(
            [extract(s) for s in spike],
            [extract(s) for s in base],
            top=top,
            min_support=min_support,
        )

    return SpikeExplanation(
        spike_posts=len(spike),
        baseline_posts=len(base),
        terms=run(lambda s: set(content_words(s.mention.text))),
        hashtags=run(_hashtags),
        links=run(lambda s: all_links(s.mention.text, s.mention.links)),
        authors=contrast(
            _authors(spike, origin_author),
            _authors(base, origin_author),
            top=top,
            min_support=min_support,
        ),
        examples=_examples(spike, examples, text_chars),
        negative_terms=run(_negative_terms),
    )
