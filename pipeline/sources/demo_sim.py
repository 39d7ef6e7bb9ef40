"""The campaign simulator: a pure, seeded generator of believable events over simulated time.

No I/O and no wall clock: ``Simulator.step()`` returns the next event and its offset in simulated
seconds, so the same seed gives the same events and ids, and tests run hours of activity in
seconds. ``demo.py`` paces it to the wall clock and sends what it yields.

What it models: mentions of the candidate, rivals and issues in mixed tone; validators posting now
and then (and referral signups following them); reshare cascades several levels deep; replies;
news links that recur; forum threads with real back-and-forth, low-effort replies and questions
nobody answers; signups by channel; and a scripted attack (``demo_attack.py``).
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
from pipeline.events import Engagement, Mention, Signup, ThreadPost
from pipeline.sources import demo_text as T
from pipeline.sources.demo_attack import AttackScript
from pipeline.sources.demo_forum import Forum
from pipeline.sources.demo_people import Person, Population, referral_code
from pipeline.sources.demo_signups import SignupDesk

Event = Mention | ThreadPost | Signup
TONES = ("supportive", "critical", "neutral", "question")
# Tone weights by (leaning, subject kind): supporters praise the candidate and knock the rival.
TONE_WEIGHTS = {
    ("pro", "candidate"): (0.6, 0.05, 0.15, 0.2),
    ("pro", "rival"): (0.0, 0.6, 0.2, 0.2),
    ("anti", "candidate"): (0.03, 0.6, 0.15, 0.22),
    ("anti", "rival"): (0.55, 0.05, 0.2, 0.2),
    ("undecided", "candidate"): (0.2, 0.2, 0.3, 0.3),
    ("undecided", "rival"): (0.2, 0.2, 0.3, 0.3),
}
ISSUE_TONES = {"pro": (0.5, 0.1, 0.2, 0.2), "anti": (0.2, 0.4, 0.2, 0.2)}
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
    spike_every: float = 600.0
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


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


class Simulator:
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
        self.t = 0.0
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
        self.validator_boost: dict[str, float] = {}  # referral code -> until (sim seconds)
        office = campaign.name.split(" for ", 1)[1] if " for " in campaign.name else "local"
        self.site = _slug(self.cand.name).replace("-", "") + ".example"
        self.base_slots = {"office": office, "cand_slug": _slug(self.cand.name.split()[-1])}
        self.links = {s.id: self._link_pool(s) for s in campaign.subjects}
        self.story: dict[str, str] = {}  # the current attack's slots: claim, tag, link
        self.attack = AttackScript(self)
        self.forum = Forum(self)
        self.signups = SignupDesk(self)

    # -- the clock and the mix -----------------------------------------------------------------
    def step(self) -> tuple[float, Event]:
        k, extra = self.attack.intensity(self.t)
        self.t += self.rng.expovariate(self.p.rate * (1.0 + extra))
        if k >= 0 and self.rng.random() < extra / (1.0 + extra):
            return self.t, self.attack.post(k)
        p = self.p
        kind = self.rng.choices(
            ("m", "t", "s"), (p.mentions_share, p.threads_share, p.signups_share)
        )[0]
        if kind == "t":
            return self.t, self.forum.post()
        if kind == "s":
            return self.t, self.signups.signup()
        return self.t, self._mention()

    def _next_id(self) -> str:
        self.n += 1
        return f"demo:{self.tag}-{self.n}"

    # -- slots ---------------------------------------------------------------------------------
    def _handle(self, s: Subject) -> str:
        for term in s.terms:
            if term.startswith("@"):
                return term[1:]
        return _slug(s.name).replace("-", "")

    def _name_term(self, s: Subject | None) -> str:
        if s is None:
            return "the other candidate"
        names = [t for t in s.terms if not t.startswith("#")] or [s.name]
        return self.rng.choice([s.name, *names])  # the plain name most often

    def _tag(self, s: Subject | None) -> str:
        tags = [t for t in s.terms if t.startswith("#")] if s else []
        return self.rng.choice(tags) if tags and self.rng.random() < 0.7 else ""

    def _slots(
        self, issue: Subject | None = None, subject: Subject | None = None
    ) -> dict[str, Any]:
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

    def _link_pool(self, s: Subject) -> list[str]:
        slug = _slug(s.name)
        outlets = [p.outlet_domain for p in self.people.news if p.outlet_domain]
        pool = {
            "candidate": [f"https://{self.site}/plan"],
            "issue": [f"https://{self.site}/issues/{slug}"],
        }.get(s.kind, [])
        pool += [f"https://{self.rng.choice(outlets)}/2026/11/{slug}-{w}" for w in
                 ("vote-delayed", "what-to-know", "poll", "debate-takeaways")]  # fmt: skip
        return pool

    def _link(self, s: Subject) -> str:
        pool = self.links[s.id]
        # Zipf-like: the first link of a subject is the one everybody shares.
        return self.rng.choices(pool, [1.0 / (i + 1) for i in range(len(pool))])[0]

    def _fill(self, template: str, slots: dict[str, Any]) -> str:
        text = re.sub(r"\s+", " ", template.format(**slots)).strip()
        return text[:1].upper() + text[1:]  # a term may open the sentence

    # -- mentions -------------------------------------------------------------------------------
    def _mention_event(
        self,
        author: Person,
        text: str,
        *,
        reshare_of: Post | None = None,
        reply_to: Post | None = None,
        lang: str = "en",
        reach: float = 1.0,
    ) -> Mention:
        event_id = self._next_id()
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
        mention = Mention(
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
        return mention

    def _remember(
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
        weight = math.sqrt(author.audience + 10) * (3.0 if author.validator else 1.0) * boost
        post = Post(mention.event_id, author, body, mention.url, tone, self.t, depth, story, weight)
        self.recent.append(post)
        if post.story:
            self.attack.posts.append(post)

    def _pick_post(self, posts: deque[Post]) -> Post | None:
        if not posts:
            return None
        # Bigger accounts and fresher posts get reshared; half-life of about five minutes.
        weights = [p.weight * math.exp(-(self.t - p.t) / 420.0) for p in posts]
        return self.rng.choices(list(posts), weights)[0]

    def _mention(self) -> Mention:
        r = self.rng.random()
        parent = self._pick_post(self.recent)
        if parent is not None and r < 0.28 and parent.depth < 6:
            return self._reshare(parent)
        if parent is not None and r < 0.42:
            return self._reply(parent)
        if r < 0.45 and self.people.validators:
            return self._validator_post()
        if r < 0.48:
            return self._news_post()
        return self._original()

    def _original(self) -> Mention:
        rng = self.rng
        author = self.people.pick()
        kinds = [("candidate", 0.38), ("rival", 0.2 if self.rivals else 0.0), ("issue", 0.42)]
        kind = rng.choices([k for k, _ in kinds], [w for _, w in kinds])[0]
        if kind == "issue" and not self.issues:
            kind = "candidate"
        weights = (
            ISSUE_TONES.get(author.leaning, (0.3, 0.2, 0.25, 0.25))
            if kind == "issue"
            else TONE_WEIGHTS[(author.leaning, kind)]
        )
        tone = rng.choices(TONES, weights)[0]
        subject = {"candidate": self.cand, "issue": None}.get(kind)
        if kind == "rival":
            subject = rng.choice(self.rivals)
        slots = self._slots(subject=subject)
        lang = "en"
        if rng.random() < 0.04:
            template, lang = rng.choice(T.SPANISH), "es"
        elif kind != "issue" and rng.random() < 0.08 and self.rivals:
            template = rng.choice(T.COMPARE)
        else:
            template = rng.choice(T.MENTION[(kind, tone)])
        text = self._fill(template, slots)
        mention = self._mention_event(author, text, lang=lang)
        self._remember(mention, author, text, tone)
        return mention

    def _reshare(self, parent: Post) -> Mention:
        rng = self.rng
        author = self.people.fresh_account() if parent.story and rng.random() < 0.3 else None
        author = author or self.people.pick()
        if rng.random() < 0.75:
            text = f"RT @{parent.author.handle}: {parent.body}"
            body = parent.body
        else:  # a quote: a comment of one's own on top of the parent
            comment = self._fill(rng.choice(T.QUOTE[parent.tone]), self._slots())
            body = text = f"{comment} QT @{parent.author.handle}: {parent.body}"
        mention = self._mention_event(author, text, reshare_of=parent)
        self._remember(
            mention, author, body, parent.tone, depth=parent.depth + 1, story=parent.story
        )
        return mention

    def _reply(self, parent: Post) -> Mention:
        rng = self.rng
        author = self.people.pick()
        tone = rng.choices(("supportive", "critical", "neutral", "question", "low"),
                           (0.25, 0.25, 0.15, 0.2, 0.15))[0]  # fmt: skip
        text = (
            "@" + parent.author.handle + " " + self._fill(rng.choice(T.REPLY[tone]), self._slots())
        )
        mention = self._mention_event(author, text, reply_to=parent, reach=0.3)
        self._remember(mention, author, text, "neutral" if tone == "low" else tone)
        return mention

    def _validator_post(self) -> Mention:
        v = self.rng.choice(self.people.validators)
        assert v.validator is not None
        code = referral_code(v.validator)
        slots = self._slots(subject=self.cand) | {"group": v.validator.group}
        slots["link"] = f"https://{self.site}/join?ref={code}"
        if "blog" in v.validator.group:  # a blog links to its own post
            slots["link"] = f"https://{v.handle}.example/2026/11/{_slug(str(slots['term']))}"
        blog = "blog" in v.validator.group
        text = self._fill(self.rng.choice(T.BLOG_POST if blog else T.VALIDATOR), slots)
        mention = self._mention_event(v, text, reach=2.0)
        self._remember(mention, v, text, "supportive")
        self.validator_boost[code] = self.t + 300.0  # referral signups follow for a while
        return mention

    def _news_post(self) -> Mention:
        outlet = self.rng.choice(self.people.news)
        issue = self.rng.choice(self.issues) if self.issues else None
        text = self._fill(self.rng.choice(T.NEWS), self._slots(issue, subject=issue or self.cand))
        mention = self._mention_event(outlet, text)
        self._remember(mention, outlet, text, "neutral")
        return mention
