"""Population stability: how far today's features and scores moved from the training snapshot.

PSI = sum over bins of (now - then) * ln(now / then), bins the deciles of the training data
(ties merged). The thresholds are the credit-scoring convention the index comes from:
below 0.1 stable, 0.1-0.25 worth a look, above 0.25 a shift that calls for retraining.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

WATCH, DRIFT = 0.10, 0.25
BINS = 10
EPS = 1e-4  # an empty bin counts as this share (ln 0 otherwise)


@dataclass
class Histogram:
    edges: list[float]  # inner edges: bin i holds edges[i-1] < x <= edges[i]
    shares: list[float]

    @classmethod
    def of(cls, values: np.ndarray, bins: int = BINS) -> Histogram:
        values = np.asarray(values, dtype=float)
        values = values[np.isfinite(values)]
        if not len(values):
            return cls([], [1.0])
        edges = np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1]))
        return cls(edges.tolist(), _shares(values, edges).tolist())

    def psi(self, values: np.ndarray) -> float:
        values = np.asarray(values, dtype=float)
        values = values[np.isfinite(values)]
        if not len(values):
            return 0.0
        now = np.maximum(_shares(values, np.array(self.edges)), EPS)
        then = np.maximum(np.array(self.shares), EPS)
        return float(((now - then) * np.log(now / then)).sum())


def _shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    counts = np.bincount(np.searchsorted(edges, values, side="left"), minlength=len(edges) + 1)
    return counts / max(len(values), 1)


@dataclass
class Reference:
    """The training snapshot's distribution of every feature and of the score."""

    features: dict[str, Histogram] = field(default_factory=dict)
    score: Histogram | None = None
    n: int = 0

    @classmethod
    def of(cls, X: pd.DataFrame, score: np.ndarray) -> Reference:
        return cls({c: Histogram.of(X[c].to_numpy(float)) for c in X.columns}, Histogram.of(score), len(X))

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "features": {k: asdict(v) for k, v in self.features.items()},
            "score": asdict(self.score) if self.score else None,
        }


def level(psi: float) -> str:
    return "drift" if psi >= DRIFT else "watch" if psi >= WATCH else "stable"


# features that grow with the calendar for every wallet (a cohort ages): reported, not judged
CALENDAR = ("age", "sent_all")


def compare(
    reference: Reference, X: pd.DataFrame, score: np.ndarray, threshold: float = DRIFT
) -> dict[str, Any]:
    """PSI per feature and of the score, their levels, and whether any passed `threshold`."""
    features = {c: round(h.psi(X[c].to_numpy(float)), 4) for c, h in reference.features.items() if c in X}
    score_psi = round(reference.score.psi(score), 4) if reference.score else 0.0
    judged = {c: v for c, v in features.items() if c not in CALENDAR}
    worst = max(judged.items(), key=lambda kv: kv[1], default=("", 0.0))
    return {
        "n_reference": reference.n,
        "n_now": int(len(X)),
        "features": {
            c: {"psi": v, "level": "calendar" if c in CALENDAR else level(v)}
            for c, v in sorted(features.items(), key=lambda kv: -kv[1])
        },
        "score": {"psi": score_psi, "level": level(score_psi)},
        "worst_feature": {"name": worst[0], "psi": worst[1]},
        "threshold": threshold,
        "drifted": bool(score_psi >= threshold or worst[1] >= threshold),
    }
