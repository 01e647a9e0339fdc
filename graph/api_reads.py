"""Reads only the GraphQL API needs (filtered wallet pages, top anomalies, cluster and typology
counts), the analysis write of the jobs, and how analysis properties read back.

Reads of given wallets (the wallet, its stats, counterparties and transfers) are GraphStore's
batched reads (`wallets_by_address` and friends), which the API's DataLoaders call.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graph import cypher as q
from graph.model import NATIVE_TOKEN
from graph.store import _FAR_FUTURE, MAX_PAGE, GraphStore
from graph.wallet_analysis import Explanation, WalletAnalysis

# Wallet properties written by the analysis (ml/ and jobs/); docs/ml.md and docs/api.md.
JSON_PROPERTIES = ("anomaly_explanation", "typology_axes", "cluster_profile")


@dataclass(frozen=True)
class WalletFilter:
    typology: str | None = None
    cluster: int | None = None
    flagged: bool | None = None
    min_score: float | None = None
    label: str | None = None  # Contract, Token
    category: str | None = None

    def params(self) -> dict[str, Any]:
        return {
            "typology": self.typology,
            "cluster": self.cluster,
            "flagged": self.flagged,
            "min_score": self.min_score,
            "label": self.label,
            "category": self.category,
        }


def decode_json(value: Any) -> Any:
    """A JSON property as stored (text) -> Python; anything else passes through; bad JSON -> None."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return None


async def wallet_page(
    store: GraphStore, where: WalletFilter, first: int, after: str | None = None
) -> tuple[list[str], bool]:
    """Addresses of the wallets matching `where` after `after`, by address; and whether more follow."""
    first = max(1, min(int(first), MAX_PAGE))
    rows = await store.query(q.WALLET_PAGE, {**where.params(), "after": after or "", "first": first + 1})
    addresses = [r["address"] for r in rows]
    return addresses[:first], len(addresses) > first


async def wallet_count(store: GraphStore, where: WalletFilter) -> int:
    rows = await store.query(q.WALLET_COUNT, {**where.params(), "after": ""})
    return int(rows[0]["n"]) if rows else 0


async def top_anomalies(store: GraphStore, first: int, model: str | None = None) -> list[str]:
    first = max(1, min(int(first), MAX_PAGE))
    rows = await store.query(q.TOP_ANOMALIES, {"first": first, "model": model})
    return [r["address"] for r in rows]


async def cluster_counts(store: GraphStore) -> list[dict[str, Any]]:
    return await store.query(q.CLUSTER_COUNTS)


async def typology_counts(store: GraphStore) -> list[dict[str, Any]]:
    return await store.query(q.TYPOLOGY_COUNTS)


async def write_analysis(
    store: GraphStore,
    address: str,
    job_id: str,
    analysis: WalletAnalysis,
    current: Mapping[str, Any] | None = None,
) -> bool:
    """Write one analysis onto the wallet unless this job already did; True when written. With
    `current` (the node's properties as read) only what differs is sent.

    Values that are dicts or lists of non-scalars are stored as JSON text (both backends keep
    only scalars and lists of scalars on nodes)."""
    props = analysis.to_props() if current is None else analysis.changed(current)
    clean: dict[str, Any] = {}
    for key, value in props.items():
        if isinstance(value, dict) or (
            isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value)
        ):
            value = json.dumps(value, sort_keys=True, separators=(",", ":"))
        clean[key] = value
    done = await store.execute(q.WRITE_ANALYSIS, {"address": address, "job": job_id, "props": clean})
    return done.properties_set > 0


AXIS_ORDER = ("focus", "pattern", "risk", "community")


def typology_axes(code: str | None, raw: Any) -> list[dict[str, Any]]:
    """A wallet's typology axes as [{axis, value, probability}] in axis order, from either form
    the analysis writes: that list, or ml/'s {axis: {letter: probability}} (JSON text or not);
    the value is the code's letter (else the likeliest)."""
    data = decode_json(raw)
    if isinstance(data, list):
        return [dict(a) for a in data if isinstance(a, dict)]
    if not isinstance(data, dict):
        return []
    letters = dict(zip(AXIS_ORDER, (code or "").split("-"), strict=False))
    out = []
    for axis in sorted(data, key=lambda a: (AXIS_ORDER.index(a) if a in AXIS_ORDER else 99, a)):
        probs = data[axis]
        if not isinstance(probs, dict) or not probs:
            continue
        value = letters.get(axis) if letters.get(axis) in probs else max(probs, key=lambda k: probs[k])
        out.append({"axis": axis, "value": value, "probability": probs.get(value)})
    return out


def explanation(raw: Any) -> list[dict[str, Any]]:
    """Anomaly factors as [{factor, contribution}] (`WalletAnalysis.explanation()` has them typed)."""
    return [{"factor": f.factor, "contribution": f.contribution} for f in Explanation.parse(raw).factors]


@dataclass(frozen=True)
class DailyFlow:
    day: int  # epoch seconds of the UTC day's start
    value_in: float
    value_out: float
    transfers_in: int
    transfers_out: int


async def daily_flows(
    store: GraphStore, address: str, since: int | None = None, until: int | None = None
) -> list[DailyFlow]:
    """The wallet's native value in and out per UTC day with a transfer, oldest first."""
    params = {"address": address, "native": NATIVE_TOKEN, "since": since or 0, "until": until or _FAR_FUTURE}
    days: dict[int, list[float]] = {}
    for statement, slot in ((q.DAILY_FLOWS_IN, 0), (q.DAILY_FLOWS_OUT, 1)):
        for row in await store.query(statement, params):
            entry = days.setdefault(int(row["day"]), [0.0, 0.0, 0, 0])
            entry[slot] += float(row["value"] or 0.0)
            entry[slot + 2] += int(row["transfers"] or 0)
    return [DailyFlow(d * 86400, v[0], v[1], int(v[2]), int(v[3])) for d, v in sorted(days.items())]
