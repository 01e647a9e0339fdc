"""The acceptance path with ml/'s real models, not the test stub: a synthetic chain loaded, then a
frontend asks analyzeWallet for a wallet nobody has scored; the worker's analysis (ml/'s batch
scoring, models fitted and registered on the spot) fills every field of the wallet, and the
other wallets' analyses reuse that scoring."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import requests

from graph.falkor import FalkorStore
from ingest.load import ingest_etl
from ingest.synth import generate
from tests.apiserver import Stack, stack
from tests.test_api_e2e import WALLET_FIELDS


@pytest.fixture(scope="module")
async def chain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ml-chain")
    generate(folder, 600, 20, seed=5, laundering_share=0.05)
    return folder


@pytest.fixture(scope="module")
async def api(falkor_server, tmp_path_factory, chain: Path) -> AsyncIterator[Stack]:
    # AIDROP_ANALYZER empty: the analyzer jobs/analysis.py picks by itself (ml/)
    with stack(falkor_server, tmp_path_factory.mktemp("api-ml"), {"AIDROP_ANALYZER": ""}) as s:
        store = FalkorStore(falkor_server.graph_url, s.graph)
        await ingest_etl(store, [chain])
        await store.close()
        yield s


def personas(chain: Path, n: int) -> list[str]:
    with (chain / "labels.csv").open() as fh:
        rows = [
            r for r in csv.DictReader(fh) if r["segment"] in ("power", "active") and not r["laundering_id"]
        ]
    return [r["address"] for r in rows[:n]]


@pytest.mark.timeout(300)
def test_analyze_with_the_real_models(api: Stack, chain: Path) -> None:
    first, *others = personas(chain, 11)
    job = api.data("mutation($a: String!) { analyzeWallet(address: $a) { id status } }", {"a": first})
    done = api.wait_jobs([job["analyzeWallet"]["id"]], timeout=240)
    record = next(iter(done.values()))
    assert record["status"] == "COMPLETED", (record, api.log("worker0"))

    w = api.data(f'{{ wallet(address: "{first}") {{ {WALLET_FIELDS} }} }}')["wallet"]
    assert w["typology"]["code"] and len(w["typology"]["code"].split("-")) == 4
    assert [a["axis"] for a in w["typology"]["axes"]] == ["focus", "pattern", "risk", "community"]
    assert all(0 < a["probability"] <= 1 for a in w["typology"]["axes"])
    assert "-".join(a["value"] for a in w["typology"]["axes"]) == w["typology"]["code"]
    assert w["cluster"]["id"] is not None and w["cluster"]["version"]
    assert w["cluster"]["profile"]["traits"] and w["cluster"]["profile"]["size"] > 0
    anomaly = w["anomaly"]
    assert anomaly["model"] == "aidrop" and anomaly["version"] and 1 <= anomaly["rank"] <= 700
    assert anomaly["explanation"] and all(f["factor"] for f in anomaly["explanation"])
    assert w["ppr"] is not None and w["stats"]["fanOut"] > 0
    assert w["transfers"]["edges"] and w["counterparties"] and w["neighbourhood"]["nodes"]
    image = requests.get(w["profile"]["imageUrl"], timeout=10)
    assert image.status_code == 200 and image.content.startswith(b"<svg")
    meta = requests.get(w["profile"]["metadataUrl"], timeout=10).json()
    traits = {a["trait_type"]: a["value"] for a in meta["attributes"]}
    assert traits["typology"] == w["typology"]["code"] and traits["cluster"] == str(w["cluster"]["id"])

    # the others reuse the scoring: no second batch
    jobs = api.data("mutation($a: [String!]!) { analyzeWallets(addresses: $a) { id } }", {"a": others})
    results = api.wait_jobs([j["id"] for j in jobs["analyzeWallets"]], timeout=120)
    assert all(r["status"] == "COMPLETED" for r in results.values())
    top = api.data("{ topAnomalies(first: 3) { anomaly { rank model } } }")["topAnomalies"]
    ranks = [t["anomaly"]["rank"] for t in top]
    assert ranks[0] == 1 and ranks == sorted(ranks)  # ties share a rank
    clusters = api.data("{ clusters { id wallets profile } }")["clusters"]
    assert len(clusters) >= 2 and all(c["profile"] for c in clusters)
    for model in ("aidrop", "typology", "clusters"):  # fitted once, on the first analysis
        versions = [d for d in (api.tmp / "data" / "models" / model).iterdir() if d.is_dir()]
        assert len(versions) == 1, (model, versions)

    # the evidence behind the label-free score: patterns, and a launderer's part in them
    page = api.data("{ patterns(first: 2) { totalCount edges { cursor node { id type score } } "
                    "pageInfo { hasNextPage endCursor } } }")["patterns"]  # fmt: skip
    assert page["totalCount"] >= 1 and page["edges"]
    scores = [e["node"]["score"] for e in page["edges"]]
    assert scores == sorted(scores, reverse=True)
    if page["pageInfo"]["hasNextPage"]:
        after = api.data('query($a: String) { patterns(first: 1, after: $a) { edges { node { id } } } }',
                         {"a": page["pageInfo"]["endCursor"]})["patterns"]  # fmt: skip
        assert after["edges"][0]["node"]["id"] not in {e["node"]["id"] for e in page["edges"]}
    with (chain / "labels.csv").open() as fh:
        launderers = [r["address"] for r in csv.DictReader(fh) if r["laundering_id"]]
    query = ("query($a: String!) { wallet(address: $a) { address laundering { patterns { type role window "
             "value wallets { address } transfers { hash } } } } }")  # fmt: skip
    found = [api.data(query, {"a": a})["wallet"] for a in launderers]
    with_patterns = [w for w in found if w["laundering"]["patterns"]]
    assert len(with_patterns) >= len(launderers) // 2
    p = with_patterns[0]["laundering"]["patterns"][0]
    assert with_patterns[0]["address"] in {m["address"] for m in p["wallets"]} and p["role"]
    assert p["transfers"] and all(t["hash"].startswith("0x") for t in p["transfers"])
    assert p["window"]["start"] <= p["window"]["end"] and p["value"] > 0
    bad = api.gql('{ patterns(after: "nonsense") { totalCount } }')
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
