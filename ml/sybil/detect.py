"""Sybil clusters: wallets joined by links that carry at least two independent kinds of evidence
(ml.sybil.evidence), as connected components of three or more wallets.

Parameters and why they have these values (how farms operate, not fitted to any evaluation):

- `hub_wallets = 1000`: a wallet that sent to or received from more than a thousand distinct
  wallets is an exchange, faucet, bridge or distributor. Farm funders seen in the Hop, Arbitrum
  and LayerZero hunts fund tens to a few hundred wallets each; bigger operators split funding
  over several wallets because one hot wallet would be the first thing hunters look at.
- `pass_through_hours = 48`: a hop exists only to pass funds on; operators forward within hours
  (scripts), and a wallet that holds for days starts to look like a user.
- `window_minutes = 60`: a farm script runs wallet after wallet; a batch over one operator's
  wallets finishes within minutes to an hour. Coincidences further apart are what organic crowds
  produce and are not counted.
- `crowd = 300`: a contract called by more wallets than this within one window is a hyped
  moment (a popular mint); the coincidence carries almost no surprise (log(n/m)) and its pairs
  would cost most of the time.
- `min_contracts = 2`, `min_share = 0.25`: one shared moment is a crowd; two different contracts
  in the same hour, making up a quarter of the quieter wallet's moments, is a script. Heavy
  users of the same game coincide often but on a small share of their moments.
- surprise threshold 2 log(n): the chance that two unrelated wallets coincide is about m/n per
  shared moment; demanding a product below 1/n^2 leaves about one chance pair in the whole chain
  (n^2/2 pairs), before the second independent kind of evidence is even asked for.
- `price_share = 0.2`: if a fifth of a contract's payers pay exactly the same amount it is a
  price; if a fifth of a hub's recipients get exactly the same amount it is a distribution.
- amounts need five significant digits (people type up to four: 1250 USDC, 0.375 ETH, and
  collide on them); two identical amounts in common, or one of seven or more digits (a balance
  to the wei, a script's random draw: no one matches that by chance).
- `min_kinds = 2`, `min_size = 3`: every kind has an honest explanation on its own (friends
  send to the same person, a popular dApp is used by everyone at once); two independent ones
  rarely do. One person with two wallets is not a farm.
- clusters are connected components of the links that lie in a triangle of links: a farm's
  wallets are linked to many of each other, while a single chance link between two farms (or a
  farm and a bystander) has no wallet linked to both ends and would otherwise merge them.
- `corroborate = True`, cluster-level evidence (docs/sybil.md):
  - the `script` kind is asked only of pairs that share a funder or a collector, with a chance
    below 1 / (pairs tested): the same Bonferroni reasoning as 2 log(n) above, over the pairs
    actually tested. Its window is a calendar day because a skilled operator spreads one run of
    the script over hours (jitter), but not over days: the round is one campaign day.
  - the `cohort` kind (`cohort = True`) tests a funder's or collector's group as a whole: a
    service-day on which a quarter of the group (three at least; the same quarter as
    `min_share`: a round of the farm's script reaches every member, a task menu of up to four
    spreads them) acts together, beyond what the members' own use of that service explains at
    one chance moment among all tested, is a moment; two moments in common link a pair (one
    moment is a crowd that happened to include them; a farm runs several rounds).
  - its moments on whole days too (`cohort_days = True`, `evidence.cohort_day_pairs`): a
    farm whose members each draw one to three tasks from a menu rarely puts three of them on
    one service on one day, but brings the whole group out on the same campaign days. A day
    is scored by the binomial chance of as many members at the group's mean own rate (active
    days / days of its span); the group is kept when j of its days are each that unlikely
    with a chance, over its days, below 1 / (groups tested), times its days for the choice
    of j. Own rates, not the population's: friends who are all active most days are
    expected together.
  - funding lines (`funding_lines = True`): the top of a line of first fundings through
    people is a funder at level 3; members funding one another in a chain share no funder
    at the first two levels, only that top.
  - the `script` kind is also asked of pairs the `timing` kind links (`script_after_timing`):
    a farm run within minutes on its campaign days coincides in the hour (against the
    population) and meets on more service-days than the two wallets' own use explains (a
    different null); the bar stays 1 / (pairs tested).
  - joining needs links to half of a cluster's members: a sweep or a funding reaches every
    member of a farm, so a missed member is tied to most of them; a bystander who shares one
    popular recipient with a few members is tied to a few. Two kinds across those links, as for
    a pair, because each kind alone has its honest explanation.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from graph.features import WalletGraph
from ml.sybil import evidence as ev
from ml.sybil.evidence import BIT, KINDS


@dataclass
class SybilCluster:
    id: str
    members: list[str]  # addresses
    score: float  # share of member pairs directly linked, times the mean kinds per link / 3 (at most 1)
    evidence_counts: dict[str, int]  # links per kind


@dataclass
class Link:
    a: str
    b: str
    kinds: list[str]
    edges: dict[str, list[int]] = field(default_factory=dict)  # kind -> edge rows of graph.edges


class SybilDetector:
    """Finds farms in a WalletGraph. `fit(graph)` sets `clusters_`, `links_` (the links kept as
    evidence: each member's strongest links inside its cluster), `pairs_` (every linked pair with
    its kinds as bits), `link_bits_` (every pair with any evidence, for baselines) and `timings_`
    (seconds per step)."""

    def __init__(self, hub_wallets: int = 1000, pass_through_hours: float = 48.0, window_minutes: int = 60,
                 crowd: int = 300, min_contracts: int = 2, min_share: float = 0.25, price_share: float = 0.2,
                 min_kinds: int = 2, min_size: int = 3, links_per_member: int = 3,
                 corroborate: bool = True, cohort: bool = True, cohort_days: bool = True,
                 funding_lines: bool = True, script_after_timing: bool = True) -> None:  # fmt: skip
        self.hub_wallets = hub_wallets
        self.pass_through_hours = pass_through_hours
        self.window_minutes = window_minutes
        self.crowd = crowd
        self.min_contracts = min_contracts
        self.min_share = min_share
        self.price_share = price_share
        self.min_kinds = min_kinds
        self.min_size = min_size
        self.links_per_member = links_per_member
        self.corroborate = corroborate  # False: pair evidence alone (no script kind, no joining)
        self.cohort = cohort  # the group-level `cohort` kind (with corroborate)
        self.cohort_days = cohort_days  # its moments on whole days too, not only service-days
        self.funding_lines = funding_lines  # funders at the top of a line of first fundings (level 3)
        self.script_after_timing = script_after_timing  # the script kind also asked of timing-linked pairs

    def fit(self, graph: WalletGraph, progress: Callable[[str], None] | None = None) -> SybilDetector:
        say = progress or (lambda _: None)
        self.timings_: dict[str, float] = {}
        clock = time.perf_counter()

        def lap(name: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            self.timings_[name] = round(now - clock, 3)
            clock = now
            say(name)

        p = ev.prepare(graph, self.hub_wallets, self.pass_through_hours)
        people = max(int(p.person.sum()), 2)
        lap("prepare")
        f_rows = ev.funders(p, self.funding_lines)
        kinds: dict[str, sp.csr_matrix] = {"funder": ev.funder_pairs(p, f_rows)}
        lap("funder")
        targets = ev.collector_targets(p)
        kinds["collector"] = ev.collector_pairs(p, targets)
        lap("collector")
        t_rows = ev.timing_tokens(p, self.window_minutes * 60, self.crowd)
        kinds["timing"], _ = ev.timing_pairs(p, t_rows, people, self.min_contracts, self.min_share)
        lap("timing")
        a_rows = ev.amount_rows(p, self.price_share)
        kinds["amount"] = ev.amount_pairs(p, a_rows, self.hub_wallets)
        lap("amount")
        c_rows = ev.counterparty_rows(p)
        kinds["counterparty"] = ev.counterparty_pairs(p, c_rows, people, int(2 * np.sqrt(people)) + 2)
        lap("counterparty")
        s_rows = ev.script_rows(p)
        grouped = kinds["funder"] + kinds["collector"] if self.corroborate else sp.csr_matrix((p.n, p.n))
        if self.corroborate and self.script_after_timing:
            grouped = grouped + kinds["timing"]
        kinds["script"] = ev.script_pairs(p, s_rows, grouped)
        lap("script")
        m_rows = s_rows.iloc[:0]
        if self.corroborate and self.cohort:
            groups = ev.group_rows(f_rows, targets)
            kinds["cohort"], m_rows = ev.cohort_pairs(
                p, groups, s_rows, self.min_share, self.min_size, self.hub_wallets
            )
            if self.cohort_days:
                on_days, d_rows = ev.cohort_day_pairs(
                    p, groups, ev.day_rows(p, s_rows), self.min_share, self.min_size, self.hub_wallets
                )
                kinds["cohort"] = kinds["cohort"] + on_days
                m_rows = pd.concat([m_rows, d_rows], ignore_index=True)
        lap("cohort")

        bits = sp.csr_matrix((p.n, p.n), dtype=np.int64)
        for name, m in kinds.items():
            m = m.tocsr().astype(bool).astype(np.int64) * BIT[name]
            bits = bits + m
        bits = bits.tocoo()
        n_kinds = sum((bits.data >> i) & 1 for i in range(len(KINDS))).astype(np.int64)
        self.link_bits_ = pd.DataFrame({"u": bits.row, "v": bits.col, "bits": bits.data, "kinds": n_kinds})
        strong = n_kinds >= self.min_kinds
        self.pairs_ = pd.DataFrame({"u": bits.row[strong], "v": bits.col[strong], "bits": bits.data[strong],
                                    "kinds": n_kinds[strong]})  # fmt: skip
        self._cluster(graph, p)
        lap("clusters")
        self._evidence(graph, p, f_rows, targets, t_rows, a_rows, c_rows, s_rows, m_rows)
        lap("evidence")
        return self

    def _cluster(self, graph: WalletGraph, p: ev.Prepared) -> None:
        self.pairs_ = pairs = self._supported(self.pairs_, p.n)
        adj = sp.csr_matrix((np.ones(len(pairs)), (pairs["u"], pairs["v"])), shape=(p.n, p.n))
        n_comp, label = connected_components(adj, directed=False)
        sizes = np.bincount(label, minlength=n_comp)
        linked = np.zeros(p.n, dtype=bool)
        linked[pairs["u"].to_numpy()] = linked[pairs["v"].to_numpy()] = True
        big = [c for c in np.unique(label[linked]) if sizes[c] >= self.min_size]
        joined = self._attach(label, np.isin(label, big) & linked) if self.corroborate else pairs.iloc[:0]
        if len(joined):
            pairs = self.pairs_ = pd.concat([pairs, joined], ignore_index=True)
            sizes = np.bincount(label, minlength=n_comp)
            linked[joined["u"].to_numpy()] = linked[joined["v"].to_numpy()] = True
        address = graph.wallets["address"].to_numpy()
        pair_comp = label[pairs["u"].to_numpy()]
        clusters: list[SybilCluster] = []
        self.member_of_: dict[int, int] = {}
        # biggest first, then by the smallest address: ids are stable for the same graph
        order = sorted(big, key=lambda c: (-sizes[c], address[np.flatnonzero(label == c)].min()))
        for i, c in enumerate(order):
            members = np.flatnonzero(label == c)
            inside = pairs[pair_comp == c]
            possible = len(members) * (len(members) - 1) / 2
            density = len(inside) / possible
            counts = {k: int(((inside["bits"].to_numpy() & BIT[k]) > 0).sum()) for k in KINDS}
            mean_kinds = float(inside["kinds"].mean()) if len(inside) else 0.0
            score = round(min(1.0, 0.5 + 0.5 * density * min(1.0, mean_kinds / 3)), 4)
            cid = f"sybil-{i + 1:05d}"
            clusters.append(SybilCluster(cid, sorted(address[members].tolist()), score,
                                         {k: v for k, v in counts.items() if v}))  # fmt: skip
            for m in members.tolist():
                self.member_of_[m] = i
        self.clusters_ = clusters
        self.label_ = label

    def _attach(self, label: np.ndarray, member: np.ndarray) -> pd.DataFrame:
        """Wallets outside every cluster linked to at least half of one cluster's members (two at
        least), with `min_kinds` kinds between those links (say a shared collector with all of
        them, the same script with some): the cluster as a whole, not one pair, corroborates
        them. A farm's sweep or funding reaches every member; a bystander who happens to pay
        the same popular wallet as a few members, and was funded like one other, reaches a
        few. A wallet that qualifies for two clusters joins neither. Changes `label`; returns
        the links that joined them."""
        weak = self.link_bits_
        u, v = weak["u"].to_numpy(), weak["v"].to_numpy()
        one = member[u] ^ member[v]
        if not one.any():
            return weak.iloc[:0]
        inside = np.where(member[u], u, v)[one]
        frame = pd.DataFrame({"w": np.where(member[u], v, u)[one], "c": label[inside],
                              "bits": weak["bits"].to_numpy()[one], "row": np.flatnonzero(one)})  # fmt: skip
        per = frame.groupby(["w", "c"]).agg(bits=("bits", lambda b: np.bitwise_or.reduce(b.to_numpy())),
                                            partners=("bits", "size")).reset_index()  # fmt: skip
        kinds = sum((per["bits"].to_numpy() >> i) & 1 for i in range(len(KINDS)))
        size = np.bincount(label[member], minlength=int(label.max()) + 1)[per["c"].to_numpy()]
        ok = per[(kinds >= self.min_kinds) & (per["partners"] >= np.maximum(2, size / 2))]
        ok = ok[ok.groupby("w")["c"].transform("size") == 1]
        if ok.empty:
            return weak.iloc[:0]
        label[ok["w"].to_numpy()] = ok["c"].to_numpy()
        rows = frame.merge(ok[["w", "c"]], on=["w", "c"])["row"].to_numpy()
        return weak.iloc[np.sort(rows)].reset_index(drop=True)

    @staticmethod
    def _supported(pairs: pd.DataFrame, n: int) -> pd.DataFrame:
        """Links in at least one triangle of links. A farm's wallets are linked to many of each
        other; one link between two farms (or from a farm to a bystander) has no third wallet
        linked to both, and alone would merge them."""
        if pairs.empty:
            return pairs
        u, v = pairs["u"].to_numpy(), pairs["v"].to_numpy()
        adj = sp.csr_matrix((np.ones(2 * len(u)), (np.r_[u, v], np.r_[v, u])), shape=(n, n))
        common = np.asarray((adj[u].multiply(adj[v])).sum(axis=1)).ravel()
        return pairs[common >= 1].reset_index(drop=True)

    def _evidence(self, graph: WalletGraph, p: ev.Prepared, f_rows: pd.DataFrame, targets: pd.DataFrame,
                  t_rows: pd.DataFrame,
                  a_rows: pd.DataFrame, c_rows: pd.DataFrame, s_rows: pd.DataFrame,
                  m_rows: pd.DataFrame) -> None:  # fmt: skip
        """The links kept as evidence: for each member its `links_per_member` strongest links
        within its cluster (most kinds first), each kind with the transfers that show it."""
        pairs = self.pairs_
        if pairs.empty or not self.clusters_:
            self.links_ = []
            return
        in_cluster = np.array([u in self.member_of_ for u in pairs["u"].tolist()], dtype=bool)
        pairs = pairs[in_cluster]
        both = pd.concat(
            [pairs.rename(columns={"u": "w", "v": "o"}), pairs.rename(columns={"v": "w", "u": "o"})]
        )
        both = both.sort_values(["w", "kinds", "o"], ascending=[True, False, True])
        best = both.groupby("w").head(self.links_per_member)
        chosen = pd.DataFrame({"u": np.minimum(best["w"], best["o"]), "v": np.maximum(best["w"], best["o"]),
                               "bits": best["bits"]}).drop_duplicates(["u", "v"])  # fmt: skip
        address = graph.wallets["address"].to_numpy()
        wanted = np.union1d(chosen["u"].to_numpy(), chosen["v"].to_numpy())
        by = {kind: _by_wallet(rows, key, wanted) for kind, rows, key in (
            ("collector", targets, "target"), ("timing", t_rows, "token"), ("amount", a_rows, "key"),
            ("counterparty", c_rows, "party"), ("script", s_rows, "token"),
            ("cohort", m_rows, "token"))}  # fmt: skip
        f_by = _by_wallet(f_rows.assign(edge=f_rows["level"]), "funder", wanted)
        links = []
        for u, v, b in chosen.itertuples(index=False):
            u, v, b = int(u), int(v), int(b)
            edges: dict[str, list[int]] = {}
            if b & BIT["funder"]:
                edges["funder"] = _funding(f_by, p, u, v)
            for kind, groups in by.items():
                if b & BIT[kind]:
                    edges[kind] = _shared(groups, u, v)
            kinds = [k for k in KINDS if b & BIT[k]]
            # a funding line is shown whole (each step is what makes it one line)
            shown = {k: sorted(set(x))[: None if k == "funder" else 8] for k, x in edges.items()}
            links.append(Link(address[u], address[v], kinds, shown))
        self.links_ = links


def _by_wallet(rows: pd.DataFrame, key: str, wanted: np.ndarray) -> dict[int, dict[int, list[int]]]:
    """wallet -> key -> the edges behind it (a hop's onward edge too), for the wanted wallets."""
    rows = rows[rows["wallet"].isin(wanted)]
    out: dict[int, dict[int, list[int]]] = {}
    onward = rows["edge2"].to_numpy() if "edge2" in rows else np.full(len(rows), -1)
    columns = (rows["wallet"].tolist(), rows[key].tolist(), rows["edge"].tolist(), onward.tolist())
    for w, k, e, e2 in zip(*columns, strict=True):
        named = out.setdefault(int(w), {}).setdefault(k, [])
        named.append(int(e))
        if e2 >= 0:  # the hop's transfer on to the collector
            named.append(int(e2))
    return out


def _funding(groups: dict[int, dict[int, list[int]]], p: ev.Prepared, u: int, v: int) -> list[int]:
    """The funding transfers from each wallet up to the first funder they share (the funders'
    own fundings when they share one further up). `groups`: wallet -> funder -> [level]."""
    common = set(groups.get(u, {})) & set(groups.get(v, {}))
    edges: list[int] = []
    for w in (u, v):  # up the line of first fundings to the first funder both share
        for _ in range(1024):  # a line longer than any farm; a cycle of first fundings stops
            edges += p.fund_edges[w]
            w = int(p.root[w])
            if w < 0 or w in common:
                break
    return edges


def _shared(groups: dict[int, dict[int, list[int]]], u: int, v: int, most: int = 4) -> list[int]:
    """Edges of u and v on the keys both have (up to `most` keys)."""
    a, b = groups.get(u, {}), groups.get(v, {})
    common = sorted(set(a) & set(b))[:most]
    return [e for rows in (a, b) for k in common for e in rows[k]]
