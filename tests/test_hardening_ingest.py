"""Issue 13, findings 5 and 7 replayed: two first loads into an empty graph at once lose nothing;
malformed rows (garbage bytes, a stray quote) are reported by file and line and skipped while the
rest loads; a header-only file says so."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path

import pandas as pd
import pytest

from graph.falkor import FalkorStore
from graph.features import load_wallet_graph
from graph.store import GraphStore
from tests.factories import addr, random_transfers
from tests.test_cli_ingest import aidrop
from tests.test_ingest_files import TX_HEADER, tx_row


def twin(store: GraphStore, request: pytest.FixtureRequest) -> GraphStore:
    """A second client of the same graph (another process's view)."""
    if isinstance(store, FalkorStore):
        return FalkorStore(store.url, store.name)
    return request.getfixturevalue("neo4j_server").store()


async def first_load(store: GraphStore, frames: list[pd.DataFrame], delay: float) -> None:
    await asyncio.sleep(delay)
    sink = await store.open_sink(True)
    try:
        for frame in frames:
            await sink.write(frame)
            await asyncio.sleep(0.05)
    finally:
        await sink.close()


async def test_two_first_loads_at_once_lose_nothing(
    any_store: GraphStore, request: pytest.FixtureRequest
) -> None:
    other = twin(any_store, request)
    a = [random_transfers(300, 40, seed=1, start_tx=0), random_transfers(300, 40, seed=2, start_tx=300)]
    b = [random_transfers(300, 60, seed=3, start_tx=600), random_transfers(300, 60, seed=4, start_tx=900)]
    try:
        # together, a moment later, and once the first load has written part of the graph
        for delay in (0.0, 0.0, 0.01, 0.03, 0.1, 0.3):
            await any_store.clear()
            await any_store.ensure_schema()
            await asyncio.gather(
                first_load(any_store, a, 0), first_load(other, b, delay), schema_during(other, delay)
            )
            assert (await any_store.stats()).transfers == 1200
            assert await _transfers(any_store) == _expected([*a, *b]), delay  # each on its own wallets
    finally:
        if other is not any_store:
            await other.close()


async def schema_during(store: GraphStore, delay: float) -> None:
    """Another command starting meanwhile (`aidrop graph stats`): it writes nothing into a load."""
    await asyncio.sleep(delay)
    await store.ensure_schema()


async def _transfers(store: GraphStore) -> set[tuple[str, str, int]]:
    graph = await load_wallet_graph(store)
    address = graph.wallets["address"].to_numpy()
    e = graph.edges
    return set(zip(address[e["src"]], address[e["dst"]], e["ts"].astype(int), strict=True))


def _expected(frames: list[pd.DataFrame]) -> set[tuple[str, str, int]]:
    rows = pd.concat(frames)
    return set(zip(rows["from_address"], rows["to_address"], rows["ts"].astype(int), strict=True))


# ---- finding 7: malformed rows ------------------------------------------------------------------
def _etl_folder(tmp_path: Path, garbage: bytes) -> Path:
    folder = tmp_path / "etl"
    folder.mkdir()
    rows = [tx_row(i, i, i + 1, 10**18, 100 + i, 1_000 + i) for i in range(1, 41)]
    body = (TX_HEADER + "\n" + "\n".join(rows[:20]) + "\n").encode() + garbage
    body += ("\n".join(rows[20:]) + "\n").encode()
    (folder / "transactions.csv").write_bytes(body)
    (folder / "contracts.csv").write_text(f"address,name,category\n{addr(3)},Pool,DeFi\n")
    (folder / "tokens.csv").write_text(f"address,symbol,name,decimals\n{addr(99)},TKN,Token,18\n")
    return folder


@pytest.mark.parametrize(
    "garbage",
    [
        random.Random(7).randbytes(2048) + b"\n",  # 2 KB of garbage bytes
        tx_row(90, 5, 6, 1, 190, 1_090).replace(",", ',"', 1).encode() + b"\n",  # a stray quote
    ],
    ids=["garbage", "stray-quote"],
)
def test_malformed_rows_are_named_and_skipped(
    cli_env: dict[str, str], tmp_path: Path, garbage: bytes
) -> None:
    folder = _etl_folder(tmp_path, garbage)
    result = aidrop(cli_env, "ingest", "etl", str(folder), "--json")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    assert report["transfers_written"] == 40  # every good row, before and after the bad ones
    assert report["contracts"] == 1 and report["tokens"] == 1
    assert report["errors"][0].startswith("transactions.csv:22: ")  # the first bad line, by file and line


def test_header_only_and_empty_files(cli_env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "transactions.csv"
    path.write_text(TX_HEADER + "\n")
    result = aidrop(cli_env, "ingest", "etl", str(path), "--json")
    assert result.returncode == 0 and "missing column" not in result.stderr
    assert json.loads(result.stdout)["transfers_written"] == 0
    path.write_text("")
    result = aidrop(cli_env, "ingest", "etl", str(path))
    assert result.returncode == 2 and "empty" in result.stderr and "missing column" not in result.stderr
