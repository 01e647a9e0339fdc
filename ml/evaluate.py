"""Judging scores against labels: Precision@K, Recall@K, ROC AUC, accuracy and F1 of `flagged`;
cross-validation so that every labelled wallet is scored by a model that did not see its label."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score, roc_curve
from sklearn.model_selection import StratifiedKFold

from ml.anomaly import AnomalyResult, make_model
from ml.dataset import Dataset

DEFAULT_K = (20, 50, 100)


def anomaly_metrics(
    score: np.ndarray, flagged: np.ndarray, y: np.ndarray, ks: Sequence[int] = DEFAULT_K
) -> dict[str, Any]:
    """Metrics over the labelled wallets (score, flagged and y aligned). Precision@K and
    Recall@K rank the labelled wallets by score."""
    y = np.asarray(y, dtype=int)
    score = np.asarray(score, dtype=float)
    flagged = np.asarray(flagged, dtype=bool)
    out: dict[str, Any] = {"n": int(len(y)), "positives": int(y.sum())}
    both = 0 < y.sum() < len(y)
    out["auc"] = float(roc_auc_score(y, score)) if both else None
    out["accuracy"] = float(accuracy_score(y, flagged)) if len(y) else None
    out["f1"] = float(f1_score(y, flagged, zero_division=0)) if len(y) else None
    order = np.argsort(-score, kind="stable")
    for k in ks:
        top = y[order[: min(k, len(y))]]
        out[f"precision@{k}"] = float(top.mean()) if len(top) else None
        out[f"recall@{k}"] = float(top.sum() / y.sum()) if y.sum() else None
    if both:
        fpr, tpr, _ = roc_curve(y, score)
        step = max(1, len(fpr) // 200)
        out["roc"] = {
            "fpr": fpr[::step].round(4).tolist() + [1.0],
            "tpr": tpr[::step].round(4).tolist() + [1.0],
        }
    return out


def cross_validate_anomaly(
    ds: Dataset,
    positions: np.ndarray,
    y: np.ndarray,
    model: str = "aidrop",
    folds: int = 5,
    seed: int = 0,
    ks: Sequence[int] = DEFAULT_K,
    **params: Any,
) -> dict[str, Any]:
    """Out-of-fold scores of the labelled wallets: each fold's model is trained on the other
    folds' labels only; the metrics are over all labelled wallets."""
    y = np.asarray(y, dtype=int)
    score = np.zeros(len(y))
    flagged = np.zeros(len(y), dtype=bool)
    split = StratifiedKFold(folds, shuffle=True, random_state=seed)
    for train, test in split.split(positions, y):
        m = make_model(model, **params)
        m.fit(ds, positions[train], y[train])  # type: ignore[attr-defined]
        result: AnomalyResult = m.score(ds, **({"explain": False} if model == "aidrop" else {}))  # type: ignore[attr-defined]
        score[test] = result.score[positions[test]]
        flagged[test] = result.flagged[positions[test]]
    metrics = anomaly_metrics(score, flagged, y, ks)
    metrics.update(model=model, folds=folds, params={k: v for k, v in params.items()})
    return metrics


def label_free_metrics(
    ds: Dataset, positions: np.ndarray, y: np.ndarray, ks: Sequence[int] = DEFAULT_K, **params: Any
) -> dict[str, Any]:
    """The aidrop model with no labels at all, judged on the labelled wallets."""
    m = make_model("aidrop", **params)
    m.fit(ds)  # type: ignore[attr-defined]
    result: AnomalyResult = m.score(ds)  # type: ignore[attr-defined]
    metrics = anomaly_metrics(result.score[positions], result.flagged[positions], y, ks)
    metrics.update(model="aidrop (label-free)", folds=0)
    return metrics


def recovery_at_k(score: np.ndarray, positive: np.ndarray, groups: np.ndarray) -> dict[str, Any]:
    """Share of the positives in the top K (K = their number), overall and per group."""
    positive = np.asarray(positive, dtype=bool)
    k = int(positive.sum())
    top = np.zeros(len(score), dtype=bool)
    top[np.argsort(-np.asarray(score, dtype=float), kind="stable")[:k]] = True
    per = {}
    for g in sorted(set(groups[positive].tolist())):
        members = positive & (groups == g)
        per[str(g)] = {"n": int(members.sum()), "recovered": float(top[members].mean())}
    return {"k": k, "recovered": float(top[positive].mean()) if k else None, "per_group": per}
