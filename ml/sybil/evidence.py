"""Evidence between wallets, kind by kind, from the transfers alone (a WalletGraph).

Each kind answers one question a sybil hunter asks, and names the transfers behind its answer
(row positions in `graph.edges`, which graph.sybil turns into transaction hashes):

- `funder`: the same first funder (the wallet that first sent it ETH), looked through pass-through
  hops (a fresh wallet that only forwards what it got within two days), never a hub;
- `collector`: value sent to the same wallet (a sweep, or the same exchange deposit address),
  again through pass-through hops and never to a hub;
- `timing`: the same contracts called (or the same exchange withdrawing) within the same hour,
  on at least two contracts, weighted by how few others did so in that hour;
- `amount`: the same exact amounts, chosen by the sender (not a contract's price nor a
  distribution everyone got alike);
- `counterparty`: rare counterparties in common (other than the funder and the collector);
- `script`: between wallets that already share a funder or a collector (or a timing link),
  the same contracts called on the same days far more often than their own use of those
  contracts explains (a task script run over the members on one day, however its hours are
  jittered);
- `cohort`: members of one funder's or collector's group that act together with a large share
  of that group on the same service on the same day (or, pooled over the group's days, on
  the same days), on two or more such moments, where the members' own use makes that crowd
  unlikely (a campaign round over the farm, however each member's tasks and hours are drawn).

Hubs (exchanges, contracts known as such, any wallet with more than `hub_wallets` distinct
counterparties on one side) never link: being funded by the same exchange says nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from graph.features import WalletGraph
from graph.model import NATIVE_TOKEN

KINDS = ("funder", "collector", "timing", "amount", "counterparty", "script", "cohort")
BIT = {k: 1 << i for i, k in enumerate(KINDS)}


@dataclass
class Prepared:
    """What every kind reads: the edges as arrays, wallet roles, first funding through hops."""

    n: int
    src: np.ndarray
    dst: np.ndarray
    ts: np.ndarray
    value: np.ndarray
    token: np.ndarray
    native: np.ndarray  # bool per edge
    person: np.ndarray  # bool per wallet: may be linked (not a contract, exchange or hub)
    service: np.ndarray  # bool per wallet: a contract, an exchange or a hub
    root: np.ndarray  # per wallet: its root funder (-1 none or a hub)
    fund_edges: list[list[int]]  # per wallet with a root: the funding edges up to the root
    hops: np.ndarray  # bool per wallet: a pass-through hop
    payer: np.ndarray  # bool per wallet: an exchange or a hub that is no contract
    hub: np.ndarray  # bool per wallet: more than hub_wallets distinct counterparties on one side
    funded_at: np.ndarray  # per wallet: time of its first funding (int64 max if none)
    contract: np.ndarray  # bool per wallet: a contract or token known as such


def pair_codes(u: np.ndarray, v: np.ndarray, n: int) -> np.ndarray:
    a, b = np.minimum(u, v), np.maximum(u, v)
    return a.astype(np.int64) * n + b


def _pairs_of_groups(members: np.ndarray, groups: np.ndarray, n: int, weight: np.ndarray | None = None,
                     n_groups: int | None = None) -> sp.csr_matrix:  # fmt: skip
    """Upper-triangular wallet x wallet matrix: for each pair, the summed weight of the groups
    both are in (1 each without weights). members/groups: one row per (wallet, group), unique."""
    g = int(n_groups if n_groups is not None else (groups.max() + 1 if len(groups) else 0))
    inc = sp.csr_matrix((np.ones(len(members)), (members, groups)), shape=(n, g))
    if weight is not None:
        inc_w = inc @ sp.diags(weight)
        prod = inc_w @ inc.T
    else:
        prod = inc @ inc.T
    return sp.triu(prod, k=1).tocsr()


def prepare(graph: WalletGraph, hub_wallets: int, pass_through_hours: float) -> Prepared:
    e = graph.edges
    n = graph.n
    src, dst = e["src"].to_numpy(), e["dst"].to_numpy()
    ts, value, token = e["ts"].to_numpy(), e["value"].to_numpy(dtype=float), e["token"].to_numpy()
    native_code = graph.tokens.index(NATIVE_TOKEN) if NATIVE_TOKEN in graph.tokens else -1
    native = token == native_code
    w = graph.wallets
    distinct = pd.DataFrame({"s": src, "d": dst}).drop_duplicates()
    out_cp = np.bincount(distinct["s"].to_numpy(), minlength=n)
    in_cp = np.bincount(distinct["d"].to_numpy(), minlength=n)
    exchange = (w["category"] == "Exchange").to_numpy(dtype=bool)
    contract = w["contract"].to_numpy(dtype=bool) | w["token"].to_numpy(dtype=bool)
    zero = (w["address"] == "0x" + "0" * 40).to_numpy()
    hub = (out_cp > hub_wallets) | (in_cp > hub_wallets)
    service = contract | exchange | zero | hub
    person = ~service

    # first funding: the earliest incoming native transfer with value
    funding = np.flatnonzero(native & (value > 0) & (src != dst))
    order = funding[np.lexsort((funding, ts[funding]))]
    first_edge = np.full(n, -1, dtype=np.int64)
    seen_dst, first_pos = np.unique(dst[order], return_index=True)
    first_edge[seen_dst] = order[first_pos]
    funder = np.where(first_edge >= 0, src[np.maximum(first_edge, 0)], -1)

    # a pass-through hop: few transfers, first sent on within `pass_through_hours` of its funding
    out_n = np.bincount(src, minlength=n)
    in_n = np.bincount(dst, minlength=n)
    first_out = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first_out, src, ts)
    funded_at = np.where(first_edge >= 0, ts[np.maximum(first_edge, 0)], np.iinfo(np.int64).max)
    hops = (
        person
        & (out_n <= 3)
        & (in_n <= 3)
        & (first_out >= funded_at)
        & (first_out - funded_at <= pass_through_hours * 3600)
    )
    root = funder.copy()
    fund_edges: list[list[int]] = [[int(x)] if x >= 0 else [] for x in first_edge.tolist()]
    for _ in range(2):  # up to two hops back
        via = (root >= 0) & hops[np.maximum(root, 0)]
        for i in np.flatnonzero(via).tolist():
            h = int(root[i])
            if first_edge[h] >= 0:
                fund_edges[i].append(int(first_edge[h]))
        root = np.where(via, funder[np.maximum(root, 0)], root)
    root = np.where((root >= 0) & person[np.maximum(root, 0)], root, -1)
    payer = exchange | (service & ~contract & ~zero)
    return Prepared(
        n,
        src,
        dst,
        ts,
        value,
        token,
        native,
        person,
        service,
        root,
        fund_edges,
        hops,
        payer,
        hub,
        funded_at,
        contract,
    )


def funders(p: Prepared, lines: bool = True) -> pd.DataFrame:
    """(wallet, funder, level): its root funder (level 1) and, when that funder was itself first
    funded by a person, the funder's root (level 2): operators fund their wallets through a layer
    of distributor wallets, each funding a share of them. Level 3: the top of a longer line of
    first fundings through people (`lineage`), where members fund one another in a chain."""
    m = np.flatnonzero((p.root >= 0) & p.person & ~p.hops)
    up = p.root[p.root[m]]
    two = up >= 0
    top = lineage(p.root)[m]
    three = (top >= 0) & (top != p.root[m]) & (top != up) & lines
    level = np.r_[np.ones(len(m), int), np.full(int(two.sum()), 2), np.full(int(three.sum()), 3)]
    return pd.DataFrame({"wallet": np.r_[m, m[two], m[three]],
                         "funder": np.r_[p.root[m], up[two], top[three]], "level": level})  # fmt: skip


def lineage(root: np.ndarray, rounds: int = 16) -> np.ndarray:
    """Per wallet, the top of its first-funding line through people (-1 none): a chain of
    wallets each first funded by the one before (an operator seeding one fresh wallet, which
    funds the next, and so on) shares its top however long it is. Pointer doubling: each round
    doubles the distance looked up, so 16 rounds reach any line on a chain; a cycle (two
    wallets each first funded by the other, at different times of each) stops anywhere on it."""
    top = root.copy()
    index = np.arange(len(root))
    for _ in range(rounds):
        up = np.where(top >= 0, top[np.maximum(top, 0)], -1)
        step = (up >= 0) & (up != index)
        if not step.any():
            break
        top = np.where(step, up, top)
    return top


def funder_pairs(p: Prepared, rows: pd.DataFrame) -> sp.csr_matrix:
    pairs = _pairs_of_groups(rows["wallet"].to_numpy(), rows["funder"].to_numpy(), p.n, n_groups=p.n)
    pairs.data[:] = 1.0
    return pairs


def collector_targets(p: Prepared) -> pd.DataFrame:
    """(wallet, target, edge): value a person sent to another person, or through a pass-through
    hop to the wallet the hop sent it on to."""
    sel = np.flatnonzero(p.person[p.src] & p.person[p.dst] & (p.value > 0) & (p.src != p.dst)
                         & ~p.hops[p.src])  # fmt: skip
    direct = pd.DataFrame({"wallet": p.src[sel], "target": p.dst[sel], "edge": sel})
    via = direct[p.hops[direct["target"].to_numpy()]]
    onward = np.flatnonzero(p.hops[p.src] & (p.value > 0))
    onward = pd.DataFrame({"target": p.src[onward], "final": p.dst[onward], "edge2": onward})
    via = via.merge(onward, on="target")
    hopped = pd.DataFrame({"wallet": via["wallet"], "target": via["final"], "edge": via["edge"],
                           "edge2": via["edge2"]})  # fmt: skip
    direct["edge2"] = -1
    rows = pd.concat([direct[~p.hops[direct["target"].to_numpy()]], hopped], ignore_index=True)
    rows = rows[~p.service[rows["target"].to_numpy()] & (rows["wallet"] != rows["target"])]
    # sent back to its own funder: the tie the funder kind already counts, unless the funder
    # funded them in one batch and they paid back in one batch (a day each, two tilings each)
    back = rows["target"].to_numpy() == p.root[rows["wallet"].to_numpy()]
    rows = rows.assign(group=rows["target"].astype(np.int64).astype(str))
    b = rows[back]
    funded = p.funded_at[b["wallet"].to_numpy()]
    swept = p.ts[b["edge"].to_numpy()]
    batches = [rows[~back]]
    for f_tile in (0, 43200):
        for s_tile in (0, 43200):
            key = (b["target"].astype(str) + f":{f_tile}:{s_tile}:" + ((funded + f_tile) // 86400).astype(str)
                   + ":" + ((swept + s_tile) // 86400).astype(str))  # fmt: skip
            batches.append(b.assign(group=key.to_numpy()))
    rows = pd.concat(batches, ignore_index=True)
    return rows.drop_duplicates(["wallet", "group"])


def collector_pairs(p: Prepared, targets: pd.DataFrame) -> sp.csr_matrix:
    codes, uniq = pd.factorize(targets["group"])
    pairs = _pairs_of_groups(targets["wallet"].to_numpy(), codes, p.n, n_groups=len(uniq))
    pairs.data[:] = 1.0
    return pairs


def timing_tokens(p: Prepared, window: int, crowd: int, scale: int = 0, tilings: int = 2) -> pd.DataFrame:
    """(wallet, token, contract, edge, size, scale): a call to a service (or a withdrawal from an
    exchange or hub) in a window of `window` seconds; with two tilings half a window apart, two
    calls within half a window always share a token. Tokens of more than `crowd` wallets are
    dropped. `scale` tags the rows (and offsets token ids) so several window lengths can share
    one frame."""
    call = np.flatnonzero(p.person[p.src] & p.service[p.dst])
    got = np.flatnonzero(p.service[p.src] & p.person[p.dst] & p.native & (p.value > 0))
    wallet = np.r_[p.src[call], p.dst[got]]
    other = np.r_[p.dst[call], p.src[got]]
    direction = np.r_[np.zeros(len(call), np.int64), np.ones(len(got), np.int64)]
    edge = np.r_[call, got]
    ts = p.ts[edge]
    frames = []
    for tiling in range(tilings):
        bucket = (ts + tiling * (window // 2)) // window
        frames.append(pd.DataFrame({"wallet": wallet, "contract": other * 2 + direction,
                                    "bucket": bucket * 2 + tiling, "edge": edge}))  # fmt: skip
    rows = pd.concat(frames, ignore_index=True).drop_duplicates(["wallet", "contract", "bucket"])
    rows["token"] = rows.groupby(["contract", "bucket"]).ngroup().astype(np.int64) * 4 + scale
    size = rows.groupby("token")["wallet"].transform("size")
    rows = rows[(size >= 2) & (size <= crowd)]
    rows = rows.assign(size=size[rows.index], scale=scale)
    return rows


def timing_pairs(p: Prepared, rows: pd.DataFrame, n_people: int, min_contracts: int,
                 min_share: float, block: int = 4000) -> tuple[sp.csr_matrix, pd.DataFrame]:  # fmt: skip
    """Pairs whose coinciding calls carry at least 2 log(n_people) of surprise (the sum over
    distinct contracts of log(n_people / wallets in that window)), on `min_contracts` contracts,
    and make up `min_share` of the quieter wallet's windows."""
    if rows.empty:
        return sp.csr_matrix((p.n, p.n)), rows
    bar = 2 * np.log(n_people)
    wallet, contract = rows["wallet"].to_numpy(), rows["contract"].to_numpy()
    weight = np.maximum(np.log(n_people / rows["size"].to_numpy(dtype=float)), 0.0)
    own_all = np.bincount(wallet, minlength=p.n)  # rows are one per wallet and window
    # a wallet whose best window on each contract sums under the bar links to no one: it is
    # left out of the products (most light users; the pairs of busy windows are the cost)
    best = pd.DataFrame({"w": wallet, "c": contract, "s": weight}).groupby(["w", "c"])["s"].max()
    reach = best.groupby(level=0).agg(["sum", "size"])
    able = np.zeros(p.n, dtype=bool)
    able[reach.index[(reach["sum"] >= bar - 1e-9) & (reach["size"] >= min_contracts)].to_numpy()] = True
    sel = able[wallet]
    codes, uniq = pd.factorize(rows["token"].to_numpy()[sel])
    w = wallet[sel]
    inc = sp.csr_matrix((np.ones(len(w)), (w, codes)), shape=(p.n, len(uniq)))
    # the shared windows' count and summed surprise in one product: entries 1 + i * surprise.
    # That sum bounds the per-contract sum asked below, so pairs under the bar here cannot pass
    both = sp.csr_matrix((1.0 + 1j * weight[sel], (w, codes)), shape=(p.n, len(uniq)))
    us, vs = [], []
    # block by block of wallets, each against the wallets after it: the full product holds every
    # pair that shares any window (tens of millions on a large chain)
    for a in range(0, p.n, block):
        prod = (both[a : a + block] @ inc[a:].T.tocsr()).tocoo()
        u, v = prod.row + a, prod.col + a
        shared, surprise = prod.data.real, prod.data.imag
        keep = (v > u) & (shared >= min_contracts) & (surprise >= bar - 1e-9)
        u, v, shared = u[keep], v[keep], shared[keep]
        keep = shared / np.minimum(own_all[u], own_all[v]) >= min_share
        us.append(u[keep])
        vs.append(v[keep])
    u, v = np.concatenate(us), np.concatenate(vs)
    if not len(u):
        return sp.csr_matrix((p.n, p.n)), rows
    pair, con, surprise = _shared_windows(p.n, u, v, w, codes, contract[sel], weight[sel])
    # scored per distinct contract: its most surprising shared window
    per = pd.DataFrame({"pair": pair, "c": con, "s": surprise}).groupby(["pair", "c"])["s"].max()
    pair = per.index.get_level_values(0).to_numpy()
    contracts = np.bincount(pair, minlength=len(u))
    total = np.bincount(pair, weights=per.to_numpy(), minlength=len(u))
    ok = (contracts >= min_contracts) & (total >= bar)
    return sp.csr_matrix((np.ones(int(ok.sum())), (u[ok], v[ok])), shape=(p.n, p.n)), rows


