"""Time splits: training sets at T1 (and a few earlier snapshots) whose outcomes all end by T2,
so a model trained with T1 and judged at T2 on (T2, T2 + horizon] never saw anything after T2.

Snapshots: the training set stacks as-of times T1, T1 - step, ... (default 6, a week apart):
more examples of the same question, all answered before T2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.errors import AidropError
from ml.growth.features import AsOf
from ml.growth.models import DormancyModel, NeighbourBaseline, PropensityModel, RecencyFrequency
from ml.growth.timeline import (
    DAY,
    Target,
    Timeline,
    adoption_outcome,
    churn_population,
    dormancy_outcome,
    propensity_population,
)


class InsufficientHistory(AidropError, ValueError):
    code = "INSUFFICIENT_HISTORY"


@dataclass(frozen=True)
class Split:
    t1: int  # training as-of (latest snapshot)
    t2: int  # evaluation as-of
    horizon_days: int = 30
    snapshots: int = 6
    step_days: int = 7

    @classmethod
    def before(cls, t2: int, horizon_days: int = 30, snapshots: int = 6, step_days: int = 7) -> Split:
        """Train with T1 = T2 - horizon: the training outcomes end exactly at T2."""
        return cls(int(t2) - horizon_days * DAY, int(t2), horizon_days, snapshots, step_days)

    @classmethod
    def fitting(
        cls, tl: Timeline, t2: int, horizon_days: int = 30, snapshots: int = 6, step_days: int = 7
    ) -> Split:
        """Split.before with as many snapshots (up to `snapshots`) as the history before T1 allows."""
        t1 = int(t2) - horizon_days * DAY
        room = (t1 - 30 * DAY - tl.start) // (step_days * DAY) + 1
        return cls.before(t2, horizon_days, int(np.clip(room, 1, snapshots)), step_days)

    def training_times(self) -> list[int]:
        return [self.t1 - k * self.step_days * DAY for k in range(self.snapshots)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "t1": self.t1,
            "t2": self.t2,
            "horizon_days": self.horizon_days,
            "snapshots": self.snapshots,
            "step_days": self.step_days,
            "training_times": self.training_times(),
        }


def check_times(tl: Timeline, times: list[int], horizon_days: int, outcomes: bool = True) -> None:
    """Every as-of time needs 30 days of history before it (and its horizon after it when its
    outcomes are read)."""
    lo, hi = min(times), max(times)
    if lo - 30 * DAY < tl.start:
        raise InsufficientHistory(
            f"as-of {_day(lo)} leaves less than 30 days of data before it (data from {_day(tl.start)})"
        )
    if outcomes and hi + horizon_days * DAY > tl.end + DAY:
        raise InsufficientHistory(
            f"as-of {_day(hi)} + {horizon_days} days passes the end of the data ({_day(tl.end)})"
        )


def _day(t: int) -> str:
    return pd.Timestamp(int(t), unit="s").strftime("%Y-%m-%d")


# ---- examples -----------------------------------------------------------------------------
def churn_examples(
    tl: Timeline, t: int, horizon_days: int, asof: AsOf | None = None, labels: bool = True
) -> tuple[np.ndarray, pd.DataFrame, np.ndarray | None]:
    asof = asof or AsOf(tl, t)
    rows = churn_population(tl, t)
    y = dormancy_outcome(tl, rows, t, horizon_days) if labels else None
    return rows, asof.churn_frame(rows), y


def propensity_examples(
    tl: Timeline,
    target: Target,
    first: np.ndarray,
    t: int,
    horizon_days: int,
    asof: AsOf | None = None,
    labels: bool = True,
) -> tuple[np.ndarray, pd.DataFrame, np.ndarray | None]:
    asof = asof or AsOf(tl, t)
    # `first` holds touches after t too; only whether it was by t enters the features
    rows = propensity_population(tl, target, t, first)
    y = adoption_outcome(first, rows, t, horizon_days) if labels else None
    return rows, asof.propensity_frame(rows, target, np.where(first <= t, first, np.iinfo(np.int64).max)), y


def _stack(
    parts: list[tuple[np.ndarray, pd.DataFrame, np.ndarray | None]],
) -> tuple[pd.DataFrame, np.ndarray]:
    X = pd.concat([p[1] for p in parts], ignore_index=True)
    y = np.concatenate([p[2] for p in parts if p[2] is not None]) if parts else np.zeros(0, np.int64)
    return X, y


def churn_training(
    tl: Timeline, split: Split, cache: dict[int, AsOf] | None = None
) -> tuple[pd.DataFrame, np.ndarray]:
    cache = {} if cache is None else cache
    parts = [churn_examples(tl, t, split.horizon_days, _asof(tl, t, cache)) for t in split.training_times()]
    return _stack(parts)


def propensity_training(
    tl: Timeline, target: Target, split: Split, first: np.ndarray, cache: dict[int, AsOf] | None = None
) -> tuple[pd.DataFrame, np.ndarray]:
    cache = {} if cache is None else cache
    parts = [
        propensity_examples(tl, target, first, t, split.horizon_days, _asof(tl, t, cache))
        for t in split.training_times()
    ]
    return _stack(parts)


def _asof(tl: Timeline, t: int, cache: dict[int, AsOf]) -> AsOf:
    if t not in cache:
        cache[t] = AsOf(tl, t)
    return cache[t]


# ---- fitting ------------------------------------------------------------------------------
def fit_churn(
    tl: Timeline, split: Split, cache: dict[int, AsOf] | None = None, **params: Any
) -> tuple[DormancyModel, RecencyFrequency, pd.DataFrame, np.ndarray]:
    check_times(tl, split.training_times(), split.horizon_days)
    X, y = churn_training(tl, split, cache)
    if not len(y):
        raise InsufficientHistory("no wallet was active in the 30 days before the training times")
    model = DormancyModel(horizon_days=split.horizon_days, **params).fit(X, y)
    return model, RecencyFrequency().fit(X, y), X, y


def fit_propensity(
    tl: Timeline,
    target: Target,
    split: Split,
    first: np.ndarray | None = None,
    cache: dict[int, AsOf] | None = None,
    **params: Any,
) -> tuple[PropensityModel, NeighbourBaseline, pd.DataFrame, np.ndarray]:
    check_times(tl, split.training_times(), split.horizon_days)
    first = tl.first_touch(target) if first is None else first
    X, y = propensity_training(tl, target, split, first, cache)
    if not len(y):
        raise InsufficientHistory(f"no wallet left that never touched {target.name}")
    model = PropensityModel(target=target.name, horizon_days=split.horizon_days, **params).fit(X, y)
    return model, NeighbourBaseline().fit(X, y), X, y
