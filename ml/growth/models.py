"""The growth models and their plain baselines, scikit-learn style: parameters in `__init__`,
`fit(X, y) -> self`, `predict_proba(X)`, learned state in `attr_`. X is a feature frame from
ml/growth/features.py; every estimator remembers the columns it was fitted on.

- `DormancyModel`: P(no sent transfer in (T, T + horizon]) for wallets active before T, and the
  expected days to the next activity (`expected_days`).
- `PropensityModel`: P(first touch of a target in (T, T + horizon]) for wallets that never
  touched it.
- `RecencyFrequency`: the classic marketing baseline for dormancy: recency and frequency
  quintiles (5 x 5 cells), each cell scored by its dormancy rate in the training data.
- `NeighbourBaseline`: "already used a neighbouring category" for propensity: the number of
  neighbouring categories used, each level scored by its adoption rate in training, ties broken
  by activity (sent in the 90 days).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

from ml.growth.drift import Reference


class GrowthClassifier(ClassifierMixin, BaseEstimator):
    """Gradient-boosted trees over the growth features. Trees need no scaling, take the counts
    as they are, and learn the interactions (recency against a wallet's own rhythm) a linear
    model would need written out."""

    def __init__(
        self,
        max_iter: int = 150,
        learning_rate: float = 0.05,
        max_leaf_nodes: int = 15,
        min_samples_leaf: int = 80,
        l2_regularization: float = 1.0,
        random_state: int = 0,
    ) -> None:
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> GrowthClassifier:
        y = np.asarray(y, dtype=np.int64)
        self.feature_names_ = list(X.columns)
        self.classes_ = np.array([0, 1])
        self.base_rate_ = float(y.mean()) if len(y) else 0.0
        self.n_train_ = int(len(y))
        if 0 < y.sum() < len(y):
            self.estimator_: HistGradientBoostingClassifier | None = HistGradientBoostingClassifier(
                max_iter=self.max_iter,
                learning_rate=self.learning_rate,
                max_leaf_nodes=self.max_leaf_nodes,
                min_samples_leaf=self.min_samples_leaf,
                l2_regularization=self.l2_regularization,
                random_state=self.random_state,
                early_stopping=False,
            )
            with threadpool_limits(1):  # small sets: on shared cores threads cost more than they give
                self.estimator_.fit(X.to_numpy(float), y)
        else:  # one class only: the rate is the best guess
            self.estimator_ = None
        self.reference_ = Reference.of(X, self.predict_proba(X)[:, 1])
        return self

    def _frame(self, X: pd.DataFrame) -> np.ndarray:
        missing = [c for c in self.feature_names_ if c not in X]
        if missing:
            raise ValueError(f"features missing: {', '.join(missing)}")
        return X[self.feature_names_].to_numpy(float)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        if self.estimator_ is None:
            p = np.full(len(X), self.base_rate_)
        else:
            with threadpool_limits(1):
                p = self.estimator_.predict_proba(self._frame(X))[:, 1] if len(X) else np.zeros(0)
        return np.column_stack([1 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(np.int64)

    def importances(self, X: pd.DataFrame, y: np.ndarray, seed: int = 0) -> dict[str, float]:
        """Permutation importance (drop in AUC) on (X, y)."""
        from sklearn.inspection import permutation_importance

        if self.estimator_ is None or len(np.unique(y)) < 2:
            return {}
        result = permutation_importance(
            self.estimator_,
            self._frame(X),
            y,
            scoring="roc_auc",
            n_repeats=2,
            random_state=seed,
            max_samples=min(len(y), 5000),
        )
        return dict(zip(self.feature_names_, result.importances_mean.round(5).tolist(), strict=True))


class DormancyModel(GrowthClassifier):
    def __init__(
        self,
        horizon_days: int = 30,
        max_iter: int = 150,
        learning_rate: float = 0.05,
        max_leaf_nodes: int = 15,
        min_samples_leaf: int = 80,
        l2_regularization: float = 1.0,
        random_state: int = 0,
    ) -> None:
        super().__init__(
            max_iter, learning_rate, max_leaf_nodes, min_samples_leaf, l2_regularization, random_state
        )
        self.horizon_days = horizon_days

    def expected_days(self, X: pd.DataFrame, cap: float = 365.0) -> np.ndarray:
        """Survival view: with a constant hazard over the horizon, P(no activity in H) = exp(-H/m)
        gives the mean time to the next activity m = H / -ln P (capped)."""
        p = np.clip(self.predict_proba(X)[:, 1], 1e-6, 1 - 1e-9)
        return np.minimum(self.horizon_days / -np.log(p), cap)


class PropensityModel(GrowthClassifier):
    def __init__(
        self,
        target: str = "",
        horizon_days: int = 30,
        max_iter: int = 150,
        learning_rate: float = 0.05,
        max_leaf_nodes: int = 15,
        min_samples_leaf: int = 80,
        l2_regularization: float = 1.0,
        random_state: int = 0,
    ) -> None:
        super().__init__(
            max_iter, learning_rate, max_leaf_nodes, min_samples_leaf, l2_regularization, random_state
        )
        self.target = target
        self.horizon_days = horizon_days


class _CellRate(ClassifierMixin, BaseEstimator):
    """Scores each wallet by the training outcome rate of its cell (with a prior of 1 positive in
    2 wallets, so empty cells stay sane), plus a tie-break below one cell's resolution."""

    def _cells(self, X: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError

    def _tie(self, X: pd.DataFrame) -> np.ndarray:
        return np.zeros(len(X))

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> _CellRate:
        y = np.asarray(y, dtype=float)
        self.classes_ = np.array([0, 1])
        self._fit_cells(X)
        cells = self._cells(X)
        size = int(cells.max()) + 1 if len(cells) else 1
        pos = np.bincount(cells, weights=y, minlength=size)
        total = np.bincount(cells, minlength=size)
        self.rate_ = (pos + 1.0) / (total + 2.0)
        return self

    def _fit_cells(self, X: pd.DataFrame) -> None:
        pass

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        cells = np.minimum(self._cells(X), len(self.rate_) - 1)
        p = np.clip(self.rate_[cells] + 1e-6 * self._tie(X), 0, 1)
        return np.column_stack([1 - p, p])


class RecencyFrequency(_CellRate):
    def __init__(self, bins: int = 5) -> None:
        self.bins = bins

    def _fit_cells(self, X: pd.DataFrame) -> None:
        qs = np.linspace(0, 1, self.bins + 1)[1:-1]
        self.recency_edges_ = np.unique(np.quantile(X["recency_sent"], qs)) if len(X) else np.zeros(0)
        self.frequency_edges_ = np.unique(np.quantile(X["sent_90"], qs)) if len(X) else np.zeros(0)

    def _cells(self, X: pd.DataFrame) -> np.ndarray:
        r = np.searchsorted(self.recency_edges_, X["recency_sent"].to_numpy(float), side="right")
        f = np.searchsorted(self.frequency_edges_, X["sent_90"].to_numpy(float), side="right")
        return (r * (self.bins + 1) + f).astype(np.int64)

    def _tie(self, X: pd.DataFrame) -> np.ndarray:
        return np.tanh(X["recency_sent"].to_numpy(float) / 30.0)


class NeighbourBaseline(_CellRate):
    def __init__(self, levels: int = 3) -> None:
        self.levels = levels

    def _cells(self, X: pd.DataFrame) -> np.ndarray:
        return np.minimum(X["neighbours_used"].to_numpy(float), self.levels - 1).astype(np.int64)

    def _tie(self, X: pd.DataFrame) -> np.ndarray:
        return np.tanh(X["sent_90"].to_numpy(float) / 30.0)


def make(kind: str, **params: Any) -> GrowthClassifier:
    return {"churn": DormancyModel, "propensity": PropensityModel}[kind](**params)
