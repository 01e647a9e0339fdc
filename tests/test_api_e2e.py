"""The frontend's path over HTTP against real `aidrop serve` and `aidrop worker` processes: analyse a
wallet, follow the job, read the wallet with everything filled; lists, paging, subscriptions, the
batch client, and the DataLoaders keeping a list of wallets at a constant number of graph queries."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import requests
from websockets.sync.client import connect

from graph.falkor import FalkorStore
from tests.apiserver import AIDROP, KEY, Stack, stack
from tests.factories import addr, random_transfers

WALLET_FIELDS = """
  address labels analyzedAt ppr
  stats { inDegree outDegree inTx outTx fanIn fanOut inValue outValue firstSeen lastSeen }
  typology { code axes { axis value probability } }
  cluster { id version profile }
  anomaly { score rank flagged model version explanation { factor contribution } }
  profile { imageUrl metadataUrl source }
  transfers(first: 5) { edges { cursor node { hash logIndex fromAddress toAddress value ts } }
                        pageInfo { hasNextPage endCursor } }
  counterparties(first: 3) { address sent received transfers wallet { address } }
  neighbourhood(hops: 2, limit: 10) { center addresses truncated nodes { address }
                                      edges { fromAddress toAddress transfers value } }
"""
ANALYZE = "mutation($a: String!, $f: Boolean) { analyzeWallet(address: $a, force: $f) { id status kind } }"
JOB = """query($id: ID!) {
  job(id: $id) { id status progress attempts error createdAt startedAt finishedAt result } }"""


async def load(stack_: Stack, n: int = 600, wallets: int = 40) -> None:
    store = FalkorStore(stack_.server.graph_url, stack_.graph)
    await store.ensure_schema()
    await store.write_transfers(random_transfers(n, wallets, seed=3))
    await store.upsert_contracts([{"address": addr(wallets), "category": "DeFi", "name": "Pool"}])
    await store.close()


@pytest.fixture(scope="module")
async def api(falkor_server, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    with stack(falkor_server, tmp_path_factory.mktemp("api"), {"STUB_ANALYSIS_DELAY": "0.3"}) as s:
        await load(s)
        yield s


def wait_job(api: Stack, job_id: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = api.data(JOB, {"id": job_id})["job"]
        if job["status"] in ("COMPLETED", "FAILED"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} not done:\n{api.log('worker0')}")


def test_analyze_poll_and_read_the_whole_wallet(api: Stack) -> None:
    address = addr(7)
    job = api.data(ANALYZE, {"a": address.upper().replace("0X", "0x")})["analyzeWallet"]
    assert job["status"] in ("QUEUED", "RUNNING") and job["kind"] == "analyze_wallet"
    # the same wallet and model version while the job is pending: the same job
    again = api.data(ANALYZE, {"a": address})["analyzeWallet"]
    assert again["id"] == job["id"]

    done = wait_job(api, job["id"])
    assert done["status"] == "COMPLETED", done
    assert done["progress"] == 1.0 and done["attempts"] == 1 and done["error"] is None
    assert done["createdAt"] <= done["startedAt"] <= done["finishedAt"]
    assert done["result"]["address"] == address and done["result"]["written"] is True

    w = api.data(f'{{ wallet(address: "{address}") {{ {WALLET_FIELDS} }} }}')["wallet"]
    assert w["address"] == address and w["analyzedAt"] > 0 and 0 <= w["ppr"] <= 1
    s = w["stats"]
    assert s["fanIn"] > 0 and s["fanOut"] > 0 and s["inDegree"] + s["outDegree"] > 0
    assert s["firstSeen"] <= s["lastSeen"] and s["outValue"] > 0
    assert re.fullmatch(r"[DNGSU]-[TH]-[AS]-[CI]", w["typology"]["code"])
    assert [a["axis"] for a in w["typology"]["axes"]] == ["focus", "pattern", "risk", "community"]
    assert all(0 <= a["probability"] <= 1 for a in w["typology"]["axes"])
    assert w["cluster"]["id"] is not None and w["cluster"]["profile"]
    anomaly = w["anomaly"]
    assert 0 <= anomaly["score"] <= 1 and anomaly["rank"] >= 1 and anomaly["model"] and anomaly["version"]
    assert anomaly["explanation"] and all(f["factor"] for f in anomaly["explanation"])

    # profile image and NFT metadata, served by the API from the local blob folder
    image = requests.get(w["profile"]["imageUrl"], timeout=10)
    assert image.status_code == 200 and image.headers["content-type"].startswith("image/svg+xml")
    assert image.content.startswith(b"<svg") and address.encode() in image.content
    meta = requests.get(w["profile"]["metadataUrl"], timeout=10).json()
    assert meta["image"] == w["profile"]["imageUrl"] and w["profile"]["source"] == "avatar"
    assert meta["name"] and address in meta["description"]
    traits = {a["trait_type"]: a["value"] for a in meta["attributes"]}
    assert {"focus", "pattern", "risk", "community", "cluster", "anomaly band"} <= set(traits)
    assert traits["cluster"] == str(w["cluster"]["id"])

    edges = w["transfers"]["edges"]
    assert len(edges) == 5 and w["transfers"]["pageInfo"]["hasNextPage"]
    times = [e["node"]["ts"] for e in edges]
    assert times == sorted(times, reverse=True)
    assert all(address in (e["node"]["fromAddress"], e["node"]["toAddress"]) for e in edges)
    nxt = api.data(
        """query($a: String!, $c: String) {
          wallet(address: $a) { transfers(first: 5, after: $c) { edges { node { hash ts } } } } }""",
        {"a": address, "c": w["transfers"]["pageInfo"]["endCursor"]},
    )["wallet"]["transfers"]["edges"]
    assert nxt and {e["node"]["hash"] for e in nxt}.isdisjoint({e["node"]["hash"] for e in edges})
    assert nxt[0]["node"]["ts"] <= times[-1]

    cps = w["counterparties"]
    assert len(cps) == 3 and all(c["wallet"]["address"] == c["address"] for c in cps)
    assert [c["transfers"] for c in cps] == sorted((c["transfers"] for c in cps), reverse=True)
    hood = w["neighbourhood"]
    assert hood["center"] == address and 0 < len(hood["nodes"]) <= 10 and hood["edges"]
    assert {n["address"] for n in hood["nodes"]} == set(hood["addresses"])

    # a completed analysis is reused; force runs it again, and each job writes the wallet once
    assert api.data(ANALYZE, {"a": address})["analyzeWallet"]["id"] == job["id"]
    forced = api.data(ANALYZE, {"a": address, "f": True})["analyzeWallet"]
    assert forced["id"] != job["id"]
    assert wait_job(api, forced["id"])["status"] == "COMPLETED"
    counts = asyncio.run(_analysis_counts(api, [address]))
    assert counts == {address: 2}


async def _analysis_counts(api: Stack, addresses: list[str]) -> dict[str, int]:
    from graph.cypher import Statement

    store = FalkorStore(api.server.graph_url, api.graph)
    rows = await store.query(
        Statement(
            "t", "UNWIND $a AS x MATCH (w:Wallet {address: x}) RETURN x AS address, w.analysis_count AS n"
        ),
        {"a": addresses},
    )
    await store.close()
    return {r["address"]: r["n"] for r in rows}


def test_lists_rankings_and_distributions(api: Stack) -> None:
    addresses = [addr(i) for i in range(1, 21)]
    jobs = api.data("mutation($a: [String!]!) { analyzeWallets(addresses: $a) { id } }", {"a": addresses})
    ids = [j["id"] for j in jobs["analyzeWallets"]]
    assert len(set(ids)) == 20
    assert all(j["status"] == "COMPLETED" for j in api.wait_jobs(ids).values())

    top = api.data("{ topAnomalies(first: 5) { address anomaly { score rank } } }")["topAnomalies"]
    scores = [w["anomaly"]["score"] for w in top]
    assert len(top) == 5 and scores == sorted(scores, reverse=True)
    assert api.data('{ topAnomalies(first: 5, model: "no-such-model") { address } }')["topAnomalies"] == []

    typologies = api.data("{ typologies { code wallets share } }")["typologies"]
    assert sum(t["wallets"] for t in typologies) >= 20 and abs(sum(t["share"] for t in typologies) - 1) < 1e-3
    clusters = api.data("{ clusters { id wallets flagged meanAnomaly profile } }")["clusters"]
    assert clusters and sum(c["wallets"] for c in clusters) >= 20 and all(c["profile"] for c in clusters)

    # Relay paging over a filter: pages are disjoint and cover exactly the filtered wallets
    code = typologies[0]["code"]
    seen, cursor = [], None
    query = """query($c: String, $f: WalletFilter) { wallets(first: 2, after: $c, filter: $f) {
      edges { cursor node { address typology { code } } } pageInfo { hasNextPage endCursor } totalCount } }"""
    while True:
        page = api.data(query, {"c": cursor, "f": {"typology": code}})["wallets"]
        seen += [e["node"]["address"] for e in page["edges"]]
        assert all(e["node"]["typology"]["code"] == code for e in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        cursor = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == page["totalCount"] == typologies[0]["wallets"]
    assert seen == sorted(seen)
    flagged = api.data(
        "{ wallets(first: 100, filter: {flagged: true}) { edges { node { anomaly { flagged } } } } }"
    )
    assert all(e["node"]["anomaly"]["flagged"] for e in flagged["wallets"]["edges"])

    listed = api.data(
        """{ jobs(status: COMPLETED, first: 5) {
          edges { cursor node { id status } } pageInfo { hasNextPage endCursor } } }"""
    )
    page1 = listed["jobs"]
    assert len(page1["edges"]) == 5 and page1["pageInfo"]["hasNextPage"]
    page2 = api.data(
        "query($c: String) { jobs(status: COMPLETED, first: 5, after: $c) { edges { node { id } } } }",
        {"c": page1["pageInfo"]["endCursor"]},
    )["jobs"]["edges"]
    assert {e["node"]["id"] for e in page2}.isdisjoint({e["node"]["id"] for e in page1["edges"]})


def _graph_queries(api: Stack) -> int:
    text = requests.get(api.url + "/metrics", timeout=5).text
    return int(sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith("aidrop_graph_queries_total")))  # fmt: skip


def test_a_list_of_wallets_costs_a_constant_number_of_graph_queries(api: Stack) -> None:
    query = """query($n: Int!) { wallets(first: $n) { edges { node {
      address stats { fanIn fanOut } typology { code } anomaly { score }
      counterparties(first: 2) { address wallet { address stats { fanIn } } }
      transfers(first: 2) { edges { node { hash } } }
    } } } }"""
    costs = []
    for n in (3, 30):
        before = _graph_queries(api)
        wallets = api.data(query, {"n": n})["wallets"]["edges"]
        costs.append(_graph_queries(api) - before)
        assert len(wallets) == n and all(w["node"]["stats"] for w in wallets)
        assert all(len(w["node"]["transfers"]["edges"]) == 2 for w in wallets)
    assert costs[0] == costs[1] <= 10, costs


def test_job_updates_over_websocket(api: Stack) -> None:
    job = api.data(ANALYZE, {"a": addr(9), "f": True})["analyzeWallet"]
    updates = []
    with connect(api.url.replace("http", "ws") + "/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(ws.recv(timeout=5))["type"] == "connection_ack"
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
            "query": "subscription($id: ID!) { jobUpdates(id: $id) { id status progress wallet { address } } }",  # noqa: E501
            "variables": {"id": job["id"]}}}))  # fmt: skip
        while True:
            message = json.loads(ws.recv(timeout=30))
            if message["type"] == "complete":
                break
            assert message["type"] == "next", message
            updates.append(message["payload"]["data"]["jobUpdates"])
    statuses = [u["status"] for u in updates]
    assert statuses[-1] == "COMPLETED" and updates[-1]["wallet"]["address"] == addr(9)
    assert len(updates) >= 2 and set(statuses) <= {"QUEUED", "RUNNING", "COMPLETED"}
    progress = [u["progress"] for u in updates]
    assert progress == sorted(progress) and progress[-1] == 1.0


def test_records_outlive_the_worker(api: Stack) -> None:
    job = api.data(ANALYZE, {"a": addr(11), "f": True})["analyzeWallet"]
    assert wait_job(api, job["id"])["status"] == "COMPLETED"
    for proc in api.workers:
        api.kill_worker(proc, 15)
    assert api.data(JOB, {"id": job["id"]})["job"]["status"] == "COMPLETED"
    api.start_worker()
    assert api.data(JOB, {"id": job["id"]})["job"]["status"] == "COMPLETED"
    missing = api.gql('{ job(id: "analyze_wallet-nope-1") { id } }')
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def test_batch_client(api: Stack, tmp_path: Path) -> None:
    listing = tmp_path / "wallets.csv"
    listing.write_text("address,note\n" + "\n".join(f"{addr(i)},x" for i in range(12, 16)) + "\n")
    env = {**api.env, "AIDROP_API_KEY": KEY}
    args = [AIDROP, "analyze", "--file", str(listing), addr(16), "--json", "--url", api.url + "/graphql"]
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["address"] for r in rows] == [addr(16)] + [addr(i) for i in range(12, 16)]  # arguments first
    assert all(r["status"] == "completed" and r["typology"] and r["image_url"] for r in rows)

    bad = subprocess.run([AIDROP, "analyze", "0x1234", "--url", api.url + "/graphql"], env=env,
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert bad.returncode != 0 and "INVALID_ADDRESS" in bad.stderr
    args = [AIDROP, "analyze", addr(3), "--url", api.url + "/graphql"]
    nokey = subprocess.run(
        args, env={**api.env, "AIDROP_API_KEYS": ""}, capture_output=True, text=True, timeout=60
    )
    assert nokey.returncode != 0 and "UNAUTHENTICATED" in nokey.stderr
