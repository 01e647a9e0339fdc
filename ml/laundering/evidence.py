"""Detected patterns as stored evidence: (:Pattern)-[:INVOLVES {role}]->(:Wallet) with the
hashes of their transfers (graph/patterns.py writes and reads them)."""

from __future__ import annotations

import hashlib
from typing import Any

from graph import patterns as stored
from graph.features import WalletGraph
from graph.store import GraphStore
from ml.laundering.detect import Detection, Pattern

MAX_STORED = 5_000  # strongest patterns kept in the graph; the scores use all of them


def pattern_id(p: Pattern, addresses: list[str], edges: list[tuple[str, str, int]]) -> str:
    text = p.type + "|" + "|".join(f"{s}>{d}@{t}" for s, d, t in sorted(edges))
    return f"{p.type}-{hashlib.sha1(text.encode()).hexdigest()[:12]}"


def pattern_rows(graph: WalletGraph, det: Detection, limit: int = MAX_STORED) -> list[dict[str, Any]]:
    """The strongest patterns as rows (without hashes yet; `edges` lists (sender, receiver, time))."""
    addresses = graph.wallets["address"].tolist()
    e = graph.edges
    src, dst, ts = e["src"].to_numpy(), e["dst"].to_numpy(), e["ts"].to_numpy()
    rows = []
    for p in sorted(det.patterns, key=lambda p: -p.score)[:limit]:
        edges = [(addresses[src[i]], addresses[dst[i]], int(ts[i])) for i in p.transfers]
        rows.append(
            {
                "id": pattern_id(p, addresses, edges),
                "type": p.type,
                "start_ts": int(p.start),
                "end_ts": int(p.end),
                "value": float(p.value),
                "token": p.token,
                "score": float(p.score),
                "wallets": [addresses[w] for w in p.wallets],
                "roles": list(p.roles),
                "edges": edges,
            }
        )
    return rows


async def write_patterns(store: GraphStore, graph: WalletGraph, det: Detection) -> int:
    rows = pattern_rows(graph, det)
    flat = [edge for r in rows for edge in r["edges"]]
    hashes = await stored.transfer_hashes(store, flat)
    at = 0
    for r in rows:
        found = hashes[at : at + len(r["edges"])]
        at += len(r["edges"])
        r["transfers"] = [h for hs in found for h in hs]
        del r["edges"]
    return await stored.replace_patterns(store, rows)


def examples(graph: WalletGraph, det: Detection, per_type: int = 2) -> dict[str, Any]:
    """Pattern counts per type and the strongest `per_type` of each, small enough for the model
    report to draw: members (short addresses, roles) and transfers (member indexes, value)."""
    addresses = graph.wallets["address"].tolist()
    e = graph.edges
    src, dst, value = e["src"].to_numpy(), e["dst"].to_numpy(), e["value"].to_numpy(dtype=float)
    counts: dict[str, int] = {}
    chosen: list[dict[str, Any]] = []
    for p in sorted(det.patterns, key=lambda p: -p.score):
        counts[p.type] = counts.get(p.type, 0) + 1
        if counts[p.type] > per_type or len(p.wallets) > 30:
            continue
        at = {w: i for i, w in enumerate(p.wallets)}
        chosen.append(
            {
                "type": p.type,
                "score": round(float(p.score), 2),
                "start_ts": int(p.start),
                "end_ts": int(p.end),
                "wallets": [addresses[w] for w in p.wallets],
                "roles": list(p.roles),
                "edges": [[at[int(src[i])], at[int(dst[i])], float(value[i])] for i in p.transfers],
            }
        )
    return {"counts": counts, "examples": chosen}