def _shared_windows(n: int, u: np.ndarray, v: np.ndarray, wallet: np.ndarray, token: np.ndarray,
                    contract: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, ...]:  # fmt: skip
    """For pairs (u[i], v[i]): (i, contract, weight) of each window both have, read from the
    rows (wallet, token, contract, weight), one per wallet and window. Walks the quieter side's
    rows and looks each up on the other side."""
    order = np.lexsort((token, wallet))
    wallet, token, contract, weight = wallet[order], token[order], contract[order], weight[order]
    start = np.searchsorted(wallet, np.arange(n + 1))
    count = np.diff(start)
    quiet = np.where(count[u] <= count[v], u, v)
    other = np.where(count[u] <= count[v], v, u)
    rows = count[quiet]
    pair = np.repeat(np.arange(len(u)), rows)
    at = np.repeat(start[quiet], rows) + (np.arange(rows.sum()) - np.repeat(np.cumsum(rows) - rows, rows))
    span = np.int64(token.max()) + 1
    keys = wallet.astype(np.int64) * span + token  # sorted: rows are by wallet, then token
    want = other[pair].astype(np.int64) * span + token[at]
    hit = np.minimum(np.searchsorted(keys, want), len(keys) - 1)
    found = keys[hit] == want
    return pair[found], contract[at[found]], weight[at[found]]


