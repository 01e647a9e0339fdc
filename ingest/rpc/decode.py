"""Blocks, receipts and logs as the node returns them (hex strings) -> transfer batches.

One native TRANSFER per transaction (zero-value calls too: they are interactions; a failed
transaction moves no value and has status 0; a creation goes to the created contract), one per
internal value transfer where the node traces them (ingest/rpc/internal.py: log_index -1 -
the call frame's position), and
one per token movement in the receipts' logs:
- ERC-20 `Transfer`: 3 topics, 32 bytes of data (the amount), scaled by the token's decimals;
- ERC-721 `Transfer`: 4 topics (the token id is the last), value 1;
- ERC-1155 `TransferSingle` and `TransferBatch`: amounts unscaled, one transfer per id.
Items after the first of a `TransferBatch` share its log, so their `log_index` is
`log_index + (item << 32)`; `log_index & 0xffffffff` is always the log's own index.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from eth_abi import decode as abi_decode

from core.chains import DEFAULT_CHAIN
from graph.model import NATIVE_TOKEN, TRANSFER_COLUMNS
from ingest.batch import transfer_frame
from ingest.rpc.internal import InternalTransfer

TRANSFER = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
TRANSFER_SINGLE = "0xc3d58168c5ae7397731d063d5bbf3d657854427343f4c083240f7aacaa2d0f62"
TRANSFER_BATCH = "0x4a39dc06d4c0dbc64b70af90fd698a233a518aa5d07e595d983b8c0526c8f7fb"
TOKEN_TOPICS = (TRANSFER, TRANSFER_SINGLE, TRANSFER_BATCH)
ITEM_SHIFT = 32
WEI = 10**18


@dataclass
class BlockData:
    """One block with full transactions and its receipts (in transaction order)."""

    number: int
    hash: str
    parent_hash: str
    ts: int
    transactions: list[dict[str, Any]]
    receipts: list[dict[str, Any]]
    internal: dict[str, list[InternalTransfer]] = field(default_factory=dict)  # by transaction hash

    @classmethod
    def from_rpc(cls, block: dict[str, Any], receipts: list[dict[str, Any]]) -> BlockData:
        return cls(
            number=int(block["number"], 16),
            hash=block["hash"].lower(),
            parent_hash=block["parentHash"].lower(),
            ts=int(block["timestamp"], 16),
            transactions=block["transactions"],
            receipts=receipts,
            internal=block.get("_internal") or {},
        )

    @property
    def tx_hashes(self) -> list[str]:
        return [tx["hash"].lower() for tx in self.transactions]


@dataclass
class Decoded:
    frame: pd.DataFrame
    token_ids: pd.DataFrame  # from_address, to_address, hash, log_index, token_id (NFT transfers)
    created: list[dict[str, Any]] = field(default_factory=list)  # contracts created: address, block
    kinds: Counter = field(default_factory=Counter)  # native, erc20, erc721, erc1155, skipped_logs


def _topic_address(topic: str) -> str:
    return "0x" + topic[-40:].lower()


def token_addresses(blocks: list[BlockData]) -> set[str]:
    """Contracts that emitted a token transfer event in these blocks."""
    return {
        log["address"].lower()
        for b in blocks
        for r in b.receipts
        for log in r.get("logs") or ()
        if log.get("topics") and log["topics"][0] in TOKEN_TOPICS
    }


class _Rows:
    def __init__(self) -> None:
        self.cols: dict[str, list[Any]] = {k: [] for k in TRANSFER_COLUMNS if k not in ("tx_count", "chain")}
        self.ids: dict[str, list[Any]] = {k: [] for k in ("from_address", "to_address", "hash", "log_index",
                                                             "token_id")}  # fmt: skip

    def add(self, src: str, dst: str, tx: str, log_index: int, raw: int, value: float, token: str,
            block: BlockData, status: int = 1, token_id: int | None = None,
            fee: float = 0.0) -> None:  # fmt: skip
        for key, v in (("from_address", src), ("to_address", dst), ("hash", tx), ("log_index", log_index),
                       ("value", value), ("value_raw", str(raw)), ("token", token), ("ts", block.ts),
                       ("block", block.number), ("status", status), ("fee", fee)):  # fmt: skip
            self.cols[key].append(v)
        if token_id is not None:
            for key, v in (("from_address", src), ("to_address", dst), ("hash", tx), ("log_index", log_index),
                           ("token_id", str(token_id))):  # fmt: skip
                self.ids[key].append(v)


def _decode_log(rows: _Rows, log: dict[str, Any], tx: str, block: BlockData,
                decimals: dict[str, int | None]) -> str | None:  # fmt: skip
    """Add the transfers of one log; the kind decoded, or None for a log that is not one."""
    topics = log.get("topics") or []
    if not topics or topics[0] not in TOKEN_TOPICS or log.get("removed"):
        return None
    token = log["address"].lower()
    index = int(log["logIndex"], 16)
    data = log.get("data") or "0x"
    if topics[0] == TRANSFER and len(topics) == 3 and len(data) == 66:
        raw = int(data, 16)
        scale = decimals.get(token) or 0
        rows.add(_topic_address(topics[1]), _topic_address(topics[2]), tx, index, raw, raw / 10**scale,
                 token, block)  # fmt: skip
        return "erc20"
    if topics[0] == TRANSFER and len(topics) == 4 and len(data) <= 2:
        rows.add(_topic_address(topics[1]), _topic_address(topics[2]), tx, index, 1, 1.0, token, block,
                 token_id=int(topics[3], 16))  # fmt: skip
        return "erc721"
    if topics[0] in (TRANSFER_SINGLE, TRANSFER_BATCH) and len(topics) == 4:
        src, dst = _topic_address(topics[2]), _topic_address(topics[3])
        payload = bytes.fromhex(data[2:])
        try:
            if topics[0] == TRANSFER_SINGLE:
                ids, amounts = abi_decode(["uint256", "uint256"], payload)
                ids, amounts = [ids], [amounts]
            else:
                ids, amounts = abi_decode(["uint256[]", "uint256[]"], payload)
        except Exception:  # malformed data from a non-standard contract
            return None
        if len(ids) != len(amounts):
            return None
        for item, (token_id, raw) in enumerate(zip(ids, amounts, strict=True)):
            rows.add(src, dst, tx, index + (item << ITEM_SHIFT), raw, float(raw), token, block,
                     token_id=token_id)  # fmt: skip
        return "erc1155"
    return None


def _fee(tx: dict[str, Any], receipt: dict[str, Any]) -> float:
    """ETH the sender paid: gas used x effective gas price (the transaction's gas price on nodes
    whose receipts predate EIP-1559); 0 when the node says neither."""
    used, price = receipt.get("gasUsed"), receipt.get("effectiveGasPrice") or tx.get("gasPrice")
    return int(used, 16) * int(price, 16) / WEI if used and price else 0.0


def decode_blocks(
    blocks: list[BlockData], decimals: dict[str, int | None], chain: int = DEFAULT_CHAIN
) -> Decoded:
    """Transfers of these blocks of chain `chain`; `decimals` maps token address -> decimals
    (None: unscaled)."""
    rows = _Rows()
    created: list[dict[str, Any]] = []
    kinds: Counter = Counter()
    for block in blocks:
        for tx, receipt in zip(block.transactions, block.receipts, strict=True):
            tx_hash = tx["hash"].lower()
            status = int(receipt["status"], 16) if receipt.get("status") is not None else 1
            created_at = (receipt.get("contractAddress") or "").lower()
            if created_at:
                created.append({"address": created_at, "name": None, "category": None, "block": block.number})
            to = (tx.get("to") or "").lower() or created_at
            if to:
                raw = int(tx["value"], 16) if status else 0
                rows.add(tx["from"].lower(), to, tx_hash, -1, raw, raw / WEI, NATIVE_TOKEN, block, status,
                         fee=_fee(tx, receipt))  # fmt: skip
                kinds["native"] += 1
            for item in block.internal.get(tx_hash, ()) if status else ():
                rows.add(item.from_address, item.to_address, tx_hash, item.log_index, item.wei,
                         item.wei / WEI, NATIVE_TOKEN, block)  # fmt: skip
                kinds["internal"] += 1
            for log in receipt.get("logs") or ():
                before = len(rows.cols["hash"])
                kind = _decode_log(rows, log, tx_hash, block, decimals)
                if kind:
                    kinds[kind] += len(rows.cols["hash"]) - before
                elif log.get("topics") and log["topics"][0] in TOKEN_TOPICS:
                    kinds["skipped_logs"] += 1
    frame = transfer_frame(**rows.cols, tx_count=[1] * len(rows.cols["hash"]), chain=chain)
    return Decoded(frame, pd.DataFrame(rows.ids), created, kinds)
