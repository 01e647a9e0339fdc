"""Drives an ingestion run: reads batches (in a thread, one ahead), writes them to the graph,
shows progress and keeps the report."""

from __future__ import annotations

import asyncio
import itertools
import shutil
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path

from tqdm import tqdm

from core.chains import DEFAULT_CHAIN
from graph.store import GraphStore
from ingest import edges, etherscan, etl
from ingest.batch import Batch
from ingest.report import IngestReport

Source = tuple[Path, Callable[[], Iterator[Batch]]]


def _progress(total: int, enabled: bool) -> tqdm:
    width = shutil.get_terminal_size((100, 20)).columns  # a terminal that reports no size gets 100
    return tqdm(
        total=total, unit="B", unit_scale=True, unit_divisor=1024, desc="ingest", disable=not enabled,
        ncols=min(width, 120), nrows=40, leave=True,
    )  # fmt: skip


def _tracked(sources: Iterable[Source], bar: tqdm) -> Iterator[Batch]:
    """All batches of all sources in order, advancing the bar by bytes read."""
    for path, make in sources:
        done = 0
        for batch in make():
            if batch.position > done:
                bar.update(batch.position - done)
                done = batch.position
            yield batch
        bar.update(max(0, path.stat().st_size - done))


async def write_batches(store: GraphStore, sources: list[Source], report: IngestReport, progress: bool,
                        bulk: bool = True, chain: int | None = None) -> IngestReport:  # fmt: skip
    """Write every batch; the reading of batch n+1 overlaps the writing of batch n. `chain`, when
    given, is the chain id of every transfer read (files do not say theirs)."""
    total = sum(path.stat().st_size for path, _ in sources)
    with _progress(total, progress) as bar:
        batches = _tracked(sources, bar)
        sink = await store.open_sink(bulk)
        report.mode = sink.mode
        loop = asyncio.get_running_loop()
        pending = loop.run_in_executor(None, next, batches, None)
        try:
            while (batch := await pending) is not None:
                pending = loop.run_in_executor(None, next, batches, None)
                report.rows_read += batch.rows_read
                report.rows_skipped += batch.skipped
                report.reject(batch.errors)
                if chain is not None:
                    batch.frame["chain"] = chain
                result = await sink.write(batch.frame)
                await store.transfers_added(batch.frame)
                report.transfers_written += result.transfers_written
                report.wallets_created += result.wallets_created
                bar.set_postfix(transfers=report.transfers_written, rejected=report.rows_rejected)
        finally:
            await sink.close()
    if report.transfers_written:
        await store.note_chain(chain if chain is not None else DEFAULT_CHAIN)
    return report


async def ingest_etl(store: GraphStore, paths: Iterable[Path], progress: bool = False,
                     chain: int = DEFAULT_CHAIN) -> IngestReport:  # fmt: skip
    files = etl.discover(paths)
    report = IngestReport()
    ctx = etl.EtlContext(decimals=await store.token_decimals(chain))
    for kind, reader in (("tokens", etl.read_tokens), ("contracts", etl.read_contracts),
                         ("receipts", etl.read_receipts), ("blocks", etl.read_blocks)):  # fmt: skip
        for path in files[kind]:
            reader(path, ctx, report)
    need_blocks = bool(files["token_transfers"]) and not files["blocks"]
    sources: list[Source] = [
        *((p, lambda p=p: etl.transaction_batches(p, ctx, need_blocks)) for p in files["transactions"]),
        *((p, lambda p=p: etl.token_transfer_batches(p, ctx)) for p in files["token_transfers"]),
    ]
    await write_batches(store, sources, report, progress, chain=chain)
    report.contracts = await store.upsert_contracts(list(ctx.contracts.values()), chain)
    report.tokens = await store.upsert_tokens(list(ctx.tokens.values()), chain)
    return report


async def ingest_edges(store: GraphStore, paths: Iterable[Path], progress: bool = False,
                       chain: int = DEFAULT_CHAIN) -> IngestReport:  # fmt: skip
    sources: list[Source] = [(Path(p), partial(edges.edge_batches, Path(p))) for p in paths]
    return await write_batches(store, sources, IngestReport(), progress, chain=chain)


async def ingest_etherscan(store: GraphStore, paths: Iterable[Path], progress: bool = False,
                           chain: int = DEFAULT_CHAIN) -> IngestReport:  # fmt: skip
    sources: list[Source] = [(Path(p), partial(etherscan.etherscan_batches, Path(p))) for p in paths]
    report = await write_batches(store, sources, IngestReport(), progress, chain=chain)
    tokens = list(itertools.chain.from_iterable(etherscan.token_metadata(Path(p)) for p in paths))
    report.tokens = await store.upsert_tokens(tokens, chain)
    return report
