"""The wallet graph's shape: labels, properties, and the records reads return."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# `token` of native-value transfers, whatever the chain (its coin's symbol is in core/chains.py);
# token transfers use the token contract's address.
NATIVE_TOKEN = "ETH"
CATEGORIES = ("DeFi", "NFT", "Gaming", "Social", "Bridge", "Exchange")

# Columns of a transfer batch (a pandas DataFrame), in the order the writers expect.
# `log_index` is -1 for the native value of a transaction; (chain, hash, log_index) is a transfer's
# identity (`chain`: the EVM chain id, core/chains.py).
# `fee`: what the sender paid for the transaction in ETH (gas used x effective gas price), on its
# native row only; 0 on token rows and where the source does not say (edge lists).
TRANSFER_COLUMNS = (
    "from_address",
    "to_address",
    "hash",
    "log_index",
    "value",
    "value_raw",
    "token",
    "ts",
    "block",
    "status",
    "tx_count",
    "fee",
    "chain",
)


@dataclass(frozen=True)
class Transfer:
    hash: str
    log_index: int
    from_address: str
    to_address: str
    value: float
    value_raw: str
    token: str
    ts: int
    block: int
    status: int = 1
    tx_count: int = 1
    fee: float = 0.0  # ETH the sender paid for the transaction (its native row only)
    chain: int = 1  # EVM chain id


@dataclass
class Wallet:
    address: str
    labels: list[str] = field(default_factory=list)
    category: str | None = None
    name: str | None = None
    symbol: str | None = None
    decimals: int | None = None
    props: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WalletStats:
    """Fan-in / fan-out of one wallet."""

    address: str
    in_degree: int = 0
    out_degree: int = 0
    in_tx: int = 0
    out_tx: int = 0
    in_counterparties: int = 0
    out_counterparties: int = 0
    in_value: float = 0.0
    out_value: float = 0.0
    first_in: int | None = None
    last_in: int | None = None
    first_out: int | None = None
    last_out: int | None = None

    @property
    def in_span(self) -> int:
        if self.first_in is None or self.last_in is None:
            return 0
        return self.last_in - self.first_in

    @property
    def out_span(self) -> int:
        if self.first_out is None or self.last_out is None:
            return 0
        return self.last_out - self.first_out

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "in_span": self.in_span, "out_span": self.out_span}


@dataclass(frozen=True)
class Counterparty:
    address: str
    sent: float
    received: float
    transfers: int


@dataclass(frozen=True)
class ChainStats:
    """One chain's share of the graph: a wallet active on two chains counts in both."""

    chain: int
    wallets: int = 0  # wallets with a transfer on the chain
    transfers: int = 0
    contracts: int = 0
    tokens: int = 0
    total_value: float = 0.0  # native value moved, in the chain's coin
    token_transfers: int = 0


@dataclass(frozen=True)
class GraphStats:
    wallets: int
    transfers: int
    contracts: int
    tokens: int
    total_value: float  # native value moved, in the chains' coins (ETH on mainnet)
    token_transfers: int
    chains: tuple[ChainStats, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["chains"] = {str(c.chain): {k: v for k, v in asdict(c).items() if k != "chain"}
                         for c in self.chains}  # fmt: skip
        return out


@dataclass(frozen=True)
class WriteResult:
    transfers_written: int = 0
    wallets_created: int = 0

    def __add__(self, other: WriteResult) -> WriteResult:
        return WriteResult(
            self.transfers_written + other.transfers_written,
            self.wallets_created + other.wallets_created,
        )
