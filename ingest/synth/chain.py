"""Events of one time window -> rows of transactions.csv, receipts.csv and token_transfers.csv:
blocks, transaction order, nonces, gas, failures, hashes, log indexes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ingest.synth import clock, writer
from ingest.synth.events import Events
from ingest.synth.ids import BLOCK_HASH, TX_HASH, id_bytes, stream_key, words
from ingest.synth.kinds import GAS_LIMIT, SELECTOR_OF, SELECTORS, Kind

TRANSACTIONS = ("hash", "nonce", "block_hash", "block_number", "transaction_index", "from_address",
                "to_address", "value", "gas", "gas_price", "input", "block_timestamp", "max_fee_per_gas",
                "max_priority_fee_per_gas", "transaction_type")  # fmt: skip
RECEIPTS = ("transaction_hash", "transaction_index", "block_hash", "block_number", "cumulative_gas_used",
            "gas_used", "contract_address", "root", "status", "effective_gas_price")  # fmt: skip
TOKEN_TRANSFERS = ("token_address", "from_address", "to_address", "value", "transaction_hash", "log_index",
                   "block_number")  # fmt: skip

FAIL_RATE, RISKY_FAIL_RATE = 0.015, 0.08
LEGACY_SHARE = 0.12  # type-0 transactions; the rest are EIP-1559 (type 2)
PLAIN = (Kind.SEND_ETH, Kind.CEX_DEPOSIT, Kind.CEX_WITHDRAW, Kind.FUNDING, Kind.LAUNDER)


@dataclass
class Chain:
    """Writes windows of events in time order, carrying nonces and the transaction counter."""

    out: Path
    seed: int
    t0: int
    addresses: np.ndarray  # (n_addresses, 42) uint8: "0x" + 40 hex digits of each address index
    base_fee: np.ndarray  # wei per hour since t0
    nonce: np.ndarray  # next nonce of each address index
    tx_count: int = 0
    files: dict[str, writer.CsvOut] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.output = writer.Output()
        for name, columns in (("transactions", TRANSACTIONS), ("receipts", RECEIPTS),
                              ("token_transfers", TOKEN_TRANSFERS)):  # fmt: skip
            self.files[name] = writer.CsvOut(self.out / f"{name}.csv", columns, self.output)

    def close(self) -> None:
        try:
            self.output.close()
        finally:
            for f in self.files.values():
                f.close()

    def address(self, index: np.ndarray) -> writer.Field:
        table = self.addresses

        def fill(out: np.ndarray, rows: slice) -> None:
            out[:] = table[index[rows]]

        return writer.Field(42, fill)

    def write(self, rng: np.random.Generator, ev: Events) -> tuple[int, int]:
        """Write one window (events in any order); returns (transactions, token transfers)."""
        n = len(ev)
        if not n:
            return 0, 0
        block = clock.block_of(ev.ts, self.t0)
        order = np.lexsort((rng.random(n), block))
        ev, block = ev.take(order), block[order]
        ts = clock.block_time(block, self.t0)
        first = np.r_[True, block[1:] != block[:-1]]
        start_of = np.maximum.accumulate(np.where(first, np.arange(n), 0))
        block_words = words(block, stream_key(self.seed, BLOCK_HASH), 4)
        # the block's other (unseen) transactions come first: an offset from its hash
        offset = (block_words[:, 0] % np.uint64(90)).astype(np.int64)
        tx_index = offset + np.arange(n) - start_of

        # nonces: per sender, in order, after those of earlier windows
        by_sender = np.argsort(ev.sender, kind="stable")
        s = ev.sender[by_sender]
        s_first = np.r_[True, s[1:] != s[:-1]]
        rank = np.arange(n) - np.maximum.accumulate(np.where(s_first, np.arange(n), 0))
        nonce = np.empty(n, dtype=np.int64)
        nonce[by_sender] = self.nonce[s] + rank
        np.add.at(self.nonce, ev.sender, 1)

        fail = ~ev.sure & (rng.random(n) < np.where(ev.risky, RISKY_FAIL_RATE, FAIL_RATE))
        limit = GAS_LIMIT[ev.kind]
        plain = np.isin(ev.kind, PLAIN)
        gas = np.where(plain, limit, (limit * rng.uniform(1.0, 1.6, n)).astype(np.int64))
        used = np.where(plain, limit, (limit * rng.uniform(0.55, 0.95, n)).astype(np.int64))
        used = np.where(fail & ~plain, (used * rng.uniform(0.1, 0.6, n)).astype(np.int64), used)
        cum_before = np.cumsum(used) - used
        cumulative = (
            (block_words[:, 1] % np.uint64(9_000_000)).astype(np.int64)
            + cum_before
            - cum_before[start_of]
            + used
        )

        hour = np.clip((ts - self.t0) // 3600, 0, len(self.base_fee) - 1)
        base = self.base_fee[hour]
        tip = (np.exp(rng.normal(np.log(1.2e9), 0.6, n))).astype(np.int64)
        legacy = rng.random(n) < LEGACY_SHARE
        price = np.where(legacy, base + (tip * 1.5).astype(np.int64), base + tip)
        max_fee = 2 * base + tip

        hashes = id_bytes(np.arange(self.tx_count, self.tx_count + n), self.seed, TX_HASH, 32)
        self.tx_count += n
        tx_hash = writer.hex_bytes(hashes)
        block_hash = writer.hex_bytes(block_words.astype(">u8").view(np.uint8).reshape(n, 32))
        self.files["transactions"].write(n, [
            tx_hash, writer.uint(nonce, 9), block_hash, writer.fixed_uint(block, 8), writer.uint(tx_index, 6),
            self.address(ev.sender), self._maybe_address(ev.to), writer.big_uint(ev.eth_hi, ev.eth_lo),
            writer.uint(gas, 9), writer.uint(price, 14), writer.text_choice(SELECTORS, SELECTOR_OF[ev.kind]),
            writer.fixed_uint(ts, 10), writer.uint(max_fee, 14, blank=legacy),
            writer.uint(tip, 14, blank=legacy),
            writer.text_choice(["2", "0"], legacy.astype(np.int64)),
        ])  # fmt: skip
        self.files["receipts"].write(n, [
            tx_hash, writer.uint(tx_index, 6), block_hash, writer.fixed_uint(block, 8),
            writer.uint(cumulative, 9), writer.uint(used, 9), self._maybe_address(ev.created),
            writer.empty(), writer.text_choice(["1", "0"], fail.astype(np.int64)), writer.uint(price, 14),
        ])  # fmt: skip

        # token transfers: logs of successful transactions, indexed within the block
        has_log = (ev.log_token >= 0) & ~fail[:, None]
        per_tx = has_log.sum(axis=1)
        logs_before = np.cumsum(per_tx) - per_tx
        first_log = logs_before - logs_before[start_of] + offset * 2
        tx_of, slot = np.nonzero(has_log)  # row-major: in transaction order, slot order
        log_index = first_log[tx_of] + (np.cumsum(has_log, axis=1) - 1)[tx_of, slot]
        m = len(tx_of)
        self.files["token_transfers"].write(m, [
            self.address(ev.log_token[tx_of, slot]), self.address(ev.log_from[tx_of, slot]),
            self.address(ev.log_to[tx_of, slot]),
            writer.big_uint(ev.log_hi[tx_of, slot], ev.log_lo[tx_of, slot]),
            writer.hex_bytes(hashes[tx_of]), writer.uint(log_index, 6), writer.fixed_uint(block[tx_of], 8),
        ])  # fmt: skip
        return n, m

    def _maybe_address(self, index: np.ndarray) -> writer.Field:
        """An address, or empty where the index is -1."""
        table = self.addresses
        missing = index < 0
        safe = np.where(missing, 0, index)

        def fill(out: np.ndarray, rows: slice) -> np.ndarray:
            out[:] = table[safe[rows]]
            return np.where(missing[rows], 0, 42)

        return writer.Field(42, fill)
