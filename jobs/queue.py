"""Putting jobs on the queue: one function per job kind, each with its stable reference.

The API and the CLI call these; the worker (jobs/worker.py) runs them. A job's reference decides
its id: asking for the same wallet and model version while a job is queued or running returns
that job (and a completed one for AIDROP_ANALYSIS_MAX_AGE seconds unless `force`).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from core.address import normalize_address
from jobs.records import JobRecord, JobRecords

if TYPE_CHECKING:
    from core.settings import Settings
    from ml.analyzer import Analyzer

KINDS = ("analyze_wallet", "analyze_batch", "ingest_range", "rescore_all", "snapshot_campaign")


class JobQueue:
    """`analyzer` gives the models' version a job's id includes (built from `settings` if none)."""

    def __init__(self, records: JobRecords, settings: Settings, analyzer: Analyzer | None = None) -> None:
        from ml.analyzer import make_analyzer

        self.records = records
        self.settings = settings
        self.analyzer = analyzer or make_analyzer(settings)

    async def analyze_wallet(
        self, address: str, force: bool = False, version: str | None = None
    ) -> JobRecord:
        address = normalize_address(address)
        version = version or self.analyzer.model_version()
        record, _ = await self.records.create(
            "analyze_wallet",
            f"analyze_wallet:{address}:{version}",
            {"address": address, "version": version, "force": bool(force)},
            force=force,
            reuse_ms=self.settings.analysis_max_age * 1000,
        )
        return record

    async def analyze_wallets(self, addresses: Sequence[str], force: bool = False) -> list[JobRecord]:
        normalized = [normalize_address(a) for a in addresses]  # all valid or nothing queued
        version = self.analyzer.model_version()
        return [await self.analyze_wallet(a, force, version) for a in normalized]

    async def analyze_batch(self, addresses: Sequence[str], force: bool = False) -> JobRecord:
        """One job analysing many wallets in turn (progress per wallet)."""
        normalized = sorted({normalize_address(a) for a in addresses})
        version = self.analyzer.model_version()
        digest = hashlib.sha256(",".join(normalized).encode()).hexdigest()[:24]
        record, _ = await self.records.create(
            "analyze_batch",
            f"analyze_batch:{digest}:{version}",
            {"addresses": normalized, "version": version, "force": bool(force)},
            force=force,
        )
        return record

    async def ingest_range(self, start: int, end: int) -> JobRecord:
        if start < 0 or end < start:
            raise ValueError(f"block range {start}..{end}: from must be >= 0 and <= to")
        record, _ = await self.records.create("ingest_range", f"ingest_range:{start}:{end}",
                                              {"start": start, "end": end})  # fmt: skip
        return record

    async def rescore_all(self) -> JobRecord:
        version = self.analyzer.model_version()
        record, _ = await self.records.create("rescore_all", f"rescore_all:{version}", {"version": version})
        return record

    async def snapshot_campaign(
        self, campaign: str, name: str | None = None, at: int | None = None
    ) -> JobRecord:
        """A snapshot of a campaign's targets (ml/marketing, docs/marketing.md) and its report.
        Without a name the snapshot is named after the minute it measures up to; one job per
        (campaign, name) while it is queued or running, and the snapshot itself is taken once."""
        at = int(time.time()) if at is None else int(at)
        name = name or time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime(at))
        if len(name) > 100 or len(campaign) > 64:
            raise ValueError("campaign ids have at most 64 characters, snapshot names 100")
        args = {"campaign": campaign, "name": name, "at": at}
        ref = f"snapshot_campaign:{campaign}:{name}"
        record, _ = await self.records.create("snapshot_campaign", ref, args)
        return record
