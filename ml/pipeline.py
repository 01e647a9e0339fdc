"""Training and scoring end to end: read the graph, compute features, fit or load models,
score every wallet, write the results back onto the wallets. Each stage is timed."""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from graph import scores as graph_scores
from graph.activity import COLUMNS as ACTIVITY_COLUMNS
from graph.activity import note_activity, status_of, summarize, write_activity
from graph.store import GraphStore
from ml.anomaly import AnomalyResult
from ml.base import AnomalyModel
from ml.clusters import ClusterModel
from ml.dataset import Dataset, label_positions, read_labels
from ml.explain import to_json
from ml.laundering.evidence import examples, write_patterns
from ml.metrics import anomaly_metrics
from ml.models import DEFAULT_ANOMALY, MODELS, make_model
from ml.registry import Artifact, Registry
from ml.typology import AXES, TypologyModel, eligible_wallets

log = logging.getLogger("aidrop.ml")  # progress of the long steps (the CLI shows it on stderr)


@dataclass
class Timer:
    stages: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        log.info("%s ...", name)
        start = time.perf_counter()
        try:
            yield
        finally:
            self.stages[name] = self.stages.get(name, 0.0) + time.perf_counter() - start


async def dataset(store: GraphStore, timer: Timer | None = None) -> Dataset:
    timer = timer or Timer()
    from graph.features import load_wallet_graph
    from ml.dataset import build_dataset

    with timer.stage("read graph"):
        graph = await load_wallet_graph(store)
    with timer.stage("features + ppr"):
        return build_dataset(graph)


def _labels(
    ds: Dataset, labels: pd.DataFrame | str | Path | None
) -> tuple[np.ndarray | None, pd.DataFrame | None]:
    if labels is None:
        return None, None
    frame = read_labels(labels) if isinstance(labels, (str, Path)) else labels
    pos, found = label_positions(ds, frame)
    if not len(pos):
        raise ValueError("none of the labelled addresses is in the graph")
    return pos, found


def _fingerprint(ds: Dataset, labels: pd.DataFrame | None) -> dict[str, Any]:
    fp: dict[str, Any] = dict(ds.fingerprint())
    if labels is not None and "label" in labels:
        digest = pd.util.hash_pandas_object(labels[["address", "label"]], index=False).sum()
        fp["labels"] = {
            "n": int(len(labels)),
            "positives": int(labels["label"].sum()),
            "digest": f"{int(digest) & 0xFFFFFFFFFFFF:012x}",
        }
    return fp


# ---- training ----------------------------------------------------------------------------
def fit_anomaly(
    ds: Dataset, model: str = DEFAULT_ANOMALY, labels: pd.DataFrame | str | Path | None = None, **params: Any
) -> tuple[AnomalyModel, dict[str, Any]]:
    """A fitted anomaly model and its metadata (parameters, fingerprint, training metrics)."""
    pos, found = _labels(ds, labels)
    m = make_model(model, **params)
    y = found["label"].to_numpy(dtype=int) if found is not None and "label" in found else None
    if MODELS[model].needs_labels and (pos is None or y is None):
        raise ValueError(f"{model} is fitted on labels: pass --labels")
    started = time.perf_counter()
    m.fit(ds, pos, y)
    meta: dict[str, Any] = {
        "params": m.params,
        "data": _fingerprint(ds, found),
        "supervised": bool(m.supervised),
    }
    if pos is not None and y is not None:
        if m.oof_ is not None and m.oof_y_ is not None:
            # judged on the wallets it fitted: at most max_train of the labelled ones
            oof, oof_y = m.oof_, m.oof_y_
            meta["metrics"] = {"out_of_fold": _strip(anomaly_metrics(oof, oof >= 0.5, oof_y))}
        else:
            result = m.predict_result(ds)
            meta["metrics"] = {"training": _strip(anomaly_metrics(result.score[pos], result.flagged[pos], y))}
    meta["seconds"] = round(time.perf_counter() - started, 3)
    importances = m.importances()
    if importances is not None:
        imp = sorted(importances.items(), key=lambda kv: -kv[1])[:20]
        meta["importance"] = {k: round(v, 5) for k, v in imp}
    return m, meta


