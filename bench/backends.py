"""The same work on FalkorDB and on the local Neo4j (GDS, APOC) in one run, with ratios.

- first load: FalkorDB's bulk path (GRAPH.BULK) against Neo4j's importer over the export
  (`aidrop graph export neo4j-admin` + `aidrop neo4j import`, the importer's JVM timed alone);
- incremental MERGE of new transfers onto the loaded graph (batched UNWIND ... MERGE);
- fan-in/fan-out of every wallet in the database;
- PPR from the sources: GDS pageRank (projection included) against scipy over the pulled
  transfers and FalkorDB's Cypher push;
- the full scoring pipeline (every model fitted on the spot, then scoring), on the synthetic
  chain and on the tedge edge list (when ../shared/datasets has it; Neo4j gets it by import);
- the GraphQL wallet query (address, stats, scores, top counterparties) through the API's
  GraphQL app in process, one at a time over random wallets: p50 and p99.

The graph is the synthetic chain of `aidrop synth` (--wallets, --days). Neo4j runs with
AIDROP_NEO4J_HEAP (1g by default).

.venv/bin/python bench/backends.py [--wallets 27000 --days 30] [--increment 50000] [--json out.json]
                                  [--no-tedge | --only-tedge]
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

from bench.common import embedded, free_port, load_average, table  # noqa: E402

TEDGE = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "tedge-phishing"


def _increment(n: int, wallets: list[str], seed: int = 7):  # type: ignore[no-untyped-def]
    """`n` new transfers between known wallets (the graph grows, its wallets mostly stay)."""
    from graph.model import NATIVE_TOKEN
    from ingest.batch import transfer_frame

    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(wallets), size=(2, n))
    return transfer_frame(
        from_address=[wallets[i] for i in pick[0]],
        to_address=[wallets[i] for i in pick[1]],
        hash=[f"0x{(10**12 + i):064x}" for i in range(n)],
        log_index=-1,
        value=rng.random(n),
        value_raw="1",
        token=NATIVE_TOKEN,
        ts=1_900_000_000 + np.arange(n),
        block=30_000_000 + np.arange(n) // 100,
        status=1,
        tx_count=1,
    )


async def _timed(coro) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = await coro
    return time.perf_counter() - started, result


WALLET_QUERY = (
    "query($a: String!) { wallet(address: $a) { address stats { fanIn fanOut inValue outValue } "
    "anomaly { score } typology { code } counterparties(first: 5) { address transfers } } }"
)


async def _graphql(store, addresses: list[str], n: int = 400) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """p50 and p99 (ms) of the wallet query through the API's GraphQL app, in process."""
    from api.app import GraphQLApp
    from api.context import Services
    from api.metrics import Metrics
    from core.settings import Settings

    settings = Settings()
    app = GraphQLApp({"services": Services(settings, store, None, None, None)}, settings, Metrics())  # type: ignore[arg-type]
    rng = np.random.default_rng(3)
    latencies = []
    for i in range(n + 20):
        raw = json.dumps({"query": WALLET_QUERY, "variables": {"a": addresses[rng.integers(len(addresses))]}})
        sent: list[dict] = []
        scope = {"type": "http", "method": "POST", "path": "/graphql", "raw_path": b"/graphql",
                 "root_path": "", "scheme": "http", "query_string": b"", "http_version": "1.1",
                 "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1),
                 "headers": [(b"content-type", b"application/json")]}  # fmt: skip

        async def receive(body: bytes = raw.encode()) -> dict:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict, out: list = sent) -> None:
            out.append(message)

        started = time.perf_counter()
        await app(scope, receive, send)
        if i >= 20:  # the first ones warm caches and plans
            latencies.append(time.perf_counter() - started)
        body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        assert b'"errors"' not in body, body[:300]
    q = np.percentile(latencies, [50, 99]) * 1000
    return float(q[0]), float(q[1])


async def _work(store, registry_dir: Path, increment, addresses: list[str]) -> dict:  # type: ignore[no-untyped-def]
    """Incremental MERGE, fan aggregates, in-database PPR and scoring on one store."""
    from graph.features import fan_aggregates
    from graph.ppr import graph_ppr, read_ppr

    out: dict = {}
    out["fan_s"], _ = await _timed(fan_aggregates(store))
    method = {} if store.backend == "neo4j" else {"method": "push", "eps": 1e-6}
    # in the database, the scores left on the wallets; read back (untimed) for the check
    out["ppr_s"], _ = await _timed(graph_ppr(store, read=False, **method))
    out["ppr"] = await read_ppr(store)  # on the graph scipy saw
    seconds, written = await _timed(store.write_transfers(increment))
    out["merge_s"], out["merge_n"] = seconds, written.transfers_written  # type: ignore[attr-defined]
    out.update(await _scoring(store, registry_dir))
    out["gql_p50_ms"], out["gql_p99_ms"] = await _graphql(store, addresses)
    return out


