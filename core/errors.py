"""Typed errors shared by every layer; `code` is what the API puts in `extensions.code`."""

from __future__ import annotations


class AidropError(Exception):
    code = "INTERNAL"


def clip(value: object, limit: int = 80) -> str:
    """repr() of what a client sent, cut to `limit` characters (errors never echo 900 KB back)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


class BadInput(AidropError, ValueError):
    code = "BAD_USER_INPUT"


class InvalidAddress(AidropError, ValueError):
    code = "INVALID_ADDRESS"

    def __init__(self, value: object, reason: str = "expected 0x followed by 40 hex digits") -> None:
        self.value = value
        super().__init__(f"invalid address {clip(value)}: {reason}")


class InvalidChain(AidropError, ValueError):
    code = "INVALID_CHAIN"

    def __init__(self, value: object) -> None:
        self.value = value
        super().__init__(f"invalid chain id {value!r}: expected a positive integer below 2**53")


class NotFound(AidropError, LookupError):
    code = "NOT_FOUND"


class GraphUnavailable(AidropError, ConnectionError):
    code = "GRAPH_UNAVAILABLE"


class EmbeddedServerError(AidropError, RuntimeError):
    code = "EMBEDDED_SERVER"


class QueryTimeout(AidropError, TimeoutError):
    """A read ran over the per-query time limit (AIDROP_QUERY_TIMEOUT) and was stopped in the
    database (FalkorDB's query timeout, Neo4j's transaction timeout)."""

    code = "QUERY_TIMEOUT"

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the query ran over the {seconds:g} s limit and was stopped; ask for less")
