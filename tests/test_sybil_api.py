"""Sybil clusters over GraphQL against a real `aidrop serve`: a wallet's cluster with members and
evidence, clusters paged biggest first, and the keyed appeal mutation with its review status."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from graph import sybil as gs
from graph.falkor import FalkorStore
from ingest.load import ingest_etl
from ingest.synth import generate
from ml.sybil.pipeline import detect
from tests.apiserver import KEY, Stack, stack

WALLET = """query($a: String!) { wallet(address: $a) { address sybil {
  cluster { id size score evidenceCounts members(first: 500) evidence(first: 50) { kind a b transactions } }
  appeals { id status reason } } } }"""
CLUSTERS = """query($after: String) { sybilClusters(minSize: 3, first: 2, after: $after) {
  clusters { id size } endCursor hasNextPage } }"""
APPEAL = """mutation($a: String!, $r: String!) { appealSybil(address: $a, reason: $r) {
  id address cluster reason status createdAt } }"""


@pytest.fixture(scope="module")
async def api(falkor_server, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[Stack, list]]:
    tmp = tmp_path_factory.mktemp("sybil-api")
    generate(tmp / "synth", 600, 14, seed=5, sybil_share=0.1)
    with stack(falkor_server, tmp, workers=0) as s:
        store = FalkorStore(s.server.graph_url, s.graph)
        await ingest_etl(store, [tmp / "synth"])
        await detect(store)
        clusters = await gs.clusters(store, first=1000)
        await store.close()
        yield s, clusters


def test_wallet_sybil_cluster_and_evidence(api: tuple[Stack, list]) -> None:
    s, clusters = api
    top = clusters[0]
    first = """{ sybilClusters(minSize: 3, first: 1) { clusters { id members(first: 3) } } }"""
    members = s.data(first)["sybilClusters"]["clusters"][0]
    assert members["id"] == top.id and len(members["members"]) == 3
    wallet = s.data(WALLET, {"a": members["members"][0]})["wallet"]
    cluster = wallet["sybil"]["cluster"]
    assert (cluster["id"], cluster["size"]) == (top.id, top.size) and len(cluster["members"]) == top.size
    assert cluster["evidenceCounts"] == top.evidence_counts
    assert cluster["evidence"] and all(e["transactions"] and e["kind"] in top.evidence_counts
                                       for e in cluster["evidence"])  # fmt: skip
    assert wallet["sybil"]["appeals"] == []


def test_clusters_are_paged_biggest_first(api: tuple[Stack, list]) -> None:
    s, clusters = api
    seen, after = [], None
    while True:
        page = s.data(CLUSTERS, {"after": after})["sybilClusters"]
        seen += page["clusters"]
        if not page["hasNextPage"]:
            break
        after = page["endCursor"]
    assert [c["id"] for c in seen] == [c.id for c in clusters]
    bad = s.gql(CLUSTERS, {"after": "not a cursor"}, key=KEY)
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_appeal_needs_a_key_and_is_recorded_open(api: tuple[Stack, list]) -> None:
    s, clusters = api
    member = s.data(WALLET.replace("$a: String!", "$a: String!"), {"a": _member(s, clusters[-1].id)})[
        "wallet"
    ]
    address = member["address"]
    anonymous = s.gql(APPEAL, {"a": address, "r": "mine"}, key=None)
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    appeal = s.data(APPEAL, {"a": address, "r": "I run one wallet, the others are friends"})["appealSybil"]
    assert (appeal["address"], appeal["cluster"], appeal["status"]) == (address, clusters[-1].id, "open")
    again = s.gql(APPEAL, {"a": address, "r": "again"}, key=KEY)
    assert again["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    outsider = s.gql(APPEAL, {"a": "0x" + "ef" * 20, "r": "why"}, key=KEY)
    assert outsider["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    shown = s.data(WALLET, {"a": address})["wallet"]["sybil"]["appeals"]
    assert [(a["id"], a["status"]) for a in shown] == [(appeal["id"], "open")]


def _member(s: Stack, cluster_id: str) -> str:
    rows = s.data("""{ sybilClusters(minSize: 2, first: 1000) { clusters { id members(first: 1) } } }""")
    return next(c["members"][0] for c in rows["sybilClusters"]["clusters"] if c["id"] == cluster_id)
