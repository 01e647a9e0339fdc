"""Neo4j 5 backend through the official async driver (production; GDS and APOC when present)."""

from __future__ import annotations

import logging
from typing import Any

from neo4j import AsyncGraphDatabase, Query
from neo4j.exceptions import ClientError, ServiceUnavailable

from core.errors import GraphUnavailable, QueryTimeout
from graph import cypher as q
from graph.store import Counters, GraphStore

log = logging.getLogger("aidrop.graph")


class Neo4jStore(GraphStore):
    backend = "neo4j"
    write_batch = 10_000
    write_concurrency = 1  # concurrent MERGEs on shared wallets deadlock in Neo4j

    def __init__(self, uri: str, user: str, password: str, database: str = "neo4j") -> None:
        self.uri = uri
        self.database = database
        self._driver = AsyncGraphDatabase.driver(uri, auth=(user, password))

    async def _run(
        self, statement: q.Statement, params: dict[str, Any] | None, timeout: float = 0, write: bool = False
    ) -> Any:
        text = statement.for_backend(self.backend)
        query = Query(text, timeout=timeout) if timeout else text

        async def work(tx: Any) -> Any:
            result = await tx.run(query, params or {})
            rows = [record.data() async for record in result]
            summary = await result.consume()
            return rows, summary.counters

        try:
            async with self._driver.session(database=self.database) as session:
                # Writes run as managed transactions: the driver retries them on transient errors
                # (deadlocks between concurrent MERGEs on shared wallets). `CALL { } IN
                # TRANSACTIONS` needs an auto-commit transaction. A read's timeout makes Neo4j
                # itself stop the query (the API's reads).
                if write and "IN TRANSACTIONS" not in text:
                    return await session.execute_write(work)
                return await work(session)
        except (ServiceUnavailable, OSError) as exc:
            log.warning("Neo4j at %s is unreachable: %s", self.uri, exc)
            raise GraphUnavailable("the graph database is unreachable (details in the server log)") from exc
        except ClientError as exc:
            if timeout and "TransactionTimedOut" in (exc.code or ""):
                raise QueryTimeout(timeout) from exc
            raise

    async def query(self, statement: q.Statement, params: dict[str, Any] | None = None) -> list[dict]:
        rows, _ = await self._run(statement, params, self.query_timeout)
        return rows

    async def execute(self, statement: q.Statement, params: dict[str, Any] | None = None) -> Counters:
        _, c = await self._run(statement, params, write=True)
        return Counters(c.nodes_created, c.relationships_created, c.properties_set)

    async def ensure_schema(self) -> None:
        for statement in (*q.NEO4J_RETIRED, *q.NEO4J_SCHEMA):
            try:
                await self._run(statement, None)
            except ClientError:
                # Relationship uniqueness needs Neo4j >= 5.7; an index keeps MERGE fast without it.
                if statement is not q.NEO4J_TRANSFER_IDENTITY:
                    raise
                await self._run(q.NEO4J_TRANSFER_IDENTITY_INDEX, None)
        await self.migrate_chains()

    async def clear(self) -> None:
        await self.execute(q.DELETE_ALL)

    async def close(self) -> None:
        await self._driver.close()
