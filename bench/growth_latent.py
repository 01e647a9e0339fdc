"""What the generator's latent state would add to the growth models (issue 17), one synthetic
seed: a diagnostic of the synthetic ground truth, not of the models (no model reads it).

- dormancy, on a validation split that ends at T2 (trained up to T1 - 30 d, judged at T1 = T2 -
  30 d): the model's features alone, with each wallet's true rate, with its true activity factor
  at T (0 while dormant), with both;
- propensity at T2 per category: trees on the latent state alone (adopted before T but not yet
  seen using it, rate, activity factor, focus, friends using it) and on parts of it.

.venv/bin/python bench/growth_latent.py [--wallets 20000 --days 180 --seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path[0] = str(Path(__file__).resolve().parents[1])

from bench.common import embedded, load_average  # noqa: E402
from bench.growth import _latent_world  # noqa: E402
from graph.falkor import FalkorStore  # noqa: E402


async def _graph(wallets: int, days: int, seed: int):
    from graph.features import load_wallet_graph
    from ingest.load import ingest_etl
    from ingest.synth import LifecycleParams, generate

    with embedded() as server, tempfile.TemporaryDirectory(prefix="aidrop-growth-") as tmp:
        generate(Path(tmp) / "s", wallets, days, seed=seed, lifecycle=LifecycleParams(), progress=False)
        store = FalkorStore(server.graph_url, f"latent{seed}")
        await ingest_etl(store, [Path(tmp) / "s"])
        graph = await load_wallet_graph(store)
        await store.close()
    return graph


def main() -> None:
    from ingest.synth.lifecycle import CATEGORIES, SLOT_WEIGHT, friends_of
    from ml.growth.evaluate import rank_metrics
    from ml.growth.features import ACTIVITY, AsOf
    from ml.growth.models import GrowthClassifier
    from ml.growth.timeline import DAY, Timeline, adoption_outcome, propensity_population
    from ml.growth.train import Split, churn_examples

    ap = argparse.ArgumentParser()
    ap.add_argument("--wallets", type=int, default=20_000)
    ap.add_argument("--days", type=int, default=180)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    print(f"load before: {load_average()}", flush=True)
    graph = asyncio.run(_graph(args.wallets, args.days, args.seed))
    tl = Timeline(graph)
    world, humans = _latent_world(args.seed, args.wallets, args.days)
    life = world.lifecycle
    pos = graph.positions(humans)
    wallet_of = np.full(graph.n, -1)
    wallet_of[pos[pos >= 0]] = np.flatnonzero(pos >= 0)

    def judge(train: list[tuple[pd.DataFrame, np.ndarray]], test: tuple[pd.DataFrame, np.ndarray],
              cols: list[str]) -> str:  # fmt: skip
        X = pd.concat([p[0][cols] for p in train], ignore_index=True)
        model = GrowthClassifier().fit(X, np.concatenate([p[1] for p in train]))
        r = rank_metrics(test[1], model.predict_proba(test[0][cols])[:, 1])
        top, lift = r["top_decile_precision"], r["top_decile_lift"]
        return f"AUC {r['auc']:.3f}, top-decile precision {top:.3f}, lift {lift:.2f}"

    t2 = tl.end - 30 * DAY
    tv = t2 - 30 * DAY

    def churn(t: int) -> tuple[pd.DataFrame, np.ndarray]:
        rows, X, y = churn_examples(tl, t, 30, AsOf(tl, t))
        assert y is not None
        keep = wallet_of[rows] >= 0
        w, X = wallet_of[rows[keep]], X[keep].reset_index(drop=True)
        X["true_rate"] = world.pop.rate[w]
        X["true_factor"] = life.activity[w, int((t - life.t0) // DAY) - 1] / 255.0
        return X, y[keep]

    train = [churn(t) for t in Split.fitting(tl, tv).training_times()]
    test = churn(tv)
    print(f"dormancy, validation split (judged at T2 - 30 d on outcomes up to T2), seed {args.seed}:")
    for name, extra in (("features", []), ("+ true rate", ["true_rate"]),
                        ("+ true activity factor at T", ["true_factor"]),
                        ("+ both", ["true_rate", "true_factor"])):  # fmt: skip
        print(f"  {name}: {judge(train, test, [*ACTIVITY, *extra])}", flush=True)

    friends = friends_of(args.wallets, world.peer_key)
    weight = SLOT_WEIGHT / SLOT_WEIGHT.sum()
    print(f"propensity at T2 from the latent state only, seed {args.seed}:")
    for c, category in enumerate(CATEGORIES):
        target = tl.target(category)
        first = tl.first_touch(target)

        def latent(t: int, c: int = c, target=target, first=first) -> tuple[pd.DataFrame, np.ndarray]:
            rows = propensity_population(tl, target, t, first)
            rows = rows[wallet_of[rows] >= 0]
            w = wallet_of[rows]
            d = (t - life.t0) / DAY
            used = life.adopted[:, c] <= d
            X = pd.DataFrame({"adopted_unseen": used[w], "rate": world.pop.rate[w],
                              "factor": life.activity[w, int(d) - 1] / 255.0, "focus": life.focus[w] == c,
                              "friends_using": (used[friends[w]] * weight).sum(axis=1)})  # fmt: skip
            return X, adoption_outcome(first, rows, t, 30)

        train = [latent(t) for t in Split.fitting(tl, t2).training_times()]
        test = latent(t2)
        share = float(test[0]["adopted_unseen"][test[1] == 1].mean())
        print(f"  {category}: {share:.0%} of the positives adopted before T unseen", flush=True)
        for cols in (["adopted_unseen", "rate", "factor", "focus", "friends_using"], ["adopted_unseen"],
                     ["rate", "factor"], ["friends_using"]):  # fmt: skip
            print(f"    {', '.join(cols)}: {judge(train, test, cols)}", flush=True)
    print(f"load after: {load_average()}", flush=True)


if __name__ == "__main__":
    main()
