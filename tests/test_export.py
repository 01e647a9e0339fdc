"""`neo4j-admin database import` export: CSV headers, rows, quoting, import.sh, and the CLI."""

from __future__ import annotations

import csv
import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from graph import cypher as q
from graph.export import RESULT_COLUMNS, TRANSFER_HEADER, WALLET_HEADER, export_neo4j_admin, schema_statements
from graph.falkor import FalkorStore
from tests.factories import addr, transfers, tx

pytestmark = pytest.mark.both_backends

ROOT = Path(__file__).resolve().parents[1]
TOKEN = addr(100)
ODD_NAME = 'Swap, "Router" v2; \\ best'

# (from, to, tx, value, ts[, token, log_index]): 6 transfers among wallets 1..4 and the token.
ROWS = [
    (1, 2, 1, 1.5, 1_600_000_000),
    (1, 3, 2, 0.25, 1_600_000_100),
    (2, 3, 3, 1e-18, 1_600_000_200),
    (3, 1, 4, 12345.678, 1_600_000_300),
    (4, 2, 5, 7.0, 1_600_000_400, TOKEN, 0),
    (4, 2, 5, 8.0, 1_600_000_400, TOKEN, 1),
]


async def load(store: FalkorStore) -> None:
    await store.write_transfers(transfers(ROWS))
    await store.upsert_contracts(
        [
            {"address": addr(2), "category": "DeFi", "name": ODD_NAME, "block": 12_345},
            {"address": addr(5), "category": "NFT", "name": "line\nbreak"},  # no transfers
        ]
    )
    await store.upsert_tokens([{"address": TOKEN, "symbol": "TKN", "name": "Token, Inc.", "decimals": 6}])


