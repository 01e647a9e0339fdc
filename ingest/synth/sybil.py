"""Airdrop farms and their honest look-alikes, injected into the synthetic population.

A farm is one operator with many wallets (members drawn from the population, so they keep some
ordinary activity as camouflage): it funds them (directly, through one fresh hop wallet each, or
by withdrawals from an exchange), runs the same task script on every member in rounds, and
sweeps what is left to one place (its own collector, back to the funder, or one exchange
deposit address). Farms differ in size and skill:

- skill 0 (a plain bot): identical amounts, members one after another a minute or two apart,
  hardly any other activity;
- skill 1: amounts within 2%, members spread over an hour, some ordinary activity;
- skill 2: amounts within 30%, members spread over hours, the task order shuffled and one task
  dropped per member, full ordinary activity, sweeps through a hop wallet each.

Honest look-alikes, labelled so an evaluation can check none is merged into a cluster: a crowd
minting the same new NFT at the same price within a quarter of an hour (and swapping on the
popular router right after), people with two wallets (one funds the other and gets it back), and
an airdrop paid in identical amounts to many wallets by one distributor. Every wallet is also
funded by one of four exchange hot wallets (ingest.synth._funding).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ingest.synth import clock
from ingest.synth.amounts import to_raw
from ingest.synth.catalog import Catalog
from ingest.synth.events import Events
from ingest.synth.kinds import Kind
from ingest.synth.population import Population

DAY, HOUR, MINUTE = 86400, 3600, 60
EXCHANGES = ("cex0", "cex1", "cex2", "cex3")
# the task menu of a farm script: (kind, contract key, ETH median or 0, token log: (token, from))
TASKS: tuple[tuple[Kind, str, float, tuple[str, str] | None], ...] = (
    (Kind.SWAP_BUY, "router", 0.02, ("usdc", "pool_usdc")),
    (Kind.STAKE, "staking", 0.03, ("speth", "")),
    (Kind.BRIDGE, "bridge_arb", 0.02, None),
    (Kind.BRIDGE, "bridge_opt", 0.02, None),
    (Kind.GAME_PLAY, "game", 0.004, ("gem", "game")),
    (Kind.ENS_REGISTER, "ens_ctrl", 0.003, None),
    (Kind.DAO_DEPOSIT, "dao_treasury", 0.01, None),
    (Kind.GOV_VOTE, "governor", 0.0, None),
    (Kind.GOV_VOTE, "dao_governor", 0.0, None),
    (Kind.APPROVE, "usdc", 0.0, None),
    (Kind.APPROVE, "swl", 0.0, None),
)
MINT_PRICE = 0.0420  # the crowd's NFT, paid by everyone alike


@dataclass(frozen=True)
class SybilParams:
    min_size: int = 4  # wallets per farm (log-uniform between the two)
    max_size: int = 80
    skills: tuple[float, float, float] = (0.35, 0.4, 0.25)  # share of farms of skill 0, 1, 2
    funding: tuple[float, float, float] = (0.45, 0.3, 0.25)  # direct, through hops, by an exchange
    sweeps: tuple[float, float, float] = (0.45, 0.25, 0.3)  # own collector, back to the funder, deposit
    tasks: tuple[int, int] = (3, 7)  # tasks per script
    rounds: tuple[int, int] = (1, 4)  # script runs over the period
    crowd_share: float = 0.02  # look-alikes, as shares of the wallets
    pair_share: float = 0.01
    airdrop_share: float = 0.03


@dataclass
class Farm:
    id: str
    members: list[int]  # wallet numbers
    skill: int
    funding: str
    sweep: str


@dataclass
class Sybil:
    farms: list[Farm]
    lookalike: dict[int, str]  # wallet number -> look-alike group id
    events: Events
    extra: int  # addresses used after the population's (operators, hops, collectors)

    def cluster_of(self) -> dict[int, str]:
        return {w: f.id for f in self.farms for w in f.members}

    @property
    def members(self) -> int:
        return sum(len(f.members) for f in self.farms)


@dataclass
class _Rows:
    """Transactions as plain rows while a farm is built: (ts, kind, sender, to, eth, log)."""

    rows: list[tuple[int, int, int, int, float, tuple[int, int, int, float, int] | None]] = field(
        default_factory=list
    )

    def add(self, ts: float, kind: Kind, sender: int, to: int, eth: float = 0.0,
            log: tuple[int, int, int, float, int] | None = None) -> None:  # fmt: skip
        self.rows.append((int(ts), int(kind), int(sender), int(to), float(eth), log))


def _choice(rng: np.random.Generator, p: tuple[float, ...]) -> int:
    return int(rng.choice(len(p), p=np.array(p) / sum(p)))


def build_sybil(rng: np.random.Generator, pop: Population, catalog: Catalog, t0: int, days: int,
                share: float, params: SybilParams | None = None) -> Sybil:  # fmt: skip
    """Draw `share` of the wallets into farms and the look-alikes from the rest. Changes the
    farm members' rate and first exchange funding in `pop` (call before World.build)."""
    params = params or SybilParams()
    n = len(pop)
    human0 = len(catalog) + 1
    end = t0 + days * DAY - 6 * HOUR
    rows = _Rows()
    extra = [human0 + n]  # next free address index

    def fresh() -> int:
        extra[0] += 1
        return extra[0] - 1

    pool = rng.permutation(n).tolist()
    total = round(share * n)
    farm_pool, pool = pool[:total], pool[total:]
    farms: list[Farm] = []
    while len(farm_pool) >= params.min_size:
        size = int(np.exp(rng.uniform(np.log(params.min_size), np.log(params.max_size + 1))))
        size = min(size, len(farm_pool))
        if len(farm_pool) - size < params.min_size:
            size = len(farm_pool)
        members, farm_pool = farm_pool[:size], farm_pool[size:]
        farm = Farm(f"farm-{len(farms):04d}", members, _choice(rng, params.skills),
                    ("direct", "hops", "exchange")[_choice(rng, params.funding)],
                    ("collector", "funder", "deposit")[_choice(rng, params.sweeps)])  # fmt: skip
        _farm(rng, farm, pop, catalog, human0, t0, days, end, params, rows, fresh)
        farms.append(farm)
    pool += farm_pool  # a remainder too small for a farm stays honest

    lookalike: dict[int, str] = {}
    _crowd(rng, pool, pop, catalog, human0, t0, days, params, rows, lookalike)
    _pairs(rng, pool, pop, human0, t0, days, end, params, rows, lookalike, fresh)
    _airdrop(rng, pool, catalog, human0, t0, days, params, rows, lookalike, fresh)
    return Sybil(farms, lookalike, _events(rng, catalog, rows.rows, t0), extra[0] - (human0 + n))


