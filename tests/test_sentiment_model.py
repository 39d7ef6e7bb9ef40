"""The sentiment model's features and arithmetic, on hand-made weights (no training data needed)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from pipeline.scoring.sentiment_model import DEFAULT_MODEL, LinearSentiment, features, surface


def test_words_pairs_and_negation_scope() -> None:
    f = features("I do not like this plan. Great speech!")
    assert {"i", "do", "not", "not_like", "not_this", "not_plan"} <= f
    assert "like" not in f  # negated, so only its not_ form
    assert "great" in f and "not_great" not in f  # the full stop ended the negation
    assert {"do not", "not like", "great speech"} <= f
    assert "plan great" not in f  # no word pair across a sentence end
    assert "!" in f


def test_contractions_negate_and_curly_apostrophes_are_straightened() -> None:
    assert {"don't", "not_trust", "not_him"} <= features("I don’t trust him")
    assert "not_wait" in features("can't wait")  # the model learns this pair is happy


def test_hashtags_are_split_into_words_and_links_handles_dropped() -> None:
    f = features("Read this @reporter https://smear.example/terrible-story #KimScandal")
    assert {"#kimscandal", "kim", "scandal", "read", "this", "read this"} == f
    assert features("#Trump2016") == {"#trump2016", "trump"}  # digits are not words


def test_elongation_emoticons_and_emoji() -> None:
    f = features("sooooo happy :) 😀 xD <3 :-(")
    assert {"soo", "happy", ":)", "😀", "xd", "<3", ":-("} <= f
    assert features("") == set() and features("https://x.example @a") == set()


def model() -> LinearSentiment:
    return LinearSentiment(
        {"bad": (2.0, -1.0), "good": (-1.0, 2.0), "not_good": (1.0, -0.5), "the": (0.1, 0.1)},
        (-0.5, -0.5),
    )


def test_score_is_p_positive_minus_p_negative() -> None:
    a, b = -0.5 + 2.0, -0.5 - 1.0  # "bad": logits for negative and positive, neutral is 0
    expected = (math.exp(b) - math.exp(a)) / (math.exp(a) + math.exp(b) + 1.0)
    assert model().analyse("bad").score == pytest.approx(expected)
    assert model().analyse("good").score == pytest.approx(-expected)
    assert model().analyse("").score == 0.0  # nothing to read is neutral, not the prior


def test_negative_terms_are_the_strong_negative_pulls_strongest_first() -> None:
    got = model().analyse("the bad, not good")
    assert got.negative_terms == ("bad", "not good")  # pulls 3.0 and 1.5; "the" pulls 0
    assert model().analyse("good").negative_terms == ()
    assert surface("not_good") == "not good" and surface("bad") == "bad"


def test_save_and_load_round_trip_byte_for_byte(tmp_path: Path) -> None:
    m = model()
    m.meta["trained_on"] = "hand-made"
    m.save(tmp_path / "a.json.gz")
    again = LinearSentiment.load(tmp_path / "a.json.gz")
    assert again.weights == m.weights and again.bias == m.bias and again.meta == m.meta
    again.save(tmp_path / "b.json.gz")
    assert (tmp_path / "a.json.gz").read_bytes() == (tmp_path / "b.json.gz").read_bytes()


def test_unknown_version_is_refused() -> None:
    d = model().to_dict()
    d["version"] = 99
    with pytest.raises(ValueError, match="version 99"):
        LinearSentiment.from_dict(d)


def test_shipped_model_is_in_the_package_and_says_what_trained_it() -> None:
    shipped = LinearSentiment.load(DEFAULT_MODEL)
    assert "SemEval" in shipped.meta["trained_on"] and len(shipped.weights) > 10_000
