"""First loads through FalkorDB's GRAPH.BULK: binary node and edge blobs, no Cypher parsing.

Only for a graph that does not exist yet. Node ids are the order of creation, so the writer
remembers each address's id; transfers already sent are skipped by (hash, log_index).
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import pandas as pd

from graph.model import WriteResult

_STRING, _DOUBLE, _LONG = 3, 2, 4
# Fixed-width properties first (one numpy record per edge), then the strings.
_EDGE_FIXED = ("log_index", "value", "ts", "block", "status", "tx_count")
_EDGE_STRINGS = ("hash", "value_raw", "token")
_FIXED_DTYPE = np.dtype(
    [("src", "<u8"), ("dst", "<u8")]
    + [
        item
        for name in _EDGE_FIXED
        for item in ((f"t_{name}", "u1"), (name, "<f8" if name == "value" else "<i8"))
    ]
)


def _header(name: str, props: tuple[str, ...]) -> bytes:
    out = name.encode() + b"\0" + struct.pack("=I", len(props))
    return out + b"".join(p.encode() + b"\0" for p in props)


_NODE_HEADER = _header("Wallet", ("address",))
_EDGE_HEADER = _header("TRANSFER", _EDGE_FIXED + _EDGE_STRINGS)


class BulkWriter:
    def __init__(self, client: Any, graph: str) -> None:
        self.client = client
        self.graph = graph
        self.node_ids: dict[str, int] = {}
        self.seen: set[int] = set()
        self.began = False

    async def write(self, frame: pd.DataFrame) -> WriteResult:
        keys = pd.util.hash_pandas_object(frame[["hash", "log_index"]], index=False).to_numpy()
        fresh = ~pd.Series(keys).duplicated().to_numpy()
        fresh &= np.fromiter((k not in self.seen for k in keys.tolist()), bool, len(keys))
        frame = frame[fresh]
        self.seen.update(keys[fresh].tolist())
        if frame.empty:
            return WriteResult()
        new_nodes: list[str] = []
        ids = self.node_ids
        for address in pd.unique(frame[["from_address", "to_address"]].to_numpy().ravel()).tolist():
            if address not in ids:
                ids[address] = len(ids)
                new_nodes.append(address)
        blobs: list[bytes] = []
        if new_nodes:
            blobs.append(_NODE_HEADER + b"".join(b"\x03" + a.encode() + b"\0" for a in new_nodes))
        blobs.append(_EDGE_HEADER + self._edges(frame))
        args: list[Any] = [len(new_nodes), len(frame), 1 if new_nodes else 0, 1, *blobs]
        if not self.began:
            args.insert(0, "BEGIN")
            self.began = True
        await self.client.execute_command("GRAPH.BULK", self.graph, *args)
        return WriteResult(len(frame), len(new_nodes))

    def _edges(self, frame: pd.DataFrame) -> bytes:
        n = len(frame)
        rec = np.zeros(n, dtype=_FIXED_DTYPE)
        ids = self.node_ids
        rec["src"] = np.fromiter((ids[a] for a in frame["from_address"].tolist()), np.uint64, n)
        rec["dst"] = np.fromiter((ids[a] for a in frame["to_address"].tolist()), np.uint64, n)
        for name in _EDGE_FIXED:
            rec[f"t_{name}"] = _DOUBLE if name == "value" else _LONG
            rec[name] = frame[name].to_numpy()
        fixed = rec.tobytes()
        width = _FIXED_DTYPE.itemsize
        strings = [
            f"\x03{h}\x00\x03{r}\x00\x03{t}\x00".encode()
            for h, r, t in zip(
                frame["hash"].tolist(),
                frame["value_raw"].tolist(),
                frame["token"].tolist(),
                strict=True,
            )
        ]
        parts: list[bytes] = []
        for i, s in enumerate(strings):
            parts.append(fixed[i * width : (i + 1) * width])
            parts.append(s)
        return b"".join(parts)