def script_rows(p: Prepared) -> pd.DataFrame:
    """(wallet, token, contract, edge, size): one row per wallet, service and calendar day it
    called that service (or was paid by that exchange or hub)."""
    return timing_tokens(p, 86400, np.iinfo(np.int64).max, scale=2, tilings=1)


def script_pairs(p: Prepared, rows: pd.DataFrame, candidates: sp.spmatrix) -> sp.csr_matrix:
    """Candidate pairs (nonzeros of an upper-triangular matrix: wallets sharing a funder or a
    collector) whose days in common on the same services are too many for chance.

    Chance: if u used service X on d_u days and v on d_v days, spread over the D days both were
    active, they meet on X on about d_u d_v / D days. The pair's meetings summed over services
    are compared with that sum as a Poisson count; a pair is kept when the chance of as many
    meetings is below 1 / (number of candidate pairs), so about one honest pair among all the
    candidates passes by chance. Heavy users of the same dApp meet on many days but are expected
    to; a hyped day's crowd meets once; a script meets on every round, on each of its tasks."""
    from scipy.special import pdtrc  # Poisson tail; scipy.stats alone takes seconds to import

    cand = sp.triu(candidates, k=1).tocoo()
    u, v = cand.row, cand.col
    if rows.empty or not len(u):
        return sp.csr_matrix((p.n, p.n))
    codes, uniq = pd.factorize(rows["token"])
    wallet = rows["wallet"].to_numpy()
    days = sp.csr_matrix((np.ones(len(rows)), (wallet, codes)), shape=(p.n, len(uniq)))
    services, s_uniq = pd.factorize(rows["contract"])
    per = sp.csr_matrix((np.ones(len(rows)), (wallet, services)), shape=(p.n, len(s_uniq)))
    met, both = _row_dots(days, u, v), _row_dots(per, u, v)
    first = np.full(p.n, np.iinfo(np.int64).max)
    last = np.full(p.n, np.iinfo(np.int64).min)
    ts = p.ts[rows["edge"].to_numpy()]
    np.minimum.at(first, wallet, ts)
    np.maximum.at(last, wallet, ts)
    span = (np.minimum(last[u], last[v]) - np.maximum(first[u], first[v])) // 86400 + 1
    expected = both / np.maximum(span, 1)
    chance = pdtrc(met - 1, np.maximum(expected, 1e-9))  # P(X >= met)
    keep = (met >= 2) & (chance < 1.0 / len(u))
    return sp.csr_matrix((np.ones(int(keep.sum())), (u[keep], v[keep])), shape=(p.n, p.n))


