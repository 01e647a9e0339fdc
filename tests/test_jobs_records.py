"""Job records on the embedded Redis: stable ids, reuse, listing, orphan recovery, retry policy."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from core.errors import GraphUnavailable, InvalidAddress, NotFound
from jobs.blobs import BlobUnavailable
from jobs.records import ARQ_IN_PROGRESS, ARQ_JOB, ARQ_QUEUE, JobRecords
from jobs.worker import backoff, describe, transient
from ml.profile_image import ImageRefused, ImageUnavailable


@pytest.fixture
async def records(falkor_server) -> AsyncIterator[JobRecords]:
    r = JobRecords.from_url(falkor_server.redis_db_url(15), ttl_days=1)
    await r.redis.flushdb()
    yield r
    await r.redis.flushdb()
    await r.close()


async def test_same_reference_while_pending_is_the_same_job(records: JobRecords) -> None:
    a, created = await records.create("analyze_wallet", "analyze_wallet:0xabc:v1", {"address": "0xabc"})
    b, again = await records.create("analyze_wallet", "analyze_wallet:0xabc:v1", {"address": "0xabc"})
    assert created and not again and a.id == b.id and a.status == "queued"
    other, _ = await records.create("analyze_wallet", "analyze_wallet:0xabc:v2", {"address": "0xabc"})
    assert other.id != a.id  # another model version: another job
    # the arq job is on the queue with the record
    assert await records.redis.exists(ARQ_JOB + a.id) and await records.redis.zscore(ARQ_QUEUE, a.id)
    await records.running(a.id, "w1", 1)
    assert (await records.create("analyze_wallet", "analyze_wallet:0xabc:v1", {}))[0].id == a.id


async def test_completed_is_reused_unless_forced_or_old_and_failed_is_not(records: JobRecords) -> None:
    ref = "analyze_wallet:0xdef:v1"
    first, _ = await records.create("analyze_wallet", ref, {}, reuse_ms=60_000)
    await records.running(first.id, "w1", 1)
    await records.completed(first.id, {"ok": 1})
    assert (await records.create("analyze_wallet", ref, {}, reuse_ms=60_000))[0].id == first.id
    forced, created = await records.create("analyze_wallet", ref, {}, force=True, reuse_ms=60_000)
    assert created and forced.id == first.id[:-2] + "-2"
    await records.failed(forced.id, "boom", "INTERNAL")
    third, created = await records.create("analyze_wallet", ref, {}, reuse_ms=60_000)
    assert created and third.id.endswith("-3")
    await records.completed(third.id, {})
    stale, created = await records.create("analyze_wallet", ref, {}, reuse_ms=0)
    assert created and stale.id.endswith("-4")


async def test_lifecycle_fields_and_listing(records: JobRecords) -> None:
    ids = [
        (await records.create("ingest_range", f"ingest_range:{i}:{i}", {"start": i}))[0].id for i in range(7)
    ]
    job = await records.get(ids[0])
    assert job.status == "queued" and job.created_at and job.started_at is None and job.args == {"start": 0}
    await records.running(ids[0], "w1", 1)
    await records.progress(ids[0], 0.5, "half")
    mid = await records.get(ids[0])
    assert (mid.status, mid.progress, mid.message, mid.worker, mid.attempts) == (
        "running",
        0.5,
        "half",
        "w1",
        1,
    )
    await records.retrying(ids[0], "graph away", "GRAPH_UNAVAILABLE", 2.0)
    retry = await records.get(ids[0])
    assert (
        retry.status == "queued" and retry.error == "graph away" and retry.next_attempt_at > retry.updated_at
    )
    await records.running(ids[0], "w1", 2)
    await records.completed(ids[0], {"n": 3})
    done = await records.get(ids[0])
    assert done.status == "completed" and done.result == {"n": 3} and done.error is None
    assert done.started_at <= done.finished_at and done.attempts == 2
    await records.progress(ids[0], 0.1)  # late progress does not reopen a finished job
    assert (await records.get(ids[0])).status == "completed"
    assert await records.redis.ttl("aidrop:job:" + ids[0]) > 0

    page, more = await records.page(None, 3)
    assert [r.id for r in page] == ids[::-1][:3] and more
    rest, more = await records.page(None, 10, page[-1].score)
    assert [r.id for r in rest] == ids[::-1][3:] and not more
    assert [r.id for r in (await records.page("completed", 10))[0]] == [ids[0]]
    assert (await records.counts()) == {"queued": 6, "running": 0, "completed": 1, "failed": 0}
    await records.redis.delete("aidrop:job:" + ids[3])  # an expired record drops out of the lists
    assert ids[3] not in [r.id for r in (await records.page(None, 10))[0]]


async def test_orphans_of_dead_workers_are_requeued(records: JobRecords) -> None:
    jobs = [(await records.create("analyze_wallet", f"r{i}", {}))[0].id for i in range(3)]
    for job_id, worker in zip(jobs, ("dead", "alive", "me"), strict=True):
        await records.running(job_id, worker, 1)
        await records.redis.set(ARQ_IN_PROGRESS + job_id, 1)
    await records.beat("alive", 10)
    assert await records.requeue_orphans("me") == [jobs[0]]
    assert (await records.get(jobs[0])).status == "queued"
    assert not await records.redis.exists(ARQ_IN_PROGRESS + jobs[0])
    assert await records.redis.exists(ARQ_IN_PROGRESS + jobs[1]) and await records.redis.exists(
        ARQ_IN_PROGRESS + jobs[2]
    )
    assert (await records.get(jobs[1])).status == (await records.get(jobs[2])).status == "running"


async def test_updates_follow_a_job_to_its_end(records: JobRecords) -> None:
    import asyncio

    job, _ = await records.create("analyze_wallet", "u1", {})
    seen = []

    async def follow() -> None:
        async for r in records.updates(job.id):
            seen.append((r.status, r.progress))

    task = asyncio.create_task(follow())
    await asyncio.sleep(0.1)
    await records.running(job.id, "w", 1)
    await records.progress(job.id, 0.5)
    await records.completed(job.id, {})
    await asyncio.wait_for(task, 10)
    assert seen[0] == ("queued", 0.0) and seen[-1] == ("completed", 1.0) and ("running", 0.5) in seen


def test_retry_policy() -> None:
    assert (
        transient(GraphUnavailable("x"))
        and transient(BlobUnavailable("x"))
        and transient(ImageUnavailable("x"))
    )
    assert transient(ConnectionResetError()) and transient(TimeoutError())
    assert (
        not transient(NotFound("x")) and not transient(ImageRefused("x")) and not transient(ValueError("x"))
    )
    assert describe(InvalidAddress("0x1")) == ("invalid address '0x1': expected 0x followed by 40 hex digits",
                                               "INVALID_ADDRESS")  # fmt: skip
    assert describe(KeyError("k")) == ("KeyError: 'k'", "INTERNAL")
    delays = [backoff(n, 1.0) for n in range(1, 12)]
    assert 0.8 <= delays[0] <= 1.2 and 3.2 <= delays[2] <= 4.8 and max(delays) <= 360
