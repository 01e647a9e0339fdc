"""Exposure of every wallet, and watch rules evaluated as follow mode ingests (issue 16).

    .venv/bin/python bench/exposure.py [--wallets 100000] [--days 28] [--repeat 2] [--check 300]
    AIDROP_DATA_DIR=... .venv/bin/python bench/exposure.py --existing [--folder SYNTH] [--only rules]

Steps: `aidrop synth` data bulk-loaded into a private embedded FalkorDB; labels: the laundering
rings' members as `laundering` (aidrop's derived category), 0.2% of the other wallets as
sanctioned, mixer, scam or hack, and the 20 wallets receiving from the most counterparties as
exchanges (tracing stops there); then, timed:

1. `refresh_exposure` (read every native transfer, propagate 3 hops, write onto the wallets),
   median of `--repeat`, with its parts; against the baseline in the same run: the per-wallet
   traversal a first implementation would do (each wallet's k-hop upstream and downstream, value
   proportional, in Python over adjacency dicts) for `--check` random wallets, extrapolated to
   all; the same wallets' shares must equal the vectorised ones.
2. Incremental rule evaluation: 1,000 watched wallets (rules any, value>1, labelled,
   exposure>0.1); 100 blocks of 100 transactions among the graph's wallets written with the MERGE
   path as follow mode does, and the monitor run on each block's transfers; its time per second of
   chain at 100 blocks/s against the write of the same transfers.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path[0] = str(Path(__file__).resolve().parents[1])  # the repo, not bench/

from bench.common import embedded, load_average, peak_rss_mb, table  # noqa: E402
from graph.exposure import read_transfers, risky_masks  # noqa: E402
from graph.falkor import FalkorStore  # noqa: E402
from graph.labels import Label, write_labels  # noqa: E402
from graph.model import NATIVE_TOKEN  # noqa: E402
from graph.store import GraphStore  # noqa: E402
from ingest.batch import transfer_frame  # noqa: E402
from ml.exposure import refresh_exposure  # noqa: E402

RISKY = ("sanctioned", "mixer", "scam", "hack")


def pick_labels(
    folder: Path, addresses: np.ndarray, src: np.ndarray, dst: np.ndarray, seed: int = 3
) -> list[Label]:
    lab = pd.read_csv(folder / "labels.csv", dtype=str, keep_default_na=False)
    out = [
        Label(a, "laundering ring", "laundering", "aidrop", 0.8)
        for a in lab.loc[lab["laundering_id"] != "", "address"]
    ]
    rng = np.random.default_rng(seed)
    taken = {x.address for x in out}
    others = np.asarray([a for a in addresses if a not in taken], dtype=object)
    for a in rng.choice(others, size=max(1, len(others) // 500), replace=False):
        out.append(Label(str(a), "bench risky", str(rng.choice(RISKY)), "bench", 1.0))
    fan_in = pd.Series(dst).groupby(dst).size()
    senders = pd.DataFrame({"src": src, "dst": dst}).drop_duplicates().groupby("dst").size()
    for pos in senders.sort_values(ascending=False).index[:20]:
        out.append(Label(str(addresses[pos]), "bench exchange", "exchange", "bench", 1.0))
    del fan_in
    return out


def per_wallet(
    addresses: np.ndarray,
    src: np.ndarray,
    dst: np.ndarray,
    value: np.ndarray,
    risky: np.ndarray,
    stop: np.ndarray,
    sample: np.ndarray,
    hops: int = 3,
) -> tuple[dict[int, float], dict[int, float]]:
    """The baseline: for each sampled wallet, its upstream (and downstream) k-hop share by recursion
    over adjacency dicts, memoised per (wallet, hops) like a careful first implementation."""
    pairs: dict[tuple[int, int], float] = defaultdict(float)
    for s, d, v in zip(src.tolist(), dst.tolist(), value.tolist(), strict=True):
        if v > 0 and s != d:
            pairs[(s, d)] += v
    ins: dict[int, list[tuple[int, float]]] = defaultdict(list)
    outs: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for (s, d), v in pairs.items():
        ins[d].append((s, v))
        outs[s].append((d, v))

    def share(adj: dict[int, list[tuple[int, float]]], w: int, h: int, memo: dict) -> float:
        if h == 0:
            return 0.0
        key = (w, h)
        if key in memo:
            return memo[key]
        total = sum(v for _, v in adj.get(w, ()))
        acc = 0.0
        for other, v in adj.get(w, ()):
            if risky[other]:
                acc += v
            elif not stop[other]:
                acc += v * share(adj, other, h - 1, memo)
        memo[key] = acc / total if total else 0.0
        return memo[key]

    memo_in: dict = {}
    memo_out: dict = {}
    got_in = {int(w): share(ins, int(w), hops, memo_in) for w in sample}
    got_out = {int(w): share(outs, int(w), hops, memo_out) for w in sample}
    return got_in, got_out


async def bench_exposure(store: GraphStore, repeat: int, check: int) -> list[tuple]:
    runs = []
    for _ in range(repeat):
        runs.append(await refresh_exposure(store))
    best = runs[-1]
    med = {k: statistics.median(r.seconds[k] for r in runs) for k in best.seconds}
    addresses, src, dst, value = await read_transfers(store)
    addresses, masks, stop = await risky_masks(store, addresses)
    risky = np.zeros(len(addresses), dtype=bool)
    for m in masks.values():
        risky |= m
    rng = np.random.default_rng(11)
    sample = rng.choice(len(addresses), size=min(check, len(addresses)), replace=False)
    t0 = time.perf_counter()
    got_in, got_out = per_wallet(addresses, src, dst, value, risky, stop, sample)
    t_base = time.perf_counter() - t0
    frame = best.frame.set_index("address")
    worst = 0.0
    for w in sample:
        row = frame.loc[addresses[w]]
        worst = max(
            worst,
            abs(row["direct_in"] + row["indirect_in"] - got_in[int(w)]),
            abs(row["direct_out"] + row["indirect_out"] - got_out[int(w)]),
        )
    if worst > 1e-6:
        raise SystemExit(f"vectorised and per-wallet exposure differ by {worst}")
    extrapolated = t_base / len(sample) * len(addresses)
    print(
        f"exposure: {best.wallets:,} wallets, {best.transfers:,} native transfers, {best.risky:,} risky, "
        f"{best.exposed:,} exposed or risky; per-wallet check of {len(sample)} wallets: "
        f"max difference {worst:.1e}"
    )
    return [
        (
            "exposure, every wallet (read + 3 hops + write)",
            f"**{med['total']:.1f} s**",
            f"{extrapolated:,.0f} s",
            f"{extrapolated / med['total']:,.0f}x",
        ),
        ("  read every native transfer and the labels", f"{med['read']:.1f} s", "", ""),
        ("  propagate (sparse products, paths, PPR)", f"{med['compute']:.1f} s", "", ""),
        ("  write onto the exposed wallets", f"{med['write']:.1f} s", "", ""),
    ]


async def bench_rules(store: GraphStore, blocks: int = 100, per_block: int = 100, watched: int = 1000,
                      chunks: tuple[int, ...] = (1, 50)) -> list[tuple]:  # fmt: skip
    """Follow mode writes and evaluates a chunk of blocks at a time: one block when it is at the
    head, up to --chunk (50) when it catches up; both are timed."""
    from graph import watch as gw
    from ingest.alerts import Monitor, parse_rules

    addresses, _, _, _ = await read_transfers(store)
    rng = np.random.default_rng(17)
    chosen = rng.choice(addresses, size=watched, replace=False).tolist()
    await gw.add_watches(store, chosen, parse_rules(["any", "value>1", "labelled", "exposure>0.1"]))
    rows = []
    first_block = 10_000_000
    # one hash per run, block and position: a re-run on an --existing graph writes new transfers
    run = time.time_ns()

    def frame_of(block: np.ndarray) -> pd.DataFrame:
        n = len(block)
        return transfer_frame(
            from_address=rng.choice(addresses, n).tolist(), to_address=rng.choice(addresses, n).tolist(),
            hash=[f"0x{run:016x}{int(b) * per_block + i % per_block + 1:048x}" for i, b in enumerate(block)],
            log_index=-1,
            value=rng.exponential(0.5, n), value_raw="1", token=NATIVE_TOKEN,
            ts=1_900_000_000 + (block - 10_000_000) * 12, block=block, status=1, tx_count=1,
        )  # fmt: skip

    for chunk in chunks:
        monitor = Monitor(store)
        # the first call of a follow run reads the watches, the labelled or exposed wallets and the
        # flows of every exposure-watched wallet: timed apart, once per run (and per `ttl`)
        warm = frame_of(np.full(per_block, first_block))
        await store.write_transfers(warm)
        t0 = time.perf_counter()
        await monitor(warm)
        t_first, first_statements = time.perf_counter() - t0, monitor.statements
        first_block += 1
        t_write = t_monitor = 0.0
        alerts = 0
        for lo in range(0, blocks, chunk):
            n = per_block * min(chunk, blocks - lo)
            frame = frame_of(first_block + lo + np.arange(n) // per_block)
            t0 = time.perf_counter()
            await store.write_transfers(frame)
            t1 = time.perf_counter()
            alerts += len(await monitor(frame))
            t_monitor += time.perf_counter() - t1
            t_write += t1 - t0
        first_block += blocks
        chain_s = blocks / 100  # seconds of chain at 100 blocks/s
        calls = -(-blocks // chunk)
        statements = monitor.statements - first_statements
        print(f"rules, {chunk} block(s) per call: {blocks} blocks x {per_block} transfers, {watched} "
              f"watched of {len(addresses):,}, {monitor.evaluated:,} wallet evaluations, {alerts:,} alerts, "
              f"{statements:,} statements in {calls} calls (first call apart: {t_first:.2f} s, "
              f"{first_statements} statements); rules {blocks / t_monitor:,.0f} blocks/s, write + rules "
              f"{blocks / (t_write + t_monitor):,.0f} blocks/s; load {load_average()}")  # fmt: skip
        rows.append((
            f"rule evaluation, {blocks} blocks x {per_block} transfers, {chunk} block(s) per call "
            f"({watched:,} of {len(addresses):,} watched; {statements / calls:.2f} statements/call)",
            f"**{t_monitor:.2f} s** ({t_monitor / chain_s:.0%} of {chain_s:.0f} s of chain)",
            f"{t_write:.2f} s (MERGE write)", f"{t_monitor / t_write:.2f}x the write",
        ))  # fmt: skip
        rows.append((f"  first call of the run (watches, view, {watched:,} wallets' flows)",
                     f"{t_first:.2f} s", "", ""))  # fmt: skip
    return rows


async def run(wallets: int, days: int, repeat: int, check: int) -> None:
    from ingest.load import ingest_etl
    from ingest.synth import generate

    with tempfile.TemporaryDirectory(prefix="aidrop-bench-exp-") as tmp, embedded() as server:
        folder = Path(tmp)
        t0 = time.perf_counter()
        generate(folder, wallets, days, seed=5, progress=False)
        t_synth = time.perf_counter() - t0
        store = FalkorStore(server.graph_url, "bench")
        t0 = time.perf_counter()
        await ingest_etl(store, [folder])
        t_load = time.perf_counter() - t0
        print(f"synth {t_synth:.1f} s, bulk load {t_load:.1f} s; load {load_average()}")
        await measure(store, folder, repeat, check, ("exposure", "rules"))
        await store.close()


async def measure(
    store: GraphStore, folder: Path | None, repeat: int, check: int, parts: tuple[str, ...]
) -> None:
    """The timed steps on a loaded graph; the labels picked from the synth `folder` unless the
    graph has some already."""
    from graph.labels import labelled

    if not await labelled(store):
        if folder is None:
            raise SystemExit(
                "the graph has no labels: give --folder (the aidrop synth folder it was loaded from)"
            )
        addresses, src, dst, _ = await read_transfers(store)
        labels = pick_labels(folder, addresses, src, dst)
        await write_labels(store, labels)
        print(f"{len(labels):,} labels written")
    rows = []
    if "exposure" in parts:
        rows += await bench_exposure(store, repeat, check)
    if "rules" in parts:
        rows += await bench_rules(store)
    print()
    print(table(rows, ("step", "aidrop", "baseline", "ratio")))
    print(f"\npeak RSS {peak_rss_mb():,.0f} MB; load average {load_average()}")


async def run_existing(folder: Path | None, repeat: int, check: int, parts: tuple[str, ...]) -> None:
    """On the graph aidrop's settings name (AIDROP_DATA_DIR's embedded FalkorDB, or Neo4j with
    AIDROP_GRAPH_BACKEND=neo4j and NEO4J_URI): no synth, no load (a graph already loaded at scale)."""
    from graph import open_store

    store = open_store()
    print(f"{store.backend}: {await store.stats(per_chain=False)}; load {load_average()}")
    await measure(store, folder, repeat, check, parts)
    await store.close()


def main(argv: list[str] | None = None) -> Any:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--wallets", type=int, default=100_000)
    p.add_argument("--days", type=int, default=28)
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--check", type=int, default=300, help="Wallets of the per-wallet baseline and check.")
    p.add_argument(
        "--existing",
        action="store_true",
        help="Measure the graph aidrop's settings point to (loaded before) instead of a new one.",
    )
    p.add_argument("--folder", type=Path, help="With --existing: the synth folder it came from (its labels).")
    p.add_argument("--only", choices=("exposure", "rules"), help="With --existing: one of the two steps.")
    args = p.parse_args(argv)  # fmt: skip
    if args.existing:
        parts = (args.only,) if args.only else ("exposure", "rules")
        asyncio.run(run_existing(args.folder, args.repeat, args.check, parts))
    else:
        asyncio.run(run(args.wallets, args.days, args.repeat, args.check))


if __name__ == "__main__":
    main()
