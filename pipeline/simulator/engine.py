"""The campaign simulator: a pure, seeded generator of believable events over simulated time.

No I/O and no wall clock: ``Simulator.step()`` returns the next event and its offset in simulated
seconds, so the same seed gives the same events and ids, and tests run hours of activity in
seconds. ``source.py`` paces it to the wall clock and sends what it yields.

What it models: mentions of the candidate, rivals and issues in mixed tone; validators posting now
and then (and referral signups following them); reshare cascades several levels deep; replies;
news links that recur (this module: the ordinary traffic); forum threads with real back-and-forth,
low-effort replies and questions nobody answers (``forum.py``); signups by channel
(``signups.py``); and a scripted attack (``attack.py``). They share one :class:`Stage`
(``stage.py``), the world they play in and the interface they write through.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pydantic import SecretStr

from pipeline.campaign import Campaign
from pipeline.events import Mention, Signup, ThreadPost
from pipeline.simulator import text as T
from pipeline.simulator.attack import AttackScript
from pipeline.simulator.forum import Forum
from pipeline.simulator.people import referral_code
from pipeline.simulator.signups import SignupDesk
from pipeline.simulator.stage import Post, SimParams, Stage, slug

__all__ = ["Event", "SimParams", "Simulator"]

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


class Simulator:
    def __init__(
        self,
        campaign: Campaign,
        params: SimParams,
        pii_key: SecretStr,
        clock: Callable[[float], datetime],
    ) -> None:
        self.stage = Stage(campaign, params, pii_key, clock)
        self.attack = AttackScript(self.stage)
        self.forum = Forum(self.stage)
        self.signups = SignupDesk(self.stage, self.forum)

    @property
    def t(self) -> float:
        """Simulated seconds since the start."""
        return self.stage.t

    # -- the clock and the mix -----------------------------------------------------------------
    def step(self) -> tuple[float, Event]:
        st = self.stage
        k, extra = self.attack.intensity(st.t)
        st.t += st.rng.expovariate(st.p.rate * (1.0 + extra))
        if k >= 0 and st.rng.random() < extra / (1.0 + extra):
            return st.t, self.attack.post(k)
        p = st.p
        kind = st.rng.choices(
            ("m", "t", "s"), (p.mentions_share, p.threads_share, p.signups_share)
        )[0]
        if kind == "t":
            return st.t, self.forum.post()
        if kind == "s":
            return st.t, self.signups.signup()
        return st.t, self._mention()

    # -- the ordinary traffic ------------------------------------------------------------------
    def _mention(self) -> Mention:
        st = self.stage
        r = st.rng.random()
        parent = st.pick_post(st.recent)
        if parent is not None and r < 0.28 and parent.depth < 6:
            return st.reshare(parent)
        if parent is not None and r < 0.42:
            return self._reply(parent)
        if r < 0.45 and st.people.validators:
            return self._validator_post()
        if r < 0.48:
            return self._news_post()
        return self._original()

    def _original(self) -> Mention:
        st = self.stage
        rng = st.rng
        author = st.people.pick()
        kinds = [("candidate", 0.38), ("rival", 0.2 if st.rivals else 0.0), ("issue", 0.42)]
        kind = rng.choices([k for k, _ in kinds], [w for _, w in kinds])[0]
        if kind == "issue" and not st.issues:
            kind = "candidate"
        weights = (
            ISSUE_TONES.get(author.leaning, (0.3, 0.2, 0.25, 0.25))
            if kind == "issue"
            else TONE_WEIGHTS[(author.leaning, kind)]
        )
        tone = rng.choices(TONES, weights)[0]
        subject = {"candidate": st.cand, "issue": None}.get(kind)
        if kind == "rival":
            subject = rng.choice(st.rivals)
        slots = st.slots(subject=subject)
        lang = "en"
        if rng.random() < 0.04:
            template, lang = rng.choice(T.SPANISH), "es"
        elif kind != "issue" and rng.random() < 0.08 and st.rivals:
            template = rng.choice(T.COMPARE)
        else:
            template = rng.choice(T.MENTION[(kind, tone)])
        text = st.fill(template, slots)
        mention = st.mention(author, text, lang=lang)
        st.remember(mention, author, text, tone)
        return mention

    def _reply(self, parent: Post) -> Mention:
        st = self.stage
        rng = st.rng
        author = st.people.pick()
        tone = rng.choices(("supportive", "critical", "neutral", "question", "low"),
                           (0.25, 0.25, 0.15, 0.2, 0.15))[0]  # fmt: skip
        text = "@" + parent.author.handle + " " + st.fill(rng.choice(T.REPLY[tone]), st.slots())
        mention = st.mention(author, text, reply_to=parent, reach=0.3)
        st.remember(mention, author, text, "neutral" if tone == "low" else tone)
        return mention

    def _validator_post(self) -> Mention:
        st = self.stage
        v = st.rng.choice(st.people.validators)
        assert v.validator is not None
        code = referral_code(v.validator)
        slots = st.slots(subject=st.cand) | {"group": v.validator.group}
        slots["link"] = f"https://{st.site}/join?ref={code}"
        if "blog" in v.validator.group:  # a blog links to its own post
            slots["link"] = f"https://{v.handle}.example/2026/11/{slug(str(slots['term']))}"
        blog = "blog" in v.validator.group
        text = st.fill(st.rng.choice(T.BLOG_POST if blog else T.VALIDATOR), slots)
        mention = st.mention(v, text, reach=2.0)
        st.remember(mention, v, text, "supportive")
        st.validator_boost[code] = st.t + 300.0  # referral signups follow for a while
        return mention

    def _news_post(self) -> Mention:
        st = self.stage
        outlet = st.rng.choice(st.people.news)
        issue = st.rng.choice(st.issues) if st.issues else None
        text = st.fill(st.rng.choice(T.NEWS), st.slots(issue, subject=issue or st.cand))
        mention = st.mention(outlet, text)
        st.remember(mention, outlet, text, "neutral")
        return mention
