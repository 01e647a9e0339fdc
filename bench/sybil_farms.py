"""A second farm generator, for evaluation only: it writes its farms straight into the CSVs of a
finished `aidrop synth` folder, with conventions of its own, so a detector tuned to
ingest/synth/sybil.py would show it here. Nothing in aidrop imports this.

Where ingest.synth.sybil funds members directly, through one hop each or by identical exchange
withdrawals, runs one script in batches an hour apart and sweeps ETH, this one:

- funds through a tree (the operator funds 2-5 sub-funders, each funds its share of the members),
  a chain (each member funds the next: no two share a funder), or an exchange paying varied
  amounts over two days;
- takes a share of the members from the existing population (their first funder stays the
  exchange that funded them first) and makes the rest fresh;
- lets every member act once a day at its own hour of the day (jittered by +-40 minutes), or
  the whole farm within a few minutes on a few campaign days;
- draws amounts per member and task, rounded to 4 decimals;
- sweeps USDC to one collector, ETH to one collector, or ETH to a deposit address of each
  member's own that forwards to an exchange (nothing shared: those farms have to be found by
  what they did in between).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

BLOCK = 12
TX_COLUMNS = (
    "hash",
    "nonce",
    "block_hash",
    "block_number",
    "transaction_index",
    "from_address",
    "to_address",
    "value",
    "gas",
    "gas_price",
    "input",
    "block_timestamp",
    "max_fee_per_gas",
    "max_priority_fee_per_gas",
    "transaction_type",
)
RECEIPT_COLUMNS = (
    "transaction_hash",
    "transaction_index",
    "block_hash",
    "block_number",
    "cumulative_gas_used",
    "gas_used",
    "contract_address",
    "root",
    "status",
    "effective_gas_price",
)
TT_COLUMNS = (
    "token_address",
    "from_address",
    "to_address",
    "value",
    "transaction_hash",
    "log_index",
    "block_number",
)


@dataclass(frozen=True)
class FarmSettings:
    share: float = 0.05  # of the population, as farm members
    sizes: tuple[int, int] = (5, 120)
    fresh: float = 0.6  # share of members that are new wallets
    funding: tuple[float, float, float] = (0.4, 0.3, 0.3)  # tree, chain, exchange
    activity: tuple[float, float] = (0.6, 0.4)  # own hour each day, whole farm in minutes
    sweep: tuple[float, float, float] = (0.4, 0.35, 0.25)  # usdc collector, eth collector, own deposits


class _Writer:
    def __init__(self, rng: np.random.Generator, t0: int, block0: int) -> None:
        self.rng, self.t0, self.block0 = rng, t0, block0
        self.tx: list[tuple] = []
        self.receipts: list[tuple] = []
        self.tt: list[tuple] = []

    def hex(self, n: int) -> str:
        return "0x" + self.rng.bytes(n).hex()

    def send(
        self,
        ts: int,
        src: str,
        dst: str,
        wei: int,
        selector: str = "0x",
        token: tuple[str, str, int] | None = None,
    ) -> None:
        block = self.block0 + (int(ts) - self.t0) // BLOCK
        ts = self.t0 + (block - self.block0) * BLOCK
        h, bh = self.hex(32), self.hex(32)
        index = int(self.rng.integers(0, 150))
        gas = 21000 if selector == "0x" else 90000
        price = int(self.rng.integers(8, 60)) * 10**9
        self.tx.append(
            (
                h,
                int(self.rng.integers(0, 5000)),
                bh,
                block,
                index,
                src,
                dst,
                wei,
                gas,
                price,
                selector,
                ts,
                "",
                "",
                0,
            )
        )
        self.receipts.append((h, index, bh, block, gas * (index + 1), gas, "", "", 1, price))
        if token is not None:
            token_address, to, raw = token
            self.tt.append((token_address, src, to, raw, h, index * 2, block))

    def append(self, folder: Path) -> None:
        for name, _columns, rows in (
            ("transactions", TX_COLUMNS, self.tx),
            ("receipts", RECEIPT_COLUMNS, self.receipts),
            ("token_transfers", TT_COLUMNS, self.tt),
        ):
            with (folder / f"{name}.csv").open("a", newline="") as fh:
                w = csv.writer(fh, lineterminator="\n")
                w.writerows(rows)


def _pick(rng: np.random.Generator, p: tuple[float, ...]) -> int:
    return int(rng.choice(len(p), p=np.array(p) / sum(p)))


def add_farms(folder: Path, seed: int, settings: FarmSettings | None = None) -> dict[str, str]:
    """Write farms into `folder` (an `aidrop synth` output): transactions, receipts and token
    transfers appended, labels.csv rewritten with `sybil_cluster` set (new rows for fresh
    members). Returns address -> farm id."""
    s = settings or FarmSettings()
    rng = np.random.default_rng([seed, 7331])
    labels = pd.read_csv(folder / "labels.csv", dtype=str, keep_default_na=False)
    contracts = pd.read_csv(folder / "contracts.csv", dtype=str, keep_default_na=False)
    tokens = pd.read_csv(folder / "tokens.csv", dtype=str, keep_default_na=False)
    times = pd.read_csv(folder / "transactions.csv", usecols=["block_number", "block_timestamp"])
    t0, t1 = int(times["block_timestamp"].min()), int(times["block_timestamp"].max())
    block0 = int(times.loc[times["block_timestamp"].idxmin(), "block_number"])
    exchanges = contracts.loc[contracts["category"] == "Exchange", "address"].tolist()
    menu = contracts.loc[~contracts["category"].isin(["Exchange"]), "address"].tolist()
    usdc = tokens.loc[tokens["symbol"] == "USDC", "address"].iloc[0]
    free = labels[
        (labels["sybil_cluster"] == "") & (labels["sybil_lookalike"] == "") & (labels["laundering_id"] == "")
    ]["address"].tolist()
    free = [free[i] for i in rng.permutation(len(free))]
    w = _Writer(rng, t0, block0)
    span = t1 - t0
    budget = round(s.share * len(labels))
    truth: dict[str, str] = {}
    fresh_rows = []
    k = 0
    while budget >= s.sizes[0]:
        size = min(int(np.exp(rng.uniform(np.log(s.sizes[0]), np.log(s.sizes[1] + 1)))), budget)
        budget -= size
        fid = f"bench-farm-{k:03d}"
        k += 1
        n_fresh = int(round(size * s.fresh))
        members = [w.hex(20) for _ in range(n_fresh)] + [free.pop() for _ in range(size - n_fresh)]
        fresh_rows += members[:n_fresh]
        for m in members:
            truth[m] = fid
        start = t0 + int(rng.uniform(0.05, 0.3) * span)
        operator = w.hex(20)
        w.send(start - 7200, str(rng.choice(exchanges)), operator, int(rng.uniform(20, 80) * 1e18))
        amounts = np.round(rng.lognormal(np.log(0.15), 0.4, size), 4)
        funding = _pick(rng, s.funding)
        if funding == 0:  # a tree of sub-funders
            subs = [w.hex(20) for _ in range(int(rng.integers(2, 6)))]
            for j, sub in enumerate(subs):
                w.send(start + j * 600, operator, sub, int(amounts.sum() / len(subs) * 1.1e18))
            for i, m in enumerate(members):
                w.send(
                    start + 3600 + int(rng.uniform(0, 6 * 3600)),
                    subs[i % len(subs)],
                    m,
                    int(amounts[i] * 1e18),
                )
        elif funding == 1:  # a chain: each member funds the next
            w.send(start, operator, members[0], int(amounts.sum() * 1.2e18))
            for i in range(1, size):
                w.send(
                    start + i * int(rng.uniform(300, 5400)),
                    members[i - 1],
                    members[i],
                    int(amounts[i:].sum() * 1.1e18),
                )
        else:  # an exchange pays each member a different amount over two days
            ex = str(rng.choice(exchanges))
            w.send(start - 3600, operator, ex, int(amounts.sum() * 1.05e18))
            for i, m in enumerate(members):
                w.send(start + int(rng.uniform(0, 2 * 86400)), ex, m, int(amounts[i] * 1e18))
        # activity
        tasks = [menu[i] for i in rng.choice(len(menu), size=int(rng.integers(4, 7)), replace=False)]
        first_day = (start + 86400 - t0) // 86400 + 1
        days = np.sort(
            rng.choice(
                np.arange(first_day, max(first_day + 3, span // 86400 - 3)),
                size=int(rng.integers(3, 9)),
                replace=True,
            )
        )
        hour = rng.uniform(0, 24, size)
        together = _pick(rng, s.activity) == 1
        for day in days:
            at = t0 + int(day) * 86400
            campaign_at = at + int(rng.uniform(0, 20 * 3600))
            for i, m in enumerate(members):
                base = campaign_at + i * int(rng.uniform(5, 40)) if together else at + int(hour[i] * 3600)
                for step in range(int(rng.integers(1, 4))):
                    ts = (
                        base
                        + step * int(rng.uniform(60, 900))
                        + (0 if together else int(rng.normal(0, 2400)))
                    )
                    wei = int(round(float(rng.lognormal(np.log(0.01), 0.5)), 4) * 1e18)
                    w.send(min(ts, t1 - 3600), m, str(rng.choice(tasks)), wei, "0xa1903eab")
        # sweep
        sweep = _pick(rng, s.sweep)
        end = min(t1 - 7200, t0 + int(days.max()) * 86400 + 86400 + int(rng.uniform(0, 86400)))
        collector = w.hex(20)
        for i, m in enumerate(members):
            ts = end + int(rng.uniform(0, 12 * 3600))
            if sweep == 0:
                raw = int(round(float(rng.uniform(50, 400)), 2) * 1e6)
                w.send(ts, m, usdc, 0, "0xa9059cbb", (usdc, collector, raw))
            elif sweep == 1:
                w.send(ts, m, collector, int(amounts[i] * 0.4e18))
            else:
                deposit = w.hex(20)
                w.send(ts, m, deposit, int(amounts[i] * 0.4e18))
                w.send(ts + 1800, deposit, str(rng.choice(exchanges)), int(amounts[i] * 0.399e18))
    w.append(folder)
    labels["sybil_cluster"] = labels["address"].map(truth).fillna(labels["sybil_cluster"])
    if fresh_rows:
        extra = pd.DataFrame({c: "" for c in labels.columns}, index=range(len(fresh_rows)))
        extra["address"] = fresh_rows
        extra["sybil_cluster"] = [truth[a] for a in fresh_rows]
        labels = pd.concat([labels, extra], ignore_index=True)
    labels.to_csv(folder / "labels.csv", index=False)
    return truth
