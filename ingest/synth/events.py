"""Events: the transactions to write, as columns. Each has a sender, a target (or a created
contract), an ETH value and up to LOGS token transfers (token -1 = none)."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

LOGS = 2  # token transfers per transaction at most


@dataclass
class Events:
    ts: np.ndarray  # int64 unix seconds
    kind: np.ndarray  # int64, activity.Kind
    sender: np.ndarray  # int64 address index
    to: np.ndarray  # int64 address index, -1 for a contract creation
    created: np.ndarray  # int64 address index of the created contract, -1 if none
    eth_hi: np.ndarray  # uint64: value in wei = hi * 10**18 + lo
    eth_lo: np.ndarray
    risky: np.ndarray  # bool: a young contract (fails more often)
    sure: np.ndarray  # bool: never fails (scheduled events the labels rely on)
    log_token: np.ndarray  # (n, LOGS) int64 address index of the token, -1 = no log
    log_from: np.ndarray  # (n, LOGS)
    log_to: np.ndarray  # (n, LOGS)
    log_hi: np.ndarray  # (n, LOGS) uint64 raw amount = hi * 10**18 + lo
    log_lo: np.ndarray

    def __len__(self) -> int:
        return len(self.ts)

    @classmethod
    def blank(cls, n: int) -> Events:
        i64 = lambda: np.full(n, -1, dtype=np.int64)  # noqa: E731
        u64 = lambda shape: np.zeros(shape, dtype=np.uint64)  # noqa: E731
        return cls(
            ts=np.zeros(n, dtype=np.int64), kind=np.zeros(n, dtype=np.int64), sender=i64(), to=i64(),
            created=i64(), eth_hi=u64(n), eth_lo=u64(n), risky=np.zeros(n, dtype=bool),
            sure=np.zeros(n, dtype=bool), log_token=np.full((n, LOGS), -1, dtype=np.int64),
            log_from=np.full((n, LOGS), -1, dtype=np.int64), log_to=np.full((n, LOGS), -1, dtype=np.int64),
            log_hi=u64((n, LOGS)), log_lo=u64((n, LOGS)),
        )  # fmt: skip

    def take(self, index: np.ndarray | slice) -> Events:
        return Events(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    @staticmethod
    def concat(parts: list[Events]) -> Events:
        return Events(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Events)})

    def set_log(self, rows: np.ndarray, slot: int, token: np.ndarray | int, src: np.ndarray | int,
                dst: np.ndarray | int, raw: tuple[np.ndarray, np.ndarray]) -> None:  # fmt: skip
        self.log_token[rows, slot] = token
        self.log_from[rows, slot] = src
        self.log_to[rows, slot] = dst
        self.log_hi[rows, slot], self.log_lo[rows, slot] = raw

    def set_eth(self, rows: np.ndarray, raw: tuple[np.ndarray, np.ndarray]) -> None:
        self.eth_hi[rows], self.eth_lo[rows] = raw


def sort_by_time(events: Events) -> Events:
    return events.take(np.argsort(events.ts, kind="stable"))
