"""MPOCryptoML as published (Samadi, Dong, Xia, 2025): multi-source personalised PageRank from
the sources (wallets nothing was sent to), restart 0.5, summed over the sources (pi); the
normalised timestamp score NTS (|out time span - in time span|) and normalised weight score
NWS (|out value - in value|), each min-max scaled over the wallets the walk visits; a logistic
regression with balanced classes on [NTS, NWS] gives F; sigma = pi / F, ranked high to low."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from ml.anomaly import AnomalyResult
from ml.base import AnomalyModel
from ml.dataset import Dataset
from ml.explain import top_factors
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


class MpoCryptoML(AnomalyModel):
    name = "mpocryptoml"
    alpha = 0.5  # the walk's restart, as published (ml/features.py computes the PPR with it)
    _renamed = {"lr": "lr_", "threshold": "threshold_", "flag_share": "flag_share_"}  # noqa: RUF012

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    # learned by fit
    lr_: LogisticRegression | None = None
    threshold_: float = np.inf
    flag_share_: float = 0.0  # share of the training graph's wallets at or above the threshold

    @property
    def params(self) -> dict[str, Any]:
        return {"alpha": self.alpha, **self.get_params()}

    @property
    def supervised(self) -> bool:
        return True

    def fit(
        self, ds: Dataset, positions: np.ndarray | None = None, y: np.ndarray | None = None
    ) -> MpoCryptoML:
        if positions is None or y is None or len(set(np.asarray(y).tolist())) < 2:
            raise ValueError("mpocryptoml needs labels of both classes (--labels with positives and normals)")
        pi, nts, nws = pattern_scores(ds.features)
        x = np.column_stack([nts, nws])
        self.lr_ = LogisticRegression(class_weight="balanced", random_state=self.seed).fit(x[positions], y)
        sigma = self._sigma(pi, x)
        self.threshold_ = _best_threshold(sigma[positions], np.asarray(y))
        # sigma's scale depends on the graph (PPR sums over its sources): another graph is
        # flagged at the same share of its wallets as the training graph, not at the same sigma
        # flagged are at most as many as the labels' positive share: where sigma cannot tell the
        # labelled wallets apart (0 for all of them) the best-F1 threshold would flag every wallet
        at = float(np.mean(sigma >= self.threshold_)) if len(sigma) else 0.0
        self.flag_share_ = min(at, float(np.mean(y)))
        return self

    def _sigma(self, pi: np.ndarray, x: np.ndarray) -> np.ndarray:
        assert self.lr_ is not None, "fit first"
        f = self.lr_.predict_proba(x)[:, 1]
        return pi / np.maximum(f, EPS)

    def predict_result(self, ds: Dataset, explain: bool = True) -> AnomalyResult:
        pi, nts, nws = pattern_scores(ds.features)
        x = np.column_stack([nts, nws])
        sigma = self._sigma(pi, x)
        assert self.lr_ is not None
        f = self.lr_.predict_proba(x)[:, 1]
        top = sigma.max() if len(sigma) and sigma.max() > 0 else 1.0
        return AnomalyResult(sigma / top, self._flags(sigma), self._explain(pi, x, f) if explain else [])

    def _flags(self, sigma: np.ndarray) -> np.ndarray:
        share = float(self.flag_share_)
        k = int(round(share * len(sigma)))
        flagged = np.zeros(len(sigma), dtype=bool)
        if k > 0:
            order = np.argsort(-sigma, kind="stable")[:k]
            flagged[order[sigma[order] > 0]] = True
        return flagged

    def _explain(self, pi: np.ndarray, x: np.ndarray, f: np.ndarray) -> list[str]:
        """Each factor's share of ln sigma = ln pi - ln F, against the graph's typical wallet:
        ln pi over the median of the visited wallets, and each of NTS and NWS by its term in the
        regression's logit (what it adds to ln F, with the sign it has on sigma)."""
        assert self.lr_ is not None
        visited = pi > 0
        log_pi = np.log(np.maximum(pi, EPS))
        c_pi = log_pi - (np.median(log_pi[visited]) if visited.any() else 0.0)
        weight = self.lr_.coef_[0]
        # d ln F / d logit = 1 - F: the logit's terms scaled to ln F, negated (sigma divides by F)
        terms = -(x - x.mean(axis=0)) * weight * (1.0 - f)[:, None]
        contrib = np.column_stack([np.where(visited, c_pi, 0.0), terms])
        values = np.column_stack([pi, x])
        return top_factors(contrib, ["ppr_sum", "nts", "nws"], values)


def _best_threshold(score: np.ndarray, y: np.ndarray) -> float:
    """The score threshold with the best F1 on the training labels, above zero: sigma is 0
    wherever the walk from the sources never goes, and a threshold of 0 flags every wallet."""
    order = np.argsort(-score)
    s, t = score[order], y[order]
    tp = np.cumsum(t)
    k = np.arange(1, len(s) + 1)
    f1 = 2 * tp / (k + t.sum())
    last = np.r_[s[1:] != s[:-1], True]  # only between distinct scores
    f1 = np.where(last & ((s > 0) | ~(s > 0).any()), f1, -1)
    return float(s[int(np.argmax(f1))]) if len(s) else np.inf
