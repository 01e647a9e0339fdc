"""Soak (not in CI): many clients mixing every kind of query and mutation against a real
`aidrop serve` and `aidrop worker` on loopback, while the database is restarted once and the
worker is killed (SIGKILL) twice. What it reports (issue 13's acceptance):

- responses without a typed error: not JSON, or an error without `extensions.code` (transport
  failures, a client that got no answer at all, are counted apart);
- jobs lost (queued by a mutation and never completed or failed within a grace period after the
  run) and jobs run twice (wallet writes beyond one per completed job: `analysis_count`);
- the API process's RSS growth between the end of the warm-up and the end of the run.

The analyses are the stub analyzer's (tests/stub_analyzer.py): the plumbing is what is soaked.

.venv/bin/python bench/soak.py [--clients 200] [--seconds 60] [--wallets 2000] [--transfers 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path[0] = str(Path(__file__).resolve().parents[1])

from bench.common import embedded, free_port, load_average, table  # noqa: E402

KEY = "soak-key"
WALLET = """query($a: String!) { wallet(address: $a) { address labels analyzedAt
  stats { inDegree outDegree inValue outValue firstSeen lastSeen }
  typology { code } cluster { id } anomaly { score rank flagged } profile { imageUrl }
  transfers(first: 5) { edges { node { hash value ts token } } }
  counterparties(first: 5) { address sent wallet { address } }
  neighbourhood(hops: 1, limit: 10) { addresses } } }"""
QUERIES: list[tuple[str, float]] = [  # (kind, weight)
    ("wallet", 30), ("wallets", 8), ("topAnomalies", 5), ("clusters", 3), ("typologies", 3),
    ("jobs", 5), ("jobsById", 8), ("previewSegment", 4), ("segments", 2), ("campaigns", 2),
    ("analyzeWallet", 20), ("analyzeWallets", 6), ("ingestBlocks", 1), ("bad", 3),
]  # fmt: skip


def request(kind: str, addresses: list[str], jobs: list[str]) -> tuple[dict[str, Any], bool]:
    """(body, needs the key) of one operation of this kind."""
    a = random.choice(addresses)
    if kind == "wallet":
        return {"query": WALLET, "variables": {"a": a}}, False
    if kind == "wallets":
        return {"query": "{ wallets(first: 20) { edges { node { address typology { code } } } } }"}, False
    if kind == "topAnomalies":
        return {"query": "{ topAnomalies(first: 10) { address anomaly { score } } }"}, False
    if kind == "clusters":
        return {"query": "{ clusters { id wallets flagged meanAnomaly } }"}, False
    if kind == "typologies":
        return {"query": "{ typologies { code wallets share } }"}, False
    if kind == "jobs":
        return {"query": "{ jobs(first: 10) { edges { node { id status } } } }"}, False
    if kind == "jobsById":
        ids = random.sample(jobs, min(len(jobs), 20)) or ["none"]
        return {
            "query": "query($i: [ID!]!) { jobsById(ids: $i) { id status } }",
            "variables": {"i": ids},
        }, False
    if kind == "previewSegment":
        q = "query($t: [String!]) { previewSegment(filter: {typologies: $t}) { size } }"
        return {"query": q, "variables": {"t": ["D-*-*-*", "*-T-*-*"]}}, False
    if kind == "segments":
        return {"query": "{ segments { id name } }"}, False
    if kind == "campaigns":
        return {"query": "{ campaigns { id name } }"}, False
    if kind == "analyzeWallet":
        q = "mutation($a: String!, $f: Boolean) { analyzeWallet(address: $a, force: $f) { id } }"
        return {"query": q, "variables": {"a": a, "f": random.random() < 0.3}}, True
    if kind == "analyzeWallets":
        q = "mutation($a: [String!]!) { analyzeWallets(addresses: $a) { id } }"
        return {"query": q, "variables": {"a": random.sample(addresses, 3)}}, True
    if kind == "ingestBlocks":
        return {"query": "mutation { ingestBlocks(from: 1, to: 2) { id } }"}, True
    bad = random.choice([  # hostile or broken: each must come back typed
        {"query": "{ wallet(address: \"0x123\") { address } }"},
        {"query": "{ wallets(first: 100000) { edges { cursor } } }"},
        {"query": "{ nope }"},
        {"query": "{ typologies { code "},
    ])  # fmt: skip
    return bad, False


def typed(body: Any) -> bool:
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(body, dict) or ("data" not in body and not errors):
        return False
    return all(isinstance(e, dict) and (e.get("extensions") or {}).get("code") for e in errors or ())


def threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def client(session: Any, url: str, addresses: list[str], jobs: list[str], stop: float,
                 stats: Counter, codes: Counter, weights: tuple[list[str], list[float]]) -> None:  # fmt: skip
    import aiohttp

    while time.monotonic() < stop:
        kind = random.choices(*weights)[0]
        body, keyed = request(kind, addresses, jobs)
        headers = {"X-API-Key": KEY} if keyed else {}
        try:
            async with session.post(
                url, json=body, headers=headers, timeout=aiohttp.ClientTimeout(total=30)
            ) as r:
                text = await r.text()
            try:
                answer = json.loads(text)
            except ValueError:
                answer = None
            stats["responses"] += 1
            if not typed(answer):
                stats["untyped"] += 1
                codes[f"untyped HTTP {r.status}: {text[:80]}"] += 1
                continue
            for e in answer.get("errors") or ():
                codes[e["extensions"]["code"]] += 1
            data = answer.get("data") or {}
            for field in ("analyzeWallet", "analyzeWallets", "ingestBlocks"):
                got = data.get(field)
                for job in got if isinstance(got, list) else [got] if got else []:
                    jobs.append(job["id"])
            stats["ok" if not answer.get("errors") else "typed_error"] += 1
        except (TimeoutError, aiohttp.ClientError) as exc:
            stats["transport"] += 1
            codes[f"transport: {type(exc).__name__}"] += 1
            await asyncio.sleep(0.2)


async def drive(url: str, addresses: list[str], clients: int, seconds: float, jobs: list[str],
                events: list[tuple[float, Any]]) -> tuple[Counter, Counter]:  # fmt: skip
    import aiohttp

    stats: Counter = Counter()
    codes: Counter = Counter()
    weights = ([k for k, _ in QUERIES], [w for _, w in QUERIES])
    start = time.monotonic()
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:
        stop = start + seconds
        tasks = [asyncio.create_task(client(session, url, addresses, jobs, stop, stats, codes, weights))
                 for _ in range(clients)]  # fmt: skip
        for at, action in events:
            await asyncio.sleep(max(0.0, start + at - time.monotonic()))
            await asyncio.to_thread(action)
        await asyncio.gather(*tasks)
    return stats, codes


async def load(graph_url: str, name: str, wallets: int, transfers: int) -> list[str]:
    from graph.falkor import FalkorStore
    from tests.factories import addr, random_transfers

    store = FalkorStore(graph_url, name)
    await store.ensure_schema()
    for i in range(0, transfers, 10_000):
        await store.write_transfers(random_transfers(min(10_000, transfers - i), wallets, seed=i, start_tx=i))
    await store.close()
    return [addr(i) for i in range(1, wallets + 1)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--wallets", type=int, default=2_000)
    parser.add_argument("--transfers", type=int, default=20_000)
    parser.add_argument("--grace", type=float, default=90.0, help="seconds for the queue to drain after")
    args = parser.parse_args()
    root = Path(__file__).resolve().parents[1]
    exe = str(Path(sys.executable).with_name("aidrop"))
    load_before = load_average()
    with embedded() as server, tempfile.TemporaryDirectory(prefix="aidrop-soak-") as tmp:
        name = "soak"
        addresses = asyncio.run(load(server.graph_url, name, args.wallets, args.transfers))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("AIDROP_")},
               "AIDROP_GRAPH_URL": server.graph_url, "AIDROP_GRAPH_NAME": name, "REDIS_URL": server.redis_url,
               "AIDROP_DATA_DIR": tmp, "AIDROP_API_KEYS": KEY, "AIDROP_PORT": str(port),
               "AIDROP_PUBLIC_URL": url, "AIDROP_RATE_LIMIT": "100000", "AIDROP_RATE_BURST": "100000",
               "AIDROP_JOB_RETRY_BASE": "0.5", "AIDROP_ANALYZER": "tests.stub_analyzer",
               "PYTHONPATH": str(root)}  # fmt: skip
        logs = Path(tmp)

        def spawn(*cmd: str, log: str) -> subprocess.Popen:
            return subprocess.Popen(
                [exe, *cmd], env=env, stdout=(logs / log).open("ab"), stderr=subprocess.STDOUT
            )

        api = spawn("serve", "--log-level", "warning", log="api.log")
        workers = [spawn("worker", log="worker.log")]
        try:
            import requests

            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if requests.get(url + "/readyz", timeout=1).status_code == 200:
                        break
                except requests.RequestException:
                    time.sleep(0.2)
            jobs: list[str] = []
            rss: dict[str, float] = {}
            done_events: list[str] = []

            def kill_worker() -> None:
                workers[-1].send_signal(signal.SIGKILL)
                workers[-1].wait()
                workers.append(spawn("worker", log="worker.log"))
                done_events.append(f"worker killed at {time.strftime('%H:%M:%S')}")

            def restart_db() -> None:
                server.stop()
                server.start()
                done_events.append(f"database restarted at {time.strftime('%H:%M:%S')}")

            s = args.seconds
            events = [(5.0, lambda: rss.__setitem__("start", rss_mb(api.pid))), (s * 0.2, kill_worker),
                      (s * 0.45, restart_db), (s * 0.7, kill_worker),
                      (s - 0.5, lambda: rss.__setitem__("end", rss_mb(api.pid)))]  # fmt: skip
            # the RSS curve, every 10 s: growth that levels off is warm-up, growth that goes on a leak
            curve: list[tuple[float, float, int, int]] = []

            def sample(at: int) -> None:
                try:  # the database's clients (API, worker, this script), -1 while it is down
                    import redis as redis_sync

                    info = redis_sync.Redis.from_url(server.redis_url, socket_timeout=2).info("clients")
                    clients = int(info["connected_clients"])
                except Exception:
                    clients = -1
                curve.append((at, rss_mb(api.pid), clients, threads(api.pid)))

            for at in range(10, int(s), 10):
                events.append((float(at), lambda at=at: sample(at)))
            events.sort(key=lambda e: e[0])
            started = time.monotonic()
            stats, codes = asyncio.run(drive(url + "/graphql", addresses, args.clients, s, jobs, events))
            elapsed = time.monotonic() - started
            # the queue drains: every job ends (completed or failed), none is lost
            # every job the server queued, also those whose mutation's answer the client never got
            import redis as redis_sync

            queued = redis_sync.Redis.from_url(server.redis_url, decode_responses=True).zrange(
                "aidrop:jobs", 0, -1
            )
            unique = sorted(set(jobs) | set(queued))
            pending = list(unique)
            final: dict[str, dict[str, Any]] = {}
            deadline = time.monotonic() + args.grace
            poll = "query($i: [ID!]!) { jobsById(ids: $i) { id status attempts errorCode result } }"
            while pending and time.monotonic() < deadline:
                for i in range(0, len(pending), 500):
                    ask = {"query": poll, "variables": {"i": pending[i : i + 500]}}
                    r = requests.post(
                        url + "/graphql", json=ask, headers={"X-API-Key": KEY}, timeout=30
                    ).json()
                    for job in (r.get("data") or {}).get("jobsById") or ():
                        if job and job["status"] in ("COMPLETED", "FAILED"):
                            final[job["id"]] = job
                pending = [j for j in pending if j not in final]
                time.sleep(1)
            try:
                writes = asyncio.run(_analysis_writes(server.graph_url, name))
            except Exception as exc:  # the figures above still count
                print(f"wallet writes not counted: {exc}", file=sys.stderr)
                writes = -1
            analyses = [j for j in final.values() if "analyze_wallet" in j["id"]]
            completed = [j for j in analyses if j["status"] == "COMPLETED"]
            failed = Counter(j["errorCode"] for j in final.values() if j["status"] == "FAILED")
            api_alive, workers_alive = api.poll() is None, workers[-1].poll() is None
        finally:
            for proc in [api, *workers]:
                if proc.poll() is None:
                    proc.terminate()
            for proc in [api, *workers]:
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
    load_after = load_average()
    growth = 100 * (rss["end"] / rss["start"] - 1) if rss.get("start") else float("nan")
    rows = [
        ("clients x seconds", f"{args.clients} x {args.seconds:g}"),
        ("responses", f"{stats['responses']:,} ({stats['responses'] / elapsed:,.0f}/s)"),
        ("  ok / typed errors", f"{stats['ok']:,} / {stats['typed_error']:,}"),
        ("  without a typed error", stats["untyped"]),
        ("  transport failures", stats["transport"]),
        ("jobs queued (distinct; answered to a client)", f"{len(unique)} ({len(set(jobs))})"),
        ("  lost (not ended after the grace)", len(pending)),
        ("  failed (by code)", ", ".join(f"{k} {v}" for k, v in failed.items()) or "0"),
        ("  analyses ended (completed) / wallet writes", f"{len(analyses)} ({len(completed)}) / {writes}"),
        ("  run twice (writes beyond one per ended job)", max(0, writes - len(analyses))),
        (
            "API RSS start -> end (MB)",
            f"{rss.get('start', 0):.0f} -> {rss.get('end', 0):.0f} ({growth:+.1f}%)",
        ),
        ("API RSS every 10 s (MB)", " ".join(f"{c[1]:.0f}" for c in curve) or "-"),
        ("  API threads", " ".join(str(c[3]) for c in curve) or "-"),
        ("  database clients", " ".join(str(c[2]) for c in curve) or "-"),
        ("API / last worker alive at the end", f"{api_alive} / {workers_alive}"),
        ("events", "; ".join(done_events)),
        ("load average before / after", f"{load_before} / {load_after}"),
    ]
    print(table(rows, ("soak", "figure")))
    print("\nerror codes: " + ", ".join(f"{k} {v}" for k, v in codes.most_common(12)))


async def _analysis_writes(graph_url: str, name: str) -> int:
    from graph import api_reads
    from graph.falkor import FalkorStore

    store = FalkorStore(graph_url, name)
    try:
        total, after = 0, ""
        while True:
            page, more = await api_reads.wallet_page(store, api_reads.WalletFilter(), 500, after)
            found = await store.wallets_by_address(page)
            total += sum(int(w.props.get("analysis_count") or 0) for w in found.values() if w is not None)
            if not more or not page:
                return total
            after = page[-1]
    finally:
        await store.close()


if __name__ == "__main__":
    main()
