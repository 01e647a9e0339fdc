"""Amounts: heavy-tailed draws in human units, and their exact integer form in raw units
(wei, token base units) as hi * 10**18 + lo, so values beyond uint64 stay exact."""

from __future__ import annotations

import numpy as np

E18 = 10**18
_GWEI_STEPS = 10**9


def heavy_tailed(rng: np.random.Generator, median: np.ndarray | float, n: int, sigma: float = 1.2,
                 tail_share: float = 0.04, tail_alpha: float = 1.3) -> np.ndarray:  # fmt: skip
    """Lognormal around `median`, with a share multiplied by a Pareto factor (whales)."""
    x = np.asarray(median, dtype=float) * np.exp(sigma * rng.standard_normal(n))
    whale = rng.random(n) < tail_share
    x[whale] *= 1.0 + rng.pareto(tail_alpha, int(whale.sum()))
    return x


def human_round(rng: np.random.Generator, x: np.ndarray, share: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Round a share of amounts to 2 significant digits, as people type them; (amounts, rounded)."""
    rounded = rng.random(len(x)) < share
    safe = np.where(x > 0, x, 1.0)
    scale = 10.0 ** (np.floor(np.log10(safe)) - 1)
    return np.where(rounded, np.round(x / scale) * scale, x), rounded


def to_raw(rng: np.random.Generator, amount: np.ndarray, decimals: np.ndarray | int,
           exact: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Human amounts -> raw integer units as (hi, lo) with raw = hi * 10**18 + lo.

    The fraction keeps 9 digits; rows not `exact` get random digits below that (a real
    balance's dust). Decimals are 0..18.
    """
    n = len(amount)
    dec = np.broadcast_to(np.asarray(decimals, dtype=np.int64), (n,))
    amount = np.clip(np.asarray(amount, dtype=float), 0.0, 2.0**52)
    whole = np.floor(amount)
    frac = amount - whole
    whole = whole.astype(np.uint64)
    unit = (10**dec).astype(np.uint64)  # 10**d
    per_e18 = (10 ** (18 - dec)).astype(np.uint64)  # whole units per 10**18 raw
    hi, wl = np.divmod(whole, per_e18)
    # fraction in raw units: 9 digits then dust (or d digits when d < 9)
    fine = np.minimum(dec, 9)
    f = np.minimum(np.rint(frac * 10.0**fine), 10.0**fine - 1).astype(np.uint64)
    dust_unit = (10 ** (dec - fine)).astype(np.uint64)
    f = f * dust_unit
    if exact is None or not exact.all():
        dust = (rng.random(n) * dust_unit).astype(np.uint64)
        if exact is not None:
            dust[exact] = 0
        f += np.minimum(dust, dust_unit - np.uint64(1))
    lo = wl * unit + f
    return hi, lo


def raw_to_float(hi: np.ndarray, lo: np.ndarray, decimals: np.ndarray | int) -> np.ndarray:
    return (hi.astype(float) * 1e18 + lo.astype(float)) / 10.0 ** np.asarray(decimals, dtype=float)
