"""The contracts, tokens and exchange wallets the personas use: established protocols (created
years before the data starts), young unaudited projects created during it, a campaign contract."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# kinds of entries
CONTRACT, ERC20, ERC721, ERC1155, EXCHANGE = "contract", "erc20", "erc721", "erc1155", "exchange"


@dataclass(frozen=True)
class Entry:
    key: str
    name: str
    category: str  # DeFi, NFT, Gaming, Social, Bridge, Exchange
    kind: str = CONTRACT
    symbol: str = ""
    decimals: int | None = None  # None for NFTs
    created_day: float = -900.0  # relative to the first day of the data
    young: bool = False
    supply: int = 0  # whole tokens


ESTABLISHED: tuple[Entry, ...] = (
    # DeFi: a DEX router and its pools, tokens, lending, staking, governance
    Entry("router", "Swapline: Router 2", "DeFi", created_day=-1100),
    Entry("weth", "Wrapped Ether", "DeFi", ERC20, "WETH", 18, -2200, supply=3_200_000),
    Entry("usdc", "USD Coin", "DeFi", ERC20, "USDC", 6, -2000, supply=25_000_000_000),
    Entry("usdt", "Tether USD", "DeFi", ERC20, "USDT", 6, -2300, supply=40_000_000_000),
    Entry("dai", "Dai Stablecoin", "DeFi", ERC20, "DAI", 18, -1500, supply=5_000_000_000),
    Entry("swl", "Swapline", "DeFi", ERC20, "SWL", 18, -1000, supply=1_000_000_000),
    Entry("ldr", "Lendora Token", "DeFi", ERC20, "LDR", 18, -1300, supply=16_000_000),
    Entry("orcl", "Oracle Link Token", "DeFi", ERC20, "ORCL", 18, -2100, supply=1_000_000_000),
    Entry("pool_weth", "Swapline: WETH-USDC Pool", "DeFi", created_day=-1100),
    Entry("pool_usdc", "Swapline: USDC-USDT Pool", "DeFi", created_day=-1100),
    Entry("pool_usdt", "Swapline: USDT-WETH Pool", "DeFi", created_day=-1100),
    Entry("pool_dai", "Swapline: DAI-USDC Pool", "DeFi", created_day=-1050),
    Entry("pool_swl", "Swapline: SWL-WETH Pool", "DeFi", created_day=-1000),
    Entry("pool_ldr", "Swapline: LDR-WETH Pool", "DeFi", created_day=-1000),
    Entry("pool_orcl", "Swapline: ORCL-WETH Pool", "DeFi", created_day=-1000),
    Entry("lending", "Lendora: Lending Pool V3", "DeFi", created_day=-700),
    Entry("ausdc", "Lendora Ethereum USDC", "DeFi", ERC20, "ldUSDC", 6, -700, supply=2_000_000_000),
    Entry("staking", "Stakeport: Liquid Staking", "DeFi", created_day=-1200),
    Entry("speth", "Stakeport Staked Ether", "DeFi", ERC20, "spETH", 18, -1200, supply=9_000_000),
    Entry("governor", "Swapline: Governor Bravo", "DeFi", created_day=-950),
    # NFT
    Entry("market", "OpenHarbor: Seaport Exchange", "NFT", created_day=-600),
    Entry("apes", "Pixel Apes Yacht Club", "NFT", ERC721, "PXA", None, -1000, supply=10_000),
    Entry("owls", "Night Owls", "NFT", ERC721, "OWL", None, -650, supply=10_000),
    Entry("blocks", "Genesis Blocks by Artbase", "NFT", ERC721, "GBLK", None, -800, supply=5_000),
    # Gaming
    Entry("game", "Realm Quest: Game", "Gaming", created_day=-400),
    Entry("items", "Realm Quest Items", "Gaming", ERC1155, "RQI", None, -400, supply=1_000_000),
    Entry("gem", "Realm Gem", "Gaming", ERC20, "GEM", 18, -400, supply=500_000_000),
    # Social
    Entry("ens_ctrl", "Name Service: Registrar Controller", "Social", created_day=-1300),
    Entry("ens_nft", "Name Service: Base Registrar", "Social", ERC721, "NAME", None, -1900, supply=0),
    Entry("friend", "Friend Key", "Social", ERC20, "FRIEND", 18, -300, supply=100_000_000),
    Entry("clout", "Clout Social Token", "Social", ERC20, "CLOUT", 18, -250, supply=1_000_000_000),
    Entry("dao_treasury", "Builders DAO: Treasury", "Social", created_day=-500),
    Entry("dao_governor", "Builders DAO: Governor", "Social", created_day=-500),
    # Bridges and exchanges
    Entry("bridge_arb", "Arbiter Bridge: Inbox", "Bridge", created_day=-900),
    Entry("bridge_opt", "Optimum: Gateway", "Bridge", created_day=-800),
    *(
        Entry(f"cex{i}", f"CEX {name}: Hot Wallet", "Exchange", EXCHANGE, created_day=-1500)
        for i, name in enumerate(("Coinvault", "Krakenet", "Bitstream", "OKBit"))
    ),  # fmt: skip
)

CAMPAIGN = Entry("campaign", "Quest Pass: Season Campaign", "Social", ERC721, "QPASS", None, 0.0, young=True)

_PREFIX = ("Moon", "Pepe", "Shiba", "Rocket", "Degen", "Turbo", "Safe", "Elon", "Frog", "Laser", "Giga",
           "Based", "Wojak", "Chad", "Meme", "Hyper")  # fmt: skip
_SUFFIX = {
    "DeFi": ("Inu", "Yield", "Swap", "Finance", "Farm", "Vault"),
    "NFT": ("Punks", "Pass", "Club", "Genesis", "Pixels"),
    "Gaming": ("Quest", "Arena", "Dice", "Legends", "Raiders"),
}
YOUNG_SHARES = {"DeFi": 0.5, "NFT": 0.3, "Gaming": 0.2}


@dataclass
class Catalog:
    """Entries at address indexes 1..len (0 is the zero address); humans come after."""

    entries: list[Entry]
    index: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.index = {e.key: i + 1 for i, e in enumerate(self.entries)}
        self.decimals = np.array([0] + [e.decimals or 0 for e in self.entries], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.entries)

    def of(self, *keys: str) -> np.ndarray:
        return np.array([self.index[k] for k in keys], dtype=np.int64)

    def young(self, category: str) -> tuple[np.ndarray, np.ndarray]:
        """Young projects of a category: (address indexes, creation days) by creation time."""
        rows = [(e.created_day, self.index[e.key]) for e in self.entries
                if e.young and e.category == category and e.key != CAMPAIGN.key]  # fmt: skip
        rows.sort()
        return np.array([r[1] for r in rows], dtype=np.int64), np.array([r[0] for r in rows], dtype=float)


def build_catalog(rng: np.random.Generator, wallets: int, days: int, campaign_day: float | None) -> Catalog:
    """Established entries, young projects (about one per 400 wallets, at least 6) created from
    20 days before the start to 85% into the data, and the campaign contract if any."""
    entries = list(ESTABLISHED)
    n_young = int(np.clip(wallets // 400, 6, 300))
    categories = rng.choice(list(YOUNG_SHARES), size=n_young, p=list(YOUNG_SHARES.values()))
    created = rng.uniform(-20.0, 0.85 * days, n_young)
    for i, (category, day) in enumerate(zip(categories.tolist(), created.tolist(), strict=True)):
        name = (
            f"{_PREFIX[rng.integers(len(_PREFIX))]} {_SUFFIX[category][rng.integers(len(_SUFFIX[category]))]}"
        )
        symbol = "".join(w[:3] for w in name.split()).upper()[:5] + str(i)
        if category == "NFT":
            entries.append(Entry(f"young{i}", name, category, ERC721, symbol, None, day, True, 10_000))
        else:
            decimals = 9 if category == "DeFi" and i % 3 == 0 else 18
            supply = int(10 ** rng.integers(6, 12))
            entries.append(Entry(f"young{i}", name, category, ERC20, symbol, decimals, day, True, supply))
    if campaign_day is not None:
        entries.append(Entry(**{**CAMPAIGN.__dict__, "created_day": campaign_day}))
    return Catalog(entries)
