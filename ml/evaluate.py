"""Judging scores against labels: Precision@K, Recall@K, ROC AUC, accuracy and F1 of `flagged`;
cross-validation so that every labelled wallet is scored by a model that did not see its label."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import StratifiedKFold

from graph.store import GraphStore
from ml.anomaly import AnomalyResult
from ml.dataset import Dataset, label_positions, read_labels
from ml.metrics import DEFAULT_K, anomaly_metrics
from ml.models import ANOMALY_MODELS, DEFAULT_ANOMALY, make_model
from ml.pipeline import dataset, fit_typology
from ml.registry import Registry
from ml.typology import AXES, eligible_wallets, rule_labels

log = logging.getLogger("aidrop.ml")  # progress of the long steps (the CLI shows it on stderr)


def out_of_fold(
    ds: Dataset,
    positions: np.ndarray,
    y: np.ndarray,
    model: str = DEFAULT_ANOMALY,
    folds: int = 5,
    seed: int = 0,
    **params: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """Scores and flags of the labelled wallets, each from a model trained on the other folds."""
    y = np.asarray(y, dtype=int)
    score = np.zeros(len(y))
    flagged = np.zeros(len(y), dtype=bool)
    split = StratifiedKFold(folds, shuffle=True, random_state=seed)
    for fold, (train, test) in enumerate(split.split(positions, y), 1):
        log.info("%s: fold %d of %d ...", model, fold, folds)
        m = make_model(model, **params)
        m.fit(ds, positions[train], y[train])
        result: AnomalyResult = m.predict_result(ds, explain=False)
        score[test] = result.score[positions[test]]
        flagged[test] = result.flagged[positions[test]]
    return score, flagged


def cross_validate_anomaly(
    ds: Dataset,
    positions: np.ndarray,
    y: np.ndarray,
    model: str = DEFAULT_ANOMALY,
    folds: int = 5,
    seed: int = 0,
    ks: Sequence[int] = DEFAULT_K,
    **params: Any,
) -> dict[str, Any]:
    """Metrics of the out-of-fold scores over all labelled wallets."""
    score, flagged = out_of_fold(ds, positions, y, model, folds, seed, **params)
    metrics = anomaly_metrics(score, flagged, y, ks)
    metrics.update(model=model, folds=folds, params=dict(params))
    return metrics


def label_free_metrics(
    ds: Dataset, positions: np.ndarray, y: np.ndarray, ks: Sequence[int] = DEFAULT_K, **params: Any
) -> dict[str, Any]:
    """The aidrop model with no labels at all, judged on the labelled wallets."""
    m = make_model(DEFAULT_ANOMALY, **params)
    m.fit(ds)
    result: AnomalyResult = m.predict_result(ds)
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


async def compare_anomaly(
    store: GraphStore,
    registry: Registry,
    labels: str | Path,
    ks: Sequence[int] = DEFAULT_K,
    folds: int = 5,
    absolute_time: bool = False,
    seed: int = 0,
) -> dict[str, Any]:
    """Both models on the same labels, side by side: cross-validated (folds >= 2; plus aidrop with
    no labels at all), or the active versions as they are (folds 0)."""
    ds = await dataset(store)
    frame = read_labels(labels)
    positions, found = label_positions(ds, frame)
    if not len(positions) or "label" not in found:
        raise ValueError(f"{labels}: none of the labelled wallets is in the graph")
    y = found["label"].to_numpy(dtype=int)
    kinds = found["kind"].to_numpy(dtype=object) if "kind" in found else None
    runs: list[tuple[str, np.ndarray, np.ndarray]] = []
    if folds >= 2:
        params = {"absolute_time": absolute_time}
        for name in ANOMALY_MODELS:  # absolute time is a parameter of the models that take it
            kwargs = {k: v for k, v in params.items() if k in make_model(name).get_params()}
            runs.append((name, *out_of_fold(ds, positions, y, name, folds, seed, **kwargs)))
        log.info("%s without labels ...", DEFAULT_ANOMALY)
        free = make_model(DEFAULT_ANOMALY, **params)
        free.fit(ds)
        result = free.predict_result(ds, explain=False)
        runs.append((f"{DEFAULT_ANOMALY} (label-free)", result.score[positions], result.flagged[positions]))
    else:
        for name in ANOMALY_MODELS:
            if registry.active(name):
                art = registry.load(name)
                result = art.obj.predict_result(ds)
                runs.append((f"{name} {art.version}", result.score[positions], result.flagged[positions]))
    models = []
    for name, score, flagged in runs:
        metrics = anomaly_metrics(score, flagged, y, ks)
        metrics["model"] = name
        if kinds is not None and len(set(kinds[y == 1].tolist()) - {""}) > 1:
            metrics["recovery"] = recovery_at_k(score, y == 1, kinds)
        take = np.random.default_rng(seed).permutation(len(y))[:5000]
        metrics["scores"] = {"score": np.round(score[take], 5).tolist(), "y": y[take].tolist()}
        models.append(metrics)
    return {
        "labels": str(labels),
        "labelled": int(len(y)),
        "positives": int(y.sum()),
        "folds": folds,
        "absolute_time": absolute_time,
        "k": list(ks),
        "data": ds.fingerprint(),
        "models": models,
    }


async def evaluate_typology(store: GraphStore, labels: str | Path, seed: int = 0) -> dict[str, Any]:
    """Typology forests trained on known axes, judged on held-out wallets; and the rules alone."""

    ds = await dataset(store)
    frame = read_labels(labels)
    if not all(a in frame for a in AXES):
        raise ValueError(f"{labels}: needs columns {', '.join(AXES)}")
    model, meta = fit_typology(ds, frame, seed=seed)
    pos, found = label_positions(ds, frame)
    keep = np.isin(pos, eligible_wallets(ds.graph.wallets, ds.features))
    rules = rule_labels(ds.features.iloc[pos[keep]]).reset_index(drop=True)
    truth = found[keep].reset_index(drop=True)
    rule_accuracy = {a: float((rules[a].astype(str) == truth[a].astype(str)).mean()) for a in AXES}
    return {
        "labels": str(labels),
        "n": int(keep.sum()),
        "axes": meta["metrics"]["axes"],
        "rules": rule_accuracy,
        "data": ds.fingerprint(),
    }
