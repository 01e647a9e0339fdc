"""A stand-in for ml/'s analysis in API and job tests that are about the plumbing (not the
models): deterministic properties of the shape docs/ml.md lists, from the wallet's stats.
`AIDROP_ANALYZER=tests.stub_analyzer` (ml/analyzer.py builds it with make_analyzer)."""

from __future__ import annotations

import asyncio
import hashlib
import os
from typing import Any

from core.settings import Settings
from graph.model import Wallet
from graph.store import GraphStore
from graph.wallet_analysis import WalletAnalysis

AXES = (("focus", "DNGSU"), ("pattern", "TH"), ("risk", "AS"), ("community", "CI"))


class StubAnalyzer:
    def model_version(self) -> str:
        return os.environ.get("STUB_MODEL_VERSION", "stub-1")

    async def analyze(self, store: GraphStore, wallet: Wallet) -> WalletAnalysis:
        delay = float(os.environ.get("STUB_ANALYSIS_DELAY", "0"))
        if delay:
            await asyncio.sleep(delay)
        address = wallet.address
        stats = await store.wallet_stats(address)
        digest = hashlib.sha256(address.encode()).digest()
        letters = [options[digest[i] % len(options)] for i, (_, options) in enumerate(AXES)]
        score = min(1.0, (stats.out_counterparties + stats.in_counterparties) / 10)
        return WalletAnalysis(
            typology="-".join(letters),
            typology_axes=[
                {"axis": axis, "value": letter, "probability": 0.5 + digest[4 + i] / 512}
                for i, ((axis, _), letter) in enumerate(zip(AXES, letters, strict=True))
            ],
            cluster=digest[8] % 3,
            cluster_version="stub-1",
            anomaly_score=score,
            anomaly_rank=1 + digest[9],
            anomaly_flagged=score >= 0.8,
            anomaly_model="stub",
            anomaly_version=self.model_version(),
            anomaly_explanation=[
                {"factor": "fan_out", "contribution": stats.out_counterparties / 10},
                {"factor": "fan_in", "contribution": stats.in_counterparties / 10},
            ],
            ppr=digest[10] / 255,
        )

    def cluster_profiles(self) -> dict[int, dict[str, Any]]:
        return {i: {"summary": f"stub cluster {i}", "size": 0} for i in range(3)}

    async def rescore_all(self, store: GraphStore) -> dict[str, Any] | None:
        return None  # no batch path: the job analyses each wallet

    async def train_and_score(self, store: GraphStore) -> str:
        return "skipped: the stub analyzer has no models"


def make_analyzer(settings: Settings) -> StubAnalyzer:
    return StubAnalyzer()
