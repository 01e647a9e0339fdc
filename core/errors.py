"""Typed errors shared by every layer; `code` is what the API puts in `extensions.code`."""

from __future__ import annotations


class AidropError(Exception):
    code = "INTERNAL"


class InvalidAddress(AidropError, ValueError):
    code = "INVALID_ADDRESS"

    def __init__(self, value: object, reason: str = "expected 0x followed by 40 hex digits") -> None:
        self.value = value
        super().__init__(f"invalid address {value!r}: {reason}")


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
