"""The GraphStore interface: every graph operation aidrop needs, over two backends.

Backends implement the primitives (`query`, `execute`, `ensure_schema`, `clear`, `close`,
and optionally a faster `bulk_load`); the operations themselves are written once here
from the statements in graph/cypher.py.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import pandas as pd

from core.address import normalize_address
from core.chains import DEFAULT_CHAIN
from core.errors import NotFound, clip
from graph import cypher as q
from graph.model import (
    NATIVE_TOKEN,
    TRANSFER_COLUMNS,
    ChainStats,
    Counterparty,
    GraphStats,
    Transfer,
    Wallet,
    WalletStats,
    WriteResult,
)

Direction = Literal["in", "out", "both"]
MAX_PAGE = 1000
MAX_HOPS = 3
MAX_NEIGHBOURHOOD = 5000
_FAR_FUTURE = 2**62
CHAIN_SCHEMA = 1  # the graph's chain-awareness version on its (:Meta {name: 'schema'}) node


@dataclass(frozen=True)
class Counters:
    nodes_created: int = 0
    relationships_created: int = 0
    properties_set: int = 0


@dataclass(frozen=True)
class TransferCursor:
    """Position after the last transfer of a page (newest-first order: ts, hash, log_index, chain)."""

    ts: int
    hash: str
    log_index: int
    chain: int = 0  # cursors from before chain ids (three parts) sort below every chain

    def encode(self) -> str:
        return f"{self.ts}:{self.hash}:{self.log_index}:{self.chain}"

    @classmethod
    def decode(cls, text: str) -> TransferCursor:
        try:
            ts, hash_, log, *chain = text.split(":")
            if len(chain) > 1:
                raise ValueError(text)
            return cls(int(ts), hash_, int(log), int(chain[0]) if chain else 0)
        except ValueError as exc:
            raise ValueError(f"invalid transfer cursor {clip(text)}") from exc

    @classmethod
    def after(cls, t: Transfer) -> TransferCursor:
        return cls(t.ts, t.hash, t.log_index, t.chain)


@dataclass(frozen=True)
class TransferPage:
    transfers: list[Transfer]
    next_cursor: str | None


@dataclass(frozen=True)
class Neighbourhood:
    center: str
    nodes: list[str]
    edges: list[dict[str, Any]]
    truncated: bool


def transfer_columns(frame: pd.DataFrame) -> dict[str, list[Any]]:
    """A transfer batch of one chain as one plain Python list per column (the writers'
    parameters); the chain is one scalar parameter."""
    return {col: frame[col].tolist() for col in TRANSFER_COLUMNS if col != "chain"}


def by_chain(frame: pd.DataFrame) -> list[tuple[int, pd.DataFrame]]:
    """A transfer batch split by chain (almost always one: a run reads one chain)."""
    chains = frame["chain"].to_numpy()
    if len(chains) and (chains == chains[0]).all():
        return [(int(chains[0]), frame)]
    return [(int(c), part) for c, part in frame.groupby("chain", sort=True)]


class TransferSink:
    """Receives the transfer batches of one ingestion run; this one merges them."""

    mode = "merge"

    def __init__(self, store: GraphStore) -> None:
        self.store = store

    async def write(self, frame: pd.DataFrame) -> WriteResult:
        return await self.store.write_transfers(frame)

    async def close(self) -> None:
        """Finish the run (a bulk sink builds its indexes here)."""


class GraphStore(ABC):
    backend: ClassVar[str]
    write_batch: int = 5000
    write_concurrency: int = 2
    query_timeout: float = 0.0  # seconds a read may run in the database (the API sets it); 0: none

    # ---- primitives (per backend) ------------------------------------------------------
    @abstractmethod
    async def query(self, statement: q.Statement, params: dict[str, Any] | None = None) -> list[dict]:
        """Run a read statement; rows as dicts keyed by the RETURN names."""

    @abstractmethod
    async def execute(self, statement: q.Statement, params: dict[str, Any] | None = None) -> Counters:
        """Run a write statement; what it created."""

    @abstractmethod
    async def ensure_schema(self) -> None:
        """Create the indexes and uniqueness constraints (idempotent)."""

    @abstractmethod
    async def clear(self) -> None:
        """Delete the whole graph (tests, `aidrop graph reset`)."""

    @abstractmethod
    async def close(self) -> None: ...

    async def ping(self) -> bool:
        await self.query(q.COUNT_NODES)
        return True

    async def is_empty(self) -> bool:
        rows = await self.query(q.COUNT_NODES)
        return not rows or rows[0]["n"] == 0

    # ---- writes ------------------------------------------------------------------------
    async def write_transfers(self, frame: pd.DataFrame) -> WriteResult:
        """Idempotent write of a transfer batch: MERGE on wallet address and (chain, hash, log_index)."""
        if frame.empty:
            return WriteResult()
        chunks = [
            (chain, part.iloc[i : i + self.write_batch])
            for chain, part in by_chain(frame)
            for i in range(0, len(part), self.write_batch)
        ]
        sem = asyncio.Semaphore(self.write_concurrency)

        async def one(chain: int, chunk: pd.DataFrame) -> WriteResult:
            async with sem:
                created = await self.execute(q.MERGE_TRANSFERS, {**transfer_columns(chunk), "chain": chain})
                return WriteResult(created.relationships_created, created.nodes_created)

        results = await asyncio.gather(*(one(c, chunk) for c, chunk in chunks))
        written = sum(results, WriteResult())
        await self.note_written(written.transfers_written)
        return written

    @property
    def transfer_hooks(self) -> list[Callable[[pd.DataFrame], Awaitable[Any]]]:
        """Called with each batch ingestion writes (ingest/alerts.py evaluates watches on them)."""
        return self.__dict__.setdefault("_transfer_hooks", [])

    async def transfers_added(self, frame: pd.DataFrame) -> None:
        """Ingestion wrote these transfers: tell the hooks; a failing hook never stops ingestion."""
        for hook in self.transfer_hooks:
            try:
                await hook(frame)
            except Exception:
                logging.getLogger("aidrop.ingest").exception("a transfer hook failed; ingestion goes on")

    async def note_written(self, transfers: int) -> None:
        """Remember when transfers were last added (summaries older than that are stale)."""
        if transfers:
            await self.execute(q.NOTE_WRITTEN, {"at": time.time(), "n": int(transfers)})

    async def open_sink(self, bulk: bool = True) -> TransferSink:
        """Where an ingestion run writes its batches; backends with a bulk path override this."""
        return TransferSink(self)

    async def _write_rows(self, statement: q.Statement, rows: Sequence[dict[str, Any]], chain: int) -> int:
        for i in range(0, len(rows), self.write_batch):
            await self.execute(statement, {"rows": list(rows[i : i + self.write_batch]), "chain": chain})
        return len(rows)

    async def upsert_contracts(self, rows: Sequence[dict[str, Any]], chain: int = DEFAULT_CHAIN) -> int:
        """Mark addresses as contracts on `chain` with optional category, name and creation block."""
        return await self._write_rows(q.UPSERT_CONTRACTS, rows, chain)

    async def upsert_tokens(self, rows: Sequence[dict[str, Any]], chain: int = DEFAULT_CHAIN) -> int:
        """Mark addresses as tokens on `chain` with symbol, name and decimals."""
        return await self._write_rows(q.UPSERT_TOKENS, rows, chain)

    async def token_decimals(self, chain: int = DEFAULT_CHAIN) -> dict[str, int | None]:
        """Decimals of every token the graph knows on `chain` (to scale its token transfers)."""
        rows = await self.query(q.TOKEN_DECIMALS, {"chain": chain})
        return {r["address"]: r["decimals"] for r in rows}

    async def chains(self) -> list[int]:
        """The chain ids ingested into the graph, ascending."""
        return [int(r["chain"]) for r in await self.query(q.CHAINS)]

    async def note_chain(self, chain: int) -> None:
        """Remember that transfers of `chain` were ingested (after the run: a bulk load needs an
        empty graph until it starts)."""
        await self.execute(q.NOTE_CHAIN, {"chain": chain})

    async def migrate_chains(self) -> bool:
        """Make a graph written before chain ids chain-aware, once: its transfers, contracts and
        tokens become chain 1's. True when it ran. An empty graph is left empty (a first load
        into it may be a bulk load, which needs it so)."""
        rows = await self.query(q.SCHEMA_VERSION)
        if rows and (rows[0]["chains"] or 0) >= CHAIN_SCHEMA:
            return False
        if await self.is_empty():
            return False
        await self.execute(q.MIGRATE_TRANSFER_CHAINS, {"chain": DEFAULT_CHAIN})
        await self.execute(q.MIGRATE_CONTRACT_CHAINS, {"chain": DEFAULT_CHAIN})
        await self.mark_chain_aware()
        return True

    async def mark_chain_aware(self) -> None:
        await self.execute(q.SET_SCHEMA_VERSION, {"version": CHAIN_SCHEMA})

    # ---- reads -------------------------------------------------------------------------
    async def wallet(self, address: str) -> Wallet:
        address = normalize_address(address)
        found = (await self.wallets_by_address([address])).get(address)
        if found is None:
            raise NotFound(f"no wallet {address} in the graph")
        return found

    async def wallets_by_address(self, addresses: Sequence[str]) -> dict[str, Wallet]:
        """The wallets of these (normalised) addresses that the graph has, by address: one
        statement for any number (the API's DataLoaders batch their keys into one call)."""
        rows = await self.query(q.WALLETS_BY_ADDRESS, {"addresses": list(addresses)})
        return {r["address"]: _wallet(r["address"], list(r["labels"]), r["props"]) for r in rows}

    async def transfers(
        self,
        address: str,
        direction: Direction = "both",
        since: int | None = None,
        until: int | None = None,
        first: int = 50,
        after: str | None = None,
        chain: int | None = None,
    ) -> TransferPage:
        """A wallet's transfers (on `chain`, or on every chain), newest first, in keyset pages of
        at most MAX_PAGE."""
        address = normalize_address(address)
        pages = await self.transfers_by_address([address], direction, since, until, first, after, chain)
        return pages.get(address, TransferPage([], None))

    async def transfers_by_address(
        self,
        addresses: Sequence[str],
        direction: Direction = "both",
        since: int | None = None,
        until: int | None = None,
        first: int = 50,
        after: str | None = None,
        chain: int | None = None,
    ) -> dict[str, TransferPage]:
        """One page of transfers per wallet (normalised addresses), newest first, after the same
        cursor; one statement per direction for any number of wallets."""
        if direction not in ("in", "out", "both"):
            raise ValueError(f"direction must be in, out or both, not {direction!r}")
        first = max(1, min(int(first), MAX_PAGE))
        cur = TransferCursor.decode(after) if after else TransferCursor(_FAR_FUTURE, "~", 2**31)
        params = {
            "addresses": list(addresses),
            "since": int(since) if since is not None else -_FAR_FUTURE,
            "until": int(until) if until is not None else _FAR_FUTURE,
            "c_ts": cur.ts,
            "c_hash": cur.hash,
            "c_log": cur.log_index,
            "c_chain": cur.chain,
            "chain": chain,
            "first": first + 1,
        }
        stmts = {"out": [q.TRANSFERS_OUT_BY_ADDRESS], "in": [q.TRANSFERS_IN_BY_ADDRESS]}.get(
            direction, [q.TRANSFERS_OUT_BY_ADDRESS, q.TRANSFERS_IN_BY_ADDRESS]
        )
        found: dict[str, dict[tuple[int, str, int], dict]] = {a: {} for a in addresses}
        for statement in stmts:
            for row in await self.query(statement, params):
                bucket = found.setdefault(row["wallet"], {})
                for t in row["rows"]:
                    bucket[(t["chain"], t["hash"], t["log_index"])] = dict(t)
        pages = {}
        for wallet, rows in found.items():
            ordered = sorted(
                rows.values(), key=lambda r: (r["ts"], r["hash"], r["log_index"], r["chain"]), reverse=True
            )
            page = [Transfer(**r) for r in ordered[:first]]
            more = len(ordered) > first
            nxt = TransferCursor.after(page[-1]).encode() if more else None
            pages[wallet] = TransferPage(page, nxt)
        return pages

    async def counterparties(
        self, address: str, first: int = 10, chain: int | None = None
    ) -> list[Counterparty]:
        """Top counterparties by number of transactions both ways, then native value."""
        address = normalize_address(address)
        return (await self.counterparties_by_address([address], first, chain)).get(address, [])

    async def counterparties_by_address(
        self, addresses: Sequence[str], first: int = 10, chain: int | None = None
    ) -> dict[str, list[Counterparty]]:
        """Top `first` counterparties of each wallet (normalised addresses), on `chain` or all: by
        transactions both ways, then native value, then address."""
        params = {"addresses": list(addresses), "native": NATIVE_TOKEN, "chain": chain}
        merged: dict[str, dict[str, list[float]]] = {a: {} for a in addresses}
        for statement, slot in ((q.COUNTERPARTIES_OUT_BY_ADDRESS, 0), (q.COUNTERPARTIES_IN_BY_ADDRESS, 1)):
            for row in await self.query(statement, params):
                entry = merged.setdefault(row["wallet"], {}).setdefault(row["address"], [0.0, 0.0, 0])
                entry[slot] += row["value"] or 0.0
                entry[2] += row["transfers"] or 0
        first = max(1, min(int(first), MAX_PAGE))
        out = {}
        for wallet, cps in merged.items():
            ranked = sorted(cps.items(), key=lambda kv: (-kv[1][2], -(kv[1][0] + kv[1][1]), kv[0]))
            out[wallet] = [
                Counterparty(a, sent=v[0], received=v[1], transfers=int(v[2])) for a, v in ranked[:first]
            ]
        return out

    async def wallet_stats(self, address: str, chain: int | None = None) -> WalletStats:
        address = normalize_address(address)
        found = (await self.stats_by_address([address], chain)).get(address)
        if found is None:
            raise NotFound(f"no wallet {address} in the graph")
        return found

    async def stats_by_address(
        self, addresses: Sequence[str], chain: int | None = None
    ) -> dict[str, WalletStats]:
        """Fan-in / fan-out of the wallets of these (normalised) addresses the graph has, counting
        the transfers on `chain` (or on every chain)."""
        params = {"addresses": list(addresses), "native": NATIVE_TOKEN, "chain": chain}
        rows = await self.query(q.FAN_BY_ADDRESS, params)
        return {r["address"]: _wallet_stats(r) for r in rows}

    async def all_wallet_stats(self, page: int = 20_000) -> AsyncIterator[WalletStats]:
        """Fan-in/fan-out of every wallet, computed in the database in pages by address."""
        after = ""
        while True:
            params = {"after": after, "first": page, "native": NATIVE_TOKEN, "chain": None}
            rows = await self.query(q.FAN_PAGE, params)
            for row in rows:
                yield _wallet_stats(row)
            if len(rows) < page:
                return
            after = rows[-1]["address"]

    async def neighbourhood(
        self, address: str, hops: int = 1, limit: int = 100, chain: int | None = None
    ) -> Neighbourhood:
        """Wallets within `hops` transfers (either way; on `chain`, or any), strongest ties first,
        at most `limit`."""
        address = normalize_address(address)
        if not 1 <= hops <= MAX_HOPS:
            raise ValueError(f"hops must be between 1 and {MAX_HOPS}, not {hops}")
        limit = max(1, min(int(limit), MAX_NEIGHBOURHOOD))
        await self.wallet(address)
        seen = [address]
        frontier = [address]
        truncated = False
        for _ in range(hops):
            room = limit - (len(seen) - 1)
            if room <= 0 or not frontier:
                break
            params = {"frontier": frontier, "seen": seen, "limit": room + 1, "chain": chain}
            rows = await self.query(q.NEIGHBOURS, params)
            found = [r["address"] for r in rows]
            if len(found) > room:
                truncated = True
                found = found[:room]
            seen.extend(found)
            frontier = found
        edges = await self.query(q.EDGES_AMONG, {"addresses": seen, "native": NATIVE_TOKEN, "chain": chain})
        edges.sort(key=lambda e: (e["from_address"], e["to_address"]))
        return Neighbourhood(address, seen[1:], edges, truncated)

    async def stats(self, per_chain: bool = True) -> GraphStats:
        """Counts of the whole graph, and (per_chain) of each chain: its transfers, the wallets
        that sent or received on it, its contracts and tokens."""
        nodes = (await self.query(q.STATS_NODES))[0]
        edges = (await self.query(q.STATS_TRANSFERS, {"native": NATIVE_TOKEN}))[0]
        return GraphStats(
            wallets=int(nodes["wallets"] or 0),
            transfers=int(edges["transfers"] or 0),
            contracts=int(nodes["contracts"] or 0),
            tokens=int(nodes["tokens"] or 0),
            total_value=_rounded(edges["total_value"]),
            token_transfers=int(edges["token_transfers"] or 0),
            chains=await self._chain_stats() if per_chain else (),
        )

    async def _chain_stats(self) -> tuple[ChainStats, ...]:
        found: dict[int, dict[str, Any]] = {}
        for row in await self.query(q.STATS_CHAIN_TRANSFERS, {"native": NATIVE_TOKEN}):
            found.setdefault(int(row["chain"] or DEFAULT_CHAIN), {}).update(
                transfers=int(row["transfers"] or 0),
                total_value=_rounded(row["total_value"]),
                token_transfers=int(row["token_transfers"] or 0),
            )
        for row in await self.query(q.STATS_CHAIN_WALLETS):
            found.setdefault(int(row["chain"] or DEFAULT_CHAIN), {})["wallets"] = int(row["wallets"] or 0)
        for row in await self.query(q.STATS_CHAIN_CONTRACTS):
            found.setdefault(int(row["chain"]), {}).update(
                contracts=int(row["contracts"] or 0), tokens=int(row["tokens"] or 0)
            )
        return tuple(ChainStats(chain=c, **counts) for c, counts in sorted(found.items()))

    # ---- export ------------------------------------------------------------------------
    async def export_pages(self, page: int = 10_000) -> AsyncIterator[tuple[list[dict], list[dict]]]:
        """(wallets, their out-transfers) in pages by address, for `graph export`."""
        after = ""
        while True:
            wallets = await self.query(q.EXPORT_WALLETS, {"after": after, "first": page})
            if not wallets:
                return
            addresses = [w["address"] for w in wallets]
            transfers = await self.query(q.EXPORT_TRANSFERS, {"addresses": addresses})
            yield wallets, transfers
            if len(wallets) < page:
                return
            after = addresses[-1]

    async def __aenter__(self) -> GraphStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def _wallet_stats(row: dict[str, Any]) -> WalletStats:
    return WalletStats(
        address=row["address"],
        in_degree=int(row["in_degree"] or 0),
        out_degree=int(row["out_degree"] or 0),
        in_tx=int(row["in_tx"] or 0),
        out_tx=int(row["out_tx"] or 0),
        in_counterparties=int(row["in_counterparties"] or 0),
        out_counterparties=int(row["out_counterparties"] or 0),
        in_value=float(row["in_value"] or 0.0),
        out_value=float(row["out_value"] or 0.0),
        first_in=row["first_in"],
        last_in=row["last_in"],
        first_out=row["first_out"],
        last_out=row["last_out"],
    )


def _rounded(total: Any) -> float:
    value = float(total or 0.0)
    return round(value, 6) if math.isfinite(value) else value


def _wallet(address: str, labels: list[str], props: dict[str, Any]) -> Wallet:
    props = dict(props or {})
    props.pop("address", None)
    return Wallet(
        address=address,
        labels=sorted(labels),
        category=props.pop("category", None),
        name=props.pop("name", None),
        symbol=props.pop("symbol", None),
        decimals=props.pop("decimals", None),
        props=props,
    )
