"""Laundering patterns (ml/laundering) on a hand-made chain: a fan-in, a cycle and a peel chain
whose members keep ordinary traffic, next to a busy exchange and a monthly payroll that must not
look like schemes; the label-free score, and the evidence stored in the graph."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from graph import patterns as stored
from graph.store import GraphStore
from ml.anomaly.aidrop import AidropAnomaly
from ml.dataset import build_dataset
from ml.laundering.detect import detect
from ml.laundering.score import FLAG
from ml.pipeline import dataset, score
from ml.registry import Registry
from tests.factories import addr, transfers
from tests.test_ml_motifs import _graph

DAY = 86_400
T0 = 1_700_000_000
N = 1000
EXCHANGE, PAYROLL = 19, 18
SCHEMES = {"fan_in": range(0, 6), "cycle": range(6, 10), "peel": range(10, 15)}
LAUNDERERS = [w for members in SCHEMES.values() for w in members]


def _edges() -> list[tuple[int, int, float, float]]:
    """(sender, receiver, day, ETH)."""
    rng = np.random.default_rng(3)
    ordinary = np.r_[np.arange(0, 15), np.arange(20, N)]
    edges = []
    for _ in range(4000):  # ordinary traffic over 90 days, launderers included (camouflage)
        a, b = rng.choice(ordinary, 2, replace=False)
        edges.append((int(a), int(b), float(rng.uniform(0, 90)), float(rng.lognormal(-1.5, 1.2))))
    for _ in range(400):  # the exchange: deposits and withdrawals every few hours
        edges.append(
            (int(rng.choice(ordinary)), EXCHANGE, float(rng.uniform(0, 90)), float(rng.lognormal(0, 1)))
        )
        edges.append(
            (EXCHANGE, int(rng.choice(ordinary)), float(rng.uniform(0, 90)), float(rng.lognormal(0, 1)))
        )
    staff = rng.choice(np.arange(20, N), 30, replace=False)
    for month in range(3):  # payroll: the same 30 people, the same salary, every 30 days
        for i, person in enumerate(staff):
            edges.append((PAYROLL, int(person), 5.0 + 30 * month + 0.01 * i, 2.0 + 0.01 * i))
    for i in range(1, 6):  # fan-in: five wallets pay hub 0 about 8 ETH within two days
        edges.append((i, 0, 30.0 + 0.4 * i, 8.0 * float(rng.uniform(0.9, 1.1))))
    value = 40.0  # cycle 6 -> 7 -> 8 -> 9 -> 6, hours apart, a little skimmed at each hop
    for hop in range(4):
        edges.append((6 + hop, 6 + (hop + 1) % 4, 50.0 + 0.2 * hop, value))
        value *= 0.97
    value = 25.0  # peel chain 10 -> 11 -> ... -> 14: each hop sends a slice to the exchange
    for hop in range(4):
        edges.append((10 + hop, EXCHANGE, 70.0 + 0.5 * hop, value * 0.1))
        edges.append((10 + hop, 11 + hop, 70.0 + 0.5 * hop + 0.01, value * 0.9))
        value *= 0.9
    return edges


def test_detect_finds_each_scheme_with_its_shape_and_roles() -> None:
    det = detect(_graph(_edges(), N))
    for kind, members in SCHEMES.items():
        found = [p for p in det.patterns if set(members) <= set(p.wallets)]
        assert found, f"no pattern holds the {kind}"
        best = max(found, key=lambda p: p.score)
        assert best.type == kind
        assert len(best.wallets) <= len(members) + 1  # the peel's exchange at most
    fan = next(p for p in det.patterns if p.type == "fan_in" and 0 in p.wallets)
    assert fan.roles[fan.wallets.index(0)] == "hub"
    assert {fan.roles[fan.wallets.index(i)] for i in range(1, 6)} == {"source"}
    assert det.wallet_score[EXCHANGE] == 0 and det.wallet_score[PAYROLL] == 0


def test_label_free_score_ranks_launderers_first_and_keeps_services_out() -> None:
    ds = build_dataset(_graph(_edges(), N))
    result = AidropAnomaly().fit(ds).predict_result(ds)
    top = set(np.argsort(-result.score, kind="stable")[: len(LAUNDERERS)].tolist())
    assert len(top & set(LAUNDERERS)) >= len(LAUNDERERS) - 1
    assert result.rank[EXCHANGE] > 30 and result.rank[PAYROLL] > 30
    assert result.flagged[LAUNDERERS].mean() >= 0.8 and result.flagged.sum() <= len(LAUNDERERS) + 3
    why = json.loads(result.explanation[6])
    assert why[0]["feature"].startswith("laundering pattern: cycle")


def test_ordinary_traffic_alone_makes_no_scheme() -> None:
    """Without the schemes, chance coincidences in the same traffic stay below the flag."""
    ordinary = [e for e in _edges() if not (e[0] < 15 and e[1] < 15)]
    det = detect(_graph(ordinary, N))
    assert not (det.wallet_score >= FLAG).any()
    assert max((p.score for p in det.patterns), default=0.0) < FLAG


def test_bystander_paid_during_a_cycle_gets_half_of_its_score() -> None:
    """An ordinary wallet that pays a cycle member a similar amount the same day is tied to the
    cycle by one link (chance can do that); the members by two or more."""
    det = detect(_graph([*_edges(), (700, 7, 50.3, 39.0)], N))
    member = det.wallet_score[7]
    assert member >= FLAG and all(det.wallet_score[w] == member for w in SCHEMES["cycle"])
    assert det.wallet_score[700] == pytest.approx(member / 2)


def test_cycle_through_a_busy_hop_is_still_one_cycle() -> None:
    """Wallet 8 of the cycle also pays 23-38 ETH to someone every day or two: its relay alone is
    not unlikely, but value conserved hop after hop joins the cycle anyway."""
    rng = np.random.default_rng(5)
    busy = [(8, int(x), float(d), float(38 * rng.uniform(0.6, 1.0)))
            for x, d in zip(rng.integers(100, N, 60), rng.uniform(0, 90, 60), strict=True)]  # fmt: skip
    det = detect(_graph([*_edges(), *busy], N))
    found = [p for p in det.patterns if set(SCHEMES["cycle"]) <= set(p.wallets)]
    assert [p.type for p in found] == ["cycle"] and sorted(found[0].wallets) == list(SCHEMES["cycle"])


def test_layer_between_busy_wallets_is_one_bipartite_pattern() -> None:
    """Three wallets each pay the same three about 5 ETH within four days; all six also pay or are
    paid 2-8 ETH every six days, so at each of them two similar transfers days apart are ordinary.
    That the same two counterparties meet again at another wallet is not: one layer of six."""
    rng = np.random.default_rng(7)
    senders, receivers = [30, 31, 32], [33, 34, 35]
    extra = []
    for w in senders + receivers:
        for day in rng.uniform(0, 90, 15):
            other, amount = int(rng.integers(100, N)), float(rng.uniform(2, 8))
            extra.append((w, other, float(day), amount) if w in senders else (other, w, float(day), amount))
    for a in senders:
        for b in receivers:
            extra.append((a, b, 40.0 + float(rng.uniform(0, 4)), 5.0 * float(rng.uniform(0.9, 1.1))))
    det = detect(_graph([*_edges(), *extra], N))
    layer = [p for p in det.patterns if set(senders + receivers) <= set(p.wallets)]
    assert len(layer) == 1 and layer[0].type == "bipartite"
    assert all(det.wallet_score[w] == layer[0].score for w in senders + receivers)


async def test_scoring_stores_patterns_as_evidence(any_store: GraphStore, tmp_path: Path) -> None:
    # wallet i is 0x...(i + 1), as in the in-memory graph (0x0...0 is the zero address)
    rows = [(a + 1, b + 1, i, v, int(T0 + d * DAY)) for i, (a, b, d, v) in enumerate(_edges())]
    await any_store.write_transfers(transfers(rows))
    await score(any_store, Registry(tmp_path), typology=False, clusters=False)
    page, total = await stored.list_patterns(any_store, "cycle", first=5)
    assert total >= 1
    cycle = page[0]
    assert {m["address"] for m in cycle["members"]} == {addr(i + 1) for i in SCHEMES["cycle"]}
    assert {m["role"] for m in cycle["members"]} == {"cycle"}
    assert len(cycle["transfers"]) == 4 and all(h.startswith("0x") for h in cycle["transfers"])
    assert cycle["start_ts"] <= cycle["end_ts"] and cycle["value"] > 30
    mine = await stored.wallet_patterns(any_store, addr(1))
    assert mine and mine[0]["type"] == "fan_in" and mine[0]["role"] == "hub"
    assert (await stored.pattern(any_store, cycle["id"]))["id"] == cycle["id"]
    ds = await dataset(any_store)  # scoring again replaces the patterns, it does not add to them
    await score(any_store, Registry(tmp_path), typology=False, clusters=False, ds=ds)
    assert (await stored.list_patterns(any_store, None, first=1))[1] == len(ds.laundering().patterns)
    with pytest.raises(ValueError, match="first"):
        await stored.list_patterns(any_store, None, first=10_000)


def test_wallet_paying_its_usual_amount_makes_no_fan_out() -> None:
    """Wallet 40 pays someone about 5 ETH every three days, and in one week also makes 35 small
    payments; that week it pays four people 5 ETH within an hour or so. Its usual rate of 5 ETH
    payments comes from the weeks around: the four payees are not a fan-out's mules (they were
    when all its payments of that week, the small ones too, were left out of its usual rate)."""
    rng = np.random.default_rng(11)
    usual = np.r_[rng.uniform(0, 38, 15), rng.uniform(52, 90, 15)]
    extra = [(40, int(x), float(d), float(5 * rng.uniform(0.8, 1.25)))
             for x, d in zip(rng.integers(100, N, 30), usual, strict=True)]  # fmt: skip
    extra += [(40, int(x), float(d), float(rng.uniform(0.01, 0.1)))
              for x, d in zip(rng.integers(100, N, 35), rng.uniform(41, 49, 35), strict=True)]  # fmt: skip
    extra += [(40, 600 + i, 45.0 + 0.05 * i, 5.0 * float(rng.uniform(0.95, 1.05))) for i in range(4)]
    det = detect(_graph([*_edges(), *extra], N))
    assert max(det.wallet_score[600:604]) < FLAG / 2
    assert det.wallet_score[0] >= FLAG  # the fan-in hub is still found
