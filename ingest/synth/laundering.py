"""Laundering typologies injected into the population, shaped as IBM AMLSim defines them
(fan-in, fan-out, cycle, scatter-gather, gather-scatter, bipartite, stack) plus peel chains.

Members are ordinary wallets that keep their ordinary activity (camouflage). Each pattern moves
its amount within its period; every member gets the pattern id and a role in labels.csv."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ingest.synth import clock
from ingest.synth.activity import World
from ingest.synth.amounts import to_raw
from ingest.synth.events import Events
from ingest.synth.kinds import Kind

TYPES = ("fan_in", "fan_out", "cycle", "scatter_gather", "gather_scatter", "bipartite", "stack", "peel")
MIN_SIZE = {"fan_in": 3, "fan_out": 3, "cycle": 3, "scatter_gather": 3, "gather_scatter": 3,
            "bipartite": 4, "stack": 6, "peel": 3}  # fmt: skip
STABLE_PER_ETH = 2300.0


@dataclass(frozen=True)
class LaunderingParams:
    min_size: int = 4  # wallets per pattern
    max_size: int = 10
    min_amount: float = 10.0  # ETH (or its worth in USDT) entering a pattern
    max_amount: float = 300.0
    period_days: float = 5.0  # a pattern's transfers all fall within this window
    skim: tuple[float, float] = (0.01, 0.05)  # kept at each hop of cycles, peel share of chains x3
    token_share: float = 0.3  # patterns that move USDT instead of ETH
    types: tuple[str, ...] = TYPES


@dataclass
class Pattern:
    id: str
    type: str
    members: list[int]  # wallet numbers
    roles: list[str]
    start: int  # unix time of the window
    end: int
    asset: str  # ETH or USDT
    amount: float  # entering the pattern, in the asset's units


@dataclass
class Laundering:
    patterns: list[Pattern]
    events: Events


# An edge: (sender address index, receiver address index, time in [0, 1) of the period, amount)
Edge = tuple[int, int, float, float]


def _shape(rng: np.random.Generator, kind: str, m: list[int], amount: float, skim: tuple[float, float],
           exits: np.ndarray) -> tuple[list[str], list[Edge]]:  # fmt: skip
    """Roles of the members (address indexes m) and the pattern's transfers."""
    n = len(m)
    noise = lambda: float(rng.uniform(0.85, 1.15))  # noqa: E731
    cut = lambda: 1.0 - float(rng.uniform(*skim))  # noqa: E731
    early = lambda: float(rng.uniform(0.0, 0.5))  # noqa: E731
    late = lambda: float(rng.uniform(0.5, 1.0))  # noqa: E731
    edges: list[Edge] = []
    if kind in ("fan_in", "fan_out"):
        roles = ["hub"] + ["source" if kind == "fan_in" else "sink"] * (n - 1)
        for x in m[1:]:
            pair = (x, m[0]) if kind == "fan_in" else (m[0], x)
            edges.append((*pair, float(rng.random()), amount / (n - 1) * noise()))
    elif kind in ("cycle", "peel"):
        roles = [f"hop{i}" for i in range(n)]
        hops = n if kind == "cycle" else n - 1
        value = amount
        for i in range(hops):
            t = (i + float(rng.uniform(0.1, 0.9))) / hops
            if kind == "peel":  # a slice goes to an exchange, the rest down the chain
                keep = 1.0 - 3 * (1.0 - cut())
                edges.append((m[i], int(exits[rng.integers(len(exits))]), t, value * (1 - keep)))
                value *= keep
            edges.append((m[i], m[(i + 1) % n], t, value))
            if kind == "cycle":
                value *= cut()
    elif kind == "scatter_gather":
        roles = ["source"] + ["mid"] * (n - 2) + ["sink"]
        for x in m[1:-1]:
            part = amount / (n - 2) * noise()
            edges.append((m[0], x, early(), part))
            edges.append((x, m[-1], late(), part * cut()))
    elif kind == "gather_scatter":
        h = (n - 1) // 2
        roles = ["source"] * h + ["hub"] + ["sink"] * (n - 1 - h)
        hub = m[h]
        for x in m[:h]:
            edges.append((x, hub, early(), amount / h * noise()))
        for x in m[h + 1 :]:
            edges.append((hub, x, late(), amount * cut() / (n - 1 - h) * noise()))
    elif kind == "bipartite":
        h = n // 2
        roles = ["source"] * h + ["sink"] * (n - h)
        pairs = set()
        for a in range(h):  # each source pays one to three sinks
            for b in rng.choice(n - h, size=min(3, n - h), replace=False)[: rng.integers(1, 4)]:
                pairs.add((a, int(b)))
        pairs |= {(int(rng.integers(h)), b) for b in range(n - h) if all(p[1] != b for p in pairs)}
        for a, b in sorted(pairs):
            edges.append((m[a], m[h + b], float(rng.random()), amount / len(pairs) * noise()))
    elif kind == "stack":
        sizes = [n // 3 + (1 if i < n % 3 else 0) for i in range(3)]
        layers = [m[sum(sizes[:i]) : sum(sizes[: i + 1])] for i in range(3)]
        roles = [f"layer{i}" for i in range(3) for _ in layers[i]]
        per = amount / (len(layers[0]) * len(layers[1]))
        for a in layers[0]:
            for b in layers[1]:
                edges.append((a, b, early(), per * noise()))
        per = amount * cut() / (len(layers[1]) * len(layers[2]))
        for a in layers[1]:
            for b in layers[2]:
                edges.append((a, b, late(), per * noise()))
    else:
        raise ValueError(f"unknown laundering typology {kind!r}")
    return roles, edges


def build_laundering(rng: np.random.Generator, world: World, share: float,
                     params: LaunderingParams) -> Laundering:  # fmt: skip
    """Draw `share` of the wallets into patterns and make their transfers."""
    day = 86400
    total = round(share * world.n)
    pool = rng.permutation(world.n)[:total].tolist()
    patterns: list[Pattern] = []
    rows: list[tuple[int, int, int, float, int]] = []  # sender, receiver, ts, amount, USDT?
    exits = world.catalog.of("cex0", "cex1", "cex2", "cex3")
    first = world.t0 + int(0.2 * world.days * day)  # after every wallet is funded
    last = world.t0 + world.days * day
    period = int(min(params.period_days * day, max(3600, (last - first) // 2)))
    order: list[str] = []
    while len(pool) >= 3:
        if not order:  # every typology once, in a random order, then again
            order = [params.types[i] for i in rng.permutation(len(params.types))]
        kind = order.pop()
        low = max(MIN_SIZE[kind], params.min_size)
        size = int(rng.integers(low, max(low, params.max_size) + 1))
        if len(pool) - size < 3:
            size = len(pool)  # the last pattern takes the rest
            if size < MIN_SIZE[kind]:
                kind = "fan_in"
        members, pool = pool[:size], pool[size:]
        amount = float(np.exp(rng.uniform(np.log(params.min_amount), np.log(params.max_amount))))
        usdt = bool(rng.random() < params.token_share)
        start = int(rng.integers(first, max(first + 1, last - period)))
        roles, edges = _shape(rng, kind, [world.human0 + w for w in members], amount, params.skim, exits)
        scale = STABLE_PER_ETH if usdt else 1.0
        ts = clock.snap(np.array([start + int(t * period) for _, _, t, _ in edges]), world.t0).tolist()
        for (src, dst, _, value), t in zip(edges, ts, strict=True):
            rows.append((src, dst, t, value * scale, int(usdt)))
        patterns.append(Pattern(f"{kind}-{len(patterns):05d}", kind, members, roles, min(ts), max(ts),
                                "USDT" if usdt else "ETH", amount * scale))  # fmt: skip
    return Laundering(patterns, _events(rng, world, rows))


def _events(rng: np.random.Generator, world: World, rows: list[tuple[int, int, int, float, int]]) -> Events:
    ev = Events.blank(len(rows))
    if not rows:
        return ev
    src, dst, ts, amount, usdt = (np.array(c) for c in zip(*rows, strict=True))
    usdt = usdt.astype(bool)
    ev.ts, ev.sender, ev.sure = ts.astype(np.int64), src.astype(np.int64), np.ones(len(rows), dtype=bool)
    eth, tok = np.flatnonzero(~usdt), np.flatnonzero(usdt)
    ev.kind[eth], ev.to[eth] = Kind.LAUNDER, dst[eth]
    ev.set_eth(eth, to_raw(rng, amount[eth], 18))
    token = world.catalog.index["usdt"]
    ev.kind[tok], ev.to[tok] = Kind.LAUNDER_TOKEN, token
    ev.set_log(tok, 0, token, src[tok], dst[tok], to_raw(rng, amount[tok], 6))
    return ev
