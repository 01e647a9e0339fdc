"""MPOCryptoML as published (Samadi, Dong, Xia, 2025): multi-source personalised PageRank from
the sources (wallets nothing was sent to), restart 0.5, summed over the sources (pi); the
normalised timestamp score NTS (|out time span - in time span|) and normalised weight score
NWS (|out value - in value|), each min-max scaled over the wallets the walk visits; a logistic
regression with balanced classes on [NTS, NWS] gives F; sigma = pi / F, ranked high to low."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from ml.anomaly import AnomalyResult
from ml.dataset import Dataset
from ml.explain import to_json
from ml.features import DAY

EPS = 1e-12


def _minmax(values: np.ndarray, visited: np.ndarray) -> np.ndarray:
    out = np.zeros(len(values))
    if visited.any():
        v = values[visited]
        lo, hi = v.min(), v.max()
        out[visited] = (v - lo) / (hi - lo) if hi > lo else 0.0
    return out


def pattern_scores(features: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pi, NTS, NWS) per wallet."""
    f = features
    sources = int((f["in_degree"] == 0).sum()) or len(f)
    pi = f["ppr"].to_numpy(dtype=float) * sources  # the sum over sources of their PPR vectors
    visited = pi > 0
    theta = np.abs(
        np.nan_to_num(f["out_span_days"].to_numpy(float)) - np.nan_to_num(f["in_span_days"].to_numpy(float))
    )
    omega = np.abs(f["out_value"].to_numpy(float) - f["in_value"].to_numpy(float))
    return pi, _minmax(theta * DAY, visited), _minmax(omega, visited)


class MpoCryptoML:
    name = "mpocryptoml"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.lr: LogisticRegression | None = None
        self.threshold = np.inf
        self.params = {"alpha": 0.5, "seed": seed}

    @property
    def supervised(self) -> bool:
        return True

    def fit(self, ds: Dataset, positions: np.ndarray, y: np.ndarray) -> MpoCryptoML:
        if len(set(np.asarray(y).tolist())) < 2:
            raise ValueError("mpocryptoml needs labels of both classes (--labels with positives and normals)")
        pi, nts, nws = pattern_scores(ds.features)
        x = np.column_stack([nts, nws])
        self.lr = LogisticRegression(class_weight="balanced", random_state=self.seed).fit(x[positions], y)
        sigma = self._sigma(pi, x)
        self.threshold = _best_threshold(sigma[positions], np.asarray(y))
        return self

    def _sigma(self, pi: np.ndarray, x: np.ndarray) -> np.ndarray:
        assert self.lr is not None, "fit first"
        f = self.lr.predict_proba(x)[:, 1]
        return pi / np.maximum(f, EPS)

    def score(self, ds: Dataset) -> AnomalyResult:
        pi, nts, nws = pattern_scores(ds.features)
        x = np.column_stack([nts, nws])
        sigma = self._sigma(pi, x)
        assert self.lr is not None
        f = self.lr.predict_proba(x)[:, 1]
        top = sigma.max() if len(sigma) and sigma.max() > 0 else 1.0
        explanation = [
            [
                {"feature": "ppr_sum", "value": round(float(a), 8)},
                {"feature": "F", "value": round(float(b), 4)},
                {"feature": "nts", "value": round(float(c), 4)},
                {"feature": "nws", "value": round(float(d), 6)},
            ]
            for a, b, c, d in zip(pi, f, nts, nws, strict=True)
        ]
        return AnomalyResult(sigma / top, sigma >= self.threshold, to_json(explanation))


def _best_threshold(score: np.ndarray, y: np.ndarray) -> float:
    """The score threshold with the best F1 on the training labels."""
    order = np.argsort(-score)
    s, t = score[order], y[order]
    tp = np.cumsum(t)
    k = np.arange(1, len(s) + 1)
    f1 = 2 * tp / (k + t.sum())
    last = np.r_[s[1:] != s[:-1], True]  # only between distinct scores
    f1 = np.where(last, f1, -1)
    return float(s[int(np.argmax(f1))]) if len(s) else np.inf
