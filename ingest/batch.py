"""A batch of validated transfers on its way to the graph, with what was rejected on the way."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from graph.model import TRANSFER_COLUMNS
from ingest.report import RowError


@dataclass
class Batch:
    frame: pd.DataFrame  # TRANSFER_COLUMNS
    rows_read: int
    errors: list[RowError] = field(default_factory=list)
    skipped: int = 0
    position: int = 0  # bytes consumed in the current file (progress)


def transfer_frame(**columns: object) -> pd.DataFrame:
    """Build a batch frame with the writers' column order and dtypes."""
    frame = pd.DataFrame(columns)
    for name in ("log_index", "ts", "block", "status", "tx_count"):
        frame[name] = frame[name].astype(np.int64)
    frame["value"] = frame["value"].astype(np.float64)
    for name in ("from_address", "to_address", "hash", "value_raw", "token"):
        frame[name] = frame[name].astype(object)
    return frame[list(TRANSFER_COLUMNS)].reset_index(drop=True)
