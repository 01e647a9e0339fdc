"""Test fixtures: one real embedded FalkorDB for the whole run, a fresh graph per test."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from graph.embedded import EmbeddedServer
from graph.falkor import FalkorStore
from graph.store import GraphStore

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def falkor_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    server = EmbeddedServer(tmp_path_factory.mktemp("aidrop-data"), free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def graph_name() -> str:
    return f"test_{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def store(falkor_server: EmbeddedServer, graph_name: str) -> AsyncIterator[FalkorStore]:
    s = FalkorStore(falkor_server.graph_url, graph_name)
    await s.ensure_schema()
    yield s
    await s.clear()
    await s.close()


def _neo4j_store() -> GraphStore:
    from graph.neo4j_store import Neo4jStore

    return Neo4jStore(
        os.environ["NEO4J_URI"],
        os.environ.get("NEO4J_USER", "neo4j"),
        os.environ.get("NEO4J_PASSWORD", ""),
        os.environ.get("NEO4J_DATABASE", "neo4j"),
    )


@pytest.fixture(params=["falkordb", "neo4j"])
async def any_store(request: pytest.FixtureRequest, falkor_server: EmbeddedServer, graph_name: str
                    ) -> AsyncIterator[GraphStore]:  # fmt: skip
    """Every backend reachable: FalkorDB always, Neo4j when NEO4J_URI is set."""
    if request.param == "neo4j":
        if not os.environ.get("NEO4J_URI"):
            pytest.skip("Neo4j backend: set NEO4J_URI (and NEO4J_USER/NEO4J_PASSWORD) to run")
        s: GraphStore = _neo4j_store()
        await s.clear()
    else:
        s = FalkorStore(falkor_server.graph_url, graph_name)
    await s.ensure_schema()
    yield s
    await s.clear()
    await s.close()


@pytest.fixture
def cli_env(falkor_server: EmbeddedServer, graph_name: str, tmp_path: Path) -> dict[str, str]:
    """Environment for running `aidrop` against the test server and a fresh graph."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIDROP_", "NEO4J_"))}
    env.update(
        AIDROP_GRAPH_URL=falkor_server.graph_url,
        AIDROP_GRAPH_NAME=graph_name,
        AIDROP_DATA_DIR=str(tmp_path / "data"),
    )
    return env


def dataset(*parts: str) -> Path:
    path = DATASETS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared dataset {path} is not here")
    return path
