"""`aidrop ingest` and `aidrop graph` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import dataset
from tests.test_ingest_files import TX_HEADER, tx_row

pytestmark = pytest.mark.both_backends

AIDROP = [sys.executable, "-m", "aidrop"]


def aidrop(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*AIDROP, *args], env=env, capture_output=True, text=True, timeout=300)


def test_xblock_twice_same_stats(cli_env: dict[str, str]) -> None:
    folder = str(dataset("xblock-phishing"))
    first = aidrop(cli_env, "ingest", "etl", folder, "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["transfers_written"] == 101_307
    stats = aidrop(cli_env, "graph", "stats", "--json").stdout
    second = aidrop(cli_env, "ingest", "etl", folder, "--json")
    assert json.loads(second.stdout)["transfers_written"] == 0
    assert aidrop(cli_env, "graph", "stats", "--json").stdout == stats
    assert json.loads(stats)["transfers"] == 101_307


def test_bad_rows_are_named_and_the_rest_loaded(cli_env: dict[str, str], tmp_path: Path) -> None:
    rows = [tx_row(i, i, i + 1, 10**18, 100 + i, 1_000 + i) for i in range(1, 6)]
    rows[2] = rows[2].replace("0x", "0y", 1)  # line 4: bad hash
    path = tmp_path / "transactions.csv"
    path.write_text(TX_HEADER + "\n" + "\n".join(rows) + "\n")
    errors = tmp_path / "rejected.txt"
    result = aidrop(cli_env, "ingest", "etl", str(path), "--errors", str(errors))
    assert result.returncode == 0, result.stderr
    assert "rejected transactions.csv:4: hash: not a transaction hash" in result.stderr
    assert "transfers written 4" in result.stdout and "rows rejected 1" in result.stdout
    assert errors.read_text().startswith("transactions.csv:4: hash")


def test_wallet_lookup_and_typed_errors(cli_env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "transactions.csv"
    path.write_text(TX_HEADER + "\n" + tx_row(1, 1, 2, 10**18, 100, 1_000) + "\n")
    assert aidrop(cli_env, "ingest", "etl", str(path)).returncode == 0
    wallet = aidrop(cli_env, "graph", "wallet", "0x" + "0" * 39 + "1", "--json")
    assert wallet.returncode == 0, wallet.stderr
    shown = json.loads(wallet.stdout)
    assert shown["stats"]["out_degree"] == 1 and shown["transfers"][0]["value"] == 1.0
    bad = aidrop(cli_env, "graph", "wallet", "0x12345")
    assert bad.returncode == 2 and "INVALID_ADDRESS" in bad.stderr and "0x12345" in bad.stderr
    missing = aidrop(cli_env, "graph", "wallet", "0x" + "9" * 40)
    assert missing.returncode == 2 and "NOT_FOUND" in missing.stderr
    nofile = aidrop(cli_env, "ingest", "etl", str(tmp_path / "nothing.csv"))
    assert nofile.returncode == 2 and "Traceback" not in nofile.stderr
