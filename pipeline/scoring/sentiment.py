"""Offline sentiment in [-1, 1]: a linear model trained on public labelled tweets.

The model (``sentiment_model.py``, weights in ``models/sentiment.json.gz``, trained by
``scripts/train_sentiment.py``) reads words, negations ("not good"), word pairs, hashtags split
into words, emoticons and emoji, with VADER's lexicon folded in as a prior for rare words. On
political tweets it ranks positive above negative far better than VADER (``buzz eval``,
docs/scoring.md "How good is it"), at tens of thousands of posts a second on one core.

It still reads words, not intent: sarcasm without a tell-tale word, or an attack told in neutral
words, can be missed. Treat a score as the tone of one post's wording, good for trends over many
posts, never a verdict on one post. :func:`negative_terms` says which words pulled a post towards
negative, so a spike's explanation can show what the negative posts say.
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Literal

from pipeline.scoring._text import strip_urls
from pipeline.scoring.sentiment_model import Analysis, LinearSentiment

# Cut-offs chosen with the model (scripts/train_sentiment.py): for each class, the one at which
# the share of posts labelled so equals the true share on held-out SemEval-2016 tweets, since the
# attack rule and the dashboard read shares. The model's file records them too; a test checks.
NEGATIVE_BELOW = -0.45
POSITIVE_ABOVE = 0.1

Label = Literal["negative", "neutral", "positive"]


class SentimentScorer:
    """One loaded model; loading reads the weights file, so build it once."""

    def __init__(self, model: LinearSentiment | None = None) -> None:
        self.model = model if model is not None else LinearSentiment.load()

    def analyse(self, text: str) -> Analysis:
        """Score and the words that pushed negative; links are ignored (their words are noise)."""
        return self.model.analyse(text)

    def score(self, text: str) -> float:
        return self.analyse(text).score


@cache
def default_scorer() -> SentimentScorer:
    """The process-wide scorer (built on first use)."""
    return SentimentScorer()


def fresh_scorer() -> SentimentScorer:
    """A scorer with no cache in front of it (for timing the model itself)."""
    return SentimentScorer(default_scorer().model)


# The stream asks for a post's score and then, for negative posts, its negative terms: the cache
# makes the second question free. Keyed by the exact text, so it can never return another post's
# answer.
@lru_cache(maxsize=4096)
def analyse(text: str) -> Analysis:
    return default_scorer().analyse(text)


def sentiment(text: str) -> float:
    """Tone of ``text`` in [-1, 1] using the shared model (0.0 when there are no words)."""
    return analyse(text).score


def negative_terms(text: str) -> tuple[str, ...]:
    """Up to five words (or word pairs, "not good") of ``text`` that pulled it towards negative,
    strongest first; empty when none pulled hard. Deterministic; cheap after :func:`sentiment`."""
    return analyse(text).negative_terms


def sentiment_label(score: float) -> Label:
    if score <= NEGATIVE_BELOW:
        return "negative"
    if score >= POSITIVE_ABOVE:
        return "positive"
    return "neutral"


@cache
def _vader() -> object:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def vader_sentiment(text: str) -> float:
    """VADER's compound score (Hutto & Gilbert 2014), links removed: the baseline we compare to."""
    cleaned = strip_urls(text).strip()
    if not cleaned:
        return 0.0
    return float(_vader().polarity_scores(cleaned)["compound"])  # type: ignore[attr-defined]
