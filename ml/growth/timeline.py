"""The transfers of a wallet graph arranged for questions at an as-of time T: who sent what when,
who touched which contract category first, and what happened after T (the outcomes).

A wallet *sends* when it signs a transaction: the source of a native-value transfer (every
transaction is one, zero-value calls included). Token transfers do not count: a marketplace
sale or an offer accepted moves a wallet's tokens without it acting. It *touches* a target (a
contract category or a list of contracts) when it sends a transaction to one of the target's
contracts; receiving from it (an airdrop) is not touching it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from graph.features import WalletGraph
from graph.model import NATIVE_TOKEN

DAY = 86_400


@dataclass
class Target:
    """What first interactions are counted with: contracts (row positions) and a name."""

    name: str
    contracts: np.ndarray  # bool per wallet row
    categories: tuple[str, ...] = ()  # the categories it stands for (empty for a contract list)


class Timeline:
    """Sent transfers sorted by (wallet, time), plus everything per edge the features need."""

    def __init__(self, graph: WalletGraph) -> None:
        e = graph.edges
        self.graph = graph
        self.n = graph.n
        src = e["src"].to_numpy(np.int64)
        order = np.lexsort((e["ts"].to_numpy(np.int64), src))
        self.src = src[order]
        self.dst = e["dst"].to_numpy(np.int64)[order]
        self.ts = e["ts"].to_numpy(np.int64)[order]
        native = graph.tokens.index(NATIVE_TOKEN) if NATIVE_TOKEN in graph.tokens else -1
        value = e["value"].to_numpy(float)[order]
        self.tx = e["token"].to_numpy()[order] == native  # a transaction the source signed
        self.native = np.where(self.tx, value, 0.0)
        w = graph.wallets
        self.contract = (
            w["contract"].to_numpy(bool) | w["category"].notna().to_numpy() | w["token"].to_numpy(bool)
        )
        self.category = w["category"].to_numpy(dtype=object)
        self.human_dst = ~self.contract[self.dst]
        self.first_seen = _first_seen(self.n, self.src, self.dst, self.ts)
        self.end = int(self.ts.max()) if len(self.ts) else 0
        self.start = int(self.ts.min()) if len(self.ts) else 0

    @property
    def categories(self) -> list[str]:
        return sorted({c for c in self.category if isinstance(c, str)})

    def target(self, category: str | None = None, contracts: Iterable[str] | None = None) -> Target:
        if category is not None:
            mask = self.category == category
            if not mask.any():
                known = ", ".join(self.categories) or "none"
                raise ValueError(f"no contract of category {category!r} in the graph (categories: {known})")
            return Target(category, mask, (category,))
        addresses = [a.lower() for a in contracts or ()]
        pos = self.graph.positions(addresses)
        pos = pos[pos >= 0]
        if not len(pos):
            raise ValueError("none of the target contracts is in the graph")
        mask = np.zeros(self.n, dtype=bool)
        mask[pos] = True
        cats = tuple(sorted({c for c in self.category[pos] if isinstance(c, str)}))
        return Target(f"{len(pos)} contracts", mask, cats)

    def first_touch(self, target: Target) -> np.ndarray:
        """Unix time each wallet first sent to the target (int64 max: never)."""
        hit = target.contracts[self.dst] & self.tx
        out = np.full(self.n, np.iinfo(np.int64).max)
        np.minimum.at(out, self.src[hit], self.ts[hit])
        return out

    def window(self, lo: int, hi: int) -> np.ndarray:
        """Mask of transfers with lo < ts <= hi."""
        return (self.ts > lo) & (self.ts <= hi)

    def last_sent(self, t: int) -> np.ndarray:
        """Unix time of each wallet's last sent transfer at or before t (-1: none)."""
        keep = (self.ts <= t) & self.tx
        out = np.full(self.n, -1, dtype=np.int64)
        np.maximum.at(out, self.src[keep], self.ts[keep])
        return out

    def humans(self) -> np.ndarray:
        return ~self.contract


def _first_seen(n: int, src: np.ndarray, dst: np.ndarray, ts: np.ndarray) -> np.ndarray:
    out = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(out, src, ts)
    np.minimum.at(out, dst, ts)
    return out


# ---- outcomes after T ----------------------------------------------------------------------
def churn_population(tl: Timeline, t: int, active_days: int = 30) -> np.ndarray:
    """Rows of the wallets (not contracts) that sent a transfer in (t - active_days, t]."""
    recent = tl.window(t - active_days * DAY, t) & tl.tx
    rows = np.unique(tl.src[recent])
    return rows[~tl.contract[rows]]


def dormancy_outcome(tl: Timeline, rows: np.ndarray, t: int, horizon_days: int) -> np.ndarray:
    """1 where the wallet sent nothing in (t, t + horizon]."""
    after = tl.window(t, t + horizon_days * DAY) & tl.tx
    sent = np.zeros(tl.n, dtype=bool)
    sent[tl.src[after]] = True
    return (~sent[rows]).astype(np.int64)


def days_to_next(tl: Timeline, rows: np.ndarray, t: int) -> tuple[np.ndarray, np.ndarray]:
    """Days from t to each wallet's next sent transfer, and whether it was seen (False:
    censored at the end of the data, the days then count to the end)."""
    after = (tl.ts > t) & tl.tx
    nxt = np.full(tl.n, np.iinfo(np.int64).max)
    np.minimum.at(nxt, tl.src[after], tl.ts[after])
    seen = nxt[rows] < np.iinfo(np.int64).max
    days = np.where(seen, nxt[rows] - t, tl.end - t) / DAY
    return days, seen


def propensity_population(
    tl: Timeline, target: Target, t: int, first: np.ndarray | None = None
) -> np.ndarray:
    """Rows of wallets (not contracts) seen at or before t that never touched the target by t."""
    first = tl.first_touch(target) if first is None else first
    seen = tl.first_seen <= t
    return np.flatnonzero(seen & ~tl.contract & (first > t))


def adoption_outcome(first: np.ndarray, rows: np.ndarray, t: int, horizon_days: int) -> np.ndarray:
    """1 where the first touch falls in (t, t + horizon]."""
    f = first[rows]
    return ((f > t) & (f <= t + horizon_days * DAY)).astype(np.int64)


def outcomes(
    graph: WalletGraph,
    t: int,
    horizon_days: int = 30,
    active_days: int = 30,
    categories: Iterable[str] | None = None,
) -> pd.DataFrame:
    """What happened after t, per wallet seen by t, from the transfers alone: `active` (sent in
    the active_days before t), `dormant` (sent nothing in (t, t + horizon]), `days_to_next`
    (censored at the end: `next_seen` False), and per category `first_<C>` (1: first touch in
    the horizon, 0: not, empty: touched before t)."""
    tl = Timeline(graph)
    rows = np.flatnonzero((tl.first_seen <= t) & ~tl.contract)
    active = np.zeros(tl.n, dtype=bool)
    active[churn_population(tl, t, active_days)] = True
    frame = pd.DataFrame({"address": graph.wallets["address"].to_numpy()[rows], "active": active[rows]})
    frame["dormant"] = dormancy_outcome(tl, rows, t, horizon_days)
    frame["days_to_next"], frame["next_seen"] = days_to_next(tl, rows, t)
    for category in categories if categories is not None else tl.categories:
        first = tl.first_touch(tl.target(category))
        label = adoption_outcome(first, rows, t, horizon_days).astype(float)
        label[first[rows] <= t] = np.nan
        frame[f"first_{category}"] = label
    return frame
