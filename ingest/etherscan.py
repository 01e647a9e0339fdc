"""Etherscan account API exports: `txlist` (normal transactions) and `tokentx` (ERC-20) JSON,
either the API envelope {"status", "message", "result": [...]} or a bare list of records."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from core.address import is_address
from graph.model import NATIVE_TOKEN
from ingest.batch import Batch, transfer_frame
from ingest.validate import Checker, ints, lower, optional_floats, wei_to_float

TX_FIELDS = ["hash", "from", "to", "value", "blockNumber", "timeStamp"]
TOKEN_FIELDS = [*TX_FIELDS, "contractAddress"]


class EtherscanFormatError(ValueError):
    pass


def _records(path: Path) -> list[dict]:
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise EtherscanFormatError(f"{path}: not JSON ({exc})") from exc
    if isinstance(data, dict):
        if not isinstance(data.get("result"), list):
            why = ": ".join(str(x) for x in (data.get("message"), data.get("result")) if x)
            raise EtherscanFormatError(f"{path}: no result list ({why})")
        data = data["result"]
    if not isinstance(data, list):
        raise EtherscanFormatError(f"{path}: expected a list of transactions")
    return data


def etherscan_batches(path: Path, chunk_rows: int = 100_000) -> Iterator[Batch]:
    path = Path(path)
    records = _records(path)
    is_token = any(isinstance(r, dict) and "tokenSymbol" in r for r in records[:100])
    fields = TOKEN_FIELDS + ["tokenDecimal", "logIndex", "isError", "txreceipt_status", "gasUsed", "gasPrice"]
    frame = pd.DataFrame.from_records(
        [{k: str(r.get(k, "")) for k in fields} if isinstance(r, dict) else {} for r in records],
        columns=fields,
    ).fillna("")
    lines = np.arange(1, len(frame) + 1)  # JSON record number, 1-based
    for start in range(0, len(frame), chunk_rows):
        part, part_lines = frame.iloc[start : start + chunk_rows], lines[start : start + chunk_rows]
        check = Checker(part, part_lines, path.name)
        check.tx_hash("hash")
        check.address("from")
        check.address("to", allow_empty=not is_token)
        check.uint("value", "not an integer amount")
        check.uint("blockNumber")
        check.uint("timeStamp", "not a unix time in seconds")
        if is_token:
            check.address("contractAddress")
            check.uint("tokenDecimal", allow_empty=True)
        good, _, errors = check.result()
        hashes = lower(good["hash"])
        to = lower(good["to"])
        if not is_token:
            to = to.where(to != "", lower(good["contractAddress"]))
        keep = (to != "").to_numpy()
        raw = good["value"].str.lstrip("0").replace("", "0")
        if is_token:
            failed = np.zeros(len(good), dtype=bool)
            decimals = good["tokenDecimal"].replace("", "0").astype(np.int64).to_numpy()
            token = lower(good["contractAddress"])
            # tokentx carries no log index: number the token transfers within each transaction
            given = good["logIndex"].str.fullmatch(r"[0-9]+").fillna(False).to_numpy(dtype=bool)
            log_index = np.where(given, good["logIndex"].where(given, "0").astype(np.int64),
                                 hashes.groupby(hashes).cumcount().to_numpy())  # fmt: skip
        else:
            failed = ((good["isError"] == "1") | (good["txreceipt_status"] == "0")).to_numpy()
            raw = raw.where(~failed, "0")
            decimals, token, log_index = 18, NATIVE_TOKEN, -1
        fee = np.zeros(len(good))
        if not is_token:  # ETH the sender paid (empty when the export leaves gas out: 0)
            fee = np.nan_to_num(optional_floats(good["gasUsed"]) * optional_floats(good["gasPrice"]) / 1e18)
        out = transfer_frame(
            from_address=lower(good["from"]),
            to_address=to,
            hash=hashes,
            log_index=log_index,
            value=wei_to_float(raw, decimals),
            value_raw=raw,
            token=token,
            ts=ints(good["timeStamp"]),
            block=ints(good["blockNumber"]),
            status=np.where(failed, 0, 1),
            tx_count=1,
            fee=fee,
        )[keep]
        yield Batch(out, len(part), errors, int((~keep).sum()), 0)


def token_metadata(path: Path) -> list[dict]:
    """Symbol, name and decimals of the tokens a `tokentx` export names."""
    tokens: dict[str, dict] = {}
    for r in _records(path):
        if not isinstance(r, dict) or "tokenSymbol" not in r:
            continue
        address = str(r.get("contractAddress", "")).strip().lower()
        decimals = str(r.get("tokenDecimal", "")).strip()
        if address and address not in tokens and is_address(address):
            tokens[address] = {
                "address": address,
                "symbol": r.get("tokenSymbol") or None,
                "name": r.get("tokenName") or None,
                "decimals": int(decimals) if decimals.isdigit() else None,
            }
    return list(tokens.values())
