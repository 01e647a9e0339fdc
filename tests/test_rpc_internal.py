"""Internal transactions on a real anvil node: a mixer-like contract pays out through a forwarder,
a payout to a contract that reverts moves nothing, the same transfers from trace_block and from
debug_traceBlockByNumber, and the payouts carry exposure onward."""

from __future__ import annotations

from collections import Counter

from graph.falkor import FalkorStore
from graph.labels import Label, write_labels
from ingest.rpc import Options, RpcClient, ingest_rpc
from ml.exposure import refresh_exposure
from tests.evm.node import E18, Anvil, graph_state

pytest_plugins = ["tests.evm.fixtures"]

MIXER = "0x" + "ab" * 20
FORWARDER = "0x" + "cd" * 20
REVERTER = "0x" + "ef" * 20
# Hand-assembled runtime code. The mixer keeps what it is sent without calldata; with calldata
# (recipient, amount) it calls the recipient with the amount and ignores the call's success:
#   CALLDATASIZE ISZERO PUSH1 0x17 JUMPI  PUSH1 0 x4  PUSH1 32 CALLDATALOAD  PUSH1 0 CALLDATALOAD
#   GAS CALL POP STOP  JUMPDEST STOP
MIXER_CODE = "0x36156017576000600060006000602035600035" + "5af150005b00"
REVERT_CODE = "0x60006000fd"  # PUSH1 0 PUSH1 0 REVERT


def forwarder_code(to: str) -> str:
    """Sends everything it receives on to `to`: CALL(gas, to, CALLVALUE, 0, 0, 0, 0)."""
    return "0x6000600060006000" + "34" + "73" + to[2:] + "5af15000"


def payout(node: Anvil, relayer: str, recipient: str, wei: int) -> str:
    data = "0x" + recipient[2:].rjust(64, "0") + hex(wei)[2:].rjust(64, "0")
    # an explicit gas limit: the mixer ignores a failed payout, so an estimate would starve it
    tx = node.rpc("eth_sendTransaction", [{"from": relayer, "to": MIXER, "data": data, "gas": hex(200_000)}])
    node.w3.eth.wait_for_transaction_receipt(tx)
    return tx.lower()


def scenario(node: Anvil) -> dict[str, str]:
    a0, a1, a2, a3, a4, a5 = node.accounts[:6]
    node.rpc("anvil_setCode", [MIXER, MIXER_CODE])
    node.rpc("anvil_setCode", [FORWARDER, forwarder_code(a4)])
    node.rpc("anvil_setCode", [REVERTER, REVERT_CODE])
    node.send_eth(a0, MIXER, 2 * E18)  # deposits
    node.send_eth(a3, MIXER, E18)
    direct = payout(node, a2, a1, 4 * E18 // 10)  # relayer a2 pays a1 out of the mixer
    nested = payout(node, a2, FORWARDER, E18 // 2)  # the mixer pays the forwarder, which pays a4
    failed = payout(node, a2, REVERTER, E18 // 10)  # the recipient reverts: nothing moves
    node.send_eth(a1, a5, 4 * E18 // 10)  # a1 passes the payout on
    return {"direct": direct, "nested": nested, "failed": failed}


async def ingest(store: FalkorStore, url: str, **options: object) -> object:
    async with RpcClient(url) as client:
        return await ingest_rpc(store, client, Options(start=0, **options))


def internal_rows(transfers: list[dict]) -> Counter:
    return Counter(
        (t["hash"], t["log_index"], t["from_address"], t["to_address"], t["value_raw"])
        for t in transfers
        if t["log_index"] < -1
    )


async def test_mixer_payouts_are_transfers_from_either_tracer(
    anvil: Anvil, store: FalkorStore, falkor_server: object
) -> None:
    txs = scenario(anvil)
    a1, a4 = anvil.accounts[1], anvil.accounts[4]
    report = await ingest(store, anvil.url, values="trace")
    assert report.fetch.endswith("internal=trace") and report.kinds["internal"] == 3
    _, rows = await graph_state(store)
    traced = [dict(r) for r in rows]
    assert internal_rows(traced) == Counter({
        (txs["direct"], -2, MIXER, a1, str(4 * E18 // 10)): 1,
        (txs["nested"], -2, MIXER, FORWARDER, str(E18 // 2)): 1,
        (txs["nested"], -3, FORWARDER, a4, str(E18 // 2)): 1,
    })  # fmt: skip
    assert not [t for t in traced if t["hash"] == txs["failed"] and t["log_index"] < -1]

    other = FalkorStore(store.url, store.name + "_debug")
    try:
        report = await ingest(other, anvil.url, values="full", internal="debug")
        assert report.fetch.endswith("internal=debug")
        _, rows = await graph_state(other)
        assert internal_rows([dict(r) for r in rows]) == internal_rows(traced)
        again = await ingest(other, anvil.url, values="full", internal="debug")
        assert again.transfers_written == 0  # the trace position keeps identity unique
    finally:
        await other.clear()
        await other.close()


async def test_payouts_carry_exposure_onward(anvil: Anvil, store: FalkorStore) -> None:
    scenario(anvil)
    a1, a4, a5 = anvil.accounts[1], anvil.accounts[4], anvil.accounts[5]
    await ingest(store, anvil.url)
    await write_labels(store, [Label(MIXER, "test mixer", "mixer", "test")])
    frame = (await refresh_exposure(store)).frame.set_index("address")
    assert frame.loc[a1, "direct_in"] == 1.0  # everything a1 received was the mixer's payout
    assert frame.loc[a5, "indirect_in"] == 1.0  # and a1 passed it on
    assert frame.loc[a4, "indirect_in"] == 1.0  # through the forwarder
    assert frame.loc[anvil.accounts[0], "direct_out"] == 1.0  # the depositor
