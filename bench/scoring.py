"""The wallet-intelligence pipeline, stage by stage, on the tedge graph (106k wallet pairs) and on
about 1M synthetic transfers: read, features + PPR, clusters, typology, anomaly, write-back;
first with every model fitted on the spot (label-free), then scoring with the fitted models.
Also, on the same graph in the same run: PPR in the database (Cypher power iteration and push)
against scipy on the pulled transfers, and fan-in/fan-out in the database against pandas.
Each data set runs in its own process (peak RSS per data set).

.venv/bin/python bench/scoring.py [--only tedge|synth] [--wallets 27000 --days 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path[0] = str(Path(__file__).resolve().parents[1])

from bench.common import embedded, peak_rss_mb, table  # noqa: E402
from graph.falkor import FalkorStore  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TEDGE = ROOT.parent / "shared" / "datasets" / "tedge-phishing"


async def _load(store: FalkorStore, name: str, args: argparse.Namespace, work: Path) -> dict:
    from ingest.load import ingest_edges, ingest_etl
    from ingest.synth import generate

    started = time.perf_counter()
    if name == "tedge":
        await ingest_edges(store, [TEDGE / "edges.csv"])
    else:
        generate(work / "synth", args.wallets, args.days, seed=1, progress=False)
        await ingest_etl(store, [work / "synth"])
    stats = await store.stats()
    return {"wallets": stats.wallets, "transfers": stats.transfers, "load_s": time.perf_counter() - started}


async def one(name: str, args: argparse.Namespace) -> dict:
    from graph.features import fan_aggregates
    from graph.ppr import graph_ppr
    from ml.features import compute_features
    from ml.pipeline import Timer, dataset, score
    from ml.ppr import personalized_pagerank, source_restart
    from ml.registry import Registry

    out: dict = {"data": name}
    with embedded() as server, tempfile.TemporaryDirectory(prefix="aidrop-bench-") as tmp:
        store = FalkorStore(server.graph_url, name)
        out.update(await _load(store, name, args, Path(tmp)))
        registry = Registry(Path(tmp) / "data")

        # 1. the whole pipeline, every model fitted on the spot (no model was trained)
        timer = Timer()
        started = time.perf_counter()
        first = await score(store, registry, timer=timer)
        out["fit_and_score"] = {
            **{k: round(v, 2) for k, v in timer.stages.items()},
            "total": round(time.perf_counter() - started, 2),
        }
        out["trained"] = first.trained

        # 2. scoring with the fitted models (what `aidrop score` does once models exist)
        timer = Timer()
        started = time.perf_counter()
        await score(store, registry, timer=timer)
        out["score"] = {
            **{k: round(v, 2) for k, v in timer.stages.items()},
            "total": round(time.perf_counter() - started, 2),
        }

        # 3. PPR: in the database against scipy over the pulled transfers, same graph, same run
        timer = Timer()
        ds = await dataset(store, timer)
        e = ds.graph.edges
        src, dst, w = e["src"].to_numpy(), e["dst"].to_numpy(), e["tx_count"].to_numpy(float)
        started = time.perf_counter()
        ref = personalized_pagerank(
            src, dst, w, ds.n, source_restart(src, dst, ds.n), 0.5, tol=1e-14, max_iter=500
        )
        scipy_s = time.perf_counter() - started
        addresses = ds.graph.wallets["address"].tolist()
        ppr = {
            "read graph (pull transfers)": round(timer.stages["read graph"], 2),
            "scipy on pulled transfers": round(scipy_s, 3),
        }
        for method, eps in (("push", 1e-6), ("power", None)):
            started = time.perf_counter()
            run = await graph_ppr(store, method=method, **({"eps": eps} if eps else {}))
            seconds = time.perf_counter() - started
            got = np.array([run.scores.get(a, 0.0) for a in addresses])
            ppr[f"cypher {method}"] = {
                "s": round(seconds, 2),
                "rounds": run.iterations,
                "max_abs_diff": float(np.abs(got - ref).max()),
            }
        out["ppr"] = ppr

        # 4. fan-in / fan-out: database aggregates against the same from the pulled transfers
        started = time.perf_counter()
        await fan_aggregates(store)
        db_s = time.perf_counter() - started
        started = time.perf_counter()
        compute_features(ds.graph)
        out["fan"] = {
            "database (2 statements)": round(db_s, 2),
            "all features from pulled transfers": round(time.perf_counter() - started, 2),
        }
        await store.close()
    out["peak_rss_mb"] = round(peak_rss_mb())
    out["load_average"] = [round(x, 2) for x in os.getloadavg()]
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=["tedge", "synth"])
    parser.add_argument("--wallets", type=int, default=27_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if args.only:
        print(json.dumps(asyncio.run(one(args.only, args))))
        return
    results = []
    for name in ("tedge", "synth"):
        if name == "tedge" and not (TEDGE / "edges.csv").exists():
            print(f"skipping tedge: {TEDGE} is not here", file=sys.stderr)
            continue
        cmd = [
            sys.executable,
            __file__,
            "--only",
            name,
            "--wallets",
            str(args.wallets),
            "--days",
            str(args.days),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    stages = ["read graph", "features + ppr", "anomaly", "typology", "clusters", "write-back", "total"]
    rows = []
    for r in results:
        for kind in ("fit_and_score", "score"):
            rows.append((f"{r['data']} {kind}", *(r[kind].get(s, "-") for s in stages), r["peak_rss_mb"]))
    print(table(rows, ("run", *stages, "peak RSS MB")))
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
