"""Laundering motifs: unusual wallet-to-wallet transfers and how they link up in time.

A transfer is *unusual* when it moves a fungible asset between two peers (neither a contract,
a token nor the zero address) and is at least MIN_REL x the asset's median peer transfer.
Two unusual transfers *link* when they share a wallet, move the same asset within WINDOW of each
other and their amounts differ by at most RATIO: siblings (both sent: fan-out, both
received: fan-in) or a relay (received, then sent on: split or merged amounts change a little).

Per wallet: its own unusual transfers, siblings and relays, the same seen from its
counterparties (a fan-in source sends one unusual transfer, but to a wallet that collects
several like it), and the wallets in the largest group of linked transfers it is part of,
among groups that fall within WINDOW and among all."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from graph.features import WalletGraph

WINDOW = 5 * 86_400  # seconds: transfers of one scheme fall within days of each other
RATIO = 1.4  # "the same amount": within this factor
MIN_REL = 3.0  # unusual: at least this many times the asset's median peer transfer
MAX_OFFSET = 64  # neighbours compared per transfer, in (wallet, asset, time) order
ZERO = "0x" + "0" * 40

MOTIF_FEATURES: dict[str, str] = {
    "unusual_out": "unusual peer transfers sent (3x the asset's median peer transfer or more)",
    "unusual_in": "unusual peer transfers received",
    "similar_out": "most other unusual sends of a similar amount within 5 days (fan-out)",
    "similar_in": "most other unusual receipts of a similar amount within 5 days (fan-in)",
    "relay_amount": "largest unusual receipt sent on within 5 days (similar amount), over the asset's median",
    "receiver_similar_in": "most similar unusual receipts within 5 days of a wallet it paid unusually",
    "sender_similar_out": "most similar unusual sends within 5 days of a wallet that paid it unusually",
    "receiver_relay": "largest unusual transfer it sent that the receiver sent on, over the asset's median",
    "sender_relay": "largest unusual transfer it received that the sender had just received, over the median",
    "motif_wallets": "wallets in the largest group of linked unusual transfers within 5 days it is part of",
    "motif_amount": "largest median amount (over the asset median) of its groups of 3+ wallets in 5 days",
    "linked_wallets": "wallets in the largest group of linked unusual transfers it is part of, any span",
}


def _peer_mask(graph: WalletGraph) -> np.ndarray:
    w, e = graph.wallets, graph.edges
    src, dst, token = e["src"].to_numpy(), e["dst"].to_numpy(), e["token"].to_numpy()
    other = w["contract"].to_numpy(dtype=bool) | w["token"].to_numpy(dtype=bool)
    other |= (w["address"] == ZERO).to_numpy()
    token_pos = graph.positions(pd.Series(graph.tokens))
    nft = w["nft"].to_numpy(dtype=bool)
    tok_nft = np.where(token_pos >= 0, nft[np.clip(token_pos, 0, None)], False)
    ok = ~other[src] & ~other[dst] & (src != dst) & (e["value"].to_numpy(dtype=float) > 0)
    return ok & ~tok_nft[token] if len(token) else ok


def _group_max(keys: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n)
    np.maximum.at(out, keys, values)
    return out


def motif_features(graph: WalletGraph) -> dict[str, np.ndarray]:
    n, e = graph.n, graph.edges
    empty = {name: np.zeros(n) for name in MOTIF_FEATURES}
    peer = _peer_mask(graph)
    if not peer.any():
        return empty
    s, d = e["src"].to_numpy()[peer], e["dst"].to_numpy()[peer]
    t, v = e["ts"].to_numpy()[peer].astype(np.int64), e["value"].to_numpy(dtype=float)[peer]
    k = e["token"].to_numpy()[peer]
    rel = v / pd.Series(v).groupby(k).transform("median").to_numpy()
    keep = rel >= MIN_REL
    s, d, t, v, k, rel = s[keep], d[keep], t[keep], v[keep], k[keep], rel[keep]
    m = len(s)
    if not m:
        return empty

    # each unusual transfer twice: at its sender (out) and at its receiver (in)
    wallet, asset, ts = np.r_[s, d], np.r_[k, k], np.r_[t, t]
    amount, edge = np.log(np.r_[v, v]), np.r_[np.arange(m), np.arange(m)]
    incoming = np.r_[np.zeros(m, bool), np.ones(m, bool)]
    order = np.lexsort((ts, asset, wallet))
    wallet, asset, ts, amount, edge, incoming = (
        x[order] for x in (wallet, asset, ts, amount, edge, incoming)
    )
    siblings, relayed = np.zeros(2 * m), np.zeros(2 * m, bool)
    links_a, links_b = [], []
    for off in range(1, min(MAX_OFFSET, 2 * m - 1) + 1):
        near = (
            (wallet[off:] == wallet[:-off]) & (asset[off:] == asset[:-off]) & (ts[off:] - ts[:-off] <= WINDOW)
        )
        if not near.any():
            break
        a = np.flatnonzero(near & (np.abs(amount[off:] - amount[:-off]) <= np.log(RATIO)))
        b = a + off  # b is later than a
        sib = incoming[a] == incoming[b]
        relay = incoming[a] & ~incoming[b]  # received, then sent on
        np.add.at(siblings, a[sib], 1.0)
        np.add.at(siblings, b[sib], 1.0)
        relayed[a[relay]] = relayed[b[relay]] = True
        links_a.append(edge[a[sib | relay]])
        links_b.append(edge[b[sib | relay]])

    back = np.empty(2 * m, dtype=np.int64)
    back[order] = np.arange(2 * m)
    sib_s, sib_d = siblings[back[:m]], siblings[back[m:]]  # at the sender, at the receiver
    relay_s, relay_d = relayed[back[:m]] * rel, relayed[back[m:]] * rel
    f = {
        "unusual_out": np.bincount(s, minlength=n).astype(float),
        "unusual_in": np.bincount(d, minlength=n).astype(float),
        "similar_out": _group_max(s, sib_s, n),
        "similar_in": _group_max(d, sib_d, n),
        "relay_amount": np.maximum(_group_max(s, relay_s, n), _group_max(d, relay_d, n)),
        "receiver_similar_in": _group_max(s, sib_d, n),
        "sender_similar_out": _group_max(d, sib_s, n),
        "receiver_relay": _group_max(s, relay_d, n),
        "sender_relay": _group_max(d, relay_s, n),
    }

    # groups of linked transfers: the wallets each one touches, and whether the whole group
    # falls within WINDOW (chance links of busy wallets chain on over weeks)
    none = np.zeros(0, dtype=np.int64)
    la, lb = np.concatenate([none, *links_a]), np.concatenate([none, *links_b])
    adj = sparse.coo_matrix((np.ones(len(la)), (la, lb)), shape=(m, m))
    count, group = connected_components(adj, directed=False)
    pairs = np.unique(np.r_[group.astype(np.int64) * n + s, group.astype(np.int64) * n + d])
    size = np.bincount(pairs // n, minlength=count).astype(float)[group]
    first, last = np.full(count, np.iinfo(np.int64).max), np.full(count, np.iinfo(np.int64).min)
    np.minimum.at(first, group, t)
    np.maximum.at(last, group, t)
    compact = np.where((last - first)[group] <= WINDOW, size, 0.0)
    f["motif_wallets"] = np.maximum(_group_max(s, compact, n), _group_max(d, compact, n))
    level = pd.Series(rel).groupby(group).median().to_numpy()[group]  # a group's typical amount
    level = np.where(compact >= 3, level, 0.0)
    f["motif_amount"] = np.maximum(_group_max(s, level, n), _group_max(d, level, n))
    f["linked_wallets"] = np.maximum(_group_max(s, size, n), _group_max(d, size, n))
    return f
