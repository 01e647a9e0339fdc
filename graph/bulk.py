"""First loads through FalkorDB's GRAPH.BULK: binary node and edge blobs, no Cypher parsing.

Only for a graph that does not exist yet. Node ids are the order of creation, so the writer
remembers each address's id; transfers already sent are skipped by (chain, hash, log_index). Records
are assembled column-wise with numpy and Arrow, with no Python loop over rows.
"""

from __future__ import annotations

import asyncio
import struct
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from graph.model import WriteResult

_DOUBLE, _LONG = 2, 4
# Fixed-width properties first (one numpy record per edge), then the strings.
_EDGE_FIXED = ("log_index", "value", "ts", "block", "status", "tx_count", "fee", "chain")
_EDGE_DOUBLES = ("value", "fee")
_EDGE_STRINGS = ("hash", "value_raw", "token")
_FIXED_DTYPE = np.dtype(
    [("src", "<u8"), ("dst", "<u8")]
    + [
        item
        for name in _EDGE_FIXED
        for item in ((f"t_{name}", "u1"), (name, "<f8" if name in _EDGE_DOUBLES else "<i8"))
    ]
)
_STRING_START, _STRING_END = pa.scalar(b"\x03"), pa.scalar(b"\x00")


def _header(name: str, props: tuple[str, ...]) -> bytes:
    out = name.encode() + b"\0" + struct.pack("=I", len(props))
    return out + b"".join(p.encode() + b"\0" for p in props)


_NODE_HEADER = _header("Wallet", ("address",))
_EDGE_HEADER = _header("TRANSFER", _EDGE_FIXED + _EDGE_STRINGS)


def _utf8(values: Any) -> pa.Array:
    array = pa.array(values, type=pa.string())
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _binary(values: Any) -> pa.Array:
    return _utf8(values).cast(pa.binary())


def _concat(*parts: Any) -> bytes:
    """Row-wise concatenation of binary columns and scalars, as one contiguous buffer."""
    joined = pc.binary_join_element_wise(*parts, pa.scalar(b""))
    offsets = np.frombuffer(
        joined.buffers()[1], dtype=np.int32, count=len(joined) + 1, offset=joined.offset * 4
    )
    return joined.buffers()[2].to_pybytes()[offsets[0] : offsets[-1]]


_MIX = np.uint64(0x100000001B3)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_CHAIN_MIX = np.uint64(0xC2B2AE3D27D4EB4F)


