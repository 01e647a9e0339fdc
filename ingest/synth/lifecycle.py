"""Persona lifecycles and category adoption, driven by latent state the data only shows through
its consequences (docs/synth.md, "Lifecycles").

Every wallet has, day by day:

- an **engagement** in (0, 1]: 1 when it is funded (onboarding), decaying with a personal
  half-life; its ordinary activity runs at `0.4 + 0.6 * engagement` of its rate, times the
  market regime's activity factor;
- a **dormant** flag: a dormant wallet sends nothing. It falls dormant with a daily hazard that
  grows as engagement fades and with the share of its friends already dormant (churn spreads
  through social ties), and wakes up (reactivation, engagement renewed) with a small hazard that
  grows with its friends' activity and with campaign exposure;
- per category (DeFi, NFT, Gaming, Social) an **adoption** day: before it, the wallet's calls of
  that category are plain ETH sends; after it, it uses the category (a share of its calls when
  the category is not its focus). A persona's focus is mostly adopted at onboarding; the others
  with a daily hazard raised by adopted friends, by a neighbouring category already used, by
  recent campaign exposure, and by a bull market.

Campaigns run every few weeks per category and reach a share of the wallets for a few weeks;
only part of the reached wallets get an on-chain trace (an airdrop of the category's token), the
rest is off-chain (mail, social). The market switches between bull and bear regimes.

Nothing here is written into the transfers as a label: who is dormant, engaged or has adopted
a category must be inferred from behaviour. `lifecycle.csv` records the latent truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest.synth.events import Events
from ingest.synth.ids import mix64
from ingest.synth.kinds import Kind

DAY = 86_400
CATEGORIES = ("DeFi", "NFT", "Gaming", "Social")  # the adoptable ones, FOCUS order
GATED: dict[str, tuple[Kind, ...]] = {
    "DeFi": (
        Kind.SEND_STABLE,
        Kind.APPROVE,
        Kind.SWAP_BUY,
        Kind.SWAP_SELL,
        Kind.LEND_DEPOSIT,
        Kind.LEND_WITHDRAW,
        Kind.STAKE,
    ),
    "NFT": (Kind.NFT_MINT, Kind.NFT_BUY, Kind.NFT_SELL, Kind.NFT_SEND),
    "Gaming": (Kind.GAME_PLAY, Kind.GAME_ITEM, Kind.GAME_TOKEN),
    "Social": (Kind.ENS_REGISTER, Kind.SOCIAL_TIP, Kind.GOV_VOTE, Kind.DAO_DEPOSIT, Kind.DAO_CLAIM),
}
# the kinds an adopter of a category it is not focused on adds to its calls
ADDED: dict[str, tuple[Kind, ...]] = {
    "DeFi": (Kind.SWAP_BUY, Kind.SWAP_BUY, Kind.SWAP_SELL, Kind.STAKE, Kind.LEND_DEPOSIT),
    "NFT": (Kind.NFT_MINT, Kind.NFT_BUY, Kind.NFT_BUY, Kind.NFT_SEND),
    "Gaming": (Kind.GAME_PLAY, Kind.GAME_PLAY, Kind.GAME_ITEM, Kind.GAME_TOKEN),
    "Social": (Kind.SOCIAL_TIP, Kind.SOCIAL_TIP, Kind.ENS_REGISTER, Kind.DAO_DEPOSIT),
}
# categories whose users find this one easily (NFT traders try games, gamers try NFTs, ...)
NEIGHBOURS = {"DeFi": ("NFT",), "NFT": ("Gaming", "DeFi"), "Gaming": ("NFT",), "Social": ("NFT", "DeFi")}
# the token a category's campaign airdrops (catalog keys)
AIRDROP_TOKEN = {"DeFi": "swl", "NFT": "owls", "Gaming": "gem", "Social": "clout"}
FRIEND_SLOTS = 8  # as World.peers: a wallet's recurring counterparties
SLOT_WEIGHT = 0.35 * 0.65 ** np.arange(FRIEND_SLOTS)  # geometric(0.35) over the slots


@dataclass(frozen=True)
class LifecycleParams:
    """Daily hazards and effects; every rate is per day."""

    arrivals: float = 0.6  # share of wallets funded over the whole period (the rest at its start)
    half_life_days: float = 120.0  # median engagement half-life (lognormal, sigma 0.6)
    dormancy_rate: float = 0.03  # hazard of falling dormant at zero engagement
    friends_churn: float = 2.5  # dormancy hazard x (1 + this * share of friends dormant)
    reactivation_rate: float = 0.004  # hazard of waking up (most dormant wallets never return)
    focus_adoption: float = 0.9  # share of wallets using their focus category from the start
    mixed_adoption: float = 0.35  # same, per category, for mixed-focus (U) wallets
    adoption_rate: float = 0.0007  # hazard of a first use of a category, before the effects below
    friends_adoption: float = 6.0  # x (1 + this * share of friends using it)
    neighbour_adoption: float = 1.5  # x (1 + this) when a neighbouring category is used
    exposure_adoption: float = 6.0  # x (1 + this) while reached by a campaign of the category
    added_share: float = 0.15  # share of calls an adopter gives a category it is not focused on
    campaign_days: float = 21.0  # a campaign of some category starts about this often
    campaign_length: int = 14  # days a campaign's exposure lasts
    campaign_reach: float = 0.2  # share of wallets a campaign reaches
    visible_share: float = 0.5  # share of reached wallets that get an airdrop on chain
    regime_days: float = 45.0  # mean length of a bull or bear market
    bear_activity: float = 0.8  # activity factor in a bear market (1 in a bull market)
    bear_churn: float = 1.6  # dormancy hazard factor in a bear market
    bull_adoption: float = 1.5  # adoption hazard factor in a bull market


@dataclass
class Lifecycle:
    """The simulated latent state: per wallet and day, the activity factor (0..1, as uint8/255,
    0 while dormant); per wallet and category the adoption day (days since t0, inf = never)."""

    t0: int
    activity: np.ndarray  # (n, days) uint8
    adopted: np.ndarray  # (n, 4) float days since t0
    focus: np.ndarray  # (n,) FOCUS index (4 = mixed)
    half_life: np.ndarray  # (n,) days
    dormant_days: np.ndarray  # (n,) days spent dormant
    spells: np.ndarray  # (n,) dormancy spells begun
    exposures: np.ndarray  # (n, 4) campaigns reached
    bull: np.ndarray  # (days,) bool
    airdrops: Events  # the visible trace of campaigns
    added_share: float = 0.15

    def accept(self, rng: np.random.Generator, wallets: np.ndarray, ts: np.ndarray) -> np.ndarray:
        """Thinning: keep each drawn transaction with the wallet's activity factor that day."""
        day = np.clip((ts - self.t0) // DAY, 0, self.activity.shape[1] - 1)
        return rng.random(len(wallets)) * 255.0 < self.activity[wallets, day]

    def acting(self, wallets: np.ndarray, ts: np.ndarray) -> np.ndarray:
        """Whether each wallet is awake (not dormant) at each time (after the data: its last day)."""
        day = np.clip((ts - self.t0) // DAY, 0, self.activity.shape[1] - 1)
        return self.activity[wallets, day] > 0

    def gate(
        self, rng: np.random.Generator, wallets: np.ndarray, ts: np.ndarray, kind: np.ndarray
    ) -> np.ndarray:
        """Kinds after adoption: a category not yet adopted is a plain ETH send; an adopted one
        the wallet is not focused on takes `added` of its calls."""
        day = (ts - self.t0) / DAY
        kind = kind.copy()
        for c, category in enumerate(CATEGORIES):
            adopted = self.adopted[wallets, c] <= day
            gated = np.isin(kind, GATED[category]) & ~adopted
            kind[gated] = Kind.SEND_ETH
            extra = adopted & (self.focus[wallets] != c) & (rng.random(len(kind)) < self.added_share)
            kind[extra] = np.array(ADDED[category])[rng.integers(0, len(ADDED[category]), int(extra.sum()))]
        return kind


def onboarding(rng: np.random.Generator, params: LifecycleParams, start: np.ndarray, t0: int, days: int
               ) -> np.ndarray:  # fmt: skip
    """Funding times with new users arriving all along: `arrivals` of the wallets are funded at
    a uniform time over the period instead of during its first 15%."""
    late = rng.random(len(start)) < params.arrivals
    when = t0 + (rng.random(len(start)) * days * DAY).astype(np.int64)
    return np.where(late, np.minimum(when, t0 + days * DAY - 3600), start)


def friends_of(n: int, peer_key: np.uint64) -> np.ndarray:
    """(n, FRIEND_SLOTS) the recurring friends World.peers picks from (same formula)."""
    w = np.arange(n, dtype=np.uint64)[:, None] * np.uint64(8) + np.arange(FRIEND_SLOTS, dtype=np.uint64)
    friend = (mix64(w + peer_key) % np.uint64(max(n, 1))).astype(np.int64)
    return np.where(friend == np.arange(n)[:, None], (friend + 1) % max(n, 1), friend)


def simulate(
    rng: np.random.Generator,
    params: LifecycleParams,
    t0: int,
    days: int,
    start: np.ndarray,
    focus: np.ndarray,
    peer_key: np.uint64,
    airdrop_tokens: dict[str, int],
    human0: int,
) -> Lifecycle:
    """Run the latent state day by day for every wallet (vectorised over wallets)."""
    p = params
    n = len(start)
    friends = friends_of(n, peer_key)
    weight = SLOT_WEIGHT / SLOT_WEIGHT.sum()
    half_life = p.half_life_days * np.exp(0.6 * rng.standard_normal(n))
    decay = np.exp(-np.log(2) / half_life)
    start_day = (start - t0) / DAY

    # the market: bull / bear regimes of exponential length
    bull = np.empty(days, dtype=bool)
    state, d = bool(rng.random() < 0.5), 0
    while d < days:
        length = max(1, int(rng.exponential(p.regime_days)))
        bull[d : d + length] = state
        state, d = not state, d + length

    # campaigns: (category, first day, reached wallets)
    n_campaigns = rng.poisson(days / p.campaign_days)
    campaign_cat = rng.integers(0, len(CATEGORIES), n_campaigns)
    campaign_day = np.sort(rng.uniform(0, days, n_campaigns)).astype(np.int64)
    reached = [np.flatnonzero(rng.random(n) < p.campaign_reach) for _ in range(n_campaigns)]
    exposed_until = np.full((n, len(CATEGORIES)), -1, dtype=np.int64)
    exposures = np.zeros((n, len(CATEGORIES)), dtype=np.int64)
    drops: list[tuple[np.ndarray, np.ndarray, int]] = []

    # adoption at onboarding: the focus mostly, mixed wallets some of each
    adopted = np.full((n, len(CATEGORIES)), np.inf)
    for c in range(len(CATEGORIES)):
        share = np.where(
            focus == c, p.focus_adoption, np.where(focus >= len(CATEGORIES), p.mixed_adoption, 0.0)
        )
        now = rng.random(n) < share
        adopted[now, c] = start_day[now]
    neighbours = [[CATEGORIES.index(x) for x in NEIGHBOURS[c]] for c in CATEGORIES]

    engagement = np.ones(n)
    dormant = np.zeros(n, dtype=bool)
    activity = np.zeros((n, days), dtype=np.uint8)
    dormant_days = np.zeros(n, dtype=np.int64)
    spells = np.zeros(n, dtype=np.int64)
    for day in range(days):
        live = start_day < day + 1  # funded by the end of the day
        for k in np.flatnonzero(campaign_day == day).tolist():
            who = reached[k]
            exposed_until[who, campaign_cat[k]] = day + p.campaign_length
            exposures[who, campaign_cat[k]] += 1
            seen = who[rng.random(len(who)) < p.visible_share]
            drops.append((seen, day + rng.uniform(0, p.campaign_length, len(seen)), int(campaign_cat[k])))
        exposed = exposed_until >= day
        share_dormant = (dormant[friends] * weight).sum(axis=1)
        churn = p.dormancy_rate * (1 - engagement) ** 2 * (1 + p.friends_churn * share_dormant)
        churn *= 1.0 if bull[day] else p.bear_churn
        wake = p.reactivation_rate * (1 + 2.0 * (1 - share_dormant)) * (1 + 2.0 * exposed.any(axis=1))
        u = rng.random(n)
        falls = live & ~dormant & (u < churn)
        wakes = live & dormant & (u < wake)
        dormant = (dormant | falls) & ~wakes
        spells += falls
        engagement = np.where(wakes, rng.uniform(0.6, 1.0, n), engagement * decay)
        engagement = np.where(live, engagement, 1.0)  # onboarding: full engagement when funded
        dormant_days += live & dormant

        used = adopted <= day
        regime = p.bull_adoption if bull[day] else 1.0
        for c in range(len(CATEGORIES)):
            friends_use = (used[friends, c] * weight).sum(axis=1)
            near = used[:, neighbours[c]].any(axis=1)
            hazard = p.adoption_rate * regime * (0.4 + 0.6 * engagement)
            hazard = hazard * (1 + p.friends_adoption * friends_use) * (1 + p.neighbour_adoption * near)
            hazard = hazard * (1 + p.exposure_adoption * exposed[:, c])
            new = live & ~dormant & ~used[:, c] & (rng.random(n) < hazard)
            adopted[new, c] = day + rng.random(int(new.sum()))
        factor = (0.4 + 0.6 * engagement) * (1.0 if bull[day] else p.bear_activity)
        activity[:, day] = np.where(live & ~dormant, np.round(255 * factor), 0).astype(np.uint8)

    return Lifecycle(
        t0,
        activity,
        adopted,
        focus,
        half_life,
        dormant_days,
        spells,
        exposures,
        bull,
        _airdrops(drops, t0, days, start, airdrop_tokens, human0),
        p.added_share,
    )


def _airdrops(
    drops: list[tuple[np.ndarray, np.ndarray, int]],
    t0: int,
    days: int,
    start: np.ndarray,
    tokens: dict[str, int],
    human0: int,
) -> Events:
    """The on-chain trace of campaigns: the category's token contract sends the reached wallet
    an airdrop (a mint to it), at a time after the wallet was funded."""
    if not drops:
        return Events.blank(0)
    who = np.concatenate([d[0] for d in drops])
    when = np.concatenate([d[1] for d in drops])
    token = np.concatenate([np.full(len(d[0]), tokens[CATEGORIES[d[2]]]) for d in drops])
    ts = np.maximum(t0 + (when * DAY).astype(np.int64), start[who] + 600)
    keep = ts < t0 + days * DAY
    who, ts, token = who[keep], ts[keep], token[keep]
    ev = Events.blank(len(who))
    ev.ts = ts
    ev.kind[:] = Kind.LAUNDER_TOKEN  # an ERC-20 transfer call (selector, gas)
    ev.sender = token  # the project's distributor: the token contract itself
    ev.to = human0 + who
    ev.sure[:] = True
    nft = token == tokens["NFT"]  # an NFT: one token with its id; otherwise 100 whole tokens
    hi = np.where(nft, 0, 100).astype(np.uint64)
    lo = np.where(nft, 20_000 + np.arange(len(who)), 0).astype(np.uint64)
    ev.set_log(np.arange(len(who)), 0, token, token, human0 + who, (hi, lo))
    return ev


TABLE = (
    "address",
    "half_life_days",
    "dormancy_spells",
    "dormant_days",
    "dormant_at_end",
    *(f"adopted_{c}" for c in CATEGORIES),
    *(f"exposed_{c}" for c in CATEGORIES),
)


def write_table(path: Path, life: Lifecycle, addresses: list[str]) -> int:
    """lifecycle.csv: the latent truth per wallet (adoption as unix time, empty = never)."""
    from ingest.synth.tables import _open

    fh, out = _open(path, TABLE)
    adopted = np.where(np.isfinite(life.adopted), life.t0 + life.adopted * DAY, -1).astype(np.int64)
    end = life.activity[:, -1] == 0
    for w in range(len(addresses)):
        out.writerow(
            (
                addresses[w],
                f"{life.half_life[w]:.1f}",
                int(life.spells[w]),
                int(life.dormant_days[w]),
                int(end[w]),
                *(a if a >= 0 else "" for a in adopted[w].tolist()),
                *life.exposures[w].tolist(),
            )
        )
    fh.close()
    return len(addresses)
