"""Metrics of anomaly scores against labels (Precision@K, Recall@K, ROC AUC, accuracy and F1 of
`flagged`); used by training (ml/pipeline.py) and evaluation (ml/evaluate.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score, roc_curve

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
