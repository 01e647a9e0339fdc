"""One wallet scored on its neighbourhood (graph/features.py `load_neighbourhood`, ml/incremental.py):
the wallet's own features are the whole graph's, on every backend."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from graph.features import load_neighbourhood, load_wallet_graph
from graph.store import GraphStore
from ingest.load import ingest_etl
from ingest.synth import generate
from ml.dataset import build_dataset
from ml.incremental import RELATIVE_FEATURES


def _differ(a: pd.Series, b: pd.Series) -> set[str]:
    return {
        c
        for c in a.index
        if not ((pd.isna(a[c]) and pd.isna(b[c])) or np.isclose(a[c], b[c], rtol=1e-9, atol=1e-12))
    }


@pytest.mark.timeout(300)
async def test_a_wallets_neighbourhood_gives_its_own_features(any_store: GraphStore, tmp_path: Path) -> None:
    generate(tmp_path / "chain", 150, 3, seed=5, progress=False)
    await ingest_etl(any_store, [tmp_path / "chain"])
    full = build_dataset(await load_wallet_graph(any_store))
    busiest = full.features["in_degree"] + full.features["out_degree"]
    order = np.argsort(-busiest.to_numpy(), kind="stable")
    picked = [*full.addresses[order[:3]], *full.addresses[::40], full.addresses[order[-1]]]
    for address in picked:
        graph = await load_neighbourhood(any_store, address)
        sub = build_dataset(graph)
        mine = sub.features.iloc[graph.positions([address])[0]]
        whole = full.features.iloc[full.graph.positions([address])[0]]
        assert not (_differ(whole, mine) - RELATIVE_FEATURES), address
        assert graph.n < full.n  # a neighbourhood, not the graph

    # a counterparty busier than `hub` adds only its transfers with the wallet: the wallet's
    # own figures stay whole
    hub = picked[0]
    quiet = next(a for a in full.addresses[::7] if a != hub)
    graph = await load_neighbourhood(any_store, quiet, hub=3)
    mine = build_dataset(graph).features.iloc[graph.positions([quiet])[0]]
    whole = full.features.iloc[full.graph.positions([quiet])[0]]
    for col in ("in_degree", "out_degree", "in_value", "out_value", "in_counterparties", "active_days"):
        assert mine[col] == pytest.approx(whole[col]), col


def test_the_detector_runs_on_a_small_neighbourhood() -> None:
    """Seven transfers among seven wallets: sibling pairs looked at again, none kept as a link
    (the detector indexed an empty set of links with a mask of one)."""
    from graph.features import WalletGraph

    wallets = pd.DataFrame({"address": [f"0x{i:040x}" for i in range(7)]})
    for col in ("failed_out", "contract_calls", "young_calls"):
        wallets[col] = 0
    for col in ("contract", "token", "nft"):
        wallets[col] = False
    wallets["category"] = wallets["name"] = None
    wallets["created_block"] = np.nan
    edges = pd.DataFrame(
        {"src": [3, 1, 2, 0, 0, 0, 1], "dst": [1, 5, 1, 4, 4, 6, 6],
         "ts": [1700163884, 1700140907, 1700145130, 1700242370, 1700071888, 1700211469, 1700173891],
         "value": [8.903, 9.891, 9.396, 9.64, 9.732, 9.843, 10.208], "token": 0, "tx_count": 1, "fee": 0.0}
    )  # fmt: skip
    found = build_dataset(WalletGraph(wallets, edges, ["ETH"])).laundering()
    assert len(found.wallet_score) == 7 and not found.patterns
