"""`aidrop worker`: the arq worker and its job functions.

Each job function is thin: it marks the record running, does its work through graph/ and ml/
(the analysis through the `ml.analyzer.Analyzer` the worker builds at startup, `ctx["analyzer"]`),
and records the outcome. Failures of something outside (graph, Redis, S3, the
image API, the RPC node) are retried with exponential backoff up to AIDROP_JOB_MAX_TRIES; any
other failure ends the job at once as failed, with its code and message.

A worker that dies mid-job (SIGKILL, OOM, power) stops beating; another worker (or the same one
restarted) sees it within seconds and puts its running jobs back on the queue. The analysis is
written onto the wallet once per job (graph.api_reads.write_analysis), so a job that runs again
after a crash does not write twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from arq import Retry
from arq.connections import RedisSettings
from arq.cron import cron
from arq.worker import Worker, func
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.errors import AidropError, GraphUnavailable
from graph import api_reads
from jobs import analysis
from jobs.records import JobRecords, dump_job, load_job

if TYPE_CHECKING:
    from core.settings import Settings
    from graph.wallet_analysis import WalletAnalysis
    from ml.analyzer import Analyzer

log = logging.getLogger("aidrop.worker")
BEAT_S = 1.0  # heartbeat period
BEAT_TTL_S = 5.0  # a worker silent this long is gone
REAP_S = 2.0
Progress = Callable[[float, str | None], Awaitable[None]]


def transient(exc: BaseException) -> bool:
    """Failures worth another try: something outside did not answer."""
    from jobs.blobs import BlobUnavailable
    from ml.profile_image import ImageUnavailable

    kinds: tuple[type[BaseException], ...] = (
        GraphUnavailable, BlobUnavailable, ImageUnavailable, RedisConnectionError, RedisTimeoutError,
        ConnectionError, TimeoutError, asyncio.TimeoutError,
    )  # fmt: skip
    with contextlib.suppress(ImportError):
        from ingest.rpc.client import RpcUnavailable

        kinds += (RpcUnavailable,)
    return isinstance(exc, kinds)


def describe(exc: BaseException) -> tuple[str, str]:
    """(message, code) for the record: typed errors as they are, others by class, no traceback."""
    if isinstance(exc, AidropError):
        return str(exc), exc.code
    if isinstance(exc, ValueError):
        return str(exc), "BAD_USER_INPUT"
    return f"{type(exc).__name__}: {exc}", "INTERNAL"


def backoff(attempt: int, base: float) -> float:
    """Exponential with jitter: base, 2 base, 4 base, ... (at most 5 minutes)."""
    return min(300.0, base * 2 ** (attempt - 1)) * random.uniform(0.8, 1.2)


async def _run(ctx: dict[str, Any], work: Callable[[Progress], Awaitable[Any]]) -> Any:
    """Run one job's work with its record kept up to date; see the module doc for retries."""
    records: JobRecords = ctx["records"]
    settings: Settings = ctx["settings"]
    job_id, attempt = ctx["job_id"], ctx["job_try"]
    record = await records.get(job_id)
    if record is not None and record.done:
        return record.result  # finished before a crash kept arq from noting it
    if attempt > settings.job_max_tries * 2 + 3:  # lost with its worker again and again
        await records.failed(
            job_id, f"gave up after {attempt - 1} tries (workers lost mid-job)", "WORKER_LOST"
        )
        return None
    await records.running(job_id, ctx["worker_id"], attempt)

    async def progress(fraction: float, message: str | None = None) -> None:
        await records.progress(job_id, fraction, message)

    try:
        result = await work(progress)
    except Exception as exc:
        message, code = describe(exc)
        if transient(exc) and attempt < settings.job_max_tries:
            delay = backoff(attempt, settings.job_retry_base)
            log.warning("job %s try %d: %s (%s); retrying in %.1f s", job_id, attempt, message, code, delay)
            await records.retrying(job_id, message, code, delay)
            raise Retry(defer=delay) from exc
        if code == "INTERNAL":
            log.exception("job %s failed", job_id)
        else:
            log.warning("job %s failed: %s (%s)", job_id, message, code)
        if transient(exc):
            message = f"{message} (gave up after {attempt} tries)"
        await records.failed(job_id, message, code)
        return None
    await records.completed(job_id, result)
    return result


