"""Hostile and broken requests each get their typed error in `extensions.code`, never a stack
trace, and the server keeps serving: invalid, checksum-broken and empty addresses, a depth-25
query, 500 aliases, `first: 100000`, a 5 MB body, mutations without a key, a flood (rate limit),
reads behind keys when configured; /healthz, /readyz, /metrics."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
import requests
from graphql import GraphQLError

from api.safety import INTERNAL, code_error
from tests.apiserver import KEY, Stack, stack
from tests.factories import addr
from tests.test_api_e2e import load

OK = "{ typologies { code } }"


@pytest.fixture(scope="module")
async def api(falkor_server, tmp_path_factory) -> AsyncIterator[Stack]:
    with stack(falkor_server, tmp_path_factory.mktemp("safety"), workers=0) as s:
        await load(s, 100, 10)
        yield s


def code_of(body: dict) -> str:
    assert body.get("errors"), body
    text = json.dumps(body)
    assert "Traceback" not in text and 'File "' not in text
    return body["errors"][0]["extensions"]["code"]


def still_serving(api: Stack) -> None:
    assert requests.get(api.url + "/healthz", timeout=5).json() == {"status": "ok"}
    assert api.gql(f'{{ wallet(address: "{addr(1)}") {{ address }} }}')["data"]["wallet"]["address"] == addr(
        1
    )


WALLET = "query($a: String!) { wallet(address: $a) { address } }"


@pytest.mark.parametrize(
    "address",
    [
        "0x123",  # too short
        "0xzz00000000000000000000000000000000000001",  # not hex
        "52908400098527886e0f7030069857d2e4169ee7",  # no 0x
        "0x52908400098527886E0F7030069857D2E4169Ee7",  # mixed case, checksum broken (last letter)
        "",
        "   ",
    ],
)
def test_bad_addresses(api: Stack, address: str) -> None:
    body = api.gql(WALLET, {"a": address})
    assert code_of(body) == "INVALID_ADDRESS" and body["data"] == {"wallet": None}
    body = api.gql("mutation($a: String!) { analyzeWallet(address: $a) { id } }", {"a": address}, key=KEY)
    assert code_of(body) == "INVALID_ADDRESS"
    still_serving(api)


def test_checksummed_and_unknown_addresses(api: Stack) -> None:
    checksummed = "0x52908400098527886E0F7030069857D2E4169EE7"  # valid EIP-55 (all caps body) and unknown
    assert code_of(api.gql(WALLET, {"a": checksummed})) == "NOT_FOUND"
    assert api.data(WALLET, {"a": "0x" + addr(1)[2:].upper()})["wallet"]["address"] == addr(1)


def test_one_bad_address_in_a_batch_queues_nothing(api: Stack) -> None:
    body = api.gql("mutation($a: [String!]!) { analyzeWallets(addresses: $a) { id } }",
                   {"a": [addr(1), "0xnope"]}, key=KEY)  # fmt: skip
    assert code_of(body) == "INVALID_ADDRESS"
    jobs = api.data("{ jobs(first: 10) { edges { node { id } } } }")["jobs"]["edges"]
    assert jobs == []
    assert code_of(api.gql("mutation { analyzeWallets(addresses: []) { id } }", key=KEY)) == "BAD_USER_INPUT"


def test_depth_25(api: Stack) -> None:
    inner = "address"
    for _ in range(12):
        inner = f"neighbourhood {{ nodes {{ {inner} }} }}"
    query = f'{{ wallet(address: "{addr(1)}") {{ {inner} }} }}'  # 1 + 2 x 12 = depth 25
    body = api.gql(query)
    assert code_of(body) == "QUERY_TOO_COMPLEX" and "depth 25" in body["errors"][0]["message"]
    still_serving(api)


def test_depth_through_fragments(api: Stack) -> None:
    frags = "fragment F0 on Wallet { address }\n" + "\n".join(
        f"fragment F{i} on Wallet {{ neighbourhood {{ nodes {{ ...F{i - 1} }} }} }}" for i in range(1, 13)
    )
    body = api.gql(f'{{ wallet(address: "{addr(1)}") {{ ...F12 }} }}\n{frags}')
    assert code_of(body) == "QUERY_TOO_COMPLEX"


def test_aliases(api: Stack) -> None:
    many = "{ " + " ".join(f"a{i}: typologies {{ code }}" for i in range(500)) + " }"
    assert code_of(api.gql(many)) == "QUERY_TOO_COMPLEX"  # 500 aliases: over the token limit first
    some = "{ " + " ".join(f"a{i}: __typename" for i in range(31)) + " }"  # few tokens, 31 aliases
    body = api.gql(some)
    assert code_of(body) == "QUERY_TOO_COMPLEX" and "aliases" in body["errors"][0]["message"]
    assert api.gql("{ " + " ".join(f"a{i}: __typename" for i in range(30)) + " }")["data"]["a29"] == "Query"
    still_serving(api)


def test_page_sizes(api: Stack) -> None:
    for query in (
        "{ wallets(first: 100000) { edges { cursor } } }",
        "{ topAnomalies(first: 100000) { address } }",
        "{ jobs(first: 100000) { edges { cursor } } }",
        f'{{ wallet(address: "{addr(1)}") {{ transfers(first: 100000) {{ edges {{ cursor }} }} }} }}',
        f'{{ wallet(address: "{addr(1)}") {{ counterparties(first: 100000) {{ address }} }} }}',
        f'{{ wallet(address: "{addr(1)}") {{ neighbourhood(limit: 100000) {{ addresses }} }} }}',
    ):
        body = api.gql(query)
        assert code_of(body) == "QUERY_TOO_COMPLEX", query
        assert "at most 100" in body["errors"][0]["message"]
    assert code_of(api.gql("{ wallets(first: 0) { edges { cursor } } }")) == "BAD_USER_INPUT"
    assert (
        code_of(api.gql('{ wallets(first: 5, after: "garbage!") { edges { cursor } } }')) == "BAD_USER_INPUT"
    )
    hops = api.gql(f'{{ wallet(address: "{addr(1)}") {{ neighbourhood(hops: 9) {{ addresses }} }} }}')
    assert code_of(hops) == "BAD_USER_INPUT"
    assert len(api.data("{ wallets(first: 100) { edges { cursor } } }")["wallets"]["edges"]) == 10
    still_serving(api)


def test_five_megabyte_body(api: Stack) -> None:
    body = json.dumps({"query": OK + " #" + "x" * 5_000_000})
    response = api.post(body)
    assert response.status_code == 413
    assert code_of(response.json()) == "REQUEST_TOO_LARGE"
    # the same without a Content-Length (chunked upload)
    chunks = (body[i : i + 65536].encode() for i in range(0, len(body), 65536))
    response = requests.post(api.url + "/graphql", data=chunks, headers={"Content-Type": "application/json"},
                             timeout=30)  # fmt: skip
    assert response.status_code == 413 and code_of(response.json()) == "REQUEST_TOO_LARGE"
    still_serving(api)


def test_mutations_need_a_key(api: Stack) -> None:
    mutation = f'mutation {{ analyzeWallet(address: "{addr(1)}") {{ id }} }}'
    for key in (None, "wrong-key", ""):
        body = api.gql(mutation, key=key)
        assert code_of(body) == "UNAUTHENTICATED" and body["data"] is None
    assert code_of(api.gql("mutation { ingestBlocks(from: 1, to: 2) { id } }")) == "UNAUTHENTICATED"
    assert api.data(mutation)["analyzeWallet"]["id"]  # with the key
    assert api.gql(OK)["data"]["typologies"] == []  # reads are open by default
    still_serving(api)


def test_not_json_and_not_graphql(api: Stack) -> None:
    assert api.post("{not json").status_code == 400
    assert api.post({"variables": {}}).status_code == 400  # no query
    assert api.post({"query": OK, "variables": [1]}).status_code == 400
    assert api.post([{"query": OK}]).status_code == 400  # batches are not enabled
    sub = api.post({"query": 'subscription { jobUpdates(id: "x") { id } }'})
    assert sub.status_code == 400 and "subscriptions" in sub.text
    # GET works for queries (strawberry's view), not for mutations
    got = requests.get(api.url + "/graphql", params={"query": OK}, timeout=5)
    assert got.status_code == 200 and got.json() == {"data": {"typologies": []}}
    mutation = f'mutation {{ analyzeWallet(address: "{addr(1)}") {{ id }} }}'
    assert requests.get(api.url + "/graphql", params={"query": mutation}, timeout=5).status_code == 400
    assert code_of(api.gql("{ typologies { code ")) == "GRAPHQL_PARSE_FAILED"
    assert code_of(api.gql("{ nope }")) == "GRAPHQL_VALIDATION_FAILED"
    still_serving(api)


def test_unexpected_errors_are_masked() -> None:
    error = GraphQLError("boom", original_error=RuntimeError("secret detail at /srv/x.py line 3"))
    coded = code_error(error)
    assert coded.extensions == {"code": INTERNAL} and "secret" not in coded.message


def test_health_readiness_metrics(api: Stack) -> None:
    ready = requests.get(api.url + "/readyz", timeout=5)
    assert ready.status_code == 200 and ready.json() == {"status": "ready", "graph": "ok", "redis": "ok"}
    text = requests.get(api.url + "/metrics", timeout=5).text
    assert 'aidrop_http_requests_total{route="/graphql",status="413"}' in text
    assert 'aidrop_graphql_errors_total{code="INVALID_ADDRESS"}' in text
    assert 'aidrop_graphql_operations_total{type="query"}' in text
    assert 'aidrop_graphql_operations_total{type="mutation"}' in text  # the keyless one, refused
    assert "aidrop_http_request_seconds_bucket" in text and 'aidrop_jobs{status="queued"}' in text


def test_rate_limit_per_key(falkor_server, tmp_path) -> None:
    with stack(falkor_server, tmp_path, {"AIDROP_RATE_LIMIT": "2", "AIDROP_RATE_BURST": "5"}, workers=0) as s:
        codes = [s.post({"query": OK}, key=KEY).status_code for _ in range(8)]
        assert codes[:5] == [200] * 5 and 429 in codes[5:]
        limited = s.post({"query": OK}, key=KEY)
        assert limited.status_code == 429 and limited.headers["Retry-After"]
        assert code_of(limited.json()) == "RATE_LIMITED"
        # another client (no key: by address) has its own budget; made-up keys share it
        assert s.post({"query": OK}).status_code == 200
        assert requests.get(s.url + "/healthz", timeout=5).status_code == 200


def _subscribe(s: Stack, job_id: str, payload: dict) -> dict:
    """The first message of a jobUpdates subscription (graphql-transport-ws)."""
    from websockets.sync.client import connect

    with connect(s.url.replace("http", "ws") + "/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        assert json.loads(ws.recv(timeout=5))["type"] == "connection_ack"
        query = "subscription($id: ID!) { jobUpdates(id: $id) { id status } }"
        ws.send(
            json.dumps(
                {"id": "1", "type": "subscribe", "payload": {"query": query, "variables": {"id": job_id}}}
            )
        )
        return json.loads(ws.recv(timeout=10))


def test_reads_behind_keys(falkor_server, tmp_path) -> None:
    with stack(falkor_server, tmp_path, {"AIDROP_READ_AUTH": "true"}, workers=0) as s:
        assert code_of(s.gql(OK)) == "UNAUTHENTICATED"
        assert code_of(s.gql(OK, key="nope")) == "UNAUTHENTICATED"
        assert s.data(OK)["typologies"] == []
        job = s.data("mutation { ingestBlocks(from: 1, to: 2) { id } }")["ingestBlocks"]["id"]
        # browsers cannot set headers on a WebSocket: the key comes in connection_init
        first = _subscribe(s, job, {"X-API-Key": KEY})
        assert first["type"] == "next" and first["payload"]["data"]["jobUpdates"]["status"] == "QUEUED"
        refused = _subscribe(s, job, {})
        assert refused["payload"][0]["extensions"]["code"] == "UNAUTHENTICATED", refused
