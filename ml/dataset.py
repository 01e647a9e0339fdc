"""What the models work on: the wallet graph, its feature table and (lazily) graph context."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from graph.features import WalletGraph, load_wallet_graph
from graph.store import GraphStore
from ml.context import context_features
from ml.features import compute_features
from ml.laundering.detect import Detection, detect

NEGATIVE = {"normal", "benign", "negative", "0", "false", "no", "clean"}
AXES_COLUMNS = ("focus", "pattern", "risk", "community")


@dataclass
class Dataset:
    graph: WalletGraph
    features: pd.DataFrame
    _context: pd.DataFrame | None = field(default=None, repr=False)
    _laundering: Detection | None = field(default=None, repr=False)

    @property
    def addresses(self) -> np.ndarray:
        return self.graph.wallets["address"].to_numpy(dtype=object)

    @property
    def n(self) -> int:
        return self.graph.n

    def context(self) -> pd.DataFrame:
        if self._context is None:
            self._context = context_features(self.graph, self.features)
        return self._context

    def laundering(self) -> Detection:
        """The laundering patterns detected in the transfers (ml/laundering), computed once."""
        if self._laundering is None:
            self._laundering = detect(self.graph)
        return self._laundering

    def fingerprint(self) -> dict[str, float | int | str]:
        """What identifies the data a model was trained on."""
        e = self.graph.edges
        return {
            "wallets": self.n,
            "transfers": len(e),
            "tx": int(e["tx_count"].sum()),
            "first_ts": int(e["ts"].min()) if len(e) else 0,
            "last_ts": int(e["ts"].max()) if len(e) else 0,
            "digest": f"{pd.util.hash_pandas_object(e, index=False).sum() & 0xFFFFFFFFFFFF:012x}",
        }


def build_dataset(graph: WalletGraph) -> Dataset:
    return Dataset(graph, compute_features(graph))


async def load_dataset(store: GraphStore) -> Dataset:
    return build_dataset(await load_wallet_graph(store))


def read_labels(path: str | Path) -> pd.DataFrame:
    """A labels CSV: `address,label` (positive unless normal/benign/0), or the synthetic
    labels.csv (laundering_type marks the positives; focus/pattern/risk/community kept)."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.columns = [c.strip().lower() for c in frame.columns]
    if "address" not in frame:
        raise ValueError(f"{path}: no address column")
    out = pd.DataFrame({"address": frame["address"].str.strip().str.lower()})
    if "label" in frame:
        text = frame["label"].str.strip().str.lower()
        out["label"] = np.where(text == "", -1, np.where(text.isin(NEGATIVE), 0, 1))
        out["kind"] = frame["label"].str.strip()
    elif "laundering_type" in frame:
        out["label"] = (frame["laundering_type"].str.strip() != "").astype(int)
        out["kind"] = frame["laundering_type"].str.strip()
    for col in (*AXES_COLUMNS, "persona", "segment"):
        if col in frame:
            out[col] = frame[col].str.strip()
    out = out[out.get("label", pd.Series(0, index=out.index)) >= 0] if "label" in out else out
    return out.drop_duplicates("address", keep="last").reset_index(drop=True)


def label_positions(ds: Dataset, labels: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """Row positions of the labelled wallets found in the graph, and those labels."""
    pos = ds.graph.positions(labels["address"])
    found = pos >= 0
    return pos[found], labels[found].reset_index(drop=True)
