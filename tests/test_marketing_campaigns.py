"""Campaigns on synthetic A/B tests (`aidrop synth --campaign`): the holdout is the generator's
split, conversions are the simulated ones to the second, the lift's interval holds the simulated
uplift (and 0 when there is none); snapshots are idempotent and the monitor takes one per
interval; the statistics against published values; the CLI end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.errors import NotFound
from graph import marketing as gm
from graph.cypher import Statement
from graph.store import GraphStore
from ingest.load import ingest_etl
from ingest.synth import CampaignParams, generate, in_treatment
from ml.marketing import campaigns as mc
from ml.marketing.stats import bootstrap_diff, two_proportions, wilson

pytestmark = pytest.mark.both_backends

AIDROP = str(Path(sys.executable).with_name("aidrop"))
T0 = 1704067200
DAYS = 20
START = T0 + DAYS * 86400 // 2
END = T0 + DAYS * 86400

COUNT_SNAPSHOTS = Statement(
    "test_count_snapshots",
    """
MATCH (:Campaign {id: $id})-[:HAS_SNAPSHOT]->(s:Snapshot)
OPTIONAL MATCH (s)-[m:MEASURED]->(:Wallet)
RETURN s.name AS name, count(m) AS measured ORDER BY name
""",
)


def read(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)


def campaign_contract(folder: Path) -> str:
    contracts = read(folder, "contracts")
    return contracts.loc[contracts["name"].str.startswith("Quest Pass"), "address"].item()


async def simulated(
    store: GraphStore, folder: Path, wallets: int, seed: int, params: CampaignParams
) -> pd.DataFrame:
    """A synthetic chain with a campaign, loaded; its targets saved as a segment; the campaign
    created over them with the campaign contract as goal, and snapshots at start and end."""
    generate(folder, wallets, DAYS, seed=seed, campaign=True, campaign_params=params)
    await ingest_etl(store, [folder])
    truth = read(folder, "campaign")
    seg, _ = await gm.save_segment(
        store,
        "targets",
        "targets",
        gm.SegmentFilter(addresses=tuple(truth["address"]), include_flagged=True),
        START,
    )
    goal = [campaign_contract(folder)]
    await mc.create(store, "quest", seg.id, goal_contracts=goal, start=START, now=START, cost=2500.0)
    await mc.snapshot(store, "quest", "start", at=START)
    await mc.snapshot(store, "quest", "end", at=END)
    return truth


def test_holdout_is_the_generators_split_and_grows_monotonically() -> None:
    rng = np.random.default_rng(3)
    addresses = ["0x" + bytes(rng.integers(0, 256, 20, dtype=np.uint8)).hex() for _ in range(4000)]
    assert all((mc.group_of(a, 0.5) == "treatment") == in_treatment(a) for a in addresses)
    assert mc.group_of(addresses[0].upper().replace("0X", "0x"), 0.5) == mc.group_of(addresses[0], 0.5)
    for share in (0.1, 0.2, 0.5, 0.8):
        control = {a for a in addresses if mc.group_of(a, share) == "control"}
        assert abs(len(control) / len(addresses) - share) < 0.03
        bigger = {a for a in addresses if mc.group_of(a, min(0.95, share + 0.1)) == "control"}
        assert control <= bigger  # a larger holdout only moves wallets into the control


async def test_lift_matches_the_simulated_uplift(store: GraphStore, tmp_path: Path) -> None:
    params = CampaignParams(baseline=0.08, uplift=0.12)
    truth = await simulated(store, tmp_path, 2400, 7, params)
    campaign = await mc.get(store, "quest")
    assert campaign["targets"] == len(truth) == 1200
    # the groups are the simulation's
    targets = {t["address"]: t["group"] for t in await gm.campaign_targets(store, "quest")}
    assert targets == dict(zip(truth["address"], truth["group"], strict=True))
    # every conversion aidrop sees is a simulated one, at the simulated time
    _, _, _, _, wallets = await mc.load(store, "quest")
    seen = {w["address"]: w["first_goal"] for w in wallets if w["converted"]}
    sim = truth[truth["converted"] == "1"]
    assert seen == {a: int(t) for a, t in zip(sim["address"], sim["converted_at"], strict=True)}

    m = await mc.metrics(store, "quest")
    conv = m["lift"]["conversion"]
    for group in ("treatment", "control"):
        rows = truth[truth["group"] == group]
        assert m["groups"][group]["targets"] == len(rows)
        assert m["groups"][group]["converted"] == int((rows["converted"] == "1").sum())
    assert conv["low"] <= params.uplift <= conv["high"]  # the simulated uplift is in the interval
    assert conv["low"] > 0  # and the effect is detected
    assert conv["p_value"] < 0.001
    cost = m["cost"]
    assert cost["per_converted"] == pytest.approx(2500.0 / m["groups"]["treatment"]["converted"])
    assert cost["per_incremental"] == pytest.approx(
        2500.0 / (conv["diff"] * m["groups"]["treatment"]["targets"])
    )


async def test_no_simulated_effect_gives_an_interval_around_zero(store: GraphStore, tmp_path: Path) -> None:
    params = CampaignParams(baseline=0.1, uplift=0.0)
    truth = await simulated(store, tmp_path, 2400, 8, params)
    m = await mc.metrics(store, "quest")
    conv = m["lift"]["conversion"]
    assert m["groups"]["treatment"]["converted"] + m["groups"]["control"]["converted"] == int(
        (truth["converted"] == "1").sum()
    )
    assert conv["low"] < 0 < conv["high"]
    assert conv["p_value"] > 0.05
    for key in ("engagement", "retention", "volume_change"):  # nothing else was simulated either
        assert m["lift"][key]["low"] < 0 < m["lift"][key]["high"], key


async def test_snapshots_are_idempotent_and_the_monitor_takes_one_per_interval(
    store: GraphStore, tmp_path: Path
) -> None:
    truth = await simulated(store, tmp_path, 600, 9, CampaignParams(baseline=0.1, uplift=0.1))
    n = len(truth)
    again, taken = await mc.snapshot(store, "quest", "end", at=END - 86400)  # same name, other time
    assert not taken and again["at"] == END
    day = 86400
    first = await mc.monitor(store, interval=day, now=START + 3 * day + 100)
    second = await mc.monitor(store, interval=day, now=START + 3 * day + 5000)  # same interval
    third = await mc.monitor(store, ["quest"], interval=day, now=START + 4 * day + 10)
    assert [r["taken"] for r in first + second + third] == [True, False, True]
    assert first[0]["snapshot"] == second[0]["snapshot"] != third[0]["snapshot"]
    rows = await store.query(COUNT_SNAPSHOTS, {"id": "quest"})
    assert [r["name"] for r in rows] == sorted(["start", "end", first[0]["snapshot"], third[0]["snapshot"]])
    assert all(r["measured"] == n for r in rows)  # one measure per target, none twice
    names = [s["name"] for s in await mc.snapshots(store, "quest")]
    assert names == ["start", first[0]["snapshot"], third[0]["snapshot"], "end"]  # by time
    # a campaign that has not started is not monitored; an unknown id is an error
    assert await mc.monitor(store, interval=day, now=START - day) == []
    with pytest.raises(NotFound):
        await mc.snapshot(store, "nope", "x", at=END)


async def test_snapshot_measures_equal_pandas(store: GraphStore, tmp_path: Path) -> None:
    from bench.segments import export_frames, pandas_snapshot

    truth = await simulated(store, tmp_path, 800, 10, CampaignParams(baseline=0.2, uplift=0.1))
    ours = pd.DataFrame(await gm.snapshot_rows(store, "quest", "end"))
    wallets, transfers = await export_frames(store)
    ref = pandas_snapshot(wallets, transfers, list(truth["address"]), END, 7 * 86400, START,
                          (campaign_contract(tmp_path),))  # fmt: skip
    merged = ours.merge(ref, on="address", suffixes=("", "_ref"))
    assert len(merged) == len(truth)
    for col in ("tx", "counterparties", "goal_tx"):
        assert (merged[col] == merged[f"{col}_ref"]).all(), col
    assert np.allclose(merged["volume"], merged["volume_ref"])
    assert (merged["first_goal"].fillna(-1) == merged["first_goal_ref"].fillna(-1)).all()
    assert merged["tx"].sum() > len(truth) and merged["goal_tx"].sum() > 0


async def test_campaign_rules(store: GraphStore, tmp_path: Path) -> None:
    await simulated(store, tmp_path, 300, 11, CampaignParams())
    with pytest.raises(gm.Conflict):
        await mc.create(store, "quest", "targets", goal_categories=["Social"], start=START)
    with pytest.raises(gm.MarketingError, match="goal"):
        await mc.create(store, "other", "targets", start=START)
    with pytest.raises(gm.MarketingError, match="holdout"):
        await mc.create(store, "other", "targets", goal_categories=["Social"], holdout=1.0)
    with pytest.raises(NotFound):
        await mc.create(store, "other", "no-such-segment", goal_categories=["Social"])
    with pytest.raises(NotFound):
        await mc.metrics(store, "quest", before="nope")
    # from a predefined segment: saved first, then split by the hash with the holdout asked for
    broad = await mc.create(
        store, "Broad", "all", goal_categories=["Social"], holdout=0.2, start=START, now=START
    )
    members = await gm.segment_members(store, "broad-segment")
    assert broad["segment_id"] == "broad-segment" and broad["targets"] == len(members) > 250
    assert broad["control"] == sum(mc.group_of(m.address, 0.2) == "control" for m in members)
    groups = {t["group"] for t in await gm.campaign_targets(store, "broad")}
    assert groups == {"treatment", "control"}


def test_newcombe_interval_against_the_published_example() -> None:
    # Newcombe (1998), Statistics in Medicine 17:873, example (a): 56/70 vs 48/80
    lift = two_proportions(56, 70, 48, 80)
    assert lift.diff == pytest.approx(0.2)
    assert (round(lift.low, 4), round(lift.high, 4)) == (0.0524, 0.3339)
    assert wilson(0, 10)[0] == 0.0 and wilson(10, 10)[1] == pytest.approx(1.0)
    # identical groups: interval around 0, p-value 1
    same = two_proportions(30, 100, 30, 100)
    assert same.low < 0 < same.high and same.p_value == pytest.approx(1.0)


def test_bootstrap_is_deterministic_and_covers_the_difference() -> None:
    rng = np.random.default_rng(0)
    t, c = rng.normal(1.5, 1.0, 400), rng.normal(1.0, 1.0, 400)
    a, b = bootstrap_diff(t, c, seed=1), bootstrap_diff(t, c, seed=1)
    assert a == b
    assert a.low < 0.5 < a.high and a.low > 0
    assert a.diff == pytest.approx(t.mean() - c.mean())


def test_campaign_cli(cli_env: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "synth"
    generate(
        folder, 400, DAYS, seed=12, campaign=True, campaign_params=CampaignParams(baseline=0.1, uplift=0.2)
    )
    truth = read(folder, "campaign")
    (tmp_path / "targets.txt").write_text("\n".join(truth["address"]) + "\n")

    def aidrop(*args: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([AIDROP, *args], env=cli_env, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        return proc

    aidrop("ingest", "etl", str(folder))
    aidrop(
        "target",
        "all",
        "--addresses",
        str(tmp_path / "targets.txt"),
        "--include-flagged",
        "--save",
        "targets",
    )
    goal = campaign_contract(folder)
    create = [
        "campaign",
        "create",
        "Quest",
        "--segment",
        "targets",
        "--goal-contract",
        goal,
        "--start",
        str(START),
    ]
    created = json.loads(aidrop(*create, "--cost", "100").stdout)
    assert created["id"] == "quest" and created["targets"] == len(truth)
    assert json.loads(aidrop("campaign", "snapshot", "quest", "--name", "start", "--at", str(START)).stdout)[
        "taken"
    ]
    assert "taken" in aidrop("campaign", "monitor", "--interval", "1d", "--at", str(END)).stdout
    assert (
        "already taken"
        in aidrop("campaign", "monitor", "quest", "--interval", "1d", "--at", str(END + 60)).stdout
    )
    m = json.loads(aidrop("campaign", "metrics", "quest", "--json").stdout)
    assert m["groups"]["treatment"]["converted"] == int(
        ((truth["group"] == "treatment") & (truth["converted"] == "1")).sum()
    )
    assert "conversion" in aidrop("campaign", "metrics", "quest").stdout
    aidrop(
        "campaign", "report", "quest", "--out", str(tmp_path / "r.html"), "--json", str(tmp_path / "r.json")
    )
    assert json.loads((tmp_path / "r.json").read_text())["metrics"]["campaign"] == "quest"
    assert (tmp_path / "r.html").read_text().count("data:image/png;base64,") == 3
