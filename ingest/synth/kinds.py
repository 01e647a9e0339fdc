"""The kinds of transactions the personas make: each with its call selector and gas limit, and
how likely each kind is for each typology profile."""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class Kind(IntEnum):
    SEND_ETH = 0
    SEND_STABLE = 1
    CEX_DEPOSIT = 2
    CEX_WITHDRAW = 3
    BRIDGE = 4
    APPROVE = 5
    SWAP_BUY = 6
    SWAP_SELL = 7
    LEND_DEPOSIT = 8
    LEND_WITHDRAW = 9
    STAKE = 10
    NFT_MINT = 11
    NFT_BUY = 12
    NFT_SELL = 13
    NFT_SEND = 14
    GAME_PLAY = 15
    GAME_ITEM = 16
    GAME_TOKEN = 17
    ENS_REGISTER = 18
    SOCIAL_TIP = 19
    GOV_VOTE = 20
    DAO_DEPOSIT = 21
    DAO_CLAIM = 22
    # scheduled, not drawn
    FUNDING = 23
    LAUNDER = 24
    LAUNDER_TOKEN = 25
    DEPLOY = 26
    CAMPAIGN_CLAIM = 27


NORMAL = [k for k in Kind if k < Kind.FUNDING]
K = len(NORMAL)

# (input selector, gas limit) per kind; "0x" = a plain ETH transfer (21,000 gas)
CALLS: dict[Kind, tuple[str, int]] = {
    Kind.SEND_ETH: ("0x", 21_000), Kind.SEND_STABLE: ("0xa9059cbb", 65_000),
    Kind.CEX_DEPOSIT: ("0x", 21_000), Kind.CEX_WITHDRAW: ("0x", 21_000),
    Kind.BRIDGE: ("0x439370b1", 120_000), Kind.APPROVE: ("0x095ea7b3", 55_000),
    Kind.SWAP_BUY: ("0x7ff36ab5", 210_000), Kind.SWAP_SELL: ("0x18cbafe5", 230_000),
    Kind.LEND_DEPOSIT: ("0x617ba037", 260_000), Kind.LEND_WITHDRAW: ("0x69328dec", 240_000),
    Kind.STAKE: ("0xa1903eab", 110_000), Kind.NFT_MINT: ("0x1249c58b", 150_000),
    Kind.NFT_BUY: ("0xfb0f3ee1", 190_000), Kind.NFT_SELL: ("0xe7acab24", 260_000),
    Kind.NFT_SEND: ("0x42842e0e", 90_000), Kind.GAME_PLAY: ("0x93e84cd9", 140_000),
    Kind.GAME_ITEM: ("0xf242432a", 80_000), Kind.GAME_TOKEN: ("0xa9059cbb", 60_000),
    Kind.ENS_REGISTER: ("0x74694a2b", 280_000), Kind.SOCIAL_TIP: ("0xa9059cbb", 60_000),
    Kind.GOV_VOTE: ("0x56781388", 90_000), Kind.DAO_DEPOSIT: ("0xd0e30db0", 45_000),
    Kind.DAO_CLAIM: ("0x4e71d92d", 120_000), Kind.FUNDING: ("0x", 21_000),
    Kind.LAUNDER: ("0x", 21_000), Kind.LAUNDER_TOKEN: ("0xa9059cbb", 65_000),
    Kind.DEPLOY: ("0x60806040", 2_400_000), Kind.CAMPAIGN_CLAIM: ("0x6a627842", 160_000),
}  # fmt: skip
SELECTORS = sorted({s for s, _ in CALLS.values()})
SELECTOR_OF = np.array([SELECTORS.index(CALLS[k][0]) for k in Kind], dtype=np.int64)
GAS_LIMIT = np.array([CALLS[k][1] for k in Kind], dtype=np.int64)

# Kind weights by focus D, N, G, S; U mixes them. Then the pattern and community axes adjust.
_COMMON = {Kind.SEND_ETH: 10, Kind.SEND_STABLE: 5, Kind.CEX_DEPOSIT: 3, Kind.CEX_WITHDRAW: 3,
           Kind.APPROVE: 3, Kind.BRIDGE: 1}  # fmt: skip
_FOCUS = {
    "D": {Kind.SWAP_BUY: 20, Kind.SWAP_SELL: 14, Kind.LEND_DEPOSIT: 8, Kind.LEND_WITHDRAW: 5,
          Kind.STAKE: 6, Kind.APPROVE: 5},
    "N": {Kind.NFT_MINT: 12, Kind.NFT_BUY: 14, Kind.NFT_SELL: 8, Kind.NFT_SEND: 6, Kind.SWAP_BUY: 2},
    "G": {Kind.GAME_PLAY: 18, Kind.GAME_ITEM: 14, Kind.GAME_TOKEN: 10, Kind.NFT_BUY: 2},
    "S": {Kind.ENS_REGISTER: 6, Kind.SOCIAL_TIP: 20, Kind.SEND_ETH: 5, Kind.NFT_SEND: 2},
}  # fmt: skip
_MIXED = {"D": 0.35, "N": 0.25, "G": 0.2, "S": 0.2}
_SELLS = (Kind.SWAP_SELL, Kind.NFT_SELL, Kind.LEND_WITHDRAW)
_HOLDS = (Kind.STAKE, Kind.LEND_DEPOSIT, Kind.SWAP_BUY, Kind.NFT_MINT)
_COMMUNITY = {Kind.GOV_VOTE: 8, Kind.DAO_DEPOSIT: 2, Kind.DAO_CLAIM: 2}


def kind_weights() -> np.ndarray:
    """(40, K) probabilities of each kind for each typology profile (see Population.profile)."""
    out = np.zeros((40, K))
    for profile in range(40):
        # the risk axis (bit 1) picks young contracts, not kinds
        focus, pattern, community = profile // 8, (profile // 4) % 2, profile % 2
        w = np.zeros(K)
        for kind, x in _COMMON.items():
            w[kind] += x
        mix = {"DNGS"[focus]: 1.0} if focus < 4 else _MIXED
        for letter, share in mix.items():
            for kind, x in _FOCUS[letter].items():
                w[kind] += share * x
        for kind in _SELLS:
            w[kind] *= 2.0 if pattern == 0 else 0.3
        for kind in _HOLDS:
            w[kind] *= 0.8 if pattern == 0 else 1.6
        w[Kind.SEND_ETH] *= 1.3 if pattern == 0 else 0.8
        for kind, x in _COMMUNITY.items():
            w[kind] += x if community == 0 else 0.03 * x
        out[profile] = w / w.sum()
    return out
