"""Every GraphStore operation, on every backend reachable (FalkorDB always, Neo4j with NEO4J_URI)."""

from __future__ import annotations

import asyncio

import pytest

from core.errors import InvalidAddress, NotFound
from graph.cypher import Statement
from graph.model import NATIVE_TOKEN
from graph.store import GraphStore
from tests.factories import addr, random_transfers, transfers

TOKEN = addr(999)

# 1 -> 2 (two transfers), 2 -> 3, 3 -> 1, 1 -> 4 token transfer, 4 -> 5, 5 -> 6
ROWS = [
    (1, 2, 101, 1.5, 1_000),
    (1, 2, 102, 2.5, 1_100),
    (2, 3, 103, 1.0, 1_200),
    (3, 1, 104, 0.5, 1_300),
    (1, 4, 105, 7.0, 1_400, TOKEN, 3),
    (4, 5, 106, 1.0, 1_500),
    (5, 6, 107, 1.0, 1_600),
]


@pytest.fixture
async def loaded(any_store: GraphStore) -> GraphStore:
    await any_store.write_transfers(transfers(ROWS))
    return any_store


async def test_write_is_idempotent(any_store: GraphStore) -> None:
    first = await any_store.write_transfers(transfers(ROWS))
    assert first.transfers_written == len(ROWS)
    assert first.wallets_created == 6
    before = await any_store.stats()
    again = await any_store.write_transfers(transfers(ROWS))
    assert again.transfers_written == 0 and again.wallets_created == 0
    assert await any_store.stats() == before


DUPLICATES = Statement(
    "duplicate_transfers",
    "MATCH ()-[t:TRANSFER]->() WITH t.hash AS h, t.log_index AS li, count(t) AS n WHERE n > 1 "
    "RETURN count(h) AS n",
)


async def test_concurrent_overlapping_writers_keep_transfers_unique(any_store: GraphStore) -> None:
    frame = random_transfers(3_000, wallets=50, seed=5)
    parts = [frame.iloc[:2_000], frame.iloc[1_000:], frame.iloc[500:2_500], frame]
    results = await asyncio.gather(*(any_store.write_transfers(p) for p in parts))
    assert sum(r.transfers_written for r in results) == 3_000
    assert (await any_store.stats()).transfers == 3_000
    assert (await any_store.query(DUPLICATES))[0]["n"] == 0


async def test_more_concurrent_reads_than_connections_all_answer(loaded: GraphStore) -> None:
    """A busy API runs more queries at once than the store has connections: they wait for one
    (FalkorDB's client used to fail the 101st at once, which clients read as GRAPH_UNAVAILABLE)."""
    expected = await loaded.stats()
    got = await asyncio.gather(*(loaded.stats() for _ in range(250)), return_exceptions=True)
    assert [g for g in got if isinstance(g, BaseException)] == []
    assert all(g == expected for g in got)


async def test_stats(loaded: GraphStore) -> None:
    stats = await loaded.stats()
    assert stats.wallets == 6
    assert stats.transfers == 7
    assert stats.token_transfers == 1
    assert stats.total_value == pytest.approx(1.5 + 2.5 + 1.0 + 0.5 + 1.0 + 1.0)


async def test_same_hash_different_log_index_are_distinct(any_store: GraphStore) -> None:
    rows = [(1, 2, 7, 1.0, 10, TOKEN, 0), (1, 2, 7, 2.0, 10, TOKEN, 1), (1, 2, 7, 3.0, 10)]
    result = await any_store.write_transfers(transfers(rows))
    assert result.transfers_written == 3


async def test_wallet_lookup_normalises_and_rejects(loaded: GraphStore) -> None:
    wallet = await loaded.wallet(addr(1).upper().replace("0X", "0x"))
    assert wallet.address == addr(1)
    assert "Wallet" in wallet.labels
    with pytest.raises(NotFound):
        await loaded.wallet(addr(12345))
    with pytest.raises(InvalidAddress, match="0xnothex"):
        await loaded.wallet("0xnothex")


async def test_contracts_and_tokens(loaded: GraphStore) -> None:
    await loaded.upsert_contracts([{"address": addr(3), "category": "DeFi", "name": "Router", "block": 5}])
    await loaded.upsert_tokens([{"address": TOKEN, "symbol": "TKN", "name": "Token", "decimals": 6}])
    contract = await loaded.wallet(addr(3))
    assert contract.labels == ["Contract", "Wallet"]
    assert (contract.category, contract.name) == ("DeFi", "Router")
    token = await loaded.wallet(TOKEN)
    assert (token.symbol, token.decimals) == ("TKN", 6)
    assert await loaded.token_decimals() == {TOKEN: 6}
    stats = await loaded.stats()
    assert (stats.contracts, stats.tokens, stats.wallets) == (1, 1, 7)
    # a later upsert without a category keeps the known one
    await loaded.upsert_contracts([{"address": addr(3), "category": None, "name": None, "block": None}])
    assert (await loaded.wallet(addr(3))).category == "DeFi"