async def _scoring(store, registry_dir: Path) -> dict:  # type: ignore[no-untyped-def]
    """The full scoring pipeline: every model fitted on the spot, then with the fitted models
    (and that run's seconds per stage)."""
    from ml.pipeline import Timer, score
    from ml.registry import Registry

    registry = Registry(registry_dir)
    fit_s, _ = await _timed(score(store, registry))
    timer = Timer()
    score_s, _ = await _timed(score(store, registry, timer=timer))
    stages = {k: round(v, 2) for k, v in timer.stages.items()}
    return {"fit_score_s": fit_s, "score_s": score_s, "score_stages": stages}


def _same(got, want) -> None:  # type: ignore[no-untyped-def]
    """The import holds the source's graph: equal counts, the value sum to its last digit (the
    two databases add up the values in another order)."""
    import dataclasses

    def key(s):  # type: ignore[no-untyped-def]
        return dataclasses.replace(
            s, total_value=0.0, chains=tuple(dataclasses.replace(c, total_value=0.0) for c in s.chains)
        )

    assert key(got) == key(want), f"the import differs from the source: {got} != {want}"
    assert abs(got.total_value - want.total_value) <= 1e-9 * max(1.0, want.total_value), (got, want)


async def _tedge(falkor, server, work: Path, results: dict) -> None:  # type: ignore[no-untyped-def]
    """Scoring on the tedge edge list on both backends (Neo4j gets it through its importer)."""
    from graph.export import export_neo4j_admin
    from graph.falkor import FalkorStore
    from graph.neo4j_store import Neo4jStore
    from ingest.load import ingest_edges

    store = FalkorStore(falkor.graph_url, "tedge")
    await store.ensure_schema()
    await ingest_edges(store, [TEDGE / "edges.csv"])
    stats = await store.stats()
    results["tedge"] = {"wallets": stats.wallets, "transfers": stats.transfers}
    await export_neo4j_admin(store, work / "tedge-export")
    status = server.import_export(work / "tedge-export")
    neo4j = Neo4jStore(status.uri, status.user, status.password)
    try:
        await neo4j.ensure_schema()
        _same(await neo4j.stats(), stats)
        results["tedge"]["neo4j"] = await _scoring(neo4j, work / "tedge-reg-neo4j")
    finally:
        await neo4j.close()
    results["tedge"]["falkordb"] = await _scoring(store, work / "tedge-reg-falkor")
    await store.close()


async def run(args: argparse.Namespace) -> dict:
    from graph.export import export_neo4j_admin
    from graph.falkor import FalkorStore
    from graph.features import load_wallet_graph
    from graph.neo4j_server import LocalNeo4j
    from graph.neo4j_store import Neo4jStore
    from ingest.load import ingest_etl
    from ingest.synth import generate
    from ml.ppr import personalized_pagerank, source_restart

    results: dict = {"load_average_before": load_average()}
    if args.only_tedge:
        with embedded() as falkor, tempfile.TemporaryDirectory(prefix="aidrop-bench-") as tmp:
            server = LocalNeo4j(Path(tmp) / "neo4j-data", free_port(), heap=args.heap)
            try:
                await _tedge(falkor, server, Path(tmp), results)
            finally:
                server.stop()
        results["load_average_after"] = load_average()
        return results
    with embedded() as falkor, tempfile.TemporaryDirectory(prefix="aidrop-bench-") as tmp:
        work = Path(tmp)
        generate(work / "synth", args.wallets, args.days, seed=1, progress=False)
        store = FalkorStore(falkor.graph_url, "bench")
        await store.ensure_schema()
        seconds, _ = await _timed(ingest_etl(store, [work / "synth"]))
        stats = await store.stats()
        results["graph"] = {"wallets": stats.wallets, "transfers": stats.transfers}
        results["falkordb_load_s"] = seconds
        await export_neo4j_admin(store, work / "export")

        graph = await load_wallet_graph(store)
        e = graph.edges
        src, dst, w = e["src"].to_numpy(), e["dst"].to_numpy(), e["tx_count"].to_numpy(float)
        started = time.perf_counter()
        ref = personalized_pagerank(src, dst, w, graph.n, source_restart(src, dst, graph.n), 0.5, tol=1e-12)
        results["scipy_ppr_s"] = time.perf_counter() - started
        addresses = graph.wallets["address"].tolist()
        increment = _increment(args.increment, addresses)

        server = LocalNeo4j(work / "neo4j-data", free_port(), heap=args.heap)
        status = server.import_export(work / "export")
        results["neo4j_import_s"] = server.last_import_s
        neo4j = Neo4jStore(status.uri, status.user, status.password)
        try:
            await neo4j.ensure_schema()
            _same(await neo4j.stats(), stats)
            results["neo4j"] = await _work(neo4j, work / "reg-neo4j", increment, addresses)
            await neo4j.close()
            if (TEDGE / "edges.csv").exists() and not args.no_tedge:
                await _tedge(falkor, server, work, results)
        finally:
            await neo4j.close()
            server.stop()
        results["falkordb"] = await _work(store, work / "reg-falkor", increment, addresses)
        await store.close()
        for backend in ("falkordb", "neo4j"):
            scores = results[backend].pop("ppr")
            got = np.array([scores.get(a, 0.0) for a in addresses])
            results[backend]["ppr_max_abs_diff"] = float(np.abs(got - ref).max())
    results["load_average_after"] = load_average()
    return results


