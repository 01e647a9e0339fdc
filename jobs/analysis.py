"""The seam between the jobs and ml/: what one wallet's analysis needs, in three functions.

- `model_version()`: the version of the active models (part of a job's stable id);
- `analyze(store, address)`: the wallet's intelligence as node properties (docs/ml.md);
- `cluster_profiles(store)`: cluster id -> profile (what the cluster's wallets look like).

The analyzer is `AIDROP_ANALYZER` (`module:object`), else `ml.pipeline` when it has
`analyze_wallet`, else `jobs.batch_analyzer` (ml.pipeline's batch score, read per wallet): an
object with `analyze_wallet(store, address) -> dict` (async), `model_version() -> str` and
optionally `cluster_profiles(store) -> dict`, `rescore_all(store)`, `train_and_score(store)`.
Everything about models lives in ml/.

`catch_up(store, address, settings)`: before the analysis, when an RPC node is configured and the
wallet is missing or the chain's checkpoint is behind the node, the newest blocks (at most
AIDROP_RPC_LOOKBACK) are ingested through ingest/rpc, checkpoint and reorg handling included.
"""

from __future__ import annotations

import importlib
import inspect
import os
import time
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from core.errors import AidropError, NotFound

if TYPE_CHECKING:
    from core.settings import Settings
    from graph.store import GraphStore

DEFAULT_ANALYZER = "ml.pipeline"
BATCH_ANALYZER = "jobs.batch_analyzer"
VERSION_CACHE_S = 5.0


class AnalysisUnavailable(AidropError):
    code = "ANALYSIS_UNAVAILABLE"


@lru_cache(maxsize=4)
def _load(spec: str) -> Any:
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise AnalysisUnavailable(f"the analyzer {spec!r} cannot be imported: {exc}") from exc
    target = getattr(module, attr) if attr else module
    if not hasattr(target, "analyze_wallet"):
        raise AnalysisUnavailable(f"the analyzer {spec!r} has no analyze_wallet(store, address)")
    return target


def analyzer() -> Any:
    """AIDROP_ANALYZER when set; else ml.pipeline when it analyses single wallets; else the batch
    adapter over ml.pipeline.score (jobs/batch_analyzer.py)."""
    spec = os.environ.get("AIDROP_ANALYZER")
    if spec:
        return _load(spec)
    try:
        return _load(DEFAULT_ANALYZER)
    except AnalysisUnavailable:
        return _load(BATCH_ANALYZER)


_version: tuple[float, str] = (0.0, "")


def model_version() -> str:
    """The active models' version (cached a few seconds: the API asks on every analyzeWallet)."""
    global _version
    stamp, value = _version
    if time.monotonic() - stamp < VERSION_CACHE_S and value:
        return value
    fn = getattr(analyzer(), "model_version", None)
    value = str(fn()) if fn is not None else "unversioned"
    _version = (time.monotonic(), value)
    return value


async def analyze(store: GraphStore, address: str) -> dict[str, Any]:
    result = analyzer().analyze_wallet(store, address)
    if inspect.isawaitable(result):
        result = await result
    if result is None:
        raise NotFound(f"no wallet {address} in the graph")
    return dict(result)


async def cluster_profiles(store: GraphStore) -> dict[int, dict[str, Any]]:
    fn = getattr(analyzer(), "cluster_profiles", None)
    if fn is None:
        return {}
    result = fn(store)
    if inspect.isawaitable(result):
        result = await result
    return {int(k): dict(v) for k, v in (result or {}).items()}


async def catch_up(
    store: GraphStore, address: str, settings: Settings, missing: bool
) -> dict[str, Any] | None:
    """Ingest the node's newest blocks when the wallet is missing or the checkpoint is behind;
    a summary, or None when there is no node or nothing to do."""
    if not settings.rpc_url:
        return None
    from graph import chain
    from ingest.rpc.client import RpcClient
    from ingest.rpc.follow import Options, ingest_rpc

    async with RpcClient(settings.rpc_url) as client:
        chain_id = await client.check_chain(None)
        head = await client.block_number()
        done = await chain.done_ranges(store, chain_id)
        top = done.top
        if top is not None and top >= head and not missing:
            return None
        start = max(0, head - settings.rpc_lookback + 1)
        if top is not None and top >= start:
            start = top + 1
        if start > head:
            return None
        report = await ingest_rpc(store, client, Options(start=start, end=head))
    return {"blocks": report.blocks, "transfers_written": report.transfers_written, "head": head}


async def prepare(store: GraphStore) -> str:
    """Train the models and score every wallet (the analyzer's `train_and_score(store)`), as
    `aidrop demo` does after loading; a one-line summary."""
    try:
        target = analyzer()
    except AnalysisUnavailable as exc:
        return f"skipped: {exc}"
    fn = getattr(target, "train_and_score", None)
    if fn is None:
        return "skipped: the analyzer has no train_and_score(store)"
    result = fn(store)
    if inspect.isawaitable(result):
        result = await result
    return str(result)
