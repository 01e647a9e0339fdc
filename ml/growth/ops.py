"""Growth models in operation: fit them for scoring, score every wallet, watch the population
drift from the training snapshot, and retrain by champion / challenger.

Registry entries: `churn` (a DormancyModel) and `propensity` (one PropensityModel per category).
Each version's metadata holds its training window (as-of times, outcome end, feature look-back)
and the reference distributions drift is measured against. Every retraining decision is
appended to the model's history (ml/registry.py) and shown in the model report.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from graph.model import CATEGORIES
from ml.growth import drift
from ml.growth.features import AsOf
from ml.growth.models import DormancyModel, PropensityModel
from ml.growth.timeline import DAY, Timeline, propensity_population
from ml.growth.train import Split, churn_examples, fit_churn, fit_propensity
from ml.registry import Artifact, Registry

SCORED = ("DeFi", "NFT", "Gaming", "Social")  # categories that get a propensity on each wallet


@dataclass(frozen=True)
class RetrainPolicy:
    """When the daily check trains a challenger, and what it must show to replace the champion."""

    psi_threshold: float = drift.DRIFT  # any feature or the score at or above this: drift
    every_days: int = 30  # retrain on schedule once the champion's data is this old
    margin: float = 0.01  # the challenger's holdout AUC must beat the champion's by this
    horizon_days: int = 30


def _window(split: Split) -> dict[str, Any]:
    times = split.training_times()
    return {
        "as_of": times,
        "features_from": min(times) - 90 * DAY,
        "outcomes_to": split.t1 + split.horizon_days * DAY,
    }


def fit_churn_model(tl: Timeline, now: int | None = None, horizon_days: int = 30, seed: int = 0
                    ) -> tuple[DormancyModel, dict[str, Any]]:  # fmt: skip
    """The dormancy model for scoring at `now` (default: the last transfer): trained with
    T1 = now - horizon, so its outcomes are all known."""
    now = int(now if now is not None else tl.end)
    split = Split.fitting(tl, now, horizon_days)
    model, _, _, y = fit_churn(tl, split, random_state=seed)
    meta = {
        "task": "churn",
        "params": model.get_params(),
        "window": _window(split),
        "trained_to": now,
        "train": {"n": int(len(y)), "positives": int(y.sum())},
        "reference": _snapshot(tl, model, now),
    }
    return model, meta


def _snapshot(tl: Timeline, model: DormancyModel, now: int) -> dict[str, Any]:
    """The reference drift is measured against: the features and scores of the wallets the
    model was made for, as they were when it was trained (its `now`). The training examples
    themselves are older (as-of T1 and before) and, on a young chain, have shorter histories."""
    _, X, _ = churn_examples(tl, now, model.horizon_days, labels=False)
    return drift.Reference.of(X, model.predict_proba(X)[:, 1]).to_dict()


def fit_propensity_models(tl: Timeline, now: int | None = None, horizon_days: int = 30, seed: int = 0
                          ) -> tuple[dict[str, PropensityModel], dict[str, Any]]:  # fmt: skip
    now = int(now if now is not None else tl.end)
    split = Split.fitting(tl, now, horizon_days)
    models: dict[str, PropensityModel] = {}
    train: dict[str, Any] = {}
    for category in [c for c in SCORED if c in tl.categories]:
        model, _, _, y = fit_propensity(tl, tl.target(category), split, random_state=seed)
        models[category], train[category] = model, {"n": int(len(y)), "positives": int(y.sum())}
    meta = {"task": "propensity", "window": _window(split), "trained_to": now, "train": train,
            "reference": {c: m.reference_.to_dict() for c, m in models.items()}}  # fmt: skip
    return models, meta


def _active_or_fit(registry: Registry, name: str, fit: Any) -> tuple[Artifact, bool]:
    if registry.active(name):
        return registry.load(name), False
    obj, meta = fit()
    art = registry.save(name, obj, meta)
    return Artifact(art.model, art.version, art.path, art.metadata, obj), True


def score_growth(
    tl: Timeline, registry: Registry, now: int | None = None
) -> tuple[dict[str, Any], list[str]]:
    """churn_risk and expected_active_days for the wallets active in the 30 days before now,
    propensity per category (CATEGORIES order, null: already used or not scored) for the wallets
    that never used it; every wallet of the timeline in order (None where not scored). Models
    are fitted and registered when none is active."""
    now = int(now if now is not None else tl.end)
    trained: list[str] = []
    churn, fitted = _active_or_fit(registry, "churn", lambda: fit_churn_model(tl, now))
    trained += ["churn"] if fitted else []
    prop, fitted = _active_or_fit(registry, "propensity", lambda: fit_propensity_models(tl, now))
    trained += ["propensity"] if fitted else []
    asof = AsOf(tl, now)
    n = tl.n
    risk = np.full(n, np.nan)
    days = np.full(n, np.nan)
    rows, X, _ = churn_examples(tl, now, churn.obj.horizon_days, asof, labels=False)
    if len(rows):
        risk[rows] = churn.obj.predict_proba(X)[:, 1]
        days[rows] = churn.obj.expected_days(X)
    propensity = np.full((n, len(CATEGORIES)), np.nan)
    for category, model in prop.obj.items():
        target = tl.target(category)
        first = tl.first_touch(target)
        first = np.where(first <= now, first, np.iinfo(np.int64).max)
        rows = propensity_population(tl, target, now, first)
        if len(rows):
            X = asof.propensity_frame(rows, target, first)
            propensity[rows, CATEGORIES.index(category)] = model.predict_proba(X)[:, 1]
    scored = np.isfinite(propensity).any(axis=1)
    columns = {
        "churn_risk": [None if np.isnan(v) else round(float(v), 5) for v in risk.tolist()],
        "expected_active_days": [None if np.isnan(v) else round(float(v), 2) for v in days.tolist()],
        "propensity": [
            [-1.0 if np.isnan(v) else round(float(v), 5) for v in row] if ok else None
            for row, ok in zip(propensity.tolist(), scored.tolist(), strict=True)
        ],
        "growth_version": f"{churn.version}/{prop.version}",
    }
    return columns, trained


# ---- drift and retraining -----------------------------------------------------------------
def _reference(meta: dict[str, Any]) -> drift.Reference:
    ref = meta["reference"]
    hist = lambda d: drift.Histogram(d["edges"], d["shares"])  # noqa: E731
    return drift.Reference({k: hist(v) for k, v in ref["features"].items()},
                           hist(ref["score"]) if ref.get("score") else None, ref.get("n", 0))  # fmt: skip


def churn_drift(
    tl: Timeline, art: Artifact, now: int | None = None, threshold: float = drift.DRIFT
) -> dict[str, Any]:
    """PSI of the churn features and score now against the training snapshot."""
    now = int(now if now is not None else tl.end)
    _, X, _ = churn_examples(tl, now, art.obj.horizon_days, labels=False)
    report = drift.compare(_reference(art.metadata), X, art.obj.predict_proba(X)[:, 1], threshold)
    report.update(model="churn", version=art.version, now=now, trained_to=art.metadata.get("trained_to"))
    return report


def check_and_retrain(tl: Timeline, registry: Registry, policy: RetrainPolicy | None = None,
                      now: int | None = None, seed: int = 0) -> dict[str, Any]:  # fmt: skip
    """The daily check: drift of the churn model; on drift or schedule a challenger trained
    with a fresh time split (T1 = now - 2 horizons), champion and challenger judged on the same
    holdout (as-of now - horizon, outcomes up to now), the challenger promoted only when its
    AUC beats the champion's by the margin. The decision goes into the registry's history."""
    policy = policy or RetrainPolicy()
    now = int(now if now is not None else tl.end)
    if not registry.active("churn"):
        model, meta = fit_churn_model(tl, now, policy.horizon_days, seed)
        art = registry.save("churn", model, meta)
        first: dict[str, Any] = {"decision": "trained", "reason": "no champion", "challenger": art.version}
        return _record(registry, first, now, policy)
    champion = registry.load("churn")
    report = churn_drift(tl, champion, now, policy.psi_threshold)
    age_days = (now - int(champion.metadata.get("trained_to", now))) / DAY
    reasons = (["drift"] if report["drifted"] else []) + (
        ["schedule"] if age_days >= policy.every_days else []
    )
    entry: dict[str, Any] = {
        "champion": champion.version,
        "drift": {"score_psi": report["score"]["psi"], "worst_feature": report["worst_feature"]},
        "champion_age_days": round(age_days, 1),
    }
    if not reasons:
        return _record(registry, {**entry, "decision": "none", "reason": "stable and not due"}, now, policy)
    holdout_t = now - policy.horizon_days * DAY
    split = Split.fitting(tl, holdout_t, policy.horizon_days)
    challenger, _, _, y_train = fit_churn(tl, split, random_state=seed)
    _, X, y = churn_examples(tl, holdout_t, policy.horizon_days)
    from sklearn.metrics import roc_auc_score

    both = y is not None and 0 < y.sum() < len(y)
    auc_new = float(roc_auc_score(y, challenger.predict_proba(X)[:, 1])) if both else None
    auc_old = float(roc_auc_score(y, champion.obj.predict_proba(X)[:, 1])) if both else None
    promote = auc_new is not None and auc_old is not None and auc_new >= auc_old + policy.margin
    meta = {"task": "churn", "params": challenger.get_params(), "window": _window(split),
            "trained_to": holdout_t,
            "train": {"n": int(len(y_train)), "positives": int(y_train.sum())},
            "reference": _snapshot(tl, challenger, now), "holdout_auc": auc_new}  # fmt: skip
    art = registry.save("churn", challenger, meta, activate=promote)
    entry.update(
        reason="+".join(reasons),
        challenger=art.version,
        holdout={"as_of": holdout_t, "n": int(len(X)), "champion_auc": auc_old, "challenger_auc": auc_new},
        decision="promoted" if promote else "rejected",
    )
    return _record(registry, entry, now, policy)


def _record(registry: Registry, entry: dict[str, Any], now: int, policy: RetrainPolicy) -> dict[str, Any]:
    entry = {"checked_at": int(time.time()), "data_to": now, "policy": asdict(policy), **entry}
    registry.record("churn", entry)
    return entry


def history_frame(registry: Registry) -> pd.DataFrame:
    return pd.DataFrame(registry.history("churn"))


async def _timeline(store: Any) -> Timeline:
    from graph.features import load_wallet_graph

    return Timeline(await load_wallet_graph(store))


async def drift_from_store(store: Any, registry: Registry, threshold: float = drift.DRIFT) -> dict[str, Any]:
    """`aidrop monitor drift`: the active churn model's drift now (fits one when none is active)."""
    tl = await _timeline(store)
    if not registry.active("churn"):
        model, meta = fit_churn_model(tl)
        registry.save("churn", model, meta)
    return churn_drift(tl, registry.load("churn"), threshold=threshold)


async def retrain_from_store(
    store: Any, registry: Registry, policy: RetrainPolicy | None = None
) -> dict[str, Any]:
    """The worker's daily check (jobs/worker.py `check_growth_models`)."""
    return check_and_retrain(await _timeline(store), registry, policy)
