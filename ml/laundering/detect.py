"""Laundering patterns found as instances: groups of transfers that hang together in time and
amount far more than chance allows at the wallets they pass through (issue 14, docs/ml.md).

One test covers every typology. Two transfers at the same wallet are *linked* when
- siblings: both sent (fan-out) or both received (fan-in), to or from different counterparties,
  within MAX_GAP of each other, amounts within SIBLING_RATIO; or
- a relay: received, then sent on to someone else within MAX_GAP, the amount sent between
  RELAY_KEEP of what came in (fees, skims and peeled slices taken off; value conserved).
A link is *evidence* by how unlikely it is by chance at that wallet. With r the wallet's usual
rate of transfers like the later one (same direction and asset, amount in the range), the chance
that one falls within the gap dt is p = r * dt; the link is kept when p <= P_LINK and counts
-ln p (at most CAP). r is the higher of
- the wallet's own matching transfers outside the window around the link, over the observed
  period (a scheme's own transfers are not the wallet's usual activity), and
- its overall rate times the share of the asset's transfers whose amount matches (a large amount
  is matched by few, a common one by many).
This is what "out of proportion to the wallet's usual activity" means: an exchange sees matching
transfers every minute (p >= 1, no link); a quiet wallet that collects ten similar amounts in
two days does not. Camouflage (ordinary transfers alongside) raises r only a little, and the
scheme's own links are still there.

A relay more likely than P_LINK but at most P_JOIN still *joins* two transfers that are evidence
through links elsewhere: value conserved hop after hop is one chain even where one hop passes a
busy wallet (otherwise a cycle through such a hop falls apart into two paths).
Two siblings whose two counterparties are siblings again at another wallet are linked there
however ordinary the pair is at each wallet (`_shared`): a layer pays, or is paid by, the same
wallets (bipartite and stacked layering, scatter-gather legs).
Linked transfers form *patterns* (connected components). A pattern's score is the sum over its
transfers of what their strongest link shows *beyond chance*: a link kept at p <= P_LINK by chance
has -ln p = -ln P_LINK + Exp(1), on average CHANCE = 1 - ln P_LINK, so each transfer counts
max(0, -ln p - CHANCE) and a component of chance links scores about 0 however large it grows
(patterns scoring 0 are dropped); a transfer linked on two sides also counts its second link so.
A cycle adds -ln of the chance that its last hop picks the origin (the share of all transfers its
ring receives). A member's score is the pattern's times its
share: the links its own transfers take part in, up to MEMBER_LINKS (a bystander tied in by one,
possibly chance, link gets half). Its shape (fan_in, fan_out, cycle, scatter_gather,
gather_scatter, peel, bipartite) and each member's role are read off the component's wallet
graph. Not linked, whatever their timing:
- wallets with more than MAX_FAN transfers in one direction within MAX_GAP (airdrops, payroll
  runs, exchange hot wallets: schemes use a handful to a few dozen mules; FATF money-mule
  reports, AMLSim's group sizes);
- transfers of a *regular* relationship: a pair that transacts REGULAR times or more, over more
  than MAX_GAP (salaries, subscriptions, a user and their exchange deposit address);
- contracts, tokens, NFTs and the zero address (ml/motifs.py's peer transfers);
- edges that stand for several transactions (`tx_count` > 1, pre-aggregated edge lists): they
  have no single time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from graph.features import WalletGraph
from ml.motifs import _peer_mask

DAY = 86_400
MAX_GAP = 7 * DAY  # layering moves money on within days (FATF; AMLSim periods are days to weeks)
MIN_DT = 600  # seconds: a block or two; closer than this is as close as it gets
SIBLING_RATIO = 1.5  # "similar amounts": fan members send or receive within +-25% of each other
RELAY_KEEP = (0.5, 1.05)  # sent on / received: up to half peeled, skimmed or paid in fees
P_LINK = 0.05  # a link is evidence when it is at most this likely by chance
P_JOIN = 0.5  # a relay this likely by chance still joins two transfers that are evidence
#               elsewhere: value conserved hop after hop is one chain, even through a busy hop
MEMBER_LINKS = 2  # links a member's own transfers need at least for its full share of a pattern's
#                   score (one link can be chance, two make the member part of the scheme)
CHANCE = 1.0 - np.log(P_LINK)  # the surprise a link kept by chance shows on average: p uniform
#                                on [0, P_LINK] gives -ln p = -ln P_LINK + Exp(1); a pattern scores
#                                only what its transfers show beyond that
CAP = 9.0  # evidence counted per transfer at most (1 in 8,000: one coincidence, however
#            unlikely, does not make a scheme; several of them do)
MAX_FAN = 50  # same-direction transfers within MAX_GAP above which a wallet is a service
REGULAR = 3  # transfers of one pair, weeks apart, that make a relationship rather than a scheme
MAX_OFFSET = 64  # neighbours compared per transfer, in (wallet, time) order
MIN_WALLETS = 3  # a pattern involves at least three wallets
MIN_TRANSFERS = 3  # and two links at least: one coincidence is not a scheme
MIN_SCORE = 6.0  # patterns kept as evidence: at least two links, together 1 in 400 by chance
TYPES = ("fan_in", "fan_out", "cycle", "scatter_gather", "gather_scatter", "peel", "bipartite")


@dataclass
class Pattern:
    """One detected instance: wallets (row positions) with roles, transfers (rows of graph.edges)."""

    type: str
    score: float
    start: int
    end: int
    value: float  # largest total moved in one asset, in that asset's units
    token: str
    wallets: list[int] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    transfers: list[int] = field(default_factory=list)


@dataclass
class Detection:
    patterns: list[Pattern]
    wallet_score: np.ndarray  # per wallet: its best share of a pattern's score (0 when in none)
    wallet_pattern: np.ndarray  # per wallet: index into patterns of that best one, -1 if none
    edge_evidence: np.ndarray | None = None  # per row of graph.edges: its strongest link's surprise
    edge_links: np.ndarray | None = None  # per row of graph.edges: how many links it takes part in


def _search(
    keys: np.ndarray, queries: np.ndarray, side: Literal["left", "right"], at: np.ndarray | None = None
) -> np.ndarray:
    """np.searchsorted with the queries taken in sorted order (`at`, or their stable argsort): on
    millions of keys a search in order stays in cache (several times faster than queries in
    random order)."""
    at = np.argsort(queries, kind="stable") if at is None else at
    found = np.empty(len(queries), dtype=np.int64)
    found[at] = np.searchsorted(keys, queries[at], side)
    return found


class OwnMatches:
    """How many of a wallet's own transfers (one direction, one asset) have an amount in a range:
    the wallet's usual rate of transfers like the one in question, whatever its scale."""

    def __init__(self, wallet: np.ndarray, out: np.ndarray, k: np.ndarray, a: np.ndarray) -> None:
        self.lo = float(a.min()) - 1.0
        self.tokens = int(k.max()) + 1
        self.keys = np.sort(self._key(wallet, out, k, a))

    def _key(self, wallet: np.ndarray, out: np.ndarray, k: np.ndarray, a: np.ndarray) -> np.ndarray:
        group = (wallet.astype(np.int64) * 2 + out) * self.tokens + k
        return group.astype(float) * 4096.0 + np.clip(a - self.lo, 0.0, 4000.0)

    def __call__(self, wallet: np.ndarray, out: np.ndarray, k: np.ndarray, low: np.ndarray,
                 high: np.ndarray) -> np.ndarray:  # fmt: skip
        lo_keys = self._key(wallet, out, k, low)
        at = np.argsort(lo_keys, kind="stable")  # the high keys are in (nearly) the same order
        return _search(self.keys, self._key(wallet, out, k, high), "right", at) - _search(
            self.keys, lo_keys, "left", at
        )


