"""Edge lists as research datasets ship them: from_address,to_address,value,block_timestamp[,tx_count].

Each row is one wallet pair (value in ETH, possibly the total of `tx_count` transfers). It has no
transaction hash, so its identity is a stable digest of (from, to, timestamp): loading twice
changes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np

from graph.model import NATIVE_TOKEN
from ingest.batch import Batch, transfer_frame
from ingest.csvio import read_chunks
from ingest.validate import Checker, ints, lower

REQUIRED = ["from_address", "to_address", "value", "block_timestamp"]
WEI = Decimal(10) ** 18


def pair_hash(from_address: str, to_address: str, ts: int) -> str:
    digest = hashlib.blake2b(f"{from_address}:{to_address}:{ts}".encode(), digest_size=32)
    return "0x" + digest.hexdigest()


def _wei(value: str) -> str:
    try:
        return str(int(Decimal(value.strip()) * WEI))
    except (InvalidOperation, ValueError):
        return "0"


def edge_batches(path: Path) -> Iterator[Batch]:
    for chunk in read_chunks(Path(path), REQUIRED, ["tx_count", "block_number"]):
        check = Checker(chunk.frame, chunk.lines, Path(path).name)
        check.address("from_address")
        check.address("to_address")
        value = check.number("value")
        check.uint("block_timestamp", "not a unix time in seconds")
        if "tx_count" in chunk.frame:
            check.matches("tx_count", r"[1-9][0-9]*", "not a positive count", allow_empty=True)
        if "block_number" in chunk.frame:
            check.uint("block_number", allow_empty=True)
        ok = check.ok.copy()
        frame, _, errors = check.result()
        src, dst = lower(frame["from_address"]), lower(frame["to_address"])
        ts = ints(frame["block_timestamp"])
        hashes = [pair_hash(a, b, t) for a, b, t in zip(src.tolist(), dst.tolist(), ts.tolist(), strict=True)]
        count = frame["tx_count"].replace("", "1") if "tx_count" in frame else "1"
        block = frame["block_number"].replace("", "-1") if "block_number" in frame else "-1"
        out = transfer_frame(
            from_address=src,
            to_address=dst,
            hash=hashes,
            log_index=-1,
            value=value[ok],
            value_raw=[_wei(v) for v in frame["value"].tolist()],
            token=NATIVE_TOKEN,
            ts=ts,
            block=np.asarray(block, dtype=np.int64) if isinstance(block, str) else block.astype(np.int64),
            status=1,
            tx_count=np.asarray(count, dtype=np.int64) if isinstance(count, str) else count.astype(np.int64),
        )
        yield Batch(out, len(chunk.frame) + len(chunk.errors), chunk.errors + errors, 0, chunk.position)
