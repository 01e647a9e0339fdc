"""Fetching from the node: blocks with their receipts, checked for consistency, and token metadata."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from eth_abi import decode as abi_decode

from ingest.rpc.client import RpcClient, RpcError
from ingest.rpc.decode import BlockData

BLOCKS_PER_REQUEST = 10  # full blocks are large: fewer per HTTP request than other calls
_SELECTORS = {"symbol": "0x95d89b41", "name": "0x06fdde03", "decimals": "0x313ce567"}
_METHOD_MISSING = (-32601, -32600, -32602)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ChainMoved(Exception):
    """The node's answers for a range did not fit together (a reorg happened while fetching)."""


class BlockMissing(ChainMoved):
    """A block of the range is not (or no longer) on the node."""


class Fetcher:
    """Reads ranges of blocks; receipts by block (eth_getBlockReceipts) when the node has it,
    else one eth_getTransactionReceipt per transaction, both batched."""

    def __init__(self, client: RpcClient, receipts: str = "auto", attempts: int = 5) -> None:
        self.client = client
        self.receipts = receipts  # auto | block | tx
        self.attempts = attempts

    async def blocks(self, lo: int, hi: int) -> list[BlockData]:
        """Blocks lo..hi with receipts; retried while the node's view is moving."""
        for attempt in range(self.attempts):
            try:
                return await self._blocks(lo, hi)
            except ChainMoved as exc:
                if attempt == self.attempts - 1 or (isinstance(exc, BlockMissing) and attempt >= 1):
                    raise
                await asyncio.sleep(0.5 * 2**attempt)
        raise AssertionError("unreachable")

    async def _blocks(self, lo: int, hi: int) -> list[BlockData]:
        calls = [("eth_getBlockByNumber", [hex(n), True]) for n in range(lo, hi + 1)]
        raw = await self.client.batch(calls, size=BLOCKS_PER_REQUEST)
        for n, block in zip(range(lo, hi + 1), raw, strict=True):
            if block is None:
                raise BlockMissing(f"block {n} not found (the node is behind or the chain got shorter)")
        receipts = await self._receipts(raw)
        out = [BlockData.from_rpc(b, r) for b, r in zip(raw, receipts, strict=True)]
        for prev, block in zip(out, out[1:], strict=False):
            if block.parent_hash != prev.hash:
                raise ChainMoved(f"block {block.number} does not follow block {prev.number}")
        return out

    async def _receipts(self, blocks: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
        if self.receipts in ("auto", "block"):
            calls = [("eth_getBlockReceipts", [b["hash"]]) for b in blocks if b["transactions"]]
            try:
                answers = iter(await self.client.batch(calls, size=BLOCKS_PER_REQUEST))
            except RpcError as exc:
                if self.receipts == "block" or exc.rpc_code not in _METHOD_MISSING:
                    raise
                self.receipts = "tx"
                return await self._receipts(blocks)
            if calls:
                self.receipts = "block"
            per_block = [next(answers) if b["transactions"] else [] for b in blocks]
        else:
            calls = [("eth_getTransactionReceipt", [tx["hash"]]) for b in blocks for tx in b["transactions"]]
            answers = iter(await self.client.batch(calls))
            per_block = [[next(answers) for _ in b["transactions"]] for b in blocks]
        for block, receipts in zip(blocks, per_block, strict=True):
            if receipts is None or len(receipts) != len(block["transactions"]):
                raise ChainMoved(f"receipts of block {int(block['number'], 16)} not found")
            for tx, receipt in zip(block["transactions"], receipts, strict=True):
                if (
                    receipt is None
                    or receipt.get("blockHash") != block["hash"]
                    or (receipt.get("transactionHash") != tx["hash"])
                ):
                    raise ChainMoved(f"receipt of {tx['hash']} is not from block {block['hash']}")
        return per_block


def _text(result: Any) -> str | None:
    """A string from `symbol()`/`name()`: ABI string, or bytes32 (older tokens such as MKR)."""
    if not isinstance(result, str) or len(result) < 66:
        return None
    data = bytes.fromhex(result[2:])
    try:
        text = abi_decode(["string"], data)[0]
    except Exception:
        text = data[:32].rstrip(b"\0").decode("utf-8", errors="replace")
    text = _CONTROL.sub("", text).strip()
    return text[:100] or None


def _decimals(result: Any) -> int | None:
    if not isinstance(result, str) or len(result) < 66:
        return None
    value = int(result[2:66], 16)
    return value if value <= 255 else None


async def token_metadata(client: RpcClient, addresses: set[str]) -> list[dict[str, Any]]:
    """symbol, name and decimals of each token (None where the contract has no such function)."""
    tokens = sorted(addresses)
    calls = [("eth_call", [{"to": t, "data": sel}, "latest"]) for t in tokens for sel in _SELECTORS.values()]
    results = await client.batch(calls, errors="return")
    rows = []
    for i, token in enumerate(tokens):
        symbol, name, decimals = results[3 * i : 3 * i + 3]
        rows.append(
            {"address": token, "symbol": _text(symbol), "name": _text(name), "decimals": _decimals(decimals)}
        )
    return rows
