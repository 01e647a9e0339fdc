"""Pairwise measures of sybil clusters against labels: a pair of wallets is predicted together
when both are in the same cluster, truly together when both are in the same farm."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd


def _pairs(groups: Mapping[str, str]) -> int:
    sizes = pd.Series(list(groups.values())).value_counts()
    return int((sizes * (sizes - 1) // 2).sum())


def pairwise(predicted: Mapping[str, str], truth: Mapping[str, str]) -> dict[str, float]:
    """predicted / truth: address -> cluster (wallets in no cluster left out). Precision and
    recall over same-cluster pairs; precision is 1.0 when nothing is predicted."""
    both = pd.DataFrame({"p": pd.Series(predicted, dtype=object)}).join(
        pd.Series(truth, dtype=object, name="t"), how="inner"
    )
    sizes = both.groupby(["p", "t"]).size()
    hits = int((sizes * (sizes - 1) // 2).sum())
    pred, true = _pairs(predicted), _pairs(truth)
    return {
        "precision": hits / pred if pred else 1.0,
        "recall": hits / true if true else 1.0,
        "predicted_pairs": pred,
        "true_pairs": true,
    }


def merged_lookalikes(predicted: Mapping[str, str], lookalike: Mapping[str, str], truth: Mapping[str, str]
                      ) -> dict[str, int]:  # fmt: skip
    """Honest look-alike groups with two or more members in one cluster (group -> wallets so
    placed), and honest wallets in clusters at all (key `honest_in_clusters`)."""
    frame = pd.DataFrame({"p": pd.Series(predicted, dtype=object)})
    # reindexed: assigning a Series to an empty frame would take the Series' index
    frame["g"] = pd.Series(lookalike, dtype=object).reindex(frame.index)
    frame["t"] = pd.Series(truth, dtype=object).reindex(frame.index)
    out: dict[str, int] = {}
    for (g, _), size in frame.dropna(subset=["g"]).groupby(["g", "p"]).size().items():
        if size >= 2:
            out[g] = out.get(g, 0) + int(size)
    out["honest_in_clusters"] = int(frame["t"].isna().sum())
    return out