def fit_typology(
    ds: Dataset, labels: pd.DataFrame | str | Path | None = None, evaluate: bool = True, **params: Any
) -> tuple[TypologyModel, dict[str, Any]]:
    eligible = eligible_wallets(ds.graph.wallets, ds.features)
    truth = None
    frame = read_labels(labels) if isinstance(labels, (str, Path)) else labels
    if frame is not None and all(a in frame for a in AXES):
        pos, found = label_positions(ds, frame)
        keep = np.isin(pos, eligible)
        eligible, truth = pos[keep], found[keep][list(AXES)]
    started = time.perf_counter()
    model = TypologyModel(**params).fit(ds.features, eligible, truth, evaluate=evaluate)
    meta = {
        "params": model.params,
        "data": _fingerprint(ds, None),
        "source": model.source_,
        "trained_on": int(len(eligible)),
        "metrics": model.evaluation_,
        "seconds": round(time.perf_counter() - started, 3),
    }
    return model, meta


def fit_clusters(ds: Dataset, **params: Any) -> tuple[ClusterModel, dict[str, Any]]:
    started = time.perf_counter()
    rows = eligible_wallets(ds.graph.wallets, ds.features)
    model = ClusterModel(**params).fit(ds.features, rows if len(rows) else None)
    meta = {
        "params": model.params,
        "data": _fingerprint(ds, None),
        "k": model.k_,
        "metrics": {"silhouette": model.silhouettes_},
        "profiles": model.profiles_,
        "map": model.map_,
        "seconds": round(time.perf_counter() - started, 3),
    }
    return model, meta


