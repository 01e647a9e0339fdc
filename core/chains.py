"""The EVM chains aidrop knows by id: name, native coin, block time, contract label file.

A transfer carries its chain id (`chain`); a chain missing here still ingests and reads (as
`chain <id>`, with mainnet's block time and no label file): add a row to name it properly.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import InvalidChain

DEFAULT_CHAIN = 1  # file ingestion without --chain, and every transfer of a graph older than chain ids


@dataclass(frozen=True)
class Chain:
    id: int
    name: str
    native_symbol: str  # the native coin, shown for native-value transfers
    block_seconds: float  # average block time (turns days into blocks for block-based features)
    labels: str | None = None  # contract label file in ingest/labels/, if any

    @property
    def blocks_per_day(self) -> int:
        return max(1, round(86_400 / self.block_seconds))


CHAINS: dict[int, Chain] = {
    c.id: c
    for c in (
        Chain(1, "ethereum", "ETH", 12.0, "mainnet.yaml"),
        Chain(10, "optimism", "ETH", 2.0),
        Chain(56, "bsc", "BNB", 3.0),
        Chain(137, "polygon", "POL", 2.0),
        Chain(8453, "base", "ETH", 2.0),
        Chain(42161, "arbitrum", "ETH", 0.25),
        Chain(11155111, "sepolia", "ETH", 12.0),
        Chain(31337, "anvil", "ETH", 12.0),  # a local development node
    )
}


def chain(chain_id: int) -> Chain:
    """The chain's row, or a generic one for an id the table does not list."""
    found = CHAINS.get(int(chain_id))
    if found is not None:
        return found
    return Chain(int(chain_id), f"chain {int(chain_id)}", "ETH", CHAINS[DEFAULT_CHAIN].block_seconds)


def check_chain_id(value: object) -> int:
    """A chain id from a user (CLI option, GraphQL argument): a positive integer below 2**53."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise InvalidChain(value)
    try:
        number = int(value)
    except ValueError:
        raise InvalidChain(value) from None
    if not 0 < number < 2**53:
        raise InvalidChain(value)
    return number
