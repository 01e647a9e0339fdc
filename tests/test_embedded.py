"""The embedded FalkorDB as a user drives it: aidrop up / status / down, persistence, errors."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from core.errors import EmbeddedServerError
from graph.embedded import EmbeddedServer
from graph.falkor import FalkorStore
from tests.conftest import free_port
from tests.factories import transfers

AIDROP = [sys.executable, "-m", "aidrop"]


def aidrop(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*AIDROP, *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def embedded_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIDROP_", "NEO4J_"))}
    env.update(AIDROP_DATA_DIR=str(tmp_path / "data"), AIDROP_EMBEDDED_PORT=str(free_port()))
    return env


def test_up_status_down(embedded_env: dict[str, str]) -> None:
    try:
        assert aidrop(embedded_env, "status").returncode == 1  # stopped
        up = aidrop(embedded_env, "up")
        assert up.returncode == 0, up.stderr
        assert "running" in up.stdout
        status = json.loads(aidrop(embedded_env, "status", "--json").stdout)
        assert status["healthy"] and status["port"] == int(embedded_env["AIDROP_EMBEDDED_PORT"])
        assert Path(status["data_dir"]).is_relative_to(Path(embedded_env["AIDROP_DATA_DIR"]))
        assert aidrop(embedded_env, "up").returncode == 0  # idempotent
    finally:
        down = aidrop(embedded_env, "down")
    assert "stopped" in down.stdout
    assert json.loads(aidrop(embedded_env, "status", "--json").stdout)["running"] is False


def test_graph_commands_start_the_embedded_server(embedded_env: dict[str, str]) -> None:
    try:
        stats = aidrop(embedded_env, "graph", "stats", "--json")
        assert stats.returncode == 0, stats.stderr
        assert json.loads(stats.stdout)["wallets"] == 0
        assert json.loads(aidrop(embedded_env, "status", "--json").stdout)["healthy"]
    finally:
        aidrop(embedded_env, "down")


def test_port_taken_is_a_clear_error(embedded_env: dict[str, str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", int(embedded_env["AIDROP_EMBEDDED_PORT"])))
        sock.listen()
        result = aidrop(embedded_env, "up")
    assert result.returncode == 2
    assert f"port {embedded_env['AIDROP_EMBEDDED_PORT']}" in result.stderr and "taken" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_setting_is_a_clear_error(embedded_env: dict[str, str]) -> None:
    result = aidrop({**embedded_env, "AIDROP_GRAPH_URL": "not a url"}, "graph", "stats")
    assert result.returncode == 2
    assert "AIDROP_GRAPH_URL" in result.stderr and "Traceback" not in result.stderr


async def test_data_survives_a_restart(tmp_path: Path) -> None:
    server = EmbeddedServer(tmp_path, free_port())
    server.start()
    try:
        store = FalkorStore(server.graph_url, "persist")
        await store.write_transfers(transfers([(1, 2, 1, 1.0, 100), (2, 3, 2, 2.0, 200)]))
        await store.close()
        server.stop()
        assert not server.status().running
        assert (server.data_dir / "appendonlydir").is_dir()
        server.start()
        store = FalkorStore(server.graph_url, "persist")
        assert (await store.stats()).transfers == 2
        await store.close()
    finally:
        server.stop()


def test_start_fails_clearly_when_the_server_cannot_run(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    server = EmbeddedServer(blocker, free_port())  # its data dir would live under a file
    with pytest.raises(EmbeddedServerError, match="data directory"):
        server.start(timeout=3)
