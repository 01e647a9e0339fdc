"""Two versions of the laundering detector side by side on bench/amlsim.py chains, in memory (no
database): recall of the launderers in the top K (K = their number) overall and per typology, and
how many services (exchanges, router, payrolls, airdrop, merchant) reach the top K, per seed and
as the mean over seeds. The earlier version is ml/laundering/detect.py at a git revision
(bench/RESULTS.md ## laundering). Wallets are ranked by the detector's evidence alone (the
label-free score's fallback for wallets without evidence, the collector heuristic, is left out:
bench/laundering.py measures the whole score through FalkorDB).

.venv/bin/python bench/laundering_compare.py --before b26a38e --settings default,wide,dense --seeds 1,2,3

`--generator synth` does the same on `aidrop synth` chains (ingest/synth, aidrop's own generator:
eight typologies) read straight from their CSV files (bench/sybil.py graph_from_csv), judged on
the wallets of labels.csv (contracts and tokens are not ranked). Nothing in the detector is fitted,
so each typology's recall is a leave-one-typology-out figure; `alone` is its recall@K_t with the
other typologies' launderers left out of the ranking (K_t = its own number):

nice -n 10 .venv/bin/python bench/laundering_compare.py --before 3bbe0f4 --generator synth \
    --wallets 20000 --days 120 --seeds 1,2,3 --work /tmp/synth
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)

from bench.amlsim import SETTINGS, Setting, generate  # noqa: E402
from graph.features import WalletGraph  # noqa: E402
from ml.evaluate import recovery_at_k  # noqa: E402

Mask = np.ndarray
KINDS = ("fan_in", "fan_out", "cycle", "scatter_gather", "bipartite", "peel")


def _module(revision: str, folder: Path):  # noqa: ANN202
    """ml/laundering/detect.py as it was at `revision`, importable beside the current one."""
    text = subprocess.run(["git", "show", f"{revision}:ml/laundering/detect.py"], cwd=ROOT,
                          check=True, capture_output=True, text=True).stdout  # fmt: skip
    path = folder / f"detect_{revision}.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location(f"detect_{revision}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _graph(setting: Setting, seed: int) -> tuple[WalletGraph, np.ndarray]:
    frame, typology = generate(setting, seed)
    n = len(typology)
    wallets = pd.DataFrame({"address": [f"0x{i + 1:040x}" for i in range(n)], "contract": False,
                            "token": False, "nft": False})  # fmt: skip
    edges = pd.DataFrame({"src": frame["src"].to_numpy(), "dst": frame["dst"].to_numpy(),
                          "ts": frame["ts"].to_numpy(), "value": frame["value"].to_numpy(),
                          "token": 0, "tx_count": 1, "fee": 0.0})  # fmt: skip
    return WalletGraph(wallets, edges, ["ETH"]), typology


def judge(score: np.ndarray, typology: np.ndarray, accounts: int) -> dict:
    positive = typology != ""
    rec = recovery_at_k(score, positive, typology)
    top = np.argsort(-score, kind="stable")[: rec["k"]]
    return {"all": round(rec["recovered"], 3),
            **{k: round(v["recovered"], 3) for k, v in rec["per_group"].items()},
            "services in top K": int((top >= accounts).sum())}  # fmt: skip


def _synth_graph(folder: Path, wallets: int, days: int, seed: int) -> tuple[WalletGraph, np.ndarray, Mask]:
    """An `aidrop synth` chain (generated into `folder` unless there), its graph in memory, the
    laundering typology per graph wallet ("" = normal) and which graph wallets are labelled."""
    from bench.sybil import graph_from_csv
    from ingest.synth import generate as synth

    cached = folder / "graph.pkl"  # the CSVs take minutes to read: kept for another run
    if cached.exists():
        graph = pd.read_pickle(cached)
    else:
        if not (folder / "transactions.csv").exists():
            synth(folder, wallets, days, seed=seed, progress=False)
        graph = graph_from_csv(folder)
        graph.edges["tx_count"] = 1
        graph.edges["fee"] = 0.0
        graph.wallets["nft"] = False  # NFT contracts are contracts (contracts.csv)
        pd.to_pickle(graph, cached)
    labels = pd.read_csv(folder / "labels.csv", usecols=["address", "laundering_type"], dtype=str,
                         keep_default_na=False)  # fmt: skip
    kind = dict(zip(labels["address"].str.lower(), labels["laundering_type"].str.strip(), strict=True))
    address = graph.wallets["address"].str.lower()
    labelled = address.isin(kind).to_numpy()
    typology = address.map(kind).fillna("").to_numpy(dtype=object)
    return graph, typology, labelled


def judge_alone(score: np.ndarray, typology: np.ndarray) -> dict:
    """Per typology t: its recall in the top K_t (its own number) of t's launderers and the normal
    wallets, the other typologies' launderers left out (one typology held out at a time)."""
    out = {}
    for t in sorted(set(typology[typology != ""].tolist())):
        keep = (typology == t) | (typology == "")
        out[t] = round(recovery_at_k(score[keep], typology[keep] == t, typology[keep])["recovered"], 3)
    return out


