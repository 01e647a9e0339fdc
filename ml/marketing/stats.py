"""The statistics of a campaign: differences of two proportions with their confidence interval
and test, and percentile bootstrap intervals for differences of means (docs/marketing.md)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy.stats import norm


@dataclass(frozen=True)
class Lift:
    """treatment - control, with its interval at `confidence`."""

    treatment: float
    control: float
    diff: float
    low: float
    high: float
    p_value: float | None
    relative: float | None  # treatment / control - 1 (None when the control is 0)
    method: str
    confidence: float

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    def to_dict(self) -> dict:
        return {k: _clean(v) for k, v in asdict(self).items()}


def _clean(v: object) -> object:
    return None if isinstance(v, float) and not math.isfinite(v) else v


def wilson(x: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion x/n."""
    if n == 0:
        return 0.0, 1.0
    z = norm.ppf(0.5 + confidence / 2)
    p = x / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, mid - half), min(1.0, mid + half)


def two_proportions(x_t: int, n_t: int, x_c: int, n_c: int, confidence: float = 0.95) -> Lift:
    """Difference of the treatment's and the control's rates.

    The interval is Newcombe's hybrid score interval (method 10 of Newcombe 1998, from the two
    Wilson intervals): unlike the Wald interval it keeps its coverage for small groups and rates
    near 0 or 1, which conversion rates are. The p-value is the two-sided pooled z-test."""
    if n_t == 0 or n_c == 0:
        raise ValueError("both groups need at least one wallet")
    p_t, p_c = x_t / n_t, x_c / n_c
    l_t, u_t = wilson(x_t, n_t, confidence)
    l_c, u_c = wilson(x_c, n_c, confidence)
    d = p_t - p_c
    low = d - math.sqrt((p_t - l_t) ** 2 + (u_c - p_c) ** 2)
    high = d + math.sqrt((u_t - p_t) ** 2 + (p_c - l_c) ** 2)
    pooled = (x_t + x_c) / (n_t + n_c)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_t + 1 / n_c))
    p_value = 1.0 if se == 0 else float(2 * norm.sf(abs(d) / se))
    relative = p_t / p_c - 1 if p_c > 0 else None
    return Lift(p_t, p_c, d, low, high, p_value, relative, "newcombe", confidence)


def bootstrap_diff(
    treatment: np.ndarray, control: np.ndarray, confidence: float = 0.95, resamples: int = 2000, seed: int = 0
) -> Lift:
    """Difference of means (treatment - control) with a percentile bootstrap interval: each
    group resampled with replacement on its own, `resamples` times, from a fixed seed (the same
    data give the same interval)."""
    t = np.asarray(treatment, dtype=float)
    c = np.asarray(control, dtype=float)
    if len(t) == 0 or len(c) == 0:
        raise ValueError("both groups need at least one wallet")
    rng = np.random.default_rng(seed)
    diffs = np.empty(resamples)
    chunk = max(1, 2_000_000 // max(len(t), len(c)))  # bounded memory
    for i in range(0, resamples, chunk):
        k = min(chunk, resamples - i)
        mt = t[rng.integers(0, len(t), (k, len(t)))].mean(axis=1)
        mc = c[rng.integers(0, len(c), (k, len(c)))].mean(axis=1)
        diffs[i : i + k] = mt - mc
    alpha = (1 - confidence) / 2
    low, high = np.quantile(diffs, [alpha, 1 - alpha])
    mean_t, mean_c = float(t.mean()), float(c.mean())
    # two-sided bootstrap p-value: how often the resampled difference falls on the other side of 0
    share = float(np.mean(diffs <= 0)) if mean_t - mean_c > 0 else float(np.mean(diffs >= 0))
    relative = mean_t / mean_c - 1 if mean_c != 0 else None
    return Lift(mean_t, mean_c, mean_t - mean_c, float(low), float(high), min(1.0, 2 * share), relative,
                "bootstrap", confidence)  # fmt: skip
