"""Exposure's graph side: the native transfers and labels in, every wallet's exposure out
(ml/exposure.py `refresh_exposure` drives it).

`read_transfers` reads the transfers (one statement); `write_exposure` writes onto each exposed
wallet `exposure_direct_in`, `_indirect_in`, `_direct_out`, `_indirect_out`
(shares 0..1), `exposure_top` (category), `exposure_risk` (1 for a risky wallet, else its largest
share: marketing's segments leave out wallets above a threshold), `exposure_ppr`,
`exposure_categories` and `exposure_paths` (JSON text), `exposure_at` (epoch s). Wallets no
longer exposed lose these properties.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from graph import cypher as q
from graph.features import _column
from graph.labels import RISK_CATEGORIES, labelled
from graph.model import NATIVE_TOKEN
from graph.store import GraphStore
from graph.watch import note_change

PATHS_KEPT = 3  # strongest paths per side kept as the explanation
ROUND = 6


async def read_transfers(store: GraphStore) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(addresses, src, dst, value): successful native transfers with value, as positions in
    `addresses` (the wallets with such a transfer, sorted). Wallets travel as keys (integer ids on
    FalkorDB), mapped to addresses once (EXPOSURE_EDGES)."""
    rows = await store.query(q.EXPOSURE_EDGES, {"native": NATIVE_TOKEN})
    if not rows:
        none = np.zeros(0, dtype=np.int64)
        return np.zeros(0, dtype=object), none, none, np.zeros(0)
    wallets = (await store.query(q.EXPOSURE_WALLETS))[0]
    numeric = isinstance(wallets["keys"], str)  # FalkorDB: integer ids as JSON text
    keys = _flat(wallets["keys"], numeric)
    every = np.asarray(json.loads(wallets["addresses"]) if numeric else wallets["addresses"], dtype=object)
    dst, lengths = _column(rows, "dst", numeric=numeric)
    value, _ = _column(rows, "value", numeric=True)
    index = pd.Index(keys)
    src_pos = np.repeat(index.get_indexer(_flat([r["src"] for r in rows], numeric)), lengths)
    dst_pos = index.get_indexer(_flat(dst, numeric))
    used = np.unique(np.concatenate([src_pos, dst_pos]))
    used = used[np.argsort(every[used], kind="stable")]  # positions in address order
    compact = np.full(len(keys), -1, dtype=np.int64)
    compact[used] = np.arange(len(used))
    return every[used], compact[src_pos], compact[dst_pos], np.asarray(value, dtype=float)


def _flat(values: Any, numeric: bool) -> np.ndarray:
    """Wallet keys as an array: integers (FalkorDB ids, a JSON list or numbers) or addresses."""
    if isinstance(values, str):
        values = json.loads(values)
    return np.asarray(values, dtype=np.int64 if numeric else object)


async def risky_masks(
    store: GraphStore, addresses: np.ndarray
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """Addresses extended by the labelled wallets without transfers; per risky category a mask;
    the mask of every labelled wallet (where tracing stops)."""
    rows = await labelled(store)
    extra = sorted({r["address"] for r in rows} - set(addresses.tolist()))
    if extra:
        addresses = np.concatenate([addresses, np.asarray(extra, dtype=object)])
    index = pd.Index(addresses)
    stop = np.zeros(len(addresses), dtype=bool)
    masks: dict[str, np.ndarray] = {}
    for r in rows:
        i = index.get_loc(r["address"])
        stop[i] = True
        if r["category"] in RISK_CATEGORIES:
            masks.setdefault(r["category"], np.zeros(len(addresses), dtype=bool))[i] = True
    return addresses, masks, stop


def result_frame(result: Any) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "address": result.addresses,
            "direct_in": result.direct_in.round(ROUND),
            "indirect_in": result.indirect_in.round(ROUND),
            "direct_out": result.direct_out.round(ROUND),
            "indirect_out": result.indirect_out.round(ROUND),
            "top_category": result.top_category(),
            "risk": result.risk().round(ROUND),
            "ppr": result.ppr,
        }
    )


