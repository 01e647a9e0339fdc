"""Synthetic data loaded into the graph as it is: counts equal the files', every laundering
typology has its shape among its members, campaign conversions are visible as calls."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from graph.cypher import Statement
from graph.store import GraphStore
from ingest.load import ingest_etl
from ingest.synth import CampaignParams, LaunderingParams, generate
from ingest.synth.laundering import TYPES

pytestmark = pytest.mark.both_backends

AIDROP = str(Path(sys.executable).with_name("aidrop"))

OUT_OF = Statement(
    "test_synth_out_of",
    """
MATCH (a:Wallet)-[t:TRANSFER]->(b:Wallet)
WHERE a.address IN $addresses AND t.ts >= $start AND t.ts <= $end
RETURN a.address AS src, b.address AS dst, t.ts AS ts, t.value AS value, t.token AS token
""",
)
CALLERS = Statement(
    "test_synth_callers",
    """
MATCH (a:Wallet)-[t:TRANSFER]->(c:Wallet {address: $contract})
WHERE t.ts >= $since
RETURN a.address AS address, min(t.ts) AS ts
""",
)


def read(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)


def addresses_in_files(folder: Path) -> set[str]:
    tx, tt, receipts = read(folder, "transactions"), read(folder, "token_transfers"), read(folder, "receipts")
    found = set(tx["from_address"]) | set(tx["to_address"]) | set(receipts["contract_address"])
    found |= set(tt["token_address"]) | set(tt["from_address"]) | set(tt["to_address"])
    found |= set(read(folder, "contracts")["address"]) | set(read(folder, "tokens")["address"])
    return found - {""}


async def test_graph_counts_equal_file_counts(store: GraphStore, tmp_path: Path) -> None:
    summary = generate(tmp_path, 2000, 14, seed=2, campaign=True)
    report = await ingest_etl(store, [tmp_path])
    assert report.rows_rejected == 0 and report.rows_skipped == 0
    stats = await store.stats()
    n_tx, n_tt = len(read(tmp_path, "transactions")), len(read(tmp_path, "token_transfers"))
    assert (n_tx, n_tt) == (summary.transactions, summary.token_transfers)
    assert stats.transfers == report.transfers_written == n_tx + n_tt
    assert stats.token_transfers == n_tt
    assert stats.wallets == len(addresses_in_files(tmp_path))
    assert stats.contracts == len(read(tmp_path, "contracts"))
    assert stats.tokens == len(read(tmp_path, "tokens"))
    router = read(tmp_path, "contracts").query("name == 'Swapline: Router 2'")["address"].item()
    wallet = await store.wallet(router)
    assert "Contract" in wallet.labels and wallet.category == "DeFi"


def _check_shape(
    kind: str, members: list[str], roles: list[str], edges: pd.DataFrame, exits: set[str]
) -> None:
    """The pattern's transfers (largest per pair, in its asset) have the typology's shape."""
    pairs = set(zip(edges["src"], edges["dst"], strict=True))
    by_role = {r: [m for m, x in zip(members, roles, strict=True) if x == r] for r in set(roles)}

    def all_edges(sources: list[str], targets: list[str]) -> bool:
        return all((s, t) in pairs for s in sources for t in targets)

    def first(src: str, dst: str) -> pd.Series:
        return edges[(edges["src"] == src) & (edges["dst"] == dst)].iloc[0]

    if kind == "fan_in":
        assert len(by_role["source"]) == len(members) - 1 and all_edges(by_role["source"], by_role["hub"])
    elif kind == "fan_out":
        assert len(by_role["sink"]) == len(members) - 1 and all_edges(by_role["hub"], by_role["sink"])
    elif kind in ("cycle", "peel"):
        hops = [(members[i], members[(i + 1) % len(members)]) for i in range(len(members))]
        hops = hops if kind == "cycle" else hops[:-1]
        steps = [first(s, t) for s, t in hops]
        assert all(a.ts < b.ts for a, b in zip(steps, steps[1:], strict=False))
        ratios = [b.value / a.value for a, b in zip(steps, steps[1:], strict=False)]
        if kind == "cycle":  # a skim of 1-5% at each hop
            assert all(0.94 < r < 0.995 for r in ratios), ratios
        else:  # each hop peels a slice off to an exchange
            assert all(r < 0.995 for r in ratios), ratios
            assert all(any((s, x) in pairs for x in exits) for s, _ in hops)
    elif kind == "scatter_gather":
        assert all_edges(by_role["source"], by_role["mid"]) and all_edges(by_role["mid"], by_role["sink"])
        scatter = edges[edges["src"].isin(by_role["source"]) & edges["dst"].isin(by_role["mid"])]
        gather = edges[edges["src"].isin(by_role["mid"]) & edges["dst"].isin(by_role["sink"])]
        assert scatter["ts"].max() < gather["ts"].min()
    elif kind == "gather_scatter":
        assert all_edges(by_role["source"], by_role["hub"]) and all_edges(by_role["hub"], by_role["sink"])
        hub = by_role["hub"][0]
        assert edges.loc[edges["dst"] == hub, "ts"].max() < edges.loc[edges["src"] == hub, "ts"].min()
    elif kind == "bipartite":
        sources, sinks = by_role["source"], by_role["sink"]
        assert all(any((s, t) in pairs for t in sinks) for s in sources)
        assert all(any((s, t) in pairs for s in sources) for t in sinks)
    elif kind == "stack":
        assert all_edges(by_role["layer0"], by_role["layer1"]) and all_edges(
            by_role["layer1"], by_role["layer2"]
        )
    else:
        raise AssertionError(kind)


async def test_every_laundering_typology_has_its_shape_in_the_graph(
    store: GraphStore, tmp_path: Path
) -> None:
    params = LaunderingParams(period_days=3.0)
    generate(tmp_path, 1000, 14, seed=4, laundering_share=0.15, laundering=params)
    await ingest_etl(store, [tmp_path])
    labels = read(tmp_path, "labels").set_index("address")
    patterns = read(tmp_path, "laundering")
    contracts = read(tmp_path, "contracts")
    exits = set(contracts.loc[contracts["category"] == "Exchange", "address"])
    usdt = contracts.loc[contracts["name"] == "Tether USD", "address"].item()
    assert set(patterns["laundering_type"]) == set(TYPES)
    for p in patterns.itertuples():
        members = p.members.split()
        roles = labels.loc[members, "laundering_role"].tolist()
        start, end = int(p.start), int(p.end)
        assert end - start <= params.period_days * 86400
        rows = await store.query(OUT_OF, {"addresses": members, "start": start, "end": end})
        edges = pd.DataFrame(rows, columns=["src", "dst", "ts", "value", "token"])
        edges = edges[(edges["token"] == ("ETH" if p.asset == "ETH" else usdt))]
        edges = edges[edges["dst"].isin(set(members) | exits)]
        edges = edges.sort_values("value", ascending=False).drop_duplicates(["src", "dst"])
        _check_shape(p.laundering_type, members, roles, edges, exits)


async def test_campaign_conversions_are_calls_after_the_start(store: GraphStore, tmp_path: Path) -> None:
    generate(tmp_path, 1500, 20, seed=8, campaign=True,
             campaign_params=CampaignParams(start_day=10, baseline=0.1, uplift=0.15))  # fmt: skip
    await ingest_etl(store, [tmp_path])
    campaign = read(tmp_path, "campaign")
    contract = read(tmp_path, "contracts").query("name.str.startswith('Quest Pass')")["address"].item()
    start = 1_704_067_200 + 10 * 86400
    rows = await store.query(CALLERS, {"contract": contract, "since": 0})
    callers = {r["address"]: r["ts"] for r in rows if r["address"] in set(campaign["address"])}
    converted = campaign[campaign["converted"] == "1"]
    assert callers == dict(zip(converted["address"], converted["converted_at"].astype(int), strict=True))
    assert min(callers.values()) >= start
    rate = campaign["converted"].astype(int).groupby(campaign["group"]).mean()
    assert rate["treatment"] > rate["control"] + 0.05


@pytest.mark.parametrize("wallets", [300])
def test_cli_synth_then_ingest(cli_env: dict[str, str], tmp_path: Path, wallets: int) -> None:
    out = tmp_path / "synth"

    def aidrop(*args: str) -> dict:
        done = subprocess.run([AIDROP, *args], env=cli_env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    summary = aidrop("synth", "--out", str(out), "--wallets", str(wallets), "--days", "7", "--seed", "1",
                     "--campaign", "--json")  # fmt: skip
    assert summary["files"]["labels"] == wallets and summary["files"]["campaign"] == wallets // 2
    report = aidrop("ingest", "etl", str(out), "--json")
    assert report["rows_rejected"] == 0 and report["transfers_written"] == summary["transfers"]
    stats = aidrop("graph", "stats", "--json")
    assert stats["transfers"] == summary["transfers"]
    assert stats["token_transfers"] == summary["token_transfers"]
