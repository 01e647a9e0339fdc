"""The wallet graph as columns for ml/: every wallet, every transfer as arrays (source and
target as row positions), contract and token metadata, and the per-wallet figures the database
aggregates better than the transfers it would otherwise return (docs/ml.md)."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core import chains
from graph import cypher as q
from graph.model import NATIVE_TOKEN
from graph.store import GraphStore

YOUNG_DAYS = 180  # a contract is young for this long after its creation block
FAN_COLUMNS = (
    "in_degree",
    "out_degree",
    "in_tx",
    "out_tx",
    "in_counterparties",
    "out_counterparties",
    "in_value",
    "out_value",
    "first_in",
    "last_in",
    "first_out",
    "last_out",
)
_DB_CALLS = ("failed_out", "contract_calls", "young_calls")
HUB_TRANSFERS = 5_000  # a counterparty this busy adds only its transfers with the wallet
MAX_NEIGHBOURS = 5_000  # counterparties read around one wallet


@dataclass
class WalletGraph:
    """`wallets`: one row per wallet in address order (position = node id): `address`,
    `failed_out`, `contract_calls`, `young_calls` (from the database), `contract`, `category`,
    `name`, `created_block`, `token`, `nft`. `edges`: one row per transfer: `src`, `dst`
    (positions), `ts`, `value`, `token` (codes into `tokens`), `tx_count`, `fee` (ETH)."""

    wallets: pd.DataFrame
    edges: pd.DataFrame
    tokens: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.wallets)

    def positions(self, addresses: pd.Series | list[str]) -> np.ndarray:
        """Row positions of addresses (-1 where not in the graph)."""
        index = pd.Index(self.wallets["address"])
        return index.get_indexer(pd.Series(list(addresses), dtype=object).str.lower())


async def load_wallet_graph(
    store: GraphStore, young_days: int = YOUNG_DAYS, chain: int | None = None
) -> WalletGraph:
    """Read every wallet and the transfers (of `chain`, or of every chain): one statement for the
    transfers, small ones for metadata. Young-contract calls count blocks at the block time of
    `chain` (of mainnet when every chain is read), and only on the chain the contract's creation
    block is known for."""
    out_rows = await store.query(q.ML_OUT_EDGES, _params(young_days, chain))
    dst = _column(out_rows, "dst", numeric=False)
    contracts = pd.DataFrame(await store.query(q.ML_CONTRACTS))
    tokens = pd.DataFrame(await store.query(q.ML_TOKENS))
    known = _addresses(out_rows, dst[0], contracts, tokens)
    total = (await store.query(q.ML_WALLET_COUNT))[0]["n"]
    if total > len(known):  # wallets without any transfer and without metadata
        known.update(r["address"] for r in await store.query(q.ML_WALLETS))
    return _wallet_graph(out_rows, dst, known, contracts, tokens)


async def load_neighbourhood(
    store: GraphStore,
    address: str,
    young_days: int = YOUNG_DAYS,
    chain: int | None = None,
    hub: int = HUB_TRANSFERS,
    limit: int = MAX_NEIGHBOURS,
) -> WalletGraph:
    """The wallet's neighbourhood as a WalletGraph: every transfer of the wallet and of its
    counterparties (up to `limit` of them), except that a counterparty with more than `hub`
    transfers (an exchange, a router) adds only its transfers with the wallet. The wallet's own
    figures are those of the whole graph; its counterparties' are as far as they reach."""
    params = _params(young_days, chain)
    found = await store.query(q.ML_NEIGHBOURS, {"address": address, "chain": chain, "limit": int(limit)})
    inner = [address, *(r["address"] for r in found if int(r["transfers"] or 0) <= hub)]
    out_rows = await store.query(q.ML_OUT_EDGES_AROUND, {**params, "addresses": inner})
    dst = _column(out_rows, "dst", numeric=False)
    moved = set(_column(out_rows, "token", numeric=False)[0]) - {NATIVE_TOKEN}  # token contracts
    named = {"addresses": sorted({address, *(r["address"] for r in out_rows), *dst[0], *moved})}
    contracts = pd.DataFrame(await store.query(q.ML_CONTRACTS_OF, named))
    tokens = pd.DataFrame(await store.query(q.ML_TOKENS_OF, named))
    known = _addresses(out_rows, dst[0], contracts, tokens) | {address}
    return _wallet_graph(out_rows, dst, known, contracts, tokens)


def _params(young_days: int, chain: int | None) -> dict[str, Any]:
    blocks_per_day = chains.chain(chain if chain is not None else chains.DEFAULT_CHAIN).blocks_per_day
    return {"young_blocks": young_days * blocks_per_day, "native": NATIVE_TOKEN, "chain": chain}


def _addresses(
    out_rows: list[dict[str, Any]], dst: list[str], contracts: pd.DataFrame, tokens: pd.DataFrame
) -> set[str]:
    """Every address the rows (their senders, the receivers `dst`) and the metadata name."""
    known = {r["address"] for r in out_rows}
    known.update(dst)
    for frame in (contracts, tokens):
        if len(frame):
            known.update(frame["address"])
    return known


