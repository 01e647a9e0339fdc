"""An AMLSim-style generator of aidrop's own, used ONLY to evaluate laundering detection on data
the detectors and the pre-trained model never saw (issue 14). Its conventions differ from
ingest/synth on purpose:

- background: accounts with Pareto-distributed activity and log-normal popularity (who gets paid),
  amounts log-normal per sender wealth, times with a day/night rhythm; honest look-alikes: three
  exchanges (a tenth of all traffic each way), a router that forwards what it receives within
  minutes, two payrolls (the same 30-60 employees, every 30 days, the same amount +-5%), an airdrop
  (one day, 300-500 recipients, one amount) and a merchant many pay;
- laundering groups of six shapes (fan_in, fan_out, cycle, scatter_gather / gather_scatter,
  bipartite (stacked, 2-3 layers, random density), peel), 4-12 members, windows of 1-15 days with
  exponential gaps, amounts from the ordinary range (the 50th-99th percentile of normal transfers),
  fees and skims of 0-10% per hop; peel slices go to ordinary wallets. Members keep their ordinary
  activity (camouflage) and get a few extra ordinary transfers during the scheme.

`generate(...)` returns a transfer frame (src, dst, ts, value as row numbers and ETH) and the
typology of each account ("" = normal); `write(...)` writes `edges.csv` (from_address,to_address,
value,tx_count,block_timestamp, as `aidrop ingest edges` reads) and `labels.csv` (address,label).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

DAY = 86_400
T0 = 1_700_000_000
SHAPES = ("fan_in", "fan_out", "cycle", "scatter_gather", "gather_scatter", "bipartite", "peel")
FAMILY = {"gather_scatter": "scatter_gather"}  # six typologies as the issue counts them


@dataclass(frozen=True)
class Setting:
    accounts: int = 5000
    days: int = 90
    per_day: float = 1.2  # ordinary transfers per account and day, on average
    share: float = 0.03  # accounts drawn into laundering groups
    min_size: int = 4
    max_size: int = 12
    max_window_days: float = 15.0
    camouflage: int = 3  # extra ordinary transfers per member during its scheme


# Named settings besides the default (bench/laundering.py --setting). "wide" was added after the
# detector was fixed (issue 14) and run once: larger groups, windows up to a month (longer than the
# detector's 7-day link window) and heavier camouflage than anything the detector was written against.
SETTINGS = {
    "default": {},
    "dense": {"accounts": 3000, "per_day": 1.0},
    "wide": {"min_size": 6, "max_size": 20, "max_window_days": 30.0, "camouflage": 8},
}


def _times(rng: np.random.Generator, n: int, days: int) -> np.ndarray:
    day = rng.integers(0, days, n)
    hour = rng.choice(24, n, p=_DIURNAL)
    return T0 + day * DAY + hour * 3600 + rng.integers(0, 3600, n)


_DIURNAL = np.array([1, 1, 1, 1, 1, 2, 3, 5, 6, 7, 7, 7, 7, 7, 7, 7, 6, 6, 6, 5, 4, 3, 2, 1], float)
_DIURNAL /= _DIURNAL.sum()


def _background(rng: np.random.Generator, s: Setting) -> tuple[list[np.ndarray], int]:
    n = s.accounts
    activity = rng.pareto(1.3, n) + 0.05
    popularity = rng.lognormal(0, 1.5, n)
    wealth = rng.lognormal(0, 1.2, n)
    m = int(n * s.per_day * s.days)
    src = rng.choice(n, m, p=activity / activity.sum())
    dst = rng.choice(n, m, p=popularity / popularity.sum())
    value = wealth[src] * rng.lognormal(-1.5, 1.3, m)
    ts = _times(rng, m, s.days)
    cols = [src, dst, ts, value]
    hubs = n  # extra accounts from here: exchanges, router, payrolls, airdrop, merchant
    exchanges = np.arange(hubs, hubs + 3)
    router, pay1, pay2, airdrop, merchant = hubs + 3, hubs + 4, hubs + 5, hubs + 6, hubs + 7
    total = hubs + 8

    def add(a: np.ndarray, b: np.ndarray, t: np.ndarray, v: np.ndarray) -> None:
        for i, x in enumerate((a, b, t, v)):
            cols[i] = np.r_[cols[i], x]

    k = m // 10  # deposits to and withdrawals from exchanges
    add(rng.choice(n, k), rng.choice(exchanges, k), _times(rng, k, s.days), rng.lognormal(-0.5, 1.4, k))
    add(rng.choice(exchanges, k), rng.choice(n, k), _times(rng, k, s.days), rng.lognormal(-0.5, 1.4, k))
    k = m // 50  # the router: in, then out to someone else within minutes, the amount less a fee
    a, b = rng.choice(n, k), rng.choice(n, k)
    t, v = _times(rng, k, s.days), rng.lognormal(-1, 1.3, k)
    add(a, np.full(k, router), t, v)
    add(np.full(k, router), b, t + rng.integers(30, 900, k), v * 0.997)
    for pay in (pay1, pay2):
        staff = rng.choice(n, int(rng.integers(30, 61)), replace=False)
        salary = rng.lognormal(0.5, 0.4, len(staff))
        for month in range(0, s.days, 30):
            t = T0 + month * DAY + int(rng.integers(0, 3 * DAY)) + rng.integers(0, 3600, len(staff))
            add(np.full(len(staff), pay), staff, t, salary * rng.uniform(0.95, 1.05, len(staff)))
        add(rng.choice(exchanges, 3), np.full(3, pay), _times(rng, 3, s.days), np.full(3, salary.sum() * 2))
    got = rng.choice(n, int(rng.integers(300, 501)), replace=False)
    t = T0 + int(rng.integers(10, s.days - 10)) * DAY + rng.integers(0, DAY, len(got))
    add(np.full(len(got), airdrop), got, t, np.full(len(got), 0.25))
    k = m // 40
    add(rng.choice(n, k), np.full(k, merchant), _times(rng, k, s.days), rng.lognormal(-1.0, 0.8, k))
    return cols, total


def _scheme(rng: np.random.Generator, shape: str, m: np.ndarray, unit: float,
            start: int, window: int, sinks: np.ndarray) -> list[tuple[int, int, int, float]]:  # fmt: skip
    """One group's transfers: (sender, receiver, time, amount)."""
    n = len(m)
    out: list[tuple[int, int, int, float]] = []
    wobble = lambda: float(rng.uniform(0.9, 1.1))  # noqa: E731
    fee = lambda: 1.0 - float(rng.uniform(0.0, 0.1))  # noqa: E731
    at = lambda x: start + int(min(x, 1.0) * window)  # noqa: E731
    if shape in ("fan_in", "fan_out"):
        for x in m[1:]:
            pair = (int(x), int(m[0])) if shape == "fan_in" else (int(m[0]), int(x))
            out.append((*pair, at(rng.random()), unit * wobble()))
    elif shape in ("cycle", "peel"):
        gaps = np.cumsum(rng.exponential(1.0, n))
        gaps = gaps / gaps[-1]
        value = unit * (n - 1)
        for i in range(n if shape == "cycle" else n - 1):
            t = at(gaps[i] * 0.98)
            if shape == "peel":
                slice_ = value * float(rng.uniform(0.05, 0.3))
                out.append((int(m[i]), int(rng.choice(sinks)), t + 60, slice_))
                value -= slice_
            out.append((int(m[i]), int(m[(i + 1) % n]), t, value))
            value *= fee()
    elif shape == "scatter_gather":
        for x in m[1:-1]:
            t = rng.uniform(0, 0.5)
            out.append((int(m[0]), int(x), at(t), unit * wobble()))
            out.append((int(x), int(m[-1]), at(t + rng.uniform(0.05, 0.5)), unit * fee()))
    elif shape == "gather_scatter":
        h = max(1, (n - 1) // 2)
        total = 0.0
        for x in m[:h]:
            v = unit * wobble()
            total += v
            out.append((int(x), int(m[h]), at(rng.uniform(0, 0.5)), v))
        for x in m[h + 1 :]:
            out.append((int(m[h]), int(x), at(rng.uniform(0.5, 1.0)), total * fee() / (n - 1 - h)))
    elif shape == "bipartite":
        layers = 2 if n < 6 or rng.random() < 0.5 else 3
        cuts = np.sort(rng.choice(np.arange(1, n), layers - 1, replace=False))
        groups = np.split(m, cuts)
        density = rng.uniform(0.5, 1.0)
        for i in range(layers - 1):
            for a in groups[i]:
                for b in groups[i + 1]:
                    if rng.random() < density or b == groups[i + 1][0]:
                        t = (i + rng.uniform(0, 0.9)) / (layers - 1)
                        out.append((int(a), int(b), at(t), unit * wobble()))
    else:
        raise ValueError(shape)
    return out


def generate(s: Setting, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng([seed, 14])
    cols, total = _background(rng, s)
    normal_values = cols[3][: s.accounts * 10]
    lo, hi = np.quantile(normal_values, [0.5, 0.99])
    typology = np.full(total, "", dtype=object)
    activity_pool = rng.permutation(s.accounts)[: int(s.share * s.accounts)]
    pool = list(activity_pool)
    rows: list[tuple[int, int, int, float]] = []
    i = 0
    while len(pool) >= s.min_size:
        shape = SHAPES[i % len(SHAPES)]
        i += 1
        size = min(len(pool), int(rng.integers(s.min_size, s.max_size + 1)))
        members, pool = np.array(pool[:size]), pool[size:]
        window = int(rng.uniform(1.0, s.max_window_days) * DAY)
        start = T0 + int(rng.integers(0, max(1, s.days * DAY - window)))
        unit = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
        sinks = rng.choice(s.accounts, 20)
        rows += _scheme(rng, shape, members, unit, start, window, sinks)
        typology[members] = FAMILY.get(shape, shape)
        for x in members:  # ordinary transfers during the scheme as well
            c = int(rng.poisson(s.camouflage))
            other = rng.choice(s.accounts, c)
            t = start + rng.integers(0, window, c)
            v = rng.lognormal(-1.5, 1.3, c)
            out = rng.random(c) < 0.5
            rows += [(int(x), int(o), int(tt), float(vv)) if d else (int(o), int(x), int(tt), float(vv))
                     for o, tt, vv, d in zip(other, t, v, out, strict=True)]  # fmt: skip
    if rows:
        a, b, t, v = (np.array(c) for c in zip(*rows, strict=True))
        for j, x in enumerate((a, b, t, v)):
            cols[j] = np.r_[cols[j], x]
    frame = pd.DataFrame({"src": cols[0], "dst": cols[1], "ts": cols[2], "value": cols[3]})
    frame = frame[frame["src"] != frame["dst"]].sort_values("ts", kind="stable").reset_index(drop=True)
    frame["value"] = frame["value"].round(8).clip(lower=1e-6)
    return frame, typology


def addresses(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng([seed, 41])
    raw = rng.integers(0, 256, (n, 20), dtype=np.uint8)
    return np.array(["0x" + r.tobytes().hex() for r in raw], dtype=object)


def write(out: Path, s: Setting, seed: int = 0) -> dict[str, int]:
    """edges.csv and labels.csv in `out`; returns counts."""
    frame, typology = generate(s, seed)
    out.mkdir(parents=True, exist_ok=True)
    addr = addresses(len(typology), seed)
    pd.DataFrame(
        {
            "from_address": addr[frame["src"]],
            "to_address": addr[frame["dst"]],
            "value": frame["value"],
            "tx_count": 1,
            "block_timestamp": frame["ts"],
        }
    ).to_csv(out / "edges.csv", index=False)
    label = np.where(typology == "", "normal", typology)
    pd.DataFrame({"address": addr, "label": label}).to_csv(out / "labels.csv", index=False)
    return {"transfers": len(frame), "accounts": len(typology), "launderers": int((typology != "").sum())}
