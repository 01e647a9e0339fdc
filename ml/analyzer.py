"""The analysis seam: what the jobs and the API need of ml/, as a protocol built from Settings.

`make_analyzer(settings)` gives the `Analyzer` once per process (the worker's startup, the API's
services) and they hold it; nothing looks it up again. The default, `ModelAnalyzer`, serves a
wallet's analysis from the active models (ml/registry.py); `AIDROP_ANALYZER=module` names
another one, a module with `make_analyzer(settings) -> Analyzer` (the tests' stand-in,
tests/stub_analyzer.py), checked against the protocol when it is built.

How `ModelAnalyzer` keeps a wallet's analysis current (docs/api.md, "Fresh scores"):

- the job reads the wallet once and hands it over; when its stored scores are from the active
  models and no transfer was added to the graph since the last scoring, they are the analysis
  (no read);
- otherwise, with every model active, the wallet alone is scored on its neighbourhood
  (ml/incremental.py: its transfers and its counterparties', one read, the loaded models kept
  per version); the rest of the graph keeps its scores until the next whole-graph run;
- with a model not yet fitted, the graph is scored once (ml.pipeline.score: features, the models
  fitted and registered, written back with the activity summary), one scoring at a time per
  process; jobs that waited for it take their wallet's row from that run in memory.
"""

from __future__ import annotations

import asyncio
import importlib
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from core.errors import AidropError
from graph.activity import activity_status
from graph.features import load_neighbourhood
from graph.scores import anomaly_rank
from graph.wallet_analysis import SCORE_PROPERTIES, WalletAnalysis
from ml.incremental import ActiveModels, score_wallet
from ml.models import DEFAULT_ANOMALY
from ml.registry import Artifact, Registry

if TYPE_CHECKING:
    from core.settings import Settings
    from graph.model import Wallet
    from graph.store import GraphStore
    from ml.pipeline import ScoreRun


VERSION_CACHE_S = 5.0


class AnalysisUnavailable(AidropError):
    code = "ANALYSIS_UNAVAILABLE"


@runtime_checkable
class Analyzer(Protocol):
    """What the worker and the API ask of ml/."""

    def model_version(self) -> str:
        """The active models' version (part of a job's stable id)."""
        ...

    async def analyze(self, store: GraphStore, wallet: Wallet) -> WalletAnalysis:
        """The wallet's analysis (the wallet as the job read it)."""
        ...

    def cluster_profiles(self) -> dict[int, dict[str, Any]]:
        """Cluster id -> profile (what the cluster's wallets look like) of the active clusters."""
        ...

    async def rescore_all(self, store: GraphStore) -> dict[str, Any] | None:
        """Every wallet scored again in one batch; None: no batch path (analyse each wallet)."""
        ...

    async def train_and_score(self, store: GraphStore) -> str:
        """Models fitted where none is active and every wallet scored (`aidrop demo`); a line."""
        ...


def make_analyzer(settings: Settings) -> Analyzer:
    """`AIDROP_ANALYZER`'s analyzer when set, else the models' (`ModelAnalyzer`)."""
    if not settings.analyzer:
        return ModelAnalyzer.from_settings(settings)
    try:
        module = importlib.import_module(settings.analyzer)
    except ImportError as exc:
        raise AnalysisUnavailable(f"the analyzer {settings.analyzer!r} cannot be imported: {exc}") from exc
    factory = getattr(module, "make_analyzer", None)
    target = factory(settings) if callable(factory) else None
    if not isinstance(target, Analyzer):
        raise AnalysisUnavailable(
            f"the analyzer {settings.analyzer!r} has no make_analyzer(settings) giving an Analyzer"
        )
    return target


@dataclass
class _Scored:
    """The last scoring run of this process: the versions it used and its rows by address."""

    versions: dict[str, str | None]
    index: dict[str, int]
    columns: dict[str, Any]

    def analysis(self, address: str) -> WalletAnalysis | None:
        i = self.index.get(address)
        if i is None:
            return None
        c = self.columns
        return WalletAnalysis(
            typology=c["code"][i],
            typology_axes=c["axes"][i],
            typology_explanation=c["typology_explanation"][i],
            typology_version=c["typology_version"],
            cluster=c["cluster"][i],
            cluster_version=c["cluster_version"],
            anomaly_score=c["score"][i],
            anomaly_rank=c["rank"][i],
            anomaly_flagged=c["flagged"][i],
            anomaly_model=c["model"],
            anomaly_version=c["version"],
            anomaly_explanation=c["explanation"][i],
            ppr=c["ppr"][i],
        )


