"""The wallets' activity summary (graph/activity.py) on every backend: what a marketer's
activity filters read instead of the transfers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from graph import marketing as gm
from graph.activity import activity_status, refresh_activity
from graph.marketing import SegmentFilter
from graph.model import CATEGORIES
from graph.store import GraphStore
from tests.factories import addr, transfers

pytestmark = pytest.mark.both_backends

AIDROP = str(Path(sys.executable).with_name("aidrop"))
DAY = 86_400
T0 = 1_700_006_400  # a UTC midnight (day 19676)
DEFI, NFT = CATEGORIES.index("DeFi"), CATEGORIES.index("NFT")


async def _props(store: GraphStore, i: int) -> dict:
    from graph.cypher import Statement

    read = Statement("test_activity_props", "MATCH (w:Wallet {address: $a}) RETURN properties(w) AS p")
    return (await store.query(read, {"a": addr(i)}))[0]["p"]


async def _load(store: GraphStore) -> None:
    await store.write_transfers(
        transfers(
            [
                (1, 2, 1, 1.0, T0 + 10),  # day 0
                (1, 3, 2, 2.5, T0 + 20),  # day 0
                (2, 1, 3, 0.5, T0 + DAY + 5),  # day 1
                (1, 1, 4, 9.0, T0 + 2 * DAY),  # day 2, a self-transfer: counts once
                (1, 2, 5, 7.0, T0 + 2 * DAY + 1, addr(77), 0),  # a token: no native value
                (3, 10, 6, 0.25, T0 + 3 * DAY),  # to a DeFi contract
                (11, 3, 7, 0.0, T0 + 4 * DAY),  # from an NFT contract
            ]
        )
    )
    await store.upsert_contracts(
        [{"address": addr(10), "category": "DeFi"}, {"address": addr(11), "category": "NFT"}]
    )


async def test_summary_holds_first_last_daily_native_value_and_categories(any_store: GraphStore) -> None:
    await _load(any_store)
    assert (await activity_status(any_store)).stale  # never written
    status = await refresh_activity(any_store)
    assert status.wallets == 5 and status.transfers == 7 and not status.stale
    assert status.last_ts == T0 + 4 * DAY

    w1 = await _props(any_store, 1)
    assert (w1["first_ts"], w1["last_ts"]) == (T0 + 10, T0 + 2 * DAY + 1)
    day0 = T0 // DAY
    assert w1["activity_days"] == [day0, day0 + 1, day0 + 2]
    assert w1["activity_value"] == [3.5, 0.5, 9.0]  # sent 1 + 2.5; received 0.5; self 9 once
    assert w1["category_ts"] == [0] * len(CATEGORIES)

    w3 = await _props(any_store, 3)
    assert w3["category_ts"][DEFI] == T0 + 3 * DAY and w3["category_ts"][NFT] == T0 + 4 * DAY
    assert w3["activity_value"] == [2.5, 0.25, 0.0]


async def test_segments_read_the_summary(any_store: GraphStore) -> None:
    await _load(any_store)
    await refresh_activity(any_store)

    async def members(f: SegmentFilter) -> dict[str, float | None]:
        return {m.address: m.volume for m in await gm.evaluate(any_store, f)}

    # recency to the second: wallet 2's last transfer is at T0 + 2 days + 1 s
    assert set(await members(SegmentFilter(active_since=T0 + 2 * DAY + 1))) == {addr(1), addr(2), addr(3)}
    assert set(await members(SegmentFilter(active_since=T0 + 2 * DAY + 2))) == {addr(3)}
    # volume by whole UTC days from the day of active_since; no window: all of it
    assert (await members(SegmentFilter(active_since=T0 + DAY + 100, min_volume=9.5))) == {addr(1): 9.5}
    assert set(await members(SegmentFilter(min_volume=2.6))) == {addr(1), addr(3)}
    # categories, in the window or ever
    assert set(await members(SegmentFilter(categories=("NFT",)))) == {addr(3)}
    assert set(await members(SegmentFilter(categories=("DeFi",), active_since=T0 + 3 * DAY + 1))) == set()


async def test_new_transfers_make_the_summary_stale(any_store: GraphStore) -> None:
    await _load(any_store)
    await refresh_activity(any_store, now=T0)  # as if written at T0, before the next write
    await any_store.write_transfers(transfers([(5, 6, 50, 1.0, T0 + 9 * DAY)]))
    status = await activity_status(any_store)
    assert status.stale and status.written_at and status.written_at > T0
    fresh = await refresh_activity(any_store)
    assert not fresh.stale and fresh.last_ts == T0 + 9 * DAY
    assert (await _props(any_store, 6))["last_ts"] == T0 + 9 * DAY


def test_cli_writes_and_reports_the_summary(cli_env: dict[str, str], tmp_path: Path) -> None:
    edges = tmp_path / "edges.csv"
    rows = [f"{addr(1)},{addr(2)},1.5,{T0}", f"{addr(2)},{addr(3)},1,{T0 + DAY}"]
    edges.write_text("from_address,to_address,value,block_timestamp\n" + "\n".join(rows) + "\n")

    def aidrop(*args: str) -> dict:
        done = subprocess.run([AIDROP, *args], env=cli_env, check=True, capture_output=True, text=True)
        return json.loads(done.stdout) if "--json" in args else {}

    aidrop("ingest", "edges", str(edges))
    assert aidrop("graph", "activity", "--status", "--json")["stale"] is True
    data = aidrop("graph", "activity", "--json")
    assert data["stale"] is False and data["wallets"] == 3 and data["transfers"] == 2
