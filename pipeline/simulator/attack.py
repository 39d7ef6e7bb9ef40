"""The demo's scripted attack: a salacious story breaks and a pile-on follows.

Every ``spike_every`` simulated seconds (the first after ``first_spike_after``, within two minutes
so a demo shows one early) a tabloid account posts a story about the candidate with its own hashtag
and link. For ``spike_seconds`` the event rate climbs fast and decays slowly, the extra being
reshares of the story (one big cascade), angry originals in people's own words, often from
days-old tiny accounts, questions, and a few supporters pushing back. Within the first minute a
ring of ``BURST_ACCOUNTS`` new accounts pastes one talking point ``BURST_POSTS`` times with small
edits: the coordinated burst. This is what the attack and coordinated alerts must catch in minutes.
"""

from __future__ import annotations

from pipeline.events import Mention
from pipeline.simulator import text as T
from pipeline.simulator.people import Person
from pipeline.simulator.stage import Stage

BURST_POSTS = 40
BURST_ACCOUNTS = 35
BURST_SHARE = 0.1  # of the story's posts while the burst lasts: 40 posts in about half a minute


class AttackScript:
    def __init__(self, stage: Stage) -> None:
        self.stage = stage
        self.index = -1  # which story is running; its posts are stage.story_posts
        self.ring: list[Person] = []  # the running story's coordinated accounts
        self.burst_sent = BURST_POSTS

    def intensity(self, t: float) -> tuple[int, float]:
        """(index of the story, extra rate as a multiple of the base) at simulated time t."""
        p = self.stage.p
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
        st, rng = self.stage, self.stage.rng
        if self.burst_sent < BURST_POSTS and rng.random() < BURST_SHARE:
            return self._coordinated()
        parent = st.pick_post(st.story_posts)
        r = rng.random()
        if parent is not None and r < 0.45 and parent.depth < 6:
            return st.reshare(parent)
        tone = rng.choices(("critical", "question", "supportive"), (0.72, 0.16, 0.12))[0]
        if tone == "supportive":
            author = st.people.pick(("pro",))
        elif r < 0.6:
            author = st.people.fresh_account()
        else:
            author = st.people.pick(("anti", "undecided"))
        text = st.fill(rng.choice(T.ATTACK[tone]), st.slots(subject=st.cand))
        # In their own words: an opener and a closer of their own around the template.
        text = f"{rng.choice(T.ATTACK_OPENERS)} {text} {rng.choice(T.ATTACK_CLOSERS)}"
        reply_to = parent if parent is not None and r > 0.85 else None
        if reply_to is not None:
            text = f"@{reply_to.author.handle} {text}"
        mention = st.mention(author, text, reply_to=reply_to)
        st.remember(mention, author, text, tone, story=True)
        return mention

    def _coordinated(self) -> Mention:
        """One post of the ring: the story's talking point, lightly edited, from its accounts."""
        st, rng = self.stage, self.stage.rng
        n = self.burst_sent
        self.burst_sent += 1
        # Every account once, then a few of them again.
        author = self.ring[n] if n < len(self.ring) else rng.choice(self.ring)
        point = T.TALKING_POINTS[self.index % len(T.TALKING_POINTS)]
        text = st.fill(point, st.slots(subject=st.cand)) + rng.choice(T.TALKING_POINT_EDITS)
        link = st.story.get("story_link", "")
        if link and rng.random() < 0.5:  # the same story, a different tracking tag
            text += f" {link}?s={rng.randint(1000, 9999)}"
        mention = st.mention(author, text)
        st.remember(mention, author, text, "critical", story=True)
        return mention

    def _break_story(self, k: int) -> Mention:
        st = self.stage
        self.index = k
        st.story_posts.clear()
        self.ring = [st.people.fresh_account() for _ in range(BURST_ACCOUNTS)]
        self.burst_sent = 0
        spec = T.STORIES[(k + st.p.seed) % len(T.STORIES)]
        slots = st.slots(subject=st.cand) | {"cand": st.cand.name}
        st.story = {
            "claim": st.fill(spec["claim"], slots),
            "story_tag": st.fill(spec["tag"], slots).replace(" ", ""),
            "story_link": f"https://{st.people.tabloid.outlet_domain}/2026/11/"
            + st.fill(spec["slug"], slots).lower(),
        }
        text = st.fill(T.STORY_ORIGIN, slots | st.story)
        author = st.people.tabloid
        mention = st.mention(author, text, reach=4.0)
        st.remember(mention, author, text, "critical", story=True, boost=25.0)
        return mention