def _explanations(result: Any, positions: list[int]) -> tuple[list[str], list[str]]:
    """Per wallet: its shares by category and its strongest paths, as JSON text. Plain lists, not
    numpy scalars: this runs for every exposed wallet."""
    names = list(result.categories)
    in_by, out_by = result.in_by[positions].tolist(), result.out_by[positions].tolist()
    addresses = result.addresses.tolist()
    sides = []
    for side, preds, bests, base in (("in", result.in_pred, result.in_best, result.received),
                                     ("out", result.out_pred, result.out_best, result.sent)):  # fmt: skip
        sides.append((side, [p.tolist() for p in preds], [b.tolist() for b in bests], base.tolist()))
    cats_out, paths_out = [], []
    for k, i in enumerate(positions):
        cats = {c: {"in": round(a, ROUND), "out": round(b, ROUND)}
                for c, a, b in zip(names, in_by[k], out_by[k], strict=True) if a > 0 or b > 0}  # fmt: skip
        paths = []
        for side, preds, bests, base in sides:
            found = []
            for h in range(len(preds)):
                share = bests[h][i]
                if share <= 0:
                    continue
                chain, at = [i], i
                for level in range(h, -1, -1):
                    at = preds[level][at]
                    if at < 0:
                        break
                    chain.append(at)
                if len(chain) == h + 2:
                    found.append((share * base[i], share, chain[::-1] if side == "in" else chain))
            found.sort(key=lambda f: -f[0])
            for value, share, chain in found[:PATHS_KEPT]:
                wallets = [addresses[w] for w in chain]
                paths.append({"side": side, "wallets": wallets, "share": round(share, ROUND),
                              "value": round(value, ROUND)})  # fmt: skip
        cats_out.append(json.dumps(cats, sort_keys=True))
        paths_out.append(json.dumps(paths))
    return cats_out, paths_out


async def write_exposure(store: GraphStore, result: Any, exposed: pd.DataFrame) -> None:
    """Leave ml/exposure.py's result on the exposed wallets; clear it from the others."""
    previous = {r["address"] for r in await store.query(q.EXPOSURE_PREVIOUS)}
    positions = exposed.index.to_numpy().tolist()
    cats, paths = _explanations(result, positions)
    cols: dict[str, list[Any]] = {
        "address": exposed["address"].tolist(),
        "direct_in": exposed["direct_in"].astype(float).tolist(),
        "indirect_in": exposed["indirect_in"].astype(float).tolist(),
        "direct_out": exposed["direct_out"].astype(float).tolist(),
        "indirect_out": exposed["indirect_out"].astype(float).tolist(),
        "top": [t or None for t in exposed["top_category"].tolist()],
        "risk": exposed["risk"].astype(float).tolist(),
        "ppr": exposed["ppr"].astype(float).tolist(),
        "categories": cats,
        "paths": paths,
        "at": [int(time.time())] * len(positions),
    }
    gone = sorted(previous - set(cols["address"]))
    for address in gone:
        cols["address"].append(address)
        for key in cols:
            if key != "address":
                cols[key].append(None)
    batch = store.write_batch
    for lo in range(0, len(cols["address"]), batch):
        await store.execute(q.SET_EXPOSURE, {k: v[lo : lo + batch] for k, v in cols.items()})
    note_change("exposure")


async def exposure_of(store: GraphStore, addresses: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The stored exposure of these wallets (absent: not exposed or never computed)."""
    out = {}
    for r in await store.query(q.EXPOSURE_OF, {"addresses": list(addresses)}):
        out[r["address"]] = exposure_record(r)
    return out


def exposure_record(r: dict[str, Any]) -> dict[str, Any]:
    """A stored row (or a wallet's exposure_* properties without the prefix) as a plain record."""

    def num(key: str) -> float:
        return float(r.get(key) or 0.0)

    return {
        "direct_in": num("direct_in"),
        "indirect_in": num("indirect_in"),
        "direct_out": num("direct_out"),
        "indirect_out": num("indirect_out"),
        "top_category": r.get("top"),
        "risk": num("risk"),
        "ppr": num("ppr"),
        "categories": json.loads(r["categories"]) if r.get("categories") else {},
        "paths": json.loads(r["paths"]) if r.get("paths") else [],
        "at": r.get("at"),
    }
