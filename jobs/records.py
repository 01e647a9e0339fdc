"""Job records in Redis: what a client polls (`job(id)`), lists (`jobs(status)`) and subscribes to.

A record is a hash `aidrop:job:{id}` (status, progress, timestamps, attempts, error, result), kept
`AIDROP_JOB_TTL_DAYS` after it ends; ids are also in a sorted set per status and one for all
(newest first). Every change is published on `aidrop:job-updates:{id}`.

Job payloads (arq's `arq:job:{id}`) are JSON (`dump_job` / `load_job`, arq's job_serializer
and job_deserializer on both sides), never pickle: whoever can write a key cannot run code in the
worker, and a payload that is not JSON is refused as such.

Stable ids: a job has a reference (`analyze_wallet:{address}:{model version}`); while a job of the
same reference is queued or running, asking again returns it. Creating the record and putting the
arq job on the queue happen in one Lua script, so no record is ever left without its queued job.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis

PREFIX = "aidrop:"
RECORD = PREFIX + "job:"
ALL = PREFIX + "jobs"
BY_STATUS = PREFIX + "jobs:"
REF = PREFIX + "jobref:"
GEN = PREFIX + "jobgen:"
SEQ = PREFIX + "jobseq"
CHANNEL = PREFIX + "job-updates:"
WORKER = PREFIX + "worker:"
STATUSES = ("queued", "running", "completed", "failed")
TERMINAL = ("completed", "failed")
ARQ_JOB = "arq:job:"
ARQ_IN_PROGRESS = "arq:in-progress:"
ARQ_QUEUE = "arq:queue"

# Get-or-create a job for a reference and enqueue it for arq (job key + queue entry) atomically.
# (One Redis server: the keys are built inside the script.)
_PUBLISH = """
local function publish(key, id)
  redis.call('HINCRBY', key, 'rev', 1)
  local h = redis.call('HGETALL', key)
  local m = {}
  for i = 1, #h, 2 do m[h[i]] = h[i + 1] end
  redis.call('PUBLISH', 'aidrop:job-updates:' .. id, cjson.encode(m))
end
"""
_CREATE = (
    _PUBLISH
    + """
local ref, now, force, reuse = ARGV[1], tonumber(ARGV[2]), ARGV[3] == '1', tonumber(ARGV[4])
local kind, args, payload, expire_ms, queue, prefix, ttl_ms =
  ARGV[5], ARGV[6], ARGV[7], tonumber(ARGV[8]), ARGV[9], ARGV[10], tonumber(ARGV[11])
local refkey = 'aidrop:jobref:' .. ref
local cur = redis.call('GET', refkey)
if cur then
  local rec = redis.call('HMGET', 'aidrop:job:' .. cur, 'status', 'finished_at')
  if rec[1] == 'queued' or rec[1] == 'running' then return {cur, 0} end
  if rec[1] == 'completed' and not force and reuse > 0 and rec[2]
     and now - tonumber(rec[2]) <= reuse then return {cur, 0} end
end
local id = prefix .. '-' .. redis.call('INCR', 'aidrop:jobgen:' .. ref)
local score = now * 1000 + redis.call('INCR', 'aidrop:jobseq') % 1000
redis.call('HSET', 'aidrop:job:' .. id, 'id', id, 'kind', kind, 'args', args, 'ref', ref,
  'status', 'queued', 'progress', '0', 'created_at', now, 'updated_at', now, 'attempts', '0',
  'score', score)
redis.call('PEXPIRE', 'aidrop:job:' .. id, ttl_ms)
redis.call('ZADD', 'aidrop:jobs', score, id)
redis.call('ZADD', 'aidrop:jobs:queued', score, id)
redis.call('SET', refkey, id, 'PX', ttl_ms)
redis.call('PSETEX', 'arq:job:' .. id, expire_ms, payload)
redis.call('ZADD', queue, now, id)
publish('aidrop:job:' .. id, id)
return {id, 1}
"""
)

# Move a job to a status and set fields. ARGV: id, status, now, ttl_ms, guard_status, guard_worker,
# then field/value pairs. With a guard, nothing happens unless the record has that status (and,
# when guard_worker is set, that worker). Returns 1 when changed.
_TRANSITION = (
    _PUBLISH
    + """
