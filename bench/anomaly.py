"""Anomaly and typology quality, for bench/RESULTS.md (## anomaly):

- tedge-phishing (train labels only): both models by 5-fold cross-validation, with and without
  absolute calendar time, and aidrop with no labels at all;
- a synthetic chain (known personas): typology accuracy per axis on held-out wallets, and the
  laundering accounts in the top K (K = their number) per typology, out of fold.

.venv/bin/python bench/anomaly.py [--only tedge|synth] [--wallets 3000 --days 365] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path[0] = str(Path(__file__).resolve().parents[1])

from bench.common import embedded  # noqa: E402
from graph.falkor import FalkorStore  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TEDGE = ROOT.parent / "shared" / "datasets" / "tedge-phishing"
KEYS = ("auc", "accuracy", "f1", "precision@20", "precision@50", "precision@100")


def _short(metrics: dict) -> dict:
    return {k: round(metrics[k], 4) for k in KEYS if metrics.get(k) is not None}


async def tedge(store: FalkorStore, folds: int, seed: int, repeat: list[int] | None = None) -> dict:
    from ingest.load import ingest_edges
    from ml.dataset import label_positions, read_labels
    from ml.evaluate import anomaly_metrics, cross_validate_anomaly, label_free_metrics
    from ml.pipeline import dataset

    await ingest_edges(store, [TEDGE / "edges.csv"])
    ds = await dataset(store)
    pos, found = label_positions(ds, read_labels(TEDGE / "labels_train.csv"))
    y = found["label"].to_numpy()
    out: dict = {"labelled": int(len(y)), "positives": int(y.sum()), "folds": folds, "seed": seed}
    for absolute in (False, True):
        key = "with absolute time" if absolute else "without absolute time"
        started = time.perf_counter()
        out[key] = {
            "aidrop": _short(
                cross_validate_anomaly(ds, pos, y, "aidrop", folds, seed, absolute_time=absolute)
            ),
            "mpocryptoml": _short(cross_validate_anomaly(ds, pos, y, "mpocryptoml", folds, seed)),
            "seconds": round(time.perf_counter() - started, 1),
        }
    if repeat:  # repeated cross-validation: one split's luck out of the figure
        runs = {s: cross_validate_anomaly(ds, pos, y, "aidrop", folds, s) for s in repeat}
        out["aidrop, repeated CV without absolute time"] = {
            **{
                f"seed {s}": {"auc": round(m["auc"], 4), "accuracy": round(m["accuracy"], 4)}
                for s, m in runs.items()
            },
            "mean": {k: round(float(np.mean([m[k] for m in runs.values()])), 4) for k in ("auc", "accuracy")},
        }
    out["label-free aidrop"] = _short(label_free_metrics(ds, pos, y))
    f = ds.features
    for name, values in (("in-degree alone", f["in_degree"]), ("ppr alone", f["ppr"])):
        out[name] = _short(anomaly_metrics(values.to_numpy()[pos], np.zeros(len(pos), bool), y))
    from sklearn.ensemble import IsolationForest

    from ml.context import log_scale
    from ml.features import feature_names

    x = log_scale(f[feature_names(False)]).to_numpy()
    iso = IsolationForest(n_estimators=200, random_state=seed).fit(x)
    out["isolation forest"] = _short(anomaly_metrics(-iso.score_samples(x)[pos], np.zeros(len(pos), bool), y))
    return out


async def synth(store: FalkorStore, wallets: int, days: int, folds: int, seed: int, work: Path) -> dict:
    from ingest.load import ingest_etl
    from ingest.synth import generate
    from ml.dataset import label_positions, read_labels
    from ml.evaluate import anomaly_metrics, out_of_fold, recovery_at_k
    from ml.models import make_model
    from ml.pipeline import dataset, fit_typology

    summary = generate(work / "synth", wallets, days, seed=seed, progress=False)
    await ingest_etl(store, [work / "synth"])
    ds = await dataset(store)
    labels = read_labels(work / "synth" / "labels.csv")
    out: dict = {
        "wallets": wallets,
        "days": days,
        "transfers": summary.transfers,
        "launderers": summary.launderers,
    }
    _, meta = fit_typology(ds, labels, seed=seed)
    out["typology held-out accuracy"] = {
        a: round(r["accuracy"], 4) for a, r in meta["metrics"]["axes"].items()
    }
    out["typology held-out wallets"] = {a: r["n_test"] for a, r in meta["metrics"]["axes"].items()}
    pos, found = label_positions(ds, labels)
    y, kinds = found["label"].to_numpy(), found["kind"].to_numpy(dtype=object)
    runs = {}
    for name in ("aidrop", "mpocryptoml"):
        score, flagged = out_of_fold(ds, pos, y, name, folds, seed)
        runs[name] = (score, flagged)
    free = make_model("aidrop")
    free.fit(ds)
    result = free.predict_result(ds, explain=False)
    runs["aidrop (label-free)"] = (result.score[pos], result.flagged[pos])
    for name, (score, flagged) in runs.items():
        rec = recovery_at_k(score, y == 1, kinds)
        out[name] = {
            **_short(anomaly_metrics(score, flagged, y)),
            "recovered in top K": round(rec["recovered"], 4),
            "per typology": {k: round(v["recovered"], 3) for k, v in rec["per_group"].items()},
        }
    return out


async def main_async(args: argparse.Namespace) -> dict:
    results: dict = {"load_average_start": [round(x, 2) for x in os.getloadavg()]}
    with embedded() as server, tempfile.TemporaryDirectory(prefix="aidrop-bench-") as tmp:
        if args.only in (None, "tedge") and (TEDGE / "edges.csv").exists():
            store = FalkorStore(server.graph_url, "tedge")
            results["tedge"] = await tedge(store, args.folds, args.seed, args.repeat_seeds)
            await store.close()
        if args.only in (None, "synth"):
            store = FalkorStore(server.graph_url, "synth")
            results["synth"] = await synth(store, args.wallets, args.days, args.folds, args.seed, Path(tmp))
            await store.close()
    results["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=["tedge", "synth"])
    parser.add_argument("--wallets", type=int, default=3000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--repeat-seeds",
        type=lambda t: [int(x) for x in t.split(",")],
        help="tedge: also repeated CV, e.g. 1,2,3",
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = asyncio.run(main_async(args))
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)


if __name__ == "__main__":
    main()
