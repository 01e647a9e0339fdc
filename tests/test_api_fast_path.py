"""The GraphQL fast path runs only on the strawberry and graphql-core versions it was built for,
and answers like strawberry's own path (which serves everything otherwise)."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from api import fast_path
from api.app import GraphQLApp
from api.context import Services
from api.metrics import Metrics
from core.settings import Settings
from tests.test_api_execution import KNOWN, PLAIN, Blobs, Store

ROOT = Path(__file__).resolve().parents[1]
QUERIES = [
    {"query": "query($a: String!) { wallet(address: $a) { address typology { code } stats { fanIn } } }",
     "variables": {"a": KNOWN}},
    {"query": "query($a: String!) { wallet(address: $a) { address anomaly { score } } }",
     "variables": {"a": PLAIN}},
    {"query": "query($a: String!) { wallet(address: $a) { address } }", "variables": {"a": "0x" + "ef" * 20}},
    {"query": "query($a: String!) { wallet(address: $a) { address } }", "variables": {"a": "nope"}},
    {"query": "{ wallet(address: 1) { address } }"},
    {"query": "{ wallet(address: "},
    {"query": "{ __typename }", "variables": []},
]  # fmt: skip


def test_pyproject_pins_the_versions_the_fast_path_was_built_for() -> None:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = dict(m.groups() for d in deps if (m := re.fullmatch(r"([\w-]+)==([\w.]+)", d)))
    for package, built_for in fast_path.BUILT_FOR.items():
        assert pins.get(package) == built_for, package
    assert fast_path.mismatches() == []  # and they are what is installed
    assert fast_path.enabled()


def test_other_versions_or_the_setting_turn_it_off(caplog: pytest.LogCaptureFixture) -> None:
    assert not fast_path.enabled(False)
    other = {**fast_path.BUILT_FOR, "graphql-core": "3.2.0"}
    assert fast_path.mismatches(other) == ["graphql-core 3.3.2 (built for 3.2.0)"]
    assert not fast_path.enabled(True, other)
    assert "fast path off" in caplog.text


async def _post(app: GraphQLApp, body: dict[str, Any]) -> tuple[int, Any]:
    raw = json.dumps(body).encode()
    scope = {
        "type": "http", "method": "POST", "path": "/graphql", "raw_path": b"/graphql", "root_path": "",
        "scheme": "http", "query_string": b"", "http_version": "1.1", "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 1), "headers": [(b"content-type", b"application/json")],
    }  # fmt: skip
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": raw, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    text = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body").decode()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


@pytest.mark.parametrize("body", QUERIES)
async def test_both_paths_answer_alike(body: dict[str, Any]) -> None:
    answers = []
    for on in (True, False):
        settings = Settings(AIDROP_FAST_PATH=on)
        app = GraphQLApp({"services": Services(settings, Store(), Blobs(), None, None)}, settings, Metrics())  # type: ignore[arg-type]  # test doubles of the graph and blob stores
        assert app.fast is on
        answers.append(await _post(app, body))
    assert answers[0] == answers[1]
