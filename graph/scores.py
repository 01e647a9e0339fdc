"""Results written onto wallets (docs/ml.md lists the properties), in batches with one list
per column; and read back for one wallet."""

from __future__ import annotations

import asyncio
from typing import Any

from core.address import normalize_address
from core.errors import NotFound
from graph import cypher as q
from graph.store import GraphStore

BATCH = 10_000
IN_FLIGHT = 2  # batches sent at once: the next one is encoded while the server runs one
# one value for the whole batch
SHARED = ("model", "version", "typology_version", "cluster_version", "growth_version")


async def write_columns(
    store: GraphStore, statement: q.Statement, columns: dict[str, Any], batch: int = BATCH
) -> int:
    """One list per column (SHARED ones: one value), `batch` wallets per statement."""
    n = len(columns["address"])
    shared = {k: v for k, v in columns.items() if k in SHARED}
    lists = {k: list(v) for k, v in columns.items() if k not in SHARED}
    for key, values in lists.items():
        if len(values) != n:
            raise ValueError(f"column {key} has {len(values)} values for {n} wallets")
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def one(start: int) -> None:
        async with gate:
            chunk = {k: v[start : start + batch] for k, v in lists.items()}
            await store.execute(statement, {**chunk, **shared})

    await asyncio.gather(*(one(start) for start in range(0, n, batch)))
    return n


async def write_anomaly(store: GraphStore, columns: dict[str, Any], batch: int = BATCH) -> int:
    """address, score, rank, flagged, explanation (lists); model, version."""
    return await write_columns(store, q.SET_ANOMALY, columns, batch)


async def write_typology(store: GraphStore, columns: dict[str, Any], batch: int = BATCH) -> int:
    """address, code, axes, explanation (lists); version."""
    return await write_columns(store, q.SET_TYPOLOGY, columns, batch)


async def write_clusters(store: GraphStore, columns: dict[str, Any], batch: int = BATCH) -> int:
    """address, cluster (lists); version."""
    return await write_columns(store, q.SET_CLUSTER, columns, batch)


async def write_ppr(store: GraphStore, columns: dict[str, Any], batch: int = BATCH) -> int:
    """address, ppr (lists)."""
    return await write_columns(store, q.SET_PPR, columns, batch)


async def write_growth(store: GraphStore, columns: dict[str, Any], batch: int = BATCH) -> int:
    """address, churn_risk, expected_active_days, propensity (lists); growth_version."""
    return await write_columns(store, q.SET_GROWTH, columns, batch)


async def growth_scores(store: GraphStore) -> list[dict[str, Any]]:
    """Every wallet's growth scores (churn_risk, expected_active_days, propensity)."""
    return await store.query(q.GROWTH_SCORES)


async def write_results(store: GraphStore, columns: dict[str, Any], batch: int = BATCH) -> int:
    """Everything of a pipeline run in one pass: the columns of the four writers above (typology
    explanation as typology_explanation) plus model, version, typology_version, cluster_version,
    and the activity summary's columns (graph/activity.py)."""
    return await write_columns(store, q.SET_RESULTS, columns, batch)


async def wallet_results(store: GraphStore, address: str) -> dict[str, Any]:
    address = normalize_address(address)
    rows = await store.query(q.WALLET_RESULTS, {"address": address})
    if not rows:
        raise NotFound(f"no wallet {address} in the graph")
    return rows[0]


async def anomaly_rank(store: GraphStore, address: str, model: str, score: float) -> int:
    """The place of `score` among the wallets' stored scores of `model` (1: the highest)."""
    rows = await store.query(q.ANOMALY_RANK_OF, {"address": address, "model": model, "score": float(score)})
    return int(rows[0]["rank"])
