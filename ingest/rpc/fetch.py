"""Fetching from the node: blocks with their receipts, checked for consistency, and token metadata."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from eth_abi import decode as abi_decode

from ingest.rpc.client import RpcClient, RpcError
from ingest.rpc.decode import BlockData
from ingest.rpc.internal import from_call_tracer, from_parity

BLOCKS_PER_REQUEST = 10  # full blocks are large: fewer per HTTP request than other calls
_SELECTORS = {"symbol": "0x95d89b41", "name": "0x06fdde03", "decimals": "0x313ce567"}
_METHOD_MISSING = (-32601, -32600, -32602)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ChainMoved(Exception):
    """The node's answers for a range did not fit together (a reorg happened while fetching)."""


class BlockMissing(ChainMoved):
    """A block of the range is not (or no longer) on the node."""


class _NoTrace(Exception):
    """A transaction without a top-level call in trace_block's answer."""


class Fetcher:
    """Reads ranges of blocks with their receipts: by block (eth_getBlockReceipts) when the
    node has it, else one eth_getTransactionReceipt per transaction, both batched.

    Transactions come from full blocks, or (values="trace") from the receipts plus the value
    of each transaction's top-level call in `trace_block`, which nodes with the trace module
    (Erigon, Reth, Nethermind, Besu, anvil) serve much faster than full transaction bodies.
    values="auto" uses trace_block when the node answers it, else full blocks."""

    def __init__(
        self, client: RpcClient, receipts: str = "auto", values: str = "auto", attempts: int = 5,
        internal: str = "auto",
    ) -> None:  # fmt: skip
        self.client = client
        # Internal transactions (ingest/rpc/internal.py): from trace_block when values come from it,
        # else debug_traceBlockByNumber (callTracer); auto: whichever the node has, none if neither.
        self.internal = internal  # auto | trace | debug | off
        self.receipts = receipts  # auto | block | tx
        self.values = (
            "full" if receipts == "tx" else values
        )  # auto | trace | full (traces need block receipts)
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
        if self.values != "full":
            try:
                out = await self._fetch(lo, hi, traced=True)
                self.values = "trace"
                return out
            except RpcError:
                if self.values == "trace":
                    raise
                self.values = "full"  # the node has no trace_block
            except _NoTrace:
                self.values = "full"
        return await self._fetch(lo, hi, traced=False)

    async def _fetch(self, lo: int, hi: int, traced: bool) -> list[BlockData]:
        calls = [("eth_getBlockByNumber", [hex(n), not traced]) for n in range(lo, hi + 1)]
        raw = await self.client.batch(calls, size=BLOCKS_PER_REQUEST)
        for n, block in zip(range(lo, hi + 1), raw, strict=True):
            if block is None:
                raise BlockMissing(f"block {n} not found (the node is behind or the chain got shorter)")
        receipts = await self._receipts(raw)
        if traced:
            raw = await self._traced(raw, receipts)
        elif self.internal in ("auto", "debug", "trace"):
            raw = await self._debug_traced(raw)
        out = [BlockData.from_rpc(b, r) for b, r in zip(raw, receipts, strict=True)]
        for prev, block in zip(out, out[1:], strict=False):
            if block.parent_hash != prev.hash:
                raise ChainMoved(f"block {block.number} does not follow block {prev.number}")
        return out

    async def _traced(
        self, blocks: list[dict[str, Any]], receipts: list[list[dict[str, Any]]]
    ) -> list[dict[str, Any]]:
        """Light blocks with their transactions rebuilt from receipts and top-level call traces."""
        calls = [("trace_block", [b["number"]]) for b in blocks if b["transactions"]]
        traces = iter(await self.client.batch(calls, size=BLOCKS_PER_REQUEST))
        out = []
        for block, block_receipts in zip(blocks, receipts, strict=True):
            if not block["transactions"]:
                out.append(block)
                continue
            top = {}
            block_traces = next(traces) or []
            if self.internal != "off":
                self.internal = "trace"
                block = {**block, "_internal": from_parity(block_traces)}
            for t in block_traces:
                if t.get("blockHash") != block["hash"]:
                    raise ChainMoved(f"traces of block {int(block['number'], 16)} are from another block")
                if t.get("transactionHash") and t.get("traceAddress") == []:
                    top[t["transactionHash"]] = t["action"]
            txs = []
            for r in block_receipts:
                action = top.get(r["transactionHash"])
                if action is None:
                    raise _NoTrace(r["transactionHash"])
                txs.append({"hash": r["transactionHash"], "from": r["from"], "to": r.get("to"),
                            "value": action.get("value") or "0x0"})  # fmt: skip
            out.append({**block, "transactions": txs})
        return out

    async def _debug_traced(self, blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Blocks with their internal transfers from debug_traceBlockByNumber (callTracer)."""
        calls = [("debug_traceBlockByNumber", [b["number"], {"tracer": "callTracer"}])
                 for b in blocks if b["transactions"]]  # fmt: skip
        try:
            answers = iter(await self.client.batch(calls, size=BLOCKS_PER_REQUEST))
        except RpcError as exc:
            if self.internal != "auto" or exc.rpc_code not in _METHOD_MISSING:
                raise
            self.internal = "off"  # the node has neither tracer
            return blocks
        if calls:
            self.internal = "debug"
        out = []
        for block in blocks:
            if not block["transactions"]:
                out.append(block)
                continue
            answer = next(answers) or []
            if len(answer) != len(block["transactions"]):
                raise ChainMoved(f"traces of block {int(block['number'], 16)} do not match its transactions")
            out.append({**block, "_internal": from_call_tracer(answer)})
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
            calls = [("eth_getTransactionReceipt", [_hash(tx)]) for b in blocks for tx in b["transactions"]]
            answers = iter(await self.client.batch(calls))
            per_block = [[next(answers) for _ in b["transactions"]] for b in blocks]
        for block, receipts in zip(blocks, per_block, strict=True):
            if receipts is None or len(receipts) != len(block["transactions"]):
                raise ChainMoved(f"receipts of block {int(block['number'], 16)} not found")
            for tx, receipt in zip(block["transactions"], receipts, strict=True):
                if (
                    receipt is None
                    or receipt.get("blockHash") != block["hash"]
                    or (receipt.get("transactionHash") != _hash(tx))
                ):
                    raise ChainMoved(f"receipt of {_hash(tx)} is not from block {block['hash']}")
        return per_block


def _hash(tx: str | dict[str, Any]) -> str:
    return tx if isinstance(tx, str) else tx["hash"]


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