def run_synth(args: argparse.Namespace, versions: dict, out: dict) -> None:
    work = Path(args.work or tempfile.mkdtemp(prefix="synth-"))
    means: dict = {}
    for seed in args.seeds:
        started = time.perf_counter()
        graph, typology, labelled = _synth_graph(work / f"synth-{seed}", args.wallets, args.days, seed)
        print(f"seed {seed}: {len(graph.edges):,} transfers read in {time.perf_counter() - started:.0f} s",
              file=sys.stderr, flush=True)  # fmt: skip
        kinds = typology[labelled]
        for label, module in versions.items():
            started = time.perf_counter()
            det = module.detect(graph)
            score = det.wallet_score[labelled]
            rec = recovery_at_k(score, kinds != "", kinds)
            row = {"generator": "synth", "seed": seed, "detector": label, "transfers": len(graph.edges),
                   "launderers": rec["k"], "seconds": round(time.perf_counter() - started, 2),
                   "all": round(rec["recovered"], 3),
                   **{k: round(v["recovered"], 3) for k, v in rec["per_group"].items()},
                   "alone": judge_alone(score, kinds)}  # fmt: skip
            out["runs"].append(row)
            means.setdefault(label, []).append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
        del graph
    groups = sorted({k for rows in means.values() for r in rows for k in r["alone"]})
    out["mean"] = [
        {
            "generator": "synth",
            "detector": label,
            "all": round(float(np.mean([r["all"] for r in rows])), 3),
            "all range": [min(r["all"] for r in rows), max(r["all"] for r in rows)],
            **{k: round(float(np.mean([r.get(k, 0.0) for r in rows])), 3) for k in groups},
            "alone": {k: round(float(np.mean([r["alone"][k] for r in rows])), 3) for k in groups},
            "alone min": {k: min(r["alone"][k] for r in rows) for k in groups},
        }  # fmt: skip
        for label, rows in means.items()
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", required=True, help="git revision of the earlier detector")
    parser.add_argument("--settings", default="default,wide,dense")
    parser.add_argument("--seeds", type=lambda t: [int(x) for x in t.split(",")], default=[1, 2, 3])
    parser.add_argument("--per-day", type=float, default=0.3)
    parser.add_argument("--generator", choices=["amlsim", "synth"], default="amlsim")
    parser.add_argument("--wallets", type=int, default=20_000, help="synth: wallets")
    parser.add_argument("--days", type=int, default=120, help="synth: days")
    parser.add_argument("--work", help="synth: folder to keep (and reuse) the chains in")
    args = parser.parse_args()
    from ml.laundering import detect as current

    out: dict = {"load_average_start": [round(x, 2) for x in os.getloadavg()], "runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        versions = {f"before ({args.before})": _module(args.before, Path(tmp)), "now": current}
        means: dict = {}
        if args.generator == "synth":
            run_synth(args, versions, out)
        for name in args.settings.split(",") if args.generator == "amlsim" else []:
            setting = Setting(**{"per_day": args.per_day, **SETTINGS[name]})
            for seed in args.seeds:
                graph, typology = _graph(setting, seed)
                for label, module in versions.items():
                    started = time.perf_counter()
                    det = module.detect(graph)
                    row = {"setting": name, "seed": seed, "detector": label,
                           "seconds": round(time.perf_counter() - started, 2),
                           **judge(det.wallet_score, typology, setting.accounts)}  # fmt: skip
                    out["runs"].append(row)
                    means.setdefault((name, label), []).append(row)
                    print(json.dumps(row), file=sys.stderr, flush=True)
        out["mean"] = out.get("mean", []) + [
            {
                "setting": name,
                "detector": label,
                **{
                    k: round(float(np.mean([r.get(k, 0.0) for r in rows])), 3)
                    for k in ("all", *KINDS, "services in top K")
                },
            }  # fmt: skip
            for (name, label), rows in means.items()
        ]
    out["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
