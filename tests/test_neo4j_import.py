"""A graph exported with `aidrop graph export neo4j-admin` and loaded by Neo4j's own importer
(`aidrop neo4j import`) into a real local Neo4j holds the same graph, analysis results and
segments as the FalkorDB it came from; docs/neo4j-browser.md's queries run against it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from graph.activity import save_activity
from graph.cypher import Statement
from graph.features import load_wallet_graph
from graph.marketing import SegmentFilter, save_segment, segment_members
from graph.neo4j_server import LocalNeo4j
from graph.neo4j_store import Neo4jStore
from graph.ppr import graph_ppr
from graph.scores import wallet_results, write_anomaly, write_clusters, write_typology
from graph.store import GraphStore
from tests.conftest import ROOT, free_port
from tests.factories import addr, random_transfers

AIDROP = str(Path(sys.executable).with_name("aidrop"))
_SHOW_CONSTRAINTS = Statement("show_constraints", "SHOW CONSTRAINTS YIELD name RETURN name")
GUIDE = ROOT / "docs" / "neo4j-browser.md"


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNeo4j]:
    """A second local Neo4j for imports (the import replaces its database)."""
    server = LocalNeo4j(tmp_path_factory.mktemp("neo4j-import"), free_port(), heap="512m")
    yield server
    server.stop()


def aidrop(env: dict[str, str], *args: str, timeout: float = 600) -> str:
    proc = subprocess.run([AIDROP, *args], env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


async def analysed(store: GraphStore) -> list[str]:
    """A graph with every kind of result aidrop writes: scores, PPR, activity, a segment."""
    await store.write_transfers(random_transfers(1_500, 80, seed=12))
    await store.upsert_contracts([{"address": addr(3), "category": "DeFi", "name": 'Pool "A"', "block": 7}])
    graph = await load_wallet_graph(store)
    wallets = graph.wallets["address"].tolist()
    n = len(wallets)
    await write_anomaly(store, {
        "address": wallets, "score": [i / n for i in range(n)], "rank": list(range(n, 0, -1)),
        "flagged": [i % 7 == 0 for i in range(n)], "explanation": ['[{"feature": "x"}]'] * n,
        "model": "aidrop", "version": "v1",
    })  # fmt: skip
    await write_typology(store, {
        "address": wallets, "code": ["D-T-A-C"] * n, "axes": ['{"a": {"D": 0.9}}'] * n,
        "explanation": ["{}"] * n, "version": "t1",
    })  # fmt: skip
    await write_clusters(store, {"address": wallets, "cluster": [i % 4 for i in range(n)], "version": "c1"})
    await graph_ppr(store, method="power")
    await save_activity(store, graph)
    await save_segment(store, "whales", "Whales", SegmentFilter(clusters=(1,)), created_at=1_700_000_000)
    return wallets


@pytest.fixture
async def imported(
    store: GraphStore, cli_env: dict[str, str], target: LocalNeo4j, tmp_path: Path
) -> AsyncIterator[tuple[list[str], dict[str, str], Neo4jStore]]:
    wallets = await analysed(store)
    out = tmp_path / "export"
    aidrop(cli_env, "graph", "export", "neo4j-admin", str(out))
    env = {k: v for k, v in cli_env.items() if not k.startswith(("AIDROP_", "NEO4J_"))}
    env.update(
        AIDROP_DATA_DIR=str(target.home.parent), AIDROP_NEO4J_PORT=str(target.port), AIDROP_NEO4J_HEAP="512m"
    )
    lines = dict(line.split("=", 1) for line in aidrop(env, "neo4j", "import", str(out)).splitlines())
    neo4j_env = {**env, "AIDROP_GRAPH_BACKEND": "neo4j", **lines}
    copy = Neo4jStore(lines["NEO4J_URI"], lines["NEO4J_USER"], lines["NEO4J_PASSWORD"])
    yield wallets, neo4j_env, copy
    await copy.close()


async def test_import_equals_the_source(store: GraphStore, cli_env: dict[str, str], imported) -> None:  # type: ignore[no-untyped-def]
    wallets, neo4j_env, copy = imported
    source_stats = aidrop(cli_env, "graph", "stats", "--json")
    assert aidrop(neo4j_env, "graph", "stats", "--json") == source_stats
    assert json.loads(source_stats)["transfers"] == 1_500
    for address in wallets[:: max(1, len(wallets) // 20)] + [addr(3)]:
        assert await wallet_results(copy, address) == await wallet_results(store, address), address
        mine, theirs = await copy.wallet(address), await store.wallet(address)
        assert (mine.labels, mine.category, mine.name) == (theirs.labels, theirs.category, theirs.name)
        for key in ("ppr", "first_ts", "last_ts", "activity_days", "activity_value", "category_ts"):
            assert mine.props.get(key) == theirs.props.get(key), (address, key)
    assert [m.address for m in await segment_members(copy, "whales")] == [
        m.address for m in await segment_members(store, "whales")
    ]
    schema = await copy.query(_SHOW_CONSTRAINTS)
    assert {"wallet_address", "transfer_identity"} <= {r["name"] for r in schema}
