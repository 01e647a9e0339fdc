"""Segment evaluation and campaign snapshots on a synthetic chain, against pandas over the
exported graph in the same run (issue 5).

    .venv/bin/python bench/segments.py [--wallets 100000] [--days 28] [--targets 10000] [--repeat 3]

Steps: `aidrop synth` data (with a campaign of `--targets` wallets) loaded by the bulk path;
typology, anomaly flag, cluster and anomaly score set on every wallet from the labels (as ml/
writes them); the wallets' activity summary written (timed once); then, each timed `--repeat`
times (median): segments evaluated in the database, a snapshot of every campaign target; the
export of the graph to pandas; the same segments and the same snapshot in pandas. Both sides
must give the same wallets and the same measures.

The pandas functions here are also the tests' reference (tests/test_marketing_*.py).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path[0] = str(Path(__file__).resolve().parents[1])  # the repo, not bench/

from bench.common import embedded, peak_rss_mb, table  # noqa: E402
from graph import marketing as gm  # noqa: E402
from graph.activity import refresh_activity  # noqa: E402
from graph.cypher import Statement  # noqa: E402
from graph.falkor import FalkorStore  # noqa: E402
from graph.marketing import SegmentFilter  # noqa: E402
from graph.store import GraphStore  # noqa: E402

ZERO = "0x" + "0" * 40

# Test and bench helper (not part of aidrop): what ml/ writes, taken from the synthetic truth.
SET_LABELS = Statement(
    "bench_set_labels",
    """
UNWIND range(0, size($address) - 1) AS i
WITH i, $address[i] AS a
MATCH (w:Wallet {address: a})
SET w.typology = $typology[i], w.anomaly_flagged = $flagged[i], w.cluster = $cluster[i],
  w.anomaly_score = $score[i]
""",
)


def label_frame(folder: Path) -> pd.DataFrame:
    """labels.csv with the properties ml/ would write: typology, anomaly_flagged (laundering
    members), and a cluster (0-7) and anomaly score in [0, 1) derived from the address, so that
    filters on them have something to select."""
    lab = pd.read_csv(folder / "labels.csv", dtype=str, keep_default_na=False)
    h = lab["address"].str[2:10].apply(int, base=16).to_numpy()
    lab["anomaly_flagged"] = lab["laundering_id"] != ""
    lab["cluster"] = (h % 8).astype(int)
    lab["anomaly_score"] = ((h >> 3) % 1000) / 1000.0
    return lab


async def set_labels(store: GraphStore, lab: pd.DataFrame, batch: int = 5000) -> None:
    for i in range(0, len(lab), batch):
        part = lab.iloc[i : i + batch]
        await store.execute(
            SET_LABELS,
            {
                "address": part["address"].tolist(),
                "typology": part["typology"].tolist(),
                "flagged": [bool(x) for x in part["anomaly_flagged"]],
                "cluster": [int(x) for x in part["cluster"]],
                "score": [float(x) for x in part["anomaly_score"]],
            },
        )


async def export_frames(store: GraphStore) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The graph as two DataFrames: wallets (address, contract, token, category) and transfers."""
    cols = ["from_address", "to_address", "token", "value", "ts", "status", "hash"]
    wallets: list[pd.DataFrame] = []
    transfers: list[pd.DataFrame] = []
    async for ws, ts in store.export_pages(page=20_000):  # a frame per page: flat memory
        w = pd.DataFrame(ws)
        w["contract"] = w["labels"].apply(lambda x: "Contract" in x)
        w["token"] = w["labels"].apply(lambda x: "Token" in x)
        wallets.append(w[["address", "contract", "token", "category"]])
        transfers.append(pd.DataFrame(ts, columns=cols))
    return pd.concat(wallets, ignore_index=True), pd.concat(transfers, ignore_index=True)


def _typology_mask(codes: pd.Series, patterns: tuple[str, ...]) -> pd.Series:
    parts = codes.fillna("").str.split("-", expand=True).reindex(columns=range(4))
    ok = pd.Series(False, index=codes.index)
    for p in patterns:
        axes = p.split("-")
        m = codes.fillna("").str.count("-") == len(axes) - 1
        for i, a in enumerate(axes):
            if a != "*":
                m &= parts[i] == a
        ok |= m
    return ok


