"""The read-only fields the web app's dashboards use (issue 18): a wallet's value in and out per UTC
day on both backends, the registry's models and cluster map, and /app/ serving the web app's
build with deep links (or a page saying how to build it)."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from api.webapp import routes
from graph.api_reads import DailyFlow, daily_flows
from graph.store import GraphStore
from tests.factories import addr, transfers

DAY = 86400
TOKEN = addr(999)
# wallet 1: day 10 sends 1.5 + 2.5 to 2 and gets 0.5 from 3; day 12 sends a token and gets 1.0
ROWS = [
    (1, 2, 101, 1.5, 10 * DAY + 5),
    (1, 2, 102, 2.5, 10 * DAY + 3_600),
    (3, 1, 103, 0.5, 10 * DAY + 80_000),
    (1, 4, 104, 7.0, 12 * DAY, TOKEN, 3),
    (2, 1, 105, 1.0, 12 * DAY + 10),
    (2, 3, 106, 9.0, 11 * DAY),
]


async def test_daily_flows(any_store: GraphStore) -> None:
    await any_store.write_transfers(transfers(ROWS))
    days = await daily_flows(any_store, addr(1))
    assert days == [
        DailyFlow(10 * DAY, value_in=0.5, value_out=4.0, transfers_in=1, transfers_out=2),
        DailyFlow(12 * DAY, value_in=1.0, value_out=0.0, transfers_in=1, transfers_out=1),
    ]
    assert [d.day for d in await daily_flows(any_store, addr(1), since=11 * DAY)] == [12 * DAY]
    assert [d.day for d in await daily_flows(any_store, addr(1), until=11 * DAY)] == [10 * DAY]
    assert await daily_flows(any_store, addr(77)) == []


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><div id=root></div>")
    (tmp_path / "assets" / "index-abc.js").write_text("console.log(1)")
    return tmp_path


def test_app_serves_the_build_with_deep_links(dist: Path) -> None:
    client = TestClient(Starlette(routes=routes(dist)))
    assert client.get("/app", follow_redirects=False).headers["location"] == "/app/"
    for path in ("/app/", "/app/wallet/0xabc", "/app/segments/risky", "/app/campaigns/quest"):
        page = client.get(path)
        assert page.status_code == 200 and "<div id=root>" in page.text, path
    asset = client.get("/app/assets/index-abc.js")
    assert asset.text == "console.log(1)" and "immutable" in asset.headers["cache-control"]
    assert client.get("/app/assets/missing.js").status_code == 404
    # text assets go gzipped to clients that take it (the test client does), as they are otherwise
    packed = client.get("/app/assets/index-abc.js", headers={"Accept-Encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip" and packed.text == "console.log(1)"
    assert packed.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    plain = client.get("/app/assets/index-abc.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.text == "console.log(1)"
    assert client.get("/app/../../etc/passwd").status_code in (200, 404)  # never outside the build
    assert "root:" not in client.get("/app/%2e%2e/%2e%2e/etc/passwd").text


def test_app_without_a_build_says_how_to_build_it(tmp_path: Path) -> None:
    client = TestClient(Starlette(routes=routes(tmp_path / "none")))
    page = client.get("/app/wallet/0xabc")
    assert page.status_code == 503 and "npm ci &amp;&amp; npm run build" in page.text