def _row_dots(m: sp.csr_matrix, u: np.ndarray, v: np.ndarray, chunk: int = 200_000) -> np.ndarray:
    """m[u[i]] . m[v[i]] for every i, in chunks (a big chain has millions of candidate pairs)."""
    out = np.zeros(len(u))
    for i in range(0, len(u), chunk):
        a, b = u[i : i + chunk], v[i : i + chunk]
        out[i : i + chunk] = np.asarray(m[a].multiply(m[b]).sum(axis=1)).ravel()
    return out


def amount_rows(p: Prepared, price_share: float) -> pd.DataFrame:
    """(wallet, key, edge, digits): amounts a wallet chose: what it sent to a service (unless
    most who pay that service pay exactly that: a price) and what a hub sent it (unless most of
    the hub's recipients got exactly that: a distribution)."""
    sent = np.flatnonzero(p.person[p.src] & p.service[p.dst] & (p.value > 0))
    # what an exchange (or a hub that is no contract) paid out; a contract's payouts mirror
    # what the wallet put in, and would count the same choice twice
    got = np.flatnonzero(p.payer[p.src] & p.person[p.dst] & p.native & (p.value > 0))
    frames = []
    for edges, wallet, party in ((sent, p.src, p.dst), (got, p.dst, p.src)):
        f = pd.DataFrame({"wallet": wallet[edges], "party": party[edges], "token": p.token[edges],
                          "value": p.value[edges], "edge": edges})  # fmt: skip
        alike = f.groupby(["party", "token", "value"])["wallet"].transform("nunique")
        everyone = f.groupby("party")["wallet"].transform("nunique")
        frames.append(f[alike / everyone <= price_share])
    rows = pd.concat(frames, ignore_index=True)
    rows["digits"] = _significant_digits(rows["value"].to_numpy())
    rows = rows[rows["digits"] >= 5]  # up to four digits: what people type, and collide on
    rows["key"] = rows.groupby(["token", "value"]).ngroup()
    return rows.drop_duplicates(["wallet", "key"])


