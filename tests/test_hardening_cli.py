"""Issue 13, what a first-time user hit (10-12): `aidrop target --active-since 30d` on a graph of
past data, `aidrop serve --port` and the URLs it hands out, `aidrop graph wallet` for people."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from pathlib import Path

import requests

from graph import api_reads
from graph.falkor import FalkorStore
from graph.wallet_analysis import WalletAnalysis
from tests.apiserver import AIDROP, Stack
from tests.factories import addr
from tests.test_api_e2e import load
from tests.test_cli_ingest import aidrop
from tests.test_ingest_files import TX_HEADER, tx_row, write_etl

PAST = 1_700_000_000  # November 2023: a demo chain's kind of dates


def _ingest_past(cli_env: dict[str, str], tmp_path: Path) -> None:
    rows = [tx_row(i, i, i + 1, 10**18, 100 + i, PAST + i * 3600) for i in range(1, 11)]
    path = tmp_path / "transactions.csv"
    path.write_text(TX_HEADER + "\n" + "\n".join(rows) + "\n")
    assert aidrop(cli_env, "ingest", "etl", str(path)).returncode == 0
    assert aidrop(cli_env, "graph", "activity").returncode == 0


def test_relative_window_counts_back_from_the_last_transfer(cli_env: dict[str, str], tmp_path: Path) -> None:
    _ingest_past(cli_env, tmp_path)
    result = aidrop(cli_env, "target", "all", "--active-since", "30d", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["wallets"] == 11
    assert "last transfer is at 2023-11-" in result.stderr and "--as-of now" in result.stderr
    today = aidrop(cli_env, "target", "all", "--active-since", "30d", "--as-of", "now", "--json")
    assert json.loads(today.stdout)["wallets"] == 0 and "last transfer" not in today.stderr
    narrow = aidrop(cli_env, "target", "all", "--active-since", "2h", "--json")
    assert json.loads(narrow.stdout)["wallets"] == 4  # transfers 8, 9, 10 (at and after 2 h back)


def test_serve_port_option_is_the_port_of_its_urls(falkor_server, tmp_path: Path) -> None:
    s = Stack(falkor_server, tmp_path)
    env = {k: v for k, v in s.env.items() if k not in ("AIDROP_PORT", "AIDROP_PUBLIC_URL")}
    asyncio.run(load(s, 20, 4))

    async def picture() -> None:
        store = FalkorStore(falkor_server.graph_url, s.graph)
        await api_reads.write_analysis(store, addr(1), "j1", WalletAnalysis(profile_image="profiles/a.svg"))
        await store.close()

    asyncio.run(picture())
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen([AIDROP, "serve", "--port", str(s.port)], env=env, stdout=log,
                            stderr=subprocess.STDOUT, cwd=tmp_path)  # fmt: skip
    try:
        deadline = time.monotonic() + 180  # as tests/apiserver.py: a loaded CI machine starts slowly
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if requests.get(s.url + "/readyz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        query = f'{{ wallet(address: "{addr(1)}") {{ profile {{ imageUrl }} }} }}'
        body = requests.post(s.url + "/graphql", json={"query": query}, timeout=10).json()
        assert body["data"]["wallet"]["profile"]["imageUrl"].startswith(f"http://127.0.0.1:{s.port}/blobs/")
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        s.server.client().delete(s.graph)
    banner = (tmp_path / "serve.log").read_text()
    assert f"AIDROP_PORT={s.port}" in banner


def test_graph_wallet_reads_for_people(cli_env: dict[str, str], tmp_path: Path) -> None:
    assert aidrop(cli_env, "ingest", "etl", str(write_etl(tmp_path / "etl"))).returncode == 0
    shown = aidrop(cli_env, "graph", "wallet", addr(3))
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    assert "1970-01-01 00:17" in text  # block time 1030 as a date, not epoch seconds
    assert "2.5000 USDX" in text and "to   " + addr(4) in text  # the token's symbol and amount
    assert not text.lstrip().startswith("{")
    data = json.loads(aidrop(cli_env, "graph", "wallet", addr(3), "--json").stdout)
    assert data["stats"]["out_degree"] >= 2
