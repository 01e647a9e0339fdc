"""Laundering motifs (ml/motifs.py) on a hand-made graph: a fan-in, a relay chain, and
ordinary traffic that must not look like either."""

from __future__ import annotations

import numpy as np
import pandas as pd

from graph.features import WalletGraph
from ml.features import NAMES, compute_features
from ml.motifs import MOTIF_FEATURES, motif_features

DAY = 86_400
T0 = 1_700_000_000


def _graph(edges: list[tuple[int, int, float, float]], n: int) -> WalletGraph:
    """edges: (src, dst, day, ETH); wallet i is 0x...i, none of them a contract."""
    wallets = pd.DataFrame(
        {
            "address": [f"0x{i + 1:040x}" for i in range(n)],
            "failed_out": 0,
            "contract_calls": 0,
            "young_calls": 0,
            "contract": False,
            "category": None,
            "name": None,
            "created_block": np.nan,
            "token": False,
            "nft": False,
        }
    )
    src, dst, day, value = (np.array(c) for c in zip(*edges, strict=True))
    frame = pd.DataFrame(
        {
            "src": src.astype(np.int64),
            "dst": dst.astype(np.int64),
            "ts": (T0 + day * DAY).astype(np.int64),
            "value": value.astype(float),
            "token": np.zeros(len(src), dtype=np.int32),
            "tx_count": np.ones(len(src), dtype=np.int64),
        }
    )
    return WalletGraph(wallets, frame, ["ETH"])


def _example() -> WalletGraph:
    rng = np.random.default_rng(0)
    n = 40
    edges = []
    # ordinary traffic: wallets 10..39 pay each other small amounts over 60 days
    for _ in range(600):
        a, b = rng.choice(np.arange(10, n), 2, replace=False)
        edges.append((int(a), int(b), float(rng.uniform(0, 60)), float(rng.lognormal(-1.5, 1.0))))
    # fan-in: wallets 1..4 each pay hub 0 about 10 ETH within two days
    for i, amount in zip(range(1, 5), (10.0, 11.0, 9.5, 10.4), strict=True):
        edges.append((i, 0, 20.0 + 0.5 * i, amount))
    # relay chain 5 -> 6 -> 7 -> 8, a little skimmed at each hop, a day apart
    for hop, amount in enumerate((30.0, 29.0, 28.1)):
        edges.append((5 + hop, 6 + hop, 40.0 + hop, amount))
    return _graph(edges, n)


def test_motif_features_find_the_fan_in_and_the_relay_chain() -> None:
    f = pd.DataFrame(motif_features(_example()))
    assert list(f.columns) == list(MOTIF_FEATURES)
    assert f.loc[0, "similar_in"] == 3  # the hub: three other receipts like each one
    assert (f.loc[1:4, "receiver_similar_in"] == 3).all()  # each source paid a collector
    assert (f.loc[0:4, "motif_wallets"] == 5).all() and (f.loc[0:4, "motif_amount"] > 20).all()
    assert (f.loc[[6, 7], "relay_amount"] > 0).all()  # received and sent on
    assert f.loc[5, "receiver_relay"] > 0 and f.loc[8, "sender_relay"] > 0  # chain's ends
    assert (f.loc[5:8, "motif_wallets"] == 4).all()
    # ordinary traffic links by chance now and then, in smaller groups and amounts
    ordinary = f.loc[10:]
    assert ordinary["similar_in"].max() < 3 and ordinary["receiver_similar_in"].max() < 3
    assert ordinary["relay_amount"].max() < f.loc[[6, 7], "relay_amount"].min() / 10
    assert ordinary["motif_wallets"].median() < 5 and ordinary["motif_amount"].max() < 20


def test_motif_features_are_part_of_the_feature_table() -> None:
    frame = compute_features(_example())
    assert set(MOTIF_FEATURES) <= set(NAMES) and list(frame.columns) == NAMES
    assert frame.loc[0, "similar_in"] == 3


def test_motif_features_without_peer_transfers() -> None:
    graph = _graph([(0, 1, 1.0, 1.0)], 2)
    graph.wallets["contract"] = [False, True]
    f = motif_features(graph)
    assert set(f) == set(MOTIF_FEATURES) and all(np.all(v == 0) for v in f.values())
