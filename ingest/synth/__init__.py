"""Synthetic on-chain data with known truth: personas and typologies, activity segments,
laundering patterns and a campaign A/B test, written as ethereum-etl CSVs plus label files.

`generate(out, wallets, days, seed)` is deterministic: the same arguments give byte-identical
files. Transactions are made window by window (a few hours to days of chain time, about
`window_events` each), so memory stays flat in the number of transfers.
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ingest.synth import clock, ids, tables, writer
from ingest.synth.activity import World, expected_per_day, normal_events
from ingest.synth.amounts import heavy_tailed, human_round, to_raw
from ingest.synth.campaign import Campaign, CampaignParams, build_campaign, in_treatment
from ingest.synth.catalog import build_catalog
from ingest.synth.chain import Chain
from ingest.synth.events import Events, sort_by_time
from ingest.synth.kinds import Kind
from ingest.synth.laundering import Laundering, LaunderingParams, build_laundering
from ingest.synth.lifecycle import AIRDROP_TOKEN, Lifecycle, LifecycleParams, onboarding, simulate
from ingest.synth.lifecycle import write_table as write_lifecycle
from ingest.synth.population import build_population
from ingest.synth.sybil import Sybil, SybilParams, build_sybil

__all__ = ["CampaignParams", "LaunderingParams", "LifecycleParams", "SybilParams", "SynthSummary", "generate",
           "in_treatment"]  # fmt: skip

# independent random streams, so that one part changing leaves the others as they were
_POPULATION, _CATALOG, _GAS, _LAUNDERING, _CAMPAIGN, _SCHEDULE, _WINDOW, _SYBIL, _LIFECYCLE = range(1, 10)
EXCHANGE_NONCE = 4_000_000  # hot wallets have sent millions of transactions before
OUTPUTS = ("transactions", "receipts", "token_transfers", "contracts", "tokens", "labels", "laundering",
           "campaign", "lifecycle", "farms")  # fmt: skip


@dataclass
class SynthSummary:
    out: str
    wallets: int
    days: int
    seed: int
    transactions: int = 0
    token_transfers: int = 0
    transfers: int = 0  # graph edges: one per transaction plus one per token transfer
    contracts: int = 0
    tokens: int = 0
    launderers: int = 0
    patterns: dict[str, int] = field(default_factory=dict)
    campaign_targets: int = 0
    farms: int = 0
    farm_wallets: int = 0
    conversions: dict[str, int] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)  # data rows per file
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def _rng(seed: int, stream: int, *more: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream, *more])


def generate(
    out: str | Path,
    wallets: int,
    days: int,
    seed: int = 0,
    laundering_share: float = 0.02,
    campaign: bool = False,
    *,
    start: int = clock.DEFAULT_START,
    laundering: LaunderingParams | None = None,
    campaign_params: CampaignParams | None = None,
    window_events: int = 150_000,
    progress: bool | None = None,
    sybil_share: float = 0.0,
    sybil: SybilParams | None = None,
    lifecycle: LifecycleParams | None = None,
) -> SynthSummary:
    """Write the synthetic data set into the folder `out` (created if needed). With `lifecycle`,
    wallets onboard, fade, fall dormant, wake up and adopt categories (ingest/synth/lifecycle.py)
    and lifecycle.csv records it."""
    if wallets < 10:
        raise ValueError("wallets must be at least 10")
    if days < 1:
        raise ValueError("days must be at least 1")
    if not 0.0 <= laundering_share <= 0.5:
        raise ValueError("laundering_share must be between 0 and 0.5")
    if not 0.0 <= sybil_share <= 0.5 or laundering_share + sybil_share > 0.6:
        raise ValueError("sybil_share must be between 0 and 0.5 (and with laundering_share at most 0.6)")
    start = int(start)
    if not 10**9 <= start <= 4 * 10**9:  # 2001..2096: timestamps keep 10 digits
        raise ValueError(f"start must be a unix time in seconds between 2001 and 2096, not {start}")
    campaign_params = campaign_params or CampaignParams()
    if campaign and not 0 < campaign_params.start(days) < days:
        raise ValueError("the campaign must start after the first day and before the last")
    began = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    foreign = sorted(p.name for p in out.glob("*.csv") if p.stem not in OUTPUTS)
    if foreign:  # `aidrop ingest etl` would read them along with ours
        raise FileExistsError(f"{out} holds other CSV files ({', '.join(foreign[:3])}); use an empty folder")
    laundering = laundering or LaunderingParams()

    try:
        summary = _generate(out, wallets, days, seed, laundering_share, campaign, start, laundering,
                            campaign_params, window_events, progress,
                            (sybil_share, sybil or SybilParams()), lifecycle)  # fmt: skip
    except BaseException:
        for name in OUTPUTS:
            writer.partial(out / f"{name}.csv").unlink(missing_ok=True)
        raise
    # all written: replace the files of any earlier run, transactions.csv last
    for name in sorted(OUTPUTS, key=lambda n: n == "transactions"):
        if writer.partial(out / f"{name}.csv").exists():
            writer.partial(out / f"{name}.csv").replace(out / f"{name}.csv")
    if not campaign:
        (out / "campaign.csv").unlink(missing_ok=True)  # from an earlier run
    if lifecycle is None:
        (out / "lifecycle.csv").unlink(missing_ok=True)
    if not sybil_share:
        (out / "farms.csv").unlink(missing_ok=True)
    summary.seconds = round(time.perf_counter() - began, 3)
    return summary


def _generate(out: Path, wallets: int, days: int, seed: int, laundering_share: float, campaign: bool,
              start: int, laundering: LaunderingParams, campaign_params: CampaignParams,
              window_events: int, progress: bool | None,
              sybil_args: tuple[float, SybilParams],
              lifecycle: LifecycleParams | None = None) -> SynthSummary:  # fmt: skip
    campaign_day = campaign_params.start(days) if campaign else None
    catalog = build_catalog(_rng(seed, _CATALOG), wallets, days, campaign_day)
    pop = build_population(_rng(seed, _POPULATION), wallets, start, days)
    farms = _sybil(seed, pop, catalog, start, days, *sybil_args)  # before the world: it adjusts pop
    if lifecycle is not None:  # new users keep arriving
        pop.start = onboarding(_rng(seed, _LIFECYCLE, 1), lifecycle, pop.start, start, days)
    world = World.build(seed, start, days, pop, catalog)
    table, addresses = _address_table(world.human0 + wallets + (farms.extra if farms else 0), seed)
    humans = addresses[world.human0 : world.human0 + wallets]
    if lifecycle is not None:
        world.lifecycle = _lifecycle(_rng(seed, _LIFECYCLE), lifecycle, world)

    schedule_rng = _rng(seed, _SCHEDULE)
    launder = build_laundering(_rng(seed, _LAUNDERING), world, laundering_share, laundering)
    camp = build_campaign(_rng(seed, _CAMPAIGN), world, humans, campaign_params) if campaign else None
    scheduled = sort_by_time(Events.concat([
        _funding(schedule_rng, world), _deployments(schedule_rng, world), launder.events,
        *([camp.events] if camp else []), *([farms.events] if farms else []),
        *([world.lifecycle.airdrops] if world.lifecycle else []),
    ]))  # fmt: skip

    hours = days * 24
    nonce = np.zeros(len(addresses), dtype=np.int64)
    nonce[catalog.of(*(f"cex{i}" for i in range(4)))] = EXCHANGE_NONCE
    chain = Chain(out, seed, start, table, clock.base_fee_series(_rng(seed, _GAS), hours), nonce)
    per_hour = max(expected_per_day(world) / 24.0, 1e-9)
    step = int(np.clip(window_events / per_hour, 1, hours))
    windows = [(h, min(h + step, hours)) for h in range(0, hours, step)]
    summary = SynthSummary(str(out), wallets, days, seed)
    show = sys.stderr.isatty() if progress is None else progress
    written = 0
    pending = Events.blank(0)  # later sales, until their window comes
    try:
        with tqdm(total=len(windows), desc="synth", unit="window", disable=not show, file=sys.stderr) as bar:
            for i, (h0, h1) in enumerate(windows):
                rng = _rng(seed, _WINDOW, i)
                end = start + h1 * 3600
                lo, hi = np.searchsorted(scheduled.ts, [start + h0 * 3600, end])
                normal, later = normal_events(rng, world, h0, h1)
                pending = sort_by_time(Events.concat([pending, later.take(later.ts < start + hours * 3600)]))
                due = int(np.searchsorted(pending.ts, end))
                events = Events.concat([normal, pending.take(slice(0, due)), scheduled.take(slice(lo, hi))])
                pending = pending.take(slice(due, None))
                n_tx, n_logs = chain.write(rng, events)
                summary.transactions += n_tx
                summary.token_transfers += n_logs
                bar.update(1)
                bar.set_postfix(transfers=summary.transactions + summary.token_transfers)
                written += hi - lo
        if written != len(scheduled):  # the labels would promise transfers that are not there
            raise RuntimeError(f"{len(scheduled) - written} scheduled transactions fell outside the period")
    finally:
        chain.close()

    summary.files = {name: f.rows for name, f in chain.files.items()}
    summary.contracts, summary.tokens = tables.write_catalog(out, catalog, addresses, start)
    summary.files["contracts"], summary.files["tokens"] = summary.contracts, summary.tokens
    summary.files["labels"] = tables.write_labels(out, pop, humans, launder, farms)
    summary.files["laundering"] = tables.write_patterns(out, launder, humans)
    _count(summary, launder, camp)
    if farms is not None:
        summary.farms, summary.farm_wallets = len(farms.farms), farms.members
        summary.files["farms"] = tables.write_farms(out, farms, humans)
    if camp is not None:
        summary.files["campaign"] = tables.write_campaign(out, camp, humans)
    if world.lifecycle is not None:
        summary.files["lifecycle"] = write_lifecycle(out / "lifecycle.csv", world.lifecycle, humans)
    return summary


def _lifecycle(rng: np.random.Generator, params: LifecycleParams, world: World) -> Lifecycle:
    tokens = {c: int(world.catalog.index[k]) for c, k in AIRDROP_TOKEN.items()}
    return simulate(rng, params, world.t0, world.days, world.pop.start, world.pop.focus, world.peer_key,
                    tokens, world.human0)  # fmt: skip


def _sybil(seed: int, pop, catalog, start: int, days: int, share: float, params: SybilParams) -> Sybil | None:
    """Airdrop farms and their honest look-alikes (ingest.synth.sybil), or None without farms:
    the other streams stay as they were."""
    if share <= 0:
        return None
    return build_sybil(_rng(seed, _SYBIL), pop, catalog, start, days, share, params)


def _address_table(n: int, seed: int) -> tuple[np.ndarray, list[str]]:
    """Every address index as ASCII "0x" + 40 hex digits: a (n, 42) matrix and strings."""
    table = np.empty((n, 42), dtype=np.uint8)
    writer.hex_bytes(ids.address_bytes(np.arange(n), seed)).fill(table, slice(None))
    text = table.tobytes().decode("ascii")
    return table, [text[i * 42 : (i + 1) * 42] for i in range(n)]


def _count(summary: SynthSummary, launder: Laundering, camp: Campaign | None) -> None:
    summary.transfers = summary.transactions + summary.token_transfers
    summary.launderers = sum(len(p.members) for p in launder.patterns)
    for p in launder.patterns:
        summary.patterns[p.type] = summary.patterns.get(p.type, 0) + 1
    if camp is not None:
        summary.campaign_targets = len(camp.targets)
        for group, mask in (("control", ~camp.treatment), ("treatment", camp.treatment)):
            summary.conversions[group] = int(camp.converted[mask].sum())


def _funding(rng: np.random.Generator, world: World) -> Events:
    """Every wallet is first funded from an exchange hot wallet (so every wallet has a transfer)."""
    n = world.n
    ev = Events.blank(n)
    ev.ts = world.pop.start.copy()
    ev.kind[:] = Kind.FUNDING
    ev.sender = world.catalog.of("cex0", "cex1", "cex2", "cex3")[rng.integers(0, 4, n)]
    ev.to = world.human0 + np.arange(n)
    ev.sure[:] = True
    scale = np.array([4.0, 1.0, 0.3])[world.pop.segment]
    value, exact = human_round(rng, heavy_tailed(rng, 1.0, n) * scale, 0.8)
    ev.set_eth(np.arange(n), to_raw(rng, value, 18, exact))
    return ev


def _deployments(rng: np.random.Generator, world: World) -> Events:
    """Creation transactions of the contracts deployed during the period (young projects, the
    campaign): sent by a wallet funded before, to no address, creating the contract."""
    day = 86400
    rows = [(world.catalog.index[e.key], world.t0 + int(e.created_day * day))
            for e in world.catalog.entries if e.young and e.created_day >= 0]  # fmt: skip
    ev = Events.blank(len(rows))
    if not rows:
        return ev
    created, ts = (np.array(c, dtype=np.int64) for c in zip(*rows, strict=True))
    funded = np.flatnonzero(world.pop.start < world.t0 + day)
    deployer = funded[rng.integers(0, len(funded), len(rows))] if len(funded) else np.zeros(len(rows), int)
    ev.ts = np.maximum(ts, world.pop.start[deployer] + 1)
    ev.kind[:] = Kind.DEPLOY
    ev.sender = world.human0 + deployer
    ev.created = created
    ev.sure[:] = True
    return ev
