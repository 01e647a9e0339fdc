"""Growth models (issue 17) by time, with their baselines in the same run:

- synthetic: `aidrop synth --lifecycle` chains (default 20,000 wallets x 180 days, seeds 1-3),
  loaded into an embedded FalkorDB and judged exactly as `aidrop evaluate churn` and
  `aidrop evaluate propensity --category C` do (T2 = last day - 30, T1 = T2 - 30);
- real: the xblock-phishing transactions (no target; the method's figures on real data);
- scoring: `aidrop score` on about 1M synthetic transfers with and without the growth models.
- ceiling (synthetic, per seed): what a model that could read the generator's latent state at T
  (each wallet's rate, whether it is dormant and for how long, its activity factor, the share
  of its friends dormant) reaches with the same trees, training set and judging. No feature of
  the real models reads this; it only shows how much of the dormancy outcome is knowable at T.

.venv/bin/python bench/growth.py [--only synth|xblock|scoring] [--wallets 20000 --days 180 --seeds 1,2,3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path[0] = str(Path(__file__).resolve().parents[1])

from bench.common import embedded, load_average, table  # noqa: E402
from graph.falkor import FalkorStore  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
XBLOCK = ROOT.parent / "shared" / "datasets" / "xblock-phishing"
CATEGORIES = ("DeFi", "NFT", "Gaming", "Social")


def _row(name: str, r: dict) -> dict:
    m, b = r["model"], r["baseline"]
    return {
        "task": name,
        "n": m["n"],
        "base_rate": m["base_rate"],
        "auc": m["auc"],
        "auc_baseline": b["auc"],
        "top_precision": m["top_decile_precision"],
        "top_precision_baseline": b["top_decile_precision"],
        "top_lift": m["top_decile_lift"],
        "top_lift_baseline": b["top_decile_lift"],
        "ece": m["ece"],
        "ece_baseline": b["ece"],
        "seconds": r["seconds"],
    }


async def _judge(store: FalkorStore, contracts: list[str] | None = None) -> list[dict]:
    from graph.features import load_wallet_graph
    from ml.growth.evaluate import evaluate_churn, evaluate_propensity
    from ml.growth.timeline import Timeline

    graph = await load_wallet_graph(store)
    tl = Timeline(graph)
    rows = [_row("churn", evaluate_churn(graph, tl=tl))]
    if contracts is not None:
        rows.append(
            _row("propensity (10 busiest receivers)", evaluate_propensity(graph, contracts=contracts, tl=tl))
        )
    for c in (c for c in CATEGORIES if c in tl.categories):
        rows.append(_row(f"propensity {c}", evaluate_propensity(graph, category=c, tl=tl)))
    return rows


def _latent_world(seed: int, wallets: int, days: int):
    """The generator's latent world for a seed, rebuilt as `generate` builds it (same streams)."""
    import ingest.synth as synth
    from ingest.synth import LifecycleParams
    from ingest.synth.activity import World
    from ingest.synth.clock import DEFAULT_START

    params = LifecycleParams()
    catalog = synth.build_catalog(synth._rng(seed, synth._CATALOG), wallets, days, None)
    pop = synth.build_population(synth._rng(seed, synth._POPULATION), wallets, DEFAULT_START, days)
    pop.start = synth.onboarding(
        synth._rng(seed, synth._LIFECYCLE, 1), params, pop.start, DEFAULT_START, days
    )
    world = World.build(seed, DEFAULT_START, days, pop, catalog)
    _, addresses = synth._address_table(world.human0 + wallets, seed)
    world.lifecycle = synth._lifecycle(synth._rng(seed, synth._LIFECYCLE), params, world)
    return world, addresses[world.human0 : world.human0 + wallets]


