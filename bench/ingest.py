"""Ingestion rates on N synthetic transfers (ethereum-etl transactions.csv), one run:

bulk first load (GRAPH.BULK), idempotent incremental (MERGE, new rows), re-load (all present),
and the naive baseline: one MERGE query per row.

.venv/bin/python bench/ingest.py [--transfers 1000000] [--wallets 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path[0] = str(Path(__file__).resolve().parents[1])  # the repo, not bench/ (ingest.py shadows ingest/)

from bench.common import embedded, load_average, peak_rss_mb, process_cpu, table  # noqa: E402
from graph.cypher import Statement  # noqa: E402
from graph.falkor import FalkorStore  # noqa: E402
from ingest.load import ingest_etl  # noqa: E402

COLUMNS = (
    "hash,nonce,block_hash,block_number,transaction_index,from_address,to_address,value,gas,"
    "gas_price,input,block_timestamp,max_fee_per_gas,max_priority_fee_per_gas,transaction_type"
)

NAIVE = Statement(
    "naive_merge",
    "MERGE (a:Wallet {address: $f}) MERGE (b:Wallet {address: $t}) "
    "MERGE (a)-[r:TRANSFER {hash: $h, log_index: -1}]->(b) "
    "ON CREATE SET r.value = $v, r.value_raw = $raw, r.token = 'ETH', r.ts = $ts, r.block = $b, "
    "r.status = 1, r.tx_count = 1",
)


def write_transactions(path: Path, n: int, wallets: int, seed: int, first_tx: int) -> None:
    """A transactions.csv of n transfers, written in chunks."""
    rng = np.random.default_rng(seed)
    pool = np.char.add("0x", np.char.zfill(np.char.mod("%x", rng.integers(1, 2**62, wallets)), 40))
    with path.open("w") as fh:
        fh.write(COLUMNS + "\n")
        for start in range(0, n, 200_000):
            m = min(200_000, n - start)
            idx = np.arange(first_tx + start, first_tx + start + m)
            frame = pd.DataFrame({
                "hash": np.char.add("0x", np.char.zfill(np.char.mod("%x", idx), 64)),
                "nonce": "", "block_hash": "", "block_number": 1_000_000 + idx // 150,
                "transaction_index": "", "from_address": pool[rng.integers(0, wallets, m)],
                "to_address": pool[rng.integers(0, wallets, m)],
                "value": np.minimum(rng.pareto(1.5, m) * 1e17, 9e18).astype(np.int64),
                "gas": "", "gas_price": "", "input": "0x",
                "block_timestamp": 1_600_000_000 + idx * 12 // 150,
                "max_fee_per_gas": "", "max_priority_fee_per_gas": "", "transaction_type": "",
            })  # fmt: skip
            frame.to_csv(fh, header=False, index=False)


async def naive(store: FalkorStore, path: Path, rows: int) -> float:
    frame = pd.read_csv(path, nrows=rows, dtype=str, keep_default_na=False)
    start = time.perf_counter()
    for r in frame.itertuples():
        await store.execute(NAIVE, {
            "f": r.from_address, "t": r.to_address, "h": r.hash, "v": int(r.value) / 1e18, "raw": r.value,
            "ts": int(r.block_timestamp), "b": int(r.block_number),
        })  # fmt: skip
    return rows / (time.perf_counter() - start)


async def main(n: int, wallets: int, incremental: int, naive_rows: int) -> None:
    rows = []
    with tempfile.TemporaryDirectory(prefix="aidrop-bench-") as tmp, embedded() as server:
        first, second = Path(tmp) / "first", Path(tmp) / "second"
        first.mkdir()
        second.mkdir()
        print(f"writing {n:,} + {incremental:,} synthetic transfers ...", file=sys.stderr)
        write_transactions(first / "transactions.csv", n, wallets, 1, 0)
        write_transactions(second / "transactions.csv", incremental, wallets, 2, n)

        store = FalkorStore(server.graph_url, "bench")
        server_pid = server.status().pid
        phases: dict[str, tuple[float, float, float]] = {}  # wall, client CPU, server CPU

        async def timed(name: str, folder: Path, mode: str, written: int) -> None:
            wall, cpu, srv = time.perf_counter(), process_cpu(), process_cpu(server_pid)
            report = await ingest_etl(store, [folder])
            phases[name] = (time.perf_counter() - wall, process_cpu() - cpu, process_cpu(server_pid) - srv)
            assert report.mode == mode and report.transfers_written == written, report.rows_rejected

        await timed("bulk", first, "bulk", n)
        bulk_rss = peak_rss_mb()
        await timed("incremental", second, "merge", incremental)
        await timed("again", second, "merge", 0)
        inc_rss = peak_rss_mb()

        naive_store = FalkorStore(server.graph_url, "bench_naive")
        await naive_store.ensure_schema()
        naive_rate = await naive(naive_store, first / "transactions.csv", naive_rows)
        stats = await store.stats()
        await store.close()
        await naive_store.close()

    naive_cpu = naive_rate  # the naive loop waits on one query at a time: its wall rate is its rate
    rows = []
    for name, label, count, rss in (
        ("bulk", "bulk first load (GRAPH.BULK)", n, bulk_rss),
        ("incremental", "incremental, new rows (MERGE)", incremental, inc_rss),
        ("again", "re-load, all present (MERGE)", incremental, inc_rss),
    ):
        wall, cpu, srv = phases[name]
        rate = count / wall
        cpu_rate = count / max(cpu, srv)  # pipelined: the busier of the two processes bounds it
        rows.append((label, f"{count:,}", f"{wall:.2f}", f"{rate:,.0f}", f"{rate / naive_rate:.1f}x",
                     f"{cpu:.2f} / {srv:.2f}", f"{cpu_rate:,.0f}", f"{rss:,.0f}"))  # fmt: skip
    rows.append(("naive: one MERGE query per row", f"{naive_rows:,}", "", f"{naive_cpu:,.0f}", "1.0x", "",
                 "", ""))  # fmt: skip
    headers = ("path", "transfers", "seconds", "transfers/s", "vs naive", "CPU s client / server",
               "transfers per CPU-bound s", "peak RSS MB")  # fmt: skip
    print(table(rows, headers))
    print(f"\nload average after the run: {load_average()} (2 cores)")
    print(f"\ngraph after the run: {stats.wallets:,} wallets, {stats.transfers:,} transfers")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transfers", type=int, default=1_000_000)
    parser.add_argument("--wallets", type=int, default=100_000)
    parser.add_argument("--incremental", type=int, default=200_000)
    parser.add_argument("--naive-rows", type=int, default=5_000)
    args = parser.parse_args()
    asyncio.run(main(args.transfers, args.wallets, args.incremental, args.naive_rows))
