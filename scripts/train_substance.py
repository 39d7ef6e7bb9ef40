"""Fit the comment substance weights (pipeline/scoring/models/substance.json) on labelled posts.

    .venv/bin/python scripts/train_substance.py --data DATA

DATA is the folder ``buzz eval --data`` reads; this script needs ``DATA/ukpconvarg1``
(UKPConvArg1, Habernal & Gurevych 2016, CC BY 4.0): 1,052 web debate-forum posts, 11,650 pairs
of posts from one debate side where crowd workers agreed which one convinces more, and each
post's convincingness rank. Posts of the debates in ``substance_model.HELD_OUT_DEBATES`` are
never used here, so ``buzz eval`` measures the weights on debates they did not see.

1. Weights: logistic regression on the pairs, "the better post's features minus the worse
   one's" (a Bradley-Terry model): it learns what makes one post beat another of the same
   debate, from 5,000+ judgements instead of a few hundred labels.
2. Scale: one more logistic regression of "top third vs bottom third of its debate side" on that
   weighted sum, so the score reads as a probability of being in the top third.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.evaluation.datasets import Example, Pair, ukpconvarg1, ukpconvarg1_pairs
from pipeline.evaluation.fit import SparseRows, fit_softmax
from pipeline.evaluation.metrics import auc
from pipeline.scoring.substance_model import (
    DEFAULT_MODEL,
    FEATURES,
    SubstanceModel,
    feature_values,
    held_out,
)

L2 = 1e-3


def ranked(data: Path) -> list[Example]:
    return [e for e in ukpconvarg1(data) if e.label in ("top", "bottom") and not held_out(e.group)]


def pairs(data: Path) -> list[Pair]:
    return [p for p in ukpconvarg1_pairs(data) if not held_out(p.group)]


def _values(text: str) -> list[float]:
    v = feature_values(text)
    return [v[f] for f in FEATURES]


def train(
    judged: Sequence[Pair], labelled: Sequence[Example], *, l2: float = L2, steps: int = 1000
) -> SubstanceModel:
    k = len(FEATURES)
    rows, y = [], []
    for p in judged:
        diff = [b - w for b, w in zip(_values(p.better), _values(p.worse), strict=True)]
        # Both orders, so the fit is symmetric and needs no intercept.
        rows.append([*enumerate(diff), (k, 1.0)])
        rows.append([*((i, -d) for i, d in enumerate(diff)), (k, 1.0)])
        y += [1, 0]
    w = fit_softmax(SparseRows.build(rows, k + 1), y, 2, l2=l2, unpenalised=[k], steps=steps)
    direction = w[:k, 1] - w[:k, 0]
    z = [
        float(sum(a * b for a, b in zip(direction, _values(e.text), strict=True))) for e in labelled
    ]
    scale_rows = [[(0, zi), (1, 1.0)] for zi in z]
    top = [int(e.label == "top") for e in labelled]
    s = fit_softmax(SparseRows.build(scale_rows, 2), top, 2, l2=0.0, steps=steps)
    scale, bias = s[0, 1] - s[0, 0], s[1, 1] - s[1, 0]
    weights = {f: round(float(scale * direction[i]), 4) for i, f in enumerate(FEATURES)}
    return SubstanceModel(weights, round(float(bias), 4), {})


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--output", type=Path, default=DEFAULT_MODEL)
    args = ap.parse_args(argv)
    examples = ranked(args.data)
    judged = pairs(args.data)
    model = train(judged, examples)
    scores = [model.score(model.contributions(feature_values(e.text))) for e in examples]
    fit_auc = auc(
        [s for s, e in zip(scores, examples, strict=True) if e.label == "top"],
        [s for s, e in zip(scores, examples, strict=True) if e.label == "bottom"],
    )
    model = SubstanceModel(
        model.weights,
        model.bias,
        {
            "trained_on": "UKPConvArg1 (CC BY 4.0): pairs judged by crowd workers, and the "
            "top vs bottom third of convincingness, debates not in HELD_OUT_DEBATES",
            "pairs": len(judged),
            "examples": len(examples),
            "l2": L2,
            "training_auc": round(fit_auc, 4),
        },
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    model.save(args.output)
    print(
        f"{len(judged)} pairs, {len(examples)} posts, training AUC {fit_auc:.4f}, "
        f"weights {dict(model.weights)}, bias {model.bias} -> {args.output}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
