"""FalkorDB backend through the native asyncio client (never the experimental Bolt port)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any
from urllib.parse import urlparse

import pandas as pd
import redis.asyncio as aioredis
from falkordb.asyncio import FalkorDB
from falkordb.helpers import stringify_param_value
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from core.errors import BadInput, GraphUnavailable, QueryTimeout
from graph import cypher as q
from graph.bulk import BulkWriter
from graph.model import WriteResult
from graph.store import Counters, GraphStore, TransferSink

log = logging.getLogger("aidrop.graph")

# (label or relation type, properties) that must be unique; GRAPH.CONSTRAINT needs an index first.
UNIQUE = [("NODE", "Wallet", ("address",))]
# connections per store (the server runs a few queries at a time; more only queue there), and
# how long a query waits for one before GRAPH_UNAVAILABLE
POOL_SIZE = 32
POOL_WAIT_S = 30.0


def _list_text(values: list[Any]) -> str:
    """Cypher literal of a homogeneous list, fast for the columns aidrop writes."""
    if not values:
        return "[]"
    kind = type(values[0])
    if kind is str and all(type(v) is str for v in values):
        body = "\x00".join(values)
        if body.count("\x00") != len(values) - 1:  # a NUL inside a value would split it in two
            raise BadInput("a list parameter holds a text with a NUL byte (no address, name or code has one)")
        body = body.replace("\\", "\\\\").replace('"', '\\"')
        return '["' + body.replace("\x00", '","') + '"]'
    if kind is int and all(type(v) is int for v in values):
        return "[" + ",".join(map(str, values)) + "]"
    if kind is float and all(type(v) is float for v in values):
        return "[" + ",".join(map(repr, values)) + "]"
    if all(type(v) is list or v is None for v in values):  # a list per wallet (or none)
        return "[" + ",".join("null" if v is None else _inner_text(v) for v in values) + "]"
    return stringify_param_value(values)


def _inner_text(values: list[Any]) -> str:
    kinds = set(map(type, values))
    if kinds == {int} or kinds == {float}:  # Python's list text is a Cypher literal (finite numbers)
        return str(values)
    return _list_text(values)


def params_header(params: dict[str, Any] | None) -> str:
    if not params:
        return ""
    parts = []
    for key, value in params.items():
        text = _list_text(value) if isinstance(value, list) else stringify_param_value(value)
        parts.append(f"{key}={text}")
    header = "CYPHER " + " ".join(parts) + " "
    if "\x00" in header:  # FalkorDB reads NUL as the end of a value: one text would become two
        raise BadInput(f"parameter {_nul_key(params)} holds a NUL byte, which no address, name or code has")
    return header


def _nul_key(params: dict[str, Any]) -> str:
    for key, value in params.items():
        if "\x00" in str(value):
            return key
    return "?"


def _rows(result: Any) -> list[dict]:
    names = [h[1] if isinstance(h, (list, tuple)) else h for h in result.header]
    names = [n.decode() if isinstance(n, bytes) else n for n in names]
    return [dict(zip(names, row, strict=True)) for row in result.result_set]


class FalkorStore(GraphStore):
    backend = "falkordb"

    def __init__(self, url: str, graph: str = "aidrop") -> None:
        parsed = urlparse(url)
        self.url = url
        self.host = parsed.hostname or "127.0.0.1"
        self.port = parsed.port or 6379
        self.name = graph
        # A bounded pool that waits for a free connection: the client's default pool of 100
        # fails the 101st concurrent query at once ("Too many connections"), which read as
        # GRAPH_UNAVAILABLE to clients of a busy API while the database was fine.
        self._pool = aioredis.BlockingConnectionPool(
            host=self.host, port=self.port, password=parsed.password, decode_responses=True,
            max_connections=POOL_SIZE, timeout=POOL_WAIT_S,
            socket_timeout=None, socket_connect_timeout=10.0,  # redis-py's 5 s would cut long reads
        )  # fmt: skip
        try:  # the client asks the server (INFO) whether it is a cluster, here and now
            self._db = FalkorDB(connection_pool=self._pool)
        except (RedisConnectionError, OSError) as exc:
            log.warning("FalkorDB at %s:%s is unreachable: %s", self.host, self.port, exc)
            raise GraphUnavailable("the graph database is unreachable (details in the server log)") from exc
        self._graph = self._db.select_graph(graph)

    @property
    def redis(self) -> aioredis.Redis:
        return self._db.connection

    async def _run(self, text: str, params: dict[str, Any] | None, read_only: bool) -> Any:
        try:
            full = params_header(params) + text
            if read_only:
                limit = int(self.query_timeout * 1000) if self.query_timeout else None
                return await self._graph.ro_query(full, timeout=limit)
            return await self._graph.query(full)
        except (RedisConnectionError, OSError) as exc:
            log.warning("FalkorDB at %s:%s is unreachable: %s", self.host, self.port, exc)
            raise GraphUnavailable("the graph database is unreachable (details in the server log)") from exc
        except ResponseError as exc:
            if "timed out" in str(exc).lower() and read_only and self.query_timeout:
                raise QueryTimeout(self.query_timeout) from exc
            raise

    async def query(self, statement: q.Statement, params: dict[str, Any] | None = None) -> list[dict]:
        try:
            result = await self._run(statement.for_backend(self.backend), params, read_only=True)
        except ResponseError as exc:
            if "empty key" in str(exc) or "Invalid graph operation on empty key" in str(exc):
                return []
            raise
        return _rows(result)

    async def execute(self, statement: q.Statement, params: dict[str, Any] | None = None) -> Counters:
        result = await self._run(statement.for_backend(self.backend), params, read_only=False)
        return Counters(
            int(result.nodes_created), int(result.relationships_created), int(result.properties_set)
        )

    async def is_empty(self) -> bool:
        return not await self.redis.exists(self.name) or await super().is_empty()

    async def ensure_schema(self) -> None:
        """Nothing while a first load runs: GRAPH.BULK numbers nodes in order and fails on a graph
        someone else created, and the load creates the schema when it ends (a first load that
        starts meanwhile waits for this one)."""
        lock = FirstLoad(self.redis, self.name)
        if not await lock.acquire():
            return
        try:
            await self.create_schema()
        finally:
            await lock.release()

    async def create_schema(self) -> None:
        for statement in q.FALKOR_INDEXES:
            text = statement.for_backend(self.backend)
            with contextlib.suppress(ResponseError):  # "already indexed"
                await self._graph.query(text)
        for kind, label, props in UNIQUE:
            with contextlib.suppress(ResponseError):  # "constraint already exists"
                await self.redis.execute_command(
                    "GRAPH.CONSTRAINT", "CREATE", self.name, "UNIQUE", kind, label,
                    "PROPERTIES", len(props), *props,
                )  # fmt: skip
        await self.wait_schema()
        await self.migrate_chains()

    async def wait_schema(self, timeout: float = 600.0) -> None:
        """Wait until every index and constraint is built: until then MERGE scans all wallets."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            states = [r["status"] for r in await self.constraints()]
            result = await self._graph.ro_query(q.FALKOR_INDEX_STATES.text)
            states += [row[0] for row in result.result_set]
            if all(s == "OPERATIONAL" for s in states):
                return
            if asyncio.get_running_loop().time() > deadline:
                raise GraphUnavailable(f"indexes of graph {self.name} still building after {timeout:.0f}s")
            await asyncio.sleep(0.05)

    async def constraints(self) -> list[dict]:
        """The unique constraints and their status (OPERATIONAL once built)."""
        try:
            result = await self._graph.ro_query(q.FALKOR_CONSTRAINTS.text)
        except ResponseError:
            return []
        return _rows(result)

    async def clear(self) -> None:
        await self.redis.delete(self.name)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._db.connection.aclose()
        with contextlib.suppress(Exception):
            await self._pool.disconnect()

    async def open_sink(self, bulk: bool = True) -> TransferSink:
        """GRAPH.BULK when the graph is new (about 10x the MERGE rate), else the MERGE path.
        The bulk path is exclusive (FirstLoad): a second first load started meanwhile waits for
        the first to finish and then merges into what it wrote."""
        lock = FirstLoad(self.redis, self.name)
        if await lock.running():  # nothing may write beside a first load (ensure_schema says why)
            log.warning("a first load into graph %s is running: waiting for it", self.name)
            await lock.wait()
        if not bulk or not await self.is_empty():
            return await super().open_sink(bulk)
        if not await lock.acquire():
            log.warning(
                "another first load into graph %s is running: waiting for it, then merging", self.name
            )
            await lock.wait()
            return await self.open_sink(bulk)
        if not await self.is_empty():  # it finished between our look and our lock
            await lock.release()
            return await super().open_sink(bulk)
        await self.clear()
        return BulkSink(self, lock)


