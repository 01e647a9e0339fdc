"""`aidrop ingest rpc` and `aidrop ingest labels` as a user runs them: summaries, errors, a run
killed mid-range and run again, follow mode stopped by Ctrl-C."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from graph import chain
from graph.falkor import FalkorStore
from ingest.labels import MAINNET, read_labels
from tests.evm.node import E18, Anvil, build_scenario, free_port, graph_state

pytestmark = pytest.mark.both_backends

pytest_plugins = ["tests.evm.fixtures"]
AIDROP = [str(Path(sys.executable).with_name("aidrop"))]


def aidrop(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*AIDROP, *args], env=env, capture_output=True, text=True, timeout=timeout)


def busy_chain(node: Anvil, blocks: int, per_block: int = 3) -> None:
    """`blocks` blocks of `per_block` ETH transfers each among 10 accounts."""
    acc = node.accounts
    node.rpc("evm_setAutomine", [False])
    for b in range(blocks):
        node.rpc_batch([
            ("eth_sendTransaction", [{"from": acc[(b + i) % 10], "to": acc[(b * 7 + i + 1) % 10],
                                     "value": hex((b + 1) * (i + 1) * 10**15)}])
            for i in range(per_block)
        ])  # fmt: skip
        node.mine()
    node.rpc("evm_setAutomine", [True])


def test_cli_ingests_and_summarises(anvil: Anvil, cli_env: dict[str, str]) -> None:
    expected = build_scenario(anvil)
    proc = aidrop(cli_env, "ingest", "rpc", "--rpc-url", anvil.url, "--chain-id", "31337", "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["transfers"] == summary["transfers_written"] == len(expected)
    assert summary["blocks"] == anvil.head + 1 and summary["erc1155"] == 7 and summary["reorgs"] == 0
    assert summary["blocks_per_s"] > 0 and summary["transfers_per_s"] > 0
    stats = json.loads(aidrop(cli_env, "graph", "stats", "--json").stdout)
    assert stats["transfers"] == len(expected) and stats["tokens"] == 3

    anvil.send_eth(anvil.accounts[0], anvil.accounts[9], E18)
    again = aidrop(cli_env, "ingest", "rpc", "--rpc-url", anvil.url)
    assert again.returncode == 0, again.stderr
    assert f"blocks {anvil.head}-{anvil.head} (1 blocks, 1 transactions)" in again.stdout
    assert "new in the graph 1;" in again.stdout


def test_cli_errors_are_one_line(anvil: Anvil, cli_env: dict[str, str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    down = aidrop(cli_env, "ingest", "rpc", "--rpc-url", url)
    assert down.returncode == 2
    assert down.stderr.startswith(f"error [RPC_UNAVAILABLE]: the node at {url} is unreachable")
    wrong = aidrop(cli_env, "ingest", "rpc", "--rpc-url", anvil.url, "--chain-id", "1")
    assert wrong.returncode == 2
    assert (
        wrong.stderr.strip()
        == f"error [WRONG_CHAIN]: the node at {anvil.url} is on chain id 31337, expected 1"
    )
    bad = aidrop(cli_env, "ingest", "rpc", "--rpc-url", anvil.url, "--to", "soon")
    assert bad.returncode == 2 and "a block number or 'latest'" in bad.stderr
    bad = aidrop(cli_env, "ingest", "rpc", "--rpc-url", anvil.url, "--from", "9", "--to", "3")
    assert bad.returncode == 2 and "--to 3 is before --from 9" in bad.stderr


@pytest.mark.several_graphs  # compares with a second FalkorDB graph
async def test_killed_run_resumes_to_the_same_graph(
    anvil: Anvil,
    cli_env: dict[str, str],
    store: FalkorStore,
    falkor_server,
    graph_name: str,  # type: ignore[no-untyped-def]
) -> None:
    busy_chain(anvil, 150)
    args = [*AIDROP, "ingest", "rpc", "--rpc-url", anvil.url, "--chunk", "1"]
    proc = await asyncio.create_subprocess_exec(*args, env=cli_env, stdout=subprocess.DEVNULL,
                                                stderr=subprocess.DEVNULL)  # fmt: skip
    for _ in range(3000):
        done = await chain.done_ranges(store, 31337)
        if (done.top or 0) >= 20 or proc.returncode is not None:
            break
        await asyncio.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    await proc.wait()
    partial = await chain.done_ranges(store, 31337)
    assert 20 <= (partial.top or 0) < anvil.head, f"not killed mid-range: {partial}"

    again = aidrop(cli_env, "ingest", "rpc", "--rpc-url", anvil.url, "--chunk", "7", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["first_block"] == partial.top + 1

    whole = FalkorStore(falkor_server.graph_url, graph_name + "_whole")
    try:
        env = {**cli_env, "AIDROP_GRAPH_NAME": graph_name + "_whole"}
        assert aidrop(env, "ingest", "rpc", "--rpc-url", anvil.url).returncode == 0
        assert await graph_state(store) == await graph_state(whole)
        assert await chain.done_ranges(store, 31337) == await chain.done_ranges(whole, 31337)
    finally:
        await whole.clear()
        await whole.close()


async def test_follow_stops_cleanly_on_ctrl_c(
    anvil: Anvil, cli_env: dict[str, str], store: FalkorStore
) -> None:
    busy_chain(anvil, 5)
    args = [*AIDROP, "ingest", "rpc", "--rpc-url", anvil.url, "--follow", "-k", "1", "--json"]
    proc = await asyncio.create_subprocess_exec(
        *args, env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    for _ in range(2000):
        if (await chain.done_ranges(store, 31337)).top == anvil.head - 1:
            break
        await asyncio.sleep(0.01)
    busy_chain(anvil, 2)
    for _ in range(2000):
        if (await chain.done_ranges(store, 31337)).top == anvil.head - 1:
            break
        await asyncio.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err
    summary = json.loads(out)
    assert summary["interrupted"] and summary["last_block"] == anvil.head - 1
    assert summary["transfers"] == 3 * (anvil.head - 1)


def test_labels_bundled_and_own_files(cli_env: dict[str, str], tmp_path: Path) -> None:
    bundled = read_labels([MAINNET])
    assert len(bundled) >= 80
    assert {r["category"] for r in bundled} == {"DeFi", "NFT", "Gaming", "Social", "Bridge", "Exchange"}
    proc = aidrop(cli_env, "ingest", "labels")
    assert proc.returncode == 0 and f"labelled {len(bundled)} contracts" in proc.stdout
    router = "0x7a250d5630b4cf539739df2c5dacb4c659f2488d"
    wallet = json.loads(aidrop(cli_env, "graph", "wallet", router, "--json").stdout)["wallet"]
    assert wallet["category"] == "DeFi" and wallet["name"] == "Uniswap V2 Router 02"
    assert "Contract" in wallet["labels"]

    own = tmp_path / "mine.yaml"
    own.write_text(f"- address: '{router}'\n  name: My router\n  category: Exchange\n  source: me\n")
    assert aidrop(cli_env, "ingest", "labels", str(own)).returncode == 0
    wallet = json.loads(aidrop(cli_env, "graph", "wallet", router, "--json").stdout)["wallet"]
    assert (wallet["name"], wallet["category"]) == ("My router", "Exchange")

    bad = tmp_path / "bad.yaml"
    bad.write_text("- address: '0x7A250d5630B4cF539739dF2C5dAcb4c659F2488D'\n  name: x\n  category: DeFi\n")
    proc = aidrop(cli_env, "ingest", "labels", str(bad))
    assert proc.returncode == 2 and "entry 1" in proc.stderr and "checksum" in proc.stderr
    bad.write_text(f"- address: '{router}'\n  name: x\n  category: Lending\n")
    proc = aidrop(cli_env, "ingest", "labels", str(bad))
    assert proc.returncode == 2 and "category must be one of DeFi" in proc.stderr
