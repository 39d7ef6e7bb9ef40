"""Forum threads for the demo: substantive back-and-forth, low-effort replies, unanswered questions.

What the conversation-quality processors look for has to be in here: threads where people argue,
ask, answer and add links (transactions), threads that collect only "Great post!", and questions
from interested people that nobody answers.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from pipeline.campaign import Subject
from pipeline.events import ThreadPost
from pipeline.simulator import text as T
from pipeline.simulator.people import Person
from pipeline.simulator.stage import Stage

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
    def __init__(self, stage: Stage) -> None:
        self.stage = stage
        self.threads: list[Thread] = []
        self.count = 0

    def post(self) -> ThreadPost:
        st = self.stage
        live = [t for t in self.threads[-12:] if t.answerable]
        # New threads are rarer than replies: a forum has a few busy conversations at a time.
        if len(live) < 3 or st.rng.random() < 0.04:
            return self._open()
        # Recent activity draws replies: a conversation in progress keeps going.
        weights = [math.exp(-(st.t - t.last_t) / 240.0) + 0.05 for t in live]
        return self._reply(st.rng.choices(live, weights)[0])

    def _member(self) -> Person:
        people = self.stage.people.forum
        return self.stage.rng.choices(people, [p.activity for p in people])[0]

    def _open(self) -> ThreadPost:
        st, rng = self.stage, self.stage.rng
        issue = rng.choice(st.issues) if st.issues and rng.random() < 0.75 else None
        kind = "issue" if issue else "candidate"
        # On a forum people write the name, not the @handle.
        slots = st.slots(issue, subject=issue or st.cand) | {"cand": st.cand.name}
        title = st.fill(rng.choice(T.THREAD_TITLES[kind]), slots)
        question = rng.random() < 0.5
        text = st.fill(rng.choice(T.THREAD_OPEN["question" if question else "statement"]), slots)
        self.count += 1
        slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60]
        thread = Thread(
            thread_id=f"demo-{st.tag}-t{self.count}",
            number=self.count,
            title=title,
            slug=slug,
            subject=issue or st.cand,
            answerable=not question or rng.random() < 0.65,
            low_only=not question and rng.random() < 0.2,
            started=st.t,
            open_questions=int(question),
        )
        self.threads.append(thread)
        del self.threads[:-40]  # keep the recent ones; old threads go quiet
        return self._emit(thread, self._member(), text, None)

    def _reply(self, thread: Thread) -> ThreadPost:
        st, rng = self.stage, self.stage.rng
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
        slots = st.slots(subject=thread.subject) | {"cand": st.cand.name}
        text = st.fill(rng.choice(T.THREAD_REPLY[kind]), slots)
        if kind == "ask":
            thread.open_questions += 1
        elif kind == "answer":
            thread.open_questions -= 1
        return self._emit(thread, self._member(), text, parent)

    def _emit(self, thread: Thread, author: Person, text: str, parent: str | None) -> ThreadPost:
        st = self.stage
        event_id = st.next_id()
        post_id = event_id.split(":", 1)[1]
        thread.post_ids.append(post_id)
        thread.last_t = st.t
        number = len(thread.post_ids)
        return ThreadPost(
            event_id=event_id,
            platform="discourse",
            occurred_at=st.clock(st.t),
            thread_id=thread.thread_id,
            post_id=post_id,
            parent_id=parent,
            thread_title=thread.title,
            author=author.author(),
            text=text,
            links=list(dict.fromkeys(re.findall(r"https?://\S+", text))),
            url=f"https://{T.FORUM_HOST}/t/{thread.slug}/{thread.number}/{number}",
        )
