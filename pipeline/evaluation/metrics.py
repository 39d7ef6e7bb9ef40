"""The figures the quality harness reports: AUC, precision, recall, F1. Plain Python, exact."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


def auc(positives: Sequence[float], negatives: Sequence[float]) -> float:
    """Probability that a random positive scores above a random negative (ties count half).

    The Mann-Whitney U statistic over rank sums, O(n log n); NaN when either side is empty.
    """
    if not positives or not negatives:
        return float("nan")
    pooled = sorted([(s, 1) for s in positives] + [(s, 0) for s in negatives])
    rank_sum = 0.0
    i = 0
    while i < len(pooled):
        j = i
        while j < len(pooled) and pooled[j][0] == pooled[i][0]:
            j += 1
        mid_rank = (i + 1 + j) / 2  # ranks i+1..j share their mean
        rank_sum += mid_rank * sum(flag for _, flag in pooled[i:j])
        i = j
    n_pos, n_neg = len(positives), len(negatives)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


@dataclass(frozen=True)
class PRF:
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def prf(predicted: Sequence[set[str]], gold: Sequence[set[str]]) -> PRF:
    """Micro precision / recall / F1 of predicted label sets against gold label sets."""
    tp = fp = fn = 0
    for p, g in zip(predicted, gold, strict=True):
        tp += len(p & g)
        fp += len(p - g)
        fn += len(g - p)
    return PRF(tp, fp, fn)
