"""A stand-in for ml/'s per-wallet analysis in API and job tests that are about the plumbing (not
the models): deterministic properties of the shape docs/ml.md lists, from the wallet's stats."""

from __future__ import annotations

import hashlib
import os
from typing import Any

from graph.store import GraphStore

AXES = (("focus", "DNGSU"), ("pattern", "TH"), ("risk", "AS"), ("community", "CI"))


def model_version() -> str:
    return os.environ.get("STUB_MODEL_VERSION", "stub-1")


async def analyze_wallet(store: GraphStore, address: str) -> dict[str, Any] | None:
    delay = float(os.environ.get("STUB_ANALYSIS_DELAY", "0"))
    if delay:
        import asyncio

        await asyncio.sleep(delay)
    try:
        stats = await store.wallet_stats(address)
    except LookupError:
        return None
    digest = hashlib.sha256(address.encode()).digest()
    letters = [options[digest[i] % len(options)] for i, (_, options) in enumerate(AXES)]
    score = min(1.0, (stats.out_counterparties + stats.in_counterparties) / 10)
    return {
        "typology": "-".join(letters),
        "typology_axes": [
            {"axis": axis, "value": letter, "probability": 0.5 + digest[4 + i] / 512}
            for i, ((axis, _), letter) in enumerate(zip(AXES, letters, strict=True))
        ],
        "cluster": digest[8] % 3,
        "cluster_version": "stub-1",
        "anomaly_score": score,
        "anomaly_rank": 1 + digest[9],
        "anomaly_flagged": score >= 0.8,
        "anomaly_model": "stub",
        "anomaly_version": model_version(),
        "anomaly_explanation": [
            {"factor": "fan_out", "contribution": stats.out_counterparties / 10},
            {"factor": "fan_in", "contribution": stats.in_counterparties / 10},
        ],
        "ppr": digest[10] / 255,
    }


async def cluster_profiles(store: GraphStore) -> dict[int, dict[str, Any]]:
    return {i: {"summary": f"stub cluster {i}", "size": 0} for i in range(3)}
