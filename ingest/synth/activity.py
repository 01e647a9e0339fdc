"""Ordinary activity: per time window, how many transactions, whose, when, of which kind, and
what each kind moves (ETH value and token transfers) between which addresses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ingest.synth import clock
from ingest.synth.amounts import heavy_tailed, human_round, to_raw
from ingest.synth.catalog import Catalog
from ingest.synth.events import Events
from ingest.synth.ids import mix64
from ingest.synth.kinds import K, Kind, kind_weights
from ingest.synth.population import Population

if TYPE_CHECKING:
    from ingest.synth.lifecycle import Lifecycle

YOUNG_SHARE = (0.4, 0.03)  # share of eligible calls going to young contracts: aggressive, safe
RESELL = (0.8, 0.3)  # share of token and NFT buys sold again later: trading, holding wallets
HOLD_DAYS = (1.0, 25.0)  # mean holding time before that sale (exponential)

# ETH value medians (ETH) per kind; 0 = no value
ETH_MEDIAN = {Kind.SEND_ETH: 0.12, Kind.CEX_DEPOSIT: 0.6, Kind.CEX_WITHDRAW: 0.8, Kind.BRIDGE: 0.4,
              Kind.SWAP_BUY: 0.25, Kind.STAKE: 1.2, Kind.NFT_BUY: 0.3, Kind.GAME_PLAY: 0.004,
              Kind.ENS_REGISTER: 0.003, Kind.DAO_DEPOSIT: 0.3}  # fmt: skip
SEGMENT_VALUE = np.array([2.5, 1.0, 0.6])  # power wallets move more
# swap prices: token units per ETH
PRICE = {"weth": 1.0, "usdc": 2300.0, "usdt": 2300.0, "dai": 2300.0, "swl": 900.0, "ldr": 25.0, "orcl": 150.0}
MINT_PRICE = {"apes": 0.08, "owls": 0.03, "blocks": 0.05}


@dataclass
class World:
    """What every window needs: the population, the catalog, the address layout."""

    seed: int
    t0: int
    days: int
    pop: Population
    catalog: Catalog
    human0: int  # address index of wallet 0
    cum_rate: np.ndarray
    kind_cdf: np.ndarray
    young: dict[str, tuple[np.ndarray, np.ndarray]]  # category -> (address indexes, creation unix times)
    peer_key: np.uint64
    lifecycle: Lifecycle | None = None  # engagement, dormancy and adoption (ingest/synth/lifecycle.py)

    @classmethod
    def build(cls, seed: int, t0: int, days: int, pop: Population, catalog: Catalog) -> World:
        young = {}
        for category in ("DeFi", "NFT", "Gaming"):
            idx, day = catalog.young(category)
            young[category] = (idx, (t0 + day * 86400).astype(np.int64))
        return cls(seed, t0, days, pop, catalog, len(catalog) + 1, np.cumsum(pop.rate),
                   np.cumsum(kind_weights(), axis=1), young, np.uint64(seed * 7919 + 17))  # fmt: skip

    @property
    def n(self) -> int:
        return len(self.pop)

    def peers(self, rng: np.random.Generator, w: np.ndarray) -> np.ndarray:
        """Counterparties (wallet numbers): mostly a few recurring friends, some strangers."""
        slot = np.minimum(rng.geometric(0.35, len(w)) - 1, 7).astype(np.uint64)
        friend = mix64(w.astype(np.uint64) * np.uint64(8) + slot + self.peer_key) % np.uint64(self.n)
        p = np.where(rng.random(len(w)) < 0.25, rng.integers(0, self.n, len(w)), friend.astype(np.int64))
        return np.where(p == w, (p + 1) % self.n, p)


def expected_per_day(world: World) -> float:
    return float(world.cum_rate[-1]) if world.n else 0.0


def draw_times(rng: np.random.Generator, world: World, h0: int, h1: int) -> tuple[np.ndarray, np.ndarray]:
    """Transactions in hours [h0, h1) since t0: (wallet numbers, unix times), Poisson in number."""
    weights = clock.hour_weights(world.t0, np.arange(h0, h1))
    n = rng.poisson(expected_per_day(world) * weights.sum() / 24.0)
    wallets = np.searchsorted(world.cum_rate, rng.random(n) * world.cum_rate[-1], side="right")
    hours = h0 + np.searchsorted(np.cumsum(weights), rng.random(n) * weights.sum(), side="right")
    ts = world.t0 + hours.astype(np.int64) * 3600 + rng.integers(0, 3600, n)
    keep = ts >= world.pop.start[wallets]  # nothing before the wallet is funded
    if world.lifecycle is not None:
        keep &= world.lifecycle.accept(rng, wallets, ts)
    return wallets[keep], ts[keep]


def normal_events(rng: np.random.Generator, world: World, h0: int, h1: int) -> tuple[Events, Events]:
    """The window's ordinary transactions, and the later sales of what they bought (at any time
    from now on: the caller keeps them until their window)."""
    w, ts = draw_times(rng, world, h0, h1)
    n = len(w)
    ev = Events.blank(n)
    ev.ts = ts
    profile = world.pop.profile[w]
    ev.kind = (rng.random(n)[:, None] > world.kind_cdf[profile]).sum(axis=1).clip(0, K - 1)
    if world.lifecycle is not None:
        ev.kind = world.lifecycle.gate(rng, w, ts, ev.kind)
    ev.sender = world.human0 + w
    filler = Filler(rng, world, ev, w)
    filler.fill()
    later = Events.concat(filler.later) if filler.later else Events.blank(0)
    if world.lifecycle is not None:  # a wallet that has fallen dormant by then does not sell
        later = later.take(world.lifecycle.acting(later.sender - world.human0, later.ts))
    return ev, later


class Filler:
    """Fills targets, values and token transfers of drawn events, kind by kind."""

    def __init__(self, rng: np.random.Generator, world: World, ev: Events, w: np.ndarray) -> None:
        self.rng, self.world, self.ev, self.w = rng, world, ev, w
        self.cat = world.catalog
        self.value_scale = SEGMENT_VALUE[world.pop.segment[w]]
        self.later: list[Events] = []

    # ---- helpers -------------------------------------------------------------------------
    def rows(self, kind: Kind) -> np.ndarray:
        return np.flatnonzero(self.ev.kind == kind)

    def pick(self, rows: np.ndarray, *keys: str) -> np.ndarray:
        return self.cat.of(*keys)[self.rng.integers(0, len(keys), len(rows))]

    def peer(self, rows: np.ndarray) -> np.ndarray:
        return self.world.human0 + self.world.peers(self.rng, self.w[rows])

    def me(self, rows: np.ndarray) -> np.ndarray:
        return self.world.human0 + self.w[rows]

    def eth(self, rows: np.ndarray, median: float | np.ndarray, scaled: bool = True) -> np.ndarray:
        """Draw and set the ETH value of rows; returns it in ETH."""
        x = heavy_tailed(self.rng, median, len(rows)) * (self.value_scale[rows] if scaled else 1.0)
        x, exact = human_round(self.rng, x)
        self.ev.set_eth(rows, to_raw(self.rng, x, 18, exact))
        return x

    def tokens(self, token: np.ndarray, amount: np.ndarray, exact: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        return to_raw(self.rng, amount, self.cat.decimals[token], exact)

    def token_amount(
        self, rows: np.ndarray, token: np.ndarray, median: float
    ) -> tuple[np.ndarray, np.ndarray]:
        x, exact = human_round(self.rng, heavy_tailed(self.rng, median, len(rows)) * self.value_scale[rows])
        return self.tokens(token, x, exact)

    def nft_id(self, n: int, top: int = 10_000) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros(n, dtype=np.uint64), self.rng.integers(1, top, n).astype(np.uint64)

    def resell(self, rows: np.ndarray, kind: Kind, to: np.ndarray | int, token: np.ndarray | int,
               counterparty: np.ndarray | int, raw: tuple[np.ndarray, np.ndarray],
               pay: tuple[np.ndarray, np.ndarray] | None = None) -> None:  # fmt: skip
        """Sell what `rows` bought (`raw` units of `token`) to `counterparty` after a holding
        time: traders mostly resell within days, holders rarely and after weeks. `pay` is what
        the counterparty pays back in WETH (NFT sales)."""
        pattern = self.world.pop.pattern[self.w[rows]]
        keep = self.rng.random(len(rows)) < np.array(RESELL)[pattern]
        delay = self.rng.exponential(1.0, len(rows)) * np.array(HOLD_DAYS)[pattern] * 86400
        pick = lambda x: np.broadcast_to(x, len(rows))[keep]  # noqa: E731
        later = Events.blank(int(keep.sum()))
        later.ts = self.ev.ts[rows][keep] + delay[keep].astype(np.int64)
        later.kind[:] = kind
        later.sender = self.me(rows)[keep]
        later.to = pick(to)
        later.risky = self.ev.risky[rows][keep]
        every = np.arange(len(later))
        later.set_log(every, 0, pick(token), later.sender, pick(counterparty), (raw[0][keep], raw[1][keep]))
        if pay is not None:
            later.set_log(every, 1, self.cat.index["weth"], pick(counterparty), later.sender,
                          (pay[0][keep], pay[1][keep]))  # fmt: skip
        self.later.append(later)

    # ---- kinds ---------------------------------------------------------------------------
    def fill(self) -> None:
        self.young_calls()
        self.transfers()
        self.defi()
        self.nft()
        self.gaming()
        self.social()
        self.community()

    def young_calls(self) -> None:
        """Aggressive wallets send a large share of their DeFi/NFT/game calls to young contracts
        (among those deployed by then): a buy, sell or farm of the project's token, a mint of
        its NFT, a game play paying its token. These rows are marked `risky`."""
        ev, rng = self.ev, self.rng
        groups = {"DeFi": (Kind.SWAP_BUY, Kind.SWAP_SELL, Kind.LEND_DEPOSIT, Kind.STAKE),
                  "NFT": (Kind.NFT_MINT, Kind.NFT_BUY), "Gaming": (Kind.GAME_PLAY,)}  # fmt: skip
        share = np.array(YOUNG_SHARE)[self.world.pop.risk[self.w]]
        for category, kinds in groups.items():
            addresses, created = self.world.young[category]
            rows = np.flatnonzero(np.isin(ev.kind, kinds) & (rng.random(len(ev)) < share))
            deployed = np.searchsorted(created, ev.ts[rows], side="right")
            rows, deployed = rows[deployed > 0], deployed[deployed > 0]
            if not len(rows):
                continue
            # one of the six newest projects deployed so far
            back = np.minimum(
                (rng.random(len(rows)) * np.minimum(deployed, 6)).astype(np.int64), deployed - 1
            )
            project = addresses[deployed - 1 - back]
            ev.risky[rows] = True
            ev.to[rows] = project
            me = self.me(rows)
            if category == "NFT":
                self.eth(rows, 0.02, scaled=False)
                ev.set_log(rows, 0, project, 0, me, self.nft_id(len(rows)))
                ev.kind[rows] = Kind.NFT_MINT
                continue
            sell = ev.kind[rows] == Kind.SWAP_SELL
            amount = self.tokens(project, heavy_tailed(rng, 2e5, len(rows)))
            self.eth(rows[~sell], 0.08 if category == "DeFi" else 0.005)  # sells send no ETH
            farm = np.isin(ev.kind[rows], (Kind.LEND_DEPOSIT, Kind.STAKE))
            src = np.where(sell, me, np.where(farm, 0, project))
            dst = np.where(sell, project, me)
            ev.set_log(rows, 0, project, src, dst, amount)
            buys = np.flatnonzero(~sell)
            if category == "DeFi":  # dumping the project's token later
                self.resell(rows[buys], Kind.SWAP_SELL, project[buys], project[buys], project[buys],
                            (amount[0][buys], amount[1][buys]))  # fmt: skip
            ev.kind[rows] = np.where(sell, Kind.SWAP_SELL, np.where(farm, Kind.STAKE, ev.kind[rows]))
            if category == "Gaming":
                ev.kind[rows] = Kind.GAME_PLAY

    def established(self, kind: Kind) -> np.ndarray:
        return np.flatnonzero((self.ev.kind == kind) & ~self.ev.risky)

    def transfers(self) -> None:
        ev = self.ev
        rows = self.rows(Kind.SEND_ETH)
        ev.to[rows] = self.peer(rows)
        self.eth(rows, ETH_MEDIAN[Kind.SEND_ETH])
        rows = self.rows(Kind.SEND_STABLE)
        token = self.pick(rows, "usdc", "usdt", "dai")
        ev.to[rows] = token
        ev.set_log(rows, 0, token, self.me(rows), self.peer(rows), self.token_amount(rows, token, 150.0))
        rows = self.rows(Kind.CEX_DEPOSIT)
        ev.to[rows] = self.pick(rows, "cex0", "cex1", "cex2", "cex3")
        self.eth(rows, ETH_MEDIAN[Kind.CEX_DEPOSIT])
        rows = self.rows(Kind.CEX_WITHDRAW)  # the exchange sends
        ev.sender[rows] = self.pick(rows, "cex0", "cex1", "cex2", "cex3")
        ev.to[rows] = self.me(rows)
        self.eth(rows, ETH_MEDIAN[Kind.CEX_WITHDRAW])
        rows = self.rows(Kind.BRIDGE)
        ev.to[rows] = self.pick(rows, "bridge_arb", "bridge_opt")
        self.eth(rows, ETH_MEDIAN[Kind.BRIDGE])
        rows = self.rows(Kind.APPROVE)
        ev.to[rows] = self.pick(rows, "usdc", "usdt", "dai", "weth", "swl")

    def defi(self) -> None:
        ev, rng, cat = self.ev, self.rng, self.cat
        tradable = list(PRICE)
        price = np.array([PRICE[k] for k in tradable])
        pools = cat.of(*(f"pool_{k}" for k in tradable))
        tokens = cat.of(*tradable)
        rows = self.established(Kind.SWAP_BUY)  # ETH in, tokens out of the pool
        which = rng.integers(0, len(tradable), len(rows))
        ev.to[rows] = cat.index["router"]
        value = self.eth(rows, ETH_MEDIAN[Kind.SWAP_BUY])
        out = value * price[which] * rng.uniform(0.985, 0.998, len(rows))
        raw = self.tokens(tokens[which], out)
        ev.set_log(rows, 0, tokens[which], pools[which], self.me(rows), raw)
        self.resell(rows, Kind.SWAP_SELL, cat.index["router"], tokens[which], pools[which], raw)
        rows = self.established(Kind.SWAP_SELL)  # tokens into the pool, ETH back (internal)
        which = rng.integers(0, len(tradable), len(rows))
        ev.to[rows] = cat.index["router"]
        amount = heavy_tailed(rng, 0.25, len(rows)) * price[which] * self.value_scale[rows]
        ev.set_log(rows, 0, tokens[which], self.me(rows), pools[which], self.tokens(tokens[which], amount))
        usdc, ausdc, lending = cat.index["usdc"], cat.index["ausdc"], cat.index["lending"]
        for kind in (Kind.LEND_DEPOSIT, Kind.LEND_WITHDRAW):
            rows = self.established(kind)
            ev.to[rows] = lending
            raw = self.token_amount(rows, np.full(len(rows), usdc), 1500.0)
            me = self.me(rows)
            if kind == Kind.LEND_DEPOSIT:
                ev.set_log(rows, 0, usdc, me, lending, raw)
                ev.set_log(rows, 1, ausdc, 0, me, raw)
            else:
                ev.set_log(rows, 0, ausdc, me, 0, raw)
                ev.set_log(rows, 1, usdc, lending, me, raw)
        rows = self.established(Kind.STAKE)
        ev.to[rows] = cat.index["staking"]
        value = self.eth(rows, ETH_MEDIAN[Kind.STAKE])
        ev.set_log(rows, 0, cat.index["speth"], 0, self.me(rows),
                   self.tokens(np.full(len(rows), cat.index["speth"]), value * 0.9995))  # fmt: skip

    def flip(self, rows: np.ndarray, collection: np.ndarray, token_id: tuple[np.ndarray, np.ndarray],
             paid: np.ndarray) -> None:  # fmt: skip
        """The later sale of bought NFTs on the marketplace, for a WETH offer near the price paid."""
        weth = self.cat.index["weth"]
        offer = paid * np.exp(0.5 * self.rng.standard_normal(len(rows)))
        self.resell(rows, Kind.NFT_SELL, self.cat.index["market"], collection, self.peer(rows), token_id,
                    pay=self.tokens(np.full(len(rows), weth), offer))  # fmt: skip

    def nft(self) -> None:
        ev, rng, cat = self.ev, self.rng, self.cat
        names = list(MINT_PRICE)
        collections = cat.of(*names)
        rows = self.established(Kind.NFT_MINT)
        which = rng.integers(0, len(names), len(rows))
        ev.to[rows] = collections[which]
        price = np.array([MINT_PRICE[k] for k in names])[which]
        ev.set_eth(rows, to_raw(rng, price, 18, np.ones(len(rows), dtype=bool)))
        token_id = self.nft_id(len(rows))
        ev.set_log(rows, 0, collections[which], 0, self.me(rows), token_id)
        self.flip(rows, collections[which], token_id, price)
        market, weth = cat.index["market"], cat.index["weth"]
        rows = self.established(Kind.NFT_BUY)  # buyer pays ETH, the seller's NFT moves
        which = collections[rng.integers(0, len(names), len(rows))]
        ev.to[rows] = market
        paid = self.eth(rows, ETH_MEDIAN[Kind.NFT_BUY])
        token_id = self.nft_id(len(rows))
        ev.set_log(rows, 0, which, self.peer(rows), self.me(rows), token_id)
        self.flip(rows, which, token_id, paid)
        rows = self.rows(Kind.NFT_SELL)  # accepting a WETH offer
        which = collections[rng.integers(0, len(names), len(rows))]
        buyer = self.peer(rows)
        ev.to[rows] = market
        ev.set_log(rows, 0, which, self.me(rows), buyer, self.nft_id(len(rows)))
        amount = heavy_tailed(rng, 0.3, len(rows)) * self.value_scale[rows]
        ev.set_log(rows, 1, weth, buyer, self.me(rows), self.tokens(np.full(len(rows), weth), amount))
        rows = self.rows(Kind.NFT_SEND)
        which = collections[rng.integers(0, len(names), len(rows))]
        ev.to[rows] = which
        ev.set_log(rows, 0, which, self.me(rows), self.peer(rows), self.nft_id(len(rows)))

    def gaming(self) -> None:
        ev, rng, cat = self.ev, self.rng, self.cat
        gem, items, game = cat.index["gem"], cat.index["items"], cat.index["game"]
        rows = self.established(Kind.GAME_PLAY)
        ev.to[rows] = game
        self.eth(rows, ETH_MEDIAN[Kind.GAME_PLAY], scaled=False)
        ev.set_log(rows, 0, gem, game, self.me(rows), self.token_amount(rows, np.full(len(rows), gem), 12.0))
        rows = self.rows(Kind.GAME_ITEM)
        ev.to[rows] = items
        count = np.zeros(len(rows), dtype=np.uint64), rng.integers(1, 6, len(rows)).astype(np.uint64)
        ev.set_log(rows, 0, items, self.me(rows), self.peer(rows), count)
        rows = self.rows(Kind.GAME_TOKEN)
        ev.to[rows] = gem
        ev.set_log(
            rows,
            0,
            gem,
            self.me(rows),
            self.peer(rows),
            self.token_amount(rows, np.full(len(rows), gem), 40.0),
        )

    def social(self) -> None:
        ev, rng, cat = self.ev, self.rng, self.cat
        rows = self.rows(Kind.ENS_REGISTER)
        ev.to[rows] = cat.index["ens_ctrl"]
        self.eth(rows, ETH_MEDIAN[Kind.ENS_REGISTER], scaled=False)
        label_hash = (
            rng.integers(0, 10**18, len(rows)).astype(np.uint64),
            rng.integers(0, 10**18, len(rows)).astype(np.uint64),
        )
        ev.set_log(rows, 0, cat.index["ens_nft"], 0, self.me(rows), label_hash)
        rows = self.rows(Kind.SOCIAL_TIP)
        token = self.pick(rows, "friend", "friend", "clout")
        ev.to[rows] = token
        ev.set_log(rows, 0, token, self.me(rows), self.peer(rows), self.token_amount(rows, token, 8.0))

    def community(self) -> None:
        ev, cat = self.ev, self.cat
        rows = self.rows(Kind.GOV_VOTE)  # DeFi-minded wallets vote in the DEX governor too
        defi = self.world.pop.focus[self.w[rows]] == 0
        ev.to[rows] = np.where(defi & (self.rng.random(len(rows)) < 0.7), cat.index["governor"],
                               cat.index["dao_governor"])  # fmt: skip
        rows = self.rows(Kind.DAO_DEPOSIT)
        ev.to[rows] = cat.index["dao_treasury"]
        self.eth(rows, ETH_MEDIAN[Kind.DAO_DEPOSIT])
        rows = self.rows(Kind.DAO_CLAIM)  # a grant or reward paid out in USDC
        usdc, treasury = cat.index["usdc"], cat.index["dao_treasury"]
        ev.to[rows] = treasury
        ev.set_log(
            rows, 0, usdc, treasury, self.me(rows), self.token_amount(rows, np.full(len(rows), usdc), 400.0)
        )
