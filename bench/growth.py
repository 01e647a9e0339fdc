"""Growth models (issue 17) by time, with their baselines in the same run:

- synthetic: `aidrop synth --lifecycle` chains (default 20,000 wallets x 180 days, seeds 1-3),
  loaded into an embedded FalkorDB and judged exactly as `aidrop evaluate churn` and
  `aidrop evaluate propensity --category C` do (T2 = last day - 30, T1 = T2 - 30);
- real: the xblock-phishing transactions (no target; the method's figures on real data);
- scoring: `aidrop score` on about 1M synthetic transfers with and without the growth models.

.venv/bin/python bench/growth.py [--only synth|xblock|scoring] [--wallets 20000 --days 180 --seeds 1,2,3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path[0] = str(Path(__file__).resolve().parents[1])

from bench.common import embedded, load_average, table  # noqa: E402
from graph.falkor import FalkorStore  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
XBLOCK = ROOT.parent / "shared" / "datasets" / "xblock-phishing"
CATEGORIES = ("DeFi", "NFT", "Gaming", "Social")


def _row(name: str, r: dict) -> dict:
    m, b = r["model"], r["baseline"]
    return {
        "task": name,
        "n": m["n"],
        "base_rate": m["base_rate"],
        "auc": m["auc"],
        "auc_baseline": b["auc"],
        "top_precision": m["top_decile_precision"],
        "top_precision_baseline": b["top_decile_precision"],
        "top_lift": m["top_decile_lift"],
        "top_lift_baseline": b["top_decile_lift"],
        "ece": m["ece"],
        "ece_baseline": b["ece"],
        "seconds": r["seconds"],
    }


async def _judge(store: FalkorStore, contracts: list[str] | None = None) -> list[dict]:
    from graph.features import load_wallet_graph
    from ml.growth.evaluate import evaluate_churn, evaluate_propensity
    from ml.growth.timeline import Timeline

    graph = await load_wallet_graph(store)
    tl = Timeline(graph)
    rows = [_row("churn", evaluate_churn(graph, tl=tl))]
    if contracts is not None:
        rows.append(
            _row("propensity (10 busiest receivers)", evaluate_propensity(graph, contracts=contracts, tl=tl))
        )
    for c in (c for c in CATEGORIES if c in tl.categories):
        rows.append(_row(f"propensity {c}", evaluate_propensity(graph, category=c, tl=tl)))
    return rows


async def synthetic(args: argparse.Namespace) -> list[dict]:
    from ingest.load import ingest_etl
    from ingest.synth import LifecycleParams, generate

    out = []
    for seed in args.seeds:
        with embedded() as server, tempfile.TemporaryDirectory(prefix="aidrop-growth-") as tmp:
            started = time.perf_counter()
            summary = generate(Path(tmp) / "s", args.wallets, args.days, seed=seed,
                               lifecycle=LifecycleParams(), progress=False)  # fmt: skip
            store = FalkorStore(server.graph_url, f"growth{seed}")
            await ingest_etl(store, [Path(tmp) / "s"])
            load = time.perf_counter() - started
            rows = await _judge(store)
            await store.close()
        for r in rows:
            r.update(seed=seed, transfers=summary.transfers, load_s=round(load, 1))
            print(json.dumps(r), flush=True)
        out += rows
    return out


async def xblock() -> list[dict]:
    import pandas as pd

    from ingest.load import ingest_etl

    tx = pd.read_csv(XBLOCK / "transactions.csv", usecols=["from_address", "to_address"], dtype=str)
    senders = tx.dropna().drop_duplicates().groupby("to_address").size()
    busiest = senders.sort_values(ascending=False).index[:10].tolist()
    with embedded() as server:
        store = FalkorStore(server.graph_url, "xblock")
        await ingest_etl(store, [XBLOCK])
        rows = await _judge(store, busiest)
        await store.close()
    for r in rows:
        r["data"] = "xblock"
        print(json.dumps(r), flush=True)
    return rows


def _summary(rows: list[dict]) -> str:
    by: dict[str, list[dict]] = {}
    for r in rows:
        by.setdefault(r["task"], []).append(r)
    lines = []
    for task, rs in by.items():

        def stat(key: str, rs: list[dict] = rs) -> str:
            v = np.array([r[key] for r in rs if r[key] is not None], dtype=float)
            return f"{v.mean():.3f} [{v.min():.3f}-{v.max():.3f}]" if len(v) else "-"

        ratio = np.array([r["top_precision"] / r["top_precision_baseline"] for r in rs
                          if r["top_precision_baseline"]])  # fmt: skip
        lines.append((task, len(rs), stat("base_rate"), stat("auc"), stat("auc_baseline"),
                      stat("top_precision"), stat("top_precision_baseline"), stat("top_lift"),
                      stat("top_lift_baseline"),
                      f"{ratio.mean():.2f} [{ratio.min():.2f}-{ratio.max():.2f}]" if len(ratio) else "-",
                      stat("ece")))  # fmt: skip
    head = ("task", "runs", "base rate", "AUC", "AUC base", "top-10% prec", "base", "top-10% lift", "base",
            "top ratio", "ECE")  # fmt: skip
    return table(lines, head)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=["synth", "xblock"], default=None)
    ap.add_argument("--wallets", type=int, default=20_000)
    ap.add_argument("--days", type=int, default=180)
    ap.add_argument("--seeds", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2, 3])
    args = ap.parse_args()
    print(f"load before: {load_average()}", flush=True)
    if args.only in (None, "synth"):
        rows = asyncio.run(synthetic(args))
        print(f"synthetic {args.wallets:,} wallets x {args.days} days, seeds {args.seeds}")
        print(_summary(rows))
    if args.only in (None, "xblock") and XBLOCK.exists():
        print("xblock-phishing (real, no target)")
        print(_summary(asyncio.run(xblock())))
    print(f"load after: {load_average()}", flush=True)


if __name__ == "__main__":
    main()
