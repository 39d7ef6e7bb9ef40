"""The training scripts and their fitting routine, on small data made here (no corpora needed)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from pipeline.evaluation.datasets import Example, Pair
from pipeline.evaluation.fit import SparseRows, fit_softmax, log_loss, softmax
from pipeline.scoring.substance_model import FEATURES

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
FIXTURES = Path(__file__).parent / "data" / "eval"


def script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_sparse_rows_multiply_like_a_dense_matrix() -> None:
    x = SparseRows.build([[(0, 1.0), (2, 2.0)], [(1, -1.0)]], 3)
    w = np.arange(6, dtype=float).reshape(3, 2)
    assert x.dot(w).tolist() == [[8.0, 11.0], [-2.0, -3.0]]
    with pytest.raises(ValueError, match="at least one entry"):
        SparseRows.build([[]], 1)


def test_fit_softmax_separates_and_is_deterministic() -> None:
    rows = [[(0, 1.0), (2, 1.0)]] * 20 + [[(1, 1.0), (2, 1.0)]] * 20
    y = [0] * 20 + [1] * 20
    x = SparseRows.build(rows, 3)
    w = fit_softmax(x, y, 2, l2=1e-3, unpenalised=[2], steps=200)
    p = softmax(x.dot(w))
    assert (p[:20, 0] > 0.9).all() and (p[20:, 1] > 0.9).all()
    assert log_loss(x, y, w) < 0.1
    assert np.array_equal(w, fit_softmax(x, y, 2, l2=1e-3, unpenalised=[2], steps=200))


def test_sentiment_training_learns_words_and_folds_the_lexicon_in() -> None:
    ts = script("train_sentiment")
    examples = [
        *(Example(f"what a lovely day number {i}", "positive") for i in range(15)),
        *(Example(f"this is a dreadful mess again {i}", "negative") for i in range(15)),
        *(Example(f"the bus leaves at stop {i}", "neutral") for i in range(15)),
    ]
    lexicon = {"lovely": 0.7, "dreadful": -0.8, "superb": 0.9}
    model = ts.train(examples, l2=1e-3, min_count=2, lexicon=lexicon, steps=200)
    assert model.analyse("a lovely day").score > 0.5
    assert model.analyse("a dreadful mess").score < -0.5
    assert "dreadful" in model.analyse("a dreadful mess").negative_terms
    # Never seen in training, but in the lexicon: it gets the lexicon's pull.
    assert model.analyse("superb").score > model.analyse("bus").score
    auc_, neg, pos = ts.evaluate(model, examples)
    assert auc_ == 1.0 and neg < pos


def test_substance_training_orders_by_the_judged_pairs() -> None:
    tsub = script("train_substance")
    long = "Exercise improves attention in class, as several school studies have shown. "
    pairs = [Pair(long * (1 + i % 3), "gym is fun lol", "d_s") for i in range(30)]
    ranked = [Example(long * 2, "top", "d_s"), Example("gym lol", "bottom", "d_s")] * 10
    model = tsub.train(pairs, ranked, steps=300)
    assert set(model.weights) == set(FEATURES) and model.weights["length"] > 0
    assert tsub.ranked(FIXTURES) == []  # the fixture's only debate is a held-out one
    assert tsub.pairs(FIXTURES) == []
