"""Several EVM chains in one graph: transfers keep their chain, an address is one wallet on every
chain, contracts and tokens are per chain, reorgs touch only their chain, and a graph written
before chain ids becomes chain 1's."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from graph import cypher as q
from graph.falkor import FalkorStore
from graph.store import GraphStore
from ingest.load import ingest_edges
from ingest.rpc import Options, RpcClient, ingest_rpc
from tests.evm.node import E18, Anvil, deploy, graph_state, send
from tests.factories import addr, transfers

OTHER_CHAIN = 10  # the second anvil node runs as chain 10; the first keeps anvil's 31337
ANVIL_CHAIN = 31337


@pytest.fixture
def two_nodes() -> Iterator[tuple[Anvil, Anvil]]:
    first, second = Anvil(), Anvil("--chain-id", str(OTHER_CHAIN))
    yield first, second
    first.stop()
    second.stop()


@pytest.fixture
async def fresh(falkor_server, graph_name: str) -> AsyncIterator[Callable[[str], FalkorStore]]:  # type: ignore[no-untyped-def]  # fixture types are pytest's
    made: list[FalkorStore] = []

    def make(suffix: str) -> FalkorStore:
        made.append(FalkorStore(falkor_server.graph_url, f"{graph_name}_{suffix}"))
        return made[-1]

    yield make
    for s in made:
        await s.clear()
        await s.close()


async def ingest(store: GraphStore, url: str) -> None:
    async with RpcClient(url) as client:
        await ingest_rpc(store, client, Options(start=0))


def activity(node: Anvil, wei: int, symbol: str) -> str:
    """The same deployer's first transaction on each chain: a token at the same address, with a
    symbol of this chain's own; then native and token transfers from the same accounts."""
    acc = node.accounts
    token = deploy(node, "ERC20PresetMinterPauser", f"Token {symbol}", symbol)
    send(node, token.functions.mint(node.w3.to_checksum_address(acc[1]), 100 * E18), acc[0])
    send(node, token.functions.transfer(node.w3.to_checksum_address(acc[2]), 7 * E18), acc[1])
    node.send_eth(acc[1], acc[2], wei)
    node.send_eth(acc[2], acc[3], wei // 2)
    return token.address.lower()


def on_chain(state: tuple[list[tuple], list[tuple]], chain: int) -> list[tuple]:
    return [t for t in state[1] if dict(t)["chain"] == chain]


async def test_two_chains_in_one_graph(two_nodes: tuple[Anvil, Anvil], store: FalkorStore, fresh) -> None:  # type: ignore[no-untyped-def]
    first, second = two_nodes
    token_a = activity(first, 3 * E18, "AAA")
    token_b = activity(second, 5 * E18, "BBB")
    assert token_a == token_b  # same deployer, same nonce: one address, a token on both chains
    both = first.accounts[1]
    assert both == second.accounts[1]

    await ingest(store, first.url)
    await ingest(store, second.url)
    alone = {ANVIL_CHAIN: fresh("a"), OTHER_CHAIN: fresh("b")}
    for chain_id, node in ((ANVIL_CHAIN, first), (OTHER_CHAIN, second)):
        await alone[chain_id].ensure_schema()
        await ingest(alone[chain_id], node.url)

    # each chain's transfers are exactly those of that chain ingested alone: nothing merged
    state = await graph_state(store)
    for chain_id, other in alone.items():
        assert on_chain(state, chain_id) == on_chain(await graph_state(other), chain_id)
    stats = await store.stats()
    per = {c.chain: c for c in stats.chains}
    assert set(per) == {ANVIL_CHAIN, OTHER_CHAIN}
    for chain_id, other in alone.items():
        assert per[chain_id].transfers == (await other.stats()).transfers > 0
        assert per[chain_id].tokens == 1
    assert stats.transfers == per[ANVIL_CHAIN].transfers + per[OTHER_CHAIN].transfers
    assert stats.tokens == 1  # one Token node: the address

    # one wallet across chains, with both chains' transfers; a chain filter keeps one
    assert list(await store.wallets_by_address([both])) == [both]
    page = await store.transfers(both, first=100)
    assert {t.chain for t in page.transfers} == {ANVIL_CHAIN, OTHER_CHAIN}
    only = await store.transfers(both, first=100, chain=OTHER_CHAIN)
    assert only.transfers and {t.chain for t in only.transfers} == {OTHER_CHAIN}
    native = {
        t.chain: t.value for t in page.transfers if t.token == "ETH" and t.to_address == first.accounts[2]
    }
    assert native == {ANVIL_CHAIN: 3.0, OTHER_CHAIN: 5.0}
    everywhere = await store.wallet_stats(both)
    here = await store.wallet_stats(both, chain=ANVIL_CHAIN)
    assert 0 < here.out_degree < everywhere.out_degree

    # token metadata per chain
    assert set(await store.token_decimals(ANVIL_CHAIN)) == {token_a}
    assert set(await store.token_decimals(OTHER_CHAIN)) == {token_b}
    assert await store.token_decimals(1) == {}


async def test_a_reorg_on_one_chain_leaves_the_other(
    two_nodes: tuple[Anvil, Anvil], store: FalkorStore
) -> None:
    first, second = two_nodes
    activity(first, 3 * E18, "AAA")
    activity(second, 5 * E18, "BBB")
    await ingest(store, first.url)
    snapshot = second.rpc("evm_snapshot")
    second.send_eth(second.accounts[4], second.accounts[5], E18)
    await ingest(store, second.url)
    untouched = on_chain(await graph_state(store), ANVIL_CHAIN)
    before = on_chain(await graph_state(store), OTHER_CHAIN)

    second.rpc("evm_revert", [snapshot])  # chain 10 replaces its newest block ...
    second.send_eth(second.accounts[6], second.accounts[7], 2 * E18)
    second.mine(2)  # ... with a longer branch
    await ingest(store, second.url)
    after = await graph_state(store)
    assert on_chain(after, ANVIL_CHAIN) == untouched
    replaced = on_chain(after, OTHER_CHAIN)
    senders = {dict(t)["from_address"] for t in replaced} - {dict(t)["from_address"] for t in before}
    assert second.accounts[6] in senders
    assert second.accounts[4] not in {dict(t)["from_address"] for t in replaced}


async def test_transfer_identity_is_per_chain(any_store: GraphStore) -> None:
    """The same (hash, log_index) on two chains is two transfers; on one chain, one."""
    frame = transfers([(1, 2, 1, 1.0, 100), (2, 3, 2, 2.0, 110)])
    await any_store.write_transfers(frame)
    again = frame.copy()
    await any_store.write_transfers(again)
    again["chain"] = 137
    await any_store.write_transfers(again)
    stats = await any_store.stats()
    assert stats.transfers == 4 and stats.wallets == 3
    assert {c.chain: c.transfers for c in stats.chains} == {1: 2, 137: 2}
    assert {c.chain: c.wallets for c in stats.chains} == {1: 3, 137: 3}
    assert [t.chain for t in (await any_store.transfers(addr(2), direction="out")).transfers] == [137, 1]


async def test_keyset_pages_keep_twins_of_two_chains(any_store: GraphStore) -> None:
    """Two transfers equal in (ts, hash, log_index) but for the chain land on separate pages."""
    frame = transfers([(1, 2, 1, 1.0, 100)])
    await any_store.write_transfers(frame)
    frame["chain"] = 10
    await any_store.write_transfers(frame)
    first = await any_store.transfers(addr(1), first=1)
    rest = await any_store.transfers(addr(1), first=1, after=first.next_cursor)
    assert [t.chain for t in first.transfers + rest.transfers] == [10, 1] and rest.next_cursor is None


async def test_file_ingestion_takes_the_chain(store: FalkorStore, tmp_path: Path) -> None:
    edges = tmp_path / "edges.csv"
    edges.write_text(f"from_address,to_address,value,block_timestamp\n{addr(1)},{addr(2)},1.5,1000\n")
    await ingest_edges(store, [edges])  # bulk into the empty graph, chain 1
    await ingest_edges(store, [edges], chain=56)  # merge, chain 56
    await ingest_edges(store, [edges], chain=56)  # again: nothing new
    stats = await store.stats()
    assert {c.chain: c.transfers for c in stats.chains} == {1: 1, 56: 1}
    assert await store.chains() == [1, 56]


async def test_an_old_graph_becomes_chain_one(any_store: GraphStore) -> None:
    legacy = q.Statement(
        "test_legacy_graph",
        """
CREATE (a:Wallet {address: $a})-[:TRANSFER {hash: '0x01', log_index: -1, value: 1.0, value_raw: '1',
  token: 'ETH', ts: 10, block: 1, status: 1, tx_count: 1}]->(b:Wallet:Token {address: $b, symbol: 'OLD',
  decimals: 6})
""",
    )
    await any_store.execute(legacy, {"a": addr(1), "b": addr(2)})
    assert await any_store.migrate_chains() is True
    assert await any_store.migrate_chains() is False  # once
    stats = await any_store.stats()
    assert [(c.chain, c.transfers, c.tokens) for c in stats.chains] == [(1, 1, 1)]
    assert await any_store.token_decimals(1) == {addr(2): 6}
    assert [t.chain for t in (await any_store.transfers(addr(1))).transfers] == [1]


def test_graph_stats_json_counts_each_chain(cli_env: dict[str, str], tmp_path: Path) -> None:
    edges = tmp_path / "edges.csv"
    edges.write_text(f"from_address,to_address,value,block_timestamp\n{addr(1)},{addr(2)},1.5,1000\n")

    def aidrop(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "aidrop", *args], env=cli_env, capture_output=True, text=True, timeout=120
        )

    assert aidrop("ingest", "edges", "--chain", "137", str(edges)).returncode == 0
    bad = aidrop("ingest", "edges", "--chain", "0", str(edges))
    assert bad.returncode != 0 and "chain id" in bad.stderr
    counts = json.loads(aidrop("graph", "stats", "--json").stdout)
    assert counts["transfers"] == 1
    assert counts["chains"] == {
        "137": {
            "wallets": 2,
            "transfers": 1,
            "contracts": 0,
            "tokens": 0,
            "total_value": 1.5,
            "token_transfers": 0,
        }
    }