local id, status, now, ttl_ms = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local gstatus, gworker = ARGV[5], ARGV[6]
local key = 'aidrop:job:' .. id
local rec = redis.call('HMGET', key, 'status', 'score', 'worker')
if not rec[1] then return 0 end
if gstatus ~= '' and rec[1] ~= gstatus then return 0 end
if gworker ~= '' and rec[3] ~= gworker then return 0 end
local pairs = {'status', status, 'updated_at', now}
for i = 7, #ARGV do pairs[#pairs + 1] = ARGV[i] end
redis.call('HSET', key, unpack(pairs))
if rec[1] ~= status then
  redis.call('ZREM', 'aidrop:jobs:' .. rec[1], id)
  redis.call('ZADD', 'aidrop:jobs:' .. status, rec[2], id)
end
if ttl_ms > 0 then redis.call('PEXPIRE', key, ttl_ms) end
publish(key, id)
return 1
"""
)

# A running job whose worker stopped beating: forget arq's in-progress claim so that another
# worker picks the job up again, and show it queued. ARGV: id, now, this worker's id.
_REQUEUE_ORPHAN = (
    _PUBLISH
    + """
local id, now, me = ARGV[1], ARGV[2], ARGV[3]
local key = 'aidrop:job:' .. id
local rec = redis.call('HMGET', key, 'status', 'worker', 'score')
if rec[1] ~= 'running' or not rec[2] or rec[2] == me then return 0 end
if redis.call('EXISTS', 'aidrop:worker:' .. rec[2]) == 1 then return 0 end
redis.call('DEL', 'arq:in-progress:' .. id)
redis.call('HSET', key, 'status', 'queued', 'updated_at', now, 'message', 'worker lost; requeued')
redis.call('ZREM', 'aidrop:jobs:running', id)
redis.call('ZADD', 'aidrop:jobs:queued', rec[3], id)
publish(key, id)
return 1
"""
)


# Jobs arq has claimed (its in-progress key) that no live worker holds: the claim is dropped so
# another worker picks the job up now instead of when the key expires (job timeout + 10 s).
# A worker holding a job lists it in aidrop:held:{worker} at every beat and when the job starts;
# a claim younger than ARGV[3] ms is left alone (its worker may not have listed it yet).
# ARGV: now, arq's in-progress timeout (ms), minimum age (ms), how many queued records to look at.
_RELEASE_CLAIMS = (
    _PUBLISH
    + """
local now, timeout, min_age, limit = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local held = {}
for _, w in ipairs(redis.call('ZRANGE', 'aidrop:workers', 0, -1)) do
  if redis.call('EXISTS', 'aidrop:worker:' .. w) == 1 then
    for _, id in ipairs(redis.call('SMEMBERS', 'aidrop:held:' .. w)) do held[id] = true end
  else
    redis.call('ZREM', 'aidrop:workers', w)
  end