@contextmanager
def few_collections() -> Iterator[None]:
    """The cyclic garbage collector held off for a run: a run allocates millions of long-lived
    objects (lists, strings) and each collection walked them again; on tedge that was a third of
    a scoring (8.0 s against 5.8 s). Collections resume at the end."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


async def train(
    store: GraphStore,
    registry: Registry,
    what: str,
    model: str = DEFAULT_ANOMALY,
    labels: str | Path | None = None,
    ds: Dataset | None = None,
    **params: Any,
) -> Artifact:
    with few_collections():
        return await _train(store, registry, what, model, labels, ds, **params)


async def _train(
    store: GraphStore,
    registry: Registry,
    what: str,
    model: str,
    labels: str | Path | None,
    ds: Dataset | None,
    **params: Any,
) -> Artifact:
    ds = ds or await dataset(store)
    log.info(
        "fitting %s (%s) on %d wallets ...", what, model if what == "anomaly" else what, len(ds.addresses)
    )
    if what == "anomaly":
        obj, meta = fit_anomaly(ds, model, labels, **params)
        return registry.save(model, obj, meta)
    if what == "typology":
        obj, meta = fit_typology(ds, labels, **params)
        return registry.save("typology", obj, meta)
    if what == "clusters":
        obj, meta = fit_clusters(ds, **params)
        return registry.save("clusters", obj, meta)
    raise ValueError(f"nothing to train called {what!r}: anomaly, typology or clusters")


# ---- scoring -----------------------------------------------------------------------------
@dataclass
class ScoreRun:
    frame: pd.DataFrame  # address, anomaly_score, rank, flagged (+ typology, cluster when scored)
    model: str
    version: str
    timer: Timer
    trained: list[str] = field(default_factory=list)  # models fitted on the spot (none was active)
    columns: dict[str, Any] = field(default_factory=dict)  # what was written, by result column


def _active_or_fit(registry: Registry, name: str, fit: Any) -> tuple[Artifact, bool]:
    if registry.active(name):
        return registry.load(name), False
    obj, meta = fit()
    art = registry.save(name, obj, meta)
    return Artifact(art.model, art.version, art.path, art.metadata, obj), True


async def score(
    store: GraphStore,
    registry: Registry,
    model: str = DEFAULT_ANOMALY,
    write: bool = True,
    typology: bool = True,
    clusters: bool = True,
    ds: Dataset | None = None,
    timer: Timer | None = None,
    growth: bool = True,
) -> ScoreRun:
    """Score every wallet with the active version of `model` (a label-free aidrop model is fitted
    and registered when none is active; mpocryptoml must be trained with labels first), plus
    typology and clusters (fitted from behaviour when not trained), and write them back."""
    with few_collections():
        return await _score(store, registry, model, write, typology, clusters, ds, timer, growth)


async def _score(
    store: GraphStore,
    registry: Registry,
    model: str,
    write: bool,
    typology: bool,
    clusters: bool,
    ds: Dataset | None,
    timer: Timer | None,
    growth: bool = True,
) -> ScoreRun:
    timer = timer or Timer()
    started = time.time()  # sub-second, as ingestion notes its writes (graph/activity.py)
    ds = ds or await dataset(store, timer)
    trained: list[str] = []
    if MODELS[model].needs_labels and not registry.active(model):
        registry.metadata(model)  # raises NotFound: train it with labels first
    with timer.stage("anomaly"):
        art, fitted = _active_or_fit(registry, model, lambda: fit_anomaly(ds, model))
        trained += [model] if fitted else []
        result: AnomalyResult = art.obj.predict_result(ds)
    frame = pd.DataFrame(
        {
            "address": ds.addresses,
            "anomaly_score": result.score,
            "rank": result.rank,
            "flagged": result.flagged,
        }
    )
    columns: dict[str, Any] = {
        "address": frame["address"].tolist(),
        "score": [float(v) for v in result.score],
        "rank": [int(v) for v in result.rank],
        "flagged": [bool(v) for v in result.flagged],
        "explanation": result.explanation,
        "model": model,
        "version": art.version,
        "ppr": [float(v) for v in ds.features["ppr"]],
    }
    if typology:
        with timer.stage("typology"):
            typ, fitted = _active_or_fit(registry, "typology", lambda: fit_typology(ds, evaluate=False))
            trained += ["typology"] if fitted else []
            eligible = eligible_wallets(ds.graph.wallets, ds.features)
            pred = typ.obj.predict(ds.features, eligible)
            code = np.full(ds.n, None, dtype=object)
            code[eligible] = pred["code"]
            axes, expl = np.full(ds.n, None, dtype=object), np.full(ds.n, None, dtype=object)
            axes[eligible] = to_json(pred["axes"])
            expl[eligible] = pred["explanation"]
            frame["typology"] = code
            columns.update(
                code=code.tolist(),
                axes=axes.tolist(),
                typology_explanation=expl.tolist(),
                typology_version=typ.version,
            )
    if clusters:
        with timer.stage("clusters"):
            clu, fitted = _active_or_fit(registry, "clusters", lambda: fit_clusters(ds))
            trained += ["clusters"] if fitted else []
            labels = clu.obj.predict(ds.features)
            frame["cluster"] = labels
            columns.update(cluster=[int(c) for c in labels], cluster_version=clu.version)
    growth_columns: dict[str, Any] | None = None
    if growth:
        with timer.stage("growth"):
            growth_columns, fitted = _growth(ds, registry)
            trained += fitted
            frame["churn_risk"] = growth_columns["churn_risk"]
    if write:
        with timer.stage("write-back"):  # with the activity summary marketing's filters read
            summary = summarize(ds.graph)
            columns.update(summary)
            await _write(store, columns, typology, clusters, ds)
        with timer.stage("patterns"):  # the laundering evidence behind the label-free score
            await write_patterns(store, ds.graph, ds.laundering())
            registry.save_evaluation("patterns", examples(ds.graph, ds.laundering()))  # for the report
        with timer.stage("write-back"):
            await note_activity(store, status_of(ds.graph, summary, started))
            if growth_columns is not None:
                await graph_scores.write_growth(store, {"address": columns["address"], **growth_columns})
    return ScoreRun(frame, model, art.version, timer, trained, columns)


async def _write(
    store: GraphStore, columns: dict[str, Any], typology: bool, clusters: bool, ds: Dataset
) -> None:
    if typology and clusters:
        await graph_scores.write_results(store, columns)
        return
    await write_activity(store, ds.graph, {k: columns[k] for k in ACTIVITY_COLUMNS})
    keys = ("address", "score", "rank", "flagged", "explanation", "model", "version")
    await graph_scores.write_anomaly(store, {k: columns[k] for k in keys})
    await graph_scores.write_ppr(store, {k: columns[k] for k in ("address", "ppr")})
    if typology:
        await graph_scores.write_typology(
            store,
            {
                "address": columns["address"],
                "code": columns["code"],
                "axes": columns["axes"],
                "explanation": columns["typology_explanation"],
                "version": columns["typology_version"],
            },
        )
    if clusters:
        await graph_scores.write_clusters(
            store,
            {
                "address": columns["address"],
                "cluster": columns["cluster"],
                "version": columns["cluster_version"],
            },
        )


def _growth(ds: Dataset, registry: Registry) -> tuple[dict[str, Any], list[str]]:
    """Dormancy risk and category propensity at the last transfer (ml/growth/), fitted on the
    spot when no version is active; nothing where the chain is too short to learn them."""
    from ml.growth.ops import score_growth
    from ml.growth.timeline import Timeline
    from ml.growth.train import InsufficientHistory

    try:
        return score_growth(Timeline(ds.graph), registry)
    except InsufficientHistory:
        return {"churn_risk": [None] * ds.n, "expected_active_days": [None] * ds.n,
                "propensity": [None] * ds.n, "growth_version": ""}, []  # fmt: skip


def _strip(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metrics.items() if k != "roc"}
