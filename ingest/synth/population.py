"""The wallets: a persona each, the four typology axes drawn from it, an activity segment by
exact quota, a daily rate and the time the wallet is first funded."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FOCUS = "DNGSU"  # DeFi, NFT, Gaming, Social, Undefined
PATTERN = "TH"  # trading, holding
RISK = "AS"  # aggressive, safe
COMMUNITY = "CI"  # community, individual
SEGMENTS = ("power", "active", "passive")
SEGMENT_SHARES = (0.10, 0.60, 0.30)
SEGMENT_RATE = np.array([4.0, 0.45, 0.05])  # transactions per day
PATTERN_RATE = np.array([1.6, 0.6])  # trading wallets act more often than holders


@dataclass(frozen=True)
class Persona:
    name: str
    weight: float
    focus: tuple[float, float, float, float, float]  # P(D, N, G, S, U)
    trading: float  # P(pattern T)
    aggressive: float  # P(risk A)
    community: float  # P(community C)


PERSONAS: tuple[Persona, ...] = (
    Persona("defi_trader", 0.12, (0.85, 0.03, 0.02, 0.02, 0.08), 0.85, 0.50, 0.20),
    Persona("yield_farmer", 0.08, (0.85, 0.02, 0.02, 0.03, 0.08), 0.25, 0.35, 0.40),
    Persona("nft_collector", 0.09, (0.05, 0.85, 0.03, 0.02, 0.05), 0.15, 0.30, 0.20),
    Persona("nft_flipper", 0.05, (0.05, 0.85, 0.02, 0.02, 0.06), 0.90, 0.60, 0.10),
    Persona("gamer", 0.09, (0.03, 0.05, 0.85, 0.02, 0.05), 0.50, 0.40, 0.15),
    Persona("social_user", 0.07, (0.03, 0.03, 0.02, 0.85, 0.07), 0.30, 0.20, 0.40),
    Persona("dao_member", 0.07, (0.45, 0.05, 0.02, 0.20, 0.28), 0.30, 0.20, 0.95),
    Persona("degen", 0.05, (0.35, 0.25, 0.10, 0.00, 0.30), 0.95, 0.95, 0.10),
    Persona("casual", 0.38, (0.10, 0.10, 0.05, 0.05, 0.70), 0.15, 0.10, 0.10),
)


@dataclass
class Population:
    persona: np.ndarray  # index into PERSONAS
    focus: np.ndarray  # index into FOCUS
    pattern: np.ndarray  # 0 = T, 1 = H
    risk: np.ndarray  # 0 = A, 1 = S
    community: np.ndarray  # 0 = C, 1 = I
    segment: np.ndarray  # index into SEGMENTS
    rate: np.ndarray  # expected transactions per (average) day
    start: np.ndarray  # unix time of the first funding

    def __len__(self) -> int:
        return len(self.persona)

    @property
    def profile(self) -> np.ndarray:
        """0..39: the typology code as one number (focus, pattern, risk, community)."""
        return self.focus * 8 + self.pattern * 4 + self.risk * 2 + self.community

    def typology(self) -> list[str]:
        codes = [f"{f}-{p}-{r}-{c}" for f in FOCUS for p in PATTERN for r in RISK for c in COMMUNITY]
        return [codes[i] for i in self.profile.tolist()]


def quota(rng: np.random.Generator, n: int, shares: tuple[float, ...]) -> np.ndarray:
    """Class per item with exact shares (largest remainders), in random order."""
    counts = np.floor(np.array(shares) * n).astype(int)
    rest = np.array(shares) * n - counts
    counts[np.argsort(-rest, kind="stable")[: n - counts.sum()]] += 1
    return rng.permutation(np.repeat(np.arange(len(shares)), counts))


def build_population(rng: np.random.Generator, n: int, t0: int, days: int) -> Population:
    weights = np.array([p.weight for p in PERSONAS])
    persona = rng.choice(len(PERSONAS), size=n, p=weights / weights.sum())
    focus_p = np.array([p.focus for p in PERSONAS])[persona]
    focus = (rng.random(n)[:, None] > np.cumsum(focus_p, axis=1)).sum(axis=1).clip(0, len(FOCUS) - 1)
    table = np.array([(p.trading, p.aggressive, p.community) for p in PERSONAS])[persona]
    pattern, risk, community = ((rng.random((n, 3)) >= table).astype(np.int64)).T
    segment = quota(rng, n, SEGMENT_SHARES)
    rate = SEGMENT_RATE[segment] * PATTERN_RATE[pattern] * np.exp(0.25 * rng.standard_normal(n))
    # funded during the first 15% of the period (at least within the first day)
    start = t0 + (rng.random(n) * max(0.15 * days, 1.0) * 86400).astype(np.int64)
    return Population(persona, focus, pattern, risk, community, segment, rate, start)
