"""Issue 13, findings 1, 6 and 8 replayed: a pickle written into the queue runs nothing, the
embedded Redis refuses clients without its password, the worker outlives a database restart,
and jobs a dead worker had picked up run again within seconds."""

from __future__ import annotations

import os
import pickle
import stat
import time
from pathlib import Path

import pytest
import redis

from graph.embedded import EmbeddedServer
from tests.apiserver import stack
from tests.conftest import free_port
from tests.factories import addr
from tests.test_api_e2e import load

ANALYZE = "mutation($a: String!) { analyzeWallet(address: $a, force: true) { id } }"


class Boom:
    """Pickles to a call of os.system: what the attack wrote into arq:job:poc."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.marker}",))


def test_embedded_redis_needs_its_password(tmp_path: Path) -> None:
    server = EmbeddedServer(tmp_path / "data", free_port())
    server.start()
    try:
        anonymous = redis.Redis(host="127.0.0.1", port=server.port, db=1, socket_timeout=2)
        with pytest.raises(redis.AuthenticationError):
            anonymous.set("arq:job:poc", b"x")
        assert server.client(db=1).ping()
        mode = stat.S_IMODE(server.secret_file.stat().st_mode)
        assert mode == 0o600, oct(mode)
        for folder in (server.data_dir, server.data_dir.parent):
            assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
        aof = next((server.data_dir / "appendonlydir").iterdir())
        assert not stat.S_IMODE(aof.stat().st_mode) & 0o077, oct(aof.stat().st_mode)
        assert server.password not in server.status().to_dict()["graph_url"]
        # the same password after a restart (clients configured before keep working)
        before = server.password
        server.stop()
        again = EmbeddedServer(tmp_path / "data", server.port)
        again.start()
        assert again.password == before and again.client().ping()
    finally:
        server.stop()


async def test_a_pickled_job_runs_nothing(falkor_server, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    with stack(falkor_server, tmp_path) as s:
        await load(s, 10, 3)
        r = redis.Redis.from_url(s.redis_url)
        payload = pickle.dumps({"t": 1, "f": "analyze_wallet", "a": (Boom(marker),), "k": {}, "et": 1})
        r.psetex("arq:job:poc", 60_000, payload)
        r.zadd("arq:queue", {"poc": 1})
        job = s.data(ANALYZE, {"a": addr(1)})["analyzeWallet"]["id"]  # queued after the pickle
        assert s.wait_jobs([job])[job]["status"] == "COMPLETED"
        time.sleep(0.5)
        assert not marker.exists()
        assert s.workers[0].poll() is None  # the worker lives on
        stored = r.get(f"arq:job:{job}") or b"{}"
        assert not stored.startswith(b"\x80")  # payloads are JSON, not pickle
