"""Time on the synthetic chain: 12-second blocks, hour-of-day and day-of-week weights (quiet
nights, a weekend peak), and a base fee that drifts hour by hour."""

from __future__ import annotations

import numpy as np

BLOCK_SECONDS = 12
FIRST_BLOCK = 18_908_895  # the mainnet block at 2024-01-01 00:00 UTC, for realistic numbers
DEFAULT_START = 1_704_067_200  # 2024-01-01 00:00:00 UTC, a Monday
GWEI = 10**9

# UTC hour weights: a night trough, a morning ramp, an evening peak
HOUR_WEIGHTS = np.array([0.38, 0.3, 0.25, 0.24, 0.27, 0.35, 0.5, 0.65, 0.8, 0.95, 1.05, 1.1,
                         1.2, 1.25, 1.3, 1.35, 1.4, 1.45, 1.5, 1.5, 1.45, 1.3, 1.05, 0.7])  # fmt: skip
HOUR_WEIGHTS = HOUR_WEIGHTS / HOUR_WEIGHTS.mean()
# Monday..Sunday: a weekend peak
WEEKDAY_WEIGHTS = np.array([0.92, 0.9, 0.9, 0.92, 0.96, 1.22, 1.18])
WEEKDAY_WEIGHTS = WEEKDAY_WEIGHTS / WEEKDAY_WEIGHTS.mean()


def hour_weights(t0: int, hours: np.ndarray) -> np.ndarray:
    """Activity weight of each hour since t0 (mean 1 over a whole week)."""
    absolute = t0 // 3600 + hours
    weekday = (absolute // 24 + 3) % 7  # 1970-01-01 was a Thursday
    return HOUR_WEIGHTS[absolute % 24] * WEEKDAY_WEIGHTS[weekday]


def block_of(ts: np.ndarray, t0: int) -> np.ndarray:
    return FIRST_BLOCK + (ts - t0) // BLOCK_SECONDS


def block_time(block: np.ndarray, t0: int) -> np.ndarray:
    return t0 + (block - FIRST_BLOCK) * BLOCK_SECONDS


def snap(ts: np.ndarray, t0: int) -> np.ndarray:
    """Times moved back to the start of their block: the time a transaction shows on chain."""
    return t0 + (np.asarray(ts) - t0) // BLOCK_SECONDS * BLOCK_SECONDS


def base_fee_series(rng: np.random.Generator, hours: int) -> np.ndarray:
    """Base fee in wei per hour: a mean-reverting random walk in log space (weeks-long swings)
    with a daily cycle peaking in the afternoon, between 3 and 400 gwei."""
    theta, sigma, mean = 1.0 / 240.0, 0.06, np.log(18.0)
    steps = sigma * rng.standard_normal(hours)
    level = np.empty(hours)
    x = mean + 0.5 * rng.standard_normal()
    for h in range(hours):  # hours, not events: a few thousand steps
        x += theta * (mean - x) + steps[h]
        level[h] = x
    daily = 0.25 * np.sin(2 * np.pi * ((np.arange(hours) % 24) - 10) / 24)
    return (np.exp(np.clip(level + daily, np.log(3.0), np.log(400.0))) * GWEI).astype(np.int64)
