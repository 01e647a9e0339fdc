"""GraphQL wallet-by-address reads at 50 and 200 concurrent clients, against a bare Starlette route
that does the same graph reads (the wallet's node and its fan-in/fan-out) in the same run.

Both servers are one uvicorn process (uvloop, httptools) on the same graph, run one after the
other; this process is the load generator (aiohttp), random analysed wallets, a warm-up, then a
timed window, in two modes:

- closed loop (--clients): each client sends its next request when the last one answered, so the
  latency is whatever the clients' own pressure makes it (mean = clients / throughput);
- open loop (--rate, --open-clients): requests arrive at a fixed total rate (Poisson, the same
  for both servers) over that many connections, whether or not earlier ones answered; latency
  runs from a request's arrival. This is the latency at a load the server can sustain.

.venv/bin/python bench/api.py [--wallets 20000] [--transfers 200000] [--seconds 8] [--repeat 3]
    [--clients 50,200] [--rate 150,300] [--open-clients 50]
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
from typing import Any

sys.path[0] = str(Path(__file__).resolve().parents[1])  # the repo, not bench/ (api.py shadows api/)

from bench.common import embedded, free_port, load_average, table  # noqa: E402

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
    from core.address import normalize_address
    from graph.falkor import FalkorStore

    store = FalkorStore(os.environ["AIDROP_GRAPH_URL"], os.environ["AIDROP_GRAPH_NAME"])
    count_queries(store, Metrics(), GRAPH_CONCURRENCY)  # the API's gate in front of the graph, for fairness

    async def wallet(request):  # type: ignore[no-untyped-def]
        address = normalize_address(request.path_params["address"])
        nodes = await store.wallets_by_address([address])
        stats = await store.stats_by_address([address])
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
    from graph.wallet_analysis import WalletAnalysis
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
        await api_reads.write_analysis(store, a, f"bench-{i}", WalletAnalysis(
            typology="D-T-A-C", cluster=i % 12, anomaly_score=rng.random(), anomaly_rank=i + 1,
            anomaly_flagged=i % 50 == 0, anomaly_model="bench", anomaly_version="1",
        ))  # fmt: skip
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


def bodies(addresses: list[str]) -> dict[str, bytes]:
    """The GraphQL request body of each address, encoded once (the load generator's JSON work
    is not the server's; the bare route's requests are an f-string)."""
    return {a: json.dumps({"query": QUERY, "variables": {"a": a}}).encode() for a in addresses}


JSON_HEADERS = {"Content-Type": "application/json"}


async def ask(session: Any, kind: str, base: str, address: str, body: bytes) -> bool:
    """One wallet request; True when it answered the wallet."""
    import aiohttp

    try:
        if kind == "graphql":
            r = await session.post(base + "/graphql", data=body, headers=JSON_HEADERS)
        else:
            r = await session.get(f"{base}/wallet/{address}")
        answer = await r.read()
        return r.status == 200 and b'"errors"' not in answer and b'"wallet"' in answer
    except aiohttp.ClientError:
        return False


def summary(latencies: list[float], seconds: float, errors: int, sent: int, cpu: float,
            answered: int | None = None) -> dict[str, float]:  # fmt: skip
    latencies.sort()
    q = statistics.quantiles(latencies, n=100)
    rps = (len(latencies) if answered is None else answered) / seconds
    return {"rps": rps, "p50": q[49] * 1000, "p99": q[98] * 1000, "n": len(latencies),
            "errors": errors, "cpu_ms": cpu * 1000 / max(sent, 1)}  # fmt: skip


async def closed_loop(kind: str, base: str, addresses: list[str], clients: int, seconds: float,
                      warmup: float, pid: int) -> dict[str, float]:  # fmt: skip
    """`clients` connections, each sending its next request as soon as the last one answered."""
    import aiohttp

    latencies: list[float] = []
    errors = sent = 0
    encoded = bodies(addresses)
    cpu0 = cpu_seconds(pid)
    stop_at = time.monotonic() + warmup + seconds
    measure_from = time.monotonic() + warmup
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients)) as session:

        async def client(seed: int) -> None:
            nonlocal errors, sent
            rng = random.Random(seed)
            while (now := time.monotonic()) < stop_at:
                a = rng.choice(addresses)
                t0 = time.perf_counter()
                ok = await ask(session, kind, base, a, encoded[a])
                elapsed = time.perf_counter() - t0
                sent += 1
                errors += not ok
                if now >= measure_from:
                    latencies.append(elapsed)

        await asyncio.gather(*(client(i) for i in range(clients)))
    return summary(latencies, seconds, errors, sent, cpu_seconds(pid) - cpu0)


async def open_loop(kind: str, base: str, addresses: list[str], clients: int, rate: float,
                    seconds: float, warmup: float, pid: int) -> dict[str, float]:  # fmt: skip
    """Requests arrive at `rate` per second in total (Poisson: exponential gaps, the same seeded
    sequence for both servers) whether or not earlier ones have answered, and are sent over
    `clients` connections; a request waiting for a free connection waits on the clock, so a
    latency runs from the request's arrival, not from when it could be sent."""
    import aiohttp

    latencies: list[float] = []
    errors = sent = answered = 0
    encoded = bodies(addresses)
    arrivals: asyncio.Queue[tuple[float, str] | None] = asyncio.Queue()
    cpu0 = cpu_seconds(pid)
    began = time.perf_counter()
    measure_from = began + warmup

    async def arrive() -> None:
        rng = random.Random(7)
        at = began
        while at < began + warmup + seconds:
            if (wait := at - time.perf_counter()) > 0:
                await asyncio.sleep(wait)
            arrivals.put_nowait((at, rng.choice(addresses)))
            at += rng.expovariate(rate)
        for _ in range(clients):
            arrivals.put_nowait(None)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients)) as session:

        async def client() -> None:
            nonlocal errors, sent, answered
            while (item := await arrivals.get()) is not None:
                at, a = item
                ok = await ask(session, kind, base, a, encoded[a])
                now = time.perf_counter()
                sent += 1
                errors += not ok
                if at >= measure_from:
                    latencies.append(now - at)
                answered += measure_from <= now < measure_from + seconds

        await asyncio.gather(arrive(), *(client() for _ in range(clients)))
    return summary(latencies, seconds, errors, sent, cpu_seconds(pid) - cpu0, answered)


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
    parser.add_argument("--clients", default="50,200", help="closed-loop client counts")
    parser.add_argument(
        "--rate", default="300", help="open loop: total requests/s, comma-separated (0: none)"
    )
    parser.add_argument("--open-clients", type=int, default=50, help="open loop: connections")
    parser.add_argument("--rate-limit", type=float, default=0.0, help="AIDROP_RATE_LIMIT (0: off)")
    args = parser.parse_args()
    root = Path(__file__).resolve().parents[1]
    exe = Path(sys.executable)
    loads = [f"{c} closed" for c in args.clients.split(",") if c]
    loads += [f"{args.open_clients} open {float(r):g}/s" for r in args.rate.split(",") if r and float(r) > 0]
    runs: dict[tuple[str, str], list[dict[str, float]]] = {}
    load_before = load_average()
    with embedded() as server, tempfile.TemporaryDirectory(prefix="aidrop-bench-api-") as tmp:
        name = "bench_api"
        addresses = asyncio.run(load(server.graph_url, name, args.wallets, args.transfers, args.analysed))
        env = {**os.environ, "AIDROP_GRAPH_URL": server.graph_url, "AIDROP_GRAPH_NAME": name,
               "REDIS_URL": server.redis_url, "AIDROP_DATA_DIR": tmp,
               "AIDROP_RATE_LIMIT": f"{args.rate_limit:g}", "AIDROP_RATE_BURST": "1000000000",
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
            for label in loads:
                clients, mode = int(label.split()[0]), label.split()[1]
                for _ in range(args.repeat):
                    for kind, (base, proc) in servers.items():
                        if mode == "closed":
                            job = closed_loop(
                                kind, base, addresses, clients, args.seconds, args.warmup, proc.pid
                            )
                        else:
                            rate = float(label.split()[2].removesuffix("/s"))
                            job = open_loop(kind, base, addresses, clients, rate, args.seconds, args.warmup,
                                            proc.pid)  # fmt: skip
                        r = asyncio.run(job)
                        runs.setdefault((kind, label), []).append(r)
                        print(f"{kind:8} {label:>16}: {r['rps']:8.1f} req/s  p50 {r['p50']:6.2f} ms  "
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
    for label in loads:
        for kind in ("bare", "graphql"):
            r = med[(kind, label)]
            pairs = zip(runs[(kind, label)], runs[("bare", label)], strict=True)
            paired = f"{statistics.median(g['rps'] / b['rps'] for g, b in pairs):.0%}"
            cpu_ratio = med[("bare", label)]["cpu_ms"] / r["cpu_ms"] if r["cpu_ms"] else 0.0
            rows.append((kind, label, f"{r['rps']:,.0f}", f"{r['p50']:.1f}", f"{r['p99']:.1f}", paired,
                         f"{r['cpu_ms']:.3f}", f"{cpu_ratio:.0%}", int(r["errors"])))  # fmt: skip
    headers = ("server", "clients", "req/s", "p50 ms", "p99 ms", "of bare (paired)", "server CPU ms/req",
               "of bare (CPU)", "errors")  # fmt: skip
    print(table(rows, headers))
    print(f"medians of {args.repeat} alternating runs of {args.seconds:g} s (after {args.warmup:g} s "
          f"warm-up); load average before: {load_before}, after: {load_average()}")  # fmt: skip
    print(json.dumps({f"{k}@{c}": v for (k, c), v in runs.items()}))


if __name__ == "__main__":
    main()
