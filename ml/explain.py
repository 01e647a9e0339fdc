"""Why a wallet got its score: per-feature contributions.

Tree ensembles: the path decomposition (Saabas): walking a tree from the root to the wallet's
leaf, each split moves the predicted probability; the move is credited to the split's feature.
A tree's prediction is the root value plus the sum of its contributions, so the forest's
probability is the mean root value plus the mean contributions. Large forests are explained
from a fixed subset of their trees (an unbiased estimate of the mean, at a fraction of the
cost). Blends of ranked signals (the label-free score) explain themselves: weight x signal."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

EXPLAIN_TREES = 24  # trees used to explain a forest
TOP = 3


def _tree_tables(tree: Any) -> np.ndarray:
    """Per node: the contributions accumulated on the path to it (classes x nodes x features)."""
    t = tree.tree_
    values = t.value[:, 0, :].astype(np.float32)
    values = values / np.maximum(values.sum(1, keepdims=True), 1e-12)
    n_nodes = t.node_count
    parent = np.full(n_nodes, -1)
    left, right = t.children_left, t.children_right
    inner = np.flatnonzero(left >= 0)
    parent[left[inner]] = inner
    parent[right[inner]] = inner
    depth = np.zeros(n_nodes, dtype=np.int64)
    up = parent.copy()
    while (up >= 0).any():
        depth += up >= 0
        up = np.where(up >= 0, parent[np.clip(up, 0, None)], -1)
    contrib = np.zeros((values.shape[1], n_nodes, t.n_features), dtype=np.float32)
    for level in range(1, int(depth.max()) + 1):
        nodes = np.flatnonzero(depth == level)
        par = parent[nodes]
        contrib[:, nodes] = contrib[:, par]
        contrib[:, nodes, t.feature[par]] += (values[nodes] - values[par]).T
    return contrib


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
    classes = np.unique(target)
    masks = {int(c): np.flatnonzero(target == c) for c in classes}
    out = np.zeros((len(X), X.shape[1]), dtype=np.float32)
    for est in estimators:
        table = _tree_tables(est)
        leaves = est.apply(X)
        for c, rows in masks.items():
            if len(rows) == len(X):
                out += table[c][leaves]
            else:
                out[rows] += table[c][leaves[rows]]
    return out / len(estimators)


def _top(contributions: np.ndarray, top: int) -> np.ndarray:
    """Column indices of the `top` largest |contributions| per row, largest first."""
    k = min(top, contributions.shape[1])
    mag = np.abs(contributions)
    if k == 1:
        return np.argmax(mag, axis=1)[:, None]
    idx = (
        np.argpartition(-mag, k - 1, axis=1)[:, :k]
        if k < mag.shape[1]
        else np.tile(np.arange(k), (len(mag), 1))
    )
    order = np.argsort(-np.take_along_axis(mag, idx, axis=1), axis=1, kind="stable")
    return np.take_along_axis(idx, order, axis=1)


def _num(v: float) -> str:
    return "null" if not math.isfinite(v) else f"{v:.6g}"


def top_factors(
    contributions: np.ndarray, names: Sequence[str], values: np.ndarray | None = None, top: int = TOP
) -> list[str]:
    """Per row, as JSON: the `top` features by absolute contribution, largest first, each
    {"feature", "contribution"[, "value"]}; zero contributions left out."""
    if not len(contributions):
        return []
    idx = _top(contributions, top)
    rows = np.arange(len(contributions))[:, None]
    contrib = contributions[rows, idx]
    vals = values[rows, idx] if values is not None else None
    quoted = [json.dumps(n) for n in names]
    out = []
    # plain lists: indexing numpy arrays element by element costs several times more
    idx_rows, contrib_rows = idx.tolist(), contrib.astype(float).tolist()
    val_rows = vals.astype(float).tolist() if vals is not None else None
    for i, (cols, cs) in enumerate(zip(idx_rows, contrib_rows, strict=True)):
        items = []
        for j, (k, c) in enumerate(zip(cols, cs, strict=True)):
            if c == 0.0:
                continue
            text = f'{{"feature":{quoted[k]},"contribution":{c:.4g}'
            if val_rows is not None:
                text += f',"value":{_num(val_rows[i][j])}'
            items.append(text + "}")
        out.append("[" + ",".join(items) + "]")
    return out


def to_json(items: list[Any]) -> list[str]:
    return [json.dumps(x, separators=(",", ":")) for x in items]
