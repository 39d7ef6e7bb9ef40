"""Forum threads for the demo: substantive back-and-forth, low-effort replies, unanswered questions.

What the conversation-quality processors look for has to be in here: threads where people argue,
ask, answer and add links (transactions), threads that collect only "Great post!", and questions
from interested people that nobody answers.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pipeline.campaign import Subject
from pipeline.events import ThreadPost
from pipeline.sources import demo_text as T

if TYPE_CHECKING:
    from pipeline.sources.demo_people import Person
    from pipeline.sources.demo_sim import Simulator

REPLY_KINDS = ("low", "argue", "answer", "ask", "background")


@dataclass
class Thread:
    thread_id: str
    number: int
    title: str
    slug: str
    subject: Subject
    answerable: bool  # False: a question nobody will answer
    low_only: bool  # True: collects only "Great post!"
    started: float
    post_ids: list[str] = field(default_factory=list)
    open_questions: int = 0
    last_t: float = 0.0


class Forum:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.threads: list[Thread] = []
        self.count = 0

    def post(self) -> ThreadPost:
        sim = self.sim
        live = [t for t in self.threads[-12:] if t.answerable]
        # New threads are rarer than replies: a forum has a few busy conversations at a time.
        if len(live) < 3 or sim.rng.random() < 0.04:
            return self._open()
        # Recent activity draws replies: a conversation in progress keeps going.
        weights = [math.exp(-(sim.t - t.last_t) / 240.0) + 0.05 for t in live]
        return self._reply(sim.rng.choices(live, weights)[0])

    def _member(self) -> Person:
        people = self.sim.people.forum
        return self.sim.rng.choices(people, [p.activity for p in people])[0]

    def _open(self) -> ThreadPost:
        sim, rng = self.sim, self.sim.rng
        issue = rng.choice(sim.issues) if sim.issues and rng.random() < 0.75 else None
        kind = "issue" if issue else "candidate"
        # On a forum people write the name, not the @handle.
        slots = sim._slots(issue, subject=issue or sim.cand) | {"cand": sim.cand.name}
        title = sim._fill(rng.choice(T.THREAD_TITLES[kind]), slots)
        question = rng.random() < 0.5
        text = sim._fill(rng.choice(T.THREAD_OPEN["question" if question else "statement"]), slots)
        self.count += 1
        slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60]
        thread = Thread(
            thread_id=f"demo-{sim.tag}-t{self.count}",
            number=self.count,
            title=title,
            slug=slug,
            subject=issue or sim.cand,
            answerable=not question or rng.random() < 0.65,
            low_only=not question and rng.random() < 0.2,
            started=sim.t,
            open_questions=int(question),
        )
        self.threads.append(thread)
        del self.threads[:-40]  # keep the recent ones; old threads go quiet
        return self._emit(thread, self._member(), text, None)

    def _reply(self, thread: Thread) -> ThreadPost:
        sim, rng = self.sim, self.sim.rng
        if thread.low_only:
            kind = "low"
        else:
            kind = rng.choices(REPLY_KINDS, (0.28, 0.22, 0.22, 0.15, 0.13))[0]
            if kind == "answer" and thread.open_questions == 0:
                kind = "argue"
        r = rng.random()
        ids = thread.post_ids
        # Mostly answer the latest post, which is what builds chains of replies.
        parent = ids[-1] if r < 0.55 else ids[0] if r < 0.8 else rng.choice(ids)
        slots = sim._slots(subject=thread.subject) | {"cand": sim.cand.name}
        text = sim._fill(rng.choice(T.THREAD_REPLY[kind]), slots)
        if kind == "ask":
            thread.open_questions += 1
        elif kind == "answer":
            thread.open_questions -= 1
        return self._emit(thread, self._member(), text, parent)

    def _emit(self, thread: Thread, author: Person, text: str, parent: str | None) -> ThreadPost:
        sim = self.sim
        event_id = sim._next_id()
        post_id = event_id.split(":", 1)[1]
        thread.post_ids.append(post_id)
        thread.last_t = sim.t
        number = len(thread.post_ids)
        return ThreadPost(
            event_id=event_id,
            platform="discourse",
            occurred_at=sim.clock(sim.t),
            thread_id=thread.thread_id,
            post_id=post_id,
            parent_id=parent,
            thread_title=thread.title,
            author=author.author(),
            text=text,
            links=list(dict.fromkeys(re.findall(r"https?://\S+", text))),
            url=f"https://{T.FORUM_HOST}/t/{thread.slug}/{thread.number}/{number}",
        )