def _wallet_graph(
    out_rows: list[dict[str, Any]],
    receivers: tuple[list[str], np.ndarray],
    known: set[str],
    contracts: pd.DataFrame,
    tokens: pd.DataFrame,
) -> WalletGraph:
    """The WalletGraph of the transfers grouped by sender (ML_OUT_EDGES' rows, their receivers
    and list lengths already parsed) over the addresses `known`."""
    dst, lengths = receivers
    wallets = pd.DataFrame({"address": pd.array(sorted(known), dtype=object)})
    index = pd.Index(wallets["address"])

    src = index.get_indexer([r["address"] for r in out_rows]) if out_rows else np.zeros(0, np.int64)
    for col in _DB_CALLS:
        values = np.zeros(len(wallets), dtype=np.int64)
        values[src] = [int(r[col] or 0) for r in out_rows]
        wallets[col] = values
    _metadata(wallets, index, contracts, tokens)
    token, _ = _column(out_rows, "token", numeric=False)
    token_codes, token_names = pd.factorize(pd.Series(token, dtype=object))
    edges = pd.DataFrame(
        {
            "src": np.repeat(src, lengths).astype(np.int64),
            "dst": index.get_indexer(pd.Index(dst, dtype=object)).astype(np.int64),
            "ts": _column(out_rows, "ts", numeric=True)[0].astype(np.int64),
            "value": _column(out_rows, "value", numeric=True)[0].astype(float),
            "token": token_codes.astype(np.int32),
            "tx_count": _column(out_rows, "tx_count", numeric=True)[0].astype(np.int64),
            "fee": _column(out_rows, "fee", numeric=True)[0].astype(float),
        }
    )
    return WalletGraph(wallets, edges, [str(t) for t in token_names])


def _column(rows: list[dict[str, Any]], key: str, numeric: bool) -> tuple[Any, np.ndarray]:
    """One field of every row's transfer list, flattened, and the list lengths. FalkorDB sends
    each list as a JSON string, Neo4j as a list."""
    values = [r[key] for r in rows]
    if values and isinstance(values[0], str):
        if numeric:  # numbers: one C-level parse of all lists at once
            bodies = [v[1:-1] for v in values]
            lengths = np.fromiter((b.count(",") + 1 if b else 0 for b in bodies), np.int64, len(bodies))
            text = ",".join(b for b in bodies if b)
            return (np.fromstring(text, sep=",") if text else np.zeros(0)), lengths
        lists = json.loads("[" + ",".join(values) + "]")
    else:
        lists = values
        if numeric:
            flat = np.asarray(list(itertools.chain.from_iterable(lists)), dtype=float)
            return flat, np.fromiter((len(v) for v in lists), np.int64, len(lists))
    lengths = np.fromiter((len(v) for v in lists), np.int64, len(lists))
    return list(itertools.chain.from_iterable(lists)), lengths


def _metadata(wallets: pd.DataFrame, index: pd.Index, contracts: pd.DataFrame, tokens: pd.DataFrame) -> None:
    """Contract category, name and creation block; token and NFT flags, per wallet."""
    n = len(wallets)
    wallets["contract"] = np.zeros(n, dtype=bool)
    wallets["category"] = pd.array([None] * n, dtype=object)
    wallets["name"] = pd.array([None] * n, dtype=object)
    wallets["created_block"] = np.full(n, np.nan)
    wallets["token"] = np.zeros(n, dtype=bool)
    wallets["nft"] = np.zeros(n, dtype=bool)
    if len(contracts):
        pos = index.get_indexer(contracts["address"])
        wallets.loc[pos, "contract"] = True
        wallets.loc[pos, "category"] = contracts["category"].to_numpy(dtype=object)
        wallets.loc[pos, "name"] = contracts["name"].to_numpy(dtype=object)
        wallets.loc[pos, "created_block"] = pd.to_numeric(
            contracts["created_block"], errors="coerce"
        ).to_numpy()
    if len(tokens):
        pos = index.get_indexer(tokens["address"])
        wallets.loc[pos, "token"] = True
        wallets.loc[pos, "nft"] = tokens["decimals"].isna().to_numpy()


async def fan_aggregates(store: GraphStore, chain: int | None = None) -> pd.DataFrame:
    """Fan-in / fan-out of every wallet computed by the database (FAN_COLUMNS by address), over
    the transfers of `chain` (or of every chain)."""
    params = {"native": NATIVE_TOKEN, "chain": chain}
    out = pd.DataFrame(await store.query(q.ML_OUT_AGGREGATES, params))
    fan_in = pd.DataFrame(await store.query(q.ML_IN_AGGREGATES, params))
    if out.empty and fan_in.empty:
        return pd.DataFrame(columns=["address", *FAN_COLUMNS])
    frame = (
        out.merge(fan_in, on="address", how="outer")
        if len(out) and len(fan_in)
        else (out if len(out) else fan_in)
    )
    for col in FAN_COLUMNS:
        if col not in frame:
            frame[col] = np.nan
        if not col.startswith(("first", "last")):
            frame[col] = pd.to_numeric(frame[col], errors="coerce").fillna(0)
    return frame[["address", *FAN_COLUMNS]].sort_values("address").reset_index(drop=True)
