"""GraphiQL works on an air-gapped machine: headless Chromium (Debian's `chromium`) with every host
but 127.0.0.1 unresolvable opens /graphql from the running server, runs a query with the execute
button, and the test reads the result from the page (over the DevTools protocol)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from websockets.sync.client import ClientConnection, connect

from tests.apiserver import Stack, stack
from tests.conftest import free_port
from tests.factories import addr
from tests.test_api_e2e import load

QUERY = f'{{ wallet(address: "{addr(3)}") {{ address stats {{ fanIn fanOut }} }} }}'


@pytest.fixture(scope="module")
async def api(falkor_server, tmp_path_factory) -> AsyncIterator[Stack]:
    with stack(falkor_server, tmp_path_factory.mktemp("graphiql"), workers=0) as s:
        await load(s, 200, 10)
        yield s


class Page:
    """One Chromium tab driven over the DevTools protocol."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=30))
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(message["error"])
                return message.get("result", {})
            self.events.append(message)

    def eval(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"].get("value")

    def wait(self, expression: str, timeout: float = 30) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.eval(expression)
            if value:
                return value
            time.sleep(0.2)
        body = self.eval("document.body ? document.body.innerText.slice(0, 800) : ''")
        raise AssertionError(f"timed out waiting for {expression}; the page shows:\n{body}")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Page]:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.fail("Debian's chromium is needed (scripts/test installs it: apt-get install chromium)")
    port = free_port()
    proc = subprocess.Popen(
        [
            binary,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--remote-debugging-port={port}",
            "--remote-allow-origins=*",
            # an air-gapped machine: no name but the loopback resolves, no proxy
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--no-proxy-server",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        target = None
        while time.monotonic() < deadline and target is None:
            try:
                pages = requests.get(f"http://127.0.0.1:{port}/json/list", timeout=2).json()
                target = next((p for p in pages if p.get("type") == "page"), None)
            except requests.RequestException:
                time.sleep(0.2)
        assert target is not None, "chromium's DevTools endpoint did not come up"
        with connect(target["webSocketDebuggerUrl"], max_size=2**24) as ws:
            yield Page(ws)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_graphiql_runs_a_query_offline(api: Stack, browser: Page) -> None:
    html = requests.get(api.url + "/graphql", headers={"Accept": "text/html"}, timeout=5).text
    assert "unpkg.com" not in html and "cdn" not in html.lower() and "/graphiql/graphiql.min.js" in html

    browser.call("Network.enable")
    browser.call("Page.enable")
    browser.call("Page.navigate", url=f"{api.url}/graphql?q={urllib.parse.quote(QUERY)}")
    browser.wait("!!document.querySelector('.graphiql-execute-button')")
    assert (
        browser.eval("document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.getValue()")
        == QUERY
    )
    browser.eval("document.querySelector('.graphiql-execute-button').click()")
    text = browser.wait(
        "(() => { const cm = document.querySelector('.result-window .CodeMirror');"
        " const v = cm && cm.CodeMirror.getValue(); return v && v.includes('fanIn') ? v : null; })()"
    )
    shown = json.loads(text)
    assert shown == api.gql(QUERY)
    assert shown["data"]["wallet"]["address"] == addr(3) and shown["data"]["wallet"]["stats"]["fanIn"] >= 0

    requested = {
        e["params"]["request"]["url"]
        for e in browser.events
        if e.get("method") == "Network.requestWillBeSent"
    }
    hosts = {urllib.parse.urlparse(u).hostname for u in requested if not u.startswith("data:")}
    assert hosts == {"127.0.0.1"}, requested
    assert any(u.endswith("/graphiql/graphiql.min.js") for u in requested)
    failed = [e for e in browser.events if e.get("method") == "Network.loadingFailed"]
    assert not failed, failed
