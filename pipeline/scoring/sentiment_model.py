"""The sentiment model: what a post's words are as features, and a linear model that weighs them.

A post becomes a *set* of features: its words (lower-cased, "soooo" -> "soo"), words in the scope
of a negation marked ``not_`` ("not good" -> ``not_good``), the words of its hashtags split at
capitals ("#KimScandal" -> ``#kimscandal``, ``kim``, ``scandal``), pairs of neighbouring words,
emoticons, emoji and the presence of "!" or "?". Links and @handles are dropped: their words are
not the author's tone.

The model is multinomial logistic regression over those features (three classes: negative,
neutral, positive), trained by ``scripts/train_sentiment.py``; each feature carries two weights,
its pull towards negative and towards positive, relative to neutral. The score is
P(positive) - P(negative), in (-1, 1): a plainly neutral post scores near 0. Scoring is a handful
of dictionary look-ups per post, so it keeps up with the stream on one core.

The weights are plain JSON (gzip), shipped inside the package: nothing is downloaded at run time.
"""

from __future__ import annotations

import gzip
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Any

from pipeline.scoring._text import HANDLE_RE, split_compound, strip_urls

MODEL_VERSION = 1
DEFAULT_MODEL = Path(__file__).parent / "models" / "sentiment.json.gz"

_TOKEN_RE = re.compile(
    r"(?P<emoticon>(?<![\w])(?:[:;=][\-o'^]?[)\](\[dDpP/\\|*3]+|[xX][dD]+\b|<3+|\^_*\^|[)(][\-o]?[:;=]))"
    r"|(?P<tag>(?<![\w#])#\w+)"
    r"|(?P<word>[^\W\d_](?:[\w'’]*[^\W_])?)"
    r"|(?P<punct>[!?]+|[.,;:]+)"
    r"|(?P<emoji>[\U0001F000-\U0001FAFF\u2600-\u27BF])"
)
_ELONGATED_RE = re.compile(r"(\w)\1{2,}")
_NEGATORS = frozenset([
    "not", "no", "never", "cannot", "nothing", "nobody", "none", "nowhere", "neither", "nor",
    "without", "aint", "dont", "doesnt", "didnt", "isnt", "wasnt", "arent", "werent", "wont",
    "wouldnt", "cant", "couldnt", "shouldnt", "havent", "hasnt", "hadnt",
])  # fmt: skip
NEGATION_SCOPE = 3  # words after a negator that it flips, unless punctuation ends the clause first
NOT = "not_"


def _norm_word(w: str) -> str:
    w = w.lower()
    return w.replace("’", "'") if "’" in w else w


def _is_negator(w: str) -> bool:
    return w in _NEGATORS or w.endswith("n't")


def features(text: str) -> set[str]:
    """The feature set of ``text`` (see the module docstring); the same for training and scoring."""
    text = _ELONGATED_RE.sub(r"\1\1", HANDLE_RE.sub(" ", strip_urls(text)))
    out: set[str] = set()
    prev: str | None = None  # previous word in the same clause, for word pairs
    scope = 0  # words still under a negation
    for m in _TOKEN_RE.finditer(text):
        kind = m.lastgroup
        tok = m.group()
        if kind == "word":
            w = _norm_word(tok)
            if _is_negator(w):
                out.add(w)
                scope = NEGATION_SCOPE
            elif scope:
                out.add(NOT + w)
                scope -= 1
            else:
                out.add(w)
            if prev is not None:
                out.add(prev + " " + w)
            prev = w
        elif kind == "tag":
            out.add(tok.lower())
            out.update(_norm_word(p) for p in split_compound(tok) if not p.isdigit())
            prev, scope = None, 0
        elif kind == "punct":
            if tok[0] in "!?":
                out.add(tok[0])
            prev, scope = None, 0
        elif kind == "emoticon":
            out.add(tok.lower() if tok[0] in "xX" else tok)
            prev, scope = None, 0
        else:  # emoji
            out.add(tok)
    return out


def surface(feature: str) -> str:
    """How a feature reads to a person: ``not_good`` -> "not good"."""
    return "not " + feature[len(NOT) :] if feature.startswith(NOT) else feature


@dataclass(frozen=True)
class Analysis:
    score: float  # P(positive) - P(negative), in (-1, 1)
    negative_terms: tuple[str, ...]  # the features that pulled hardest towards negative


class LinearSentiment:
    """Multinomial logistic regression over :func:`features`, loaded from a weights file."""

    def __init__(
        self,
        weights: Mapping[str, tuple[float, float]],
        bias: tuple[float, float],
        meta: Mapping[str, Any] | None = None,
        explain_above: float = 0.5,
    ) -> None:
        self.weights = dict(weights)
        self.bias = bias
        # Scoring sums complex numbers (negative pull + positive pull * 1j): one C-level sum over
        # the post's features instead of a Python loop, about twice as fast.
        self._packed = {f: complex(n, p) for f, (n, p) in self.weights.items()}
        self._pull = {f: n - p for f, (n, p) in self.weights.items() if n - p >= explain_above}
        self.meta = dict(meta or {})
        # A term is reported as pushing negative when its pull (negative minus positive weight)
        # is at least this: about a 1.6x shift in the odds, so filler words are never listed.
        self.explain_above = explain_above

    def logits(self, feats: Iterable[str]) -> tuple[float, float]:
        z = sum(map(self._packed.get, feats, repeat(0j)), complex(*self.bias))
        return z.real, z.imag

    def analyse(self, text: str, max_terms: int = 5) -> Analysis:
        feats = features(text)
        if not feats:
            return Analysis(0.0, ())  # nothing to read: no tone, not the model's prior
        a, b = self.logits(feats)
        top = max(a, b, 0.0)
        ea, eb, e0 = math.exp(a - top), math.exp(b - top), math.exp(-top)
        score = max(-1.0, min(1.0, (eb - ea) / (ea + eb + e0)))
        terms: tuple[str, ...] = ()
        if score < 0:  # only a post that leans negative has words that pushed it there
            pull = self._pull
            pulls = sorted((-pull[f], f) for f in feats if f in pull)  # strongest first, then name
            terms = tuple(surface(f) for _, f in pulls[:max_terms])
        return Analysis(score, terms)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": MODEL_VERSION,
            "classes": ["negative", "neutral", "positive"],
            "bias": list(self.bias),
            "explain_above": self.explain_above,
            "meta": self.meta,
            "weights": {f: list(w) for f, w in sorted(self.weights.items())},
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> LinearSentiment:
        if d.get("version") != MODEL_VERSION:
            raise ValueError(f"sentiment model version {d.get('version')!r}, expected 1")
        weights = {str(f): (float(w[0]), float(w[1])) for f, w in d["weights"].items()}
        bn, bp = d["bias"]
        return cls(weights, (float(bn), float(bp)), d.get("meta"), float(d["explain_above"]))

    def save(self, path: Path) -> None:
        data = json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False).encode()
        # mtime=0: the same weights give the same bytes, so a retrain that changes nothing shows
        # no diff.
        path.write_bytes(gzip.compress(data, mtime=0))

    @classmethod
    def load(cls, path: Path = DEFAULT_MODEL) -> LinearSentiment:
        return cls.from_dict(json.loads(gzip.decompress(path.read_bytes())))
