"""One wallet scored on its neighbourhood with the active models, instead of the whole graph
(docs/ml.md, "One wallet at a time").

The neighbourhood (graph/features.py `load_neighbourhood`) holds every transfer of the wallet and
of its counterparties, so the wallet's own features are those a whole-graph run computes, except
RELATIVE_FEATURES (against medians, chance rates or walks of the graph given: the
neighbourhood's); its PPR is the last whole-graph run's, kept on the wallet, where it has one.
The supervised anomaly model, the typology and the clusters score each wallet on its own
features. The label-free score ranks a wallet against the others and detects patterns against
chance rates of the graph it is given; around one wallet it can only add evidence: it is the
larger of the stored score and the neighbourhood's, and a flagged wallet stays flagged. The rank
is the score's place among the stored scores. A whole-graph run (`aidrop score`) brings
everything back in line."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from graph.features import WalletGraph
from graph.wallet_analysis import WalletAnalysis
from ml.dataset import build_dataset
from ml.explain import to_json
from ml.motifs import MOTIF_FEATURES
from ml.registry import Artifact
from ml.typology import eligible_wallets

# features computed against the graph they are given (medians per asset and per day, chance
# rates, random walks): around one wallet they are the neighbourhood's, not the whole graph's
RELATIVE_FEATURES = frozenset({
    "ppr", "pagerank", "fee_vs_day", "peer_in_max", "peer_out_max", "peer_in_burst", "peer_out_burst",
    "sender_burst", "receiver_burst", *MOTIF_FEATURES,
})  # fmt: skip


@dataclass(frozen=True)
class ActiveModels:
    """The active anomaly model, typology and clusters, loaded."""

    anomaly: Artifact
    typology: Artifact
    clusters: Artifact


def score_wallet(
    graph: WalletGraph, address: str, stored: WalletAnalysis, models: ActiveModels
) -> WalletAnalysis:
    """The wallet's analysis from its neighbourhood `graph`, `stored` being what it holds (the
    rank is left to the caller, which reads the stored scores)."""
    ds = build_dataset(graph)
    i = int(graph.positions([address])[0])
    if i < 0:
        raise ValueError(f"wallet {address} is not in its neighbourhood")
    if stored.ppr is not None:  # graph-wide: the last whole-graph run's value
        ds.features.loc[ds.features.index[i], "ppr"] = float(stored.ppr)
    anomaly = models.anomaly
    result = anomaly.obj.predict_result(ds)
    score, flagged = float(result.score[i]), bool(result.flagged[i])
    explanation = result.explanation[i] if len(result.explanation) else None
    same_model = stored.anomaly_model == anomaly.model
    if not anomaly.obj.supervised and same_model and stored.anomaly_score is not None:
        flagged = flagged or bool(stored.anomaly_flagged)
        if float(stored.anomaly_score) >= score:  # no new evidence around it: the stored score
            score, explanation = float(stored.anomaly_score), stored.anomaly_explanation
    code = axes = typology_explanation = None
    if i in set(eligible_wallets(graph.wallets, ds.features).tolist()):
        pred = models.typology.obj.predict(ds.features, np.array([i]))
        code, axes, typology_explanation = pred["code"][0], to_json(pred["axes"])[0], pred["explanation"][0]
    cluster = int(models.clusters.obj.predict(ds.features.iloc[[i]])[0])
    return WalletAnalysis(
        typology=code,
        typology_axes=axes,
        typology_explanation=typology_explanation,
        typology_version=models.typology.version,
        cluster=cluster,
        cluster_version=models.clusters.version,
        anomaly_score=score,
        anomaly_flagged=flagged,
        anomaly_model=anomaly.model,
        anomaly_version=anomaly.version,
        anomaly_explanation=explanation,
        ppr=stored.ppr,  # none for a wallet no whole-graph run has seen
    )
