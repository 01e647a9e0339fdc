"""The analyzer the jobs use while ml/ scores in batches only (ml.pipeline.score: every wallet at
once, models fitted and registered when none is active): one wallet's analysis is its scores
under the active models, read from the wallet, after a batch score when they are missing or from
other versions (a new wallet, a newly activated model).

Scores are also out of date when transfers were added to the graph after the last batch score
(a job's RPC catch-up, an ingest): the next analysis scores again, unless the last score is less
than AIDROP_RESCORE_AFTER seconds old (default 30), so a busy chain does not keep the worker
scoring. Batch scores in one worker run one at a time; the jobs waiting for one find their wallet
scored when it ends. ml/'s own per-wallet entry point (`ml.pipeline.analyze_wallet`), once it exists,
takes over (jobs/analysis.py picks it first).
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from graph.activity import activity_status
from graph.store import GraphStore

# wallet properties the batch score writes (docs/ml.md), handed to the job to write once
PROPERTIES = (
    "typology", "typology_axes", "typology_explanation", "typology_version", "cluster", "cluster_version",
    "anomaly_score", "anomaly_rank", "anomaly_flagged", "anomaly_model", "anomaly_version",
    "anomaly_explanation", "ppr",
)  # fmt: skip
_lock: asyncio.Lock | None = None


def _model() -> str:
    return os.environ.get("AIDROP_ANOMALY_MODEL", "aidrop")


def _registry() -> Any:
    from core.settings import get_settings
    from ml.registry import Registry

    return Registry(get_settings().data_dir)


def _active() -> dict[str, str | None]:
    registry = _registry()
    return {
        "anomaly_version": registry.active(_model()),
        "typology_version": registry.active("typology"),
        "cluster_version": registry.active("clusters"),
    }


def model_version() -> str:
    active = _active()
    if not any(active.values()):
        return "untrained"
    a, t, c = active["anomaly_version"], active["typology_version"], active["cluster_version"]
    return f"{_model()}:{a}|typology:{t}|clusters:{c}"


def _current(props: dict[str, Any], active: dict[str, str | None]) -> bool:
    return all(v is not None and props.get(k) == v for k, v in active.items())


async def _graph_changed(store: GraphStore) -> bool:
    """Transfers were added after the last batch score, and that score is old enough to redo."""
    status = await activity_status(store)
    if not status.stale or status.refreshed_at is None:
        return False
    from core.settings import get_settings

    return time.time() - status.refreshed_at >= get_settings().rescore_after


async def _score(store: GraphStore) -> Any:
    from ml import pipeline

    return await pipeline.score(store, _registry(), model=_model())


async def analyze_wallet(store: GraphStore, address: str) -> dict[str, Any] | None:
    global _lock
    _lock = _lock or asyncio.Lock()
    for attempt in range(2):
        wallet = (await store.wallets_by_address([address])).get(address)
        if wallet is None:
            return None
        changed = attempt == 0 and await _graph_changed(store)
        if _current(wallet.props, _active()) and not changed:
            return {k: wallet.props.get(k) for k in PROPERTIES}
        if attempt == 0:
            async with _lock:  # one batch at a time; whoever waited finds its wallet scored
                wallet = (await store.wallets_by_address([address])).get(address)
                if wallet is not None and (
                    not _current(wallet.props, _active()) or await _graph_changed(store)
                ):
                    await _score(store)
    raise RuntimeError(f"wallet {address} still has no current scores after a batch score")


async def rescore_all(store: GraphStore) -> dict[str, Any]:
    run = await _score(store)
    return {"wallets": len(run.frame), "model": run.model, "version": run.version, "fitted": run.trained}


async def train_and_score(store: GraphStore) -> str:
    r = await rescore_all(store)
    fitted = f"; fitted {', '.join(r['fitted'])}" if r["fitted"] else ""
    return f"scored {r['wallets']:,} wallets with {r['model']} {r['version']}{fitted}"


_profiles: tuple[str | None, dict[int, dict[str, Any]]] = (None, {})


async def cluster_profiles(store: GraphStore) -> dict[int, dict[str, Any]]:
    """The active cluster model's profiles; the model is loaded again only when another version
    becomes active (loading it takes a while)."""
    global _profiles
    registry = _registry()
    version = registry.active("clusters")
    if version is None:
        return {}
    if _profiles[0] != version:
        model = await asyncio.to_thread(registry.load, "clusters", version)
        _profiles = (version, {int(p["cluster"]): dict(p) for p in getattr(model.obj, "profiles", [])})
    return _profiles[1]