def pandas_segment(
    wallets: pd.DataFrame, labels: pd.DataFrame, transfers: pd.DataFrame, f: SegmentFilter
) -> set[str]:
    """The reference: the wallets a SegmentFilter holds, computed in pandas from the exported
    wallets and transfers and the labels written onto the wallets. Recency and categories count
    the transfers at or after `active_since`, volume those of whole UTC days from its day."""
    df = wallets.merge(labels[["address", "typology", "anomaly_flagged", "cluster", "anomaly_score"]],
                       on="address", how="left")  # fmt: skip
    m = ~df["contract"] & ~df["token"] & (df["address"] != ZERO)
    if f.addresses:
        m &= df["address"].isin([a.lower() for a in f.addresses])
    if f.typologies:
        m &= _typology_mask(df["typology"], f.typologies)
    if f.clusters:
        m &= df["cluster"].isin(f.clusters)
    if f.min_anomaly is not None:
        m &= df["anomaly_score"] >= f.min_anomaly
    if f.max_anomaly is not None:
        m &= df["anomaly_score"] <= f.max_anomaly
    if not f.include_flagged:
        m &= df["anomaly_flagged"].fillna(False) != True  # noqa: E712
    chosen = set(df.loc[m, "address"])
    if not f.reads_transfers:
        return chosen
    since = -(2**62) if f.active_since is None else f.active_since
    t = transfers[transfers["ts"] >= since // 86400 * 86400]  # volume: whole UTC days
    cat = wallets.set_index("address")["category"]
    other = t["from_address"] != t["to_address"]  # a self-transfer counts once
    both = pd.concat(
        [
            pd.DataFrame({"w": t["from_address"], "o": t["to_address"], "token": t["token"],
                          "value": t["value"], "ts": t["ts"]}),
            pd.DataFrame({"w": t.loc[other, "to_address"], "o": t.loc[other, "from_address"],
                          "token": t.loc[other, "token"], "value": t.loc[other, "value"],
                          "ts": t.loc[other, "ts"]}),
        ]
    )  # fmt: skip
    both = both[both["w"].isin(chosen)]
    both["eth"] = np.where(both["token"] == "ETH", both["value"].astype(float), 0.0)
    window = both["ts"] >= since
    both["active"] = window
    both["touch"] = (both["o"].map(cat).isin(f.categories) & window) if f.categories else False
    g = both.groupby("w").agg(volume=("eth", "sum"), active=("active", "sum"), touched=("touch", "sum"))
    keep = g["active"] > 0
    if f.min_volume is not None:
        keep &= g["volume"] >= f.min_volume
    if f.categories:
        keep &= g["touched"] > 0
    return set(g.index[keep])


def pandas_snapshot(
    wallets: pd.DataFrame, transfers: pd.DataFrame, targets: list[str], at: int, window: int, start: int,
    goal_contracts: tuple[str, ...] = (), goal_categories: tuple[str, ...] = (),
) -> pd.DataFrame:  # fmt: skip
    """The reference of a snapshot: per target, transactions sent, native volume and distinct
    counterparties in (at - window, at], goal interactions after `start` (count, first time)."""
    since = at - window
    idx = pd.Index(sorted(targets), name="address")
    t = transfers[transfers["ts"] <= at]
    win = t[t["ts"] > since]
    out = win[win["from_address"].isin(idx)]
    inn = win[win["to_address"].isin(idx)]
    eth_out = out[out["token"] == "ETH"].groupby("from_address")["value"].sum()
    eth_in = inn[inn["token"] == "ETH"].groupby("to_address")["value"].sum()
    tx = out.groupby("from_address")["hash"].nunique()
    pairs = pd.concat(
        [
            pd.DataFrame({"w": out["from_address"], "o": out["to_address"]}),
            pd.DataFrame({"w": inn["to_address"], "o": inn["from_address"]}),
        ]
    )
    pairs = pairs[pairs["w"] != pairs["o"]]
    cps = pairs.drop_duplicates().groupby("w").size()
    cat = wallets.set_index("address")["category"]
    after = t[(t["ts"] > start) & t["from_address"].isin(idx) & (t["status"] == 1)]
    goal = after[
        after["to_address"].isin(goal_contracts) | after["to_address"].map(cat).isin(goal_categories)
    ]
    frame = pd.DataFrame(index=idx)
    frame["tx"] = tx.reindex(idx).fillna(0).astype(int)
    frame["volume"] = eth_out.reindex(idx).fillna(0.0) + eth_in.reindex(idx).fillna(0.0)
    frame["counterparties"] = cps.reindex(idx).fillna(0).astype(int)
    frame["goal_tx"] = goal.groupby("from_address").size().reindex(idx).fillna(0).astype(int)
    frame["first_goal"] = goal.groupby("from_address")["ts"].min().reindex(idx)
    return frame.reset_index()


def _median(times: list[float]) -> float:
    return round(statistics.median(times), 3)


async def run(wallets: int, days: int, targets: int, repeat: int) -> None:
    from ingest.load import ingest_etl
    from ingest.synth import CampaignParams, generate
    from ml.marketing import campaigns as mc

    with tempfile.TemporaryDirectory(prefix="aidrop-bench-seg-") as tmp, embedded() as server:
        folder = Path(tmp)
        t0 = time.perf_counter()
        params = CampaignParams(target_share=targets / wallets, baseline=0.05, uplift=0.05)
        summary = generate(
            folder, wallets, days, seed=5, campaign=True, campaign_params=params, progress=False
        )
        t_synth = time.perf_counter() - t0
        store = FalkorStore(server.graph_url, "bench")
        t0 = time.perf_counter()
        await ingest_etl(store, [folder])
        t_load = time.perf_counter() - t0
        lab = label_frame(folder)
        await set_labels(store, lab)
        t0 = time.perf_counter()
        await refresh_activity(store)  # what `aidrop score` or `aidrop graph activity` writes
        t_activity = time.perf_counter() - t0
        start = 1704067200 + days * 86400 // 2
        end = 1704067200 + days * 86400
        filters = {
            "defi-holders (predefined)": SegmentFilter(typologies=("D-H-*-*",)),
            "D-*-A-* + clusters + anomaly <= 0.8": SegmentFilter(
                typologies=("D-*-A-*",), clusters=(1, 2, 3, 4, 5), max_anomaly=0.8
            ),
            "*-T-*-* active 7d, >= 1 ETH, touched DeFi": SegmentFilter(
                typologies=("*-T-*-*",), active_since=end - 7 * 86400, min_volume=1.0, categories=("DeFi",)
            ),
            "all wallets active in the last 7 days": SegmentFilter(active_since=end - 7 * 86400),
        }
        rows: list[tuple] = []
        found: dict[str, set[str]] = {}
        for name, f in filters.items():
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                members = await gm.evaluate(store, f)
                times.append(time.perf_counter() - t0)
            found[name] = {m.address for m in members}
            rows.append([name, len(members), _median(times)])

        # a campaign on the simulated targets, snapshots timed under fresh names
        camp = pd.read_csv(folder / "campaign.csv", dtype=str, keep_default_na=False)
        contracts = pd.read_csv(folder / "contracts.csv", dtype=str, keep_default_na=False)
        goal = contracts.loc[contracts["name"].str.startswith("Quest Pass"), "address"].item()
        seg, _ = await gm.save_segment(
            store, "bench-targets", "bench targets",
            SegmentFilter(addresses=tuple(camp["address"]), include_flagged=True), end,
        )  # fmt: skip
        await mc.create(store, "bench", seg.id, goal_contracts=[goal], start=start, now=start)
        snap_times = []
        for i in range(repeat):
            t0 = time.perf_counter()
            snap, taken = await mc.snapshot(store, "bench", f"run-{i}", at=end)
            snap_times.append(time.perf_counter() - t0)
            assert taken
        ours = pd.DataFrame(await gm.snapshot_rows(store, "bench", "run-0"))

        # pandas over the exported graph
        t0 = time.perf_counter()
        w_df, t_df = await export_frames(store)
        t_export = time.perf_counter() - t0
        for row, (name, f) in zip(rows, filters.items(), strict=True):
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                ref = pandas_segment(w_df, lab, t_df, f)
                times.append(time.perf_counter() - t0)
            assert ref == found[name], f"{name}: aidrop and pandas differ ({len(found[name])} vs {len(ref)})"
            row += [_median(times), round(row[2] and _median(times) / row[2], 1)]
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            ref_snap = pandas_snapshot(w_df, t_df, list(camp["address"]), end, 7 * 86400, start, (goal,))
            times.append(time.perf_counter() - t0)
        merged = ours.merge(ref_snap, on="address", suffixes=("", "_ref"))
        assert len(merged) == len(camp) == len(ours)
        for col in ("tx", "counterparties", "goal_tx"):
            assert (merged[col] == merged[f"{col}_ref"]).all(), col
        assert np.allclose(merged["volume"], merged["volume_ref"], rtol=1e-9, atol=1e-9)
        assert (merged["first_goal"].fillna(-1) == merged["first_goal_ref"].fillna(-1)).all()

        load = os.getloadavg()
        print(f"\n{wallets:,} wallets, {days} days: {summary.transfers:,} transfers")
        print(f"synth {t_synth:.1f} s, bulk load {t_load:.1f} s, activity summary {t_activity:.1f} s; "
              f"export to pandas {t_export:.1f} s")  # fmt: skip
        seg_rows = [(n, f"{k:,}", f"{a:.3f}", f"{p:.3f}", f"{r}x") for n, k, a, p, r in rows]
        print(table(seg_rows, ("segment", "wallets", "aidrop s", "pandas s", "pandas/aidrop")))
        snap_row = (
            f"snapshot of {len(ours):,} targets",
            f"{_median(snap_times):.3f}",
            f"{_median(times):.3f}",
        )
        print(table([snap_row], ("", "aidrop s", "pandas s (after export)")))
        print(f"median of {repeat}; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
              f"peak RSS {peak_rss_mb():.0f} MB")  # fmt: skip
        await store.close()


def main(argv: list[str] | None = None) -> Any:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--wallets", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=28)
    ap.add_argument("--targets", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args(argv)
    asyncio.run(run(a.wallets, a.days, a.targets, a.repeat))


if __name__ == "__main__":
    main()