def read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return rows[0], [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


async def test_export_writes_import_csvs(store: FalkorStore, tmp_path: Path) -> None:
    await load(store)
    out = tmp_path / "export"
    summary = await export_neo4j_admin(store, out, page=2)  # several pages

    assert summary["nodes"] == 6  # wallets 1..5 and the token
    assert summary["relationships"] == len(ROWS)
    assert summary["labels"] == {"Contract": 2, "Token": 1, "Wallet": 6}
    # the ingest bookkeeping (:Meta), the chain (:Chain) and contracts' and tokens' ON_CHAIN
    # travel with the rest of the graph that is not wallets
    names = sorted(Path(f).name for f in summary["files"])
    assert names == ["import.sh", "nodes-chain.csv", "nodes-meta.csv", "relationships-on_chain-10.csv",
                     "transfers.csv", "wallets.csv"]  # fmt: skip

    header, wallets = read(out / "wallets.csv")
    assert header == WALLET_HEADER
    assert header[:7] == [
        "address:ID(Wallet)", ":LABEL", "category", "name", "created_block:long", "symbol", "decimals:int",
    ]  # fmt: skip
    assert header[7:] == RESULT_COLUMNS  # the analysis results (none yet: empty)
    by_address = {w["address:ID(Wallet)"]: w for w in wallets}
    assert len(by_address) == len(wallets) == 6
    assert by_address[addr(1)] == {
        **dict.fromkeys(header, ""),
        "address:ID(Wallet)": addr(1),
        ":LABEL": "Wallet",
    }
    assert by_address[addr(2)][":LABEL"] == "Wallet;Contract"
    assert by_address[addr(2)]["category"] == "DeFi"
    assert by_address[addr(2)]["name"] == ODD_NAME
    assert by_address[addr(2)]["created_block:long"] == "12345"
    assert by_address[addr(5)]["name"] == "line break"  # neo4j-admin reads one record per line
    assert by_address[TOKEN][":LABEL"] == "Wallet;Token"
    assert (by_address[TOKEN]["symbol"], by_address[TOKEN]["name"]) == ("TKN", "Token, Inc.")
    assert by_address[TOKEN]["decimals:int"] == "6"

    raw = (out / "wallets.csv").read_text(encoding="utf-8")
    assert '"Swap, ""Router"" v2; \\ best"' in raw  # RFC 4180 quoting: quotes doubled
    assert raw.splitlines()[0].startswith(
        "address:ID(Wallet),:LABEL,category,name,created_block:long,symbol,decimals:int,ppr:double,"
    )

    header, rels = read(out / "transfers.csv")
    assert header == TRANSFER_HEADER
    assert len(rels) == len(ROWS)
    addresses = set(by_address)
    assert all(r[":START_ID(Wallet)"] in addresses and r[":END_ID(Wallet)"] in addresses for r in rels)
    assert {r[":TYPE"] for r in rels} == {"TRANSFER"}
    got = {(r["hash"], int(r["log_index:long"])): r for r in rels}
    first = got[(tx(1), -1)]
    assert (first[":START_ID(Wallet)"], first[":END_ID(Wallet)"]) == (addr(1), addr(2))
    assert float(first["value:double"]) == 1.5
    assert first["value_raw"] == str(15 * 10**17)
    assert (first["token"], first["ts:long"], first["block:long"]) == ("ETH", "1600000000", "160000000")
    assert (first["status:int"], first["tx_count:long"]) == ("1", "1")
    assert float(got[(tx(3), -1)]["value:double"]) == 1e-18
    assert float(got[(tx(4), -1)]["value:double"]) == 12345.678
    token_legs = [got[(tx(5), 0)], got[(tx(5), 1)]]
    assert [r["token"] for r in token_legs] == [TOKEN, TOKEN]
    assert [float(r["value:double"]) for r in token_legs] == [7.0, 8.0]


async def test_export_of_empty_graph(store: FalkorStore, tmp_path: Path) -> None:
    summary = await export_neo4j_admin(store, tmp_path)
    assert (summary["nodes"], summary["relationships"]) == (0, 0)
    assert read(tmp_path / "wallets.csv") == (WALLET_HEADER, [])
    assert read(tmp_path / "transfers.csv") == (TRANSFER_HEADER, [])


def fake_tool(bin_dir: Path, name: str, log: Path) -> None:
    """A stand-in for a Neo4j tool that records its arguments (one a line) and its stdin."""
    path = bin_dir / name
    path.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > "{log}.args"\ncat > "{log}.stdin"\n')
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


async def test_import_script_runs_neo4j_admin_then_schema(store: FalkorStore, tmp_path: Path) -> None:
    out = tmp_path / "dir with space"
    await export_neo4j_admin(store, out)
    script = out / "import.sh"
    assert os.access(script, os.X_OK)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_tool(bin_dir, "neo4j-admin", tmp_path / "admin")
    fake_tool(bin_dir, "cypher-shell", tmp_path / "shell")
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "NEO4J_PASSWORD": "secret"}

    subprocess.run(["sh", str(script)], env=env, check=True, stdin=subprocess.DEVNULL, timeout=30)
    args = (tmp_path / "admin.args").read_text().splitlines()
    assert args == [
        "database",
        "import",
        "full",
        f"--nodes=Wallet={out}/wallets.csv",
        f"--relationships=TRANSFER={out}/transfers.csv",
        "--id-type=string",
        "--delimiter=,",
        "--array-delimiter=;",
        "--overwrite-destination=false",
        "neo4j",
    ]

    env.update(NEO4J_DATABASE="wallets", NEO4J_URI="bolt://db:7687")
    subprocess.run(["sh", str(script), "schema"], env=env, check=True, timeout=30)
    args = (tmp_path / "shell.args").read_text().splitlines()
    assert args == ["-a", "bolt://db:7687", "-u", "neo4j", "-p", "secret", "-d", "wallets"]
    sent = [s.strip() for s in (tmp_path / "shell.stdin").read_text().split(";") if s.strip()]
    assert sent == schema_statements()
    assert any("wallet_address" in s and "IS UNIQUE" in s for s in sent)


def test_schema_statements_are_the_neo4j_schema() -> None:
    assert schema_statements() == [s.for_backend("neo4j") for s in q.NEO4J_SCHEMA]
    assert all(s.startswith("CREATE ") for s in schema_statements())


async def test_cli_export(store: FalkorStore, cli_env: dict[str, str], tmp_path: Path) -> None:
    await load(store)
    out = tmp_path / "cli-export"
    proc = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "aidrop"), "graph", "export", "neo4j-admin", str(out)],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert (summary["nodes"], summary["relationships"]) == (6, len(ROWS))
    assert len(read(out / "wallets.csv")[1]) == 6
    assert len(read(out / "transfers.csv")[1]) == len(ROWS)
    assert (out / "import.sh").is_file()
