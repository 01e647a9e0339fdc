"""Personalised PageRank in the database.

- `graph_ppr`: from the sources (wallets nothing was sent to; every wallet if there are none),
  over the whole graph. Neo4j: GDS pageRank with `sourceNodes` over a native projection.
  Otherwise Cypher over scratch properties: exact power iteration (`method="power"`) or
  synchronous push rounds (`method="push"`, residual below eps x out-weight). The result is
  left on each wallet as `ppr` and returned unless `read=False` (GDS: whichever method is asked).
- `wallet_ppr`: one source, by local push: only the wallets whose residual is worth pushing are
  read (their transfers, from the database), so it touches the wallet's neighbourhood only.

Transitions follow transfers weighted by tx_count; dangling wallets return their mass to the
restart vector; `alpha` is the restart probability (GDS dampingFactor = 1 - alpha). The scratch
properties make `graph_ppr` one run at a time per graph."""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from core.address import normalize_address
from core.errors import NotFound
from graph import cypher as q
from graph.store import GraphStore

ALPHA = 0.5


@dataclass
class PprRun:
    scores: dict[str, float]
    method: str
    iterations: int = 0
    touched: int = 0  # wallets read (wallet_ppr)
    extra: dict[str, float] = field(default_factory=dict)


async def graph_ppr(
    store: GraphStore,
    alpha: float = ALPHA,
    method: str = "push",
    eps: float = 1e-6,
    tol: float = 1e-12,
    max_iter: int = 100,
    all_wallets: bool = False,
    read: bool = True,
) -> PprRun:
    """PPR of every wallet from the sources (or from every wallet with `all_wallets`), left on
    the wallets as `ppr`; `read=False` leaves the scores there (an empty `scores`)."""
    if store.backend == "neo4j":
        iterations = await _gds(store, alpha, tol, max_iter, all_wallets)
        return PprRun(await read_ppr(store) if read else {}, "gds", iterations)
    if method not in ("push", "power"):
        raise ValueError(f"method must be push or power, not {method!r}")
    await store.execute(q.PPR_PREPARE)
    counts = (await store.query(q.PPR_COUNTS))[0]
    wallets, sources = int(counts["wallets"] or 0), int(counts["sources"] or 0)
    uniform = all_wallets or sources == 0
    await store.execute(q.PPR_SEED, {"all": uniform, "n": float(max(wallets if uniform else sources, 1))})
    rounds = 0
    if method == "power":
        # the iteration contracts by (1 - alpha): this many rounds bring the L1 error below tol
        rounds = min(max_iter * 10, int(math.ceil(math.log(tol / 2) / math.log(1 - alpha))))
        for _ in range(rounds):
            await store.execute(q.PPR_POWER_SPREAD)
            dangling = float((await store.query(q.PPR_DANGLING))[0]["mass"] or 0.0)
            await store.execute(q.PPR_POWER_UPDATE, {"alpha": alpha, "dangling": dangling})
    else:
        params = {"alpha": alpha, "eps": eps}
        while True:
            picked = (await store.query(q.PPR_PUSH_COUNT, params))[0]
            if not picked["pushed"]:
                break
            rounds += 1
            await store.execute(q.PPR_PUSH_TAKE, params)
            await store.execute(q.PPR_PUSH_SPREAD, {"alpha": alpha})
            await store.execute(
                q.PPR_PUSH_RESTART, {"alpha": alpha, "dangling": float(picked["dangling"] or 0.0)}
            )
    await store.execute(q.PPR_FINISH, {"power": method == "power"})
    return PprRun(await read_ppr(store) if read else {}, method, rounds)


async def read_ppr(store: GraphStore) -> dict[str, float]:
    """Every wallet's `ppr`, as the last graph_ppr left it."""
    return {r["address"]: float(r["score"] or 0.0) for r in await store.query(q.PPR_READ)}


async def _gds(store: GraphStore, alpha: float, tol: float, max_iter: int, all_wallets: bool) -> int:
    """GDS pageRank written onto the wallets; the iterations it ran."""
    name = f"aidrop-ppr-{uuid.uuid4().hex[:8]}"
    await store.query(q.PPR_GDS_PROJECT, {"graph": name})
    try:
        params = {"graph": name, "alpha": alpha, "iterations": max_iter, "tolerance": tol, "all": all_wallets}
        ran = (await store.query(q.PPR_GDS_WRITE, params))[0]
    finally:
        await store.query(q.PPR_GDS_DROP, {"graph": name})
    # GDS solves x = alpha s + (1 - alpha) P'x with dangling mass dropped; the walk that returns
    # it to the restart vector is the same x up to a factor, and a distribution: x / sum(x),
    # which the L1Norm scaler wrote.
    return int(ran["iterations"] or 0)


async def wallet_ppr(
    store: GraphStore,
    address: str,
    alpha: float = ALPHA,
    eps: float = 1e-4,
    direction: str = "out",
    limit: int = 50,
    max_reads: int = 50,
) -> PprRun:
    """PPR from one wallet by local push (Andersen, Chung, Lang): push while some wallet holds a
    residual above eps x its out-weight; error below eps x out-weight per wallet. Returns the
    `limit` highest scores (the wallet itself included)."""
    address = normalize_address(address)
    if direction not in ("out", "in"):
        raise ValueError(f"direction must be out or in, not {direction!r}")
    statement = q.PPR_NEIGHBOURS_OUT if direction == "out" else q.PPR_NEIGHBOURS_IN
    await store.wallet(address)  # NotFound for an unknown wallet
    neighbours: dict[str, list[tuple[str, float]]] = {}
    weight: dict[str, float] = {}
    p: dict[str, float] = defaultdict(float)
    r: dict[str, float] = defaultdict(float)
    r[address] = 1.0
    reads = 0
    while True:
        # wallets to push: residual above threshold (unknown out-weight: read it first)
        unknown = [u for u, v in r.items() if v > eps and u not in weight]
        if unknown:
            if reads >= max_reads:
                break
            reads += 1
            found: dict[str, list[tuple[str, float]]] = defaultdict(list)
            for row in await store.query(statement, {"addresses": unknown}):
                found[row["src"]].append((row["dst"], float(row["w"])))
            for u in unknown:
                neighbours[u] = found.get(u, [])
                weight[u] = sum(w for _, w in neighbours[u])
        active = [u for u, v in r.items() if v > eps * max(weight.get(u, 1.0), 1.0)]
        if not active:
            break
        for u in active:
            mass = r.pop(u)
            p[u] += alpha * mass
            if weight[u] > 0:
                share = (1 - alpha) * mass / weight[u]
                for v, w in neighbours[u]:
                    r[v] += share * w
            else:  # dangling: back to the source
                r[address] += (1 - alpha) * mass
    if not p:
        raise NotFound(f"no wallet {address} in the graph")
    top = sorted(p.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return PprRun(dict(top), "local-push", reads, len(weight), {"residual": float(sum(r.values()))})
