"""Growth models in operation: drift against the training snapshot, champion / challenger,
the registry's history, the drift report and the model report's growth section."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from graph.features import WalletGraph
from ingest.synth import LifecycleParams, generate
from ml.growth.ops import RetrainPolicy, check_and_retrain, churn_drift, fit_churn_model
from ml.growth.report import drift_html
from ml.growth.timeline import DAY, Timeline
from ml.registry import Registry
from ml.report import model_report
from tests.test_growth import graph_from_csv


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory) -> WalletGraph:
    out = tmp_path_factory.mktemp("growth-ops")
    generate(out, 800, 120, seed=9, laundering_share=0.0, lifecycle=LifecycleParams(), progress=False)
    return graph_from_csv(out)


def _new_segment(
    graph: WalletGraph, since: int, until: int, wallets: int = 500, seed: int = 0
) -> WalletGraph:
    """A new segment joins: `wallets` fresh addresses (a newly bridged chain community) trading
    among themselves several times a day from `since` on."""
    rng = np.random.default_rng(seed)
    new = pd.DataFrame({"address": [f"0x{'e' * 8}{i:032x}" for i in range(wallets)], "contract": False,
                        "category": None, "token": False})  # fmt: skip
    wallets_all = pd.concat([graph.wallets, new], ignore_index=True)
    base = graph.n
    n = wallets * int(4 * (until - since) / DAY)
    src = base + rng.integers(0, wallets, n)
    extra = pd.DataFrame({"src": src, "dst": base + rng.integers(0, wallets, n),
                          "ts": rng.integers(since, until, n), "value": rng.random(n),
                          "token": np.zeros(n, np.int32), "tx_count": 1, "fee": 0.0})  # fmt: skip
    native = graph.tokens.index("ETH")
    extra["token"] = np.int32(native)
    return WalletGraph(wallets_all, pd.concat([graph.edges, extra], ignore_index=True), graph.tokens)


def test_unchanged_population_triggers_nothing_a_new_segment_gets_a_challenger(
    graph: WalletGraph, tmp_path: Path
) -> None:
    registry = Registry(tmp_path)
    tl = Timeline(graph)
    trained_at = tl.end - 30 * DAY
    model, meta = fit_churn_model(tl, trained_at)
    champion = registry.load("churn", registry.save("churn", model, meta).version)
    policy = RetrainPolicy(every_days=365, margin=0.01)

    # a week later, the same population: stable, nothing trained
    now = trained_at + 7 * DAY
    stable = churn_drift(tl, champion, now)
    assert not stable["drifted"], stable["worst_feature"]
    decision = check_and_retrain(tl, registry, policy, now=now)
    assert decision["decision"] == "none" and registry.versions("churn") == [champion.version]

    # a new segment arrives in the 30 days before now: drift, a challenger, a decision by the numbers
    shifted = Timeline(_new_segment(graph, now - 30 * DAY, now))
    report = churn_drift(shifted, champion, now)
    assert report["drifted"] and report["worst_feature"]["psi"] >= 0.25
    decision = check_and_retrain(shifted, registry, policy, now=now)
    assert decision["reason"] == "drift" and decision["challenger"] in registry.versions("churn")
    hold = decision["holdout"]
    better = hold["challenger_auc"] >= hold["champion_auc"] + policy.margin
    assert decision["decision"] == ("promoted" if better else "rejected")
    assert registry.active("churn") == (decision["challenger"] if better else champion.version)
    history = registry.history("churn")
    assert [h["decision"] for h in history] == ["none", decision["decision"]]
    page = model_report(registry)
    assert "retraining history" in page and decision["challenger"] in page
    assert "<img" in drift_html(report)


def test_schedule_retrains_without_drift(graph: WalletGraph, tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    tl = Timeline(graph)
    trained_at = tl.end - 40 * DAY
    model, meta = fit_churn_model(tl, trained_at)
    registry.save("churn", model, meta)
    decision = check_and_retrain(tl, registry, RetrainPolicy(every_days=7), now=tl.end)
    assert "schedule" in decision["reason"] and decision["decision"] in ("promoted", "rejected")


async def test_score_writes_growth_and_segments_filter_on_it(any_store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from graph import marketing as gm
    from graph.scores import growth_scores
    from ingest.load import ingest_etl
    from ml.pipeline import score

    data = tmp_path / "synth"
    generate(data, 500, 75, seed=4, laundering_share=0.0, lifecycle=LifecycleParams(), progress=False)
    await ingest_etl(any_store, [data])
    registry = Registry(tmp_path / "data")
    run = await score(any_store, registry, typology=False, clusters=False)
    assert {"churn", "propensity"} <= set(run.trained)
    rows = [r for r in await growth_scores(any_store) if r["churn_risk"] is not None]
    assert len(rows) > 50 and all(0.0 <= r["churn_risk"] <= 1.0 for r in rows)
    risk = {r["address"]: r["churn_risk"] for r in rows}
    cut = sorted(risk.values())[len(risk) // 2]
    members = await gm.evaluate(
        any_store, gm.SegmentFilter(min_churn_risk=cut, include_flagged=True, include_exposed=True)
    )
    assert members and {m.address for m in members} == {a for a, r in risk.items() if r >= cut}
    nft = {r["address"] for r in rows if r["propensity"] and r["propensity"][1] >= 0.05}
    chosen = await gm.evaluate(
        any_store,
        gm.SegmentFilter(min_propensity=(("NFT", 0.05),), include_flagged=True, include_exposed=True),
    )
    assert nft <= {m.address for m in chosen}
    scores = {r["address"]: r["propensity"] for r in await growth_scores(any_store)}
    assert chosen and all(scores[m.address][1] >= 0.05 for m in chosen)
    with pytest.raises(gm.MarketingError):
        gm.SegmentFilter(min_propensity=(("Lending", 0.3),))