class AmountShare:
    """Share of an asset's peer transfers whose log amount falls in a range: how likely a random
    transfer matches a given amount (a large amount is matched by few, a common one by many)."""

    def __init__(self, a: np.ndarray, k: np.ndarray) -> None:
        self.sorted = {int(x): np.sort(a[k == x]) for x in np.unique(k)}

    def __call__(self, k: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        out = np.ones(len(k))
        for x, values in self.sorted.items():
            sel = k == x
            at = np.argsort(low[sel], kind="stable")
            hits = _search(values, high[sel], "right", at) - _search(values, low[sel], "left", at)
            out[sel] = np.maximum(hits, 1) / len(values)
        return out


def _regular(s: np.ndarray, d: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Transfers of pairs that transact REGULAR times or more, over more than MAX_GAP (either
    direction): salaries, subscriptions, a user and their deposit address. Twice can be chance."""
    lo, hi = np.minimum(s, d), np.maximum(s, d)
    key = lo.astype(np.int64) * (1 << 32) + hi
    groups = pd.Series(t.astype(np.int64)).groupby(key)
    first, last = groups.transform("min").to_numpy(), groups.transform("max").to_numpy()
    return (groups.transform("size").to_numpy() >= REGULAR) & ((last - first) > MAX_GAP)


def _window_counts(wallet: np.ndarray, out: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """Per row: the wallet's transfers within MAX_GAP either side in the row's direction (one sort:
    in (wallet, direction, time) order the rows' own keys are the sorted queries)."""
    t0 = ts.min()
    key = (wallet.astype(np.int64) * 2 + out) * (1 << 34) + (ts - t0)
    at = np.argsort(key, kind="stable")
    order = key[at]
    same = np.empty(len(key), np.int64)
    same[at] = np.searchsorted(order, order + MAX_GAP, "right") - np.searchsorted(
        order, order - MAX_GAP, "left"
    )
    return same


def _usual(own: OwnMatches, share: AmountShare, wallet: np.ndarray, out: np.ndarray, asset: np.ndarray,
           amount: np.ndarray, near: np.ndarray, span: float, rate_out: np.ndarray, rate_in: np.ndarray,
           lo: float, hi: float, looked: np.ndarray) -> np.ndarray:  # fmt: skip
    """Per row: the wallet's usual rate (per second) of `looked`-direction transfers with an
    amount in [amount + lo, amount + hi]."""
    low, high = amount + lo, amount + hi
    looked = looked.astype(np.int64)
    others = np.maximum(own(wallet, looked, asset, low, high) - near, 0)
    rate = np.where(looked == 1, rate_out[wallet], rate_in[wallet])
    return np.maximum(others / span, rate * share(asset, low, high))


def _window_matches(wallet: np.ndarray, out: np.ndarray, ts: np.ndarray, amount: np.ndarray,
                    asset: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Per row (in (wallet, time) order): the wallet's transfers within MAX_GAP either side that
    match it, the row itself included, as siblings (the same direction and asset, amount within
    SIBLING_RATIO) and, for what it receives, as relays (sent, RELAY_KEEP of the amount): the
    part of the wallet's matching transfers that its usual rate leaves out. Rows of services and
    regular pairs are not in the order, so their matches stay in the usual rate (which only
    weakens links)."""
    n = len(wallet)
    sib_count, relay_count = np.ones(n, np.int64), np.zeros(n, np.int64)
    lo, hi, ratio = np.log(RELAY_KEEP[0]), np.log(RELAY_KEEP[1]), np.log(SIBLING_RATIO)
    for off in range(1, min(MAX_OFFSET, n - 1) + 1):
        near = (wallet[off:] == wallet[:-off]) & (ts[off:] - ts[:-off] <= MAX_GAP)
        if not near.any():
            break
        i = np.flatnonzero(near & (asset[off:] == asset[:-off]))
        j = i + off
        diff = amount[j] - amount[i]
        sib = (out[i] == out[j]) & (np.abs(diff) <= ratio)
        sib_count += np.bincount(i[sib], minlength=n) + np.bincount(j[sib], minlength=n)
        sent_on = ~out[i] & out[j] & (diff >= lo) & (diff <= hi)  # received, then sent on
        sent_before = out[i] & ~out[j] & (-diff >= lo) & (-diff <= hi)  # the like sent before
        relay_count += np.bincount(i[sent_on], minlength=n) + np.bincount(j[sent_before], minlength=n)
    return sib_count, relay_count


def _shared(i: np.ndarray, j: np.ndarray, wallet: np.ndarray, other: np.ndarray, out: np.ndarray,
            edge: np.ndarray, rate_out: np.ndarray,
            rate_in: np.ndarray, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Links between siblings whose two counterparties are siblings again at another wallet within
    MAX_GAP: two wallets that both pay (or are both paid by) the same two or more wallets within
    days are a layer of a scheme (bipartite and stacked layering, scatter-gather legs, a source
    splitting over the same mules twice), however common their amounts are at each wallet.
    `i`, `j`: sibling pairs (positions in (wallet, time) order) at their wallet, the pivot.
    By chance, given that a paid the pivot y, b pays y within MAX_GAP of it with probability
    q = (b's transfer rate) x 2 MAX_GAP x (y's share of all transfers), the larger of a's and b's
    rate taken; a pair repeated at pivots whose q <= P_LINK links its two transfers there with
    surprise -ln q (popular wallets, with a large share, show little; services are not compared)."""
    a, b = np.minimum(other[i], other[j]), np.maximum(other[i], other[j])
    key = (a.astype(np.int64) * (1 << 31) + b) * 2 + out[i]
    pivot = wallet[i]
    # the pair meets again at another pivot within MAX_GAP (a layer acts within days): next to
    # each other in (pair, time) order
    at = np.lexsort((ts[i], key))
    k_, p_, t_ = key[at], pivot[at], ts[i][at]
    again = (k_[1:] == k_[:-1]) & (p_[1:] != p_[:-1]) & (t_[1:] - t_[:-1] <= MAX_GAP)
    recur = np.zeros(len(key), bool)
    recur[at[:-1][again]] = True
    recur[at[1:][again]] = True
    i, j, pivot, a, b, o = i[recur], j[recur], pivot[recur], a[recur], b[recur], out[i[recur]]
    total = float(np.sum(rate_out))  # every transfer, per second
    pivot_share = np.where(o, rate_out[pivot], rate_in[pivot]) / total
    rate_b = np.where(o, np.maximum(rate_in[a], rate_in[b]), np.maximum(rate_out[a], rate_out[b]))
    q = np.maximum(rate_b * 2 * MAX_GAP * pivot_share, 1e-12)
    keep = q <= P_LINK
    return edge[i[keep]], edge[j[keep]], np.minimum(-np.log(q[keep]), CAP)


def _second(ia: np.ndarray, ib: np.ndarray, surprise: np.ndarray, m: int) -> np.ndarray:
    """Per transfer: the surprise of its second strongest link (0 with fewer than two). A transfer
    linked on two sides (a relay's leg that is both forwarded and was fed, a fan member similar to
    two siblings) is structure beyond one coincidence: what its second link shows beyond chance
    counts as well (a component of single chance links gains nothing)."""
    ends, value = np.r_[ia, ib], np.r_[surprise, surprise]
    if not len(ends):  # no links at all (a small graph)
        return np.zeros(m)
    order = np.lexsort((-value, ends))
    ends, value = ends[order], value[order]
    first = np.r_[True, ends[1:] != ends[:-1]]
    second = np.r_[False, first[:-1]] & ~first
    out = np.zeros(m)
    out[ends[second]] = value[second]
    return out


def detect(graph: WalletGraph) -> Detection:
    n, e = graph.n, graph.edges
    none = Detection([], np.zeros(n), np.full(n, -1))
    peer = _peer_mask(graph) & (e["tx_count"].to_numpy() <= 1)  # an aggregate has no single time
    rows = np.flatnonzero(peer)
    if len(rows) < 2:
        return none
    s, d = e["src"].to_numpy()[rows], e["dst"].to_numpy()[rows]
    t = e["ts"].to_numpy()[rows].astype(np.int64)
    v = e["value"].to_numpy(dtype=float)[rows]
    k = e["token"].to_numpy()[rows]
    a = np.log(v)
    m = len(rows)
    span = max(float(t.max() - t.min()), float(DAY))
    share = AmountShare(a, k)
    own = OwnMatches(
        np.r_[s, d], np.r_[np.ones(m, np.int64), np.zeros(m, np.int64)], np.r_[k, k], np.r_[a, a]
    )
    rate_out = np.bincount(s, minlength=n) / span
    rate_in = np.bincount(d, minlength=n) / span
    regular = _regular(s, d, t)

    # every transfer twice: at its sender (out) and at its receiver (in), in (wallet, time) order
    wallet, other = np.r_[s, d], np.r_[d, s]
    out = np.r_[np.ones(m, bool), np.zeros(m, bool)]
    ts, amount, asset, edge = np.r_[t, t], np.r_[a, a], np.r_[k, k], np.r_[np.arange(m), np.arange(m)]
    usable = ~np.r_[regular, regular]
    near_all = _window_counts(wallet, out.astype(np.int64), ts)
    busy = near_all > MAX_FAN
    usable &= ~busy
    service = np.zeros(n, bool)
    service[wallet[busy]] = True  # busy at some time: a service, scored by nothing it relays
    keep = np.flatnonzero(usable)  # the rest link nothing: compare only these
    order = keep[np.lexsort((ts[keep], wallet[keep]))]
    wallet, other, out, ts, amount, asset, edge = (
        x[order] for x in (wallet, other, out, ts, amount, asset, edge)
    )
    # per row, the wallet's usual rate of transfers like the one that would link to it: siblings
    # (the same direction, amount within SIBLING_RATIO) and, for what it receives, relays (what it
    # sends, RELAY_KEEP of the amount). The higher of: its own matching transfers outside the
    # window around the row (a scheme's own transfers are not its usual activity: its matches
    # less the matching ones within MAX_GAP of the row, _window_matches) over the period, and its
    # overall rate times the asset's share of matching amounts (a large amount is matched by few).
    # Not its matches less *all* its transfers in the window (the earlier bound): at a wallet
    # with ordinary traffic most of those do not match, and taking them all off made its usual
    # rate of the matching ones look far lower than it is (chance links at busy wallets)
    near_same, near_other = _window_matches(wallet, out, ts, amount, asset)
    usual_sib = _usual(own, share, wallet, out, asset, amount, near_same, span, rate_out, rate_in,
                       -np.log(SIBLING_RATIO), np.log(SIBLING_RATIO), out)  # fmt: skip
    usual_relay = _usual(own, share, wallet, out, asset, amount, near_other, span, rate_out, rate_in,
                         np.log(RELAY_KEEP[0]), np.log(RELAY_KEEP[1]), np.ones_like(out))  # fmt: skip
    best = np.zeros(m)  # per transfer: its strongest link's surprise
    la, lb, wa, wb = [], [], [], []
    ls: list[np.ndarray] = []  # the kept links' surprise, as la and lb
    ca, cb = [], []  # sibling pairs (positions in order) for _shared
    for off in range(1, min(MAX_OFFSET, len(order) - 1) + 1):
        near = (wallet[off:] == wallet[:-off]) & (ts[off:] - ts[:-off] <= MAX_GAP)
        if not near.any():
            break
        i = np.flatnonzero(near & (asset[off:] == asset[:-off]))
        j = i + off  # j is the later one
        diff = amount[j] - amount[i]
        sib = (out[i] == out[j]) & (np.abs(diff) <= np.log(SIBLING_RATIO))
        relay = ~out[i] & out[j] & (diff >= np.log(RELAY_KEEP[0])) & (diff <= np.log(RELAY_KEEP[1]))
        cand = (sib | relay) & (other[i] != other[j])
        i, j, sib = i[cand], j[cand], sib[cand]
        if not len(i):
            continue
        dt = np.maximum(ts[j] - ts[i], MIN_DT).astype(float)
        p = np.where(sib, usual_sib[i], usual_relay[i]) * dt
        again = sib & (p <= P_JOIN)  # siblings looked at again: do their counterparties recur?
        if again.any():
            ca.append(i[again])
            cb.append(j[again])
        weak = relay[cand] & (p > P_LINK) & (p <= P_JOIN)
        if weak.any():
            wa.append(edge[i[weak]])
            wb.append(edge[j[weak]])
        keep = p <= P_LINK
        if not keep.any():
            continue
        surprise = np.minimum(-np.log(np.maximum(p[keep], 1e-12)), CAP)
        ei, ej = edge[i[keep]], edge[j[keep]]
        np.maximum.at(best, ei, surprise)
        np.maximum.at(best, ej, surprise)
        la.append(ei)
        lb.append(ej)
        ls.append(surprise)
    if ca:  # two wallets that are siblings at two or more wallets: a layer
        xa, xb, sur = _shared(np.concatenate(ca), np.concatenate(cb), wallet, other, out, edge,
                              rate_out, rate_in, ts)  # fmt: skip
        np.maximum.at(best, xa, sur)
        np.maximum.at(best, xb, sur)
        la.append(xa)
        lb.append(xb)
        ls.append(sur)
    if not la:
        return none
    second = _second(np.concatenate(la), np.concatenate(lb), np.concatenate(ls), m)
    if wa and P_JOIN > P_LINK:  # a weak relay joins two transfers that are evidence elsewhere
        xa, xb = np.concatenate(wa), np.concatenate(wb)
        ok = (best[xa] > 0) & (best[xb] > 0)
        la.append(xa[ok])
        lb.append(xb[ok])
    ia, ib = np.concatenate(la), np.concatenate(lb)
    links = np.bincount(ia, minlength=m) + np.bincount(ib, minlength=m)  # per transfer
    linked = np.unique(np.r_[ia, ib])
    adj = sparse.coo_matrix((np.ones(len(ia)), (ia, ib)), shape=(m, m))
    count, group = connected_components(adj, directed=False)
    g = group[linked]
    totals = np.bincount(g, weights=best[linked], minlength=count)
    sizes = np.bincount(g, minlength=count)
    strong = (totals >= MIN_SCORE) & (sizes >= MIN_TRANSFERS)
    linked, g = linked[strong[g]], g[strong[g]]
    order = np.argsort(g, kind="stable")
    linked, g = linked[order], g[order]
    bounds = np.flatnonzero(np.r_[True, g[1:] != g[:-1], True])
    patterns: list[Pattern] = []
    wallet_score, wallet_pattern = np.zeros(n), np.full(n, -1)
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        idx = linked[a:b]
        excess = float(np.clip(np.r_[best[idx], second[idx]] - CHANCE, 0.0, None).sum())
        if excess <= 0.0:  # nothing beyond what chance links show
            continue
        pat = _pattern(graph, rows[idx], s[idx], d[idx], t[idx], v[idx], k[idx], excess)
        if pat is None:
            continue
        members = np.asarray(pat.wallets)
        if pat.type == "cycle":  # money came back: by chance the last hop picks its origin
            ring = members[np.asarray(pat.roles) == "cycle"]  # as often as the ring is paid at all
            chance = float(np.sum(rate_in[ring])) * span / m
            pat.score = round(pat.score + min(-np.log(max(chance, 1e-12)), CAP), 3)
        # a member's share: the links its own transfers take part in, up to MEMBER_LINKS (one
        # link can be chance: a bystander paid by a member the same week gets half)
        at = np.searchsorted(members, np.r_[s[idx], d[idx]])
        tied = np.bincount(at, weights=np.r_[links[idx], links[idx]], minlength=len(members))
        part = pat.score * np.minimum(tied / MEMBER_LINKS, 1.0)
        better = (part > wallet_score[members]) & ~service[members]
        wallet_score[members[better]] = part[better]
        wallet_pattern[members[better]] = len(patterns)
        patterns.append(pat)
    edge_evidence = np.zeros(len(e))
    edge_evidence[rows] = best
    edge_links = np.zeros(len(e))
    edge_links[rows] = links
    return Detection(patterns, wallet_score, wallet_pattern, edge_evidence, edge_links)


def _pattern(graph: WalletGraph, rows: np.ndarray, s: np.ndarray, d: np.ndarray, t: np.ndarray,
             v: np.ndarray, k: np.ndarray, score: float) -> Pattern | None:  # fmt: skip
    members = np.unique(np.r_[s, d])
    if len(members) < MIN_WALLETS or len(rows) < MIN_TRANSFERS:
        return None
    kind, roles = shape(s, d, members)
    codes, at = np.unique(k, return_inverse=True)
    token = int(codes[np.argmax(np.bincount(at, weights=v))])
    value = _entering(s, d, v * (k == token), members)
    return Pattern(
        kind, round(score, 3), int(t.min()), int(t.max()), value,
        graph.tokens[token] if token < len(graph.tokens) else str(token),
        members.tolist(), roles, np.sort(rows).tolist(),
    )  # fmt: skip


def _entering(s: np.ndarray, d: np.ndarray, v: np.ndarray, members: np.ndarray) -> float:
    """Value sent by the pattern's sources (wallets that only send within it)."""
    receivers = set(d.tolist())
    sent = sum(float(x) for a, x in zip(s.tolist(), v.tolist(), strict=True) if a not in receivers)
    return sent if sent > 0 else float(v.max(initial=0.0))


def shape(s: np.ndarray, d: np.ndarray, members: np.ndarray) -> tuple[str, list[str]]:
    """The typology of a pattern from its wallet graph, and each member's role."""
    n = len(members)
    si, di = np.searchsorted(members, s), np.searchsorted(members, d)  # members are sorted
    outs = np.bincount(si, minlength=n)
    ins = np.bincount(di, minlength=n)
    pairs = np.unique(si.astype(np.int64) * n + di)
    out_to = np.bincount(pairs // n, minlength=n)  # distinct receivers
    in_from = np.bincount(pairs % n, minlength=n)  # distinct senders
    roles = np.where((ins > 0) & (outs > 0), "relay", np.where(outs > 0, "source", "sink")).astype(object)
    relays = (ins > 0) & (outs > 0)
    cyclic, comp = n, np.arange(n)
    if relays.sum() >= 2 or np.isin(pairs, (pairs % n) * n + pairs // n).any():  # a cycle is possible
        adj = sparse.coo_matrix((np.ones(len(si)), (si, di)), shape=(n, n))
        cyclic, comp = connected_components(adj, directed=True, connection="strong")
    if cyclic < n:  # money returned to where it came from
        roles[np.bincount(comp, minlength=cyclic)[comp] > 1] = "cycle"
        return "cycle", roles.tolist()
    hubs = (in_from >= 2) & (out_to >= 2)
    if hubs.sum() == 1 and relays.sum() == 1:
        roles[hubs] = "hub"
        return "gather_scatter", roles.tolist()
    if relays.any() and (out_to <= 2).all() and (in_from <= 1).all() and relays.sum() >= 2:
        return "peel", roles.tolist()  # a chain, each hop forwarding and maybe peeling a slice
    if relays.any() and (out_to[~relays] >= 2).sum() == 1 and (in_from[~relays] >= 2).sum() == 1:
        return "scatter_gather", roles.tolist()
    if not relays.any():
        if (in_from >= 2).sum() == 1 and (out_to <= 1).all():
            roles[in_from >= 2] = "hub"
            return "fan_in", roles.tolist()
        if (out_to >= 2).sum() == 1 and (in_from <= 1).all():
            roles[out_to >= 2] = "hub"
            return "fan_out", roles.tolist()
    return "bipartite", roles.tolist()