def _farm(rng: np.random.Generator, farm: Farm, pop: Population, catalog: Catalog, human0: int, t0: int,
          days: int, end: int, params: SybilParams, rows: _Rows, fresh) -> None:  # fmt: skip
    m = np.array(farm.members)
    size, skill = len(m), farm.skill
    wallets = human0 + m
    cex = catalog.of(*EXCHANGES)
    operator = fresh()
    # the operator's own money comes from an exchange, before anything else
    fund_at = t0 + rng.uniform(0.02, 0.2) * days * DAY
    rows.add(fund_at - rng.uniform(1, 10) * HOUR, Kind.CEX_WITHDRAW, int(rng.choice(cex)), operator,
             float(rng.uniform(5, 50)))  # fmt: skip
    # wallets are funded one after another (bots), or spread over hours
    spread = (size * rng.uniform(30, 90), rng.uniform(1, 3) * HOUR, rng.uniform(4, 24) * HOUR)[skill]
    fund_t = fund_at + (np.sort(rng.uniform(0, spread, size)) if skill else np.arange(size) * spread / size)
    base = float(rng.uniform(0.05, 0.3))
    fund_v = _amounts(rng, base, size, skill)
    if farm.funding == "direct":
        for w, t, v in zip(wallets, fund_t, fund_v, strict=True):
            rows.add(t, Kind.SEND_ETH, operator, w, v)
    elif farm.funding == "hops":
        for w, t, v in zip(wallets, fund_t, fund_v, strict=True):
            hop = fresh()
            rows.add(t, Kind.SEND_ETH, operator, hop, v + 0.002)
            rows.add(t + rng.uniform(2, 120) * MINUTE, Kind.SEND_ETH, hop, w, v)
    else:  # through an exchange: in with one deposit, out as withdrawals to each wallet
        ex = int(rng.choice(cex))
        rows.add(fund_at - HOUR, Kind.CEX_DEPOSIT, operator, ex, float(fund_v.sum() * 1.01))
        for w, t, v in zip(wallets, fund_t, fund_v, strict=True):
            rows.add(t, Kind.CEX_WITHDRAW, ex, w, v)
    # the members' own exchange funding comes later; their ordinary activity is thinner
    pop.start[m] = (fund_t.max() + rng.uniform(1, 48, size) * HOUR).astype(np.int64)
    pop.rate[m] *= (0.02, 0.3, 1.0)[skill]

    # the script: tasks, their amounts, rounds over the rest of the period
    k = int(rng.integers(params.tasks[0], params.tasks[1] + 1))
    script = rng.choice(len(TASKS), size=min(k, len(TASKS)), replace=False)
    task_eth = [TASKS[i][2] * float(np.exp(rng.uniform(-0.7, 0.7))) for i in script]
    n_rounds = int(rng.integers(params.rounds[0], params.rounds[1] + 1))
    first, last = fund_t.max() + 6 * HOUR, end - 3 * DAY
    starts = np.linspace(first, max(first, last), n_rounds + 1)[:-1] + rng.uniform(0, 12 * HOUR, n_rounds)
    for r0 in starts:
        spread = (size * rng.uniform(60, 180), rng.uniform(0.5, 1.0) * HOUR, rng.uniform(3, 12) * HOUR)[skill]
        begin = r0 + (np.arange(size) * spread / size if skill == 0 else rng.uniform(0, spread, size))
        amounts = [_amounts(rng, e, size, skill) for e in task_eth]
        for j, w in enumerate(wallets):
            order = list(range(len(script)))
            if skill == 2:
                order = [int(x) for x in rng.permutation(order)][: max(2, len(order) - 1)]
            t = begin[j]
            for step in order:
                t += rng.uniform(20, 90) if skill == 0 else rng.uniform(1, 20) * MINUTE
                _task(rng, rows, catalog, TASKS[script[step]], w, t, float(amounts[step][j]))
    # the sweep, some days after the last round
    sweep_t = min(end, starts[-1] + rng.uniform(1, 3) * DAY) + rng.uniform(0, spread, size)
    target = {"collector": fresh, "funder": lambda: operator, "deposit": fresh}[farm.sweep]()
    left = fund_v * float(rng.uniform(0.3, 0.6))
    for w, t, v in zip(wallets, sweep_t, left, strict=True):
        if skill == 2:
            hop = fresh()
            rows.add(t, Kind.SEND_ETH, w, hop, v)
            rows.add(t + rng.uniform(5, 240) * MINUTE, Kind.SEND_ETH, hop, target, v - 0.001)
        else:
            rows.add(t, Kind.SEND_ETH, w, target, v)
    if farm.sweep == "deposit":  # the deposit address forwards to its exchange
        rows.add(float(sweep_t.max()) + 20 * MINUTE, Kind.SEND_ETH, target, int(rng.choice(cex)),
                 float(left.sum() * 0.99))  # fmt: skip


