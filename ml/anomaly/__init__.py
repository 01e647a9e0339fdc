"""Anomaly scores, two models side by side: `aidrop` (the default) and `mpocryptoml` (the method
as published). Both give, per wallet, a score (higher = more suspicious), a rank and a flag."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

MODELS = ("aidrop", "mpocryptoml")


@dataclass
class AnomalyResult:
    score: np.ndarray  # higher = more suspicious
    flagged: np.ndarray  # bool
    explanation: list[str]  # JSON: the top factors
    rank: np.ndarray | None = None  # 1 = most suspicious

    def __post_init__(self) -> None:
        if self.rank is None:
            self.rank = ranks(self.score)


def ranks(score: np.ndarray) -> np.ndarray:
    """1 for the highest score; ties share the better rank."""
    return rankdata(-np.asarray(score, dtype=float), method="min").astype(np.int64)


def make_model(name: str, **params: object) -> object:
    if name == "aidrop":
        from ml.anomaly.aidrop import AidropAnomaly

        return AidropAnomaly(**params)  # type: ignore[arg-type]
    if name == "mpocryptoml":
        from ml.anomaly.mpocryptoml import MpoCryptoML

        return MpoCryptoML(**params)  # type: ignore[arg-type]
    raise ValueError(f"unknown anomaly model {name!r}: choose one of {', '.join(MODELS)}")