end
local released = {}
for _, id in ipairs(redis.call('ZRANGE', 'aidrop:jobs:queued', 0, limit - 1)) do
  local ttl = redis.call('PTTL', 'arq:in-progress:' .. id)
  if ttl > 0 and timeout - ttl >= min_age and not held[id] then
    redis.call('DEL', 'arq:in-progress:' .. id)
    local key = 'aidrop:job:' .. id
    redis.call('HSET', key, 'updated_at', now, 'message', 'worker lost before the job started; requeued')
    publish(key, id)
    released[#released + 1] = id
  end
end
return released
"""
)
WORKERS = PREFIX + "workers"
HELD = PREFIX + "held:"


def dump_job(data: Any) -> bytes:
    """arq's job (and result) serializer: JSON; what JSON cannot hold is written as its text."""
    return json.dumps(data, separators=(",", ":"), default=str).encode()


def load_job(raw: bytes) -> Any:
    """arq's job deserializer: JSON only (arq turns a failure into DeserializationError)."""
    return json.loads(raw)


def now_ms() -> int:
    return int(time.time() * 1000)


def job_prefix(kind: str, ref: str) -> str:
    """Readable, stable id stem of a reference: `analyze_wallet-3f9a...`; generations add `-N`."""
    return f"{kind}-{hashlib.sha256(ref.encode()).hexdigest()[:16]}"


@dataclass
class JobRecord:
    id: str
    kind: str
    status: str
    args: dict[str, Any] = field(default_factory=dict)
    progress: float = 0.0
    message: str | None = None
    created_at: int | None = None  # epoch ms
    started_at: int | None = None
    finished_at: int | None = None
    updated_at: int | None = None
    next_attempt_at: int | None = None
    attempts: int = 0
    worker: str | None = None
    error: str | None = None
    error_code: str | None = None
    result: Any = None
    ref: str | None = None
    score: float = 0.0
    rev: int = 0  # bumped on every change

    @classmethod
    def from_hash(cls, h: dict[str, str]) -> JobRecord:
        def num(key: str) -> int | None:
            value = h.get(key)
            return int(float(value)) if value not in (None, "") else None

        return cls(
            id=h["id"],
            kind=h.get("kind", ""),
            status=h.get("status", "queued"),
            args=json.loads(h.get("args") or "{}"),
            progress=float(h.get("progress") or 0.0),
            message=h.get("message") or None,
            created_at=num("created_at"),
            started_at=num("started_at"),
            finished_at=num("finished_at"),
            updated_at=num("updated_at"),
            next_attempt_at=num("next_attempt_at"),
            attempts=int(h.get("attempts") or 0),
            worker=h.get("worker") or None,
            error=h.get("error") or None,
            error_code=h.get("error_code") or None,
            result=json.loads(h["result"]) if h.get("result") else None,
            ref=h.get("ref") or None,
            score=float(h.get("score") or 0.0),
            rev=int(h.get("rev") or 0),
        )

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class JobRecords:
    def __init__(self, redis: aioredis.Redis, ttl_days: float = 30.0, queue_name: str = ARQ_QUEUE) -> None:
        self.redis = redis
        self.ttl_ms = int(ttl_days * 86_400_000)
        self.queue_name = queue_name
        self._create = redis.register_script(_CREATE)
        self._transition = redis.register_script(_TRANSITION)
        self._requeue = redis.register_script(_REQUEUE_ORPHAN)
        self._release = redis.register_script(_RELEASE_CLAIMS)

    @classmethod
    def from_url(cls, url: str, ttl_days: float = 30.0) -> JobRecords:
        return cls(aioredis.Redis.from_url(url, decode_responses=True), ttl_days)

    async def close(self) -> None:
        await self.redis.aclose()

    # ---- create --------------------------------------------------------------------------
    async def create(
        self,
        kind: str,
        ref: str,
        args: dict[str, Any],
        *,
        force: bool = False,
        reuse_ms: int = 0,
        expires_ms: int = 86_400_000,
    ) -> tuple[JobRecord, bool]:
        """The job of `ref` (queued, running, or completed within `reuse_ms` unless `force`), or a
        new one queued for arq's function `kind` with keyword arguments `args`; (record, created)."""
        from arq.jobs import serialize_job

        now = now_ms()
        payload = serialize_job(kind, (), args, None, now, serializer=dump_job)
        job_id, created = await self._create(
            args=[ref, now, "1" if force else "0", reuse_ms, kind, json.dumps(args, sort_keys=True),
                  payload, expires_ms, self.queue_name, job_prefix(kind, ref), self.ttl_ms],
        )  # fmt: skip
        record = await self.get(job_id)
        assert record is not None
        return record, bool(int(created))

    # ---- read ----------------------------------------------------------------------------
    async def get(self, job_id: str) -> JobRecord | None:
        h = await self.redis.hgetall(RECORD + job_id)
        return JobRecord.from_hash(h) if h else None

    async def get_many(self, ids: Sequence[str]) -> list[JobRecord | None]:
        if not ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for job_id in ids:
                pipe.hgetall(RECORD + job_id)
            hashes = await pipe.execute()
        return [JobRecord.from_hash(h) if h else None for h in hashes]

    async def page(
        self, status: str | None, first: int, after: float | None = None
    ) -> tuple[list[JobRecord], bool]:
        """Newest first; `after` is the score of the last record seen (the cursor)."""
        key = BY_STATUS + status if status else ALL
        top = f"({after}" if after is not None else "+inf"
        out: list[JobRecord] = []
        while len(out) <= first:
            need = first + 1 - len(out)
            ids = await self.redis.zrevrangebyscore(key, top, "-inf", start=0, num=need, withscores=True)
            if not ids:
                break
            records = await self.get_many([i for i, _ in ids])
            gone = [i for (i, _), r in zip(ids, records, strict=True) if r is None]
            if gone:  # expired records: drop them from the indexes
                await self.redis.zrem(key, *gone)
                await self.redis.zrem(ALL, *gone)
            out += [r for r in records if r is not None]
            if len(ids) < need:
                break
            top = f"({ids[-1][1]}"
        return out[:first], len(out) > first

    async def counts(self) -> dict[str, int]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for status in STATUSES:
                pipe.zcard(BY_STATUS + status)
            values = await pipe.execute()
        return dict(zip(STATUSES, values, strict=True))

    async def updates(self, job_id: str, idle: float = 5.0) -> AsyncIterator[JobRecord]:
        """The record now and after every change (each published state, in order), until it is
        completed or failed. Quiet for `idle` seconds: the record is read again."""
        pubsub = self.redis.pubsub()
        await pubsub.subscribe(CHANNEL + job_id)
        try:
            record = await self.get(job_id)
            if record is None:
                return
            yield record
            while not record.done:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=idle)
                if message is not None:
                    fresh: JobRecord | None = JobRecord.from_hash(json.loads(message["data"]))
                else:
                    fresh = await self.get(job_id)
                if fresh is None:
                    return
                if fresh.rev > record.rev:
                    record = fresh
                    yield record
        finally:
            await pubsub.unsubscribe()
            await pubsub.aclose()

    # ---- transitions (the worker) ---------------------------------------------------------
    async def _move(self, job_id: str, status: str, fields: dict[str, Any], *, ttl: bool = False,
                    guard_status: str = "", guard_worker: str = "") -> bool:  # fmt: skip
        flat: list[Any] = []
        for key, value in fields.items():
            flat += [key, "" if value is None else value]
        changed = await self._transition(
            args=[job_id, status, now_ms(), self.ttl_ms if ttl else 0, guard_status, guard_worker, *flat]
        )
        return bool(int(changed))

    async def running(self, job_id: str, worker: str, attempt: int) -> bool:
        record = await self.get(job_id)
        if record is None or record.done:
            return False
        fields: dict[str, Any] = {"worker": worker, "attempts": attempt, "next_attempt_at": None}
        if record.started_at is None:
            fields["started_at"] = now_ms()
        return await self._move(job_id, "running", fields)

    async def progress(self, job_id: str, progress: float, message: str | None = None) -> None:
        fields: dict[str, Any] = {"progress": round(max(0.0, min(1.0, progress)), 4)}
        if message is not None:
            fields["message"] = message
        await self._move(job_id, "running", fields, guard_status="running")

    async def retrying(self, job_id: str, error: str, code: str, delay_s: float) -> None:
        await self._move(
            job_id,
            "queued",
            {"error": error, "error_code": code, "next_attempt_at": now_ms() + int(delay_s * 1000),
             "message": f"retrying in {delay_s:.1f} s"},
        )  # fmt: skip

    async def completed(self, job_id: str, result: Any) -> bool:
        return await self._move(
            job_id,
            "completed",
            {"result": json.dumps(result, default=str), "progress": 1, "finished_at": now_ms(), "error": None,
             "error_code": None, "message": None, "next_attempt_at": None},
            ttl=True,
        )  # fmt: skip

    async def failed(self, job_id: str, error: str, code: str) -> bool:
        return await self._move(
            job_id,
            "failed",
            {"error": error, "error_code": code, "finished_at": now_ms(), "next_attempt_at": None,
             "message": None},
            ttl=True,
        )  # fmt: skip

    # ---- workers --------------------------------------------------------------------------
    async def beat(self, worker: str, ttl_s: float, held: Sequence[str] | None = None) -> None:
        """The worker is alive for `ttl_s`, holding the jobs `held` (arq's claims it has taken)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(WORKER + worker, now_ms(), px=int(ttl_s * 1000))
            pipe.zadd(WORKERS, {worker: now_ms()})
            if held is not None:
                pipe.delete(HELD + worker)
                if held:
                    pipe.sadd(HELD + worker, *held)
                    pipe.pexpire(HELD + worker, int(ttl_s * 1000))
            await pipe.execute()

    async def hold(self, worker: str, job_id: str, ttl_s: float) -> None:
        """One more job held (as it starts, before the next beat lists it)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.sadd(HELD + worker, job_id)
            pipe.pexpire(HELD + worker, int(ttl_s * 1000))
            await pipe.execute()

    async def release_claims(self, in_progress_ms: int, min_age_ms: int, limit: int = 2000) -> list[str]:
        """Queued jobs arq shows as taken by a worker that is gone, put back for any worker."""
        return list(await self._release(args=[now_ms(), in_progress_ms, min_age_ms, limit]))

    async def requeue_orphans(self, me: str) -> list[str]:
        """Running jobs of workers that stopped beating, put back for another worker."""
        requeued = []
        for job_id in await self.redis.zrange(BY_STATUS + "running", 0, -1):
            if int(await self._requeue(args=[job_id, now_ms(), me])):
                requeued.append(job_id)
        return requeued
