"""Subject matching measured on tweets collected for named people (SemEval-2017 Task 4B test).

Each tweet of that set was collected for one topic; for the topics that are people in politics,
the gold answer is "this tweet names that person". The campaign a staffer would write for them
has one term per person, the full name; aliases follow one rule decided before looking at the
tweets: the surname, or the given name when the surname is shared with someone as prominent.

Precision is counted over every tweet of the set, so a tweet collected for one topic that also
names another person (a "trump cabinet" tweet naming Mike Pence) counts as a false match: the
figure is a lower bound.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.campaign import Subject
from pipeline.evaluation import datasets as ds
from pipeline.evaluation.metrics import prf

if TYPE_CHECKING:
    from pipeline.evaluation.harness import Row

# topic -> (subject id, full name, aliases)
PEOPLE = {
    "ben carson": ("carson", "Ben Carson", ["Carson"]),
    "comey": ("comey", "James Comey", ["Comey"]),
    "fidel castro": ("castro", "Fidel Castro", ["Fidel"]),
    "george soros": ("soros", "George Soros", ["Soros"]),
    "kim jong-un": ("kim", "Kim Jong-un", ["Jong-un"]),
    "maduro": ("maduro", "Nicolás Maduro", ["Maduro"]),
    "marine le pen": ("lepen", "Marine Le Pen", ["Le Pen"]),
    "melania trump": ("melania", "Melania Trump", ["Melania"]),
    "mike pence": ("pence", "Mike Pence", ["Pence"]),
    "pelosi": ("pelosi", "Nancy Pelosi", ["Pelosi"]),
    "poroshenko": ("poroshenko", "Petro Poroshenko", ["Poroshenko"]),
    "putin": ("putin", "Vladimir Putin", ["Putin"]),
    "saakashvili": ("saakashvili", "Mikheil Saakashvili", ["Saakashvili"]),
    "steve bannon": ("bannon", "Steve Bannon", ["Bannon"]),
}
# A topic about the same person under another heading. ("kim fatty the third", a nickname, is not
# mapped: most of its tweets use only the nickname, so they do not name Kim Jong-un.)
SAME_PERSON = {"melania speech": "melania trump"}


def _gold(topic: str) -> set[str]:
    topic = SAME_PERSON.get(topic, topic)
    return {PEOPLE[topic][0]} if topic in PEOPLE else set()


def exact_name_ids(subjects: list[Subject], text: str) -> set[str]:
    """The baseline: a term matches in any capitalisation with only whitespace between its words
    (what the matcher did before it read hashtags, handles, accents and hyphens)."""
    out = set()
    for s in subjects:
        for t in s.terms:
            body = r"\s+".join(re.escape(p) for p in t.split())
            if re.search(r"(?<![\w@])" + body + r"(?![\w])", text, re.IGNORECASE):
                out.add(s.id)
    return out


def subject_rows(data: Path) -> tuple[list[Row], list[ds.MissingData]]:
    from pipeline.evaluation.harness import Row
    from pipeline.scoring.subjects import compile_subjects, subject_ids

    try:
        tweets = ds.semeval2017_topics(data)
    except ds.MissingData as exc:
        return [], [exc]
    plain = [Subject(id=i, name=n, kind="rival", terms=[n]) for i, n, _ in PEOPLE.values()]
    aliased = [
        Subject(id=i, name=n, kind="rival", terms=[n], aliases=a) for i, n, a in PEOPLE.values()
    ]
    gold = [_gold(t.group) for t in tweets]
    baseline = prf([exact_name_ids(plain, t.text) for t in tweets], gold)
    rows = []
    for label, subjects in (("full names", plain), ("full names + aliases", aliased)):
        matcher = compile_subjects(subjects)
        ours = prf([set(subject_ids(matcher, t.text)) for t in tweets], gold)
        name = f"SemEval-2017 4B test, 14 politicians, {label}"
        for metric in ("precision", "recall", "f1"):
            rows.append(Row("subjects", name, metric, len(tweets), getattr(ours, metric),
                            getattr(baseline, metric), "exact full name"))  # fmt: skip
    return rows, []
