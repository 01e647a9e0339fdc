"""Laundering patterns stored as evidence in the graph (issue 14): written after each scoring
run, read by the API and the CLI. A pattern row: id, type, start_ts, end_ts, value, token,
score, transfers (hashes), wallets (addresses) and roles (one per wallet)."""

from __future__ import annotations

from typing import Any

from core.address import normalize_address
from core.errors import NotFound
from graph import cypher as q
from graph.store import GraphStore

BATCH = 2_000
MAX_FIRST = 500  # patterns per page a client may ask for


async def transfer_hashes(store: GraphStore, transfers: list[tuple[str, str, int]]) -> list[list[str]]:
    """The hashes of transfers given as (sender, receiver, time); one list per transfer (a pair
    may move several assets at one time)."""
    found: list[list[str]] = [[] for _ in transfers]
    for start in range(0, len(transfers), BATCH):
        part = transfers[start : start + BATCH]
        params = {
            "src": [s for s, _, _ in part],
            "dst": [d for _, d, _ in part],
            "ts": [int(t) for _, _, t in part],
        }
        for r in await store.query(q.PATTERN_HASHES, params):
            at = start + int(r["i"])
            if r["hash"] is not None and r["hash"] not in found[at]:
                found[at].append(r["hash"])
    return found


async def replace_patterns(store: GraphStore, patterns: list[dict[str, Any]]) -> int:
    """Remove every stored pattern and write these."""
    stale = (await store.query(q.PATTERN_COUNT, {"type": None}))[0]["n"]
    for _ in range(0, int(stale), BATCH):  # in batches: one transaction per BATCH patterns
        await store.execute(q.PATTERN_CLEAR, {"batch": BATCH})
    for start in range(0, len(patterns), BATCH):
        await store.execute(q.PATTERN_WRITE, {"rows": patterns[start : start + BATCH]})
    return len(patterns)


def _check_first(first: int) -> int:
    if not 1 <= first <= MAX_FIRST:
        raise ValueError(f"first must be between 1 and {MAX_FIRST}, not {first}")
    return first


async def wallet_patterns(store: GraphStore, address: str, first: int = 20) -> list[dict[str, Any]]:
    """The patterns a wallet takes part in, strongest first, with its role."""
    rows = await store.query(
        q.PATTERNS_OF_WALLET, {"address": normalize_address(address), "first": _check_first(first)}
    )
    return await _with_members(store, rows)


async def list_patterns(
    store: GraphStore, type: str | None = None, first: int = 20, skip: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """A page of patterns (strongest first) and the total matching `type`."""
    if skip < 0:
        raise ValueError("skip must not be negative")
    params = {"type": type, "first": _check_first(first), "skip": int(skip)}
    rows = await store.query(q.PATTERNS_LIST, params)
    total = (await store.query(q.PATTERN_COUNT, {"type": type}))[0]["n"]
    return await _with_members(store, rows), int(total)


async def pattern(store: GraphStore, pattern_id: str) -> dict[str, Any]:
    """One pattern by id, with its members."""
    found = await _with_members(store, await store.query(q.PATTERN_BY_ID, {"id": pattern_id}))
    if not found:
        raise NotFound(f"no pattern {pattern_id}")
    return found[0]


async def _with_members(store: GraphStore, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not rows:
        return []
    members: dict[str, list[dict[str, str]]] = {}
    for r in await store.query(q.PATTERN_MEMBERS, {"ids": [r["id"] for r in rows]}):
        members.setdefault(r["id"], []).append({"address": r["address"], "role": r["role"]})
    out = []
    for r in rows:
        item = dict(r)
        item["transfers"] = _as_list(item.get("transfers"))
        item["members"] = members.get(r["id"], [])
        out.append(item)
    return out


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):  # FalkorDB may return a list property as its text
        text = value.strip("[]")
        return [x.strip().strip("'\"") for x in text.split(",") if x.strip()]
    return [str(x) for x in value]
