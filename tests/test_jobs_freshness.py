"""The jobs' analysis of one wallet (ml/analyzer.py's ModelAnalyzer) follows the graph: the first
analyses fit the models in one whole-graph scoring; a wallet that got new transfers after it is
scored again on its neighbourhood (not the whole graph), not served from the old scores."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from core.settings import get_settings
from graph.activity import activity_status
from graph.cypher import Statement
from graph.falkor import FalkorStore
from graph.wallet_analysis import WalletAnalysis
from ingest.load import ingest_etl
from ingest.synth import generate
from ml.analyzer import ModelAnalyzer
from tests.factories import transfers

NEW_TS = 1704067200 + 6 * 86400  # after the chain's 5 days
LAST_TS = Statement("test_last_ts", "MATCH (w:Wallet {address: $a}) RETURN w.last_ts AS last")


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("AIDROP_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield tmp_path / "data"
    get_settings.cache_clear()


@pytest.mark.timeout(300)
async def test_new_transfers_get_a_wallet_scored_again(
    store: FalkorStore, data_dir: Path, tmp_path: Path
) -> None:
    generate(tmp_path / "chain", 300, 5, seed=3)
    await ingest_etl(store, [tmp_path / "chain"])
    labels = pd.read_csv(tmp_path / "chain" / "labels.csv", dtype=str, keep_default_na=False)
    honest = labels.loc[(labels["segment"] == "power") & (labels["laundering_id"] == ""), "address"]
    address, other = honest.iloc[0], honest.iloc[1]

    analyzer = ModelAnalyzer.from_settings(get_settings())
    scorings = 0
    score = analyzer._score

    async def counted(s: FalkorStore) -> object:
        nonlocal scorings
        scorings += 1
        return await score(s)

    analyzer._score = counted  # counts the real whole-graph scoring's runs

    async def analyze(a: str = address) -> WalletAnalysis:
        return await analyzer.analyze(store, (await store.wallets_by_address([a]))[a])

    # two jobs before any model is fitted: one whole-graph scoring serves both
    first, _ = await asyncio.gather(analyze(), analyze(other))
    assert scorings == 1 and first.typology and first.anomaly_score is not None
    again = await analyze()  # nothing changed: the stored scores (the first came from the run,
    # at full precision; FalkorDB keeps 15 significant digits)
    assert again == replace(first, anomaly_score=again.anomaly_score, ppr=again.ppr)
    assert again.anomaly_score == pytest.approx(first.anomaly_score) and again.ppr == pytest.approx(first.ppr)
    assert first.anomaly_score < 0.5 and not first.anomaly_flagged

    # fifteen fresh wallets pay it about 10 ETH each, minutes apart, and it sends the lot on: a
    # fan-in the label-free score reads as laundering evidence
    rows = [(10_000 + k, 1, 900_000 + k, 9.9 + 0.01 * k, NEW_TS + 300 * k) for k in range(15)]
    batch = transfers([*rows, (1, 20_000, 950_000, 148.0, NEW_TS + 6_000)])
    one = "0x" + "0" * 39 + "1"
    batch["to_address"] = batch["to_address"].replace(one, address)
    batch["from_address"] = batch["from_address"].replace(one, address)
    await store.write_transfers(batch)
    assert (await activity_status(store)).stale
    fresh = await analyze()
    assert scorings == 1  # its neighbourhood, not the whole graph
    assert fresh.anomaly_version == first.anomaly_version and fresh.typology_version == first.typology_version
    assert fresh.anomaly_score > 0.5 and fresh.anomaly_rank < first.anomaly_rank
    assert "laundering pattern: fan_in" in str(fresh.anomaly_explanation)
    assert fresh.ppr == pytest.approx(first.ppr)  # graph-wide: the last whole-graph run's

    # a whole-graph run sees the same pattern
    run = await score(store)
    at = run.columns["address"].index(address)
    assert run.columns["score"][at] > 0.5 and "fan_in" in str(run.columns["explanation"][at])