def _tedge_rows(r: dict) -> list[tuple]:
    t = r["tedge"]
    f, j = t["falkordb"], t["neo4j"]
    ff, fs, jf, js = f["fit_score_s"], f["score_s"], j["fit_score_s"], j["score_s"]
    return [
        (f"tedge ({t['transfers']:,}): scoring, fitted", f"{ff:.1f} s", f"{jf:.1f} s", f"{ff / jf:.2f}"),
        ("tedge: scoring, fitted models", f"{fs:.1f} s", f"{js:.1f} s", f"{fs / js:.2f}"),
    ]


def _stages(r: dict) -> str:
    """Seconds per pipeline stage of the scoring with fitted models, per backend."""
    lines = []
    for name, runs in (("1M", r), ("tedge", r.get("tedge", {}))):
        for backend in ("falkordb", "neo4j"):
            stages = runs.get(backend, {}).get("score_stages")
            if stages:
                lines.append(f"{name} {backend}: " + ", ".join(f"{k} {v:.1f}" for k, v in stages.items()))
    return "\n".join(lines)


def report(r: dict) -> str:
    if "graph" not in r:  # --only-tedge
        head = f"load average {r['load_average_before']} -> {r['load_average_after']}"
        rows = table(_tedge_rows(r), ("work", "FalkorDB", "Neo4j", "FalkorDB s / Neo4j s"))
        return head + "\n" + rows + "\n" + _stages(r)
    n = r["graph"]["transfers"]
    f, j = r["falkordb"], r["neo4j"]

    def rate(count: int, s: float) -> str:
        return f"{count / s:,.0f}/s ({s:.1f} s)"

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.2f}"

    rows = [
        (
            "first load",
            "GRAPH.BULK " + rate(n, r["falkordb_load_s"]),
            "importer " + rate(n, r["neo4j_import_s"]),
            ratio(r["falkordb_load_s"], r["neo4j_import_s"]),
        ),
        (
            "incremental MERGE",
            rate(f["merge_n"], f["merge_s"]),
            rate(j["merge_n"], j["merge_s"]),
            ratio(f["merge_s"], j["merge_s"]),
        ),
        (
            "fan-in/fan-out, every wallet",
            f"{f['fan_s']:.2f} s",
            f"{j['fan_s']:.2f} s",
            ratio(f["fan_s"], j["fan_s"]),
        ),
        (
            f"PPR (scipy {r['scipy_ppr_s']:.2f} s)",
            f"Cypher push {f['ppr_s']:.2f} s",
            f"GDS {j['ppr_s']:.2f} s",
            ratio(f["ppr_s"], j["ppr_s"]),
        ),
        ("PPR max |diff| vs scipy", f"{f['ppr_max_abs_diff']:.1e}", f"{j['ppr_max_abs_diff']:.1e}", ""),
        (
            "scoring, models fitted",
            f"{f['fit_score_s']:.1f} s",
            f"{j['fit_score_s']:.1f} s",
            ratio(f["fit_score_s"], j["fit_score_s"]),
        ),
        (
            "GraphQL wallet query p50 / p99",
            f"{f['gql_p50_ms']:.1f} / {f['gql_p99_ms']:.1f} ms",
            f"{j['gql_p50_ms']:.1f} / {j['gql_p99_ms']:.1f} ms",
            ratio(f["gql_p50_ms"], j["gql_p50_ms"]),
        ),
        (
            "scoring, fitted models",
            f"{f['score_s']:.1f} s",
            f"{j['score_s']:.1f} s",
            ratio(f["score_s"], j["score_s"]),
        ),
    ]
    if "tedge" in r:
        rows += _tedge_rows(r)
    head = f"{r['graph']['wallets']:,} wallets, {n:,} transfers"
    head += f"; load average {r['load_average_before']} -> {r['load_average_after']}"
    return (
        head + "\n" + table(rows, ("work", "FalkorDB", "Neo4j", "FalkorDB s / Neo4j s")) + "\n" + _stages(r)
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--wallets", type=int, default=27_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument(
        "--increment", type=int, default=50_000, help="transfers merged onto the loaded graph"
    )
    parser.add_argument("--heap", default="1g", help="Neo4j's JVM heap")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--no-tedge", action="store_true", help="skip the tedge scoring rows")
    parser.add_argument("--only-tedge", action="store_true", help="only the tedge scoring rows")
    args = parser.parse_args()
    results = asyncio.run(run(args))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    print(report(results))


if __name__ == "__main__":
    main()
