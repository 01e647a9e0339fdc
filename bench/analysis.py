"""One wallet's analysis after the graph changed: scored on its neighbourhood (ml/incremental.py)
against scoring the whole graph (what an analysis did before), in the same process.

A synthetic chain is bulk-loaded into a private embedded FalkorDB and scored once (models fitted);
then `--new` transfers are added among its wallets, so every wallet's stored scores are stale,
and `--wallets-analysed` wallets are analysed one by one (the busiest wallet first, then a random
draw). The baseline is one whole-graph scoring with the fitted models (`ml.pipeline.score`).

.venv/bin/python bench/analysis.py [--wallets 27000 --days 30 --new 2000 --wallets-analysed 30] [--json]
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


async def run(args: argparse.Namespace) -> dict:
    from bench.backends import _increment
    from graph.falkor import FalkorStore
    from graph.features import fan_aggregates, load_neighbourhood
    from ingest.load import ingest_etl
    from ingest.synth import generate
    from ml.analyzer import ModelAnalyzer
    from ml.pipeline import score
    from ml.registry import Registry

    out: dict = {"load_average_before": load_average()}
    with embedded() as server, tempfile.TemporaryDirectory(prefix="aidrop-bench-") as tmp:
        work = Path(tmp)
        store = FalkorStore(server.graph_url, "bench")
        await store.ensure_schema()
        print("generating and loading ...", file=sys.stderr, flush=True)
        generate(work / "synth", args.wallets, args.days, seed=1, progress=False)
        await ingest_etl(store, [work / "synth"])
        stats = await store.stats()
        out["graph"] = {"wallets": stats.wallets, "transfers": stats.transfers}
        registry = Registry(work / "data")
        print("first scoring (fits the models) ...", file=sys.stderr, flush=True)
        first = await score(store, registry)
        addresses = list(first.columns["address"])
        await store.write_transfers(_increment(args.new, addresses))

        fan = await fan_aggregates(store)
        busiest = str(fan.loc[(fan["in_degree"] + fan["out_degree"]).idxmax(), "address"])
        rng = np.random.default_rng(3)
        picked = [busiest, *(str(a) for a in rng.choice(addresses, args.wallets_analysed, replace=False))]
        analyzer = ModelAnalyzer(registry)
        seconds, sizes = [], []
        for i, address in enumerate(picked):
            wallet = (await store.wallets_by_address([address]))[address]
            started = time.perf_counter()
            await analyzer.analyze(store, wallet)
            seconds.append(time.perf_counter() - started)
            sizes.append(len((await load_neighbourhood(store, address)).edges))
            print(f"\ranalysed {i + 1}/{len(picked)}", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
        print("whole-graph scoring (the baseline) ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        await score(store, registry)
        out["whole_graph_s"] = time.perf_counter() - started
        s = np.array(seconds)
        out["analysis_s"] = {
            "p50": float(np.median(s)),
            "p95": float(np.quantile(s, 0.95)),
            "max": float(s.max()),
            "busiest": float(s[0]),
        }
        out["neighbourhood_transfers"] = {"median": float(np.median(sizes)), "max": int(max(sizes))}
        await store.close()
    out["load_average_after"] = load_average()
    return out


def report(r: dict) -> str:
    whole, a = r["whole_graph_s"], r["analysis_s"]
    rows = [
        ("whole-graph scoring (baseline)", f"{whole:.1f} s", "1.00"),
        ("one stale wallet, median", f"{a['p50']:.2f} s", f"{whole / a['p50']:.0f}x faster"),
        ("one stale wallet, p95", f"{a['p95']:.2f} s", f"{whole / a['p95']:.0f}x faster"),
        ("the busiest wallet", f"{a['busiest']:.2f} s", f"{whole / a['busiest']:.0f}x faster"),
    ]
    g, n = r["graph"], r["neighbourhood_transfers"]
    head = (
        f"{g['wallets']:,} wallets, {g['transfers']:,} transfers; neighbourhoods: median "
        f"{n['median']:,.0f} transfers, largest {n['max']:,}; load {r['load_average_before']} -> "
        f"{r['load_average_after']}"
    )
    return head + "\n" + table(rows, ("analysis after new transfers", "seconds", "ratio"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wallets", type=int, default=27_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--new", type=int, default=2_000, help="transfers added after the scoring")
    parser.add_argument("--wallets-analysed", type=int, default=30)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    print(json.dumps(result, indent=2) if args.json else report(result))


if __name__ == "__main__":
    main()
