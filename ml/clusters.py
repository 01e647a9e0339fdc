"""Behavioural clusters: K-Means with k chosen by silhouette (DBSCAN and a Gaussian mixture
selectable) over log-scaled, standardised features; a profile per cluster in words; a 2-D map
(PCA) of a sample for the report."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.cluster import DBSCAN, KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_score
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors
from sklearn.preprocessing import StandardScaler

from ml.base import Estimator
from ml.context import log_scale
from ml.features import FEATURES

ALGORITHMS = ("kmeans", "dbscan", "gmm")
COLUMNS = [f.name for f in FEATURES if not f.absolute and f.group not in ("flow", "motifs")] + [
    "in_counterparties",
    "out_counterparties",
    "in_value",
    "out_value",
]
FIT_SAMPLE = 4_000  # wallets the clustering is fitted on
SILHOUETTE_SAMPLE = 2_000
MAP_SAMPLE = 3_000
DESCRIPTIONS = {f.name: f.description for f in FEATURES}


class ClusterModel(Estimator):
    name = "clusters"
    _renamed = {"scaler": "scaler_", "model": "model_", "assign": "assign_", "pca": "pca_",  # noqa: RUF012
                "silhouettes": "silhouettes_", "profiles": "profiles_", "map": "map_", "k": "k_"}  # fmt: skip

    def __init__(
        self,
        algorithm: str = "kmeans",
        k: int | None = None,
        k_range: tuple[int, int] | list[int] = (2, 7),
        seed: int = 0,
    ) -> None:
        self.algorithm = algorithm
        self.k = k
        self.k_range = k_range
        self.seed = seed

    @property
    def params(self) -> dict[str, Any]:
        return {**self.get_params(), "k_range": list(self.k_range)}

    # learned by fit
    scaler_: StandardScaler
    model_: Any = None
    assign_: KNeighborsClassifier | None = None  # DBSCAN: label new wallets by neighbours
    pca_: PCA
    silhouettes_: dict[int, float]
    profiles_: list[dict[str, Any]]
    map_: dict[str, list]
    k_: int = 0

    def _x(self, features: pd.DataFrame) -> np.ndarray:
        return self.scaler_.transform(log_scale(features[COLUMNS]).to_numpy())

    def fit(self, features: pd.DataFrame, rows: np.ndarray | None = None) -> ClusterModel:
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm must be one of {', '.join(ALGORITHMS)}, not {self.algorithm!r}")
        self.scaler_, self.pca_ = StandardScaler(), PCA(2, random_state=self.seed)
        self.model_, self.assign_, self.silhouettes_ = None, None, {}
        rng = np.random.default_rng(int(self.seed))
        rows = np.arange(len(features)) if rows is None else np.asarray(rows)
        sample = np.sort(rng.choice(rows, FIT_SAMPLE, replace=False)) if len(rows) > FIT_SAMPLE else rows
        self.scaler_.fit(log_scale(features.iloc[sample][COLUMNS]).to_numpy())
        x = self._x(features.iloc[sample])
        sil = rng.choice(len(x), min(SILHOUETTE_SAMPLE, len(x)), replace=False)
        algorithm, seed = self.algorithm, int(self.seed)
        if algorithm == "dbscan":
            self.model_ = DBSCAN(eps=_eps(x, seed), min_samples=10).fit(x)
            labels = self.model_.labels_
            core = labels >= 0
            self.assign_ = KNeighborsClassifier(5).fit(
                x[core] if core.any() else x, labels[core] if core.any() else labels
            )
            self.k_ = int(len(set(labels.tolist()) - {-1}))
        else:
            ks = [int(self.k)] if self.k else list(range(self.k_range[0], self.k_range[1] + 1))
            ks = [k for k in ks if k < len(x)]
            best, best_model = -2.0, None
            for k in ks:
                model = _make(algorithm, k, seed).fit(x)
                labels = model.predict(x)
                score = (
                    float(silhouette_score(x[sil], labels[sil]))
                    if len(set(labels[sil].tolist())) > 1
                    else -1.0
                )
                self.silhouettes_[k] = round(score, 4)
                if score > best:
                    best, best_model = score, model
            self.model_ = best_model
            self.k_ = int(best_model.n_components if algorithm == "gmm" else best_model.n_clusters)
        self.pca_.fit(x)
        labels = self._predict_x(x)
        self.profiles_ = profile(features.iloc[sample], labels, len(rows) / len(sample))
        shown = rng.choice(len(x), min(MAP_SAMPLE, len(x)), replace=False)
        xy = self.pca_.transform(x[shown])
        self.map_ = {
            "x": xy[:, 0].round(4).tolist(),
            "y": xy[:, 1].round(4).tolist(),
            "cluster": labels[shown].astype(int).tolist(),
        }
        return self

    def _predict_x(self, x: np.ndarray) -> np.ndarray:
        if self.algorithm == "dbscan":
            assert self.assign_ is not None
            return self.assign_.predict(x)
        return self.model_.predict(x)

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        return self._predict_x(self._x(features)).astype(int)


def _make(algorithm: str, k: int, seed: int) -> Any:
    if algorithm == "gmm":
        return GaussianMixture(k, covariance_type="diag", random_state=seed)
    return KMeans(k, n_init=1, random_state=seed)


def _eps(x: np.ndarray, seed: int) -> float:
    """DBSCAN radius: the 90th percentile of the distance to the 10th neighbour (a sample)."""
    rng = np.random.default_rng(seed)
    sample = x[rng.choice(len(x), min(2000, len(x)), replace=False)]
    dist, _ = NearestNeighbors(n_neighbors=min(10, len(sample))).fit(sample).kneighbors(sample)
    return float(np.quantile(dist[:, -1], 0.9)) or 1.0


def profile(
    features: pd.DataFrame, labels: np.ndarray, scale: float = 1.0, traits: int = 3
) -> list[dict[str, Any]]:
    """Per cluster: size, share, and the traits that set it apart: the features whose median in
    the cluster differs most from everyone's (in standard deviations of the log values)."""
    logged = log_scale(features[COLUMNS])
    center, spread = logged.median(), logged.std().replace(0, np.nan)
    raw_median = features[COLUMNS].median()
    out = []
    for c in sorted(set(labels.tolist())):
        members = labels == c
        diff = ((logged[members].median() - center) / spread).dropna()
        top = diff.abs().sort_values(ascending=False).index[:traits]
        words = []
        for name in top:
            value = features[COLUMNS][members][name].median()
            direction = "higher" if diff[name] > 0 else "lower"
            if value == 0 and raw_median[name] > 0:
                direction = "lower: mostly none"
            # "<what>: <how> (<detail>)": ml/profile_image.py keeps the part before " ("
            words.append(
                f"{DESCRIPTIONS[name]}: {direction} (median {_fmt(value)} in the cluster, "
                f"{_fmt(raw_median[name])} across all wallets)"
            )
        out.append(
            {
                "cluster": int(c),
                "size": int(round(members.sum() * scale)),
                "share": round(float(members.mean()), 4),
                "traits": words,
                "distinct": {n: round(float(diff[n]), 2) for n in top},
            }
        )
    return out


def _fmt(v: float) -> str:
    if v is None or not np.isfinite(v):
        return "n/a"
    return f"{v:.3g}"
