"""A batch of validated transfers on its way to the graph, with what was rejected on the way."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.chains import DEFAULT_CHAIN
from graph.model import TRANSFER_COLUMNS
from ingest.report import RowError


@dataclass
class Batch:
    frame: pd.DataFrame  # TRANSFER_COLUMNS
    rows_read: int
    errors: list[RowError] = field(default_factory=list)
    skipped: int = 0
    position: int = 0  # bytes consumed in the current file (progress)


STRING_COLUMNS = ("from_address", "to_address", "hash", "value_raw", "token")
STR = pd.StringDtype("pyarrow", na_value=np.nan)


def transfer_frame(**columns: object) -> pd.DataFrame:
    """Build a batch frame with the writers' column order and dtypes (strings Arrow-backed).

    Series are taken by position, like arrays; scalars are broadcast."""
    columns = {k: v.to_numpy() if isinstance(v, pd.Series) and k not in STRING_COLUMNS else v
               for k, v in columns.items()}  # fmt: skip
    columns = {k: v.reset_index(drop=True) if isinstance(v, pd.Series) else v for k, v in columns.items()}
    columns.setdefault("fee", 0.0)
    columns.setdefault("chain", DEFAULT_CHAIN)
    frame = pd.DataFrame(columns)
    for name in ("log_index", "ts", "block", "status", "tx_count", "chain"):
        frame[name] = frame[name].astype(np.int64)
    frame["value"] = frame["value"].astype(np.float64)
    frame["fee"] = frame["fee"].astype(np.float64)
    for name in STRING_COLUMNS:
        frame[name] = frame[name].astype(STR)
    return frame[list(TRANSFER_COLUMNS)]
