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

from graph import cypher as q
from graph.features import WalletGraph, load_wallet_graph
from graph.model import CATEGORIES, NATIVE_TOKEN
from graph.scores import write_columns
from graph.store import GraphStore

DAY = 86_400
BATCH = 10_000


@dataclass(frozen=True)
class ActivityStatus:
    refreshed_at: float | None  # when the summary was written (unix time, sub-second), None: never
    last_ts: int | None  # the latest transfer it includes
    wallets: int
    transfers: int
    written_at: float | None = None  # when transfers were last added to the graph (sub-second: a
    # write in the same second as a refresh still counts as after it)

    @property
    def stale(self) -> bool:
        """Transfers were added after the summary was written (or there is none)."""
        return self.refreshed_at is None or (self.written_at or 0) > self.refreshed_at


COLUMNS = ("first_ts", "last_ts", "activity_days", "activity_value", "category_ts")


def summarize(graph: WalletGraph) -> dict[str, list[Any]]:
    """The summary of every wallet of `graph`, in its order, one list per property (COLUMNS):
    None for a wallet without transfers."""
    e = graph.edges
    n = graph.n
    empty: list[Any] = [None] * n
    if len(e) == 0:
        return {c: list(empty) for c in COLUMNS}
    src, dst = e["src"].to_numpy(), e["dst"].to_numpy()
    ts = e["ts"].to_numpy(np.int64)
    native_code = graph.tokens.index(NATIVE_TOKEN) if NATIVE_TOKEN in graph.tokens else -1
    native = np.where(e["token"].to_numpy() == native_code, e["value"].to_numpy(float), 0.0)
    other = src != dst
    end = np.concatenate([src, dst[other]])  # the wallet
    party = np.concatenate([dst, src[other]])  # its counterparty
    when = np.concatenate([ts, ts[other]])
    value = np.concatenate([native, native[other]])

    first = np.full(n, np.iinfo(np.int64).max)
    last = np.full(n, np.iinfo(np.int64).min)
    np.minimum.at(first, end, when)
    np.maximum.at(last, end, when)

    # native value per (wallet, day); keys sorted by wallet, then day
    day = when // DAY
    span = int(day.max()) + 1
    key, inverse = np.unique(end * span + day, return_inverse=True)
    day_value = np.bincount(inverse, weights=value, minlength=len(key))
    bounds = np.searchsorted(key // span, np.arange(n + 1)).tolist()
    days_list, value_list = (key % span).tolist(), day_value.tolist()

    # last contact per contract category
    codes = {c: k for k, c in enumerate(CATEGORIES)}
    category = graph.wallets["category"].map(codes).fillna(-1).to_numpy(np.int64)
    touched = category[party] >= 0
    cat_ts = np.zeros((n, len(CATEGORIES)), dtype=np.int64)
    np.maximum.at(cat_ts, (end[touched], category[party[touched]]), when[touched])

    active = last > np.iinfo(np.int64).min
    out: dict[str, list[Any]] = {c: list(empty) for c in COLUMNS}
    cats = cat_ts.tolist()
    firsts, lasts = first.tolist(), last.tolist()
    for i in np.flatnonzero(active).tolist():
        lo, hi = bounds[i], bounds[i + 1]
        out["first_ts"][i], out["last_ts"][i] = firsts[i], lasts[i]
        out["activity_days"][i], out["activity_value"][i] = days_list[lo:hi], value_list[lo:hi]
        out["category_ts"][i] = cats[i]
    return out


def status_of(graph: WalletGraph, summary: dict[str, list[Any]], now: float) -> ActivityStatus:
    """What `summary` (of `graph`) written at `now` holds."""
    return ActivityStatus(
        refreshed_at=float(now),
        last_ts=int(graph.edges["ts"].max()) if len(graph.edges) else None,
        wallets=sum(t is not None for t in summary["last_ts"]),
        transfers=len(graph.edges),
    )


async def write_activity(store: GraphStore, graph: WalletGraph, summary: dict[str, list[Any]],
                         batch: int = BATCH) -> None:  # fmt: skip
    """Set the summary on the wallets of `graph` (SET_RESULTS does the same with the scores)."""
    columns = {"address": graph.wallets["address"].tolist(), **summary}
    await write_columns(store, q.SET_ACTIVITY, columns, batch)


async def note_activity(store: GraphStore, status: ActivityStatus) -> None:
    if len(await store.chains()) > 1:  # which chains each wallet is on (segments' chain filter)
        await store.execute(q.SET_WALLET_CHAINS)
    await store.execute(q.SET_ACTIVITY_STATUS, {"props": _props(status)})


async def save_activity(store: GraphStore, graph: WalletGraph, now: float | None = None) -> ActivityStatus:
    """Summarise the graph already read and write it, with its status."""
    summary = summarize(graph)
    status = status_of(graph, summary, now if now is not None else time.time())
    await write_activity(store, graph, summary)
    await note_activity(store, status)
    return status


async def refresh_activity(store: GraphStore, now: float | None = None) -> ActivityStatus:
    """Read every transfer and write every wallet's summary (`aidrop graph activity`)."""
    started = now if now is not None else time.time()  # transfers added later are not in it
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
