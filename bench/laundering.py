"""Label-free laundering detection judged on chains it never saw (issue 14; bench/RESULTS.md
## laundering). Nothing here is fitted: the detector's parameters are fixed in ml/laundering
with their reasons, so every chain is held out. Per run: recall of the launderers in the top K
(K = their number), overall and per typology, for the label-free aidrop score and plain
baselines in the same run (incoming value, degree, the earlier collector heuristic), AUC, the
detector's time, and how many busy services (exchanges, routers, payrolls, airdrops) reach the
top K.

.venv/bin/python bench/laundering.py --generator amlsim --seeds 1,2,3 [--accounts 5000 --days 90]
.venv/bin/python bench/laundering.py --generator amlsim --seeds 1,2,3 --setting wide   # held out
.venv/bin/python bench/laundering.py --generator synth --seeds 1,2,3 --wallets 20000 --days 120
.venv/bin/python bench/laundering.py --generator demo          # aidrop demo chain: AUC
.venv/bin/python bench/laundering.py --generator tedge         # label-free AUC, phishing labels
.venv/bin/python bench/laundering.py --generator timing --accounts 20000 --per-day 0.5   # ~1M transfers
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


def recall_at_k(score: np.ndarray, y: np.ndarray, kinds: np.ndarray) -> dict:
    from ml.evaluate import recovery_at_k

    rec = recovery_at_k(score, y == 1, kinds)
    return {
        "all": round(rec["recovered"], 3),
        **{k: round(v["recovered"], 3) for k, v in rec["per_group"].items()},
    }


async def judge(store: FalkorStore, labels: Path, busy: set[str] | None = None) -> dict:
    from sklearn.metrics import roc_auc_score

    from ml.anomaly.aidrop import AidropAnomaly
    from ml.dataset import label_positions, read_labels
    from ml.pipeline import dataset

    ds = await dataset(store)
    pos, found = label_positions(ds, read_labels(labels))
    y = np.zeros(ds.n, dtype=int)
    y[pos] = found["label"].to_numpy(dtype=int)
    kinds = np.full(ds.n, "", dtype=object)
    if "kind" in found:
        kinds[pos] = np.where(y[pos] == 1, found["kind"].to_numpy(dtype=object), "")
    if os.environ.get("AIDROP_BENCH_DUMP"):  # the graph and truth, to study without a database
        import joblib

        joblib.dump((ds.graph, y, kinds), os.environ["AIDROP_BENCH_DUMP"])
    started = time.perf_counter()
    det = ds.laundering()
    seconds = time.perf_counter() - started
    model = AidropAnomaly().fit(ds)
    f = ds.features
    runs = {
        "aidrop label-free (evidence)": model.predict_result(ds, explain=False).score,
        "incoming value alone": f["in_value"].to_numpy(float),
        "degree alone": (f["in_degree"] + f["out_degree"]).to_numpy(float),
        "collector heuristic (before)": model._collector(ds).score,
    }
    labelled = np.zeros(ds.n, bool)
    labelled[pos] = True
    out: dict = {
        "wallets": ds.n,
        "transfers": len(ds.graph.edges),
        "launderers": int(y.sum()),
        "patterns": len(det.patterns),
        "detector seconds": round(seconds, 2),
    }
    for name, score in runs.items():
        score = np.nan_to_num(np.asarray(score, float))
        row = {"auc": round(float(roc_auc_score(y[labelled], score[labelled])), 4)}
        if len(set(kinds[y == 1].tolist())) > 0:
            row["recall@K"] = recall_at_k(score, y, kinds)
        if busy:
            k = int(y.sum())
            top = set(ds.addresses[np.argsort(-score, kind="stable")[:k]].tolist())
            row["services in top K"] = len(top & busy)
        out[name] = row
    return out


def _setting(args: argparse.Namespace):  # noqa: ANN202
    """bench/amlsim.py's Setting from the flags, a named setting's values over them."""
    from bench.amlsim import SETTINGS, Setting

    base = {"accounts": args.accounts, "days": args.days, "per_day": args.per_day, "share": args.share}
    return Setting(**{**base, **SETTINGS[args.setting]})


async def run_amlsim(server, seed: int, args: argparse.Namespace, work: Path) -> dict:
    from bench.amlsim import addresses, write
    from ingest.load import ingest_edges

    setting = _setting(args)
    folder = work / f"amlsim-{seed}"
    counts = write(folder, setting, seed)
    store = FalkorStore(server.graph_url, f"amlsim{seed}")
    await ingest_edges(store, [folder / "edges.csv"])
    addr = addresses(counts["accounts"], seed)
    busy = set(addr[setting.accounts :].tolist())  # exchanges, router, payrolls, airdrop, merchant
    result = await judge(store, folder / "labels.csv", busy)
    await store.close()
    return {"seed": seed, "setting": setting.__dict__, **result}


async def run_synth(server, seed: int, args: argparse.Namespace, work: Path) -> dict:
    from ingest.load import ingest_etl
    from ingest.synth import generate

    folder = work / f"synth-{seed}"
    generate(folder, args.wallets, args.days, seed=seed, progress=False)
    store = FalkorStore(server.graph_url, f"synth{seed}")
    await ingest_etl(store, [folder])
    result = await judge(store, folder / "labels.csv")
    await store.close()
    return {"seed": seed, "wallets": args.wallets, "days": args.days, **result}


async def run_demo(server, work: Path) -> dict:
    from ingest.load import ingest_etl
    from ingest.synth import generate

    folder = work / "demo"
    generate(folder, 5000, 30, 7, campaign=True, progress=False)  # what `aidrop demo` makes
    store = FalkorStore(server.graph_url, "demo")
    await ingest_etl(store, [folder])
    result = await judge(store, folder / "labels.csv")
    await store.close()
    return result


async def run_tedge(server) -> dict:
    from ingest.load import ingest_edges

    store = FalkorStore(server.graph_url, "tedge")
    await ingest_edges(store, [TEDGE / "edges.csv"])
    result = await judge(store, TEDGE / "labels_train.csv")
    await store.close()
    return result


async def run_timing(server, args: argparse.Namespace, work: Path) -> dict:
    """The detector over about a million transfers on FalkorDB: reading the transfers once
    (graph/features.py), detecting (ml/laundering), writing the patterns; against the existing
    motif features (ml/motifs.py) on the same arrays, in the same process."""
    from bench.amlsim import Setting, write
    from graph.features import load_wallet_graph
    from ingest.load import ingest_edges
    from ml.laundering.detect import detect
    from ml.laundering.evidence import write_patterns
    from ml.motifs import motif_features

    setting = Setting(accounts=args.accounts, days=args.days, per_day=args.per_day, share=args.share)
    counts = write(work / "timing", setting, 1)
    store = FalkorStore(server.graph_url, "timing")
    await ingest_edges(store, [work / "timing" / "edges.csv"])
    out: dict = {"transfers": counts["transfers"], "accounts": counts["accounts"]}
    started = time.perf_counter()
    graph = await load_wallet_graph(store)
    out["read transfers (s)"] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    det = detect(graph)
    out["detect (s)"] = round(time.perf_counter() - started, 2)
    out["patterns"] = len(det.patterns)
    started = time.perf_counter()
    await write_patterns(store, graph, det)
    out["write patterns (s)"] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    motif_features(graph)
    out["baseline: motif features (s)"] = round(time.perf_counter() - started, 2)
    out["total, read + detect + write (s)"] = round(
        out["read transfers (s)"] + out["detect (s)"] + out["write patterns (s)"], 2
    )
    await store.close()
    return out


async def main_async(args: argparse.Namespace) -> dict:
    results: dict = {"load_average_start": [round(x, 2) for x in os.getloadavg()], "runs": []}
    with embedded() as server, tempfile.TemporaryDirectory(prefix="aidrop-laundering-") as tmp:
        work = Path(tmp)
        if args.generator == "demo":
            results["runs"].append(await run_demo(server, work))
        elif args.generator == "tedge":
            results["runs"].append(await run_tedge(server))
        elif args.generator == "timing":
            results["runs"].append(await run_timing(server, args, work))
        else:
            for seed in args.seeds:
                run = run_amlsim if args.generator == "amlsim" else run_synth
                results["runs"].append(await run(server, seed, args, work))
                print(json.dumps(results["runs"][-1]), file=sys.stderr)
    results["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--generator", choices=["amlsim", "synth", "demo", "tedge", "timing"], default="amlsim"
    )
    parser.add_argument("--seeds", type=lambda t: [int(x) for x in t.split(",")], default=[1, 2, 3])
    parser.add_argument("--accounts", type=int, default=5000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--per-day", type=float, default=0.3)
    parser.add_argument("--share", type=float, default=0.03)
    parser.add_argument(
        "--setting",
        choices=["default", "dense", "wide"],
        default="default",
        help="a named bench/amlsim.py setting over the flags (dense: 3,000 x 1.0/day)",
    )
    parser.add_argument("--wallets", type=int, default=20000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = asyncio.run(main_async(args))
    text = json.dumps(results, indent=2, default=str)
    if args.json:
        args.json.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
