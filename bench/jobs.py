"""analyze_wallet jobs through one `aidrop worker` on the embedded Redis and FalkorDB, profile images
drawn locally (no external image API):

1. throughput: 1,000 jobs queued at once (as `analyzeWallets` does), jobs/s from the first
   enqueue to the last completion, and the time each job ran;
2. latency: 200 jobs arriving one by one at a steady rate below capacity, end to end (queued ->
   completed, as a client polling the job sees it).

The graph is a synthetic chain (ingest/synth). The analysis is what `aidrop worker` uses by
default (ml/analyzer.py: ml/'s batch scoring, models fitted on the first job of the warm-up,
then each wallet's scores read and written once); `--analyzer tests.stub_analyzer` measures the
job machinery alone.

.venv/bin/python bench/jobs.py [--jobs 1000] [--wallets 5000] [--rate 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])  # the repo, not bench/ (jobs.py shadows jobs/)

from bench.common import embedded, table  # noqa: E402


async def load(graph_url: str, name: str, wallets: int, folder: Path) -> list[str]:
    """A synthetic chain (ingest/synth) of `wallets` personas over 10 days; their addresses."""
    import csv

    from graph.falkor import FalkorStore
    from ingest.load import ingest_etl
    from ingest.synth import generate

    generate(folder, wallets, 10, seed=1)
    store = FalkorStore(graph_url, name)
    await ingest_etl(store, [folder])
    await store.close()
    with (folder / "labels.csv").open() as fh:
        return [row["address"] for row in csv.DictReader(fh)]


async def run(
    redis_url: str, wallets: list[str], jobs: int, rate: float, latency_jobs: int
) -> dict[str, float]:
    from core.settings import Settings
    from jobs.queue import JobQueue
    from jobs.records import JobRecords

    records = JobRecords.from_url(redis_url)
    queue = JobQueue(records, Settings(REDIS_URL=redis_url))

    async def wait(ids: list[str], timeout: float = 600) -> list:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = await records.get_many(ids)
            if all(r is not None and r.done for r in got):
                return got
            await asyncio.sleep(0.05)
        raise SystemExit(f"jobs not done after {timeout}s")

    # warm-up: imports, connections, the analyzer's caches
    t0 = time.perf_counter()
    warm = [await queue.analyze_wallet(a, version="warmup") for a in wallets[:20]]
    await wait([r.id for r in warm])
    warmup = time.perf_counter() - t0

    started = time.time()
    queued = [
        await queue.analyze_wallet(wallets[i % len(wallets)], version="throughput") for i in range(jobs)
    ]
    done = await wait([r.id for r in queued])
    failed = sum(r.status != "completed" for r in done)
    span = max(r.finished_at for r in done) / 1000 - started
    ran = sorted((r.finished_at - r.started_at) for r in done)

    paced = []
    for i in range(latency_jobs):
        paced.append(await queue.analyze_wallet(wallets[(i * 7) % len(wallets)], version="latency"))
        await asyncio.sleep(1 / rate)
    lat = await wait([r.id for r in paced])
    e2e = sorted((r.finished_at - r.created_at) for r in lat)
    failed += sum(r.status != "completed" for r in lat)
    await records.close()
    q = statistics.quantiles
    return {
        "jobs": jobs,
        "seconds": span,
        "jobs_per_s": jobs / span,
        "run_p50_ms": q(ran, n=100)[49],
        "run_p99_ms": q(ran, n=100)[98],
        "e2e_p50_ms": q(e2e, n=100)[49],
        "e2e_p99_ms": q(e2e, n=100)[98],
        "failed": failed,
        "warmup_s": warmup,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--wallets", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=20.0, help="arrivals per second in the latency run")
    parser.add_argument("--latency-jobs", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20, help="jobs at once in the worker")
    parser.add_argument(
        "--analyzer", default="", help="AIDROP_ANALYZER for the worker (default: ml/, as served)"
    )
    args = parser.parse_args()
    root = Path(__file__).resolve().parents[1]
    parser_analyzer = args.analyzer
    analyzer = parser_analyzer or os.environ.get("AIDROP_ANALYZER", "")  # empty: ml/analyzer.py's models
    with embedded() as server, tempfile.TemporaryDirectory(prefix="aidrop-bench-jobs-") as tmp:
        name = "bench_jobs"
        addresses = asyncio.run(load(server.graph_url, name, args.wallets, Path(tmp) / "chain"))
        env = {**os.environ, "AIDROP_GRAPH_URL": server.graph_url, "AIDROP_GRAPH_NAME": name,
               "REDIS_URL": server.redis_url, "AIDROP_DATA_DIR": tmp, "AIDROP_ANALYZER": analyzer,
               "AIDROP_WORKER_CONCURRENCY": str(args.concurrency), "PYTHONPATH": str(root)}  # fmt: skip
        env.pop("OPENAI_API_KEY", None)
        env.pop("S3_BUCKET", None)
        os.environ.update({k: v for k, v in env.items() if k.startswith("AIDROP_") or k == "REDIS_URL"})
        log = Path(tmp) / "worker.log"
        worker = subprocess.Popen([str(Path(sys.executable).with_name("aidrop")), "worker"], env=env,
                                  stdout=log.open("wb"), stderr=subprocess.STDOUT)  # fmt: skip
        try:
            r = asyncio.run(run(server.redis_url, addresses, args.jobs, args.rate, args.latency_jobs))
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
    rows = [
        (f"{args.jobs:,} jobs queued at once", f"{r['jobs_per_s']:.1f} jobs/s ({r['seconds']:.1f} s)",
         f"run p50 {r['run_p50_ms']:.0f} ms, p99 {r['run_p99_ms']:.0f} ms"),
        (f"{args.latency_jobs} jobs at {args.rate:g}/s", f"end to end p50 {r['e2e_p50_ms']:.0f} ms",
         f"p99 {r['e2e_p99_ms']:.0f} ms"),
    ]  # fmt: skip
    rows.insert(0, ("20 jobs first (warm-up)", f"{r['warmup_s']:.1f} s",
                    "the first analysis scores the graph (fitting models when none is active)"))  # fmt: skip
    print(table(rows, ("run", "figure", "more")))
    print(
        f"analyzer {analyzer or 'ml models (ml/analyzer.py)'}; worker concurrency {args.concurrency}; "
        f"failed {r['failed']}; load average: " + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )


if __name__ == "__main__":
    main()
