"""Jobs that read the chain, against a real EVM node (anvil): `ingestBlocks` queues an ingest_range
job, and `analyzeWallet` of a wallet the graph has not seen yet fetches the node's new blocks
before analysing it. Also the batch jobs: analyze_batch and rescore_all."""

from __future__ import annotations

import asyncio

from core.settings import Settings
from jobs.queue import JobQueue
from jobs.records import JobRecords
from tests.apiserver import stack
from tests.evm.node import E18, Anvil

pytest_plugins = ["tests.evm.fixtures"]
WALLET = "query($a: String!) { wallet(address: $a) { address typology { code } stats { fanIn fanOut } } }"


def test_ingest_blocks_and_fetch_a_new_wallet(falkor_server, tmp_path, anvil: Anvil, monkeypatch) -> None:
    monkeypatch.setenv("AIDROP_ANALYZER", "tests.stub_analyzer")  # this process queues jobs too
    a = anvil.accounts
    for i in range(4):
        anvil.send_eth(a[i], a[i + 1], E18)
    head = anvil.head
    with stack(falkor_server, tmp_path, {"AIDROP_RPC_URL": anvil.url}) as s:
        job = s.data(f"mutation {{ ingestBlocks(from: 0, to: {head}) {{ id kind status }} }}")["ingestBlocks"]
        assert job["kind"] == "ingest_range"
        done = s.wait_jobs([job["id"]])[job["id"]]
        assert done["status"] == "COMPLETED", done
        assert done["result"]["transfers_written"] == 4 and done["result"]["last_block"] == head
        assert s.data(WALLET, {"a": a[1]})["wallet"]["stats"]["fanIn"] == 1

        # a wallet the graph does not have yet: the job reads the node's new blocks first
        newcomer = "0x" + "ab" * 20
        anvil.send_eth(a[5], newcomer, 2 * E18)
        assert s.gql(WALLET, {"a": newcomer})["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        job = s.data("mutation($a: String!) { analyzeWallet(address: $a) { id } }", {"a": newcomer})
        job_id = job["analyzeWallet"]["id"]
        done = s.wait_jobs([job_id])[job_id]
        assert done["status"] == "COMPLETED", done
        assert done["result"]["fetched"]["transfers_written"] == 1
        wallet = s.data(WALLET, {"a": newcomer})["wallet"]
        assert wallet["stats"]["fanIn"] == 1 and wallet["typology"]["code"]

        # an address nobody ever used: the job fails and says why
        ghost = "0x" + "cd" * 20
        job_id = s.data("mutation($a: String!) { analyzeWallet(address: $a) { id } }", {"a": ghost})
        job_id = job_id["analyzeWallet"]["id"]
        done = s.wait_jobs([job_id])[job_id]
        assert done["status"] == "FAILED" and done["errorCode"] == "NOT_FOUND" and ghost in done["error"]

        # the batch jobs, queued from Python (no GraphQL mutation queues them)
        ids = asyncio.run(_batch_jobs(s.redis_url, [a[1], a[2], ghost]))
        results = s.wait_jobs(ids)
        batch, rescore = results[ids[0]], results[ids[1]]
        assert batch["status"] == "COMPLETED" and batch["result"] == {"analyzed": 2, "missing": [ghost]}
        assert rescore["status"] == "COMPLETED" and rescore["result"]["rescored"] >= 6


async def _batch_jobs(redis_url: str, addresses: list[str]) -> list[str]:
    records = JobRecords.from_url(redis_url)
    queue = JobQueue(records, Settings(REDIS_URL=redis_url))
    try:
        batch = await queue.analyze_batch(addresses)
        rescore = await queue.rescore_all()
        return [batch.id, rescore.id]
    finally:
        await records.close()
