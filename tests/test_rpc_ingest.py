"""`ingest rpc` against a real anvil node: the scenario's exact transfers, checkpoints, re-runs."""

from __future__ import annotations

from collections import Counter

import pytest

from graph import chain
from graph.cypher import Statement
from graph.falkor import FalkorStore
from ingest.rpc import Options, RpcClient, WrongChain, ingest_rpc
from tests.evm.node import E18, Anvil, build_scenario, graph_state

pytestmark = pytest.mark.both_backends

pytest_plugins = ["tests.evm.fixtures"]

TOKENS = Statement(
    "test_tokens",
    "MATCH (w:Token) RETURN w.address AS address, w.symbol AS symbol, w.name AS name, w.decimals AS decimals",
)
CONTRACTS = Statement(
    "test_contracts", "MATCH (w:Contract) RETURN w.address AS address, w.created_block AS block"
)


async def run(store: FalkorStore, url: str, **options: object) -> object:
    async with RpcClient(url) as client:
        return await ingest_rpc(store, client, Options(**options))


def as_expected(transfers: list[dict]) -> Counter:
    """Graph rows -> the scenario's (from, to, token, value_raw, status, token_id)."""
    keys = ("from_address", "to_address", "token", "value_raw", "status", "token_id")
    return Counter(tuple(t[k] for k in keys) for t in transfers)


async def test_scenario_gives_exactly_the_expected_transfers(anvil: Anvil, store: FalkorStore) -> None:
    expected = build_scenario(anvil)
    report = await run(store, anvil.url, start=0)
    _, rows = await graph_state(store)
    transfers = [dict(r) for r in rows]
    tokens = {r["address"]: r for r in await store.query(TOKENS)}
    assert as_expected(transfers) == Counter(expected)
    assert report.blocks == anvil.head + 1
    assert report.transfers == len(expected) == report.transfers_written
    assert report.kinds["erc20"] == 2 and report.kinds["erc721"] == 3 and report.kinds["erc1155"] == 7

    by_key = {(t["from_address"], t["to_address"], t["value_raw"]): t for t in transfers}
    a0, a1, a2 = anvil.accounts[:3]
    assert by_key[(a0, a1, str(3 * E18 // 2))]["value"] == 1.5
    assert by_key[(a0, a1, str(3 * E18 // 2))]["log_index"] == -1
    assert by_key[(a1, a2, str(250 * E18 + E18 // 2))]["value"] == 250.5  # scaled by 18 decimals
    huge = next(t for t in transfers if t["value_raw"] == str(2**200))
    assert huge["value"] == pytest.approx(float(2**200), rel=1e-14)  # FalkorDB answers 15 digits
    assert huge["token_id"] == "3"
    # A TransferBatch: one log, items after the first at log_index + (item << 32).
    batch = sorted(t["log_index"] for t in transfers if t["hash"] == huge["hash"] and t["token"] != "ETH")
    assert [i >> 32 for i in batch] == [0, 1, 2] and len({i & 0xFFFFFFFF for i in batch}) == 1
    failed = [t for t in transfers if t["status"] == 0]
    assert len(failed) == 1 and failed[0]["value"] == 0.0 and failed[0]["value_raw"] == "0"
    for t in transfers:  # every block timestamp and number is the node's
        block = anvil.w3.eth.get_block(t["block"])
        assert block["timestamp"] == t["ts"] and block["transactions"]
    for t in transfers:  # the sender's fee on native rows, as the node's receipt says
        if t["log_index"] == -1:
            receipt = anvil.w3.eth.get_transaction_receipt(t["hash"])
            paid = receipt["gasUsed"] * receipt["effectiveGasPrice"] / E18
            assert paid > 0 and t["fee"] == pytest.approx(paid)
        else:
            assert t["fee"] == 0.0

    assert {t["symbol"]: (t["name"], t["decimals"]) for t in tokens.values()} == {
        "TT": ("Test Token", 18), "TNFT": ("Test NFT", None), None: (None, None),
    }  # fmt: skip
    assert {r["address"] for r in await store.query(CONTRACTS)} == set(tokens)


async def test_rerun_changes_nothing_and_checkpoint_skips_done_blocks(
    anvil: Anvil, store: FalkorStore
) -> None:
    build_scenario(anvil)
    first = await run(store, anvil.url, start=0)
    state = await graph_state(store)
    again = await run(store, anvil.url, start=0)
    assert again.blocks == 0 and again.transfers_written == 0
    assert await graph_state(store) == state
    assert str(await chain.done_ranges(store, 31337)) == f"0-{anvil.head}"

    # New blocks: only they are read; a range below the checkpoint start is filled in.
    anvil.send_eth(anvil.accounts[5], anvil.accounts[6], E18)
    more = await run(store, anvil.url, start=0)
    assert more.blocks == 1 and more.transfers_written == 1
    assert more.first_block == first.last_block + 1


async def test_ranges_and_confirmations(anvil: Anvil, store: FalkorStore) -> None:
    for i in range(10):
        anvil.send_eth(anvil.accounts[0], anvil.accounts[1 + i % 3], E18)
    assert anvil.head == 10
    r = await run(store, anvil.url, start=4, end=6)
    assert (r.first_block, r.last_block, r.transfers) == (4, 6, 3)
    r = await run(store, anvil.url, start=2, confirmations=3)
    assert (r.first_block, r.last_block, r.blocks) == (2, 7, 3)  # 2, 3 and 7: 4-6 were done
    assert str(await chain.done_ranges(store, 31337)) == "2-7"


@pytest.mark.several_graphs  # compares with other FalkorDB graphs
async def test_every_fetch_mode_gives_the_same_graph(anvil: Anvil, store: FalkorStore, falkor_server,
                                                     graph_name: str) -> None:  # fmt: skip
    build_scenario(anvil)
    auto = await run(store, anvil.url, start=0)
    # anvil has eth_getBlockReceipts, trace_block and debug_traceBlockByNumber
    assert auto.fetch == "receipts=block values=trace internal=trace"
    for receipts, values in (("block", "full"), ("tx", "full"), ("tx", "auto")):
        other = FalkorStore(falkor_server.graph_url, f"{graph_name}_{receipts}_{values}")
        try:
            await other.ensure_schema()
            report = await run(other, anvil.url, start=0, receipts=receipts, values=values, chunk=3)
            assert report.fetch == f"receipts={receipts} values=full internal=debug"
            assert await graph_state(other) == await graph_state(store)
        finally:
            await other.clear()
            await other.close()


async def test_wrong_chain_id_is_refused(anvil: Anvil, store: FalkorStore) -> None:
    with pytest.raises(WrongChain, match="chain id 31337, expected 1"):
        await run(store, anvil.url, start=0, chain_id=1)
    assert await store.is_empty()
