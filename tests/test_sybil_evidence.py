"""Cluster-level evidence on a hand-made chain (no database): a farm funded through an exchange,
sweeping to one collector and running its script on the same days at hours apart, is found by
the `script` kind; heavy users of the same dApps who pay the same popular wallet are not; a
wallet tied to the whole farm by its sweep and to one member by its funding joins the cluster,
one tied by the sweep alone does not."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import scipy.sparse as sp

from graph.features import WalletGraph
from graph.model import NATIVE_TOKEN
from ml.sybil import SybilDetector
from ml.sybil import evidence as ev
from ml.sybil.evidence import BIT

DAY, HOUR = 86400, 3600
T0 = 1_700_000_000


def chain() -> tuple[WalletGraph, dict[str, list[int]]]:
    rng = np.random.default_rng(3)
    names: list[tuple[str, str, bool]] = [("exchange", "Exchange", False)]
    names += [(f"c{i}", "DeFi", True) for i in range(6)]  # contracts
    roles = {"farm": list(range(7, 13)), "heavy": list(range(13, 19)), "crowd": list(range(19, 49))}
    names += [(f"w{i}", "", False) for i in range(7, 49)]
    collector, friend, joiner, bystander = 49, 50, 51, 52
    names += [
        ("collector", "", False),
        ("friend", "", False),
        ("joiner", "", False),
        ("bystander", "", False),
    ]
    edges: list[tuple[int, int, int, float]] = []
    everyone = roles["farm"] + roles["heavy"] + roles["crowd"] + [friend, bystander]
    for w in everyone:  # every wallet's first ETH comes from the exchange
        edges.append((0, w, T0 + int(rng.integers(0, HOUR)), round(float(rng.uniform(0.1, 1)), 3)))
    edges.append((friend, joiner, T0 + 2 * HOUR, 0.5))  # the joiner's funder: a friend ...
    edges.append((friend, roles["farm"][0], T0 - HOUR, 0.25))  # ... who funded one member first
    for day in range(1, 15):  # the crowd uses the dApps at random; the heavy users every day
        for w in roles["crowd"]:
            if rng.random() < 0.3:
                edges.append(
                    (w, 1 + int(rng.integers(0, 6)), T0 + day * DAY + int(rng.integers(0, DAY)), 0.01)
                )
        for w in roles["heavy"]:
            for c in (1, 2):
                edges.append((w, c, T0 + day * DAY + int(rng.integers(0, DAY)), 0.02))
    for day in (3, 7, 11):  # the farm script: three tasks, each member at its own hour
        for w in roles["farm"]:
            at = T0 + day * DAY + int(rng.integers(0, 18 * HOUR))
            for step, c in enumerate((3, 4, 5)):
                edges.append(
                    (
                        w,
                        c,
                        at + step * 600 + int(rng.integers(0, 300)),
                        round(float(rng.uniform(0.01, 0.03)), 3),
                    )
                )
    sweep = T0 + 13 * DAY
    for w in roles["farm"] + roles["heavy"] + [joiner, bystander]:  # all pay the collector
        edges.append(
            (w, collector, sweep + int(rng.integers(0, DAY)), round(float(rng.uniform(0.05, 0.2)), 3))
        )
    wallets = pd.DataFrame({
        "address": [f"0x{i:040x}" for i in range(len(names))],
        "category": [c for _, c, _ in names], "contract": [k for _, _, k in names],
        "token": False, "name": [n for n, _, _ in names],
    })  # fmt: skip
    e = pd.DataFrame(edges, columns=["src", "dst", "ts", "value"]).assign(token=0)
    roles.update(joiner=[joiner], bystander=[bystander])
    return WalletGraph(wallets, e, [NATIVE_TOKEN]), roles


def test_script_kind_finds_a_farm_that_shares_only_its_sweep() -> None:
    graph, roles = chain()
    d = SybilDetector().fit(graph)
    address = graph.wallets["address"].to_numpy()
    farm = set(address[roles["farm"]])
    assert len(d.clusters_) == 1
    members = set(d.clusters_[0].members)
    assert farm | set(address[roles["joiner"]]) == members
    # the heavy users paid the same collector and met on the same dApps every day: no link
    heavy = set(roles["heavy"])
    script = d.link_bits_[(d.link_bits_["bits"] & BIT["script"]) > 0]
    assert len(script) and not (script["u"].isin(heavy) | script["v"].isin(heavy)).any()
    assert set(script["u"]) | set(script["v"]) <= set(roles["farm"])
    # every shown script link names transfers between the pair and services (calls, or the
    # exchange's payments), both wallets with one service on one day
    e, services = graph.edges, set(range(7))
    for link in d.links_:
        if "script" not in link.edges:
            continue
        rows = e.iloc[link.edges["script"]]
        pair = set(graph.positions([link.a, link.b]).tolist())
        mine = np.where(rows["src"].isin(pair), rows["src"], rows["dst"])
        party = np.where(rows["src"].isin(pair), rows["dst"], rows["src"])
        assert set(mine) == pair and set(party) <= services
        days = pd.DataFrame({"w": mine, "party": party, "day": rows["ts"].to_numpy() // DAY})
        assert (days.groupby(["party", "day"])["w"].nunique() == 2).any()


def test_a_wallet_joins_when_the_cluster_as_a_whole_corroborates_it() -> None:
    graph, roles = chain()
    d = SybilDetector().fit(graph)
    address = graph.wallets["address"].to_numpy()
    members = set(d.clusters_[0].members)
    joiner, bystander = address[roles["joiner"][0]], address[roles["bystander"][0]]
    assert joiner in members and bystander not in members
    # the joiner's links into the cluster are shown: the sweep with members, the funder with one
    shown = {k for link in d.links_ if joiner in (link.a, link.b) for k in link.kinds}
    assert {"collector"} <= shown <= {"collector", "funder"}
    # without cluster-level evidence the farm is not found at all (one kind per pair)
    assert SybilDetector(corroborate=False).fit(graph).clusters_ == []


def _busy_chain(seed: int) -> WalletGraph:
    """120 people calling 8 contracts at random over 10 days (a few of them heavy users), and
    four groups of five calling the same contracts within the same hour on several days."""
    rng = np.random.default_rng(seed)
    contracts, people = 8, 120
    edges: list[tuple[int, int, int, float]] = []
    for w in range(contracts, contracts + people):
        calls = int(rng.integers(1, 60 if w % 10 == 0 else 12))
        for _ in range(calls):
            edges.append((w, int(rng.integers(0, contracts)), T0 + int(rng.integers(0, 10 * DAY)), 0.01))
    for g in range(4):
        members = range(contracts + 5 * g, contracts + 5 * g + 5)
        for day in rng.choice(10, size=3 + g, replace=False):
            at = T0 + int(day) * DAY + int(rng.integers(0, 20 * HOUR))
            for c in rng.choice(contracts, size=2 + g % 3, replace=False):
                for w in members:
                    edges.append((w, int(c), at + int(rng.integers(0, 40 * 60)), 0.01))
    n = contracts + people
    wallets = pd.DataFrame({"address": [f"0x{i:040x}" for i in range(n)], "category": "",
                            "contract": [i < contracts for i in range(n)], "token": False})  # fmt: skip
    e = pd.DataFrame(edges, columns=["src", "dst", "ts", "value"]).assign(token=0)
    return WalletGraph(wallets, e, [NATIVE_TOKEN])


def test_timing_kind_links_exactly_the_pairs_its_definition_names() -> None:
    """The fast timing kind (products of wallets that can reach the bar, then the shared windows
    looked up) against its definition applied to every pair one by one: the same links."""
    for seed in (1, 2):
        graph = _busy_chain(seed)
        p = ev.prepare(graph, 1000, 48)
        people = int(p.person.sum())
        rows = ev.timing_tokens(p, 3600, 300)
        fast, _ = ev.timing_pairs(p, rows, people, 2, 0.25, block=16)  # several blocks
        windows = {w: dict(zip(r["token"], zip(r["contract"], r["size"], strict=True), strict=True))
                   for w, r in rows.groupby("wallet")}  # fmt: skip
        expected = set()
        for u, v in itertools.combinations(sorted(windows), 2):
            shared = windows[u].keys() & windows[v].keys()
            best: dict[int, float] = {}
            for t in shared:
                c, size = windows[u][t]
                best[c] = max(best.get(c, 0.0), float(np.log(people / size)))
            if (len(best) >= 2 and sum(best.values()) >= 2 * np.log(people)
                    and len(shared) / min(len(windows[u]), len(windows[v])) >= 0.25):  # fmt: skip
                expected.add((u, v))
        got = set(zip(*sp.triu(fast).nonzero(), strict=True))
        assert {(int(a), int(b)) for a, b in got} == expected
        assert len(expected) >= 10  # the groups are found, so the comparison says something


def _round_chain(seed: int) -> tuple[WalletGraph, dict[str, list[int]]]:
    """A farm of twelve funded by an exchange with varied amounts, each member on five campaign
    days doing one to three tasks from a menu of four at its own hour, all sweeping to one
    collector; six heavy users who use two dApps every day and pay the same collector; sixty
    wallets using the dApps at random, five of them paying one friend."""
    rng = np.random.default_rng(seed)
    n_contracts = 9  # 0: the exchange, 1-8: dApps
    roles = {"farm": list(range(9, 21)), "heavy": list(range(21, 27)), "crowd": list(range(27, 87))}
    collector, friend = 87, 88
    roles["friends"] = roles["crowd"][:5]
    n = 89
    edges: list[tuple[int, int, int, float]] = []
    for w in range(9, 87):  # every wallet's first ETH comes from the exchange, varied amounts
        edges.append((0, w, T0 + int(rng.integers(0, 2 * DAY)), round(float(rng.uniform(0.1, 1)), 4)))
    for day in range(2, 26):
        for w in roles["crowd"]:
            if rng.random() < 0.3:
                edges.append((w, int(rng.integers(1, 9)), T0 + day * DAY + int(rng.integers(0, DAY)), 0.01))
        for w in roles["heavy"]:
            for c in (1, 2):
                edges.append((w, c, T0 + day * DAY + int(rng.integers(0, DAY)), 0.02))
    menu = [3, 4, 5, 6]
    hour = rng.uniform(0, 23, size=len(roles["farm"]))
    for day in rng.choice(np.arange(3, 24), size=5, replace=False):
        for i, w in enumerate(roles["farm"]):
            for _ in range(int(rng.integers(1, 4))):
                at = T0 + int(day) * DAY + int(hour[i] * HOUR) + int(rng.integers(0, 3600))
                edges.append((w, int(rng.choice(menu)), at, round(float(rng.lognormal(-4.6, 0.5)), 4)))
    for w in roles["farm"] + roles["heavy"]:
        edges.append(
            (w, collector, T0 + 26 * DAY + int(rng.integers(0, DAY)), round(float(rng.uniform(0.05, 0.2)), 4))
        )
    for w in roles["friends"]:
        edges.append((w, friend, T0 + int(rng.integers(3, 25)) * DAY, 0.05))
    wallets = pd.DataFrame({"address": [f"0x{i:040x}" for i in range(n)],
                            "category": ["Exchange"] + [""] * (n - 1),
                            "contract": [0 < i < n_contracts for i in range(n)], "token": False})  # fmt: skip
    e = pd.DataFrame(edges, columns=["src", "dst", "ts", "value"]).assign(token=0)
    return WalletGraph(wallets, e, [NATIVE_TOKEN]), roles


def test_cohort_kind_finds_a_farm_that_acts_at_its_own_hours_on_random_tasks() -> None:
    for seed in (1, 2, 3):
        graph, roles = _round_chain(seed)
        address = graph.wallets["address"].to_numpy()
        d = SybilDetector().fit(graph)
        farm = set(address[roles["farm"]])
        found = [set(c.members) for c in d.clusters_]
        assert found == [farm], (seed, found)
        cohort = d.link_bits_[(d.link_bits_["bits"] & BIT["cohort"]) > 0]
        assert len(cohort) and set(cohort["u"]) | set(cohort["v"]) <= set(roles["farm"])
        # each shown cohort link names both wallets' dealings with services on one day
        for link in d.links_:
            if "cohort" in link.edges:
                rows = graph.edges.iloc[link.edges["cohort"]]
                pair = set(graph.positions([link.a, link.b]).tolist())
                mine = np.where(rows["src"].isin(pair), rows["src"], rows["dst"])
                party = np.where(rows["src"].isin(pair), rows["dst"], rows["src"])
                assert set(mine) == pair and set(party) < set(range(9))
                days = pd.DataFrame({"w": mine, "party": party, "day": rows["ts"].to_numpy() // DAY})
                assert (days.groupby(["day"])["w"].nunique() == 2).any()
        # without it the farm falls apart: pairs of members meet on few service-days
        before = SybilDetector(cohort=False).fit(graph).clusters_
        assert max((len(c.members) for c in before), default=0) < len(farm)


def _line_chain(seed: int) -> tuple[WalletGraph, dict[str, list[int]]]:
    """A farm of ten funded in a line (an operator funds the first member, each member funds
    the next), each member on five campaign days doing one task from a menu of six at its own
    hour, each sweeping to a deposit address of its own that forwards to the exchange: no two
    members share a first funder or a collector. Honest: sixty wallets using the dApps at
    random, four of them a line of friends (each first funded by the one before)."""
    rng = np.random.default_rng(seed)
    n_contracts = 7  # 0: the exchange, 1-6: dApps
    roles = {"farm": list(range(7, 17)), "crowd": list(range(17, 77))}
    operator, n = 77, 78 + 10  # then one deposit address per member
    roles["friends"] = roles["crowd"][:4]
    edges: list[tuple[int, int, int, float]] = [(0, operator, T0, 5.0)]
    line = [operator] + roles["farm"]
    for i in range(1, len(line)):  # the operator holds three days, then the line runs in hours
        edges.append((line[i - 1], line[i], T0 + 3 * DAY + i * int(rng.integers(600, 5400)), 4.0 - 0.3 * i))
    friends = roles["friends"]
    for w in roles["crowd"]:
        if w not in friends[1:]:
            edges.append((0, w, T0 + int(rng.integers(0, 2 * DAY)), round(float(rng.uniform(0.1, 1)), 4)))
    for i in range(1, len(friends)):
        edges.append((friends[i - 1], friends[i], T0 + 2 * DAY + i * HOUR, 0.2))
    for day in range(2, 26):
        for w in roles["crowd"]:
            if rng.random() < 0.3:
                edges.append((w, int(rng.integers(1, 7)), T0 + day * DAY + int(rng.integers(0, DAY)), 0.01))
    hour = rng.uniform(0, 23, size=len(roles["farm"]))
    for day in rng.choice(np.arange(5, 24), size=5, replace=False):
        for i, w in enumerate(roles["farm"]):
            at = T0 + int(day) * DAY + int(hour[i] * HOUR) + int(rng.integers(0, 3600))
            edges.append((w, int(rng.integers(1, 7)), at, round(float(rng.lognormal(-4.6, 0.5)), 4)))
    for i, w in enumerate(roles["farm"]):
        deposit, at = 78 + i, T0 + 26 * DAY + int(rng.integers(0, DAY))
        edges += [(w, deposit, at, 0.1), (deposit, 0, at + 1800, 0.099)]
    wallets = pd.DataFrame({"address": [f"0x{i:040x}" for i in range(n)],
                            "category": ["Exchange"] + [""] * (n - 1),
                            "contract": [0 < i < n_contracts for i in range(n)], "token": False})  # fmt: skip
    e = pd.DataFrame(edges, columns=["src", "dst", "ts", "value"]).assign(token=0)
    return WalletGraph(wallets, e, [NATIVE_TOKEN]), roles


def test_a_farm_funded_in_a_line_is_found_by_its_days_together() -> None:
    for seed in (1, 2):
        graph, roles = _line_chain(seed)
        address = graph.wallets["address"].to_numpy()
        farm = set(address[roles["farm"]])
        d = SybilDetector().fit(graph)
        assert [set(c.members) for c in d.clusters_] == [farm], seed
        # the honest line of friends shares its top too, but is not out on the same days
        friends = set(roles["friends"])
        linked = d.link_bits_[d.link_bits_["u"].isin(friends) | d.link_bits_["v"].isin(friends)]
        assert not (linked["bits"].to_numpy() & BIT["cohort"]).any()
        # each shown funder link names the line up from both wallets to a funder they share:
        # one funding into each wallet on it, and the two lines meet
        for link in d.links_:
            rows = graph.edges.iloc[link.edges["funder"]]
            assert rows["dst"].is_unique
            up = dict(zip(rows["dst"], rows["src"], strict=True))
            lines = []
            for w in graph.positions([link.a, link.b]).tolist():
                line = []
                while w in up:
                    w = up[w]
                    line.append(w)
                lines.append(line)
            assert lines[0] and lines[1] and set(lines[0]) & set(lines[1])
        # neither the funding line nor the days alone: the farm falls apart
        for off in ({"funding_lines": False}, {"cohort_days": False}):
            found = SybilDetector(**off).fit(graph).clusters_
            assert max((len(c.members) for c in found), default=0) < len(farm), (seed, off)
