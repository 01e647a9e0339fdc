"""Anomaly scores, two models side by side: `aidrop` (the default) and `mpocryptoml` (the method
as published), both `ml.base.AnomalyModel`s listed in ml/models.py's table (`make_model` is
there). Both give, per wallet, a score (higher = more suspicious), a rank and a flag."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata


@dataclass
class AnomalyResult:
    score: np.ndarray  # higher = more suspicious
    flagged: np.ndarray  # bool
    explanation: list[str]  # per wallet the JSON text of a graph.wallet_analysis.Explanation
    rank: np.ndarray | None = None  # 1 = most suspicious

    def __post_init__(self) -> None:
        if self.rank is None:
            self.rank = ranks(self.score)


def ranks(score: np.ndarray) -> np.ndarray:
    """1 for the highest score; ties share the better rank."""
    return rankdata(-np.asarray(score, dtype=float), method="min").astype(np.int64)
