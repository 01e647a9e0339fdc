"""Predictive growth (issue 17): the lifecycle generator's truth, outcomes from the transfers,
features that only see the past, the models against their baselines by time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from graph.features import WalletGraph
from ingest.synth import LifecycleParams, generate
from ml.growth.evaluate import evaluate_churn, evaluate_propensity, rank_metrics
from ml.growth.timeline import DAY, Timeline, outcomes
from ml.growth.train import (
    InsufficientHistory,
    Split,
    churn_examples,
    fit_churn,
    fit_propensity,
    propensity_examples,
)

WALLETS, DAYS = 600, 120


def graph_from_csv(folder: Path) -> WalletGraph:
    """The wallet graph `aidrop ingest etl` would build, straight from the synthetic CSVs."""
    tx = pd.read_csv(folder / "transactions.csv", dtype=str)
    tt = pd.read_csv(folder / "token_transfers.csv", dtype=str)
    contracts = pd.read_csv(folder / "contracts.csv", dtype=str)
    tokens = pd.read_csv(folder / "tokens.csv", dtype=str)
    ts = dict(zip(tx["hash"], tx["block_timestamp"].astype(np.int64), strict=True))
    frames = [
        pd.DataFrame(
            {
                "src": tx["from_address"],
                "dst": tx["to_address"].fillna(tx["from_address"]),
                "ts": tx["block_timestamp"].astype(np.int64),
                "value": tx["value"].astype(float) / 1e18,
                "token": "ETH",
            }
        ),
        pd.DataFrame(
            {
                "src": tt["from_address"],
                "dst": tt["to_address"],
                "ts": tt["transaction_hash"].map(ts).astype(np.int64),
                "value": 1.0,
                "token": tt["token_address"],
            }
        ),
    ]
    edges = pd.concat(frames, ignore_index=True)
    addresses = sorted(set(edges["src"]) | set(edges["dst"]) | set(contracts["address"]))
    index = pd.Index(addresses)
    wallets = pd.DataFrame({"address": pd.array(addresses, dtype=object)})
    wallets["contract"] = index.isin(contracts["address"])
    wallets["category"] = pd.Series(
        index.map(dict(zip(contracts["address"], contracts["category"], strict=True))), dtype=object
    ).where(wallets["contract"], None)
    wallets["token"] = index.isin(tokens["address"])
    codes, names = pd.factorize(edges["token"])
    frame = pd.DataFrame(
        {
            "src": index.get_indexer(edges["src"]),
            "dst": index.get_indexer(edges["dst"]),
            "ts": edges["ts"],
            "value": edges["value"],
            "token": codes.astype(np.int32),
            "tx_count": 1,
            "fee": 0.0,
        }
    )
    return WalletGraph(wallets, frame, [str(t) for t in names])


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("growth")
    generate(out, WALLETS, DAYS, seed=5, laundering_share=0.0, lifecycle=LifecycleParams(), progress=False)
    return out


@pytest.fixture(scope="module")
def graph(synth: Path) -> WalletGraph:
    return graph_from_csv(synth)


def test_lifecycle_truth_shows_in_the_transfers(synth: Path, graph: WalletGraph) -> None:
    life = pd.read_csv(synth / "lifecycle.csv", dtype={"address": str})
    assert len(life) == WALLETS and life["dormancy_spells"].sum() > 0
    tl = Timeline(graph)
    last_day = tl.end - DAY
    out = outcomes(graph, last_day, horizon_days=1)
    dormant = set(life.loc[life["dormant_at_end"] == 1, "address"])
    awake = set(life.loc[life["dormant_at_end"] == 0, "address"])
    sent_last_day = set(out.loc[out["dormant"] == 0, "address"])
    assert dormant and not (dormant & sent_last_day)  # a dormant wallet signs nothing
    assert len(awake & sent_last_day) > 0.2 * len(awake)
    # a wallet that never adopted NFT never sent a transaction to an NFT contract
    first = tl.first_touch(tl.target("NFT"))
    never = graph.positions(life.loc[life["adopted_NFT"].isna(), "address"])
    assert len(never) > 20 and (first[never] == np.iinfo(np.int64).max).all()
    # campaigns leave airdrops (token contract -> wallet) and raise adoption
    assert life[[c for c in life if c.startswith("exposed_")]].to_numpy().sum() > 0


def test_generator_is_deterministic_with_lifecycles(tmp_path: Path) -> None:
    a = generate(tmp_path / "a", 60, 20, seed=2, lifecycle=LifecycleParams(), progress=False)
    b = generate(tmp_path / "b", 60, 20, seed=2, lifecycle=LifecycleParams(), progress=False)
    assert a.transfers == b.transfers
    for name in ("transactions.csv", "lifecycle.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def _without_after(graph: WalletGraph, t: int, rng: np.random.Generator) -> WalletGraph:
    """The graph with every transfer after t replaced by random ones, also after t."""
    e = graph.edges
    keep = e[e["ts"] <= t]
    n = int((e["ts"] > t).sum()) + 500
    noise = pd.DataFrame(
        {
            "src": rng.integers(0, graph.n, n),
            "dst": rng.integers(0, graph.n, n),
            "ts": rng.integers(t + 1, t + 40 * DAY, n),
            "value": rng.random(n),
            "token": np.zeros(n, np.int32),
            "tx_count": 1,
            "fee": 0.0,
        }
    )
    return WalletGraph(graph.wallets, pd.concat([keep, noise], ignore_index=True), graph.tokens)


def test_no_transfer_after_t_changes_a_prediction(graph: WalletGraph) -> None:
    tl = Timeline(graph)
    t = tl.end - 30 * DAY
    split = Split.before(t, 30, snapshots=2)
    churn, _, _, _ = fit_churn(tl, split)
    target = tl.target("Gaming")
    propensity, _, _, _ = fit_propensity(tl, target, split)
    other = Timeline(_without_after(graph, t, np.random.default_rng(1)))
    for timeline in (tl, other):
        assert timeline.end != tl.end or timeline is tl
    rows_a, xa, _ = churn_examples(tl, t, 30, labels=False)
    rows_b, xb, _ = churn_examples(other, t, 30, labels=False)
    assert len(rows_a) > 50 and (rows_a == rows_b).all()
    np.testing.assert_array_equal(churn.predict_proba(xa), churn.predict_proba(xb))
    np.testing.assert_array_equal(churn.expected_days(xa), churn.expected_days(xb))
    first_a, first_b = tl.first_touch(target), other.first_touch(other.target("Gaming"))
    ra, pa, _ = propensity_examples(tl, target, first_a, t, 30, labels=False)
    rb, pb, _ = propensity_examples(other, other.target("Gaming"), first_b, t, 30, labels=False)
    assert len(ra) > 50 and (ra == rb).all()
    np.testing.assert_array_equal(propensity.predict_proba(pa), propensity.predict_proba(pb))


def test_time_split_evaluation_beats_chance_and_reports_baselines(graph: WalletGraph) -> None:
    churn = evaluate_churn(graph, horizon_days=30)
    assert churn["split"]["t1"] < churn["split"]["t2"]
    assert max(churn["split"]["training_times"]) + 30 * DAY <= churn["split"]["t2"]  # outcomes end by T2
    assert churn["model"]["auc"] > 0.7 and churn["baseline"]["auc"] > 0.6
    assert len(churn["model"]["deciles"]) == 10 and len(churn["model"]["calibration"]) == 10
    prop = evaluate_propensity(graph, category="NFT")
    assert prop["model"]["n"] > 0 and prop["baseline"]["name"] == "neighbouring category used"
    with pytest.raises(InsufficientHistory):
        evaluate_churn(graph, as_of=Timeline(graph).end - 5 * DAY)  # no 30 days of outcomes after it
    with pytest.raises(ValueError, match="no contract of category"):
        evaluate_propensity(graph, category="Lending")


def test_rank_metrics_lift_and_calibration() -> None:
    y = np.array([1] * 10 + [0] * 90)
    p = np.r_[np.full(10, 0.9), np.full(90, 0.1)]
    m = rank_metrics(y, p)
    assert (
        m["auc"] == 1.0 and m["top_decile_precision"] == 1.0 and m["top_decile_lift"] == pytest.approx(10.0)
    )
    assert m["ece"] == pytest.approx(0.1, abs=1e-9)  # every bin 0.1 off


def test_rhythm_friends_and_drops_features_read_behaviour_up_to_t() -> None:
    """A wallet's silence against its own pace, friends (recurring counterparties, not one-off
    strangers) gone silent beyond theirs, and a recent contract drop; nothing after t counts."""
    from graph.model import NATIVE_TOKEN
    from ml.growth.features import AsOf

    names = ["a", "b", "c", "stranger", "token"]
    wallets = pd.DataFrame({"address": pd.array(names, dtype=object)})
    wallets["contract"] = [False, False, False, False, True]
    wallets["category"] = pd.Series([None, None, None, None, "DeFi"], dtype=object)
    wallets["token"] = [False, False, False, False, True]
    t = 200 * DAY
    rows: list[tuple[int, int, int, int]] = []  # src, dst, ts, token code (0 native, 1 token)
    for day in range(100, 200):
        rows.append((0, 1, day * DAY + 3600, 0))  # a -> b daily up to t
        rows.append((2, 0, day * DAY + 7200, 0))  # c -> a daily up to t
        if day < 180:
            rows.append((1, 0, day * DAY + 5400, 0))  # b -> a daily, silent for the last 20 days
    rows.append((3, 0, 150 * DAY, 0))  # a stranger, once
    rows.append((4, 0, t - 3 * DAY, 1))  # a contract drop 3 days before t
    rows.append((4, 1, t + DAY, 1))  # and one after t: must not count
    rows.append((1, 0, t + 2 * DAY, 0))  # b comes back after t: must not count
    e = np.array(rows)
    edges = pd.DataFrame({"src": e[:, 0], "dst": e[:, 1], "ts": e[:, 2], "value": 1.0,
                          "token": e[:, 3].astype(np.int32), "tx_count": 1, "fee": 0.0})  # fmt: skip
    f = AsOf(Timeline(WalletGraph(wallets, edges, [NATIVE_TOKEN, "token"])), t).features
    a, b, c = 0, 1, 2
    assert f["gap_median_90"][b] == pytest.approx(1.0)
    assert f["recency_sent"][b] == pytest.approx(20.94, abs=0.01)
    assert f["silence_vs_rhythm"][b] > 15 and f["silence_vs_longest"][b] > 15
    assert f["silence_vs_rhythm"][c] < 1 and f["silence_vs_longest"][c] < 1
    assert f["friends"][a] == 2  # b and c; the stranger sent once
    assert f["friends_overdue"][a] == 1 and 0.3 < f["friends_overdue_share"][a] < 0.7
    assert f["friends_overdue_share"][c] == 0  # its only friend, a, keeps its pace
    assert f["from_contracts_14"][a] == 1 and f["days_since_contract_drop"][a] == pytest.approx(3)
    assert f["from_contracts_14"][b] == 0 and f["days_since_contract_drop"][b] == 365
