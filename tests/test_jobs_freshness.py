"""The jobs' analysis of one wallet (jobs/batch_analyzer.py over ml/'s batch scoring) follows the
graph: a wallet that got new transfers after the last scoring is scored again, not served from
the old scores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from core.settings import get_settings
from graph.activity import activity_status
from graph.cypher import Statement
from graph.falkor import FalkorStore
from ingest.load import ingest_etl
from ingest.synth import generate
from jobs import batch_analyzer
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

    first = await batch_analyzer.analyze_wallet(store, address)
    assert first is not None and first["typology"] and first["anomaly_score"] is not None
    again = await batch_analyzer.analyze_wallet(store, address)
    assert again == first  # nothing changed: the stored scores

    # the wallet sends to 40 fresh addresses: its fan-out and its summary change
    await store.write_transfers(
        transfers([(0, 10_000 + i, 900_000 + i, 5.0, NEW_TS + i) for i in range(40)]).assign(
            from_address=address
        )
    )
    assert (await activity_status(store)).stale
    fresh = await batch_analyzer.analyze_wallet(store, address)
    assert fresh is not None and not (await activity_status(store)).stale
    # scored again with the new transfers: the wallet's summary, written with its scores, has them
    rows = await store.query(LAST_TS, {"a": address})
    assert rows[0]["last"] == NEW_TS + 39