def _amounts(rng: np.random.Generator, base: float, n: int, skill: int) -> np.ndarray:
    """What each wallet gets or spends: identical for bots, within 2%, within 30%."""
    if base <= 0:
        return np.zeros(n)
    return base * (1.0 + rng.uniform(-1, 1, n) * (0.0, 0.02, 0.3)[skill])


Task = tuple[Kind, str, float, tuple[str, str] | None]


def _task(rng: np.random.Generator, rows: _Rows, catalog: Catalog, task: Task, w: int, t: float,
          eth: float) -> None:  # fmt: skip
    kind, key, _, log = task
    to = catalog.index[key]
    log_row = None
    if log is not None:
        token, source = log
        amount = eth * (2300.0 if token == "usdc" else 900.0 if token == "gem" else 0.9995)
        log_row = (catalog.index[token], catalog.index[source] if source else 0, w, amount, 0)
    rows.add(t, kind, w, to, eth, log_row)


def _crowd(rng: np.random.Generator, pool: list[int], pop: Population, catalog: Catalog, human0: int,
           t0: int, days: int, params: SybilParams, rows: _Rows,
           lookalike: dict[int, str]) -> None:  # fmt: skip
    """A hyped mint: many wallets mint the same NFT at the same price within 15 minutes, and
    most swap on the router within the hour after."""
    n = round(params.crowd_share * len(pop))
    if n < 3:
        return
    crowd = [pool.pop() for _ in range(min(n, len(pool)))]
    at = t0 + rng.uniform(0.5, 0.8) * days * DAY
    nft = catalog.index["owls"]
    for w in crowd:
        t = max(at + rng.uniform(0, 15 * MINUTE), pop.start[w] + 60)
        rows.add(t, Kind.NFT_MINT, human0 + w, nft, MINT_PRICE, (nft, 0, human0 + w, 1.0, 1))
        if rng.random() < 0.7:
            _task(rng, rows, catalog, TASKS[0], human0 + w, t + rng.uniform(1, 60) * MINUTE,
                  round(float(rng.uniform(0.01, 0.1)), 2))  # fmt: skip
        lookalike[w] = "crowd-mint"


