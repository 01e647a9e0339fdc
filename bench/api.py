"""GraphQL wallet-by-address reads at 50 and 200 concurrent clients, against a bare Starlette route
that does the same graph reads (the wallet's node and its fan-in/fan-out) in the same run.

Both servers are one uvicorn process (uvloop, httptools) on the same graph, run one after the
other; this process is the load generator (aiohttp, closed loop: each client sends its next
request when the last one answered), random analysed wallets, a warm-up, then a timed window.

.venv/bin/python bench/api.py [--wallets 20000] [--transfers 200000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])  # the repo, not bench/ (api.py shadows api/)

from bench.common import embedded, free_port, table  # noqa: E402

QUERY = """query($a: String!) { wallet(address: $a) {
  address typology { code } cluster { id } anomaly { score rank flagged }
  stats { fanIn fanOut inValue outValue }
} }"""


# ---- the bare route (run by uvicorn in its own process) -------------------------------------------
def bare_app():  # type: ignore[no-untyped-def]
    """Starlette, one route: the same two batched reads the GraphQL resolvers make, as JSON."""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from api.app import GRAPH_CONCURRENCY, count_queries
    from api.metrics import Metrics
    from graph import api_reads
    from graph.address import normalize_address
    from graph.falkor import FalkorStore

    store = FalkorStore(os.environ["AIDROP_GRAPH_URL"], os.environ["AIDROP_GRAPH_NAME"])
    count_queries(store, Metrics(), GRAPH_CONCURRENCY)  # the API's gate in front of the graph, for fairness

    async def wallet(request):  # type: ignore[no-untyped-def]
        address = normalize_address(request.path_params["address"])
        nodes = await api_reads.wallets_by_address(store, [address])
        stats = await api_reads.stats_by_address(store, [address])
        node, s = nodes.get(address), stats.get(address)
        if node is None:
            return JSONResponse({"error": "not found"}, status_code=404)
        p = node.props
        return JSONResponse({"wallet": {
            "address": address,
            "typology": {"code": p.get("typology")},
            "cluster": {"id": p.get("cluster")},
            "anomaly": {"score": p.get("anomaly_score"), "rank": p.get("anomaly_rank"),
                        "flagged": p.get("anomaly_flagged")},
            "stats": {"fanIn": s.in_counterparties, "fanOut": s.out_counterparties, "inValue": s.in_value,
                      "outValue": s.out_value},
        }})  # fmt: skip

    return Starlette(routes=[Route("/wallet/{address}", wallet)])


# ---- setup ------------------------------------------------------------------------------------------
async def load(graph_url: str, name: str, wallets: int, transfers: int, analysed: int) -> list[str]:
    from graph import api_reads
    from graph.falkor import FalkorStore
    from tests.factories import addr, random_transfers

    store = FalkorStore(graph_url, name)
    sink = await store.open_sink()
    step = 100_000
    for start in range(0, transfers, step):
        await sink.write(random_transfers(min(step, transfers - start), wallets, seed=start, start_tx=start))
    await sink.close()
    rng = random.Random(1)
    chosen = [addr(i) for i in rng.sample(range(1, wallets + 1), analysed)]
    for i, a in enumerate(chosen):
        await api_reads.write_analysis(store, a, f"bench-{i}", {
            "typology": "D-T-A-C", "cluster": i % 12, "anomaly_score": rng.random(), "anomaly_rank": i + 1,
            "anomaly_flagged": i % 50 == 0, "anomaly_model": "bench", "anomaly_version": "1",
        })  # fmt: skip
    await store.close()
    return chosen


def start(cmd: list[str], env: dict[str, str], url: str, log: Path) -> subprocess.Popen:
    import requests

    proc = subprocess.Popen(cmd, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return proc
        except requests.RequestException:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"server did not start: {log.read_text()[-2000:]}")


# ---- load -------------------------------------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    """user + system CPU time of a process (Linux /proc), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def hammer(kind: str, base: str, addresses: list[str], clients: int, seconds: float,
                 warmup: float, pid: int | None = None) -> dict[str, float]:  # fmt: skip
    import aiohttp

    latencies: list[float] = []
    errors = 0
    sent = 0
    cpu0 = cpu_seconds(pid) if pid else 0.0
    stop_at = time.monotonic() + warmup + seconds
    measure_from = time.monotonic() + warmup
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def client(seed: int) -> None:
            nonlocal errors, sent
            rng = random.Random(seed)
            while (now := time.monotonic()) < stop_at:
                a = rng.choice(addresses)
                t0 = time.perf_counter()
                try:
                    if kind == "graphql":
                        r = await session.post(
                            base + "/graphql", json={"query": QUERY, "variables": {"a": a}}
                        )
                    else:
                        r = await session.get(f"{base}/wallet/{a}")
                    body = await r.read()
                    ok = r.status == 200 and b'"errors"' not in body and b'"wallet"' in body
                except aiohttp.ClientError:
                    ok = False
                elapsed = time.perf_counter() - t0
                sent += 1
                if not ok:
                    errors += 1
                if now >= measure_from:
                    latencies.append(elapsed)

        await asyncio.gather(*(client(i) for i in range(clients)))
    cpu_ms = (cpu_seconds(pid) - cpu0) * 1000 / max(sent, 1) if pid else 0.0
    latencies.sort()
    q = statistics.quantiles(latencies, n=100)
    return {"rps": len(latencies) / seconds, "p50": q[49] * 1000, "p99": q[98] * 1000, "n": len(latencies),
            "errors": errors, "cpu_ms": cpu_ms}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--wallets", type=int, default=20_000)
    parser.add_argument("--transfers", type=int, default=200_000)
    parser.add_argument("--analysed", type=int, default=2_000)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3, help="alternating runs of each server; medians")
    parser.add_argument("--clients", default="50,200")
    args = parser.parse_args()
    root = Path(__file__).resolve().parents[1]
    exe = Path(sys.executable)
    runs: dict[tuple[str, int], list[dict[str, float]]] = {}
    with embedded() as server, tempfile.TemporaryDirectory(prefix="aidrop-bench-api-") as tmp:
        name = "bench_api"
        addresses = asyncio.run(load(server.graph_url, name, args.wallets, args.transfers, args.analysed))
        env = {**os.environ, "AIDROP_GRAPH_URL": server.graph_url, "AIDROP_GRAPH_NAME": name,
               "REDIS_URL": server.redis_url, "AIDROP_DATA_DIR": tmp, "AIDROP_RATE_LIMIT": "0",
               "PYTHONPATH": str(root)}  # fmt: skip
        servers: dict[str, tuple[str, subprocess.Popen]] = {}
        try:
            for kind in ("bare", "graphql"):
                port = free_port()
                base = f"http://127.0.0.1:{port}"
                if kind == "graphql":
                    cmd = [
                        str(exe.with_name("aidrop")),
                        "serve",
                        "--port",
                        str(port),
                        "--log-level",
                        "warning",
                    ]
                    ready = base + "/healthz"
                else:
                    cmd = [str(exe), "-m", "uvicorn", "--factory", "bench.api:bare_app", "--port", str(port),
                           "--log-level", "warning", "--no-access-log", "--app-dir", str(root)]  # fmt: skip
                    ready = f"{base}/wallet/{addresses[0]}"
                servers[kind] = (base, start(cmd, env, ready, Path(tmp) / f"{kind}.log"))
            for clients in (int(c) for c in args.clients.split(",")):
                for _ in range(args.repeat):
                    for kind, (base, proc) in servers.items():
                        r = asyncio.run(
                            hammer(kind, base, addresses, clients, args.seconds, args.warmup, proc.pid)
                        )
                        runs.setdefault((kind, clients), []).append(r)
                        print(f"{kind:8} {clients:4} clients: {r['rps']:8.1f} req/s  p50 {r['p50']:6.2f} ms  "
                              f"p99 {r['p99']:6.2f} ms  cpu {r['cpu_ms']:.3f} ms/req  errors {r['errors']}",
                              file=sys.stderr)  # fmt: skip
        finally:
            for _base, proc in servers.values():
                proc.terminate()
                proc.wait(timeout=15)
    med = {
        k: {m: statistics.median(r[m] for r in v) for m in ("rps", "p50", "p99", "errors", "cpu_ms")}
        for k, v in runs.items()
    }
    rows = []
    for (kind, clients), r in sorted(med.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        bare = med[("bare", clients)]["rps"]
        ratios = [
            g["rps"] / b["rps"] for g, b in zip(runs[(kind, clients)], runs[("bare", clients)], strict=True)
        ]
        ratio = f"{statistics.median(ratios):.0%}" if kind == "graphql" else "100%"
        cpu_ratio = med[("bare", clients)]["cpu_ms"] / r["cpu_ms"] if r["cpu_ms"] else 0.0
        rows.append((kind, clients, f"{r['rps']:,.0f}", f"{r['p50']:.1f}", f"{r['p99']:.1f}", ratio,
                     f"{r['cpu_ms']:.3f}", f"{cpu_ratio:.0%}", int(r["errors"])))  # fmt: skip
        assert bare > 0
    headers = ("server", "clients", "req/s", "p50 ms", "p99 ms", "of bare (paired)", "server CPU ms/req",
               "of bare (CPU)", "errors")  # fmt: skip
    print(table(rows, headers))
    print(
        f"medians of {args.repeat} alternating runs of {args.seconds:g} s; load average: "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    print(json.dumps({f"{k}@{c}": v for (k, c), v in runs.items()}))


if __name__ == "__main__":
    main()
