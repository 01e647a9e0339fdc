"""Acceptance on the shared real datasets (skipped when ../shared/datasets is absent)."""

from __future__ import annotations

import pytest

from graph.cypher import Statement
from graph.falkor import FalkorStore
from ingest.load import ingest_edges, ingest_etl
from tests.conftest import dataset

pytestmark = pytest.mark.both_backends

FAILED = Statement("failed", "MATCH ()-[t:TRANSFER]->() WHERE t.status = 0 RETURN count(t) AS n, "
                   "sum(t.value) AS value, collect(DISTINCT t.value_raw) AS raw")  # fmt: skip


async def test_xblock_twice_changes_nothing(store: FalkorStore) -> None:
    folder = dataset("xblock-phishing")
    first = await ingest_etl(store, [folder])
    assert first.mode == "bulk"
    assert first.rows_rejected == 0
    assert first.transfers_written == 101_307
    stats = await store.stats()
    assert stats.transfers == 101_307
    second = await ingest_etl(store, [folder])
    assert second.mode == "merge"
    assert (second.transfers_written, second.wallets_created) == (0, 0)
    assert await store.stats() == stats
    failed = (await store.query(FAILED))[0]
    assert failed["n"] == 7_484
    assert failed["value"] == 0 and failed["raw"] == ["0"]
    constraints = await store.constraints()
    assert [(c["label"], c["properties"], c["status"]) for c in constraints] == [
        ("Wallet", ["address"], "OPERATIONAL")
    ]


async def test_tedge_edge_list(store: FalkorStore) -> None:
    edges = dataset("tedge-phishing", "edges.csv")
    report = await ingest_edges(store, [edges])
    assert report.rows_rejected == 0
    stats = await store.stats()
    assert (stats.transfers, stats.wallets) == (106_083, 86_622)
    again = await ingest_edges(store, [edges])
    assert again.transfers_written == 0
    assert await store.stats() == stats
