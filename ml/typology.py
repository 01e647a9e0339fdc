"""Typology on four axes: focus (D DeFi, N NFT, G Gaming, S Social, U undefined), pattern
(T trading, H holding), risk (A aggressive, S safe), community (C community, I individual),
combined as a code like `D-T-A-C` with per-axis probabilities.

Without known axes the labels come from rules over behaviour (`rule_labels`); with known axes
(the synthetic labels.csv) a random forest per axis learns them. Either way the forests give
the per-axis probabilities and the explanations. Contracts and tokens get no typology."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix
from sklearn.model_selection import train_test_split

from ml.base import Estimator
from ml.explain import forest_contributions, top_factors
from ml.features import feature_names

AXES: dict[str, tuple[str, ...]] = {
    "focus": ("D", "N", "G", "S", "U"),
    "pattern": ("T", "H"),
    "risk": ("A", "S"),
    "community": ("C", "I"),
}
FOCUS_CATEGORIES = {"D": "cat_defi", "N": "cat_nft", "G": "cat_gaming", "S": "cat_social"}
MISSING = -1.0
MAX_TRAIN = 12_000  # wallets a forest is fitted on (a stratified sample beyond that)


def rule_labels(features: pd.DataFrame) -> pd.DataFrame:
    """Axis letters from behaviour alone (documented in docs/ml.md)."""
    f = features
    shares = pd.DataFrame({k: f[c].fillna(0.0) for k, c in FOCUS_CATEGORIES.items()})
    top = shares.idxmax(axis=1)
    top_share = shares.max(axis=1)
    second = np.sort(shares.to_numpy(), axis=1)[:, -2] if len(shares) else top_share  # runner-up share
    focus = np.where((top_share >= 0.25) & (top_share >= 1.5 * second), top, "U")
    # trading: resells most token buys within days, or is busy; holding otherwise
    resell = f["resell_share"].fillna(0.0)
    hold = f["hold_days"].fillna(np.inf)
    busy = f["tx_per_day"].fillna(0.0) >= f["tx_per_day"].median(skipna=True)
    pattern = np.where(((resell >= 0.5) & (hold <= 7)) | (busy & (resell >= 0.35)), "T", "H")
    risk = np.where(f["young_share"].fillna(0.0) >= 0.15, "A", "S")
    community = np.where(f["governance_calls"].fillna(0.0) >= 1, "C", "I")
    return pd.DataFrame(
        {"focus": focus, "pattern": pattern, "risk": risk, "community": community}, index=f.index
    )


def code(letters: dict[str, Any]) -> str:
    return "-".join(str(letters[a]) for a in AXES)


class TypologyModel(Estimator):
    name = "typology"
    _run_params = ("n_jobs",)
    _renamed = {"columns": "columns_", "forests": "forests_", "source": "source_",  # noqa: RUF012
                "evaluation": "evaluation_"}  # fmt: skip

    def __init__(
        self,
        n_estimators: int = 100,
        min_samples_leaf: int = 3,
        max_depth: int | None = 16,
        seed: int = 0,
        n_jobs: int = 2,
    ) -> None:
        self.n_estimators = n_estimators
        self.min_samples_leaf = min_samples_leaf
        self.max_depth = max_depth
        self.seed = seed
        self.n_jobs = n_jobs

    # learned by fit
    columns_: list[str]
    forests_: dict[str, RandomForestClassifier]
    source_: str = "rules"  # what the axes were learned from: "labels" or "rules"
    evaluation_: dict[str, Any]

    def _x(self, features: pd.DataFrame) -> np.ndarray:
        return features.reindex(columns=self.columns_).fillna(MISSING).to_numpy(dtype=np.float32)

    def _forest(self) -> RandomForestClassifier:
        return RandomForestClassifier(
            n_estimators=int(self.n_estimators),
            min_samples_leaf=int(self.min_samples_leaf),
            max_depth=self.max_depth,
            class_weight="balanced",
            n_jobs=self.n_jobs,
            random_state=int(self.seed),
        )

    def fit(
        self,
        features: pd.DataFrame,
        eligible: np.ndarray,
        truth: pd.DataFrame | None = None,
        test_size: float = 0.3,
        evaluate: bool = True,
    ) -> TypologyModel:
        """Fit one forest per axis on the `eligible` rows (positions), on `truth` (axis columns,
        aligned with `eligible`) or on the rule labels. A held-out share is evaluated first."""
        eligible = np.asarray(eligible)
        self.columns_, self.forests_ = feature_names(False, motifs=False), {}
        if truth is not None:
            labels = truth.reset_index(drop=True)
            self.source_ = "labels"
        else:
            labels = rule_labels(features.iloc[eligible]).reset_index(drop=True)
            self.source_ = "rules"
        x = self._x(features.iloc[eligible])
        rng = np.random.default_rng(int(self.seed))
        rows = np.arange(len(eligible))
        if len(rows) > MAX_TRAIN:
            rows = np.sort(rng.choice(rows, MAX_TRAIN, replace=False))
        self.evaluation_ = {"source": self.source_, "axes": {}}
        for axis in AXES:
            y = labels[axis].astype(str).to_numpy()[rows]
            classes, counts = np.unique(y, return_counts=True)
            stratify = y if len(classes) > 1 and counts.min() >= 2 else None
            if evaluate and len(rows) >= 20 and len(classes) > 1:
                train, test = train_test_split(
                    np.arange(len(rows)),
                    test_size=test_size,
                    random_state=int(self.seed),
                    stratify=stratify,
                )
                held = self._forest().fit(x[rows][train], y[train])
                self.evaluation_["axes"][axis] = _axis_report(held, x[rows][test], y[test], self.columns_)
            self.forests_[axis] = self._forest().fit(x[rows], y)
        return self

    def predict(self, features: pd.DataFrame, eligible: np.ndarray, explain: bool = True) -> dict[str, Any]:
        """Per eligible row: code, per-axis probabilities, and the top factors per axis."""
        x = self._x(features.iloc[eligible])
        letters: dict[str, np.ndarray] = {}
        probs: dict[str, np.ndarray] = {}
        factors: dict[str, list[list[dict[str, Any]]]] = {}
        for axis, forest in self.forests_.items():
            p = forest.predict_proba(x)
            best = p.argmax(1)
            letters[axis] = forest.classes_[best]
            probs[axis] = p
            if explain:
                contrib = forest_contributions(forest, x, best)
                factors[axis] = top_factors(contrib, self.columns_, None, top=1)
        codes = ["-".join(row) for row in zip(*(letters[a].astype(str) for a in AXES), strict=True)]
        per_axis = [  # (classes, rounded probabilities as lists) per axis
            ([str(c) for c in self.forests_[a].classes_], np.round(probs[a], 3).tolist()) for a in AXES
        ]
        axes = [
            {a: dict(zip(classes, p[i], strict=True)) for a, (classes, p) in zip(AXES, per_axis, strict=True)}
            for i in range(len(eligible))
        ]
        explanations = (
            ["{" + ",".join(f'"{a}":{factors[a][i]}' for a in factors) + "}" for i in range(len(eligible))]
            if explain
            else []
        )
        return {"code": codes, "axes": axes, "explanation": explanations, "letters": letters}


def _axis_report(
    forest: RandomForestClassifier, x: np.ndarray, y: np.ndarray, columns: list[str]
) -> dict[str, Any]:
    pred = forest.predict(x)
    labels = [str(c) for c in forest.classes_]
    importance = pd.Series(forest.feature_importances_, index=columns).nlargest(12)
    return {
        "accuracy": float(accuracy_score(y, pred)),
        "n_test": int(len(y)),
        "labels": labels,
        "confusion": confusion_matrix(y, pred, labels=labels).tolist(),
        "report": classification_report(y, pred, labels=labels, output_dict=True, zero_division=0),
        "importance": {k: round(float(v), 4) for k, v in importance.items()},
    }


def eligible_wallets(wallets: pd.DataFrame, features: pd.DataFrame) -> np.ndarray:
    """Rows that get a typology: wallets that are not contracts or tokens and sent something."""
    ok = ~wallets["contract"].to_numpy() & ~wallets["token"].to_numpy()
    ok &= (features["out_degree"].to_numpy() > 0) | (features["in_degree"].to_numpy() > 0)
    return np.flatnonzero(ok)
