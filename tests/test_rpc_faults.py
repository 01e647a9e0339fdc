"""The RPC client against failing nodes: a proxy that fails 20% of the requests changes nothing
in the graph, only the time; Retry-After is honoured; unreachable and refusing nodes give clear
errors."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from graph.falkor import FalkorStore
from ingest.rpc import Options, RetryPolicy, RpcClient, RpcError, RpcUnavailable, ingest_rpc
from tests.evm.node import E18, Anvil, FaultProxy, build_scenario, free_port, graph_state

pytest_plugins = ["tests.evm.fixtures"]
FAST = RetryPolicy(attempts=10, base=0.05, cap=0.5)


async def test_faults_on_20_percent_of_requests_change_nothing(
    anvil: Anvil,
    fault_proxy: FaultProxy,
    store: FalkorStore,
    falkor_server,
    graph_name: str,  # type: ignore[no-untyped-def]
) -> None:
    build_scenario(anvil)
    for i in range(60):
        anvil.send_eth(anvil.accounts[i % 5], anvil.accounts[5 + i % 4], (i + 1) * E18 // 10)
    direct = FalkorStore(falkor_server.graph_url, graph_name + "_direct")
    try:
        await direct.ensure_schema()
        async with RpcClient(anvil.url) as client:
            clean = await ingest_rpc(direct, client, Options(start=0, chunk=4))
        async with RpcClient(fault_proxy.url, timeout=0.4, retry=FAST, batch_size=2) as client:
            faulty = await ingest_rpc(store, client, Options(start=0, chunk=4))
        assert await graph_state(store) == await graph_state(direct)
    finally:
        await direct.clear()
        await direct.close()
    assert faulty.transfers == clean.transfers and faulty.blocks == clean.blocks == anvil.head + 1
    assert fault_proxy.requests >= 80
    assert set(fault_proxy.faults) == set(FaultProxy.FAULTS), fault_proxy.faults
    assert faulty.retries >= sum(fault_proxy.faults.values()) * 0.9
    share = sum(fault_proxy.faults.values()) / fault_proxy.requests
    assert 0.1 < share < 0.3


@pytest.fixture
async def limited(anvil: Anvil) -> AsyncIterator[tuple[str, list[float]]]:
    """A node that answers its first request 429 with Retry-After: 1, then forwards."""
    seen: list[float] = []
    proxy = FaultProxy(anvil.url, rate=0.0)

    async def handle(request: web.Request) -> web.Response:
        seen.append(time.monotonic())
        body = await request.read()
        if len(seen) == 1:
            return web.Response(status=429, headers={"Retry-After": "1"})
        return web.Response(body=await proxy._forward(body), content_type="application/json")

    await proxy.start()
    app = web.Application()
    app.router.add_post("/", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}", seen
    await runner.cleanup()
    await proxy.stop()


async def test_retry_after_is_honoured(limited: tuple[str, list[float]]) -> None:
    url, seen = limited
    async with RpcClient(url, retry=FAST) as client:
        assert await client.chain_id() == 31337
        assert client.stats.retries == 1 and client.stats.reasons == {"http 429": 1}
    assert seen[1] - seen[0] >= 1.0


async def test_unreachable_node_is_a_clear_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    async with RpcClient(url) as client:
        with pytest.raises(RpcUnavailable, match=f"the node at {url} is unreachable"):
            await client.check_chain(None)
    assert time.monotonic() - started < 5


@pytest.fixture
async def refusing() -> AsyncIterator[str]:
    async def handle(request: web.Request) -> web.Response:
        if request.path == "/html":
            return web.Response(text="<html>gateway</html>", content_type="text/html")
        return web.Response(status=401, text="invalid api key")

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_refusing_node_fails_fast_without_retries(refusing: str) -> None:
    async with RpcClient(refusing + "/key") as client:
        with pytest.raises(RpcError, match="HTTP 401: b'invalid api key'"):
            await client.block_number()
        assert client.stats.retries == 0
    async with RpcClient(refusing + "/html", retry=FAST) as client:
        with pytest.raises(RpcUnavailable, match="not JSON"):
            await client.block_number()


async def test_node_errors_and_batches(anvil: Anvil) -> None:
    async with RpcClient(anvil.url, batch_size=7, concurrency=3) as client:
        numbers = await client.batch([("eth_getBlockByNumber", [hex(0), False])] * 30)
        assert len(numbers) == 30 and client.stats.requests == 5
        with pytest.raises(RpcError, match="code -32601"):
            await client.call("eth_noSuchMethod")
        both = await client.batch([("eth_chainId", []), ("eth_noSuchMethod", [])], errors="return")
        assert both[0] == "0x7a69" and isinstance(both[1], RpcError) and both[1].rpc_code == -32601
    with pytest.raises(RpcError, match="http:// or https://"):
        RpcClient("ws://127.0.0.1:8545")
