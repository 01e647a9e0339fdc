"""Features of wallets at an as-of time T, from transfers at or before T only (every mask below
is `ts <= t`; tests/test_growth.py checks that no later transfer changes a prediction).

Windows follow how people use wallets: 7 days (a week's habit), 30 days (the dormancy
definition's own window), 90 days (a quarter: long enough to see a decline). Peers are the
wallets a wallet exchanged transfers with in the 90 days (churn and adoption spread through
social ties, so what the peers did is evidence about the wallet); friends are the peers it
exchanged two or more transfers with (a one-off stranger says nothing about its circle).

Pace: a silence means little for a wallet that sends once a month and much for one that sends
daily, so the current silence is also measured against the wallet's own gaps between sends in
the 90 days (their mean, and the longest), and a friend counts as gone quiet when its silence
passes four of its own mean gaps (and a week).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.growth.timeline import DAY, Target, Timeline

# neighbouring categories: users of one find the other easily (game items are NFTs, NFT traders
# swap tokens, name-service and DAO users hold NFTs, DeFi users bridge and buy NFTs); the
# propensity baseline ranks by these, the model may use them too
NEIGHBOURS = {
    "DeFi": ("Bridge", "NFT"),
    "NFT": ("Gaming", "DeFi"),
    "Gaming": ("NFT",),
    "Social": ("NFT", "DeFi"),
    "Bridge": ("DeFi", "Exchange"),
    "Exchange": ("DeFi", "Bridge"),
}

ACTIVITY = (
    "recency_sent",
    "recency_any",
    "sent_7",
    "sent_30",
    "sent_90",
    "sent_all",
    "received_30",
    "active_days_30",
    "active_days_90",
    "age",
    "gap_mean",
    "overdue",
    "trend",
    "counterparties_90",
    "peers",
    "peers_quiet",
    "peers_recency",
    "categories_used",
    "value_30",
    "from_contracts_30",
    # rhythm and decay (issue 17, second pass): how the wallet's own pace changed, and how far
    # the current silence is beyond what that pace makes likely
    "sent_14",
    "active_days_7",
    "trend_7",
    "gap_median_90",
    "gap_cv_90",
    "gap_max_90",
    "silence_vs_rhythm",
    "silence_vs_longest",
    # recurring counterparties (two or more transfers in the 90 days), weighted by transfers,
    # and how many of them are silent beyond their own rhythm
    "friends",
    "friends_overdue",
    "friends_overdue_share",
    # campaign contact: anything a contract sent the wallet lately (airdrops, rewards)
    "from_contracts_14",
    "days_since_contract_drop",
)
TARGETED = (
    "neighbours_used",
    "peers_using",
    "peers_using_share",
    "target_airdrops",
    "target_airdrops_30",
    "days_since_airdrop",
    "friends_using_share",
    "target_airdrops_14",
)


def _count(rows: np.ndarray, n: int, weights: np.ndarray | None = None) -> np.ndarray:
    return np.bincount(rows, weights=weights, minlength=n).astype(float)


def _days_count(wallet: np.ndarray, ts: np.ndarray, n: int) -> np.ndarray:
    """Distinct UTC days with a transfer, per wallet."""
    if not len(wallet):
        return np.zeros(n)
    key = np.unique(wallet * 100_000 + ts // DAY % 100_000)
    return _count(key // 100_000, n)


def _peer_mean(a: np.ndarray, b: np.ndarray, value: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Number of distinct peers b of each wallet a and the mean of value over them."""
    degree = _count(a, n)
    total = _count(a, n, value[b])
    return degree, np.divide(total, degree, out=np.zeros(n), where=degree > 0)


