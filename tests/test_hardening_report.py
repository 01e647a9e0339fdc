"""Issue 13, finding 13: the model report's sections that said nothing or said it wrong."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.clusters import COLUMNS, profile
from ml.report import _anomaly_model_section, _typology_section


def test_label_free_importance_is_not_three_equal_bars() -> None:
    meta = {"version": "v1", "supervised": False, "importance": {"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}}
    html = _anomaly_model_section("aidrop", meta)
    assert "data:image/png" not in html and "all weighed alike" in html
    varied = _anomaly_model_section("aidrop", {**meta, "importance": {"a": 0.5, "b": 0.3, "c": 0.2}})
    assert "data:image/png" in varied


def test_typology_without_held_out_evaluation_says_so() -> None:
    html = _typology_section(None, {"source": "rules", "metrics": {"source": "rules", "axes": {}}})
    assert "<table" not in html and "No held-out evaluation" in html and "aidrop evaluate typology" in html


def test_cluster_traits_read_as_sentences() -> None:
    features = pd.DataFrame({c: np.full(200, 2.0) for c in COLUMNS})
    labels = np.r_[np.zeros(100, int), np.ones(100, int)]
    features[COLUMNS[1]] = np.r_[np.zeros(100), np.full(100, 4.0)]  # cluster 0 has none of it
    traits = [t for p in profile(features, labels) for t in p["traits"]]
    assert not any("vs" in t and "overall" in t for t in traits)
    none = [t for t in traits if "mostly none" in t]
    assert none and "(median 0 in the cluster," in none[0] and "across all wallets)" in none[0]
