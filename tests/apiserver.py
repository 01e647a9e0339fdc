"""Real `aidrop serve` and `aidrop worker` processes for the API and job tests, and a GraphQL client.

Each stack gets its own graph and its own Redis logical database on the session's embedded
FalkorDB, so that leftover jobs of one test module never reach another module's worker.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis
import requests

from graph.embedded import EmbeddedServer
from tests.conftest import ROOT, free_port

AIDROP = str(Path(sys.executable).with_name("aidrop"))
KEY = "test-key-1"
_next_db = itertools.cycle(range(2, 15))  # db 15: tests/test_jobs_records.py; a reused db is flushed first


class Stack:
    """An API server (and workers) on one graph; `gql()` posts GraphQL."""

    def __init__(self, server: EmbeddedServer, tmp: Path, env: dict[str, str] | None = None) -> None:
        self.server = server
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.graph = f"api_{uuid.uuid4().hex[:10]}"
        self.db = next(_next_db)
        self.redis_url = server.redis_db_url(self.db)
        self.tmp = tmp
        base = {
            k: v for k, v in os.environ.items() if not k.startswith(("AIDROP_", "NEO4J_", "S3_", "OPENAI_"))
        }
        self.env = {
            **base,
            "AIDROP_GRAPH_URL": server.graph_url,
            "AIDROP_GRAPH_NAME": self.graph,
            "AIDROP_DATA_DIR": str(tmp / "data"),
            "REDIS_URL": self.redis_url,
            "AIDROP_PORT": str(self.port),
            "AIDROP_PUBLIC_URL": self.url,
            "AIDROP_API_KEYS": KEY,
            "AIDROP_ANALYZER": os.environ.get("AIDROP_TEST_ANALYZER", "tests.stub_analyzer"),
            "AIDROP_JOB_RETRY_BASE": "0.2",
            "PYTHONPATH": str(ROOT),
            **(env or {}),
        }
        self.api: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        redis.Redis.from_url(self.redis_url).flushdb()

    # ---- processes ---------------------------------------------------------------------------
    def _spawn(self, name: str, *args: str) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "ab")  # noqa: SIM115 (kept open by the child)
        return subprocess.Popen(
            [AIDROP, *args], env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=self.tmp
        )

    def start_api(self) -> Stack:
        self.api = self._spawn("api", "serve", "--log-level", "warning")
        deadline = time.monotonic() + 180  # a loaded 2-core machine imports the app slowly
        while time.monotonic() < deadline:
            if self.api.poll() is not None:
                raise RuntimeError(f"aidrop serve exited {self.api.returncode}:\n{self.log('api')}")
            try:
                if requests.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"aidrop serve not ready:\n{self.log('api')}")

    def start_worker(self, *args: str) -> subprocess.Popen:
        proc = self._spawn(f"worker{len(self.workers)}", "worker", *args)
        self.workers.append(proc)
        return proc

    def kill_worker(self, proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
        proc.send_signal(sig)
        proc.wait(timeout=30)

    def log(self, name: str, tail: int = 4000) -> str:
        path = self.tmp / f"{name}.log"
        return path.read_text(errors="replace")[-tail:] if path.exists() else ""

    def stop(self) -> None:
        for proc in [*self.workers, self.api]:
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in [*self.workers, self.api]:
            if proc is not None:
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.server.client().delete(self.graph)

    # ---- clients -------------------------------------------------------------------------------
    def post(
        self, body: Any, key: str | None = None, timeout: float = 30, **kwargs: Any
    ) -> requests.Response:
        headers = {"X-API-Key": key} if key else {}
        if isinstance(body, (bytes, str)):
            headers["Content-Type"] = "application/json"
            return requests.post(self.url + "/graphql", data=body, headers=headers, timeout=timeout, **kwargs)
        return requests.post(self.url + "/graphql", json=body, headers=headers, timeout=timeout, **kwargs)

    def gql(
        self, query: str, variables: dict[str, Any] | None = None, key: str | None = None
    ) -> dict[str, Any]:
        """The whole response body (data and errors)."""
        response = self.post({"query": query, "variables": variables or {}}, key)
        return response.json()

    def data(
        self, query: str, variables: dict[str, Any] | None = None, key: str | None = KEY
    ) -> dict[str, Any]:
        body = self.gql(query, variables, key)
        assert not body.get("errors"), body["errors"]
        return body["data"]

    def wait_jobs(self, ids: list[str], timeout: float = 60) -> dict[str, dict[str, Any]]:
        """Poll until every job is completed or failed; their records by id."""
        done: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + timeout
        pending = list(ids)
        while pending and time.monotonic() < deadline:
            for i in range(0, len(pending), 500):
                jobs = self.data(POLL, {"ids": pending[i : i + 500]})["jobsById"]
                for job in jobs:
                    if job and job["status"] in ("COMPLETED", "FAILED"):
                        done[job["id"]] = job
            pending = [i for i in pending if i not in done]
            if pending:
                time.sleep(0.2)
        assert not pending, f"{len(pending)} jobs not done after {timeout}s:\n{self.log('worker0')}"
        return done


POLL = """query($ids: [ID!]!) { jobsById(ids: $ids) {
  id kind status progress attempts error errorCode result createdAt startedAt finishedAt
} }"""


@contextmanager
def stack(server: EmbeddedServer, tmp: Path, env: dict[str, str] | None = None, workers: int = 1,
          worker_args: tuple[str, ...] = ()) -> Iterator[Stack]:  # fmt: skip
    s = Stack(server, tmp, env)
    try:
        s.start_api()
        for _ in range(workers):
            s.start_worker(*worker_args)
        yield s
    finally:
        s.stop()