def _significant_digits(x: np.ndarray) -> np.ndarray:
    digits = np.full(len(x), 17)
    safe = np.where(x > 0, x, 1.0)
    exp = np.floor(np.log10(safe))
    for d in range(1, 17):
        scale = 10.0 ** (exp - d + 1)
        exact = np.abs(np.round(safe / scale) * scale - safe) <= 1e-12 * safe
        digits = np.where(exact & (digits == 17), d, digits)
    return digits


def amount_pairs(p: Prepared, rows: pd.DataFrame, max_group: int) -> sp.csr_matrix:
    """Pairs with two identical amounts in common, or one of seven or more significant digits."""
    size = rows.groupby("key")["wallet"].transform("size")
    rows = rows[(size >= 2) & (size <= max_group)]
    if rows.empty:
        return sp.csr_matrix((p.n, p.n))
    codes, uniq = pd.factorize(rows["key"])
    fine = (rows["digits"] >= 7).to_numpy().astype(float)
    key_fine = np.zeros(len(uniq))
    key_fine[codes] = fine
    both = _pairs_of_groups(rows["wallet"].to_numpy(), codes, p.n, n_groups=len(uniq))
    fine_pairs = _pairs_of_groups(rows["wallet"].to_numpy(), codes, p.n, weight=key_fine, n_groups=len(uniq))
    hit = (both >= 2).astype(float) + (fine_pairs >= 1).astype(float)
    hit.data[:] = 1.0
    hit.eliminate_zeros()
    return hit.tocsr()


