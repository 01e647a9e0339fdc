"""RPC ingestion rate on a local anvil chain, against the naive approach, in one run.

Builds a chain of --blocks blocks of --per-block transactions (70% ETH transfers to fresh
addresses, 30% ERC-20 transfers), then measures:
- naive: one eth_getBlockByNumber per block and one eth_getTransactionReceipt per transaction,
  sequential (one keep-alive HTTP session), decoded with aidrop's decoder; no graph writes,
  which flatters it;
- aidrop fetch: aidrop's batched, concurrent fetch and decode, no graph writes;
- aidrop: `ingest_rpc` end to end into a fresh embedded FalkorDB graph;
each aidrop run twice: with transaction values from full blocks (what any node serves, geth
included) and from trace_block (nodes with the trace module; anvil has it).

.venv/bin/python bench/rpc_ingest.py [--blocks 200] [--per-block 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path[0] = str(Path(__file__).resolve().parents[1])  # the repo, not bench/

from graph.embedded import EmbeddedServer  # noqa: E402
from graph.falkor import FalkorStore  # noqa: E402
from ingest.rpc import Options, RpcClient, ingest_rpc  # noqa: E402
from ingest.rpc.decode import BlockData, decode_blocks  # noqa: E402
from ingest.rpc.fetch import Fetcher  # noqa: E402
from tests.evm.node import Anvil, deploy, send  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build_chain(node: Anvil, blocks: int, per_block: int) -> tuple[int, int]:
    """The chain; returns (first block of the measured range, number of transactions in it)."""
    acc = node.accounts[:10]
    token = deploy(node, "ERC20PresetMinterPauser", "Bench Token", "BT")
    for a in acc:
        send(node, token.functions.mint(node.w3.to_checksum_address(a), 10**30), acc[0])
    first = node.head + 1
    node.rpc("evm_setAutomine", [False])
    n = 0
    for b in range(blocks):
        calls = []
        for i in range(per_block):
            src, dst = acc[(b + i) % 10], f"0x{(b * per_block + i) % 5000 + 1:040x}"
            if i % 10 < 7:
                tx = {"from": src, "to": dst, "value": hex(10**15 + i), "gas": hex(21_000)}
            else:
                data = "0xa9059cbb" + dst[2:].rjust(64, "0") + f"{10**18 + i:064x}"
                tx = {"from": src, "to": token.address, "data": data, "gas": hex(80_000)}
            calls.append(("eth_sendTransaction", [tx]))
        node.rpc_batch(calls)
        node.mine()
        n += per_block
    node.rpc("evm_setAutomine", [True])
    return first, n


def naive(url: str, first: int, last: int) -> tuple[float, int]:
    """Sequential: one request per block, one per receipt. Returns (seconds, transfers)."""
    session = requests.Session()
    ids = iter(range(1, 10**9))

    def call(method: str, params: list) -> dict:
        body = {"jsonrpc": "2.0", "id": next(ids), "method": method, "params": params}
        return session.post(url, data=json.dumps(body), headers={"Content-Type": "application/json"}).json()[
            "result"
        ]

    started = time.perf_counter()
    transfers = 0
    for number in range(first, last + 1):
        block = call("eth_getBlockByNumber", [hex(number), True])
        receipts = [call("eth_getTransactionReceipt", [tx["hash"]]) for tx in block["transactions"]]
        transfers += len(decode_blocks([BlockData.from_rpc(block, receipts)], {}).frame)
    return time.perf_counter() - started, transfers


def _internal(values: str) -> str:
    """Internal transactions as trace_block gives them with the values; none with full blocks (a
    debug_traceBlockByNumber per block, which the naive baseline does not pay either)."""
    return "off" if values == "full" else "auto"


async def fetch_only(url: str, first: int, last: int, values: str, chunk: int = 50) -> tuple[float, int]:
    started = time.perf_counter()
    transfers = 0
    async with RpcClient(url) as client:
        fetcher = Fetcher(client, values=values, internal=_internal(values))
        for lo in range(first, last + 1, chunk):
            blocks = await fetcher.blocks(lo, min(lo + chunk - 1, last))
            transfers += len(decode_blocks(blocks, {}).frame)
    return time.perf_counter() - started, transfers


async def full(url: str, graph_url: str, first: int, last: int, values: str) -> tuple[float, int]:
    store = FalkorStore(graph_url, "bench_rpc")
    await store.clear()
    await store.ensure_schema()
    try:
        async with RpcClient(url) as client:
            started = time.perf_counter()
            options = Options(start=first, end=last, values=values, internal=_internal(values))
            report = await ingest_rpc(store, client, options)
            return time.perf_counter() - started, report.transfers
    finally:
        await store.clear()
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=200)
    parser.add_argument("--per-block", type=int, default=100)
    args = parser.parse_args()
    node = Anvil()
    try:
        t = time.perf_counter()
        first, txs = build_chain(node, args.blocks, args.per_block)
        last = node.head
        built = time.perf_counter() - t
        print(f"anvil chain: blocks {first}-{last}, {txs:,} transactions (built in {built:.1f} s)")
        with tempfile.TemporaryDirectory(prefix="aidrop-bench-") as tmp:
            server = EmbeddedServer(Path(tmp), free_port())
            server.start()
            try:
                runs = [("naive (sequential getBlock + getTransactionReceipt)", naive(node.url, first, last))]
                for values in ("full", "trace"):
                    fetched = asyncio.run(fetch_only(node.url, first, last, values))
                    runs.append((f"aidrop fetch + decode, values={values}", fetched))
                    ingested = asyncio.run(full(node.url, server.graph_url, first, last, values))
                    runs.append((f"aidrop ingest rpc into FalkorDB, values={values}", ingested))
            finally:
                server.stop()
    finally:
        node.stop()
    blocks = last - first + 1
    base = blocks / runs[0][1][0]
    rows = [("run", "seconds", "blocks/s", "transfers/s", "x naive")]
    for name, (seconds, transfers) in runs:
        rows.append((name, f"{seconds:.2f}", f"{blocks / seconds:,.1f}", f"{transfers / seconds:,.0f}",
                     f"{blocks / seconds / base:.1f}"))  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for i, row in enumerate(rows):
        print(" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
        if i == 0:
            print("-+-".join("-" * w for w in widths))
    print(f"transfers per run: {runs[0][1][1]:,} (all runs decode the same)")
    assert len({r[1][1] for r in runs}) == 1, "the runs decoded different transfers"


if __name__ == "__main__":
    main()
