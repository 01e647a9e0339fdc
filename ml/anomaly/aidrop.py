"""aidrop's anomaly model: the full feature table plus graph context, trained with the labels
that exist.

- Supervised (labels of both classes): extremely randomised trees with balanced classes over
  the features and the means of each wallet's senders' and receivers' features. The score is
  the forest's probability calibrated on out-of-fold predictions (Platt scaling), so that
  `flagged` (score >= 0.5) means "more likely positive than not" at the labels' class balance.
- Label-free (no labels): the collector pattern, the part of laundering and scam typologies
  that the graph shows without labels: many distinct senders (fan-in), few receivers
  (concentration) and money from the graph's sources reaching the wallet (personalised
  PageRank, as MPOCryptoML uses it). Each signal is ranked over all wallets and the ranks are
  averaged; `flagged` marks the top `contamination` share. An isolation forest over the same
  features scores about AUC 0.4 on the labelled phishing set and is left out (bench/RESULTS.md).

Absolute calendar time (first/last seen) is left out unless `absolute_time=True`."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from ml.anomaly import AnomalyResult
from ml.base import AnomalyModel
from ml.dataset import Dataset
from ml.explain import forest_contributions, top_factors
from ml.features import feature_names
from ml.laundering.score import timed, wallet_scores

MISSING = -1.0  # trees split undefined features apart
LABEL_FREE = {  # signal -> (feature, transform)
    "fan_in": "in_counterparties",
    "concentration": "fan_in_share",
    "ppr": "ppr",
}


def _rank01(values: np.ndarray) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    v = np.where(np.isnan(v), np.nanmin(v) if np.isfinite(v).any() else 0.0, v)
    return (rankdata(v, method="average") - 0.5) / len(v)


class AidropAnomaly(AnomalyModel):
    name = "aidrop"
    _run_params = ("n_jobs",)
    _renamed = {"forest": "forest_", "calibration": "calibration_", "columns": "columns_", "oof": "oof_",
                "oof_y": "oof_y_"}  # fmt: skip

    def __init__(
        self,
        absolute_time: bool = False,
        context: bool = True,
        n_estimators: int = 400,
        max_features: float = 0.7,
        contamination: float = 0.01,
        folds: int = 5,
        max_train: int = 8_000,
        unlabelled: int = 0,
        unlabelled_weight: float = 0.1,
        seed: int = 0,
        n_jobs: int = 2,
    ) -> None:
        self.absolute_time = absolute_time
        self.context = context
        self.n_estimators = n_estimators
        self.max_features = max_features
        self.contamination = contamination
        self.folds = folds
        self.max_train = max_train
        self.unlabelled = unlabelled
        self.unlabelled_weight = unlabelled_weight
        self.seed = seed
        self.n_jobs = n_jobs

    # learned by fit (the class attributes are the unfitted state)
    forest_: ExtraTreesClassifier | None = None
    calibration_: LogisticRegression | None = None
    columns_: list[str] = []  # noqa: RUF012 - replaced, never mutated
    oof_: np.ndarray | None = None  # out-of-fold calibrated scores of the labelled wallets
    oof_y_: np.ndarray | None = None  # their labels (the sample fitted, at most max_train)

    @property
    def supervised(self) -> bool:
        return self.forest_ is not None

    # ---- inputs ------------------------------------------------------------------------
    def matrix(self, ds: Dataset) -> pd.DataFrame:
        frame = ds.features[feature_names(bool(self.absolute_time))]
        if self.context:
            frame = pd.concat([frame, ds.context()], axis=1)
        return frame

    def _x(self, ds: Dataset) -> np.ndarray:
        frame = self.matrix(ds)
        if self.columns_:
            frame = frame.reindex(columns=self.columns_)
        return frame.fillna(MISSING).to_numpy(dtype=np.float32)

    def _forest(self) -> ExtraTreesClassifier:
        return ExtraTreesClassifier(
            n_estimators=int(self.n_estimators),
            max_features=float(self.max_features),
            n_jobs=self.n_jobs,
            random_state=int(self.seed),
        )

    # ---- training ----------------------------------------------------------------------
    def fit(
        self, ds: Dataset, positions: np.ndarray | None = None, y: np.ndarray | None = None
    ) -> AidropAnomaly:
        """Supervised when labels of both classes are given, label-free otherwise."""
        self.forest_, self.calibration_, self.oof_, self.oof_y_ = None, None, None, None
        if positions is None or y is None or len(set(np.asarray(y).tolist())) < 2:
            return self
        y = np.asarray(y, dtype=int)
        positions, y = self._sample(np.asarray(positions), y)
        self.columns_ = list(self.matrix(ds).columns)
        full = self._x(ds)
        x = full[positions]
        # unlabelled wallets as a lightly weighted normal class (positive-unlabelled learning):
        # they tell the forest what the many wallets unlike any labelled one look like
        xu = self._unlabelled(full, positions)
        folds = min(int(self.folds), int(np.bincount(y).min()))
        raw = np.zeros(len(y))
        if folds >= 2:
            split = StratifiedKFold(folds, shuffle=True, random_state=int(self.seed))
            for train, test in split.split(x, y):
                raw[test] = self._fit_forest(x[train], y[train], xu).predict_proba(x[test])[:, 1]
        else:
            raw = self._fit_forest(x, y, xu).predict_proba(x)[:, 1]
        self.calibration_ = LogisticRegression(C=1e4).fit(_logit(raw)[:, None], y)
        self.oof_, self.oof_y_ = self._calibrated(raw), y
        self.forest_ = self._fit_forest(x, y, xu)
        return self

    def _sample(self, positions: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every positive and at most `max_train` labelled wallets (negatives drawn at random):
        classes are balanced by weight anyway, and fitting time grows with the rows."""
        limit = int(self.max_train)
        if len(y) <= limit:
            return positions, y
        rng = np.random.default_rng(int(self.seed))
        pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
        keep = np.sort(
            np.r_[pos, rng.choice(neg, max(limit - len(pos), min(len(neg), len(pos))), replace=False)]
        )
        return positions[keep], y[keep]

    def _unlabelled(self, full: np.ndarray, positions: np.ndarray) -> np.ndarray:
        count = int(self.unlabelled)
        rest = np.setdiff1d(np.arange(len(full)), positions)
        if count <= 0 or not len(rest):
            return full[:0]
        rng = np.random.default_rng(int(self.seed))
        return full[rng.choice(rest, min(count, len(rest)), replace=False)]

    def _fit_forest(self, x: np.ndarray, y: np.ndarray, xu: np.ndarray) -> ExtraTreesClassifier:
        """Balanced classes; unlabelled rows count as normal at `unlabelled_weight` of a labelled one."""
        weight = np.where(y == 1, len(y) / (2.0 * max(y.sum(), 1)), len(y) / (2.0 * max((y == 0).sum(), 1)))
        if len(xu):
            x = np.vstack([x, xu])
            weight = np.r_[weight, np.full(len(xu), float(self.unlabelled_weight))]
            y = np.r_[y, np.zeros(len(xu), dtype=int)]
        return self._forest().fit(x, y, sample_weight=weight)

    def _calibrated(self, raw: np.ndarray) -> np.ndarray:
        assert self.calibration_ is not None
        return self.calibration_.predict_proba(_logit(raw)[:, None])[:, 1]

    # ---- scoring -----------------------------------------------------------------------
    def predict_result(self, ds: Dataset, explain: bool = True) -> AnomalyResult:
        if self.forest_ is None:
            return self._label_free(ds)
        x = self._x(ds)
        raw = self.forest_.predict_proba(x)[:, 1]
        score = self._calibrated(raw)
        explanation: list[str] = []
        if explain:
            contrib = forest_contributions(self.forest_, x, 1)
            values = self.matrix(ds).reindex(columns=self.columns_).to_numpy(dtype=float)
            explanation = top_factors(contrib, self.columns_, values)
        return AnomalyResult(score, score >= 0.5, explanation)

    def _label_free(self, ds: Dataset) -> AnomalyResult:
        """The laundering evidence (patterns detected in the transfers, ml/laundering) first; the
        collector heuristic orders the wallets in no pattern, below them."""
        collector = self._collector(ds)
        if not timed(ds.graph.edges["tx_count"].to_numpy()):
            return collector
        score, flagged, why = wallet_scores(ds.laundering(), collector.score)
        explanation = [w if w is not None else c for w, c in zip(why, collector.explanation, strict=True)]
        return AnomalyResult(score, flagged, explanation)

    def _collector(self, ds: Dataset) -> AnomalyResult:
        """The earlier label-free score (fan-in, concentration, PPR): phishing collectors; kept
        for comparison in bench/laundering.py."""
        f = ds.features
        signals = {name: _rank01(f[col].to_numpy(dtype=float)) for name, col in LABEL_FREE.items()}
        score = np.mean(list(signals.values()), axis=0)
        # known contracts and tokens collect from many by design: not suspects of this pattern
        known = ds.graph.wallets["contract"].to_numpy() | ds.graph.wallets["token"].to_numpy()
        score = np.where(known, 0.0, score)
        k = max(1, int(round(float(self.contamination) * len(score))))
        flagged = np.zeros(len(score), dtype=bool)
        flagged[np.argsort(-score, kind="stable")[:k]] = True
        names = list(LABEL_FREE)
        contrib = np.column_stack([np.where(known, 0.0, (signals[s] - 0.5) / len(names)) for s in names])
        values = np.column_stack([f[LABEL_FREE[s]].to_numpy(dtype=float) for s in names])
        explanation = top_factors(contrib, [LABEL_FREE[s] for s in names], values)
        return AnomalyResult(score, flagged, explanation)

    def importances(self) -> dict[str, float]:
        if self.forest_ is None:
            return {LABEL_FREE[s]: 1.0 / len(LABEL_FREE) for s in LABEL_FREE}
        return dict(zip(self.columns_, map(float, self.forest_.feature_importances_), strict=True))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))
