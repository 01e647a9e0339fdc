"""The graph side of wallet intelligence: the transfers ml/ reads, the fan-in/fan-out the
database aggregates, personalised PageRank in Cypher and by local push, results written back."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from graph.features import fan_aggregates, load_wallet_graph
from graph.ppr import graph_ppr, wallet_ppr
from graph.scores import wallet_results, write_anomaly
from graph.store import GraphStore
from ml.features import compute_features
from ml.ppr import personalized_pagerank, source_restart
from tests.factories import addr, random_transfers, transfers

pytestmark = pytest.mark.both_backends  # Neo4j: PPR through GDS


# a small graph with a known shape: 1 and 2 pay 3, 3 forwards to 4 twice, 4 pays 5; 6 -> 7 apart
ROWS = [
    (1, 3, 1, 1.0, 1_700_000_000),
    (2, 3, 2, 2.0, 1_700_003_600),
    (3, 4, 3, 1.5, 1_700_007_200),
    (3, 4, 4, 1.25, 1_700_090_000),
    (4, 5, 5, 0.5, 1_700_100_000),
    (6, 7, 6, 9.0, 1_700_000_000),
]


async def test_wallet_graph_holds_every_transfer(store: GraphStore) -> None:
    await store.write_transfers(transfers(ROWS))
    await store.write_transfers(random_transfers(400, 60, seed=3, start_tx=100))
    graph = await load_wallet_graph(store)
    stats = await store.stats()
    assert graph.n == stats.wallets and len(graph.edges) == stats.transfers == 406
    e = graph.edges.assign(src=graph.wallets["address"].to_numpy()[graph.edges["src"]],
                           dst=graph.wallets["address"].to_numpy()[graph.edges["dst"]])  # fmt: skip
    forwarded = e[(e["src"] == addr(3)) & (e["dst"] == addr(4))].sort_values("ts")
    assert forwarded["value"].tolist() == [1.5, 1.25]
    assert forwarded["ts"].tolist() == [1_700_007_200, 1_700_090_000]


async def test_database_fan_aggregates_equal_the_features_from_transfers(store: GraphStore) -> None:
    await store.write_transfers(random_transfers(600, 80, seed=5))
    graph = await load_wallet_graph(store)
    features = compute_features(graph).assign(address=graph.wallets["address"])
    db = (await fan_aggregates(store)).set_index("address")
    mine = features.set_index("address").loc[db.index]
    for col in ("in_degree", "out_degree", "in_tx", "out_tx", "in_counterparties", "out_counterparties"):
        assert (db[col].to_numpy() == mine[col].to_numpy()).all(), col
    for col in ("in_value", "out_value"):
        assert np.allclose(db[col].to_numpy(dtype=float), mine[col].to_numpy(), rtol=1e-12), col
    first = np.fmin(db["first_in"].to_numpy(dtype=float), db["first_out"].to_numpy(dtype=float))
    assert np.array_equal(first, mine["first_seen"].to_numpy())


async def test_layering_features_on_a_known_shape(store: GraphStore) -> None:
    await store.write_transfers(transfers(ROWS))
    graph = await load_wallet_graph(store)
    f = compute_features(graph).set_index(graph.wallets["address"])
    three = f.loc[addr(3)]
    assert (three["in_counterparties"], three["out_counterparties"]) == (2, 1)
    assert three["pass_through"] == pytest.approx(2.75 / 3.0)
    # sends 1 h and 24 h after the last receipt before them: median 12.5 h
    assert three["forward_hours"] == pytest.approx((1.0 + 24.0) / 2)
    assert three["fan_in_share"] == pytest.approx(2 / 3)
    assert f.loc[addr(4), "oneoff_in_share"] == 0.0  # 3 paid it twice
    assert f.loc[addr(3), "source_senders"] == 1.0  # 1 and 2 never received anything


def _reference(graph, restart: np.ndarray, alpha: float = 0.5) -> np.ndarray:  # type: ignore[no-untyped-def]
    e = graph.edges
    return personalized_pagerank(e["src"].to_numpy(), e["dst"].to_numpy(), e["tx_count"].to_numpy(float),
                                 graph.n, restart, alpha, tol=1e-15, max_iter=1000)  # fmt: skip


async def test_cypher_ppr_matches_scipy(store: GraphStore) -> None:
    await store.write_transfers(transfers(ROWS))
    await store.write_transfers(random_transfers(300, 40, seed=9, start_tx=100))
    graph = await load_wallet_graph(store)
    e = graph.edges
    ref = _reference(graph, source_restart(e["src"].to_numpy(), e["dst"].to_numpy(), graph.n))
    addresses = graph.wallets["address"].tolist()
    power = await graph_ppr(store, method="power")
    assert np.abs(np.array([power.scores[a] for a in addresses]) - ref).max() < 1e-12
    push = await graph_ppr(store, method="push", eps=1e-7)
    assert np.abs(np.array([push.scores[a] for a in addresses]) - ref).max() < 1e-5
    left = await store.wallet(addresses[0])
    assert "ppr" in left.props and not any(k.startswith("ppr_") for k in left.props)


async def test_wallet_ppr_matches_scipy_and_stays_in_the_neighbourhood(store: GraphStore) -> None:
    await store.write_transfers(transfers(ROWS))
    await store.write_transfers(random_transfers(300, 40, seed=11, start_tx=100))  # wallets 1..40
    # a separate component the walk from wallet 1 can never reach
    far = [(1000 + i, 1000 + (i * 7) % 50, 10_000 + i, 1.0, 1_700_000_000 + i) for i in range(200)]
    await store.write_transfers(transfers(far))
    graph = await load_wallet_graph(store)
    restart = np.zeros(graph.n)
    restart[graph.positions([addr(1)])[0]] = 1.0
    ref = _reference(graph, restart)
    run = await wallet_ppr(store, addr(1), eps=1e-8, limit=1000)
    got = np.array([run.scores.get(a, 0.0) for a in graph.wallets["address"]])
    assert np.abs(got - ref).max() < 1e-4
    assert list(run.scores)[0] == addr(1)
    assert run.touched <= 41  # the wallets of its component, never the far one


async def test_results_written_onto_wallets(store: GraphStore) -> None:
    await store.write_transfers(transfers(ROWS))
    explanation = json.dumps([{"feature": "in_counterparties", "contribution": 0.2, "value": 2}])
    await write_anomaly(store, {"address": [addr(3), addr(4)], "score": [0.9, 0.1], "rank": [1, 2],
                                "flagged": [True, False], "explanation": [explanation, "[]"],
                                "model": "aidrop", "version": "v1"})  # fmt: skip
    got = await wallet_results(store, addr(3))
    assert (got["anomaly_score"], got["anomaly_rank"], got["anomaly_flagged"]) == (0.9, 1, True)
    assert (got["anomaly_model"], got["anomaly_version"]) == ("aidrop", "v1")
    assert json.loads(got["anomaly_explanation"])[0]["feature"] == "in_counterparties"
    assert pd.isna(got["typology"])
