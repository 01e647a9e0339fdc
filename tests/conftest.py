"""Test fixtures: one real embedded FalkorDB and one real Neo4j (GDS, APOC) for the whole run,
a fresh graph per test.

`any_store` (and `any_cli_env` beside it) run a test once per backend in AIDROP_TEST_BACKENDS
(default both); so do `store` and `cli_env` in tests marked `both_backends`. Neo4j is the local
one of graph/neo4j_server.py, started once on first use (built the first time), or an
external server when NEO4J_URI (NEO4J_USER, NEO4J_PASSWORD, NEO4J_DATABASE) is set; Neo4j
Community has one database, so a test's fresh state is that database cleared.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from graph.embedded import EmbeddedServer
from graph.falkor import FalkorStore
from graph.store import GraphStore

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
BACKENDS = [
    b.strip() for b in os.environ.get("AIDROP_TEST_BACKENDS", "falkordb,neo4j").split(",") if b.strip()
]


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


@dataclass(frozen=True)
class Neo4jTarget:
    """Where the tests' Neo4j answers."""

    uri: str
    user: str
    password: str
    database: str = "neo4j"
    local: dict[str, str] | None = None  # AIDROP_DATA_DIR and AIDROP_NEO4J_PORT of a local server

    def env(self) -> dict[str, str]:
        return {
            "AIDROP_GRAPH_BACKEND": "neo4j",
            "NEO4J_URI": self.uri,
            "NEO4J_USER": self.user,
            "NEO4J_PASSWORD": self.password,
            "NEO4J_DATABASE": self.database,
        }

    def store(self) -> GraphStore:
        from graph.neo4j_store import Neo4jStore

        return Neo4jStore(self.uri, self.user, self.password, self.database)


@pytest.fixture(scope="session")
def neo4j_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Neo4jTarget]:
    """NEO4J_URI's server, or the local Neo4j started once for the session (built on first use)."""
    if os.environ.get("NEO4J_URI"):
        yield Neo4jTarget(
            os.environ["NEO4J_URI"],
            os.environ.get("NEO4J_USER", "neo4j"),
            os.environ.get("NEO4J_PASSWORD", ""),
            os.environ.get("NEO4J_DATABASE", "neo4j"),
        )
        return
    from graph.neo4j_server import LocalNeo4j

    server = LocalNeo4j(
        tmp_path_factory.mktemp("aidrop-neo4j"), free_port(), heap=os.environ.get("AIDROP_NEO4J_HEAP", "1g")
    )
    status = server.start(progress=lambda m: print(f"[neo4j] {m}", flush=True))
    try:
        local = {"AIDROP_DATA_DIR": str(server.home.parent), "AIDROP_NEO4J_PORT": str(server.port)}
        yield Neo4jTarget(status.uri, status.user, status.password, local=local)
    finally:
        server.stop()


@pytest.fixture
def graph_name() -> str:
    return f"test_{uuid.uuid4().hex[:12]}"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "both_backends: the test's `store` and `cli_env` run on every backend, like any_store"
    )
    config.addinivalue_line(
        "markers", "several_graphs: FalkorDB only, in a both_backends module (Neo4j Community has one graph)"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One run per backend for tests on `any_store`/`any_cli_env`, and for tests marked
    both_backends on `store`/`cli_env`; other tests keep FalkorDB (the `backend` fixture)."""
    names = set(metafunc.fixturenames)
    if "backend" not in names:
        return
    if metafunc.definition.get_closest_marker("several_graphs"):
        return
    both = metafunc.definition.get_closest_marker("both_backends") is not None
    # `store` and `cli_env` stand on any_store too: FalkorDB only unless marked
    if both or ({"any_store", "any_cli_env"} & names and not {"store", "cli_env"} & names):
        metafunc.parametrize("backend", BACKENDS)


@pytest.fixture
def backend() -> str:
    """The graph backend of this run of the test: falkordb, or each of BACKENDS (see above)."""
    return "falkordb"


@pytest.fixture
async def any_store(
    backend: str, request: pytest.FixtureRequest, graph_name: str
) -> AsyncIterator[GraphStore]:
    """A fresh, empty graph on each backend: a new FalkorDB graph, the Neo4j database cleared."""
    s: GraphStore
    if backend == "neo4j":
        s = request.getfixturevalue("neo4j_server").store()
        await s.clear()
    else:
        s = FalkorStore(request.getfixturevalue("falkor_server").graph_url, graph_name)
    await s.ensure_schema()
    yield s
    await s.clear()
    await s.close()


@pytest.fixture
def store(any_store: GraphStore) -> GraphStore:
    """FalkorDB's fresh graph; every backend in tests marked both_backends."""
    return any_store


@pytest.fixture
def any_cli_env(any_store: GraphStore, backend: str, request: pytest.FixtureRequest, graph_name: str,
                tmp_path: Path) -> dict[str, str]:  # fmt: skip
    """Environment for running `aidrop` (CLI, serve, worker) against `any_store`'s graph."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIDROP_", "NEO4J_"))}
    env["AIDROP_DATA_DIR"] = str(tmp_path / "data")
    if backend == "neo4j":
        env.update(request.getfixturevalue("neo4j_server").env())
    else:
        falkor = request.getfixturevalue("falkor_server")
        env.update(AIDROP_GRAPH_URL=falkor.graph_url, AIDROP_GRAPH_NAME=graph_name)
    return env


@pytest.fixture
def cli_env(any_cli_env: dict[str, str]) -> dict[str, str]:
    """`aidrop` against the test FalkorDB and a fresh graph; every backend when marked both_backends."""
    return any_cli_env


def dataset(*parts: str) -> Path:
    path = DATASETS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared dataset {path} is not here")
    return path
