"""Reorgs made on anvil (snapshot, mine, revert, mine another branch) leave the graph equal to a
fresh ingestion of the canonical chain."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from graph import chain
from graph.falkor import FalkorStore
from ingest.rpc import Options, ReorgTooDeep, RpcClient, ingest_rpc
from tests.evm.node import E18, Anvil, deploy, graph_state, send

pytestmark = pytest.mark.both_backends

pytest_plugins = ["tests.evm.fixtures"]
CHAIN = 31337


@pytest.fixture
async def fresh(falkor_server, graph_name: str) -> AsyncIterator[Callable[[str], FalkorStore]]:  # type: ignore[no-untyped-def]
    """Extra graphs on the test server, deleted afterwards."""
    made: list[FalkorStore] = []

    def make(suffix: str) -> FalkorStore:
        made.append(FalkorStore(falkor_server.graph_url, f"{graph_name}_{suffix}"))
        return made[-1]

    yield make
    for s in made:
        await s.clear()
        await s.close()


async def run(store: FalkorStore, url: str, **options: object):  # type: ignore[no-untyped-def]
    async with RpcClient(url) as client:
        return await ingest_rpc(store, client, Options(**options))


async def canonical(anvil: Anvil, other: FalkorStore) -> tuple:
    await other.ensure_schema()
    await run(other, anvil.url, start=0)
    return await graph_state(other)


def branch(anvil: Anvil, token, senders: list[int], to: int, blocks: int) -> None:  # type: ignore[no-untyped-def]
    """`blocks` blocks, each an ETH transfer and an ERC-20 transfer to account `to`."""
    acc = anvil.accounts
    for i in range(blocks):
        anvil.rpc("evm_setAutomine", [False])
        anvil.send_eth(acc[senders[i % len(senders)]], acc[to], (i + 1) * E18, wait=False)
        send_tx = token.functions.transfer(anvil.w3.to_checksum_address(acc[to]), (i + 1) * E18)
        send_tx.transact({"from": anvil.w3.to_checksum_address(acc[0])})
        anvil.mine()
        anvil.rpc("evm_setAutomine", [True])


def setup_chain(anvil: Anvil):  # type: ignore[no-untyped-def]
    token = deploy(anvil, "ERC20PresetMinterPauser", "Test Token", "TT")
    send(
        anvil,
        token.functions.mint(anvil.w3.to_checksum_address(anvil.accounts[0]), 10**6 * E18),
        anvil.accounts[0],
    )
    branch(anvil, token, [1, 2], 3, 3)
    return token


async def test_reorg_between_runs_leaves_the_canonical_graph(anvil: Anvil, store: FalkorStore, fresh) -> None:  # type: ignore[no-untyped-def]
    token = setup_chain(anvil)
    base = anvil.head
    snap = anvil.rpc("evm_snapshot")
    branch(anvil, token, [4], 8, 4)  # orphaned: account 8 appears only here
    await run(store, anvil.url, start=0)
    assert anvil.rpc("evm_revert", [snap]) is True
    branch(anvil, token, [5, 6], 9, 6)  # the canonical branch, longer
    report = await run(store, anvil.url, start=0)
    assert report.reorgs == 1 and report.orphaned_blocks == 4
    assert (report.first_block, report.last_block) == (base + 1, base + 6)
    state = await graph_state(store)
    assert state == await canonical(anvil, fresh("canonical"))
    wallets = {dict(props)["address"] for _, props in state[0]}
    assert anvil.accounts[8] not in wallets and anvil.accounts[9] in wallets
    assert str(await chain.done_ranges(store, CHAIN)) == f"0-{anvil.head}"


async def test_same_height_reorg_is_found_at_the_tip(anvil: Anvil, store: FalkorStore, fresh) -> None:  # type: ignore[no-untyped-def]
    token = setup_chain(anvil)
    snap = anvil.rpc("evm_snapshot")
    branch(anvil, token, [4], 8, 2)
    await run(store, anvil.url, start=0)
    anvil.rpc("evm_revert", [snap])
    branch(anvil, token, [5], 9, 2)  # same length: no new block shows the reorg
    report = await run(store, anvil.url, start=0)
    assert report.reorgs == 1 and report.orphaned_blocks == 2
    assert await graph_state(store) == await canonical(anvil, fresh("canonical"))


async def test_follow_mode_handles_a_reorg_deeper_than_confirmations(
    anvil: Anvil,
    store: FalkorStore,
    fresh,  # type: ignore[no-untyped-def]
) -> None:
    token = setup_chain(anvil)
    stop = asyncio.Event()
    async with RpcClient(anvil.url) as client:
        task = asyncio.create_task(
            ingest_rpc(
                store, client, Options(start=0, follow=True, confirmations=2, poll=0.05, chunk=2), stop
            )
        )

        async def caught_up(head: int) -> None:
            for _ in range(400):
                done = await chain.done_ranges(store, CHAIN)
                if done.top == head - 2:
                    return
                await asyncio.sleep(0.05)
            raise AssertionError(f"follow did not reach block {head - 2}: {done}")

        await caught_up(anvil.head)
        snap = anvil.rpc("evm_snapshot")
        branch(anvil, token, [4], 8, 6)
        await caught_up(anvil.head)
        anvil.rpc("evm_revert", [snap])
        branch(anvil, token, [5, 6], 9, 8)  # replaces 6 blocks, 4 of them past the confirmations
        await caught_up(anvil.head)
        stop.set()
        report = await asyncio.wait_for(task, 30)
    assert report.reorgs == 1 and report.orphaned_blocks == 4 and not report.kinds["skipped_logs"]
    assert report.interrupted
    other = fresh("canonical")
    await other.ensure_schema()
    await run(other, anvil.url, start=0, end=anvil.head - 2)
    assert await graph_state(store) == await graph_state(other)


async def test_half_written_orphaned_blocks_are_cleaned(anvil: Anvil, store: FalkorStore, fresh) -> None:  # type: ignore[no-untyped-def]
    """A run killed after writing transfers but before its checkpoint, then a reorg of those blocks."""
    token = setup_chain(anvil)
    base = anvil.head
    snap = anvil.rpc("evm_snapshot")
    branch(anvil, token, [4], 8, 3)
    await run(store, anvil.url, start=0)
    done = await chain.done_ranges(store, CHAIN)
    done.remove(base + 1, anvil.head)  # as if the checkpoint of the last chunk was never written
    await chain.save_done(store, CHAIN, done)
    anvil.rpc("evm_revert", [snap])
    branch(anvil, token, [5], 9, 3)
    report = await run(store, anvil.url, start=0)
    assert report.reorgs == 0 and report.blocks == 3
    assert await graph_state(store) == await canonical(anvil, fresh("canonical"))


async def test_reorg_deeper_than_the_window_is_an_error(anvil: Anvil, store: FalkorStore) -> None:
    token = setup_chain(anvil)
    snap = anvil.rpc("evm_snapshot")
    branch(anvil, token, [4], 8, 5)
    await run(store, anvil.url, start=0, window=2, chunk=1)
    anvil.rpc("evm_revert", [snap])
    branch(anvil, token, [5], 9, 6)
    with pytest.raises(ReorgTooDeep, match="re-ingest"):
        await run(store, anvil.url, start=0, window=2)
