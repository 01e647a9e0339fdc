"""ethereum-etl CSV exports: transactions, token_transfers, receipts, contracts, tokens, blocks.

Files are recognised by name (`transactions.csv`, `transactions_00001.csv`, ...) in a folder
or given one by one. Receipts, blocks and tokens are read first (they are small) so that
failed transactions move no value, creations get their contract, and token values are scaled.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from graph.model import NATIVE_TOKEN
from ingest.batch import Batch, transfer_frame
from ingest.csvio import read_chunks
from ingest.report import IngestReport
from ingest.validate import Checker, floats, ints, lower, optional_floats, wei_to_float

KINDS = ("tokens", "contracts", "receipts", "blocks", "transactions", "token_transfers")


@dataclass
class EtlContext:
    failed: set[str] = field(default_factory=set)  # hashes of transactions with status 0
    created: dict[str, str] = field(default_factory=dict)  # tx hash -> created contract
    block_ts: dict[int, int] = field(default_factory=dict)
    decimals: dict[str, int | None] = field(default_factory=dict)
    contracts: dict[str, dict] = field(default_factory=dict)
    tokens: dict[str, dict] = field(default_factory=dict)
    gas_used: dict[str, float] = field(default_factory=dict)  # tx hash -> gas used (receipts)
    gas_price: dict[str, float] = field(default_factory=dict)  # tx hash -> effective gas price (wei)


def fees(frame: pd.DataFrame, hashes: pd.Series, ctx: EtlContext) -> np.ndarray:
    """ETH paid per transaction: gas used (receipts, or the enriched receipt_gas_used column) x
    effective gas price (receipts, receipt_effective_gas_price, else gas_price); 0 when unknown."""
    used = hashes.map(ctx.gas_used).to_numpy(dtype=float, na_value=np.nan)
    if "receipt_gas_used" in frame:
        used = np.where(np.isnan(used), optional_floats(frame["receipt_gas_used"]), used)
    price = hashes.map(ctx.gas_price).to_numpy(dtype=float, na_value=np.nan)
    for col in ("receipt_effective_gas_price", "gas_price"):
        if col in frame:
            price = np.where(np.isnan(price), optional_floats(frame[col]), price)
    fee = used * price / 1e18
    return np.where(np.isfinite(fee), fee, 0.0)


def discover(paths: Iterable[Path]) -> dict[str, list[Path]]:
    """Group the given files (or the CSVs in given folders) by ethereum-etl kind."""
    found: dict[str, list[Path]] = {k: [] for k in KINDS}
    for path in map(Path, paths):
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file or folder")
        files = sorted(path.glob("*.csv")) if path.is_dir() else [path]
        for file in files:
            stem = file.stem.lower()
            kind = max((k for k in KINDS if stem == k or stem.startswith(k + "_")), key=len, default=None)
            if kind:
                found[kind].append(file)
    if not any(found[k] for k in ("transactions", "token_transfers")):
        raise FileNotFoundError(
            "no transactions.csv or token_transfers.csv among " + ", ".join(map(str, paths))
        )
    return found


def _int(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.isdigit() else None


def read_tokens(path: Path, ctx: EtlContext, report: IngestReport) -> None:
    for chunk in read_chunks(path, ["address"], ["symbol", "name", "decimals"]):
        check = Checker(chunk.frame, chunk.lines, path.name)
        check.address("address")
        if "decimals" in chunk.frame:
            check.uint("decimals", allow_empty=True)
        frame, _, errors = check.result()
        report.rows_read += len(chunk.frame) + len(chunk.errors)
        report.reject(chunk.errors + errors)
        for row in frame.to_dict("records"):
            address = row["address"].strip().lower()
            decimals = _int(row.get("decimals", ""))
            ctx.decimals[address] = decimals
            ctx.tokens[address] = {
                "address": address,
                "symbol": row.get("symbol") or None,
                "name": row.get("name") or None,
                "decimals": decimals,
            }


def read_contracts(path: Path, ctx: EtlContext, report: IngestReport) -> None:
    for chunk in read_chunks(path, ["address"], ["block_number", "name", "category"]):
        check = Checker(chunk.frame, chunk.lines, path.name)
        check.address("address")
        frame, _, errors = check.result()
        report.rows_read += len(chunk.frame) + len(chunk.errors)
        report.reject(chunk.errors + errors)
        for row in frame.to_dict("records"):
            address = row["address"].strip().lower()
            ctx.contracts[address] = {
                "address": address,
                "name": row.get("name") or None,
                "category": row.get("category") or None,
                "block": _int(row.get("block_number", "")),
            }


def read_receipts(path: Path, ctx: EtlContext, report: IngestReport) -> None:
    optional = ["contract_address", "block_number", "gas_used", "effective_gas_price"]
    for chunk in read_chunks(path, ["transaction_hash", "status"], optional):
        check = Checker(chunk.frame, chunk.lines, path.name)
        check.tx_hash("transaction_hash")
        check.matches("status", r"[01]", "not a receipt status (0 or 1)", allow_empty=True)
        if "contract_address" in chunk.frame:
            check.address("contract_address", allow_empty=True)
        frame, _, errors = check.result()
        report.rows_read += len(chunk.frame) + len(chunk.errors)
        report.reject(chunk.errors + errors)
        hashes = lower(frame["transaction_hash"])
        ctx.failed.update(hashes[frame["status"].str.strip() == "0"].tolist())
        for col, known in (("gas_used", ctx.gas_used), ("effective_gas_price", ctx.gas_price)):
            if col in frame:
                values = optional_floats(frame[col])
                ok = ~np.isnan(values)
                known.update(zip(hashes[ok].tolist(), values[ok].tolist(), strict=True))
        if "contract_address" in frame:
            created = lower(frame["contract_address"])
            mask = created != ""
            for tx, address in zip(hashes[mask].tolist(), created[mask].tolist(), strict=True):
                ctx.created[tx] = address
                ctx.contracts.setdefault(address, {"address": address, "name": None, "category": None})


def read_blocks(path: Path, ctx: EtlContext, report: IngestReport) -> None:
    for chunk in read_chunks(path, ["number", "timestamp"]):
        check = Checker(chunk.frame, chunk.lines, path.name)
        check.uint("number")
        check.uint("timestamp")
        frame, _, errors = check.result()
        report.rows_read += len(chunk.frame) + len(chunk.errors)
        report.reject(chunk.errors + errors)
        ctx.block_ts.update(
            zip(ints(frame["number"]).tolist(), ints(frame["timestamp"]).tolist(), strict=False)
        )


def transaction_batches(path: Path, ctx: EtlContext, keep_block_ts: bool) -> Iterator[Batch]:
    """Native-value transfers, one per transaction (zero-value calls included: they are
    interactions). Failed transactions are kept with value 0 and status 0."""
    required = ["hash", "from_address", "to_address", "value", "block_number", "block_timestamp"]
    optional = ["receipt_status", "receipt_gas_used", "receipt_effective_gas_price", "gas_price"]
    for chunk in read_chunks(path, required, optional):
        check = Checker(chunk.frame, chunk.lines, path.name)
        check.tx_hash("hash")
        check.address("from_address")
        check.address("to_address", allow_empty=True)
        check.uint("value", "not an amount in wei (a non-negative integer)")
        check.uint("block_number")
        check.uint("block_timestamp", "not a unix time in seconds")
        frame, _, errors = check.result()
        hashes = lower(frame["hash"])
        to = lower(frame["to_address"])
        creation = to == ""
        if creation.any():
            to = to.where(~creation, hashes.map(ctx.created).fillna(""))
        keep = (to != "").to_numpy()
        failed = hashes.isin(ctx.failed).to_numpy()
        if "receipt_status" in frame:
            failed |= (frame["receipt_status"].str.strip() == "0").to_numpy()
        raw = frame["value"].str.strip().str.lstrip("0").replace("", "0")
        raw = raw.where(~failed, "0")
        block = ints(frame["block_number"])
        ts = ints(frame["block_timestamp"])
        if keep_block_ts:
            ctx.block_ts.update(zip(block.tolist(), ts.tolist(), strict=False))
        out = transfer_frame(
            from_address=lower(frame["from_address"]),
            to_address=to,
            hash=hashes,
            log_index=-1,
            value=wei_to_float(raw, 18),
            value_raw=raw,
            token=NATIVE_TOKEN,
            ts=ts,
            block=block,
            status=np.where(failed, 0, 1),
            tx_count=1,
            fee=fees(frame, hashes, ctx),
        )[keep]
        yield Batch(out, len(chunk.frame) + len(chunk.errors), chunk.errors + errors, int((~keep).sum()),
                    chunk.position)  # fmt: skip


def token_transfer_batches(path: Path, ctx: EtlContext) -> Iterator[Batch]:
    """ERC-20/721/1155 transfers; values scaled by the token's decimals when known."""
    required = ["token_address", "from_address", "to_address", "value", "transaction_hash", "log_index",
                "block_number"]  # fmt: skip
    for chunk in read_chunks(path, required, ["block_timestamp"]):
        check = Checker(chunk.frame, chunk.lines, path.name)
        check.address("token_address")
        check.address("from_address")
        check.address("to_address")
        check.uint("value", "not a raw token amount (a non-negative integer)")
        check.tx_hash("transaction_hash")
        check.uint("log_index")
        check.uint("block_number")
        if "block_timestamp" in chunk.frame:
            check.uint("block_timestamp", "not a unix time in seconds", allow_empty=True)
        block = pd.Series(ints(chunk.frame["block_number"].where(check.ok, "0")))
        ts = block.map(ctx.block_ts)
        if "block_timestamp" in chunk.frame:
            given = chunk.frame["block_timestamp"].where(check.ok, "")
            ts = ts.where((given == "").to_numpy(), floats(given.replace("", "0")))
        check.fail(ts.isna().to_numpy(), "block_number", "no timestamp known for this block "
                    "(add blocks.csv, transactions.csv or a block_timestamp column)")  # fmt: skip
        frame, _, errors = check.result()
        token = lower(frame["token_address"])
        decimals = token.map(ctx.decimals).fillna(0).astype(np.int64).to_numpy()
        raw = frame["value"].str.strip().str.lstrip("0").replace("", "0")
        out = transfer_frame(
            from_address=lower(frame["from_address"]),
            to_address=lower(frame["to_address"]),
            hash=lower(frame["transaction_hash"]),
            log_index=ints(frame["log_index"]),
            value=wei_to_float(raw, decimals),
            value_raw=raw,
            token=token,
            ts=ts[check.ok].astype(np.int64).to_numpy(),
            block=ints(frame["block_number"]),
            status=1,
            tx_count=1,
        )
        yield Batch(out, len(chunk.frame) + len(chunk.errors), chunk.errors + errors, 0, chunk.position)
