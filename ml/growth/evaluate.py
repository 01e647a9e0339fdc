"""Judging the growth models by time: train with T1, score at T2 > T1, compare with what the
transfers show happened in (T2, T2 + horizon]. Every figure is given for the model and its plain
baseline, fitted on the same training set and judged on the same wallets.

Metrics: ROC AUC; Brier score and expected calibration error over ten equal-count bins (the
reliability plot's points); precision and lift (precision over the base rate) per decile of the
ranking, decile 1 the highest scores.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from graph.features import WalletGraph
from ml.growth.features import AsOf
from ml.growth.timeline import DAY, Timeline, days_to_next
from ml.growth.train import (
    Split,
    check_times,
    churn_examples,
    fit_churn,
    fit_propensity,
    propensity_examples,
)

Progress = Callable[[str], None]


def rank_metrics(y: np.ndarray, p: np.ndarray, bins: int = 10) -> dict[str, Any]:
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    n = len(y)
    out: dict[str, Any] = {
        "n": int(n),
        "positives": int(y.sum()),
        "base_rate": float(y.mean()) if n else None,
    }
    out["auc"] = float(roc_auc_score(y, p)) if 0 < y.sum() < n else None
    out["brier"] = float(np.mean((p - y) ** 2)) if n else None
    # a stable random tie-break: equal scores do not keep the wallets' address order
    order = np.lexsort((np.random.default_rng(0).random(n), -p))
    deciles = np.array_split(order, bins) if n >= bins else [order]
    base = y.mean() if n else 0.0
    out["deciles"] = [
        {
            "decile": i + 1,
            "n": int(len(d)),
            "precision": float(y[d].mean()) if len(d) else None,
            "lift": float(y[d].mean() / base) if len(d) and base > 0 else None,
        }
        for i, d in enumerate(deciles)
    ]
    top = out["deciles"][0]
    out["top_decile_precision"], out["top_decile_lift"] = top["precision"], top["lift"]
    by_p = np.array_split(np.argsort(p, kind="stable"), bins) if n >= bins else [np.arange(n)]
    cal = [
        {"predicted": float(p[b].mean()), "observed": float(y[b].mean()), "n": int(len(b))}
        for b in by_p
        if len(b)
    ]
    out["calibration"] = cal
    out["ece"] = float(sum(c["n"] * abs(c["predicted"] - c["observed"]) for c in cal) / n) if n else None
    return out


def _concordance(
    days: np.ndarray, seen: np.ndarray, predicted: np.ndarray, sample: int = 4000
) -> float | None:
    """Harrell's C of the expected days against the observed days to the next activity
    (censored pairs only count when the earlier one was seen), on a sample of wallets."""
    rng = np.random.default_rng(0)
    idx = rng.choice(len(days), min(sample, len(days)), replace=False)
    d, s, q = days[idx], seen[idx], predicted[idx]
    earlier = (d[:, None] < d[None, :]) & s[:, None]
    if not earlier.any():
        return None
    agree = (q[:, None] < q[None, :]) + 0.5 * (q[:, None] == q[None, :])
    return float(agree[earlier].mean())


def evaluate_churn(
    graph: WalletGraph,
    as_of: int | None = None,
    horizon_days: int = 30,
    seed: int = 0,
    progress: Progress | None = None,
    tl: Timeline | None = None,
    importance: bool = False,
) -> dict[str, Any]:
    say = progress or (lambda _: None)
    started = time.perf_counter()
    tl = tl or Timeline(graph)
    t2 = int(as_of) if as_of is not None else tl.end - horizon_days * DAY
    split = Split.fitting(tl, t2, horizon_days)
    check_times(tl, [*split.training_times(), t2], horizon_days)
    say(f"training with T1 = {_day(split.t1)} ({split.snapshots} snapshots)")
    model, baseline, _, y_train = fit_churn(tl, split, random_state=seed)
    say(f"judging at T2 = {_day(t2)} on ({_day(t2)}, +{horizon_days} d]")
    rows, X, y = churn_examples(tl, t2, horizon_days, AsOf(tl, t2))
    assert y is not None
    p = model.predict_proba(X)[:, 1]
    days, seen = days_to_next(tl, rows, t2)
    result = {
        "task": "churn",
        "split": split.to_dict(),
        "train": {"n": int(len(y_train)), "positives": int(y_train.sum())},
        "model": rank_metrics(y, p),
        "baseline": {"name": "recency-frequency", **rank_metrics(y, baseline.predict_proba(X)[:, 1])},
        "survival": {
            "concordance": _concordance(days, seen, model.expected_days(X)),
            "median_expected_days": float(np.median(model.expected_days(X))) if len(X) else None,
        },
        "importance": model.importances(X, y, seed) if importance else {},
        "seconds": round(time.perf_counter() - started, 2),
    }
    result["ratio_top_decile_precision"] = _ratio(result, "top_decile_precision")
    return result


def evaluate_propensity(
    graph: WalletGraph,
    category: str | None = None,
    contracts: list[str] | None = None,
    as_of: int | None = None,
    horizon_days: int = 30,
    seed: int = 0,
    progress: Progress | None = None,
    tl: Timeline | None = None,
    importance: bool = False,
) -> dict[str, Any]:
    say = progress or (lambda _: None)
    started = time.perf_counter()
    tl = tl or Timeline(graph)
    target = tl.target(category, contracts)
    t2 = int(as_of) if as_of is not None else tl.end - horizon_days * DAY
    split = Split.fitting(tl, t2, horizon_days)
    check_times(tl, [*split.training_times(), t2], horizon_days)
    first = tl.first_touch(target)
    say(f"training {target.name} with T1 = {_day(split.t1)} ({split.snapshots} snapshots)")
    model, baseline, _, y_train = fit_propensity(tl, target, split, first, random_state=seed)
    say(f"judging at T2 = {_day(t2)} on ({_day(t2)}, +{horizon_days} d]")
    _, X, y = propensity_examples(tl, target, first, t2, horizon_days)
    assert y is not None
    result = {
        "task": "propensity",
        "target": target.name,
        "split": split.to_dict(),
        "train": {"n": int(len(y_train)), "positives": int(y_train.sum())},
        "model": rank_metrics(y, model.predict_proba(X)[:, 1]),
        "baseline": {
            "name": "neighbouring category used",
            **rank_metrics(y, baseline.predict_proba(X)[:, 1]),
        },
        "importance": model.importances(X, y, seed) if importance else {},
        "seconds": round(time.perf_counter() - started, 2),
    }
    result["ratio_top_decile_lift"] = _ratio(result, "top_decile_lift")
    return result


def _ratio(result: dict[str, Any], key: str) -> float | None:
    a, b = result["model"].get(key), result["baseline"].get(key)
    return float(a / b) if a is not None and b else None


def _day(t: int) -> str:
    import pandas as pd

    return pd.Timestamp(int(t), unit="s").strftime("%Y-%m-%d")


def parse_horizon(text: str) -> int:
    """'30d', '30' or '4w' -> days."""
    text = text.strip().lower()
    factor = 7 if text.endswith("w") else 1
    number = text.rstrip("dw")
    if not number.isdigit() or not 1 <= int(number) * factor <= 365:
        raise ValueError(f"horizon {text!r}: a number of days (1-365) like 30d or 4w")
    return int(number) * factor


def parse_as_of(text: str | None) -> int | None:
    """A date (YYYY-MM-DD, UTC), an ISO time or unix seconds; None: the end of the data - horizon."""
    if text is None:
        return None
    import pandas as pd

    if text.strip().isdigit():
        return int(text)
    try:
        stamp = pd.Timestamp(text)
    except ValueError as exc:
        raise ValueError(f"as-of {text!r}: a date like 2024-05-01 or unix seconds") from exc
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
    return int(stamp.timestamp())


async def evaluate_from_store(store: Any, task: str, as_of: int | None, horizon_days: int,
                              category: str | None = None, contracts: list[str] | None = None,
                              progress: Progress | None = None) -> dict[str, Any]:  # fmt: skip
    """Read the graph once and judge `task` (churn or propensity) by time."""
    from graph.features import load_wallet_graph

    say = progress or (lambda _: None)
    say("reading the transfers")
    graph = await load_wallet_graph(store)
    if task == "churn":
        return evaluate_churn(graph, as_of, horizon_days, progress=say)
    return evaluate_propensity(graph, category, contracts, as_of, horizon_days, progress=say)
