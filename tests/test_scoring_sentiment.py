"""Sentiment: the shipped model's range, cut-offs, explanations, speed, and the docs' figures."""

from __future__ import annotations

import csv
import time
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from pipeline.evaluation.metrics import auc
from pipeline.scoring.sentiment import (
    NEGATIVE_BELOW,
    POSITIVE_ABOVE,
    SentimentScorer,
    analyse,
    default_scorer,
    fresh_scorer,
    negative_terms,
    sentiment,
    sentiment_label,
    vader_sentiment,
)
from pipeline.scoring.sentiment_model import LinearSentiment

SAMPLE = Path(__file__).parent / "data" / "political_sentiment_sample.csv"
ATTACK = "Jordan Kim is a corrupt liar. Disgraceful scandal, resign now! #KimScandal"


def test_scorer_is_built_once() -> None:
    assert default_scorer() is default_scorer()


def test_clear_cases_and_links_ignored() -> None:
    assert sentiment("I love the Riverline plan") >= POSITIVE_ABOVE
    assert sentiment("Jordan Kim is a liar") <= NEGATIVE_BELOW
    assert sentiment(ATTACK) <= NEGATIVE_BELOW
    assert sentiment("") == 0.0
    assert sentiment("https://example.org/terrible-awful-hate") == 0.0


def test_cut_offs_are_the_ones_chosen_with_the_model() -> None:
    meta = LinearSentiment.load().meta
    assert (meta["negative_below"], meta["positive_above"]) == (NEGATIVE_BELOW, POSITIVE_ABOVE)
    assert sentiment_label(NEGATIVE_BELOW) == "negative"
    assert sentiment_label((NEGATIVE_BELOW + POSITIVE_ABOVE) / 2) == "neutral"
    assert sentiment_label(POSITIVE_ABOVE) == "positive"


def test_negative_terms_name_what_pushed_a_post_negative() -> None:
    terms = negative_terms(ATTACK)
    assert "liar" in terms and len(terms) <= 5
    assert negative_terms("I love the Riverline plan") == ()
    assert negative_terms(ATTACK) == analyse(ATTACK).negative_terms  # one cached analysis


def test_scores_do_not_depend_on_the_cache_or_the_scorer_instance() -> None:
    other = SentimentScorer(LinearSentiment.load())
    rows = list(csv.DictReader(SAMPLE.open(encoding="utf-8")))
    assert [other.score(r["text"]) for r in rows] == [sentiment(r["text"]) for r in rows]


def test_vader_baseline_still_reads_sarcasm_as_praise() -> None:
    assert vader_sentiment("Great, another tax hike. Just what we needed.") > 0.5


@given(st.text(max_size=300))
def test_score_in_range(text: str) -> None:
    assert -1.0 <= sentiment(text) <= 1.0


def test_figures_on_our_hand_labelled_sample_match_the_docs() -> None:
    # Pins the table in docs/scoring.md section 2; retraining the model must update the docs.
    rows = list(csv.DictReader(SAMPLE.open(encoding="utf-8")))
    assert len(rows) == 60

    def figures(score: list[float], label: list[str]) -> tuple[int, int, int, float]:
        hits = [p == r["label"] for p, r in zip(label, rows, strict=True)]
        sarcastic = sum(h for h, r in zip(hits, rows, strict=True) if r["sarcastic"] == "yes")
        pos = [s for s, r in zip(score, rows, strict=True) if r["label"] == "positive"]
        neg = [s for s, r in zip(score, rows, strict=True) if r["label"] == "negative"]
        return sum(hits), sum(hits) - sarcastic, sarcastic, round(auc(pos, neg), 3)

    ours = [sentiment(r["text"]) for r in rows]
    vader = [vader_sentiment(r["text"]) for r in rows]
    vader_labels = [
        "negative" if s <= -0.05 else "positive" if s >= 0.05 else "neutral" for s in vader
    ]
    assert figures(ours, [sentiment_label(s) for s in ours]) == OURS_ON_SAMPLE
    assert figures(vader, vader_labels) == (38, 37, 1, 0.655)


OURS_ON_SAMPLE = (35, 35, 0, 0.748)  # correct labels, of them not sarcastic, sarcastic, AUC


def test_scores_at_least_10000_posts_per_cpu_second() -> None:
    # CPU time of this process, so a busy machine does not fail it; the stream needs 10,000/s.
    texts = [r["text"] for r in csv.DictReader(SAMPLE.open(encoding="utf-8"))] * 50
    model = fresh_scorer()
    model.analyse(texts[0])

    def rate() -> float:
        start = time.process_time()
        for t in texts:
            model.analyse(t)
        return len(texts) / (time.process_time() - start)

    assert max(rate() for _ in range(3)) >= 10_000
