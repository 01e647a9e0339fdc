"""What a job does around the analysis of one wallet (the analysis itself is ml/'s `Analyzer`,
ml/analyzer.py, built once per process from Settings and held by the worker and the API).

`catch_up(store, address, settings)`: before the analysis, when an RPC node is configured and the
wallet is missing or the chain's checkpoint is behind the node, the newest blocks (at most
AIDROP_RPC_LOOKBACK) are ingested through ingest/rpc, checkpoint and reorg handling included.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.settings import Settings
    from graph.store import GraphStore


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
