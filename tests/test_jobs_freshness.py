"""The jobs' analysis of one wallet (ml/analyzer.py's ModelAnalyzer over ml/'s scoring) follows the
graph: a wallet that got new transfers after the last scoring is scored again, not served from
the old scores."""

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
    monkeypatch.setenv("AIDROP_RESCORE_AFTER", "0")
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
    address = labels.loc[(labels["segment"] == "power") & (labels["laundering_id"] == ""), "address"].iloc[0]

    analyzer = ModelAnalyzer.from_settings(get_settings())

    async def analyze() -> WalletAnalysis:
        return await analyzer.analyze(store, (await store.wallets_by_address([address]))[address])

    first = await analyze()
    assert first.typology and first.anomaly_score is not None
    again = await analyze()  # nothing changed: the stored scores (the first came from the run,
    # at full precision; FalkorDB keeps 15 significant digits)
    assert again == replace(first, anomaly_score=again.anomaly_score, ppr=again.ppr)
    assert again.anomaly_score == pytest.approx(first.anomaly_score) and again.ppr == pytest.approx(first.ppr)

    # the wallet sends to 40 fresh addresses: its fan-out and its summary change
    await store.write_transfers(
        transfers([(0, 10_000 + i, 900_000 + i, 5.0, NEW_TS + i) for i in range(40)]).assign(
            from_address=address
        )
    )
    assert (await activity_status(store)).stale
    fresh = await analyze()
    assert fresh.anomaly_version == first.anomaly_version and not (await activity_status(store)).stale
    # scored again with the new transfers: the wallet's summary, written with its scores, has them
    rows = await store.query(LAST_TS, {"a": address})
    assert rows[0]["last"] == NEW_TS + 39

    # two jobs arrive after another change: one scoring serves both, each reads its wallet once
    others = labels.loc[labels["segment"] == "power", "address"].iloc[1:3].tolist()
    await store.write_transfers(
        transfers([(0, 20_000 + i, 950_000 + i, 1.0, NEW_TS + 100 + i) for i in range(5)]).assign(
            from_address=others[0]
        )
    )
    scorings = 0
    score = analyzer._score

    async def counted(s: FalkorStore) -> object:
        nonlocal scorings
        scorings += 1
        return await score(s)

    analyzer._score = counted  # counts the real scoring's runs
    wallets = await store.wallets_by_address(others)
    both = await asyncio.gather(*(analyzer.analyze(store, wallets[a]) for a in others))
    assert scorings == 1 and all(b.anomaly_score is not None for b in both)
