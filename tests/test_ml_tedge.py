"""On real labelled data (tedge-phishing, train labels): the label-free score beats in-degree, the
supervised model holds up under cross-validation without absolute time. Skips without the data."""

from __future__ import annotations

import numpy as np
import pytest

from graph.store import GraphStore
from ingest.load import ingest_edges
from ml.dataset import label_positions, read_labels
from ml.evaluate import anomaly_metrics, cross_validate_anomaly, label_free_metrics
from ml.pipeline import dataset
from tests.conftest import dataset as shared

pytestmark = pytest.mark.both_backends

pytestmark = pytest.mark.slow


async def test_tedge_phishing(store: GraphStore) -> None:
    edges, labels = shared("tedge-phishing", "edges.csv"), shared("tedge-phishing", "labels_train.csv")
    await ingest_edges(store, [edges])
    ds = await dataset(store)
    positions, found = label_positions(ds, read_labels(labels))
    y = found["label"].to_numpy()
    assert len(y) == 623 and y.sum() == 317

    baseline = anomaly_metrics(ds.features["in_degree"].to_numpy()[positions], np.zeros(len(y), bool), y)
    free = label_free_metrics(ds, positions, y)
    assert free["auc"] >= 0.85 and free["auc"] > baseline["auc"], (free["auc"], baseline["auc"])

    supervised = cross_validate_anomaly(ds, positions, y, "aidrop", folds=3, n_estimators=200)
    assert supervised["auc"] >= 0.97 and supervised["accuracy"] >= 0.92, supervised
    published = cross_validate_anomaly(ds, positions, y, "mpocryptoml", folds=3)
    assert supervised["auc"] > published["auc"] > 0.6, published
