"""Chain ingestion state in the graph: which blocks are done, and the newest blocks' hashes.

Per chain, one `(:Chain {chain_id, done, head})` node: `done` lists the block ranges already
ingested ("0-99,200-250"), `head` is the highest block done. The newest blocks (a reorg
window) are kept as `(:Block {chain_id, number, hash, parent_hash, txs, senders})`, written
before their transfers, so that the transfers of a block later found orphaned can be removed
(found from their senders, matched by block number and transaction hash) even after a crash
half-way through it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from graph import cypher as q
from graph.store import GraphStore


class Ranges:
    """A set of block numbers as sorted, disjoint, non-adjacent inclusive ranges."""

    def __init__(self, ranges: Iterable[tuple[int, int]] = ()) -> None:
        self.items: list[tuple[int, int]] = []
        for lo, hi in ranges:
            self.add(lo, hi)

    @classmethod
    def parse(cls, text: str | None) -> Ranges:
        pairs = []
        for part in (text or "").split(","):
            if part.strip():
                lo, _, hi = part.strip().partition("-")
                pairs.append((int(lo), int(hi or lo)))
        return cls(pairs)

    def __str__(self) -> str:
        return ",".join(f"{lo}-{hi}" for lo, hi in self.items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ranges) and self.items == other.items

    def __contains__(self, number: int) -> bool:
        return any(lo <= number <= hi for lo, hi in self.items)

    @property
    def top(self) -> int | None:
        return self.items[-1][1] if self.items else None

    def add(self, lo: int, hi: int) -> None:
        if lo > hi:
            return
        merged: list[tuple[int, int]] = []
        for a, b in self.items:
            if b < lo - 1 or a > hi + 1:
                merged.append((a, b))
            else:
                lo, hi = min(a, lo), max(b, hi)
        merged.append((lo, hi))
        self.items = sorted(merged)

    def remove(self, lo: int, hi: int) -> None:
        kept: list[tuple[int, int]] = []
        for a, b in self.items:
            if b < lo or a > hi:
                kept.append((a, b))
                continue
            if a < lo:
                kept.append((a, lo - 1))
            if b > hi:
                kept.append((hi + 1, b))
        self.items = kept

    def missing(self, lo: int, hi: int) -> list[tuple[int, int]]:
        """The parts of [lo, hi] not in the set, in order."""
        out: list[tuple[int, int]] = []
        at = lo
        for a, b in self.items:
            if b < at:
                continue
            if a > hi:
                break
            if a > at:
                out.append((at, a - 1))
            at = max(at, b + 1)
        if at <= hi:
            out.append((at, hi))
        return out


@dataclass(frozen=True)
class StoredBlock:
    number: int
    hash: str
    parent_hash: str
    txs: list[str]  # transaction hashes
    senders: list[str]  # from_address of every transfer of the block


async def done_ranges(store: GraphStore, chain_id: int) -> Ranges:
    rows = await store.query(q.CHAIN_STATE, {"chain_id": chain_id})
    return Ranges.parse(rows[0]["done"]) if rows else Ranges()


async def save_done(store: GraphStore, chain_id: int, done: Ranges) -> None:
    await store.execute(q.SET_CHAIN_STATE, {"chain_id": chain_id, "done": str(done), "head": done.top or -1})


async def stored_blocks(store: GraphStore, chain_id: int, lo: int, hi: int) -> dict[int, StoredBlock]:
    rows = [r["block"] for r in await store.query(q.CHAIN_BLOCKS, {"chain_id": chain_id, "lo": lo, "hi": hi})]
    return {
        b["number"]: StoredBlock(
            b["number"], b["hash"], b["parent_hash"], list(b.get("txs") or []), list(b.get("senders") or [])
        )
        for b in rows
    }


async def save_blocks(store: GraphStore, chain_id: int, blocks: Sequence[StoredBlock]) -> None:
    rows = [
        {"number": b.number, "hash": b.hash, "parent_hash": b.parent_hash, "txs": b.txs, "senders": b.senders}
        for b in blocks
    ]
    for i in range(0, len(rows), 500):
        await store.execute(q.MERGE_BLOCKS, {"chain_id": chain_id, "rows": rows[i : i + 500]})


async def forget_blocks(store: GraphStore, chain_id: int, lo: int, hi: int) -> None:
    await store.execute(q.DELETE_BLOCKS, {"chain_id": chain_id, "lo": lo, "hi": hi})


async def drop_transfers(store: GraphStore, chain_id: int, blocks: Sequence[StoredBlock]) -> int:
    """Delete the transfers of orphaned blocks of chain `chain_id` (other chains' transfers of the
    same wallets stay), then the plain wallets only they touched;
    returns the number of orphaned transactions. Contracts and tokens stay (they are facts
    about addresses, not about the orphaned branch)."""
    hashes = sorted({h for b in blocks for h in b.txs})
    senders = sorted({a for b in blocks for a in b.senders})
    if not hashes or not senders:
        return 0
    params: dict[str, Any] = {
        "chain_id": chain_id,
        "lo": min(b.number for b in blocks),
        "hi": max(b.number for b in blocks),
        "senders": senders,
    }
    for i in range(0, len(hashes), 2000):
        params["hashes"] = hashes[i : i + 2000]
        rows = await store.query(q.ORPHAN_WALLETS, params)
        await store.execute(q.DELETE_ORPHAN_TRANSFERS, params)
        addresses = sorted({r["from_address"] for r in rows} | {r["to_address"] for r in rows})
        for j in range(0, len(addresses), 2000):
            await store.execute(q.DELETE_LONELY_WALLETS, {"addresses": addresses[j : j + 2000]})
    return len(hashes)


async def set_token_ids(store: GraphStore, chain_id: int, ids: pd.DataFrame) -> None:
    """Write `token_id` on NFT transfers of chain `chain_id` (columns from_address, hash,
    log_index, token_id)."""
    for i in range(0, len(ids), store.write_batch):
        part = ids.iloc[i : i + store.write_batch]
        await store.execute(
            q.SET_TOKEN_IDS,
            {
                "chain_id": chain_id,
                "from_address": part["from_address"].tolist(),
                "hash": part["hash"].tolist(),
                "log_index": [int(x) for x in part["log_index"].tolist()],
                "token_id": part["token_id"].tolist(),
            },
        )
