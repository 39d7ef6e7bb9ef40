"""Offline sentiment in [-1, 1] with VADER (Hutto & Gilbert, 2014).

VADER is a lexicon plus rules (negation, "but", intensifiers, caps, "!!!", emoticons) tuned on
social media. It needs no network, no model download and scores tens of thousands of short texts
a second on one core, which is why it is the default.

Known weakness, measured in docs/scoring.md: it reads words, not intent. Sarcasm ("Great, another
tax hike. Just what we needed.") scores *positive*, and political attacks phrased in neutral words
("Kim flip-flopped on zoning again") score neutral. Treat the score as the tone of the vocabulary,
good for trends over many posts, not a verdict on any single post.
"""

from __future__ import annotations

from functools import cache
from typing import Literal

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from pipeline.scoring._text import strip_urls

# VADER's own recommended cut-offs for its compound score.
NEGATIVE_BELOW = -0.05
POSITIVE_ABOVE = 0.05

Label = Literal["negative", "neutral", "positive"]


class SentimentScorer:
    """Wraps one VADER analyser; building it reads the lexicon, so build it once."""

    def __init__(self) -> None:
        self._analyser = SentimentIntensityAnalyzer()

    def score(self, text: str) -> float:
        """VADER's compound score in [-1, 1]; links are removed first (their words are noise)."""
        cleaned = strip_urls(text).strip()
        if not cleaned:
            return 0.0
        compound = float(self._analyser.polarity_scores(cleaned)["compound"])
        return max(-1.0, min(1.0, compound))


@cache
def default_scorer() -> SentimentScorer:
    """The process-wide scorer (built on first use)."""
    return SentimentScorer()


def sentiment(text: str) -> float:
    """Tone of ``text`` in [-1, 1] using the shared scorer."""
    return default_scorer().score(text)


def sentiment_label(score: float) -> Label:
    if score <= NEGATIVE_BELOW:
        return "negative"
    if score >= POSITIVE_ABOVE:
        return "positive"
    return "neutral"