class AsOf:
    """The activity features of every wallet at t, computed once and shared by the models."""

    def __init__(self, tl: Timeline, t: int) -> None:
        self.tl, self.t, n = tl, int(t), tl.n
        past = tl.ts <= t
        src, dst, ts = tl.src[past], tl.dst[past], tl.ts[past]
        self.src, self.dst, self.ts = src, dst, ts
        tx = tl.tx[past]  # transactions: what the source itself sent
        s_src, s_ts = src[tx], ts[tx]
        last = np.full(n, -1, dtype=np.int64)
        np.maximum.at(last, s_src, s_ts)
        last_any = last.copy()
        np.maximum.at(last_any, src, ts)
        np.maximum.at(last_any, dst, ts)
        first_sent = np.full(n, np.iinfo(np.int64).max)
        np.minimum.at(first_sent, s_src, s_ts)
        age = np.where(tl.first_seen <= t, (t - tl.first_seen) / DAY, 0.0)
        f: dict[str, np.ndarray] = {}
        f["recency_sent"] = np.where(last >= 0, (t - last) / DAY, age + 1)
        f["recency_any"] = np.where(last_any >= 0, (t - last_any) / DAY, age + 1)
        for days in (7, 30, 90):
            f[f"sent_{days}"] = _count(s_src[s_ts > t - days * DAY], n)
        f["sent_all"] = _count(s_src, n)
        recv = ts > t - 30 * DAY
        f["received_30"] = _count(dst[recv], n)
        m30, m90 = s_ts > t - 30 * DAY, s_ts > t - 90 * DAY
        f["active_days_30"] = _days_count(s_src[m30], s_ts[m30], n)
        f["active_days_90"] = _days_count(s_src[m90], s_ts[m90], n)
        q = ts > t - 90 * DAY
        f["age"] = age
        span = np.where(last >= 0, (last - np.minimum(first_sent, last)) / DAY, 0.0)
        f["gap_mean"] = span / np.maximum(f["sent_all"] - 1, 1)
        f["overdue"] = f["recency_sent"] / np.maximum(f["gap_mean"], 0.05)
        earlier = (f["sent_90"] - f["sent_30"]) / 2.0  # per 30 days over the 60 before
        f["trend"] = (f["sent_30"] + 1) / (earlier + 1)
        self._rhythm(f, s_src, s_ts)
        # peers: humans exchanged with in the 90 days (either way), each pair once
        human = tl.human_dst[past] & ~tl.contract[src]
        a = np.concatenate([src[q & human], dst[q & human]])
        b = np.concatenate([dst[q & human], src[q & human]])
        pair = np.unique(a * n + b)
        self.peer_a, self.peer_b = pair // n, pair % n
        f["counterparties_90"] = _count(np.unique(src[q] * n + dst[q]) // n, n)
        quiet = (f["sent_30"] == 0) & (f["sent_90"] > 0)  # went quiet after being active
        f["peers"], f["peers_quiet"] = _peer_mean(self.peer_a, self.peer_b, quiet.astype(float), n)
        f["peers_recency"] = _peer_mean(self.peer_a, self.peer_b, np.minimum(f["recency_sent"], 180.0), n)[1]
        # categories used (sent to), and airdrops (received from a category's contract)
        cats = tl.categories
        self.used = {}
        for c in cats:
            hit = (tl.category[dst] == c) & tx
            used = np.zeros(n, dtype=bool)
            used[src[hit]] = True
            self.used[c] = used
        f["categories_used"] = sum((u.astype(float) for u in self.used.values()), np.zeros(n))
        f["value_30"] = np.log1p(_count(src[recv], n, tl.native[past][recv]))
        drop = tl.contract[src] & ~tl.contract[dst]
        f["from_contracts_30"] = _count(dst[drop & recv], n)
        f["from_contracts_14"] = _count(dst[drop & (ts > t - 14 * DAY)], n)
        last_drop = np.full(n, -1, dtype=np.int64)
        np.maximum.at(last_drop, dst[drop], ts[drop])
        f["days_since_contract_drop"] = np.where(last_drop >= 0, (t - last_drop) / DAY, 365.0)
        self.drop = drop
        # recurring counterparties: a pair counts as friends with two or more transfers in the 90
        # days; each friend weighs by the transfers exchanged (one-off strangers do not count)
        key, times = np.unique(a * n + b, return_counts=True)
        recurring = times >= 2
        self.friend_a, self.friend_b = key[recurring] // n, key[recurring] % n
        self.friend_w = times[recurring].astype(float)
        overdue = ((f["silence_vs_rhythm"] >= 4.0) & (f["recency_sent"] >= 7.0)).astype(float)
        f["friends"] = _count(self.friend_a, n)
        weight = _count(self.friend_a, n, self.friend_w)
        late = _count(self.friend_a, n, self.friend_w * overdue[self.friend_b])
        f["friends_overdue"] = _count(self.friend_a, n, overdue[self.friend_b])
        f["friends_overdue_share"] = np.divide(late, weight, out=np.zeros(n), where=weight > 0)
        self.features = f

    def _rhythm(self, f: dict[str, np.ndarray], s_src: np.ndarray, s_ts: np.ndarray) -> None:
        """Pace features from the wallet's own sent transactions (sorted by wallet, then time):
        gaps between consecutive sends that ended in the 90 days, their median, spread and
        longest, and the current silence against them."""
        t, n = self.t, self.tl.n
        f["sent_14"] = _count(s_src[s_ts > t - 14 * DAY], n)
        m7 = s_ts > t - 7 * DAY
        f["active_days_7"] = _days_count(s_src[m7], s_ts[m7], n)
        before = (f["sent_30"] - f["sent_7"]) * 7.0 / 23.0  # per 7 days over the 23 before
        f["trend_7"] = (f["sent_7"] + 1) / (before + 1)
        same = s_src[1:] == s_src[:-1]
        keep = same & (s_ts[1:] > t - 90 * DAY)
        gw = s_src[1:][keep]
        gap = (s_ts[1:] - s_ts[:-1])[keep] / DAY
        count = _count(gw, n)
        mean = np.divide(_count(gw, n, gap), count, out=np.zeros(n), where=count > 0)
        square = np.divide(_count(gw, n, gap * gap), count, out=np.zeros(n), where=count > 0)
        std = np.sqrt(np.maximum(square - mean * mean, 0.0))
        longest = np.zeros(n)
        np.maximum.at(longest, gw, gap)
        order = np.lexsort((gap, gw))
        starts = np.searchsorted(gw[order], np.arange(n))
        middle = np.minimum(starts + np.maximum(count.astype(np.int64) - 1, 0) // 2, max(len(gap) - 1, 0))
        median = np.where(count > 0, gap[order][middle] if len(gap) else 0.0, 0.0)
        # no gap in the 90 days: the pace is unknown, taken as slow as the window (90 days)
        f["gap_median_90"] = np.where(count > 0, median, 90.0)
        f["gap_cv_90"] = np.divide(std, mean, out=np.zeros(n), where=mean > 0)
        f["gap_max_90"] = np.where(count > 0, longest, 90.0)
        # the mean gap (not the median: bursts of a few minutes make medians tiny) sets the rhythm
        rhythm = np.where(count > 0, np.maximum(mean, 1.0 / 24), 90.0)
        f["silence_vs_rhythm"] = f["recency_sent"] / rhythm
        f["silence_vs_longest"] = f["recency_sent"] / np.maximum(f["gap_max_90"], 1.0 / 24)

    def churn_frame(self, rows: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame({k: self.features[k][rows] for k in ACTIVITY})

    def propensity_frame(self, rows: np.ndarray, target: Target, first: np.ndarray) -> pd.DataFrame:
        n = self.tl.n
        frame = self.churn_frame(rows)
        neighbours = {x for c in target.categories for x in NEIGHBOURS.get(c, ())} - set(target.categories)
        near = sum((self.used[c].astype(float) for c in neighbours if c in self.used), np.zeros(n))
        using = (first <= self.t).astype(float)
        peers, share = _peer_mean(self.peer_a, self.peer_b, using, n)
        from_target = self.drop & target.contracts[self.src]
        last_drop = np.full(n, -1, dtype=np.int64)
        np.maximum.at(last_drop, self.dst[from_target], self.ts[from_target])
        fw = _count(self.friend_a, n, self.friend_w)
        fu = _count(self.friend_a, n, self.friend_w * using[self.friend_b])
        extra = {
            "friends_using_share": np.divide(fu, fw, out=np.zeros(n), where=fw > 0),
            "target_airdrops_14": _count(self.dst[from_target & (self.ts > self.t - 14 * DAY)], n),
            "neighbours_used": near,
            "peers_using": share * peers,
            "peers_using_share": share,
            "target_airdrops": _count(self.dst[from_target], n),
            "target_airdrops_30": _count(self.dst[from_target & (self.ts > self.t - 30 * DAY)], n),
            "days_since_airdrop": np.where(last_drop >= 0, (self.t - last_drop) / DAY, 365.0),
        }
        for k in TARGETED:
            frame[k] = extra[k][rows]
        return frame
