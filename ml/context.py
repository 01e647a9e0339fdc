"""Graph context of a wallet: the mean of its senders' and its receivers' features (log scale),
as GraphSAGE's mean aggregator does in one layer, without training."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse

from graph.features import WalletGraph
from ml.features import feature_names

# the neighbourhood means cover every feature but absolute time (prefixed snd_ and rcv_)
CONTEXT = tuple(feature_names(False))


def log_scale(frame: pd.DataFrame) -> pd.DataFrame:
    """sign(x) log(1 + |x|), NaN as the column median (0 if all missing)."""
    values = np.sign(frame) * np.log1p(np.abs(frame))
    return values.fillna(values.median()).fillna(0.0)


def context_features(graph: WalletGraph, features: pd.DataFrame, columns: tuple[str, ...] = CONTEXT
                     ) -> pd.DataFrame:  # fmt: skip
    n = graph.n
    cols = [c for c in columns if c in features]
    x = log_scale(features[cols]).to_numpy()
    e = graph.edges
    adj = sparse.csr_matrix((np.ones(len(e)), (e["src"].to_numpy(), e["dst"].to_numpy())), shape=(n, n))
    adj.sum_duplicates()
    adj.data[:] = 1.0  # each counterparty once
    out = {}
    for prefix, matrix in (("snd_", adj.T.tocsr()), ("rcv_", adj)):
        count = np.asarray(matrix.sum(1)).ravel()
        mean = (matrix @ x) / np.maximum(count, 1)[:, None]
        mean[count == 0] = np.nan
        out.update({prefix + c: mean[:, i] for i, c in enumerate(cols)})
    return pd.DataFrame(out, index=features.index)