def counterparty_rows(p: Prepared) -> pd.DataFrame:
    """(wallet, party, edge): the contracts a person dealt with, but hubs. Other people are
    the funder's and the collector's business: counting a shared sender or receiver again here
    would count one tie twice (a laundering stack shares both)."""
    e = np.arange(len(p.src))
    f = pd.concat([
        pd.DataFrame({"wallet": p.src, "party": p.dst, "edge": e}),
        pd.DataFrame({"wallet": p.dst, "party": p.src, "edge": e}),
    ], ignore_index=True)  # fmt: skip
    party = f["party"].to_numpy()
    f = f[p.person[f["wallet"].to_numpy()] & p.contract[party] & ~p.hub[party]]
    return f.drop_duplicates(["wallet", "party"])


def counterparty_pairs(p: Prepared, rows: pd.DataFrame, n_people: int, rare: int) -> sp.csr_matrix:
    """Pairs sharing two or more rare counterparties whose surprise sums to 2 log(n_people)."""
    size = rows.groupby("party")["wallet"].transform("size")
    rows = rows[(size >= 2) & (size <= rare)]
    if rows.empty:
        return sp.csr_matrix((p.n, p.n))
    codes, uniq = pd.factorize(rows["party"])
    m = np.bincount(codes)
    surprise = np.log(n_people / m)
    count = _pairs_of_groups(rows["wallet"].to_numpy(), codes, p.n, n_groups=len(uniq))
    total = _pairs_of_groups(rows["wallet"].to_numpy(), codes, p.n, weight=surprise, n_groups=len(uniq))
    ok = total.multiply(count >= 2) >= 2 * np.log(n_people)
    return sp.csr_matrix(ok, dtype=float)


def day_rows(p: Prepared, rows: pd.DataFrame) -> pd.DataFrame:
    """script_rows pooled over services: one row per wallet and calendar day it called any
    service (or was paid by an exchange or hub), as one service `-1`. A farm whose members each
    draw their tasks from a menu meets on the campaign day, not on each task."""
    day = p.ts[rows["edge"].to_numpy()] // 86400
    out = rows.assign(contract=-1, bucket=day, token=day.astype(np.int64) * 4 + 3)
    return out.drop_duplicates(["wallet", "token"])


def group_rows(f_rows: pd.DataFrame, targets: pd.DataFrame) -> pd.DataFrame:
    """(wallet, group): the groups the funder and collector kinds link within: the wallets one
    wallet funded (at either level) and those that sent to one wallet."""
    funded = pd.DataFrame({"wallet": f_rows["wallet"].to_numpy(),
                           "group": "f" + f_rows["funder"].astype(str)})  # fmt: skip
    swept = pd.DataFrame({"wallet": targets["wallet"].to_numpy(),
                          "group": "c" + targets["group"].astype(str)})  # fmt: skip
    return pd.concat([funded, swept], ignore_index=True).drop_duplicates()