def _hash(values: Any) -> np.ndarray:
    """64-bit hashes of strings. Equal-length strings (addresses, hashes: what the readers
    validate) are hashed word by word straight from the Arrow buffer; others through pandas."""
    array = _utf8(values)
    n = len(array)
    offsets = np.frombuffer(array.buffers()[1], np.int32, n + 1, array.offset * 4)
    width = int(offsets[1] - offsets[0]) if n else 0
    if n == 0 or array.null_count or width == 0 or offsets[-1] - offsets[0] != width * n:
        return pd.util.hash_array(array.to_numpy(zero_copy_only=False), categorize=False)
    raw = np.frombuffer(array.buffers()[2], np.uint8, width * n, int(offsets[0])).reshape(n, width)
    words = -(-width // 8)
    padded = np.zeros((n, words * 8), np.uint8)
    padded[:, :width] = raw
    h = np.full(n, np.uint64(width), np.uint64)
    with np.errstate(over="ignore"):
        for word in padded.view(np.uint64).T:
            h = (h ^ word) * _MIX
        h ^= h >> np.uint64(31)  # splitmix64 finaliser
        h *= _GOLDEN
        h ^= h >> np.uint64(29)
    return h


class KeyMap:
    """uint64 key -> int64 value for millions of keys: sorted runs, merged when a run grows as
    large as the one before it (a few runs at most), so inserts stay cheap and look-ups vectorised."""

    def __init__(self) -> None:
        self.runs: list[tuple[np.ndarray, np.ndarray]] = []

    def __len__(self) -> int:
        return sum(len(keys) for keys, _ in self.runs)

    def get(self, keys: np.ndarray) -> np.ndarray:
        """The value of each key, -1 where absent."""
        out = np.full(len(keys), -1, np.int64)
        for run_keys, run_values in self.runs:
            pos = np.searchsorted(run_keys, keys)
            pos[pos == len(run_keys)] = 0
            hit = run_keys[pos] == keys
            out[hit] = run_values[pos[hit]]
        return out

    def add(self, keys: np.ndarray, values: np.ndarray) -> None:
        """Insert keys that are not present yet."""
        if not len(keys):
            return
        order = np.argsort(keys, kind="stable")
        self.runs.append((keys[order], values[order]))
        while len(self.runs) > 1 and len(self.runs[-1][0]) >= len(self.runs[-2][0]):
            (k2, v2), (k1, v1) = self.runs.pop(), self.runs.pop()
            merged = np.concatenate([k1, k2])
            order = np.argsort(merged, kind="stable")
            self.runs.append((merged[order], np.concatenate([v1, v2])[order]))


class BulkWriter:
    def __init__(self, client: Any, graph: str) -> None:
        self.client = client
        self.graph = graph
        self.node_ids = KeyMap()  # hash of address -> node id
        self.seen = KeyMap()  # hash of (chain, hash, log_index) -> 0
        self.began = False
        self._inflight: asyncio.Task | None = None

    def _fresh(self, frame: pd.DataFrame) -> pd.DataFrame:
        with np.errstate(over="ignore"):
            keys = (
                _hash(frame["hash"])
                ^ (frame["log_index"].to_numpy().astype(np.uint64) * _GOLDEN)
                ^ (frame["chain"].to_numpy().astype(np.uint64) * _CHAIN_MIX)
            )
        fresh = ~pd.Series(keys).duplicated().to_numpy() & (self.seen.get(keys) < 0)
        self.seen.add(keys[fresh], np.zeros(int(fresh.sum()), np.int64))
        return frame[fresh]

    async def write(self, frame: pd.DataFrame) -> WriteResult:
        frame = self._fresh(frame)
        if frame.empty:
            return WriteResult()
        both = pa.concat_arrays([_utf8(frame["from_address"]), _utf8(frame["to_address"])])
        unique, first, inverse = np.unique(_hash(both), return_index=True, return_inverse=True)
        ids = self.node_ids.get(unique)
        new = np.flatnonzero(ids < 0)
        new = new[np.argsort(first[new], kind="stable")]  # new addresses in the order first seen
        start = len(self.node_ids)
        ids[new] = np.arange(start, start + len(new))
        self.node_ids.add(unique[new], ids[new])
        blobs: list[bytes] = []
        if len(new):
            names = both.take(pa.array(first[new])).cast(pa.binary())
            blobs.append(_NODE_HEADER + _concat(_STRING_START, names, _STRING_END))
        ends = ids[inverse]
        blobs.append(_EDGE_HEADER + self._edges(frame, ends[: len(frame)], ends[len(frame) :]))
        args: list[Any] = [len(new), len(frame), 1 if len(new) else 0, 1, *blobs]
        if not self.began:
            args.insert(0, "BEGIN")
            self.began = True
        await self.flush()  # one batch on the server while the next one is encoded
        self._inflight = asyncio.ensure_future(self.client.execute_command("GRAPH.BULK", self.graph, *args))
        return WriteResult(len(frame), len(new))

    async def flush(self) -> None:
        """Wait for the batch on the server (its errors surface here)."""
        if self._inflight is not None:
            task, self._inflight = self._inflight, None
            await task

    def _edges(self, frame: pd.DataFrame, sources: np.ndarray, targets: np.ndarray) -> bytes:
        n = len(frame)
        rec = np.zeros(n, dtype=_FIXED_DTYPE)
        rec["src"], rec["dst"] = sources, targets
        for name in _EDGE_FIXED:
            rec[f"t_{name}"] = _DOUBLE if name in _EDGE_DOUBLES else _LONG
            rec[name] = frame[name].to_numpy()
        fixed = pa.FixedSizeBinaryArray.from_buffers(
            pa.binary(_FIXED_DTYPE.itemsize), n, [None, pa.py_buffer(rec.tobytes())]
        ).cast(pa.binary())
        parts: list[Any] = [fixed]
        for name in _EDGE_STRINGS:
            parts += [_STRING_START, _binary(frame[name]), _STRING_END]
        return _concat(*parts)
