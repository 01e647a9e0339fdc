"""A graph exported with `aidrop graph export neo4j-admin` and loaded by Neo4j's own importer
(`aidrop neo4j import`) into a real local Neo4j holds the same graph, analysis results and
segments as the FalkorDB it came from; docs/neo4j-browser.md's queries run against it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from core.errors import QueryTimeout
from graph.activity import save_activity
from graph.cypher import Statement
from graph.features import load_wallet_graph
from graph.labels import Label, write_labels
from graph.marketing import SegmentFilter, save_segment, segment_members
from graph.neo4j_server import LocalNeo4j
from graph.neo4j_store import Neo4jStore
from graph.ppr import graph_ppr
from graph.scores import wallet_results, write_anomaly, write_clusters, write_growth, write_typology
from graph.store import GraphStore
from tests.conftest import free_port
from tests.factories import addr, random_transfers
from tests.test_neo4j_lint import guide_blocks

AIDROP = str(Path(sys.executable).with_name("aidrop"))
_SHOW_CONSTRAINTS = Statement("show_constraints", "SHOW CONSTRAINTS YIELD name RETURN name")
_DROP_PROJECTION = Statement("drop", "CALL gds.graph.drop('wallets', false) YIELD graphName RETURN 1")
_BUSIEST = Statement(
    "busiest",
    "MATCH (w:Wallet) RETURN w.address AS address ORDER BY COUNT { (w)-[:TRANSFER]-() } DESC LIMIT 2",
)


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
    await write_labels(
        store, [Label(addr(5), "Tornado", "mixer", "test"), Label(addr(5), "x", "scam", "test")]
    )
    await write_growth(store, {
        "address": wallets[:3], "churn_risk": [0.1, 0.5, None], "expected_active_days": [3.0, 9.5, None],
        "propensity": [[0.2, -1.0, 0.3, 0.4], None, [0.1, 0.1, 0.1, 0.1]], "growth_version": "g1",
    })  # fmt: skip
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
    printed = aidrop(env, "neo4j", "import", str(out)).splitlines()
    lines = dict(line.removeprefix("export ").split("=", 1) for line in printed)
    neo4j_env = {**env, "AIDROP_GRAPH_BACKEND": "neo4j", **lines}
    copy = Neo4jStore(lines["NEO4J_URI"], lines["NEO4J_USER"], lines["NEO4J_PASSWORD"])
    yield wallets, neo4j_env, copy
    await copy.close()


@pytest.mark.timeout(1800)  # two JVMs: Neo4j's importer, then a second server on the import
async def test_import_equals_the_source(store: GraphStore, cli_env: dict[str, str], imported) -> None:  # type: ignore[no-untyped-def]
    wallets, neo4j_env, copy = imported
    source_stats = aidrop(cli_env, "graph", "stats", "--json")
    assert aidrop(neo4j_env, "graph", "stats", "--json") == source_stats
    assert json.loads(source_stats)["transfers"] == 1_500
    for address in wallets[:: max(1, len(wallets) // 20)] + wallets[:3] + [addr(3), addr(5)]:
        assert await wallet_results(copy, address) == await wallet_results(store, address), address
        mine, theirs = await copy.wallet(address), await store.wallet(address)
        assert (mine.labels, mine.category, mine.name) == (theirs.labels, theirs.category, theirs.name)
        for key in theirs.props:  # every property the source wallet has
            assert mine.props.get(key) == theirs.props.get(key), (address, key)
    assert [m.address for m in await segment_members(copy, "whales")] == [
        m.address for m in await segment_members(store, "whales")
    ]
    schema = await copy.query(_SHOW_CONSTRAINTS)
    assert {"wallet_address", "transfer_chain_identity"} <= {r["name"] for r in schema}
    await guide_queries_run(copy, wallets)


PARAM = re.compile(r"^:param (\w+) => (.+?);?$", re.M)


async def guide_queries_run(neo4j: Neo4jStore, wallets: list[str]) -> None:
    """Every ```cypher block of docs/neo4j-browser.md, in order, with its `:param` values
    (addresses replaced by wallets of this graph); the result queries return rows."""
    blocks = list(guide_blocks().items())
    neo4j.query_timeout = 60
    params: dict[str, object] = {}
    for _, text in blocks:
        for name, expr in PARAM.findall(text):
            params[name] = (await neo4j.query(Statement("param", f"RETURN {expr} AS v")))[0]["v"]
    assert {"address", "source", "target", "since", "until", "category", "symbol"} <= set(params)
    busiest = await neo4j.query(_BUSIEST)
    params.update(address=busiest[0]["address"], source=busiest[0]["address"], target=busiest[1]["address"],
                  since=0, until=2**40, category="DeFi")  # fmt: skip
    rows: dict[str, int] = {}
    for name, text in blocks:
        if text.lstrip().startswith(":"):
            continue
        if "gds.graph.project(" in text:  # the guide offers two projections of one name
            await neo4j.query(
                Statement("drop", "CALL gds.graph.drop('wallets', false) YIELD graphName RETURN 1")
            )
        # a block's own parameter the Parameters block does not set (e.g. a pattern id): null
        own = {p: None for p in re.findall(r"\$(\w+)", text) if p not in params}
        try:  # a guide query that expands a whole busy graph fails here, by name, not by hanging
            rows[name] = len(await neo4j.query(Statement(name, text), {**params, **own}))
        except QueryTimeout:
            pytest.fail(f"docs/neo4j-browser.md block {name!r} ran past {neo4j.query_timeout} s")
    answered = [text for name, text in blocks if rows.get(name)]
    assert len(rows) >= 25 and len(answered) >= 20, rows
    for needle in (
        "w.anomaly_score IS NOT NULL",
        "w.typology IS NOT NULL",
        "w.cluster IS NOT NULL",
        "(s:Segment)",
    ):
        assert any(needle in text for text in answered), needle
