"""Exposure of every wallet to risky categories: how much of the native value it received came
from them (and of the value it sent went to them), directly or through up to k hops of
unattributed intermediaries, as a share (Chainalysis' notion of direct and indirect exposure).

Flow is attributed in proportion to value: an intermediary v that received a share x of its
value from category c passes on the same share x of everything it sends. Tracing stops at any
labelled wallet (risky or a service such as an exchange, whose internal movements the chain does
not show): funds reaching it are attributed to its own categories, not traced through it.
With Pin[w, v] = value(v->w) / received(w), s_c the category's wallets and p the unlabelled ones:

    x_1 = Pin s_c                       direct share received from c
    x_h = Pin (s_c + p * x_{h-1})       share received from c within h hops
    indirect = x_k - x_1

and the same with Pout[v, w] = value(v->w) / sent(v) for the sent side. One sparse product per
hop for all categories at once. The explanation is each wallet's strongest path per hop count
(the max-product path, found by the same recursion with max for sum). Timing is ignored: funds an
intermediary received after it sent count as well (an upper bound, as in haircut tracing).
PPR restarting on the risky wallets (ml/ppr.py, value-weighted) ranks proximity beyond k hops.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse

from graph.exposure import read_transfers, result_frame, risky_masks, write_exposure
from graph.labels import RISK_CATEGORIES
from graph.store import GraphStore
from ml.ppr import personalized_pagerank

DEFAULT_HOPS = 3
MAX_HOPS = 6
ALL = "any"  # the union of the risky categories (totals count a wallet in two categories once)


@dataclass
class ExposureResult:
    """Per wallet (row = position in `addresses`): shares 0..1 received from / sent to the risky
    set, by category (`in_by`/`out_by`, columns = `categories`), PPR from the risky set, and the
    strongest paths (lists of positions from the risky end to the wallet, with their value)."""

    addresses: np.ndarray
    categories: list[str]
    direct_in: np.ndarray
    total_in: np.ndarray
    direct_out: np.ndarray
    total_out: np.ndarray
    in_by: np.ndarray  # n x C total share received per category
    out_by: np.ndarray  # n x C total share sent per category
    risky: np.ndarray  # bool: the wallet itself carries a risky label
    ppr: np.ndarray
    received: np.ndarray
    sent: np.ndarray
    in_pred: list[np.ndarray] = field(default_factory=list)  # per hop h: best predecessor (-1 none)
    in_best: list[np.ndarray] = field(default_factory=list)  # per hop h: share of that best path
    out_pred: list[np.ndarray] = field(default_factory=list)
    out_best: list[np.ndarray] = field(default_factory=list)

    @property
    def indirect_in(self) -> np.ndarray:
        return np.clip(self.total_in - self.direct_in, 0.0, None)

    @property
    def indirect_out(self) -> np.ndarray:
        return np.clip(self.total_out - self.direct_out, 0.0, None)

    def top_category(self) -> np.ndarray:
        """The category with the largest share either way ('' where there is none)."""
        if not self.categories:
            return np.full(len(self.addresses), "", dtype=object)
        best = np.maximum(self.in_by, self.out_by)
        top = np.asarray(self.categories, dtype=object)[best.argmax(axis=1)]
        top[best.max(axis=1) <= 0] = ""
        return top

    def risk(self) -> np.ndarray:
        """One figure per wallet for filters: 1 for a risky wallet, else its largest total share."""
        return np.where(self.risky, 1.0, np.maximum(self.total_in, self.total_out))


def _stochastic(src: np.ndarray, dst: np.ndarray, value: np.ndarray, n: int) -> tuple:
    """Parallel transfers summed per (sender, receiver); Pin (rows: receivers) and Pout (rows:
    senders), each pair's share of what its receiver got and of what its sender sent, and the
    value each wallet received and sent."""
    pairs = sparse.coo_matrix((value, (src, dst)), shape=(n, n)).tocsr()
    pairs.sum_duplicates()
    coo = pairs.tocoo()
    src, dst, value = coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data
    received = np.bincount(dst, weights=value, minlength=n)
    sent = np.bincount(src, weights=value, minlength=n)
    w_in = np.divide(value, received[dst], out=np.zeros_like(value), where=received[dst] > 0)
    w_out = np.divide(value, sent[src], out=np.zeros_like(value), where=sent[src] > 0)
    pin = sparse.csr_matrix((w_in, (dst, src)), shape=(n, n))
    pout = sparse.csr_matrix((w_out, (src, dst)), shape=(n, n))
    return pin, pout, received, sent, (src, dst, w_in, w_out)


def _spread(
    matrix: sparse.csr_matrix, seeds: np.ndarray, through: np.ndarray, hops: int
) -> tuple[np.ndarray, np.ndarray]:
    """(x_1, x_k) of the recursion for every seed column."""
    first = np.asarray(matrix @ seeds)
    x = first
    for _ in range(hops - 1):
        x = np.asarray(matrix @ (seeds + through[:, None] * x))
    return first, x


def _best_paths(
    rows: np.ndarray,
    cols: np.ndarray,
    frac: np.ndarray,
    seed: np.ndarray,
    through: np.ndarray,
    n: int,
    hops: int,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Max-product recursion along edges (rows <- cols with weight frac): per hop h the best share
    of one path of exactly h+1 edges ending at each row, and the neighbour it came through."""
    order = np.argsort(rows, kind="stable")
    rows, cols, frac = rows[order], cols[order], frac[order]
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]]) if len(rows) else np.zeros(0, np.int64)
    preds, bests = [], []
    carry = seed.astype(float)  # what a path may start from at hop 0: the risky wallets themselves
    for _ in range(hops):
        cand = frac * carry[cols]
        best = np.zeros(n)
        pred = np.full(n, -1, dtype=np.int64)
        if len(cand):
            group_max = np.maximum.reduceat(cand, starts)
            owner = rows[starts]
            best[owner] = group_max
            hit = cand == np.repeat(group_max, np.diff(np.r_[starts, len(cand)]))
            hit &= cand > 0
            first_hit = np.flatnonzero(hit)
            # the first hit of each group is its argmax
            grp = np.searchsorted(starts, first_hit, side="right") - 1
            keep = np.r_[True, grp[1:] != grp[:-1]] if len(grp) else np.zeros(0, bool)
            pred[rows[first_hit[keep]]] = cols[first_hit[keep]]
        preds.append(pred)
        bests.append(best)
        carry = through * best  # only unlabelled wallets pass a path on
    return preds, bests


