"""What every part of the simulated campaign shares: the world it plays in and how it speaks.

The :class:`Stage` holds the state the parts share (the seeded random generator, simulated time,
the campaign, the population, recent posts, the running attack story) and the narrow interface
through which they write: :meth:`~Stage.next_id`, :meth:`~Stage.slots`, :meth:`~Stage.fill`,
:meth:`~Stage.mention`, :meth:`~Stage.remember`, :meth:`~Stage.pick_post` and
:meth:`~Stage.reshare`. The ordinary traffic (``engine.py``), the attack (``attack.py``), the
forum (``forum.py``) and the signups (``signups.py``) all take a stage; none of them imports
another's internals, so nothing here imports in a circle.
"""

from __future__ import annotations

import math
import random
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import SecretStr

from pipeline.campaign import Campaign, Subject
from pipeline.events import Engagement, Mention
from pipeline.simulator import text as T
from pipeline.simulator.people import Person, Population

__all__ = ["Post", "SimParams", "Stage"]

LINK_RE = re.compile(r"https?://\S+")
TAG_RE = re.compile(r"#(\w+)")


@dataclass(frozen=True)
class SimParams:
    seed: int
    rate: float = 20.0
    mentions_share: float = 0.7
    threads_share: float = 0.2
    signups_share: float = 0.1
    spikes: bool = True
    first_spike_after: float = 75.0
    spike_every: float = 1800.0
    spike_seconds: float = 90.0
    spike_multiplier: float = 2.0
    authors: int = 600


@dataclass
class Post:
    """A mention kept around so later ones can reshare or reply to it."""

    event_id: str
    author: Person
    body: str  # what a reshare repeats
    url: str
    tone: str
    t: float
    depth: int = 0
    story: bool = False
    weight: float = 1.0


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


