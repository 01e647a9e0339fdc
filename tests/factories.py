"""Small builders of test data."""

from __future__ import annotations

import numpy as np
import pandas as pd

from graph.model import NATIVE_TOKEN
from ingest.batch import transfer_frame


def addr(i: int) -> str:
    return f"0x{i:040x}"


def tx(i: int) -> str:
    return f"0x{i:064x}"


def transfers(rows: list[tuple]) -> pd.DataFrame:
    """Rows of (from_i, to_i, tx_i, value, ts[, token, log_index]) -> a transfer batch."""
    cols: dict[str, list] = {k: [] for k in ("from_address", "to_address", "hash", "log_index", "value",
                                              "value_raw", "token", "ts", "block")}  # fmt: skip
    for row in rows:
        f, t, h, value, ts, *rest = row
        token = rest[0] if rest else NATIVE_TOKEN
        cols["from_address"].append(addr(f))
        cols["to_address"].append(addr(t))
        cols["hash"].append(tx(h))
        cols["log_index"].append(rest[1] if len(rest) > 1 else -1)
        cols["value"].append(float(value))
        cols["value_raw"].append(str(int(value * 10**18)))
        cols["token"].append(token)
        cols["ts"].append(ts)
        cols["block"].append(ts // 10)
    return transfer_frame(**cols, status=1, tx_count=1)


def random_transfers(n: int, wallets: int, seed: int = 0, start_tx: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return transfer_frame(
        from_address=[addr(i) for i in rng.integers(1, wallets + 1, n)],
        to_address=[addr(i) for i in rng.integers(1, wallets + 1, n)],
        hash=[tx(start_tx + i) for i in range(n)],
        log_index=-1,
        value=rng.random(n),
        value_raw="1",
        token=NATIVE_TOKEN,
        ts=1_600_000_000 + np.arange(n),
        block=np.arange(n) // 10,
        status=1,
        tx_count=1,
    )