def _ceiling(graph, tl, seed: int, wallets: int, days: int) -> dict:
    """Dormancy judged as `aidrop evaluate churn` does, by trees that read the latent state at T."""
    from ingest.synth.lifecycle import SLOT_WEIGHT, friends_of
    from ml.growth.evaluate import rank_metrics
    from ml.growth.models import GrowthClassifier
    from ml.growth.timeline import DAY, churn_population, dormancy_outcome
    from ml.growth.train import Split

    world, humans = _latent_world(seed, wallets, days)
    life = world.lifecycle
    pos = graph.positions(humans)
    wallet_of = np.full(graph.n, -1)
    wallet_of[pos[pos >= 0]] = np.flatnonzero(pos >= 0)
    friends = friends_of(wallets, world.peer_key)
    weight = SLOT_WEIGHT / SLOT_WEIGHT.sum()

    def latent(t: int):
        rows = churn_population(tl, t)
        rows = rows[wallet_of[rows] >= 0]
        w = wallet_of[rows]
        d = int((t - life.t0) // DAY)
        awake = life.activity[:, :d] > 0
        dormant_for = np.where(awake[w, -1], 0, np.argmax(awake[w, ::-1], axis=1))
        friends_dormant = ((~awake[:, -1])[friends[w]] * weight).sum(axis=1)
        X = pd.DataFrame({"rate": world.pop.rate[w], "factor": life.activity[w, d - 1] / 255.0,
                          "dormant_days": dormant_for, "friends_dormant": friends_dormant})  # fmt: skip
        return X, dormancy_outcome(tl, rows, t, 30)

    t2 = tl.end - 30 * DAY
    parts = [latent(t) for t in Split.fitting(tl, t2).training_times()]
    model = GrowthClassifier().fit(pd.concat([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
    X, y = latent(t2)
    m = rank_metrics(y, model.predict_proba(X)[:, 1])
    return {"n": m["n"], "auc": m["auc"], "top_precision": m["top_decile_precision"],
            "dormant_at_t_share_of_positives": float((X["factor"][y == 1] == 0).mean())}  # fmt: skip


async def synthetic(args: argparse.Namespace) -> list[dict]:
    from ingest.load import ingest_etl
    from ingest.synth import LifecycleParams, generate

    out = []
    for seed in args.seeds:
        with embedded() as server, tempfile.TemporaryDirectory(prefix="aidrop-growth-") as tmp:
            started = time.perf_counter()
            summary = generate(Path(tmp) / "s", args.wallets, args.days, seed=seed,
                               lifecycle=LifecycleParams(), progress=False)  # fmt: skip
            store = FalkorStore(server.graph_url, f"growth{seed}")
            await ingest_etl(store, [Path(tmp) / "s"])
            load = time.perf_counter() - started
            rows = await _judge(store)
            if args.ceiling:
                from graph.features import load_wallet_graph
                from ml.growth.timeline import Timeline

                graph = await load_wallet_graph(store)
                ceiling = _ceiling(graph, Timeline(graph), seed, args.wallets, args.days)
                rows[0]["ceiling"] = ceiling
            await store.close()
        for r in rows:
            r.update(seed=seed, transfers=summary.transfers, load_s=round(load, 1))
            print(json.dumps(r), flush=True)
        out += rows
    return out


async def xblock() -> list[dict]:
    from ingest.load import ingest_etl

    tx = pd.read_csv(XBLOCK / "transactions.csv", usecols=["from_address", "to_address"], dtype=str)
    senders = tx.dropna().drop_duplicates().groupby("to_address").size()
    busiest = senders.sort_values(ascending=False).index[:10].tolist()
    with embedded() as server:
        store = FalkorStore(server.graph_url, "xblock")
        await ingest_etl(store, [XBLOCK])
        rows = await _judge(store, busiest)
        await store.close()
    for r in rows:
        r["data"] = "xblock"
        print(json.dumps(r), flush=True)
    return rows


async def scoring(wallets: int, days: int, repeats: int = 3) -> dict:
    """`aidrop score` (ml.pipeline.score) on one `synth --lifecycle` chain, once to fit and
    register every model, then alternately without and with the growth models, best of
    `repeats` each; the growth stage's own seconds from the pipeline's timer."""
    from ingest.load import ingest_etl
    from ingest.synth import LifecycleParams, generate
    from ml.pipeline import Timer, score
    from ml.registry import Registry

    out: dict = {"wallets": wallets, "days": days}
    with embedded() as server, tempfile.TemporaryDirectory(prefix="aidrop-growth-") as tmp:
        summary = generate(
            Path(tmp) / "s", wallets, days, seed=1, lifecycle=LifecycleParams(), progress=False
        )
        store = FalkorStore(server.graph_url, "growthscore")
        await ingest_etl(store, [Path(tmp) / "s"])
        out["transfers"] = summary.transfers
        registry = Registry(Path(tmp) / "data")
        started = time.perf_counter()
        first = await score(store, registry)
        out["fit_and_score_s"] = round(time.perf_counter() - started, 2)
        out["trained"] = first.trained
        runs: dict[str, list[float]] = {"without": [], "with": []}
        stages: dict[str, list[dict[str, float]]] = {"without": [], "with": []}
        for _ in range(repeats):
            for name in ("without", "with"):
                timer = Timer()
                started = time.perf_counter()
                await score(store, registry, timer=timer, growth=name == "with")
                runs[name].append(time.perf_counter() - started)
                stages[name].append({k: round(v, 2) for k, v in timer.stages.items()})
        await store.close()
    out["without_s"] = round(min(runs["without"]), 2)
    out["with_s"] = round(min(runs["with"]), 2)
    out["growth_stage_s"] = round(min(s.get("growth", 0.0) for s in stages["with"]), 2)
    # the stages of each side's fastest run: where the difference goes (the growth stage, the
    # write-back of its columns)
    out["stages"] = {k: stages[k][int(np.argmin(runs[k]))] for k in runs}
    out["ratio"] = round(out["with_s"] / out["without_s"], 3)
    out["runs"] = {k: [round(x, 2) for x in v] for k, v in runs.items()}
    print(json.dumps(out), flush=True)
    return out


def _summary(rows: list[dict]) -> str:
    by: dict[str, list[dict]] = {}
    for r in rows:
        by.setdefault(r["task"], []).append(r)
    lines = []
    for task, rs in by.items():

        def stat(key: str, rs: list[dict] = rs) -> str:
            v = np.array([r[key] for r in rs if r[key] is not None], dtype=float)
            return f"{v.mean():.3f} [{v.min():.3f}-{v.max():.3f}]" if len(v) else "-"

        ratio = np.array([r["top_precision"] / r["top_precision_baseline"] for r in rs
                          if r["top_precision_baseline"]])  # fmt: skip
        lines.append((task, len(rs), stat("base_rate"), stat("auc"), stat("auc_baseline"),
                      stat("top_precision"), stat("top_precision_baseline"), stat("top_lift"),
                      stat("top_lift_baseline"),
                      f"{ratio.mean():.2f} [{ratio.min():.2f}-{ratio.max():.2f}]" if len(ratio) else "-",
                      stat("ece")))  # fmt: skip
    head = ("task", "runs", "base rate", "AUC", "AUC base", "top-10% prec", "base", "top-10% lift", "base",
            "top ratio", "ECE")  # fmt: skip
    return table(lines, head)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=["synth", "xblock", "scoring"], default=None)
    ap.add_argument("--scoring-wallets", type=int, default=11_000, help="about 1M transfers over --days")
    ap.add_argument("--wallets", type=int, default=20_000)
    ap.add_argument("--days", type=int, default=180)
    ap.add_argument("--seeds", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2, 3])
    ap.add_argument("--no-ceiling", dest="ceiling", action="store_false",
                    help="skip the latent-state ceiling of dormancy (synthetic only)")  # fmt: skip
    args = ap.parse_args()
    print(f"load before: {load_average()}", flush=True)
    if args.only in (None, "synth"):
        rows = asyncio.run(synthetic(args))
        print(f"synthetic {args.wallets:,} wallets x {args.days} days, seeds {args.seeds}")
        print(_summary(rows))
        for r in rows:
            if "ceiling" in r:
                c = r["ceiling"]
                print(
                    f"seed {r['seed']}: dormancy from the latent state at T (ceiling): AUC {c['auc']:.3f}, "
                    f"top-decile precision {c['top_precision']:.3f} "
                    f"({c['top_precision'] / r['top_precision_baseline']:.2f}x recency-frequency's); "
                    f"{c['dormant_at_t_share_of_positives']:.0%} of the positives already dormant at T"
                )
    if args.only in (None, "scoring"):
        r = asyncio.run(scoring(args.scoring_wallets, args.days))
        print(
            f"aidrop score on {r['transfers']:,} transfers ({r['wallets']:,} wallets x {r['days']} d), "
            f"models fitted (first run {r['fit_and_score_s']} s):"
        )
        lines = [("without growth models", r["without_s"], "1.00x"),
                ("with growth models", r["with_s"], f"{r['ratio']:.2f}x"),
                ("of which the growth stage", r["growth_stage_s"], "")]  # fmt: skip
        print(table(lines, ("aidrop score", "s", "ratio")))
    if args.only in (None, "xblock") and XBLOCK.exists():
        print("xblock-phishing (real, no target)")
        print(_summary(asyncio.run(xblock())))
    print(f"load after: {load_average()}", flush=True)


if __name__ == "__main__":
    main()