async def test_transfers_paging_direction_and_window(loaded: GraphStore) -> None:
    page = await loaded.transfers(addr(1), first=2)
    assert [t.ts for t in page.transfers] == [1_400, 1_300]
    assert page.next_cursor
    rest = await loaded.transfers(addr(1), first=10, after=page.next_cursor)
    assert [t.ts for t in rest.transfers] == [1_100, 1_000]
    assert rest.next_cursor is None
    out = await loaded.transfers(addr(1), direction="out")
    assert {t.to_address for t in out.transfers} == {addr(2), addr(4)}
    inbound = await loaded.transfers(addr(1), direction="in")
    assert [t.from_address for t in inbound.transfers] == [addr(3)]
    window = await loaded.transfers(addr(1), since=1_050, until=1_350)
    assert [t.ts for t in window.transfers] == [1_300, 1_100]
    token = [t for t in out.transfers if t.token != NATIVE_TOKEN]
    assert token[0].token == TOKEN and token[0].log_index == 3
    with pytest.raises(ValueError, match="cursor"):
        await loaded.transfers(addr(1), after="garbage")


async def test_paging_visits_every_transfer_once(any_store: GraphStore) -> None:
    frame = random_transfers(300, wallets=5, seed=3)
    frame.loc[frame.index % 3 == 0, "ts"] = 1_600_000_000  # ties on ts are broken by hash
    await any_store.write_transfers(frame)
    seen: list[str] = []
    cursor = None
    while True:
        page = await any_store.transfers(addr(1), first=7, after=cursor)
        seen += [t.hash for t in page.transfers]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    expected = frame[(frame.from_address == addr(1)) | (frame.to_address == addr(1))]
    assert len(seen) == len(set(seen)) == len(expected)


async def test_counterparties(loaded: GraphStore) -> None:
    top = await loaded.counterparties(addr(1), first=2)
    assert top[0].address == addr(2)
    assert top[0].transfers == 2 and top[0].sent == pytest.approx(4.0) and top[0].received == 0
    assert {c.address for c in await loaded.counterparties(addr(1), first=10)} == {addr(2), addr(3), addr(4)}


async def test_fan_in_fan_out(loaded: GraphStore) -> None:
    s = await loaded.wallet_stats(addr(1))
    assert (s.out_degree, s.in_degree) == (3, 1)
    assert (s.out_counterparties, s.in_counterparties) == (2, 1)
    assert s.out_value == pytest.approx(4.0)  # native value only; the token transfer is not ETH
    assert (s.first_out, s.last_out, s.out_span) == (1_000, 1_400, 400)
    lonely = await loaded.wallet_stats(addr(6))
    assert (lonely.out_degree, lonely.in_degree, lonely.first_out) == (0, 1, None)
    everyone = {s.address: s async for s in loaded.all_wallet_stats(page=2)}
    assert len(everyone) == 6
    assert everyone[addr(1)] == s


async def test_neighbourhood(loaded: GraphStore) -> None:
    one = await loaded.neighbourhood(addr(1), hops=1)
    assert set(one.nodes) == {addr(2), addr(3), addr(4)}
    two = await loaded.neighbourhood(addr(1), hops=2)
    assert set(two.nodes) == {addr(2), addr(3), addr(4), addr(5)}
    pair = next(e for e in two.edges if (e["from_address"], e["to_address"]) == (addr(1), addr(2)))
    assert pair["transfers"] == 2
    capped = await loaded.neighbourhood(addr(1), hops=3, limit=2)
    assert len(capped.nodes) == 2 and capped.truncated
    with pytest.raises(ValueError, match="hops"):
        await loaded.neighbourhood(addr(1), hops=9)


async def test_export_pages_cover_the_graph(loaded: GraphStore) -> None:
    wallets, edges = 0, 0
    async for page_wallets, page_edges in loaded.export_pages(page=2):
        wallets += len(page_wallets)
        edges += len(page_edges)
    assert (wallets, edges) == (6, 7)


async def test_clear(loaded: GraphStore) -> None:
    await loaded.clear()
    assert await loaded.is_empty()