# ---- the analysis of one wallet ------------------------------------------------------------
async def _profile_image(ctx: dict[str, Any], address: str, found: WalletAnalysis,
                         current: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    """Picture and metadata of the wallet, stored as blobs; the fields naming them.
    The same prompt (typology, cluster, anomaly band) keeps the pictures it already has."""
    from ml import profile_image as pi

    settings: Settings = ctx["settings"]
    blobs = ctx["blobs"]
    analyzer: Analyzer = ctx["analyzer"]
    axes = api_reads.typology_axes(found.typology, found.typology_axes)
    cluster = found.cluster
    cluster_profile = found.cluster_profile
    if cluster_profile is None and cluster is not None:
        cluster_profile = analyzer.cluster_profiles().get(int(cluster), {})
    profile = pi.Profile(
        address=address,
        typology=found.typology,
        axes=axes,
        cluster=int(cluster) if cluster is not None else None,
        cluster_profile=api_reads.decode_json(cluster_profile) or {},
        anomaly_score=found.anomaly_score,
        anomaly_flagged=found.anomaly_flagged,
    )
    text = pi.prompt(profile)
    source = "openai" if settings.openai_api_key else "avatar"
    model = settings.openai_image_model if source == "openai" else "svg-1"
    digest = hashlib.sha256(f"{source}|{model}|{settings.openai_image_size}|{text}".encode()).hexdigest()[:16]
    if (
        current.get("profile_hash") == digest
        and current.get("profile_image")
        and current.get("profile_metadata")
    ):
        return {}
    data = None
    if source == "openai":
        try:
            data, ext = await pi.openai_image(
                text,
                api_key=settings.openai_api_key,
                model=settings.openai_image_model,
                size=settings.openai_image_size,
                base_url=settings.openai_base_url,
            )
        except pi.ImageRefused as exc:  # a refused prompt still gets a picture
            log.warning("image API refused %s: %s; drawing the avatar", address, exc)
            source = "avatar"
    if data is None:
        data, ext = pi.avatar_svg(profile), "svg"
    image_key = f"profiles/{address}/{digest}.{ext}"
    image_url = await blobs.put(image_key, data)
    meta_key = f"profiles/{address}/{digest}.json"
    await blobs.put(meta_key, pi.metadata_bytes(pi.metadata(profile, image_url, source)), "application/json")
    return {
        "profile_image": image_key,
        "profile_metadata": meta_key,
        "profile_source": source,
        "profile_hash": digest,
        "profile_prompt": text,
    }


async def analyze_one(ctx: dict[str, Any], address: str, job_id: str, version: str,
                      progress: Progress | None = None) -> dict[str, Any]:  # fmt: skip
    """Fetch (when a node is configured), analyse, draw, and write one wallet."""
    store = ctx["store"]
    settings: Settings = ctx["settings"]

    async def step(fraction: float, message: str) -> None:
        if progress is not None:
            await progress(fraction, message)

    current = (await store.wallets_by_address([address])).get(address)
    fetched = None
    if settings.rpc_url:
        await step(0.05, "reading the chain")
        fetched = await analysis.catch_up(store, address, settings, missing=current is None)
        if fetched:
            current = (await store.wallets_by_address([address])).get(address)
    if current is None:
        from core.errors import NotFound

        raise NotFound(
            f"no wallet {address} in the graph" + ("" if settings.rpc_url else " (no RPC node configured)")
        )
    await step(0.2, "analysing")
    analyzer: Analyzer = ctx["analyzer"]
    found = await analyzer.analyze(store, current)
    await step(0.7, "drawing the profile image")
    picture = await _profile_image(ctx, address, found, current.props)
    found = replace(found, **picture, analyzed_at=int(time.time()), analysis_version=version)
    await step(0.9, "writing")
    # what the node already holds (a batch score wrote it) is not sent again
    written = await api_reads.write_analysis(store, address, job_id, found, current.props)
    out = {
        "address": address,
        "written": written,
        "typology": found.typology,
        "cluster": found.cluster,
        "anomaly_score": found.anomaly_score,
        "anomaly_flagged": found.anomaly_flagged,
        "profile_image": found.profile_image or current.props.get("profile_image"),
    }
    if fetched:
        out["fetched"] = fetched
    return out


# ---- job functions ---------------------------------------------------------------------------
async def analyze_wallet(ctx: dict[str, Any], *, address: str, version: str = "", force: bool = False) -> Any:
    return await _run(ctx, lambda progress: analyze_one(ctx, address, ctx["job_id"], version, progress))


async def analyze_batch(
    ctx: dict[str, Any], *, addresses: list[str], version: str = "", force: bool = False
) -> Any:
    async def work(progress: Progress) -> dict[str, Any]:
        done, missing = 0, []
        for i, address in enumerate(addresses):
            try:
                await analyze_one(ctx, address, f"{ctx['job_id']}:{address}", version)
                done += 1
            except AidropError as exc:
                if exc.code != "NOT_FOUND":
                    raise
                missing.append(address)
            await progress((i + 1) / len(addresses), f"{i + 1}/{len(addresses)} wallets")
        return {"analyzed": done, "missing": missing}

    return await _run(ctx, work)


class NoNode(AidropError):
    code = "NO_RPC_NODE"

    def __init__(self) -> None:
        super().__init__("no RPC node configured (AIDROP_RPC_URL)")


async def ingest_range(ctx: dict[str, Any], *, start: int, end: int) -> Any:
    settings: Settings = ctx["settings"]

    async def work(progress: Progress) -> dict[str, Any]:
        if not settings.rpc_url:
            raise NoNode()
        from ingest.rpc.client import RpcClient
        from ingest.rpc.follow import Options, ingest_rpc

        await progress(0.01, f"blocks {start}-{end}")
        async with RpcClient(settings.rpc_url) as client:
            report = await ingest_rpc(ctx["store"], client, Options(start=start, end=end))
        return report.to_dict() | {"kinds": None}

    return await _run(ctx, work)


async def rescore_all(ctx: dict[str, Any], *, version: str = "") -> Any:
    """Everything scored again with the active models: ml/'s own batch path when it has one,
    else each analysed wallet in turn."""

    async def work(progress: Progress) -> dict[str, Any]:
        store, analyzer = ctx["store"], ctx["analyzer"]
        result = await analyzer.rescore_all(store)
        if result is not None:
            return {"rescored": result}
        total = await api_reads.wallet_count(store, api_reads.WalletFilter())
        after, n = "", 0
        while True:
            page, more = await api_reads.wallet_page(store, api_reads.WalletFilter(), 500, after)
            wallets = await store.wallets_by_address(page)
            for address in page:
                if address not in wallets:  # gone since the page was read
                    continue
                found = replace(await analyzer.analyze(store, wallets[address]), analysis_version=version)
                await api_reads.write_analysis(store, address, f"{ctx['job_id']}:{address}", found)
                n += 1
            await progress(n / max(total, 1), f"{n}/{total} wallets")
            if not more:
                return {"rescored": n}
            after = page[-1]

    return await _run(ctx, work)


async def snapshot_campaign(ctx: dict[str, Any], *, campaign: str, name: str, at: int | None = None) -> Any:
    """A snapshot of the campaign's targets (taken once per name: a job run again finds it) and
    the campaign's report rendered into the blob store (ml/marketing, docs/marketing.md)."""
    from ml.marketing import campaigns, report

    async def work(progress: Progress) -> dict[str, Any]:
        snap, taken = await campaigns.snapshot(ctx["store"], campaign, name, at)
        await progress(0.7, f"snapshot {snap['name']} of {snap.get('targets', 0)} targets")
        url = await report.publish(ctx["store"], ctx["blobs"], campaign)
        return {"campaign": campaign, "snapshot": snap["name"], "at": snap["at"], "taken": taken,
                "report_url": url}  # fmt: skip

    return await _run(ctx, work)


MONITOR_INTERVAL_S = 86400  # one snapshot per running campaign per day (docs/marketing.md)


async def monitor_campaigns(ctx: dict[str, Any]) -> list[dict[str, Any]]:
    """Cron (hourly): the day's snapshot of every running campaign, and its report. The
    snapshot's name is the interval's, so runs within the day (or on other workers) take none."""
    from ml.marketing import campaigns, report

    done = await campaigns.monitor(ctx["store"], interval=MONITOR_INTERVAL_S)
    for r in done:
        if r["taken"]:
            r["report_url"] = await report.publish(ctx["store"], ctx["blobs"], r["campaign"])
            log.info("campaign %s: snapshot %s", r["campaign"], r["snapshot"])
    return done


async def check_growth_models(ctx: dict[str, Any]) -> dict[str, Any]:
    """Cron (daily): drift of the growth models; on drift or schedule a challenger is trained and
    promoted only if better (ml/growth/ops.py); the decision goes into the registry history."""
    from ml.growth.ops import retrain_from_store
    from ml.registry import Registry

    decision = await retrain_from_store(ctx["store"], Registry(ctx["settings"].data_dir))
    log.info("growth models: %s (%s)", decision.get("decision"), decision.get("reason"))
    return decision


# ---- worker lifecycle ------------------------------------------------------------------------
def _held(ctx: dict[str, Any]) -> list[str]:
    """The jobs arq has claimed in this worker (from the claim on, before they start)."""
    worker = ctx.get("arq_worker")
    return list(worker.tasks) if worker is not None else []


async def _beat(ctx: dict[str, Any]) -> None:
    records: JobRecords = ctx["records"]
    last_reap = 0.0
    in_progress_ms = int((ctx["settings"].job_timeout + 10) * 1000)  # arq's claim on a job
    while True:
        try:
            await records.beat(ctx["worker_id"], BEAT_TTL_S, _held(ctx))
            if time.monotonic() - last_reap >= REAP_S:
                last_reap = time.monotonic()
                for job_id in await records.requeue_orphans(ctx["worker_id"]):
                    log.warning("job %s: its worker is gone; queued again", job_id)
                for job_id in await records.release_claims(in_progress_ms, int(BEAT_TTL_S * 1000)):
                    log.warning(
                        "job %s: taken by a worker that is gone before it started; queued again", job_id
                    )
        except Exception as exc:  # Redis away for a moment: keep beating
            log.warning("heartbeat: %s: %s", type(exc).__name__, exc)
        await asyncio.sleep(BEAT_S)


async def job_start(ctx: dict[str, Any]) -> None:
    """arq's on_job_start: the job is listed as held at once, not at the next beat."""
    with contextlib.suppress(Exception):
        await ctx["records"].hold(ctx["worker_id"], ctx["job_id"], BEAT_TTL_S)


async def startup(ctx: dict[str, Any]) -> None:
    from graph import open_store
    from jobs.blobs import open_blobs
    from ml.analyzer import make_analyzer

    settings: Settings = ctx["settings"]
    ctx["worker_id"] = f"{uuid.uuid4().hex[:12]}"
    ctx["store"] = open_store(settings)
    ctx["analyzer"] = make_analyzer(settings)
    await ctx["store"].ensure_schema()
    ctx["blobs"] = open_blobs(settings)
    ctx["records"] = JobRecords.from_url(ctx["redis_url"], settings.job_ttl_days)
    await ctx["records"].beat(ctx["worker_id"], BEAT_TTL_S)
    ctx["beat"] = asyncio.create_task(_beat(ctx))
    log.info("worker %s ready", ctx["worker_id"])


async def shutdown(ctx: dict[str, Any]) -> None:
    if "beat" in ctx:
        ctx["beat"].cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ctx["beat"]
    if "records" in ctx:
        with contextlib.suppress(Exception):
            await ctx["records"].redis.delete(
                f"aidrop:worker:{ctx['worker_id']}", f"aidrop:held:{ctx['worker_id']}"
            )
        await ctx["records"].close()
    if "store" in ctx:
        await ctx["store"].close()


FUNCTIONS = (analyze_wallet, analyze_batch, ingest_range, rescore_all, snapshot_campaign)


def create_worker(settings: Settings, *, burst: bool = False, concurrency: int | None = None) -> Worker:
    from graph.embedded import jobs_redis_url

    url = jobs_redis_url(settings)
    arq_tries = settings.job_max_tries * 2 + 5  # room for runs lost with their worker; _run decides
    worker = Worker(
        functions=[func(f, name=f.__name__, max_tries=arq_tries) for f in FUNCTIONS],
        cron_jobs=[
            cron(monitor_campaigns, minute=7, run_at_startup=False),
            cron(check_growth_models, hour=3, minute=17, run_at_startup=False),
        ],
        redis_settings=RedisSettings.from_dsn(url),
        on_startup=startup,
        on_shutdown=shutdown,
        on_job_start=job_start,
        ctx={"settings": settings, "redis_url": url},
        max_jobs=concurrency or settings.worker_concurrency,
        job_timeout=settings.job_timeout,
        keep_result=60,
        poll_delay=0.05,
        burst=burst,
        max_tries=arq_tries,
        health_check_interval=30,
        job_serializer=dump_job,
        job_deserializer=load_job,
    )
    worker.ctx["arq_worker"] = worker
    return worker


RECONNECT_ERRORS = (RedisConnectionError, RedisTimeoutError, GraphUnavailable, ConnectionError, OSError,
                    TimeoutError)  # fmt: skip
RECONNECT_MAX_S = 30.0


def run_worker(settings: Settings, *, burst: bool = False, concurrency: int | None = None) -> None:
    """Run the worker until a signal stops it. When Redis or the graph goes away (a restart, a
    crash, `aidrop down`), the worker reconnects with backoff (1 s doubling to 30 s) instead of
    exiting; its jobs are recovered as for a crashed worker."""
    import signal

    attempt = 0
    while True:
        if attempt and settings.embedded and not settings.redis_url:
            from graph.embedded import embedded_server

            if not embedded_server(settings).status().healthy:  # stopped on purpose? not restarted here
                log.warning("waiting for the embedded FalkorDB to answer again (`aidrop up`)")
                time.sleep(min(RECONNECT_MAX_S, 2.0**attempt))
                attempt = min(attempt + 1, 6)
                continue
        worker = create_worker(settings, burst=burst, concurrency=concurrency)
        started = time.monotonic()
        try:
            worker.run()
            return  # a signal, or the end of a burst
        except RECONNECT_ERRORS as exc:
            if time.monotonic() - started > 60:
                attempt = 0  # it ran a while: start the backoff again
            attempt += 1
            delay = min(RECONNECT_MAX_S, 2.0 ** (attempt - 1)) * random.uniform(0.8, 1.2)
            log.warning("lost Redis or the graph (%s: %s); reconnecting in %.1f s", type(exc).__name__, exc,
                        delay)  # fmt: skip
            loop = worker.loop
            with contextlib.suppress(Exception):
                loop.run_until_complete(asyncio.wait_for(shutdown(worker.ctx), 5))
            for sig in (signal.SIGINT, signal.SIGTERM):  # arq's handlers: back to the defaults
                loop.remove_signal_handler(sig)
            time.sleep(delay)