class ModelAnalyzer:
    """The active models of the registry: anomaly model `model`, typology and clusters."""

    def __init__(self, registry: Registry, model: str = DEFAULT_ANOMALY) -> None:
        self.registry = registry
        self.model = model
        self._lock = asyncio.Lock()
        self._scored: _Scored | None = None
        self._loaded: dict[tuple[str, str], Artifact] = {}
        self._profiles: tuple[str | None, dict[int, dict[str, Any]]] = (None, {})
        self._version: tuple[float, str] = (0.0, "")

    @classmethod
    def from_settings(cls, settings: Settings) -> ModelAnalyzer:
        return cls(Registry(settings.data_dir), settings.anomaly_model)

    def _active(self) -> dict[str, str | None]:
        return {
            "anomaly_version": self.registry.active(self.model),
            "typology_version": self.registry.active("typology"),
            "cluster_version": self.registry.active("clusters"),
        }

    def model_version(self) -> str:
        """Cached a few seconds: the API asks on every analyzeWallet."""
        stamp, value = self._version
        if time.monotonic() - stamp < VERSION_CACHE_S and value:
            return value
        active = self._active()
        value = "untrained"
        if any(active.values()):
            a, t, c = active["anomaly_version"], active["typology_version"], active["cluster_version"]
            value = f"{self.model}:{a}|typology:{t}|clusters:{c}"
        self._version = (time.monotonic(), value)
        return value

    async def analyze(self, store: GraphStore, wallet: Wallet) -> WalletAnalysis:
        active = self._active()
        stored = WalletAnalysis.from_props({k: wallet.props.get(k) for k in SCORE_PROPERTIES})
        current = all(v is not None and wallet.props.get(k) == v for k, v in active.items())
        if current and not (await activity_status(store)).stale:
            return stored
        if all(v is not None for v in active.values()):
            return await self._around(store, wallet, stored)
        async with self._lock:  # one scoring at a time; whoever waited finds its wallet in it
            if self._scored is None or self._scored.versions != self._active():
                await self._score(store)
            scored = self._scored
        found = scored.analysis(wallet.address) if scored is not None else None
        if found is None:  # a wallet that came after that scoring: the models are fitted now
            return await self._around(store, wallet, stored)
        return found

    async def _around(self, store: GraphStore, wallet: Wallet, stored: WalletAnalysis) -> WalletAnalysis:
        """The wallet scored on its neighbourhood (the features off the event loop)."""
        graph = await load_neighbourhood(store, wallet.address)
        found = await asyncio.to_thread(score_wallet, graph, wallet.address, stored, self._models())
        rank = await anomaly_rank(store, wallet.address, self.model, found.anomaly_score or 0.0)
        return replace(found, anomaly_rank=rank)

    def _models(self) -> ActiveModels:
        """The active models, each version loaded once."""

        def load(name: str) -> Artifact:
            version = self.registry.active(name)
            if version is None:
                raise AnalysisUnavailable(f"no active {name} model")
            if (name, version) not in self._loaded:
                self._loaded = {k: v for k, v in self._loaded.items() if k[0] != name}
                self._loaded[(name, version)] = self.registry.load(name, version)
            return self._loaded[(name, version)]

        return ActiveModels(load(self.model), load("typology"), load("clusters"))

    async def _score(self, store: GraphStore) -> ScoreRun:
        from ml import pipeline

        run = await pipeline.score(store, self.registry, model=self.model)
        columns = {k: run.columns[k] for k in _KEPT}
        self._scored = _Scored(self._active(), {a: i for i, a in enumerate(columns["address"])}, columns)
        return run

    async def rescore_all(self, store: GraphStore) -> dict[str, Any]:
        async with self._lock:
            run = await self._score(store)
        return {"wallets": len(run.frame), "model": run.model, "version": run.version, "fitted": run.trained}

    async def train_and_score(self, store: GraphStore) -> str:
        r = await self.rescore_all(store)
        fitted = f"; fitted {', '.join(r['fitted'])}" if r["fitted"] else ""
        return f"scored {r['wallets']:,} wallets with {r['model']} {r['version']}{fitted}"

    def cluster_profiles(self) -> dict[int, dict[str, Any]]:
        """The active cluster model's profiles, from its metadata (read again only when another
        version becomes active)."""
        version = self.registry.active("clusters")
        if version is None:
            return {}
        if self._profiles[0] != version:
            meta = self.registry.metadata("clusters", version)
            self._profiles = (version, {int(p["cluster"]): dict(p) for p in meta.get("profiles") or []})
        return self._profiles[1]


# the columns of a scoring run a wallet's analysis is made of (the rest is freed)
_KEPT = (
    "address", "code", "axes", "typology_explanation", "typology_version", "cluster", "cluster_version",
    "score", "rank", "flagged", "model", "version", "explanation", "ppr",
)  # fmt: skip