def compute_exposure(
    addresses: np.ndarray,
    src: np.ndarray,
    dst: np.ndarray,
    value: np.ndarray,
    categories: dict[str, np.ndarray],
    stop: np.ndarray,
    hops: int = DEFAULT_HOPS,
    ppr_alpha: float = 0.15,
) -> ExposureResult:
    """Exposure of every wallet. `src`, `dst`, `value`: native transfers as positions and ETH
    (parallel transfers may repeat); `categories`: a boolean mask of the wallets carrying each
    risky category; `stop`: every labelled wallet (tracing does not pass through it)."""
    if not 1 <= hops <= MAX_HOPS:
        raise ValueError(f"hops must be between 1 and {MAX_HOPS}, not {hops}")
    n = len(addresses)
    value = np.asarray(value, dtype=float)
    keep = (value > 0) & (src != dst)
    src, dst, value = src[keep], dst[keep], value[keep]
    names = [c for c in RISK_CATEGORIES if c in categories] + sorted(set(categories) - set(RISK_CATEGORIES))
    seeds = np.zeros((n, len(names) + 1))
    for j, name in enumerate(names):
        seeds[:, j] = categories[name]
    risky = np.asarray(seeds[:, : len(names)].any(axis=1), dtype=bool)
    seeds[:, -1] = risky
    through = (~np.asarray(stop, dtype=bool) & ~risky).astype(float)
    pin, pout, received, sent, (p_src, p_dst, w_in, w_out) = _stochastic(src, dst, value, n)
    in_first, in_total = _spread(pin, seeds, through, hops)
    out_first, out_total = _spread(pout, seeds, through, hops)
    in_pred, in_best = _best_paths(p_dst, p_src, w_in, risky, through, n, hops)
    out_pred, out_best = _best_paths(p_src, p_dst, w_out, risky, through, n, hops)
    ppr = (
        personalized_pagerank(src, dst, value, n, risky.astype(float), alpha=ppr_alpha)
        if risky.any()
        else np.zeros(n)
    )
    return ExposureResult(
        addresses=np.asarray(addresses, dtype=object),
        categories=names,
        direct_in=np.clip(in_first[:, -1], 0, 1),
        total_in=np.clip(in_total[:, -1], 0, 1),
        direct_out=np.clip(out_first[:, -1], 0, 1),
        total_out=np.clip(out_total[:, -1], 0, 1),
        in_by=np.clip(in_total[:, :-1], 0, 1),
        out_by=np.clip(out_total[:, :-1], 0, 1),
        risky=risky,
        ppr=ppr,
        received=received,
        sent=sent,
        in_pred=in_pred,
        in_best=in_best,
        out_pred=out_pred,
        out_best=out_best,
    )


@dataclass
class ExposureRun:
    wallets: int
    transfers: int
    exposed: int
    risky: int
    seconds: dict[str, float]
    frame: pd.DataFrame  # address, direct_in, indirect_in, direct_out, indirect_out, top_category, ...


async def refresh_exposure(
    store: GraphStore, hops: int = 3, write: bool = True, progress: Callable[[str], None] | None = None
) -> ExposureRun:
    """Compute every wallet's exposure and (with `write`) leave it on the wallets."""
    say = progress or (lambda _msg: None)
    clock = {"start": time.perf_counter()}
    say("reading transfers and labels")
    addresses, src, dst, value = await read_transfers(store)
    addresses, masks, stop = await risky_masks(store, addresses)
    clock["read"] = time.perf_counter()
    say(f"propagating over {len(src):,} transfers, {len(addresses):,} wallets, {hops} hops")
    result = compute_exposure(addresses, src, dst, value, masks, stop, hops=hops)
    clock["compute"] = time.perf_counter()
    frame = result_frame(result)
    exposed = frame[(frame["risk"] > 0)]
    if write:
        say(f"writing {len(exposed):,} exposed wallets")
        await write_exposure(store, result, exposed)
    clock["write"] = time.perf_counter()
    seconds = {
        "read": clock["read"] - clock["start"],
        "compute": clock["compute"] - clock["read"],
        "write": clock["write"] - clock["compute"],
        "total": clock["write"] - clock["start"],
    }
    return ExposureRun(
        len(addresses),
        len(src),
        len(exposed),
        int(result.risky.sum()),
        {k: round(v, 3) for k, v in seconds.items()},
        frame,
    )
