"""`aidrop neo4j`: what a user sees when Java or Maven is missing, and on a stopped server.
(Starting it for real is what every Neo4j test does through tests/conftest.py.)"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from graph.neo4j_server import LocalNeo4j, Neo4jStatus
from tests.conftest import free_port

AIDROP = str(Path(sys.executable).with_name("aidrop"))


def aidrop(tmp_path: Path, *args: str, path: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIDROP_", "NEO4J_", "JAVA_HOME"))}
    env.update(AIDROP_DATA_DIR=str(tmp_path / "data"), AIDROP_NEO4J_PORT=str(free_port()))
    if path is not None:
        env["PATH"] = path
    return subprocess.run([AIDROP, "neo4j", *args], env=env, capture_output=True, text=True, timeout=120)


def test_start_without_java_names_what_is_missing(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    proc = aidrop(tmp_path, "start", path=str(empty))
    assert proc.returncode == 2 and proc.stdout == ""
    message = proc.stderr.strip()
    assert message.startswith("error [NEO4J_TOOLS_MISSING]")
    assert ("Java 17" in message or "Maven" in message) and "docker compose" in message


def test_status_of_a_stopped_server(tmp_path: Path) -> None:
    proc = aidrop(tmp_path, "status")
    assert proc.returncode == 1 and "local Neo4j: stopped" in proc.stdout
    assert aidrop(tmp_path, "stop").stdout.strip() == "local Neo4j was not running"


def graph_stats(env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AIDROP_", "NEO4J_"))}
    env = {**base, **env, "AIDROP_GRAPH_BACKEND": "neo4j"}
    return subprocess.run(
        [AIDROP, "graph", "stats", "--json"], env=env, capture_output=True, text=True, timeout=120
    )


def test_neo4j_backend_without_a_server_says_how_to_get_one(tmp_path: Path) -> None:
    proc = graph_stats({"AIDROP_DATA_DIR": str(tmp_path / "data"), "AIDROP_NEO4J_PORT": str(free_port())})
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "NEO4J_URI" in proc.stderr and 'eval "$(aidrop neo4j start)"' in proc.stderr


def test_neo4j_backend_finds_the_running_local_server(neo4j_server) -> None:  # type: ignore[no-untyped-def]
    if neo4j_server.local is None:
        pytest.skip("NEO4J_URI names an external server: no local one to find")
    proc = graph_stats(neo4j_server.local)  # AIDROP_DATA_DIR and port only, no NEO4J_URI
    assert proc.returncode == 0, proc.stderr
    assert "transfers" in json.loads(proc.stdout)  # read from that server (the backend is neo4j)


def test_env_lines_survive_a_shell(tmp_path: Path) -> None:
    status = Neo4jStatus(True, 1, 7687, tmp_path, "bolt://127.0.0.1:7687", "neo4j", "p$w 'x\"", True)
    # eval'd, then read by a child process (as `aidrop` run after the eval reads them)
    child = """sh -c 'printf "%s|%s|%s" "$NEO4J_URI" "$NEO4J_USER" "$NEO4J_PASSWORD"'"""
    script = f"eval \"$(cat <<'EOF'\n{status.env_lines()}\nEOF\n)\"\n{child}"
    out = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True).stdout
    assert out == "bolt://127.0.0.1:7687|neo4j|p$w 'x\""
    assert "password" not in status.to_dict()


def test_password_is_generated_once_and_private(tmp_path: Path) -> None:
    server = LocalNeo4j(tmp_path, free_port())
    first = server.password()
    assert len(first) >= 24 and server.password() == first
    assert oct(server.password_file.stat().st_mode & 0o777) == oct(0o600)
    assert shlex.quote(first) == first  # URL-safe: no quoting needed in the eval lines
