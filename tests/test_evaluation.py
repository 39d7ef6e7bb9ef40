"""The quality harness: its metrics, its data loaders (on small files of our own in the public sets'
layouts), ``buzz eval``, and, when the shared copies of the public sets are there, the figures."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.evaluation import datasets as ds
from pipeline.evaluation.harness import run, sentiment_rows
from pipeline.evaluation.metrics import auc, prf

FIXTURES = Path(__file__).parent / "data" / "eval"
SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora" / "labelled"


def test_auc_counts_pairs_and_half_ties() -> None:
    assert auc([3, 4], [1, 2]) == 1.0
    assert auc([1, 2], [3, 4]) == 0.0
    assert auc([2], [2]) == 0.5
    assert auc([1, 3], [2]) == 0.5  # one pair won, one lost
    assert auc([2, 2], [1, 2]) == pytest.approx(0.75)  # 2 wins and 2 ties out of 4 pairs
    assert math.isnan(auc([], [1.0]))


@given(st.lists(st.floats(-5, 5), min_size=1, max_size=30),
       st.lists(st.floats(-5, 5), min_size=1, max_size=30))  # fmt: skip
def test_auc_equals_the_pair_count(pos: list[float], neg: list[float]) -> None:
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    assert auc(pos, neg) == pytest.approx(wins / (len(pos) * len(neg)))


def test_prf_is_micro_averaged_over_label_sets() -> None:
    r = prf([{"a"}, {"a", "b"}, set()], [{"a"}, {"a"}, {"c"}])
    assert (r.tp, r.fp, r.fn) == (2, 1, 1)
    assert (r.precision, r.recall) == (2 / 3, 2 / 3) and r.f1 == pytest.approx(2 / 3)


def test_loaders_read_each_layout() -> None:
    sent = ds.tweeteval_sentiment(FIXTURES)
    assert [e.label for e in sent] == ["positive", "negative", "neutral"] * 2
    stance = ds.tweeteval_stance(FIXTURES, "hillary")
    assert len(stance) == 9 and stance[0] == ds.Example(
        "She is the best candidate we have", "favor", "hillary"
    )  # "#SemST", added by the task's organisers, is removed
    debate = ds.debate08(FIXTURES)
    # CR line ends, a tweet with a line break inside quotes; 1003 has no 2/3 agreement.
    assert [(e.text, e.label) for e in debate] == [
        ("Great answer from the senator, well done #debate", "positive"),
        ("Terrible answer,\nhe dodged it again", "negative"),
        ("Awful, just awful", "negative"),
    ]
    train = ds.semeval_train(FIXTURES, files=("twitter-2013train-A.txt",))
    assert train[0].text == "I love sunny days ’cause they, are great & warm"
    assert len(train) == 3  # the repeated id counts once
    topics = ds.semeval2017_topics(FIXTURES)
    assert (topics[1].group, topics[1].label) == ("mike pence", "positive")
    ranked = ds.ukpconvarg1(FIXTURES)
    assert [e.label for e in ranked] == ["top", "middle", "bottom"]  # lowest score = best
    assert "\n" in ranked[1].text  # <br/> is a line break
    pairs = ds.ukpconvarg1_pairs(FIXTURES)
    assert pairs[1].better == "A daily class is the only reliable way to reach all of them."


def test_a_missing_set_says_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(ds.MissingData) as err:
        ds.debate08(tmp_path)
    assert "debate08" in str(err.value) and "CLaraRR/twitter-sentiment-dataset" in str(err.value)
    rows, missing = run(tmp_path, speed=False)
    assert rows == [] and {m.source.key for m in missing} == {
        "semeval2017", "debate08", "tweeteval", "ukpconvarg1"
    }  # fmt: skip


def test_harness_runs_every_judgment_on_the_fixture_layout() -> None:
    rows, missing = run(FIXTURES, speed=False)
    assert missing == []
    judged = {(r.judgment, r.metric) for r in rows}
    assert ("sentiment", "AUC positive > negative") in judged
    assert ("substance", "AUC top > bottom") in judged
    assert ("subjects", "recall") in judged
    debate = next(r for r in rows if r.dataset.startswith("2008 debate"))
    assert debate.n == 3 and debate.ours == 1.0  # our words: plainly positive vs negative


def test_buzz_eval_prints_the_table_and_the_sources() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "pipeline", "eval", "--data", str(FIXTURES), "--no-speed"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "VADER" in out.stdout and "length (characters)" in out.stdout
    assert "CC BY-NC-SA 3.0" in out.stdout and "UKPLab/acl2016-convincing-arguments" in out.stdout


def test_buzz_eval_without_data_fails_with_a_message(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "pipeline", "eval", "--data", str(tmp_path), "--no-speed"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert out.returncode == 2 and "MISSING" in out.stdout


@pytest.mark.skipif(not SHARED.is_dir(), reason="the shared labelled corpora are not here")
def test_on_the_shared_political_sets_the_model_beats_vader_clearly() -> None:
    rows, _ = sentiment_rows(SHARED)
    by_name = {r.dataset: r for r in rows}
    debate = by_name["2008 debate tweets (raters agree)"]
    hillary = by_name["TweetEval stance: Hillary (favor > against)"]
    assert debate.n == 1904 and hillary.n == 728
    assert debate.ours >= debate.baseline + 0.03
    assert hillary.ours >= hillary.baseline + 0.03
