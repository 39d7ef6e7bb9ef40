"""The demo's scripted attack: a salacious story breaks and a pile-on follows.

Every ``spike_every`` simulated seconds (the first after ``first_spike_after``, within two minutes
so a demo shows one early) a tabloid account posts a story about the candidate with its own hashtag
and link. For ``spike_seconds`` the event rate climbs fast and decays slowly, the extra being
reshares of the story (one big cascade), angry originals, often from days-old tiny accounts,
questions, and a few supporters pushing back. This is what the attack alert must catch in minutes.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from pipeline.events import Mention
from pipeline.sources import demo_text as T

if TYPE_CHECKING:
    from pipeline.sources.demo_sim import Post, Simulator


class AttackScript:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.index = -1  # which story is running
        self.posts: deque[Post] = deque(maxlen=200)  # this story's posts, to reshare and answer

    def intensity(self, t: float) -> tuple[int, float]:
        """(index of the story, extra rate as a multiple of the base) at simulated time t."""
        p = self.sim.p
        if not p.spikes or t < p.first_spike_after:
            return -1, 0.0
        since = t - p.first_spike_after
        k = int(since // p.spike_every) if p.spike_every > 0 else 0
        u = (since - k * p.spike_every) / p.spike_seconds
        if u >= 1.0:
            return -1, 0.0
        shape = u / 0.2 if u < 0.2 else (1.0 - u) / 0.8  # fast rise, slow decay
        return k, p.spike_multiplier * max(shape, 0.05)

    def post(self, k: int) -> Mention:
        if k != self.index:
            return self._break_story(k)
        sim, rng = self.sim, self.sim.rng
        parent = sim._pick_post(self.posts)
        r = rng.random()
        if parent is not None and r < 0.45 and parent.depth < 6:
            return sim._reshare(parent)
        tone = rng.choices(("critical", "question", "supportive"), (0.72, 0.16, 0.12))[0]
        if tone == "supportive":
            author = sim.people.pick(("pro",))
        elif r < 0.6:
            author = sim.people.fresh_account()
        else:
            author = sim.people.pick(("anti", "undecided"))
        text = sim._fill(rng.choice(T.ATTACK[tone]), sim._slots(subject=sim.cand))
        reply_to = parent if parent is not None and r > 0.85 else None
        if reply_to is not None:
            text = f"@{reply_to.author.handle} {text}"
        mention = sim._mention_event(author, text, reply_to=reply_to)
        sim._remember(mention, author, text, tone, story=True)
        return mention

    def _break_story(self, k: int) -> Mention:
        sim = self.sim
        self.index = k
        self.posts.clear()
        spec = T.STORIES[(k + sim.p.seed) % len(T.STORIES)]
        slots = sim._slots(subject=sim.cand) | {"cand": sim.cand.name}
        sim.story = {
            "claim": sim._fill(spec["claim"], slots),
            "story_tag": sim._fill(spec["tag"], slots).replace(" ", ""),
            "story_link": f"https://{sim.people.tabloid.outlet_domain}/2026/11/"
            + sim._fill(spec["slug"], slots).lower(),
        }
        text = sim._fill(T.STORY_ORIGIN, slots | sim.story)
        author = sim.people.tabloid
        mention = sim._mention_event(author, text, reach=4.0)
        sim._remember(mention, author, text, "critical", story=True, boost=25.0)
        return mention
