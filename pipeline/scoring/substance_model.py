"""Comment substance as a small learned model: a handful of readable features, weights fitted on
labelled forum posts (``scripts/train_substance.py``, weights in ``models/substance.json``).

Every feature is a number anyone can check by reading the comment; the score is the logistic of
their weighted sum, so ``features`` in the result are the contributions that add up to it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pipeline.scoring._text import WORD_RE, strip_urls, urls_in

DEFAULT_MODEL = Path(__file__).parent / "models" / "substance.json"

# UKPConvArg1 debates (both sides) held out of training, so ``buzz eval`` measures the shipped
# weights on debates they never saw: every other debate in alphabetical order.
HELD_OUT_DEBATES = frozenset(
    [
        "christianity-or-atheism-",
        "firefox-vs-internet-explorer",
        "human-growth-and-development-should-parents-use-spanking-as-an-option-to-discipline-",
        "india-has-the-potential-to-lead-the-world-",
        "is-porn-wrong-",
        "personal-pursuit-or-advancing-the-common-good-",
        "should-physical-education-be-mandatory-in-schools-",
        "william-farquhar-ought-to-be-honoured-as-the-rightful-founder-of-singapore",
    ]
)


def held_out(group: str) -> bool:
    """Whether a UKPConvArg1 ranking file ("<debate>_<side>") belongs to a held-out debate."""
    return group.rsplit("_", 1)[0] in HELD_OUT_DEBATES


QUESTION_START = re.compile(
    r"^\s*(how|what|why|when|where|who|which|whose|is|are|does|do|did|can|could|will|would|"
    r"should|has|have|was|were|any(one|body))\b",
    re.IGNORECASE,
)
CHEER = re.compile(
    r"^(go|vote|love|great|nice|awesome|amazing|so true|true|agreed?|yes+|this|same|lol|lmao|"
    r"wow|thanks?|thank you|well said|\+1|first|bump|exactly|preach|yay|congrats)\b",
    re.IGNORECASE,
)
_LOWER_I_RE = re.compile(r"(?<![\w'’])i(?![\w'’])")
_YOU_RE = re.compile(r"\byou\b", re.IGNORECASE)


def words_of(text: str) -> list[str]:
    return WORD_RE.findall(strip_urls(text))


def is_question(text: str) -> bool:
    t = strip_urls(text)
    return "?" in t or bool(QUESTION_START.match(t))


def is_low_effort(text: str) -> bool:
    """Emoji or punctuation only, a short stock cheer ("Great post!", "Go JK!"), all-caps cheer."""
    words = words_of(text)
    if not words:
        return True  # emoji-only, punctuation-only, link-only
    letters = [c for c in "".join(words) if c.isalpha()]
    if len(words) <= 8 and len(letters) >= 4 and all(c.isupper() for c in letters):
        return True
    plain = " ".join(w.lower() for w in words)
    return len(words) <= 5 and bool(CHEER.match(plain)) and not is_question(text)


def feature_values(text: str, links: Sequence[str] = ()) -> dict[str, float]:
    """The comment's measurable traits, each a plain number (see docs/scoring.md section 10).

    Chosen by forward selection under leave-one-debate-out cross-validation on the training
    debates (scripts/train_substance.py). Also tried there, and not kept because they did not
    add to these: question marks, connectives ("because", "however"), numbers, insult words,
    all-caps words, text-speak ("u", "plz"), vocabulary variety, capitalised sentences.
    """
    words = words_of(text)
    n = len(words)
    return {
        # log characters, links left out: each doubling of length adds the same
        "length": math.log1p(len(" ".join(strip_urls(text).split()))),
        "word_length": sum(len(w) for w in words) / n if n else 0.0,  # letters per word
        "you": len(_YOU_RE.findall(text)) / n if n else 0.0,  # share of "you": talks at someone
        "link": float(bool(list(links) or urls_in(text))),  # brings a source
        "lowercase_i": len(_LOWER_I_RE.findall(text)) / n if n else 0.0,  # "i think": dashed off
    }


FEATURES = tuple(feature_values("x"))


@dataclass(frozen=True)
class SubstanceModel:
    weights: Mapping[str, float]
    bias: float
    meta: Mapping[str, Any]

    def contributions(self, values: Mapping[str, float]) -> dict[str, float]:
        return {k: round(self.weights[k] * v, 6) for k, v in values.items()}

    def score(self, contributions: Mapping[str, float]) -> float:
        z = self.bias + sum(contributions.values())
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def to_dict(self) -> dict[str, Any]:
        return {"version": 1, "bias": self.bias, "weights": dict(self.weights), "meta": self.meta}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SubstanceModel:
        weights = {k: float(d["weights"][k]) for k in FEATURES}  # KeyError: a feature is missing
        return cls(weights, float(d["bias"]), dict(d.get("meta", {})))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=1, sort_keys=True) + "\n", "utf-8")


@cache
def default_model() -> SubstanceModel:
    return SubstanceModel.from_dict(json.loads(DEFAULT_MODEL.read_text("utf-8")))