def cohort_pairs(p: Prepared, groups: pd.DataFrame, rows: pd.DataFrame, share: float, min_size: int,
                 max_size: int, moments: int = 2) -> tuple[sp.csr_matrix, pd.DataFrame]:  # fmt: skip
    """Pairs of one group that are both in `moments` or more of its moments, and the rows
    (wallet, token, contract, edge) of the wallets in moments.

    A moment of a group of g wallets is a service-day (rows: one per wallet, service and day)
    on which k >= `share` g of them act (and at least `min_size`), when the members' own use of
    that service explains k with a chance below 1 / (group service-days tested): about one
    chance moment among all tested. Own use: a member that used service X on d of the D days
    it was active is there on a given day with chance d / D; the group's expected count is the
    sum over its members (Poisson). Heavy users of one dApp who pay the same wallet are
    expected together every day; a farm round brings a quarter or more of the group to a
    service on one day of many."""
    from scipy.special import pdtrc  # Poisson tail

    empty = sp.csr_matrix((p.n, p.n)), rows.iloc[:0]
    if rows.empty or groups.empty:
        return empty
    g_codes, g_wallet, size = _sized_groups(groups, min_size, max_size)
    if not len(g_codes):
        return empty
    wallet = rows["wallet"].to_numpy()
    t_codes, _ = pd.factorize(rows["token"])
    s_codes, _ = pd.factorize(rows["contract"])
    day = p.ts[rows["edge"].to_numpy()] // 86400
    first = np.full(p.n, np.iinfo(np.int64).max)
    last = np.full(p.n, np.iinfo(np.int64).min)
    np.minimum.at(first, wallet, day)
    np.maximum.at(last, wallet, day)
    span = (last[wallet] - first[wallet] + 1).astype(float)
    n_groups = int(g_codes.max()) + 1
    member = sp.csr_matrix((np.ones(len(g_codes)), (g_codes, g_wallet)), shape=(n_groups, p.n))
    acts = sp.csr_matrix((np.ones(len(wallet)), (wallet, t_codes)), shape=(p.n, int(t_codes.max()) + 1))
    rate = sp.csr_matrix((1.0 / span, (wallet, s_codes)), shape=(p.n, int(s_codes.max()) + 1))
    together = (member @ acts).tocoo()
    expected = (member @ rate).tocsr()
    g, t, k = together.row, together.col, together.data
    tested = k >= min_size  # two wallets together are a pair, the script kind's question
    g, t, k = g[tested], t[tested], k[tested]
    if not len(k):
        return empty
    service = np.zeros(int(t_codes.max()) + 1, dtype=np.int64)
    service[t_codes] = s_codes
    lam = np.asarray(expected[g, service[t]]).ravel()
    chance = pdtrc(k - 1, np.maximum(lam, 1e-9))  # P(at least k of the group)
    moment = (k >= share * size[g]) & (chance < 1.0 / len(k))
    if not moment.any():
        return empty
    return _moment_pairs(p, rows, wallet, t_codes, g_wallet, g_codes, g[moment], t[moment], moments)


def _moment_pairs(p: Prepared, rows: pd.DataFrame, wallet: np.ndarray, t_codes: np.ndarray,
                  g_wallet: np.ndarray, g_codes: np.ndarray, m_group: np.ndarray, m_token: np.ndarray,
                  moments: int) -> tuple[sp.csr_matrix, pd.DataFrame]:  # fmt: skip
    """Pairs of one group both present at `moments` or more of its moments (group, token), and
    the rows of the members present."""
    at = pd.DataFrame({"wallet": wallet, "t": t_codes, "row": np.arange(len(wallet))})
    at = at[np.isin(at["t"].to_numpy(), m_token)]
    mem = pd.DataFrame({"wallet": g_wallet, "g": g_codes})
    mem = mem[np.isin(mem["g"].to_numpy(), m_group)]
    present = at.merge(mem, on="wallet").merge(pd.DataFrame({"g": m_group, "t": m_token}), on=["g", "t"])
    present["moment"] = present.groupby(["g", "t"]).ngroup()
    both = present[["moment", "wallet", "t"]].merge(present[["moment", "wallet"]], on="moment")
    both = both[both["wallet_x"] < both["wallet_y"]].drop_duplicates(["wallet_x", "wallet_y", "t"])
    met = both.groupby(["wallet_x", "wallet_y"]).size()
    met = met[met >= moments]
    u, v = met.index.get_level_values(0).to_numpy(), met.index.get_level_values(1).to_numpy()
    pairs = sp.csr_matrix((np.ones(len(u)), (u, v)), shape=(p.n, p.n))
    return pairs, rows.iloc[np.unique(present["row"].to_numpy())]