# Deletes the lock only if this holder still has it (its token).
_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class FirstLoad:
    """The exclusive right to bulk-load an empty graph: a Redis key next to the graph, held while
    the load runs (renewed every few seconds; it lapses LEASE_S after its holder dies)."""

    LEASE_S = 30.0

    def __init__(self, redis: aioredis.Redis, graph: str) -> None:
        self.redis = redis
        self.key = f"aidrop:first-load:{graph}"
        self.token = uuid.uuid4().hex
        self._renew: asyncio.Task[None] | None = None

    async def acquire(self) -> bool:
        if not await self.redis.set(self.key, self.token, nx=True, px=int(self.LEASE_S * 1000)):
            return False
        self._renew = asyncio.create_task(self._keep())
        return True

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(self.LEASE_S / 3)
            with contextlib.suppress(Exception):
                await self.redis.pexpire(self.key, int(self.LEASE_S * 1000))

    async def running(self) -> bool:
        return bool(await self.redis.exists(self.key))

    async def wait(self, poll: float = 0.2) -> None:
        while await self.running():
            await asyncio.sleep(poll)

    async def release(self) -> None:
        if self._renew is not None:
            self._renew.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renew
            self._renew = None
        await self.redis.eval(_UNLOCK, 1, self.key, self.token)


class BulkSink(TransferSink):
    mode = "bulk"
    store: FalkorStore

    def __init__(self, store: FalkorStore, lock: FirstLoad | None = None) -> None:
        super().__init__(store)
        self.writer = BulkWriter(store.redis, store.name)
        self.written = 0
        self.lock = lock

    async def write(self, frame: pd.DataFrame) -> WriteResult:
        result = await self.writer.write(frame)
        self.written += result.transfers_written
        return result

    async def close(self) -> None:
        try:
            await self.writer.flush()
            if self.written:
                await self.store.mark_chain_aware()  # every transfer it wrote has its chain
            await self.store.create_schema()  # still holding the lock
            await self.store.note_written(self.written)
        finally:
            if self.lock is not None:
                await self.lock.release()
