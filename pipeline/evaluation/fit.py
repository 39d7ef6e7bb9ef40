"""Fitting the shipped linear models: L2-regularised softmax regression on sparse rows (numpy).

Used by the training scripts only, never at scoring time. Full-batch Adam from zero weights with
a fixed number of steps: the same data give the same weights, bit for bit, on one machine.
numpy is already installed with pandas; scikit-learn would add scipy and itself for one call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class SparseRows:
    """Rows of (column, value) pairs in CSR form; every row must have at least one entry."""

    indptr: IntArray
    indices: IntArray
    values: FloatArray
    n_columns: int

    @classmethod
    def build(cls, rows: Sequence[Sequence[tuple[int, float]]], n_columns: int) -> SparseRows:
        lengths = [len(r) for r in rows]
        if min(lengths, default=1) == 0:
            raise ValueError("every row needs at least one entry (add a bias column)")
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        indptr[1:] = np.cumsum(lengths)
        indices = np.fromiter((c for r in rows for c, _ in r), np.int64, int(indptr[-1]))
        values = np.fromiter((v for r in rows for _, v in r), np.float64, int(indptr[-1]))
        return cls(indptr, indices, values, n_columns)

    @property
    def n_rows(self) -> int:
        return len(self.indptr) - 1

    def row_ids(self) -> IntArray:
        return np.repeat(np.arange(self.n_rows), np.diff(self.indptr))

    def dot(self, w: FloatArray) -> FloatArray:
        """X @ w for w of shape (n_columns, k)."""
        contrib = w[self.indices] * self.values[:, None]
        return np.add.reduceat(contrib, self.indptr[:-1], axis=0)


def softmax(z: FloatArray) -> FloatArray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)  # type: ignore[no-any-return]


def fit_softmax(
    x: SparseRows,
    y: Sequence[int],
    n_classes: int,
    *,
    l2: float,
    sample_weight: Sequence[float] | None = None,
    unpenalised: Sequence[int] = (),
    steps: int = 300,
    learning_rate: float = 0.05,
) -> FloatArray:
    """Weights (n_columns x n_classes) minimising mean weighted log-loss + l2/2 * |w|^2.

    Columns in ``unpenalised`` (the bias) are not shrunk.
    """
    labels = np.asarray(y, dtype=np.int64)
    sw = np.ones(x.n_rows) if sample_weight is None else np.asarray(sample_weight, np.float64)
    sw = sw / sw.sum()
    onehot = np.zeros((x.n_rows, n_classes))
    onehot[np.arange(x.n_rows), labels] = 1.0
    penalty = np.full((x.n_columns, 1), l2)
    penalty[list(unpenalised)] = 0.0
    rows = x.row_ids()
    w = np.zeros((x.n_columns, n_classes))
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    b1, b2, eps = 0.9, 0.999, 1e-8
    for t in range(1, steps + 1):
        residual = (softmax(x.dot(w)) - onehot) * sw[:, None]
        per_class = [
            np.bincount(x.indices, residual[rows, k] * x.values, minlength=x.n_columns)
            for k in range(n_classes)
        ]
        grad = np.stack(per_class, axis=1).astype(np.float64) + penalty * w
        m = b1 * m + (1 - b1) * grad
        v = b2 * v + (1 - b2) * grad * grad
        w -= learning_rate * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    return w


def log_loss(x: SparseRows, y: Sequence[int], w: FloatArray) -> float:
    p = softmax(x.dot(w))
    return float(-np.mean(np.log(p[np.arange(x.n_rows), np.asarray(y)] + 1e-12)))
