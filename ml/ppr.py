"""Personalised PageRank over transfers held in memory (scipy sparse), the reference for the
in-database variants in graph/ppr.py. Transitions follow money: weight tx_count, dangling
wallets return their mass to the restart vector; `alpha` is the restart probability."""

from __future__ import annotations

import numpy as np
from scipy import sparse

ALPHA = 0.5


def transition(
    src: np.ndarray, dst: np.ndarray, weight: np.ndarray, n: int
) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Column-stochastic transition matrix P (P[v, u] = w(u->v) / w(u)) and the dangling mask."""
    outw = np.bincount(src, weights=weight, minlength=n)
    scale = np.divide(weight, outw[src], out=np.zeros_like(weight, dtype=float), where=outw[src] > 0)
    matrix = sparse.csr_matrix((scale, (dst, src)), shape=(n, n))
    return matrix, outw == 0


def personalized_pagerank(
    src: np.ndarray,
    dst: np.ndarray,
    weight: np.ndarray,
    n: int,
    restart: np.ndarray,
    alpha: float = ALPHA,
    tol: float = 1e-12,
    max_iter: int = 200,
) -> np.ndarray:
    """PPR by power iteration: x = alpha p0 + (1 - alpha) (P x + dangling(x) p0); sums to 1."""
    p0 = np.asarray(restart, dtype=float)
    total = p0.sum()
    if n == 0 or total <= 0:
        return np.zeros(n)
    p0 = p0 / total
    matrix, dangling = transition(src, dst, np.asarray(weight, dtype=float), n)
    x = p0.copy()
    for _ in range(max_iter):
        nxt = alpha * p0 + (1 - alpha) * (matrix @ x + x[dangling].sum() * p0)
        delta = np.abs(nxt - x).sum()
        x = nxt
        if delta < tol:
            break
    return x


def source_restart(src: np.ndarray, dst: np.ndarray, n: int) -> np.ndarray:
    """Restart vector of the MPOCryptoML sources: wallets nothing was sent to (every wallet
    when there are none)."""
    indeg = np.bincount(dst, minlength=n)
    sources = (indeg == 0).astype(float)
    return sources if sources.sum() > 0 else np.ones(n)
