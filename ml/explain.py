"""Why a wallet got its score: per-feature contributions.

Tree ensembles: the path decomposition (Saabas): walking a tree from the root to the wallet's
leaf, each split moves the predicted probability; the move is credited to the split's feature.
A tree's prediction is the root value plus the sum of its contributions, so the forest's
probability is the mean root value plus the mean contributions. Large forests are explained
from a fixed subset of their trees (an unbiased estimate of the mean, at a fraction of the
cost). Blends of ranked signals (the label-free score) explain themselves: weight x signal."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

EXPLAIN_TREES = 32  # trees used to explain a forest
TOP = 5


def _tree_tables(tree: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per node: the contributions accumulated on the path to it (nodes x features x classes),
    and the node values (class probabilities)."""
    t = tree.tree_
    values = t.value[:, 0, :].astype(float)
    values = values / np.maximum(values.sum(1, keepdims=True), 1e-12)
    n_nodes = t.node_count
    parent = np.full(n_nodes, -1)
    left, right = t.children_left, t.children_right
    inner = np.flatnonzero(left >= 0)
    parent[left[inner]] = inner
    parent[right[inner]] = inner
    depth = np.zeros(n_nodes, dtype=np.int64)
    for node in range(1, n_nodes):  # nodes are numbered in preorder: parents come first
        depth[node] = depth[parent[node]] + 1
    contrib = np.zeros((n_nodes, t.n_features, values.shape[1]))
    for level in range(1, int(depth.max()) + 1 if n_nodes > 1 else 1):
        nodes = np.flatnonzero(depth == level)
        par = parent[nodes]
        contrib[nodes] = contrib[par]
        contrib[nodes, t.feature[par], :] += values[nodes] - values[par]
    return contrib, values


def forest_contributions(
    forest: Any, X: np.ndarray, target: np.ndarray | int, trees: int = EXPLAIN_TREES
) -> np.ndarray:
    """Contributions (samples x features) toward class index `target` (one per sample or one
    for all) of a fitted sklearn forest of decision trees."""
    estimators = list(forest.estimators_)
    if len(estimators) > trees:
        estimators = [estimators[i] for i in np.linspace(0, len(estimators) - 1, trees).astype(int)]
    X = np.asarray(X, dtype=np.float32)
    target = np.broadcast_to(np.asarray(target), (len(X),))
    out = np.zeros((len(X), X.shape[1]))
    rows = np.arange(len(X))
    for est in estimators:
        contrib, _ = _tree_tables(est)
        leaves = est.apply(X)
        out += contrib[leaves, :, target[rows]] if contrib.shape[2] > 1 else contrib[leaves, :, 0]
    return out / len(estimators)


def top_factors(
    contributions: np.ndarray, names: Sequence[str], values: np.ndarray | None = None, top: int = TOP
) -> list[list[dict[str, Any]]]:
    """Per row: the `top` features by absolute contribution, largest first."""
    k = min(top, contributions.shape[1])
    order = np.argsort(-np.abs(contributions), axis=1)[:, :k]
    result = []
    for i, idx in enumerate(order):
        row = []
        for j in idx:
            c = float(contributions[i, j])
            if c == 0.0:
                continue
            item = {"feature": names[j], "contribution": round(c, 4)}
            if values is not None:
                v = float(values[i, j])
                item["value"] = None if np.isnan(v) else round(v, 6)
            row.append(item)
        result.append(row)
    return result


def to_json(factors: list[Any]) -> list[str]:
    return [json.dumps(f, separators=(",", ":")) for f in factors]