def cohort_day_pairs(p: Prepared, groups: pd.DataFrame, rows: pd.DataFrame, share: float, min_size: int,
                     max_size: int, moments: int = 2) -> tuple[sp.csr_matrix, pd.DataFrame]:  # fmt: skip
    """The cohort kind on whole days (rows: `day_rows`, one per wallet and active day), with the
    group's days pooled: a farm whose members each do one to three tasks from a menu rarely
    puts three of them on one service on one day, but brings the whole group out on the same
    few days, round after round.

    A day of a group of g is scored by the chance that k or more members act on it when each
    acts independently at the group's mean own rate r (a member active on d of the D days of
    its span: d / D): the binomial tail, which bounds the tail of members with unequal rates
    (Hoeffding). Days with under `share` of the group (or under `min_size`) are not scored.
    The group is tested once over its span of m days: with its scored days' chances sorted,
    c_1 <= c_2 <= ..., the chance that j or more of m independent days fall at c_j or below
    is the binomial tail P(Bin(m, c_j) >= j); the group takes the smallest over j, times m
    (the best j is chosen), and is kept when that is below 1 / (groups tested). Its moments
    are its j best days; pairs of members present at `moments` of them link, each member
    there more often than its own rate explains (below 1 / the group's size: a member active
    every day is at every moment and says nothing). A group of friends who are
    each active most days is expected together (r near 1); a farm's fresh wallets, active only
    on the campaign days, all on the same ones, are not."""
    from scipy.special import bdtrc  # binomial tail

    empty = sp.csr_matrix((p.n, p.n)), rows.iloc[:0]
    if rows.empty or groups.empty:
        return empty
    g_codes, g_wallet, size = _sized_groups(groups, min_size, max_size)
    if not len(g_codes):
        return empty
    wallet, day = rows["wallet"].to_numpy(), rows["bucket"].to_numpy().astype(np.int64)
    t_codes, _ = pd.factorize(day)
    first = np.full(p.n, np.iinfo(np.int64).max)
    last = np.full(p.n, np.iinfo(np.int64).min)
    np.minimum.at(first, wallet, day)
    np.maximum.at(last, wallet, day)
    active = np.bincount(wallet, minlength=p.n)
    rate = np.where(active > 0, active / np.maximum(last - first + 1, 1), 0.0)
    n_groups = int(g_codes.max()) + 1
    mean_rate = np.bincount(g_codes, weights=rate[g_wallet], minlength=n_groups) / size[:n_groups]
    lo = np.full(n_groups, np.iinfo(np.int64).max)
    hi = np.full(n_groups, np.iinfo(np.int64).min)
    seen = active[g_wallet] > 0
    np.minimum.at(lo, g_codes[seen], first[g_wallet[seen]])
    np.maximum.at(hi, g_codes[seen], last[g_wallet[seen]])
    span = np.maximum(hi - lo + 1, 1).astype(float)
    member = sp.csr_matrix((np.ones(len(g_codes)), (g_codes, g_wallet)), shape=(n_groups, p.n))
    acts = sp.csr_matrix((np.ones(len(wallet)), (wallet, t_codes)), shape=(p.n, int(t_codes.max()) + 1))
    together = (member @ acts).tocoo()
    g, t, k = together.row, together.col, together.data
    gsize = size[:n_groups][g]
    tested = (k >= min_size) & (k >= share * gsize)
    g, t, k = g[tested], t[tested], k[tested]
    if not len(k):
        return empty
    chance = bdtrc(k - 1, gsize[tested], np.clip(mean_rate[g], 1e-9, 1 - 1e-9))  # P(at least k)
    # the group's days by chance, smallest first: j of its m days at chance c_j or below
    order = np.lexsort((chance, g))
    g, t, chance = g[order], t[order], chance[order]
    start = np.r_[0, np.flatnonzero(np.diff(g)) + 1]
    rank = np.arange(len(g)) - np.repeat(start, np.diff(np.r_[start, len(g)])) + 1
    m = span[g]
    tail = bdtrc(rank - 1, m.astype(np.int64), np.minimum(chance, 1.0)) * m  # times m: the best j is chosen
    best = pd.Series(tail).groupby(g).min()
    at_best = tail == best[g].to_numpy()
    cut = pd.Series(rank[at_best]).groupby(g[at_best]).max()
    kept = best[best < 1.0 / len(best)]
    if kept.empty:
        return empty
    upto = np.zeros(n_groups, dtype=np.int64)
    upto[kept.index.to_numpy()] = cut[kept.index].to_numpy()
    moment = rank <= upto[g]
    m_group, m_token = g[moment], t[moment]
    # a member is of the cohort when it is at the moments more often than its own rate explains
    # (one active every day is at all of them): below 1 / (the group's members)
    mom = pd.DataFrame({"g": m_group, "t": m_token})
    mem = pd.DataFrame({"wallet": g_wallet, "g": g_codes})
    at = pd.DataFrame({"wallet": wallet, "t": t_codes}).merge(mem[mem["g"].isin(kept.index)], on="wallet")
    seen_at = at.merge(mom, on=["g", "t"]).groupby(["g", "wallet"]).size().reset_index(name="j")
    g_s, w_s, j_s = (seen_at[c].to_numpy() for c in ("g", "wallet", "j"))
    n_moments = np.bincount(m_group, minlength=n_groups)[g_s]
    alone = bdtrc(j_s - 1, n_moments, np.clip(rate[w_s], 1e-9, 1 - 1e-9))
    of = (j_s >= moments) & (alone < 1.0 / size[g_s])
    return _moment_pairs(p, rows, wallet, t_codes, w_s[of], g_s[of], m_group, m_token, moments)


def _sized_groups(
    groups: pd.DataFrame, min_size: int, max_size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(group code, wallet) of the rows of groups with min_size..max_size members, and the size
    of every group by its code."""
    g_codes, _ = pd.factorize(groups["group"])
    size = np.bincount(g_codes)
    ok = (size[g_codes] >= min_size) & (size[g_codes] <= max_size)
    return g_codes[ok], groups["wallet"].to_numpy()[ok], size
