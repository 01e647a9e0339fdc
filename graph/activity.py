"""Each wallet's activity summary, kept on the wallet so that filters on activity read a few
properties instead of every transfer (marketing's segments, docs/marketing.md):

    first_ts, last_ts        first and last transfer either way (unix time)
    activity_days            UTC days (unix time // 86400) with a transfer, ascending
    activity_value           native value sent and received on each of those days
    category_ts              per contract category (graph.model.CATEGORIES order) the last
                             time the wallet sent to or received from such a contract, 0: never

A self-transfer counts once. The summary is a snapshot: `aidrop score` writes it with its
results, `aidrop graph activity` on its own; `activity_status` tells when and up to which
transfer time. Keeping it up to date inside the transfer MERGE was measured at three times
the server time of the merge itself (every node SET re-indexes the wallet on FalkorDB).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from graph import cypher as q
from graph.features import WalletGraph, load_wallet_graph
from graph.model import CATEGORIES, NATIVE_TOKEN
from graph.store import GraphStore

DAY = 86_400
BATCH = 10_000


@dataclass(frozen=True)
class ActivityStatus:
    refreshed_at: int | None  # when the summary was written (unix time), None: never
    last_ts: int | None  # the latest transfer it includes
    wallets: int
    transfers: int
    written_at: int | None = None  # when transfers were last added to the graph

    @property
    def stale(self) -> bool:
        """Transfers were added after the summary was written (or there is none)."""
        return self.refreshed_at is None or (self.written_at or 0) > self.refreshed_at


def summarize(graph: WalletGraph) -> pd.DataFrame:
    """One row per wallet with a transfer: address, first_ts, last_ts, activity_days,
    activity_value, category_ts (the last three as lists)."""
    e = graph.edges
    src, dst = e["src"].to_numpy(), e["dst"].to_numpy()
    ts = e["ts"].to_numpy(np.int64)
    native_code = graph.tokens.index(NATIVE_TOKEN) if NATIVE_TOKEN in graph.tokens else -1
    native = np.where(e["token"].to_numpy() == native_code, e["value"].to_numpy(float), 0.0)
    other = src != dst
    end = np.concatenate([src, dst[other]])  # the wallet
    party = np.concatenate([dst, src[other]])  # its counterparty
    when = np.concatenate([ts, ts[other]])
    value = np.concatenate([native, native[other]])
    n = graph.n
    if len(end) == 0:
        return pd.DataFrame(columns=["address", "first_ts", "last_ts", "activity_days", "activity_value",
                                     "category_ts"])  # fmt: skip

    first = np.full(n, np.iinfo(np.int64).max)
    last = np.full(n, np.iinfo(np.int64).min)
    np.minimum.at(first, end, when)
    np.maximum.at(last, end, when)

    # native value per (wallet, day), as lists per wallet in ascending day order
    day = when // DAY
    key, inverse = np.unique(end * (int(day.max()) + 1) + day, return_inverse=True)
    day_value = np.bincount(inverse, weights=value, minlength=len(key))
    key_wallet, key_day = key // (int(day.max()) + 1), key % (int(day.max()) + 1)
    bounds = np.searchsorted(key_wallet, np.arange(n + 1))

    # last contact per contract category
    codes = {c: k for k, c in enumerate(CATEGORIES)}
    category = graph.wallets["category"].map(codes).fillna(-1).to_numpy(np.int64)
    touched = category[party] >= 0
    cat_ts = np.zeros((n, len(CATEGORIES)), dtype=np.int64)
    np.maximum.at(cat_ts, (end[touched], category[party[touched]]), when[touched])

    active = np.flatnonzero(last > np.iinfo(np.int64).min)
    days_list = key_day.tolist()
    value_list = day_value.tolist()
    lo, hi = bounds[active].tolist(), bounds[active + 1].tolist()
    return pd.DataFrame(
        {
            "address": graph.wallets["address"].to_numpy(dtype=object)[active],
            "first_ts": first[active],
            "last_ts": last[active],
            "activity_days": [days_list[a:b] for a, b in zip(lo, hi, strict=True)],
            "activity_value": [value_list[a:b] for a, b in zip(lo, hi, strict=True)],
            "category_ts": cat_ts[active].tolist(),
        }
    )


async def write_activity(store: GraphStore, summary: pd.DataFrame, batch: int = BATCH) -> int:
    """Set the summary on its wallets; the day lists go flat with offsets (fast parameters)."""
    for start in range(0, len(summary), batch):
        part = summary.iloc[start : start + batch]
        sizes = part["activity_days"].map(len).to_numpy()
        offsets = np.concatenate([[0], np.cumsum(sizes)]).tolist()
        await store.execute(
            q.SET_ACTIVITY,
            {
                "address": part["address"].tolist(),
                "first_ts": [int(x) for x in part["first_ts"]],
                "last_ts": [int(x) for x in part["last_ts"]],
                "offsets": offsets,
                "days": [int(d) for ds in part["activity_days"] for d in ds],
                "values": [float(v) for vs in part["activity_value"] for v in vs],
                "category_ts": [int(t) for ts in part["category_ts"] for t in ts],
                "width": len(CATEGORIES),
            },
        )
    return len(summary)


async def save_activity(store: GraphStore, graph: WalletGraph, now: int | None = None) -> ActivityStatus:
    """Summarise the graph already read (e.g. by the scoring pipeline) and write it."""
    summary = summarize(graph)
    await write_activity(store, summary)
    status = ActivityStatus(
        refreshed_at=int(now if now is not None else time.time()),
        last_ts=int(graph.edges["ts"].max()) if len(graph.edges) else None,
        wallets=len(summary),
        transfers=len(graph.edges),
    )
    await store.execute(q.SET_ACTIVITY_STATUS, {"props": _props(status)})
    return status


async def refresh_activity(store: GraphStore, now: int | None = None) -> ActivityStatus:
    """Read every transfer and write every wallet's summary (`aidrop graph activity`)."""
    started = int(now if now is not None else time.time())  # transfers added later are not in it
    await save_activity(store, await load_wallet_graph(store), started)
    return await activity_status(store)


async def activity_status(store: GraphStore) -> ActivityStatus:
    rows = await store.query(q.ACTIVITY_STATUS)
    props: dict[str, Any] = dict(rows[0]["status"]) if rows else {}
    ingest = await store.query(q.INGEST_STATUS)
    return ActivityStatus(
        refreshed_at=props.get("refreshed_at"),
        last_ts=props.get("last_ts"),
        wallets=int(props.get("wallets") or 0),
        transfers=int(props.get("transfers") or 0),
        written_at=ingest[0]["status"].get("written_at") if ingest else None,
    )


def _props(status: ActivityStatus) -> dict[str, Any]:
    keep = ("refreshed_at", "last_ts", "wallets", "transfers")
    return {k: getattr(status, k) for k in keep if getattr(status, k) is not None}
