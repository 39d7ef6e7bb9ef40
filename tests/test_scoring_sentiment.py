"""Sentiment: VADER wrapper range, labels, and the figure docs/scoring.md reports."""

from __future__ import annotations

import csv
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from pipeline.scoring.sentiment import default_scorer, sentiment, sentiment_label

SAMPLE = Path(__file__).parent / "data" / "political_sentiment_sample.csv"


def test_scorer_is_built_once() -> None:
    assert default_scorer() is default_scorer()


def test_clear_cases_and_links_ignored() -> None:
    assert sentiment("I love the Riverline plan") > 0.5
    assert sentiment("Jordan Kim is a liar") < -0.3
    assert sentiment("") == 0.0
    assert sentiment("https://example.org/terrible-awful-hate") == 0.0


def test_labels_use_vader_cutoffs() -> None:
    assert sentiment_label(-0.05) == "negative"
    assert sentiment_label(0.0) == "neutral"
    assert sentiment_label(0.05) == "positive"


def test_sarcasm_reads_as_positive_known_weakness() -> None:
    assert sentiment("Great, another tax hike. Just what we needed.") > 0.5


@given(st.text(max_size=300))
def test_score_in_range(text: str) -> None:
    assert -1.0 <= sentiment(text) <= 1.0


def test_accuracy_on_our_hand_labelled_sample_matches_the_docs() -> None:
    # Pins the figure in docs/scoring.md; if a VADER upgrade moves it, update the docs.
    rows = list(csv.DictReader(SAMPLE.open(encoding="utf-8")))
    assert len(rows) == 60
    hits = [sentiment_label(sentiment(r["text"])) == r["label"] for r in rows]
    sarcastic = [h for h, r in zip(hits, rows, strict=True) if r["sarcastic"] == "yes"]
    plain = [h for h, r in zip(hits, rows, strict=True) if r["sarcastic"] == "no"]
    assert (sum(hits), sum(plain), len(plain), sum(sarcastic), len(sarcastic)) == (
        38, 37, 49, 1, 11,
    )  # fmt: skip
