"""Neo4j 5 backend through the official async driver (production; GDS and APOC when present)."""

from __future__ import annotations

from typing import Any

from neo4j import AsyncGraphDatabase
from neo4j.exceptions import ClientError, ServiceUnavailable

from core.errors import GraphUnavailable
from graph import cypher as q
from graph.store import Counters, GraphStore


class Neo4jStore(GraphStore):
    backend = "neo4j"
    write_batch = 10_000
    write_concurrency = 1  # concurrent MERGEs on shared wallets deadlock in Neo4j

    def __init__(self, uri: str, user: str, password: str, database: str = "neo4j") -> None:
        self.uri = uri
        self.database = database
        self._driver = AsyncGraphDatabase.driver(uri, auth=(user, password))

    async def _run(self, statement: q.Statement, params: dict[str, Any] | None) -> Any:
        try:
            async with self._driver.session(database=self.database) as session:
                result = await session.run(statement.for_backend(self.backend), params or {})
                rows = [record.data() async for record in result]
                summary = await result.consume()
                return rows, summary.counters
        except (ServiceUnavailable, OSError) as exc:
            raise GraphUnavailable(f"Neo4j at {self.uri} is unreachable: {exc}") from exc

    async def query(self, statement: q.Statement, params: dict[str, Any] | None = None) -> list[dict]:
        rows, _ = await self._run(statement, params)
        return rows

    async def execute(self, statement: q.Statement, params: dict[str, Any] | None = None) -> Counters:
        _, c = await self._run(statement, params)
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
