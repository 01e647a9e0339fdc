"""Chain ingestion from any EVM JSON-RPC node: `aidrop ingest rpc` (docs/rpc.md)."""

from ingest.rpc.client import RetryPolicy, RpcClient, RpcError, RpcUnavailable, WrongChain
from ingest.rpc.follow import Options, ReorgTooDeep, RpcReport, ingest_rpc

__all__ = [
    "Options",
    "ReorgTooDeep",
    "RetryPolicy",
    "RpcClient",
    "RpcError",
    "RpcReport",
    "RpcUnavailable",
    "WrongChain",
    "ingest_rpc",
]
