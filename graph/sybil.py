"""Sybil clusters in the graph: `(:SybilCluster {id, size, score, evidence_counts})-[:MEMBER]->
(:Wallet)`, the evidence as `(:Wallet)-[:SYBIL_LINK {cluster, kind, transactions}]->(:Wallet)`,
members marked with `sybil_cluster` (what segments leave out), and appeals as
`(:SybilAppeal {id, address, cluster, reason, status, created_at})-[:APPEALS]->(:Wallet)`.

Detection (ml/sybil) reads transfers without their hashes; `transfer_hashes` finds the hashes of
the few transfers the evidence names. `evidence_counts` is a JSON text (no map properties on
Neo4j)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.address import normalize_address
from core.errors import AidropError, NotFound
from graph import cypher as q
from graph.store import GraphStore

MAX_PAGE = 1000
MAX_REASON = 2000
BATCH = 2000


class AppealRejected(AidropError, ValueError):
    code = "BAD_USER_INPUT"


@dataclass(frozen=True)
class ClusterRecord:
    id: str
    size: int
    score: float
    evidence_counts: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, row: dict[str, Any]) -> ClusterRecord:
        counts = row.get("evidence_counts") or "{}"
        return cls(str(row["id"]), int(row["size"]), float(row["score"]),
                   json.loads(counts) if isinstance(counts, str) else dict(counts))  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "size": self.size,
            "score": self.score,
            "evidence_counts": self.evidence_counts,
        }


@dataclass(frozen=True)
class LinkRecord:
    a: str
    b: str
    kind: str
    transactions: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "kind": self.kind, "transactions": list(self.transactions)}


@dataclass(frozen=True)
class Appeal:
    id: str
    address: str
    cluster: str | None
    reason: str
    status: str
    created_at: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


async def transfer_hashes(store: GraphStore, edges: pd.DataFrame) -> list[str | None]:
    """The transaction hash of each row of `edges` (columns src, dst, ts as addresses and unix
    time, token and value to tell a transaction's native row from its token rows apart)."""
    out: list[str | None] = [None] * len(edges)
    for start in range(0, len(edges), BATCH):
        part = edges.iloc[start : start + BATCH]
        rows = await store.query(q.SYBIL_TRANSFER_HASHES, {
            "src": part["src"].tolist(), "dst": part["dst"].tolist(), "ts": [int(x) for x in part["ts"]],
        })  # fmt: skip
        best: dict[int, tuple[float, str]] = {}
        tokens, values = part["token"].tolist(), part["value"].tolist()
        for r in rows:
            i = int(r["i"])
            miss = (r["token"] != tokens[i]) * 1e18 + abs(float(r["value"] or 0.0) - float(values[i]))
            if i not in best or miss < best[i][0]:
                best[i] = (miss, str(r["hash"]))
        for i, (_, h) in best.items():
            out[start + i] = h
    return out


async def clear(store: GraphStore) -> None:
    """Remove the previous detection (clusters, links, marks); appeals stay."""
    for statement, probe in ((q.SYBIL_CLEAR_LINKS, "l"), (q.SYBIL_CLEAR_CLUSTERS, "c"),
                             (q.SYBIL_CLEAR_MARKS, "w")):  # fmt: skip
        while True:
            before = await _count(store, probe)
            if not before:
                break
            await store.execute(statement)
            if await _count(store, probe) >= before:
                break


async def _count(store: GraphStore, probe: str) -> int:
    statement = {"l": q.SYBIL_COUNT_LINKS, "c": q.SYBIL_COUNT_CLUSTERS, "w": q.SYBIL_COUNT_MARKS}[probe]
    rows = await store.query(statement)
    return int(rows[0]["n"]) if rows else 0


async def ensure_index(store: GraphStore) -> None:
    try:
        await store.execute(q.SYBIL_INDEX)
    except Exception as exc:  # FalkorDB: "already indexed"
        if "already" not in str(exc).lower():
            raise


async def write_clusters(store: GraphStore, clusters: Sequence[Any], links: Sequence[dict[str, Any]]) -> None:
    """Replace the stored detection. clusters: objects with id, members, score, evidence_counts;
    links: dicts a, b, cluster, kind, transactions (hashes)."""
    await ensure_index(store)
    await clear(store)
    at = int(time.time())
    for start in range(0, len(clusters), BATCH):
        part = clusters[start : start + BATCH]
        await store.execute(q.SYBIL_CREATE_CLUSTERS, {
            "id": [c.id for c in part], "size": [len(c.members) for c in part],
            "score": [float(c.score) for c in part],
            "counts": [json.dumps(c.evidence_counts, sort_keys=True) for c in part], "at": at,
        })  # fmt: skip
    members = [(a, c.id) for c in clusters for a in c.members]
    for start in range(0, len(members), BATCH):
        part = members[start : start + BATCH]
        await store.execute(
            q.SYBIL_ADD_MEMBERS, {"address": [a for a, _ in part], "cluster": [c for _, c in part]}
        )
    for start in range(0, len(links), BATCH):
        part = links[start : start + BATCH]
        await store.execute(q.SYBIL_ADD_LINKS, {
            "a": [x["a"] for x in part], "b": [x["b"] for x in part], "cluster": [x["cluster"] for x in part],
            "kind": [x["kind"] for x in part], "transactions": [list(x["transactions"]) for x in part],
        })  # fmt: skip


async def wallet_cluster(store: GraphStore, address: str) -> ClusterRecord | None:
    rows = await store.query(q.SYBIL_WALLET_CLUSTER, {"address": normalize_address(address)})
    return ClusterRecord.of(rows[0]) if rows else None


async def cluster(store: GraphStore, cluster_id: str) -> ClusterRecord:
    rows = await store.query(q.SYBIL_CLUSTER, {"id": cluster_id})
    if not rows:
        raise NotFound(f"no sybil cluster {cluster_id!r}")
    return ClusterRecord.of(rows[0])


async def clusters(store: GraphStore, min_size: int = 3, first: int = 50,
                   after: tuple[int, str] | None = None) -> list[ClusterRecord]:  # fmt: skip
    """Biggest first; `after` is the (size, id) of the last cluster of the previous page."""
    size, cid = after if after else (2**31, "")
    rows = await store.query(q.SYBIL_CLUSTERS, {"min_size": int(min_size), "after_size": int(size),
                                                "after_id": cid, "first": _page(first)})  # fmt: skip
    return [ClusterRecord.of(r) for r in rows]


async def members(store: GraphStore, cluster_id: str, first: int = 100) -> list[str]:
    return [
        r["address"] for r in await store.query(q.SYBIL_MEMBERS, {"id": cluster_id, "first": _page(first)})
    ]


async def links(store: GraphStore, cluster_id: str, address: str | None = None,
                first: int = 100) -> list[LinkRecord]:  # fmt: skip
    """The stored evidence of a cluster (of one member when `address` is given)."""
    params = {
        "id": cluster_id,
        "address": normalize_address(address) if address else None,
        "first": _page(first),
    }
    rows = await store.query(q.SYBIL_LINKS, params)
    return [LinkRecord(r["a"], r["b"], r["kind"], list(r["transactions"] or [])) for r in rows]


async def clusters_of(store: GraphStore, addresses: Sequence[str]) -> dict[str, str]:
    """address -> sybil cluster id, for the given wallets that are in one."""
    out: dict[str, str] = {}
    for start in range(0, len(addresses), BATCH * 5):
        part = list(addresses[start : start + BATCH * 5])
        out.update(
            {r["address"]: r["cluster"] for r in await store.query(q.SYBIL_CLUSTERS_OF, {"addresses": part})}
        )
    return out


async def export_rows(store: GraphStore) -> list[dict[str, Any]]:
    """One row per member: address, cluster, size, score, evidence (kind:links, ...)."""
    out = []
    for r in await store.query(q.SYBIL_EXPORT):
        counts = ClusterRecord.of({**r, "id": r["cluster"]}).evidence_counts
        evidence = ";".join(f"{k}:{v}" for k, v in sorted(counts.items()))
        out.append({"address": r["address"], "cluster": r["cluster"], "size": int(r["size"]),
                    "score": float(r["score"]), "evidence": evidence})  # fmt: skip
    return out


async def appeal(store: GraphStore, address: str, reason: str, key: str | None = None) -> Appeal:
    """Record an appeal against a wallet's cluster (status `open`, for a person to review)."""
    address = normalize_address(address)
    reason = (reason or "").strip()
    if not reason:
        raise AppealRejected("an appeal needs a reason")
    if len(reason) > MAX_REASON:
        raise AppealRejected(f"the reason is longer than {MAX_REASON} characters")
    found = await wallet_cluster(store, address)
    if found is None:
        raise NotFound(f"{address} is in no sybil cluster")
    rows = await store.query(q.SYBIL_OPEN_APPEALS, {"address": address})
    if rows and int(rows[0]["n"]):
        raise AppealRejected(f"{address} already has an open appeal")
    record = Appeal(uuid.uuid4().hex, address, found.id, reason, "open", int(time.time()))
    await store.execute(q.SYBIL_CREATE_APPEAL, {**record.to_dict(), "at": record.created_at, "key": key})
    return record


async def appeals(store: GraphStore, address: str | None = None, first: int = 100) -> list[Appeal]:
    params = {"address": normalize_address(address) if address else None, "first": _page(first)}
    rows = await store.query(q.SYBIL_APPEALS, params)
    return [
        Appeal(r["id"], r["address"], r["cluster"], r["reason"], r["status"], int(r["created_at"]))
        for r in rows
    ]


def _page(first: int) -> int:
    return int(np.clip(int(first), 1, MAX_PAGE))
