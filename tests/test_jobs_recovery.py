"""A worker killed with SIGKILL in the middle of 200 queued analyses: once a worker runs again, all
200 complete, each wallet written exactly once, and the jobs that were running at the kill ran
again (their records say so)."""

from __future__ import annotations

import asyncio
import time

import pytest

from graph.cypher import Statement
from graph.falkor import FalkorStore
from tests.apiserver import Stack, stack
from tests.factories import addr, random_transfers

N = 200
COUNTS = Statement(
    "t", "UNWIND $a AS x MATCH (w:Wallet {address: x}) RETURN x AS address, w.analysis_count AS n"
)
STATUS = "query($ids: [ID!]!) { jobsById(ids: $ids) { id status attempts } }"


async def _load(s: Stack) -> None:
    store = FalkorStore(s.server.graph_url, s.graph)
    await store.ensure_schema()
    await store.write_transfers(random_transfers(2_000, N, seed=5))
    await store.close()


async def _counts(s: Stack, addresses: list[str]) -> dict[str, int | None]:
    store = FalkorStore(s.server.graph_url, s.graph)
    rows = await store.query(COUNTS, {"a": addresses})
    await store.close()
    return {r["address"]: r["n"] for r in rows}


def _statuses(s: Stack, ids: list[str]) -> list[dict]:
    return s.data(STATUS, {"ids": ids})["jobsById"]


@pytest.mark.timeout(180)
def test_sigkill_mid_batch_then_restart(falkor_server, tmp_path) -> None:
    env = {"STUB_ANALYSIS_DELAY": "0.25", "AIDROP_WORKER_CONCURRENCY": "10"}
    with stack(falkor_server, tmp_path, env, workers=0) as s:
        asyncio.run(_load(s))
        addresses = [addr(i) for i in range(1, N + 1)]
        jobs = s.data(
            "mutation($a: [String!]!) { analyzeWallets(addresses: $a) { id status } }", {"a": addresses}
        )
        ids = [j["id"] for j in jobs["analyzeWallets"]]
        assert len(set(ids)) == N and all(j["status"] == "QUEUED" for j in jobs["analyzeWallets"])

        victim = s.start_worker()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            states = [j["status"] for j in _statuses(s, ids)]
            if states.count("COMPLETED") >= 20 and states.count("RUNNING") >= 5:
                break
            time.sleep(0.05)
        s.kill_worker(victim)  # SIGKILL: no cleanup, no goodbye
        at_kill = _statuses(s, ids)
        running = [j["id"] for j in at_kill if j["status"] == "RUNNING"]
        completed_before = sum(j["status"] == "COMPLETED" for j in at_kill)
        assert running and completed_before < N, "the kill should land mid-batch"
        time.sleep(1.0)
        assert [j["status"] for j in _statuses(s, running)].count("RUNNING") == len(
            running
        )  # nobody took over

        s.start_worker()
        done = s.wait_jobs(ids, timeout=120)
        assert all(j["status"] == "COMPLETED" for j in done.values()), [
            j for j in done.values() if j["status"] != "COMPLETED"
        ][:3]
        retried = [done[i]["attempts"] for i in running]
        assert all(a >= 2 for a in retried), retried  # the interrupted ones ran again
        counts = asyncio.run(_counts(s, addresses))
        assert counts == {a: 1 for a in addresses}  # each wallet written once
        assert "its worker is gone; queued again" in s.log("worker1", tail=10**7)
