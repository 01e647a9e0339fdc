"""The ingestion run: block ranges into the graph, with a checkpoint per chain and reorgs handled.

A range is split in chunks; the fetch of chunk n+1 overlaps the write of chunk n. Each chunk
is written in this order, so that a run killed anywhere resumes correctly:
1. its blocks' hashes and transaction hashes (`:Block`), 2. its transfers, token metadata and
created contracts (idempotent MERGE), 3. the checkpoint (`:Chain.done`).

A reorg shows as a chunk whose first block's parent is not the stored hash of the block
before it (or as a changed hash of the newest block done). The run walks back through the
stored blocks to the newest one the node still has, deletes the transfers of every stored
block above it, and ingests again from there.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tqdm import tqdm

from core.errors import AidropError
from graph import chain
from graph.store import GraphStore
from ingest.rpc.client import RpcClient
from ingest.rpc.decode import BlockData, decode_blocks, token_addresses
from ingest.rpc.fetch import BlockMissing, Fetcher, token_metadata


class ReorgTooDeep(AidropError):
    code = "REORG_TOO_DEEP"


@dataclass
class Options:
    start: int = 0
    end: int | None = None  # None: the head (less confirmations)
    confirmations: int = 0
    follow: bool = False
    chain_id: int | None = None  # expected chain id
    chunk: int = 50  # blocks per chunk
    window: int = 256  # newest blocks kept as :Block nodes (deepest reorg handled)
    poll: float = 2.0  # seconds between head checks in follow mode
    receipts: str = "auto"  # auto | block (eth_getBlockReceipts) | tx (eth_getTransactionReceipt)
    values: str = "auto"  # auto | trace (trace_block) | full (full blocks): see ingest.rpc.fetch
    internal: str = "auto"  # internal transactions: auto | trace | debug | off (ingest.rpc.internal)
    progress: bool = False


@dataclass
class RpcReport:
    chain_id: int = 0
    first_block: int | None = None
    last_block: int | None = None
    blocks: int = 0
    transactions: int = 0
    transfers: int = 0  # decoded (a re-run decodes them again)
    transfers_written: int = 0  # new in the graph
    wallets_created: int = 0
    tokens: int = 0  # token metadata read
    contracts: int = 0  # contract creations seen
    reorgs: int = 0
    orphaned_blocks: int = 0
    kinds: Counter = field(default_factory=Counter)
    requests: int = 0
    retries: int = 0
    retry_reasons: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    interrupted: bool = False
    fetch: str = ""  # how blocks were read: receipts by block or tx, values from traces or full blocks

    @property
    def blocks_per_s(self) -> float:
        return self.blocks / self.seconds if self.seconds else 0.0

    @property
    def transfers_per_s(self) -> float:
        return self.transfers / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "kinds"}
        out.update(
            {
                k: self.kinds.get(k, 0)
                for k in ("native", "erc20", "erc721", "erc1155", "skipped_logs", "internal")
            }  # fmt: skip
        )
        out["blocks_per_s"] = round(self.blocks_per_s, 1)
        out["transfers_per_s"] = round(self.transfers_per_s, 1)
        out["seconds"] = round(self.seconds, 3)
        return out


class _Reorged(Exception):
    def __init__(self, resume: int) -> None:
        self.resume = resume


class Ingester:
    def __init__(self, store: GraphStore, client: RpcClient, options: Options) -> None:
        self.store = store
        self.client = client
        self.opt = options
        self.fetcher = Fetcher(client, options.receipts, options.values, internal=options.internal)
        self.report = RpcReport()
        self.decimals: dict[str, int | None] = {}
        self.done = chain.Ranges()
        self.chain_id = 0
        self.bar: tqdm | None = None

    async def run(self, stop: asyncio.Event | None = None) -> RpcReport:
        stop = stop or asyncio.Event()
        started = time.monotonic()
        self.chain_id = self.report.chain_id = await self.client.check_chain(self.opt.chain_id)
        self.done = await chain.done_ranges(self.store, self.chain_id)
        self.decimals = await self.store.token_decimals(self.chain_id)
        self.bar = tqdm(desc=f"chain {self.chain_id}", unit="blk", total=0, disable=not self.opt.progress,
                        dynamic_ncols=True, leave=True)  # fmt: skip
        try:
            while not stop.is_set():
                target = await self.client.block_number() - self.opt.confirmations
                if self.opt.end is not None:
                    target = min(target, self.opt.end)
                await self._check_tip(target)
                for lo, hi in self.done.missing(self.opt.start, target):
                    self.bar.total += hi - lo + 1
                    self.bar.refresh()
                    if not await self._ingest(lo, hi, stop):
                        break
                if not self.opt.follow:
                    break
                if self.opt.end is not None and not self.done.missing(self.opt.start, self.opt.end):
                    break
                try:
                    await asyncio.wait_for(stop.wait(), self.opt.poll)
                except TimeoutError:
                    pass
            self.report.interrupted = stop.is_set()
        finally:
            self.bar.close()
            self.report.seconds = time.monotonic() - started
            self.report.requests = self.client.stats.requests
            self.report.retries = self.client.stats.retries
            self.report.retry_reasons = dict(self.client.stats.reasons)
            self.report.fetch = (f"receipts={self.fetcher.receipts} values={self.fetcher.values} "
                                 f"internal={self.fetcher.internal}")  # fmt: skip
        return self.report

    # ---- one range, chunk by chunk, the next fetch overlapping this write --------------------
    async def _ingest(self, lo: int, hi: int, stop: asyncio.Event) -> bool:
        """Ingest lo..hi; False when stopped before the end."""
        at = lo
        ahead: asyncio.Future | None = None
        try:
            while at <= hi:
                if stop.is_set():
                    return False
                end = min(at + self.opt.chunk - 1, hi)
                try:
                    blocks = await (ahead or self._prefetch(at, end))
                except BlockMissing:  # the chain got shorter: the next pass reads the head again
                    return True
                ahead = self._prefetch(end + 1, min(end + self.opt.chunk, hi)) if end < hi else None
                try:
                    await self._commit(*blocks)
                except _Reorged as r:
                    if ahead:
                        ahead.cancel()
                        ahead = None
                    if self.bar is not None:
                        self.bar.total += max(0, at - r.resume)
                    hi = min(hi, await self.client.block_number() - self.opt.confirmations)
                    at = r.resume
                    continue
                at = end + 1
            return True
        finally:
            if ahead:
                ahead.cancel()

    def _prefetch(self, lo: int, hi: int) -> asyncio.Future:
        task = asyncio.ensure_future(self._fetch(lo, hi))
        task.add_done_callback(lambda t: t.cancelled() or t.exception())  # no "never retrieved"
        return task

    async def _fetch(self, lo: int, hi: int) -> tuple[list[BlockData], list[dict[str, Any]]]:
        blocks = await self.fetcher.blocks(lo, hi)
        new = token_addresses(blocks) - self.decimals.keys()
        return blocks, (await token_metadata(self.client, new) if new else [])

    async def _commit(self, blocks: list[BlockData], tokens: list[dict[str, Any]]) -> None:
        first, last = blocks[0], blocks[-1]
        stored = await chain.stored_blocks(self.store, self.chain_id, first.number - 1, last.number)
        before = stored.get(first.number - 1)
        if before is not None and before.hash != first.parent_hash:
            raise _Reorged(await self._reorg(first.number - 1))
        fresh = {b.number: b.hash for b in blocks}
        stale = [s for n, s in stored.items() if n in fresh and s.hash != fresh[n]]
        if stale:  # written by a run that stopped half-way through blocks now orphaned
            await chain.drop_transfers(self.store, self.chain_id, stale)
        if tokens:
            await self.store.upsert_tokens(tokens, self.chain_id)
            self.decimals.update({t["address"]: t["decimals"] for t in tokens})
            self.report.tokens += len(tokens)
        decoded = decode_blocks(blocks, self.decimals, self.chain_id)
        senders = decoded.frame.groupby("block")["from_address"].unique()
        await chain.save_blocks(self.store, self.chain_id, [
            chain.StoredBlock(b.number, b.hash, b.parent_hash, b.tx_hashes,
                              sorted(senders.get(b.number, []))) for b in blocks
        ])  # fmt: skip
        written = await self.store.write_transfers(decoded.frame)
        await self.store.transfers_added(decoded.frame)
        if len(decoded.token_ids):
            await chain.set_token_ids(self.store, self.chain_id, decoded.token_ids)
        if decoded.created:
            await self.store.upsert_contracts(decoded.created, self.chain_id)
        self.done.add(first.number, last.number)
        await chain.save_done(self.store, self.chain_id, self.done)
        keep_from = (self.done.top or 0) - self.opt.window
        if keep_from > 0:
            await chain.forget_blocks(self.store, self.chain_id, 0, keep_from - 1)
        self._count(blocks, decoded.frame.shape[0], written.transfers_written, written.wallets_created,
                    decoded.kinds, len(decoded.created))  # fmt: skip

    def _count(self, blocks: list[BlockData], transfers: int, written: int, wallets: int, kinds: Counter,
               created: int) -> None:  # fmt: skip
        r = self.report
        r.first_block = blocks[0].number if r.first_block is None else min(r.first_block, blocks[0].number)
        r.last_block = blocks[-1].number if r.last_block is None else max(r.last_block, blocks[-1].number)
        r.blocks += len(blocks)
        r.transactions += sum(len(b.transactions) for b in blocks)
        r.transfers += transfers
        r.transfers_written += written
        r.wallets_created += wallets
        r.kinds.update(kinds)
        r.contracts += created
        if self.bar is not None:
            self.bar.update(len(blocks))
            elapsed = self.bar.format_dict.get("elapsed") or 0
            rate = f"{r.transfers / elapsed:,.0f}" if elapsed else "-"
            self.bar.set_postfix({"transfers": f"{r.transfers:,}", "transfers/s": rate})

    # ---- reorgs -----------------------------------------------------------------------------
    async def _check_tip(self, target: int) -> None:
        """A reorg that replaced the newest block done without making the chain longer."""
        top = self.done.top
        if top is None:
            return
        stored = await chain.stored_blocks(self.store, self.chain_id, top, top)
        if top not in stored:
            return
        header = await self.client.call("eth_getBlockByNumber", [hex(top), False])
        if header is None or header["hash"].lower() != stored[top].hash:
            await self._reorg(top)

    async def _reorg(self, number: int) -> int:
        """The stored block `number` is no longer canonical: undo back to the common ancestor;
        returns the first block to ingest again."""
        stored = await chain.stored_blocks(self.store, self.chain_id, 0, 2**62)
        below = sorted((n for n in stored if n <= number), reverse=True)
        headers = await self.client.batch([("eth_getBlockByNumber", [hex(n), False]) for n in below])
        ancestor = next(
            (
                n
                for n, h in zip(below, headers, strict=True)
                if h is not None and h["hash"].lower() == stored[n].hash
            ),
            None,
        )
        if ancestor is None:
            raise ReorgTooDeep(
                f"chain {self.chain_id}: block {number} was replaced and none of the {len(below)} newest "
                f"blocks kept still matches the node; re-ingest the range into a fresh graph"
            )
        orphaned = [s for n, s in stored.items() if n > ancestor]
        await chain.drop_transfers(self.store, self.chain_id, orphaned)
        await chain.forget_blocks(self.store, self.chain_id, ancestor + 1, 2**62)
        self.done.remove(ancestor + 1, 2**62)
        await chain.save_done(self.store, self.chain_id, self.done)
        self.report.reorgs += 1
        self.report.orphaned_blocks += number - ancestor
        return ancestor + 1


async def ingest_rpc(store: GraphStore, client: RpcClient, options: Options,
                     stop: asyncio.Event | None = None) -> RpcReport:  # fmt: skip
    """Ingest options.start..options.end (or follow the head) from the client's node."""
    return await Ingester(store, client, options).run(stop)
