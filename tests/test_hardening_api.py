"""Issue 13, findings 2, 3 and 9 replayed against a real `aidrop serve`: each gets its typed error
and the server keeps serving (query cost through nesting, long list variables, NUL bytes, a
`job:nan` cursor, JSON nested 100,000 deep, huge invalid input, the /graphql/ redirect, the
database's own time limit)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator

import pytest
import requests

from core.errors import GraphUnavailable, QueryTimeout
from graph.cypher import Statement
from graph.falkor import FalkorStore
from graph.store import GraphStore
from tests.apiserver import KEY, Stack, stack
from tests.conftest import free_port
from tests.test_api_e2e import load
from tests.test_api_safety import code_of, still_serving

ATTACK = """{ wallets(first:100){ edges{ node{ counterparties(first:100){ wallet{ counterparties(first:100){
  wallet{ counterparties(first:100){ wallet{ address } } } } } } } } } }"""


@pytest.fixture(scope="module")
async def api(falkor_server, tmp_path_factory) -> AsyncIterator[Stack]:
    with stack(falkor_server, tmp_path_factory.mktemp("hardening"), workers=0) as s:
        await load(s, 100, 10)
        yield s


def test_cost_multiplies_page_sizes_through_nesting(api: Stack) -> None:
    started = time.monotonic()
    body = api.gql(ATTACK)
    assert code_of(body) == "QUERY_TOO_COMPLEX" and "cost" in body["errors"][0]["message"]
    assert time.monotonic() - started < 5
    # the same through a fragment and a variable page size (counted at the cap)
    frag = """query($n: Int!) { wallets(first: $n) { edges { node { ...W } } } }
      fragment W on Wallet { counterparties(first: 100) { wallet { counterparties(first: 100) {
      address } } } }"""
    assert code_of(api.gql(frag, {"n": 5})) == "QUERY_TOO_COMPLEX"
    # two levels of 100 (what a frontend's list with counterparties asks) still run
    ok = "{ wallets(first: 100) { edges { node { counterparties(first: 100) { address } } } } }"
    assert len(api.data(ok)["wallets"]["edges"]) == 10
    still_serving(api)


def test_long_list_variables(api: Stack) -> None:
    query = "query($c: [String!]) { previewSegment(filter: {typologies: $c}) { size } }"
    response = api.post({"query": query, "variables": {"c": ["*"] * 100_000}})
    assert response.status_code == 400 and code_of(response.json()) == "QUERY_TOO_COMPLEX"
    assert "100000 items" in response.json()["errors"][0]["message"]
    assert api.data(query, {"c": ["*"] * 10})["previewSegment"]["size"] >= 0
    still_serving(api)


def test_nul_bytes(api: Stack) -> None:
    listed = "query($c: [String!]) { previewSegment(filter: {categories: $c}) { size } }"
    assert code_of(api.gql(listed, {"c": ["DeFi\x00x", "y"]})) == "BAD_USER_INPUT"
    single = "query($m: String) { topAnomalies(first: 3, model: $m) { address } }"
    assert code_of(api.gql(single, {"m": "a\x00b"})) == "BAD_USER_INPUT"
    still_serving(api)


def test_nan_cursor(api: Stack) -> None:
    for raw in ("job:nan", "job:inf", "job:-inf"):
        after = base64.urlsafe_b64encode(raw.encode()).decode()
        body = api.gql("query($a: String) { jobs(first: 2, after: $a) { edges { cursor } } }", {"a": after})
        assert code_of(body) == "BAD_USER_INPUT", raw


def test_deep_json_is_a_typed_error(api: Stack) -> None:
    response = api.post("[" * 100_000)
    assert response.status_code == 400 and code_of(response.json()) == "BAD_REQUEST"
    still_serving(api)


def test_invalid_input_is_not_echoed_in_full(api: Stack) -> None:
    huge = "0x" + "z" * 900_000
    response = api.post(
        {"query": "query($a: String!) { wallet(address: $a) { address } }", "variables": {"a": huge}}
    )
    assert code_of(response.json()) == "INVALID_ADDRESS"
    assert len(response.content) < 2_000
    after = base64.urlsafe_b64encode(b"job:" + b"9" * 500_000).decode()
    body = api.post(
        {"query": "query($a: String) { jobs(after: $a) { edges { cursor } } }", "variables": {"a": after}}
    )
    assert len(body.content) < 2_000


def test_graphql_slash_redirect_ignores_the_host_header(api: Stack) -> None:
    response = requests.get(api.url + "/graphql/", headers={"Host": "evil.example"}, allow_redirects=False,
                            timeout=5)  # fmt: skip
    assert response.status_code in (301, 302, 307, 308)
    assert "evil" not in response.headers["location"] and response.headers["location"] == "/graphql"


def test_graph_unavailable_names_no_host() -> None:
    import asyncio

    from graph import cypher as q

    port = free_port()

    async def probe() -> None:
        store = FalkorStore(f"falkor://127.0.0.1:{port}", "nowhere")
        try:
            await store.query(q.REGISTRY[next(iter(q.REGISTRY))], {})
        finally:
            await store.close()

    with pytest.raises(GraphUnavailable) as caught:
        asyncio.run(probe())
    assert str(port) not in str(caught.value) and "127.0.0.1" not in str(caught.value)


# 9 million rows counted: seconds in either database, far over the 50 ms limit below
SLOW = Statement("probe_slow", "UNWIND range(1, 3000) AS a UNWIND range(1, 3000) AS b RETURN count(*) AS n")


async def test_reads_stop_at_the_query_timeout(any_store: GraphStore) -> None:
    any_store.query_timeout = 0.05
    started = time.monotonic()
    with pytest.raises(QueryTimeout) as caught:
        await any_store.query(SLOW)
    assert caught.value.code == "QUERY_TIMEOUT"
    assert time.monotonic() - started < 3
    any_store.query_timeout = 0
    assert (await any_store.query(Statement("probe_fast", "RETURN 1 AS n")))[0]["n"] == 1


def test_query_timeout_reaches_the_client(falkor_server, tmp_path) -> None:
    env = {"AIDROP_QUERY_TIMEOUT": "0.001"}
    with stack(falkor_server, tmp_path, env, workers=0) as s:
        import asyncio

        asyncio.run(load(s, 3000, 400))
        query = "query($c: [String!]) { previewSegment(filter: {typologies: $c, minVolume: 0}) { size } }"
        patterns = [f"{a}-*-*-*" for a in "DNGSU"] * 200
        codes = {code_of(s.gql(query, {"c": patterns})) for _ in range(3)}
        assert "QUERY_TIMEOUT" in codes, codes
        assert json.loads(requests.get(s.url + "/healthz", timeout=5).text) == {"status": "ok"}


# ---- finding 4: the rate limit ------------------------------------------------------------------
LIMITED = {"AIDROP_RATE_LIMIT": "1", "AIDROP_RATE_BURST": "5"}
OK = "{ typologies { code } }"


def forwarded(s: Stack, address: str) -> int:
    headers = {"X-Forwarded-For": address}
    return requests.post(s.url + "/graphql", json={"query": OK}, headers=headers, timeout=10).status_code


def test_forwarded_for_buys_no_bucket(falkor_server, tmp_path) -> None:
    with stack(falkor_server, tmp_path, LIMITED, workers=0) as s:
        codes = [forwarded(s, f"10.0.{i}.1") for i in range(12)]
        assert codes.count(200) <= 6 and 429 in codes, codes


def test_trusted_proxy_is_configured_explicitly(falkor_server, tmp_path) -> None:
    with stack(falkor_server, tmp_path, {**LIMITED, "AIDROP_TRUSTED_PROXIES": "127.0.0.1"}, workers=0) as s:
        codes = [forwarded(s, f"10.0.{i}.1") for i in range(12)]
        assert codes == [200] * 12  # each forwarded client its own bucket, as configured


def test_websocket_operations_are_counted(falkor_server, tmp_path) -> None:
    from websockets.sync.client import connect

    with stack(falkor_server, tmp_path, LIMITED, workers=0) as s:
        url = s.url.replace("http", "ws") + "/graphql"
        with connect(url, subprotocols=["graphql-transport-ws"]) as ws:
            ws.send(json.dumps({"type": "connection_init", "payload": {}}))
            assert json.loads(ws.recv(timeout=5))["type"] == "connection_ack"
            for i in range(15):
                ws.send(json.dumps({"id": str(i), "type": "subscribe", "payload": {"query": OK}}))
            seen: dict[str, str] = {}
            deadline = time.monotonic() + 10
            while len(seen) < 15 and time.monotonic() < deadline:
                msg = json.loads(ws.recv(timeout=5))
                if msg["type"] in ("next", "error"):
                    seen[msg["id"]] = (
                        msg["type"] if msg["type"] == "next" else msg["payload"][0]["extensions"]["code"]
                    )
        assert list(seen.values()).count("RATE_LIMITED") >= 8, seen
        assert s.post({"query": OK}).status_code == 429  # the same client's HTTP shares the bucket


def test_rate_limit_is_shared_by_api_processes(falkor_server, tmp_path) -> None:
    with stack(falkor_server, tmp_path, LIMITED, workers=0) as s:
        second = Stack(falkor_server, tmp_path / "second", None)
        (tmp_path / "second").mkdir()
        second.env = {**s.env, "AIDROP_PORT": str(second.port), "AIDROP_PUBLIC_URL": second.url}
        second.redis_url, second.graph = s.redis_url, s.graph
        second.start_api()
        try:
            codes = [(s if i % 2 else second).post({"query": OK}, key=KEY).status_code for i in range(12)]
        finally:
            second.api.terminate()
            second.api.wait(timeout=15)
        assert codes.count(200) <= 6 and 429 in codes, codes


def test_long_list_variables_over_get(api: Stack) -> None:
    query = "query($c: [String!]) { previewSegment(filter: {typologies: $c}) { size } }"
    variables = json.dumps({"c": ["*"] * 1500})
    got = requests.get(api.url + "/graphql", params={"query": query, "variables": variables}, timeout=10)
    assert code_of(got.json()) == "QUERY_TOO_COMPLEX"