def _pairs(rng: np.random.Generator, pool: list[int], pop: Population, human0: int, t0: int, days: int,
           end: int, params: SybilParams, rows: _Rows, lookalike: dict[int, str], fresh) -> None:  # fmt: skip
    """One person, two wallets: the first funds the second before anything else, the second
    sends most of it back weeks later."""
    for i in range(round(params.pair_share * len(pop) / 2)):
        if len(pool) < 2:
            return
        a, b = pool.pop(), pool.pop()
        t = max(pop.start[a] + HOUR, t0 + HOUR)
        value = round(float(rng.uniform(0.1, 2.0)), 1)
        rows.add(t, Kind.SEND_ETH, human0 + a, human0 + b, value)
        pop.start[b] = max(pop.start[b], int(t) + 600)
        rows.add(min(end, t + rng.uniform(7, 20) * DAY), Kind.SEND_ETH, human0 + b, human0 + a, value * 0.6)
        lookalike[a] = lookalike[b] = f"pair-{i:04d}"


def _airdrop(rng: np.random.Generator, pool: list[int], catalog: Catalog, human0: int, t0: int, days: int,
             params: SybilParams, rows: _Rows, lookalike: dict[int, str], fresh) -> None:  # fmt: skip
    """A distributor pays the same token amount to many wallets within a day."""
    n = min(round(params.airdrop_share * (len(pool) + 1)), len(pool))
    if n < 3:
        return
    distributor = fresh()
    token = catalog.index["swl"]
    at = t0 + rng.uniform(0.3, 0.7) * days * DAY
    for w in rng.choice(pool, size=n, replace=False).tolist():
        rows.add(at + rng.uniform(0, DAY), Kind.SEND_STABLE, distributor, token, 0.0,
                 (token, distributor, human0 + w, 123.456789, 0))  # fmt: skip
        lookalike.setdefault(w, "airdrop")


def _events(rng: np.random.Generator, catalog: Catalog, rows: list, t0: int) -> Events:
    ev = Events.blank(len(rows))
    if not rows:
        return ev
    ts, kind, sender, to, eth, logs = zip(*rows, strict=True)
    ev.ts = clock.snap(np.array(ts, dtype=np.int64), t0)
    ev.kind = np.array(kind, dtype=np.int64)
    ev.sender = np.array(sender, dtype=np.int64)
    ev.to = np.array(to, dtype=np.int64)
    ev.sure[:] = True
    value = np.array(eth)
    exact = np.ones(len(rows), dtype=bool)  # scripts send what they were told, to the wei
    ev.set_eth(np.arange(len(rows)), to_raw(rng, np.round(value, 9), 18, exact))
    with_log = [i for i, x in enumerate(logs) if x is not None]
    if with_log:
        token, src, dst, amount, nft = (np.array(c) for c in zip(*(logs[i] for i in with_log), strict=True))
        idx = np.array(with_log)
        raw = to_raw(rng, np.where(nft == 1, 0, amount), catalog.decimals[token], exact[idx])
        raw = (raw[0], np.where(nft == 1, rng.integers(1, 10_000, len(idx)).astype(np.uint64), raw[1]))
        ev.set_log(idx, 0, token, src, dst, raw)
    return ev
