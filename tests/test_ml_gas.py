"""Gas features (ml/features.py) from the transfers' fees: totals, per transaction, share of
spending, and overpaying against the day's median; undefined where no fee is known."""

from __future__ import annotations

import numpy as np
import pytest

from ml.features import compute_features
from tests.test_ml_motifs import _graph


def test_fee_features() -> None:
    # wallet 0 pays the day's usual fee, wallet 1 four times it, wallet 2's fees are unknown
    edges = [(0, 3, 0.1, 1.0), (0, 3, 0.2, 1.0), (1, 3, 0.3, 1.0), (2, 3, 0.4, 1.0), (4, 3, 0.5, 1.0)]
    graph = _graph(edges, 5)
    graph.edges["fee"] = [0.001, 0.001, 0.004, 0.0, 0.001]
    f = compute_features(graph)

    assert f.loc[0, "fee_total"] == pytest.approx(0.002) and f.loc[0, "fee_per_tx"] == pytest.approx(0.001)
    assert f.loc[0, "fee_share"] == pytest.approx(0.002 / 2.002)
    assert f.loc[0, "fee_vs_day"] == pytest.approx(1.0) and f.loc[1, "fee_vs_day"] == pytest.approx(4.0)
    assert np.isnan(f.loc[2, ["fee_total", "fee_per_tx", "fee_share", "fee_vs_day"]].to_numpy(float)).all()


def test_graphs_without_fees_leave_them_undefined() -> None:
    f = compute_features(_graph([(0, 1, 0.1, 1.0)], 2))  # no fee column (an edge list)
    assert f[["fee_total", "fee_vs_day"]].isna().all().all()
