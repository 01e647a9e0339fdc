"""A campaign A/B test: targets split control/treatment by a stable hash of the address; the
treatment converts at baseline + uplift, the control at the baseline. Converting = interacting
with the campaign contract (minting its pass) after the campaign starts."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from ingest.synth import clock
from ingest.synth.activity import World
from ingest.synth.events import Events
from ingest.synth.kinds import Kind


@dataclass(frozen=True)
class CampaignParams:
    start_day: float | None = None  # days after the first day; None = half way
    target_share: float = 0.5  # of the wallets
    baseline: float = 0.05  # conversion rate of the control group
    uplift: float = 0.05  # added to the baseline for the treatment group (absolute)

    def start(self, days: int) -> float:
        return days / 2 if self.start_day is None else self.start_day


def in_treatment(address: str) -> bool:
    """Stable across seeds and runs: the first byte of sha256(lowercase address) is even."""
    return hashlib.sha256(address.lower().encode()).digest()[0] % 2 == 0


@dataclass
class Campaign:
    targets: np.ndarray  # wallet numbers, ascending
    treatment: np.ndarray  # bool per target
    converted: np.ndarray  # bool per target
    converted_at: np.ndarray  # unix time per target, -1 if not converted
    events: Events


def build_campaign(rng: np.random.Generator, world: World, addresses: list[str],
                   params: CampaignParams) -> Campaign:  # fmt: skip
    """`addresses`: the text address of each wallet number."""
    n = world.n
    targets = np.sort(rng.permutation(n)[: round(params.target_share * n)])
    treatment = np.array([in_treatment(addresses[w]) for w in targets.tolist()], dtype=bool)
    rate = np.where(treatment, params.baseline + params.uplift, params.baseline)
    converted = rng.random(len(targets)) < rate
    start = world.t0 + int(params.start(world.days) * 86400)
    end = world.t0 + world.days * 86400
    # most conversions come early in the campaign
    when = start + 60 + (rng.beta(1.0, 2.5, len(targets)) * max(0, end - start - 120)).astype(np.int64)
    when = clock.snap(np.maximum(when, world.pop.start[targets] + 60), world.t0)
    converted &= when < end
    converted_at = np.where(converted, when, -1)
    rows = np.flatnonzero(converted)
    ev = Events.blank(len(rows))
    contract = world.catalog.index["campaign"]
    ev.ts = when[rows]
    ev.kind[:] = Kind.CAMPAIGN_CLAIM
    ev.sender = world.human0 + targets[rows]
    ev.to[:] = contract
    ev.sure[:] = True
    token_id = np.empty(len(rows), dtype=np.uint64)  # passes are numbered in minting order
    token_id[np.argsort(ev.ts, kind="stable")] = np.arange(1, len(rows) + 1, dtype=np.uint64)
    ev.set_log(
        np.arange(len(rows)), 0, contract, 0, ev.sender, (np.zeros(len(rows), dtype=np.uint64), token_id)
    )
    return Campaign(targets, treatment, converted, converted_at, ev)
