"""The demo's population: who posts, with heavy-tailed audiences and activity.

A few big accounts (news outlets, reporters, the campaigns, the validators) and many small ones,
as on every real platform: audiences follow a Pareto law, so most people reach dozens and a handful
reach hundreds of thousands. Each person leans for, against, or undecided, which sets their tone.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Literal

from pipeline.campaign import Campaign, Validator
from pipeline.events import Author
from pipeline.simulator import text as T

Leaning = Literal["pro", "anti", "undecided"]


@dataclass
class Person:
    handle: str
    name: str
    audience: int
    platform: str
    leaning: Leaning
    activity: float
    role: str = "person"  # person, news, reporter, tabloid, campaign, validator, fresh, forum
    validator: Validator | None = None
    outlet_domain: str = ""

    def author(self) -> Author:
        return Author(
            id=f"{self.platform}:{self.handle}",
            handle=self.handle,
            display_name=self.name,
            audience=self.audience,
        )


def referral_code(v: Validator) -> str:
    """A validator's referral code: their primary handle, upper-case, letters and digits only."""
    handle = v.handles.get("x") or next(iter(v.handles.values()))
    return re.sub(r"[^A-Za-z0-9]", "", handle.split("@")[0]).upper()[:16]


def validator_person(v: Validator, rng: random.Random) -> Person:
    # Mentions are on the platforms where campaigns list validator handles, so the processors
    # can recognise them; X first, where most of the demo traffic is.
    platform = "x" if "x" in v.handles else next(iter(v.handles))
    audience = int(2500 * v.trust_weight * rng.lognormvariate(0.5, 0.6))
    return Person(
        v.handles[platform], v.name, audience, platform, "pro", 2.0, "validator", validator=v
    )


class Population:
    def __init__(self, campaign: Campaign, rng: random.Random, size: int) -> None:
        self.rng = rng
        self._seen: set[str] = set()
        self.people = [self._person(i) for i in range(size)]
        self.validators = [validator_person(v, rng) for v in campaign.validators]
        self.news = [
            Person(h, n, a, "x", "undecided", 3.0, "news", outlet_domain=d)
            for h, n, a, d in T.NEWS_OUTLETS
        ] + [Person(h, n, a, "x", "undecided", 2.0, "reporter") for h, n, a in T.REPORTERS]
        h, n, a, d = T.TABLOID
        self.tabloid = Person(h, n, a, "x", "anti", 1.0, "tabloid", outlet_domain=d)
        self.forum = [self._forum_member(p) for p in rng.sample(self.people, min(90, size))]
        self._weights = [p.activity for p in self.people]
        self._by_leaning: dict[str, list[Person]] = {}
        for p in self.people:
            self._by_leaning.setdefault(p.leaning, []).append(p)

    def _unique(self, handle: str) -> str:
        base, n = handle, 1
        while handle in self._seen:
            n += 1
            handle = f"{base}{n}"
        self._seen.add(handle)
        return handle

    def _person(self, i: int) -> Person:
        rng = self.rng
        first, last = rng.choice(T.FIRST_NAMES), rng.choice(T.LAST_NAMES)
        style = rng.random()
        if style < 0.4:
            handle = f"{first.lower()}{last.lower()}{rng.choice(T.HANDLE_SUFFIXES)}"
        elif style < 0.7:
            handle = f"{first.lower()}_{last[0].lower()}{rng.randint(1, 99)}"
        else:
            handle = f"{first[0].lower()}{last.lower()}{rng.choice(T.HANDLE_SUFFIXES)}"
        platform = rng.choices(("x", "mastodon", "bluesky"), (0.8, 0.1, 0.1))[0]
        handle = self._unique(handle)
        if platform == "mastodon":
            handle += "@" + rng.choice(("northside.social", "mastodon.example", "town.social"))
        elif platform == "bluesky":
            handle += ".bsky.social"
        # Pareto audiences: median ~60 followers, a few thousand for the top 1%.
        audience = min(400_000, int(35 * rng.paretovariate(1.1)))
        leaning: Leaning = rng.choices(("pro", "anti", "undecided"), (0.38, 0.24, 0.38))[0]
        activity = min(50.0, rng.paretovariate(1.6))
        return Person(handle, f"{first} {last}", audience, platform, leaning, activity)

    def _forum_member(self, p: Person) -> Person:
        handle = p.handle.split("@")[0].removesuffix(".bsky.social")
        return Person(handle, p.name, 0, "discourse", p.leaning, p.activity, "forum")

    def pick(self, leaning: tuple[Leaning, ...] | None = None) -> Person:
        """Someone to post, the busiest most often; optionally only from some leanings."""
        if leaning is None:
            return self.rng.choices(self.people, self._weights)[0]
        pool = [p for lean in leaning for p in self._by_leaning.get(lean, ())]
        return self.rng.choices(pool, [p.activity for p in pool])[0]

    def fresh_account(self) -> Person:
        """A days-old, tiny account of the kind that piles on during an attack."""
        word = self.rng.choice(T.FRESH_ACCOUNT_WORDS)
        handle = self._unique(f"{word}{self.rng.randint(100, 99999)}")
        return Person(handle, handle, self.rng.randint(0, 40), "x", "anti", 1.0, "fresh")
