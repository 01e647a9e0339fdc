"""Benchmark of `aidrop synth`: about 1,000,000 transfers (transactions + token transfers), time and
peak RSS of the generator (in a child process), against a naive per-event Python loop that writes
the same three ethereum-etl files, measured in the same run.

    .venv/bin/python bench/synth.py [--wallets 27000] [--days 30] [--naive-events 50000]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# `ingest` is a namespace package: bench/ingest.py (another benchmark) must not shadow it
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

TARGET_SECONDS, TARGET_RSS_MB = 8.0, 1500


def child(out: str, wallets: int, days: int, seed: int) -> None:
    """Run the generator alone (its peak RSS is then the process's)."""
    from ingest.synth import generate

    began = time.perf_counter()
    summary = generate(out, wallets, days, seed, campaign=True, progress=False)
    seconds = time.perf_counter() - began
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size = sum(p.stat().st_size for p in Path(out).glob("*.csv"))
    print(json.dumps({"transfers": summary.transfers, "transactions": summary.transactions,
                      "token_transfers": summary.token_transfers, "seconds": seconds, "rss_mb": rss_mb,
                      "bytes": size}))  # fmt: skip


def naive(out: Path, events: int, wallets: int, seed: int) -> tuple[int, float]:
    """The obvious generator: one Python iteration per transaction, csv.writer rows, a token
    transfer for about 45% of them. Returns (transfers written, seconds)."""
    rnd = random.Random(seed)
    began = time.perf_counter()
    addresses = [f"0x{rnd.getrandbits(160):040x}" for _ in range(wallets)]
    tokens = [f"0x{rnd.getrandbits(160):040x}" for _ in range(20)]
    kinds = ["send", "swap", "nft", "game", "vote", "stake"]
    weights = [30, 25, 15, 15, 5, 10]
    nonces = [0] * wallets
    transfers = 0
    t0, block0 = 1_704_067_200, 18_908_895
    with (out / "transactions.csv").open("w", newline="") as f_tx, \
         (out / "receipts.csv").open("w", newline="") as f_rc, \
         (out / "token_transfers.csv").open("w", newline="") as f_tt:  # fmt: skip
        tx, rc, tt = csv.writer(f_tx), csv.writer(f_rc), csv.writer(f_tt)
        tx.writerow(["hash", "nonce", "block_hash", "block_number", "transaction_index", "from_address",
                     "to_address", "value", "gas", "gas_price", "input", "block_timestamp",
                     "max_fee_per_gas", "max_priority_fee_per_gas", "transaction_type"])  # fmt: skip
        rc.writerow(["transaction_hash", "transaction_index", "block_hash", "block_number",
                     "cumulative_gas_used", "gas_used", "contract_address", "root", "status",
                     "effective_gas_price"])  # fmt: skip
        tt.writerow(["token_address", "from_address", "to_address", "value", "transaction_hash",
                     "log_index", "block_number"])  # fmt: skip
        ts = t0
        for i in range(events):
            ts += int(rnd.expovariate(1 / 2.0))
            hour = (ts // 3600) % 24
            if hour < 6 and rnd.random() < 0.6:  # quiet nights
                continue
            sender = rnd.randrange(wallets)
            kind = rnd.choices(kinds, weights)[0]
            receiver = rnd.randrange(wallets)
            block = block0 + (ts - t0) // 12
            block_hash = f"0x{rnd.getrandbits(256):064x}"
            tx_hash = f"0x{rnd.getrandbits(256):064x}"
            value = int(rnd.lognormvariate(-2.0, 1.5) * 10**18)
            base = int(20e9 * rnd.lognormvariate(0, 0.3))
            tip = int(1.2e9 * rnd.lognormvariate(0, 0.6))
            gas = 21000 if kind == "send" else rnd.randint(50_000, 300_000)
            status = 0 if rnd.random() < 0.015 else 1
            selector = "0x" if kind == "send" else "0xa9059cbb"
            tx.writerow([tx_hash, nonces[sender], block_hash, block, i % 150, addresses[sender],
                         addresses[receiver], value, gas, base + tip, selector, block * 12,
                         2 * base + tip, tip, 2])  # fmt: skip
            rc.writerow([tx_hash, i % 150, block_hash, block, gas * 40, gas, "", "", status, base + tip])
            nonces[sender] += 1
            transfers += 1
            if kind != "send" and status and rnd.random() < 0.75:
                tt.writerow([rnd.choice(tokens), addresses[sender], addresses[rnd.randrange(wallets)],
                             int(rnd.paretovariate(1.2) * 10**18), tx_hash, i % 300, block])  # fmt: skip
                transfers += 1
    return transfers, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wallets", type=int, default=27_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--naive-events", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3, help="alternating runs of each; medians shown")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.wallets, args.days, args.seed)
        return
    runs, naive_runs = [], []
    for _ in range(args.repeat):  # alternating, so that load from other jobs hits both alike
        with tempfile.TemporaryDirectory(prefix="aidrop-bench-synth-") as tmp:
            out = Path(tmp)
            (out / "fast").mkdir()
            (out / "naive").mkdir()
            cmd = [sys.executable, __file__, "--child", str(out / "fast"), "--wallets", str(args.wallets),
                   "--days", str(args.days), "--seed", str(args.seed)]  # fmt: skip
            runs.append(json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout))
            naive_runs.append(naive(out / "naive", args.naive_events, args.wallets, args.seed))
    fast = dict(runs[0], seconds=statistics.median(r["seconds"] for r in runs),
                rss_mb=max(r["rss_mb"] for r in runs))  # fmt: skip
    naive_transfers = naive_runs[0][0]
    naive_seconds = statistics.median(s for _, s in naive_runs)
    fast_rate = fast["transfers"] / fast["seconds"]
    naive_rate = naive_transfers / naive_seconds
    print(f"{args.repeat} alternating runs; wall times: generator "
          + ", ".join(f"{r['seconds']:.2f}" for r in runs) + " s; naive loop "
          + ", ".join(f"{s:.2f}" for _, s in naive_runs) + " s; medians below")  # fmt: skip
    rows = [
        ("transfers generated (tx + token transfers)", f"{fast['transfers']:,}", ""),
        ("  transactions / token transfers", f"{fast['transactions']:,} / {fast['token_transfers']:,}", ""),
        ("CSV bytes written", f"{fast['bytes'] / 1e6:,.0f} MB", ""),
        ("wall time, generator (median)", f"{fast['seconds']:.2f} s", f"target <= {TARGET_SECONDS:.0f} s"),
        ("peak RSS, generator process (max)", f"{fast['rss_mb']:,.0f} MB", f"target < {TARGET_RSS_MB:,} MB"),
        ("rate, vectorised generator", f"{fast_rate:,.0f} transfers/s", f"{fast_rate / naive_rate:.1f}x"),
        (f"rate, naive per-event loop ({naive_transfers:,} transfers)", f"{naive_rate:,.0f} transfers/s",
         "1.0x (baseline)"),
        ("naive loop, projected for the same transfers", f"{fast['transfers'] / naive_rate:.1f} s", ""),
    ]  # fmt: skip
    width = max(len(r[0]) for r in rows)
    print(f"{'figure':<{width}}  {'value':>26}  ratio vs baseline / target")
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>26}  {note}")
    ok = fast["seconds"] <= TARGET_SECONDS and fast["rss_mb"] < TARGET_RSS_MB
    print("targets met" if ok else "TARGETS MISSED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