class Stage:
    """The shared world of one simulation (see the module docstring)."""

    def __init__(
        self,
        campaign: Campaign,
        params: SimParams,
        pii_key: SecretStr,
        clock: Callable[[float], datetime],
    ) -> None:
        self.p = params
        self.rng = rng = random.Random(params.seed)
        self.tag = f"{rng.getrandbits(24):06x}"  # same seed, same ids; new seed, new ids
        self.pii_key = pii_key
        self.clock = clock
        self.t = 0.0  # simulated seconds since the start
        self.n = 0
        self.campaign = campaign
        self.cand = campaign.candidate
        self.rivals = [s for s in campaign.subjects if s.kind == "rival"]
        self.issues = [s for s in campaign.subjects if s.kind == "issue"]
        self.people = Population(campaign, rng, params.authors)
        self.cand_account = Person(
            self._handle(self.cand), self.cand.name, 24_000, "x", "pro", 3.0, "campaign"
        )
        self.recent: deque[Post] = deque(maxlen=400)
        self.story_posts: deque[Post] = deque(maxlen=200)  # the running story's, to reshare
        self.validator_boost: dict[str, float] = {}  # referral code -> until (sim seconds)
        office = campaign.name.split(" for ", 1)[1] if " for " in campaign.name else "local"
        self.site = slug(self.cand.name).replace("-", "") + ".example"
        self.base_slots = {"office": office, "cand_slug": slug(self.cand.name.split()[-1])}
        self.links = {s.id: self._link_pool(s) for s in campaign.subjects}
        self.story: dict[str, str] = {}  # the current attack's slots: claim, tag, link

    # -- the interface the parts write through -----------------------------------------------
    def next_id(self) -> str:
        self.n += 1
        return f"demo:{self.tag}-{self.n}"

    def slots(self, issue: Subject | None = None, subject: Subject | None = None) -> dict[str, Any]:
        """Values for a template's ``{slots}``: names, terms, a link, figures, the story."""
        rng = self.rng
        rival = rng.choice(self.rivals) if self.rivals else None
        issue = issue or (rng.choice(self.issues) if self.issues else None)
        terms = [t for t in issue.terms if not t.startswith("#")] if issue else []
        link_subject = subject or issue or self.cand
        return {
            **self.base_slots,
            **self.story,
            "cand": self._name_term(self.cand),
            "cand_last": self.cand.name.split()[-1],
            "cand_tag": self._tag(self.cand),
            "rival": self._name_term(rival),
            "rival_tag": self._tag(rival),
            "term": rng.choice(terms) if terms else "the budget",
            "issue": issue.name if issue else "The budget",
            "issue_tag": self._tag(issue),
            "link": self._link(link_subject),
            "pct": rng.randint(18, 64),
            "pct_small": rng.randint(2, 6),
            "amount": rng.choice(("$40 million", "$85 million", "$120 million", "$1.2 billion")),
            "raised": rng.choice(("$186,500", "$240,000", "$312,750", "$412,000")),
            "cand_name": self.cand.name,
            "group": "our community",
        }

    def fill(self, template: str, slots: dict[str, Any]) -> str:
        text = re.sub(r"\s+", " ", template.format(**slots)).strip()
        return text[:1].upper() + text[1:]  # a term may open the sentence

    def mention(
        self,
        author: Person,
        text: str,
        *,
        reshare_of: Post | None = None,
        reply_to: Post | None = None,
        lang: str = "en",
        reach: float = 1.0,
    ) -> Mention:
        """A mention by ``author`` now, with engagement drawn for its reach."""
        event_id = self.next_id()
        url = f"https://{author.platform}.example/{author.handle}/status/{self.tag}{self.n}"
        engagement = Engagement(likes=0, reshares=0, replies=0, quotes=0)
        if reshare_of is None:  # reshares' likes go to the original
            likes = int((author.audience + 5) * self.rng.lognormvariate(-4.0, 1.0) * reach)
            engagement = Engagement(
                likes=likes,
                reshares=int(likes * self.rng.uniform(0.05, 0.3)),
                replies=int(likes * self.rng.uniform(0.02, 0.1)),
                quotes=int(likes * self.rng.uniform(0.0, 0.04)),
            )
        return Mention(
            event_id=event_id,
            platform=author.platform,
            occurred_at=self.clock(self.t),
            author=author.author(),
            text=text[:1000],
            url=url,
            lang=lang,
            engagement=engagement,
            reshare_of=reshare_of.event_id if reshare_of else None,
            reply_to=reply_to.event_id if reply_to else None,
            links=list(dict.fromkeys(LINK_RE.findall(text))),
            hashtags=list(dict.fromkeys(TAG_RE.findall(text))),
        )

    def remember(
        self,
        mention: Mention,
        author: Person,
        body: str,
        tone: str,
        *,
        depth: int = 0,
        story: bool = False,
        boost: float = 1.0,
    ) -> None:
        """Keep ``mention`` where later posts can reshare or answer it (the story's, too)."""
        weight = math.sqrt(author.audience + 10) * (3.0 if author.validator else 1.0) * boost
        post = Post(mention.event_id, author, body, mention.url, tone, self.t, depth, story, weight)
        self.recent.append(post)
        if post.story:
            self.story_posts.append(post)

    def pick_post(self, posts: deque[Post]) -> Post | None:
        if not posts:
            return None
        # Bigger accounts and fresher posts get reshared; half-life of about five minutes.
        weights = [p.weight * math.exp(-(self.t - p.t) / 420.0) for p in posts]
        return self.rng.choices(list(posts), weights)[0]

    def reshare(self, parent: Post) -> Mention:
        """A repost of ``parent`` (three in four), else a quote with a comment of one's own."""
        rng = self.rng
        author = self.people.fresh_account() if parent.story and rng.random() < 0.3 else None
        author = author or self.people.pick()
        if rng.random() < 0.75:
            text = f"RT @{parent.author.handle}: {parent.body}"
            body = parent.body
        else:  # a quote: a comment of one's own on top of the parent
            comment = self.fill(rng.choice(T.QUOTE[parent.tone]), self.slots())
            body = text = f"{comment} QT @{parent.author.handle}: {parent.body}"
        mention = self.mention(author, text, reshare_of=parent)
        self.remember(
            mention, author, body, parent.tone, depth=parent.depth + 1, story=parent.story
        )
        return mention

    # -- slot helpers --------------------------------------------------------------------------
    def _handle(self, s: Subject) -> str:
        for term in s.terms:
            if term.startswith("@"):
                return term[1:]
        return slug(s.name).replace("-", "")

    def _name_term(self, s: Subject | None) -> str:
        if s is None:
            return "the other candidate"
        names = [t for t in s.terms if not t.startswith("#")] or [s.name]
        return self.rng.choice([s.name, *names])  # the plain name most often

    def _tag(self, s: Subject | None) -> str:
        tags = [t for t in s.terms if t.startswith("#")] if s else []
        return self.rng.choice(tags) if tags and self.rng.random() < 0.7 else ""

    def _link_pool(self, s: Subject) -> list[str]:
        name = slug(s.name)
        outlets = [p.outlet_domain for p in self.people.news if p.outlet_domain]
        pool = {
            "candidate": [f"https://{self.site}/plan"],
            "issue": [f"https://{self.site}/issues/{name}"],
        }.get(s.kind, [])
        pool += [f"https://{self.rng.choice(outlets)}/2026/11/{name}-{w}" for w in
                 ("vote-delayed", "what-to-know", "poll", "debate-takeaways")]  # fmt: skip
        return pool

    def _link(self, s: Subject) -> str:
        pool = self.links[s.id]
        # Zipf-like: the first link of a subject is the one everybody shares.
        return self.rng.choices(pool, [1.0 / (i + 1) for i in range(len(pool))])[0]
