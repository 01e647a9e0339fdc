"""File ingestion on small hand-made files: values, failures, tokens, and bad rows by line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from graph.falkor import FalkorStore
from graph.model import NATIVE_TOKEN
from ingest.load import ingest_edges, ingest_etherscan, ingest_etl
from tests.factories import addr, tx

pytestmark = pytest.mark.both_backends

TX_HEADER = (
    "hash,nonce,block_hash,block_number,transaction_index,from_address,to_address,value,gas,"
    "gas_price,input,block_timestamp,max_fee_per_gas,max_priority_fee_per_gas,transaction_type"
)
TOKEN = addr(0xAA)
NFT = addr(0xBB)
CREATED = addr(0xCC)


def tx_row(i: int, frm: int, to: int | None, wei: int, block: int, ts: int) -> str:
    to_text = addr(to) if to is not None else ""
    return f"{tx(i)},0,,{block},0,{addr(frm)},{to_text},{wei},21000,1,0x,{ts},,,"


def write_etl(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rows = [
        tx_row(1, 1, 2, 3 * 10**18, 100, 1_000),
        tx_row(2, 2, 3, 10**18, 101, 1_010),  # fails: status 0
        tx_row(3, 1, None, 5 * 10**17, 102, 1_020),  # creates CREATED
        tx_row(4, 3, 0xAA, 0, 103, 1_030),  # token call carrying the transfers below
    ]
    (folder / "transactions.csv").write_text(TX_HEADER + "\n" + "\n".join(rows) + "\n")
    (folder / "receipts.csv").write_text(
        "transaction_hash,transaction_index,block_hash,block_number,cumulative_gas_used,gas_used,"
        "contract_address,root,status,effective_gas_price\n"
        f"{tx(1)},0,,100,21000,21000,,,1,2000000000\n{tx(2)},0,,101,21000,21000,,,0,1\n"
        f"{tx(3)},0,,102,90000,90000,{CREATED},,1,1\n{tx(4)},0,,103,50000,50000,,,1,1\n"
    )
    (folder / "token_transfers.csv").write_text(
        "token_address,from_address,to_address,value,transaction_hash,log_index,block_number\n"
        f"{TOKEN},{addr(3)},{addr(4)},2500000,{tx(4)},0,103\n"
        f"{NFT},{addr(3)},{addr(5)},77,{tx(4)},1,103\n"
    )
    (folder / "tokens.csv").write_text(
        f'address,symbol,name,decimals,total_supply,block_number\n{TOKEN},USDX,"USD, X",6,1000,90\n'
    )
    (folder / "contracts.csv").write_text(
        "address,bytecode,function_sighashes,is_erc20,is_erc721,block_number,name,category\n"
        f"{TOKEN},0x,,true,false,90,USDX,DeFi\n"
    )
    return folder


async def test_etl_folder(store: FalkorStore, tmp_path: Path) -> None:
    report = await ingest_etl(store, [write_etl(tmp_path / "etl")])
    assert report.rows_rejected == 0
    assert report.transfers_written == 6
    out = {(t.hash, t.log_index): t for t in (await store.transfers(addr(1))).transfers}
    assert out[(tx(1), -1)].value == pytest.approx(3.0)
    assert out[(tx(1), -1)].value_raw == str(3 * 10**18)
    assert out[(tx(1), -1)].fee == pytest.approx(21_000 * 2e9 / 1e18)  # gas used x effective price
    assert out[(tx(3), -1)].to_address == CREATED  # contract creation goes to the created contract
    failed = (await store.transfers(addr(2), direction="out")).transfers[0]
    assert (failed.status, failed.value, failed.value_raw) == (0, 0.0, "0")
    tokens = {t.token: t for t in (await store.transfers(addr(3), direction="out")).transfers}
    assert tokens[TOKEN].value == pytest.approx(2.5)  # 2,500,000 raw / 10**6
    assert tokens[TOKEN].value_raw == "2500000" and tokens[TOKEN].ts == 1_030
    assert tokens[TOKEN].fee == 0.0 and tokens[NATIVE_TOKEN].fee == pytest.approx(50_000 / 1e18)
    assert tokens[NFT].value == 77  # unknown decimals: kept unscaled
    assert tokens[NATIVE_TOKEN].to_address == TOKEN
    token = await store.wallet(TOKEN)
    assert (token.symbol, token.decimals, token.name, token.category) == ("USDX", 6, "USD, X", "DeFi")
    assert "Contract" in (await store.wallet(CREATED)).labels
    stats = await store.stats()
    assert (stats.tokens, stats.contracts, stats.token_transfers) == (1, 2, 2)


async def test_etl_increment_after_first_load(store: FalkorStore, tmp_path: Path) -> None:
    folder = write_etl(tmp_path / "etl")
    await ingest_etl(store, [folder / "transactions.csv", folder / "receipts.csv"])
    later = await ingest_etl(store, [folder])
    assert later.mode == "merge"
    assert later.transfers_written == 2  # only the token transfers are new
    assert (await store.stats()).transfers == 6


async def test_corrupted_csv_reports_each_bad_line(store: FalkorStore, tmp_path: Path) -> None:
    rows = [tx_row(i, i, i + 1, 10**18, 100 + i, 1_000 + i) for i in range(1, 11)]
    rows[1] = rows[1].replace(addr(3), "0xZZZ")  # line 3: bad to_address
    rows[3] = rows[3].replace(",1000000000000000000,", ",1.5e18x,")  # line 5: bad value
    rows[5] = ",".join(rows[5].split(",")[:6])  # line 7: short row
    rows[7] = rows[7] + ",extra"  # line 9: one field too many
    rows[8] = rows[8].replace(f",{1_009},", ",yesterday,")  # line 10: bad timestamp
    path = tmp_path / "transactions.csv"
    path.write_text(TX_HEADER + "\n" + "\n".join(rows) + "\n")
    report = await ingest_etl(store, [path])
    by_line = {e.line: e for e in report.errors}
    assert sorted(by_line) == [3, 5, 7, 9, 10]
    assert "to_address" in by_line[3].reason and "0xZZZ" in by_line[3].reason
    assert "value" in by_line[5].reason and "1.5e18x" in by_line[5].reason
    assert "expected 15 fields, saw 16" in by_line[9].reason
    assert "block_timestamp" in by_line[10].reason
    assert all(e.file == "transactions.csv" for e in report.errors)
    assert report.rows_rejected == 5 and report.rows_read == 10
    assert report.transfers_written == 5
    assert (await store.stats()).transfers == 5


async def test_missing_column_is_a_clear_error(store: FalkorStore, tmp_path: Path) -> None:
    path = tmp_path / "transactions.csv"
    path.write_text("hash,from_address,value\n")
    with pytest.raises(ValueError, match="missing column.*to_address"):
        await ingest_etl(store, [path])


async def test_token_transfer_without_known_block_time_is_rejected(
    store: FalkorStore, tmp_path: Path
) -> None:
    path = tmp_path / "token_transfers.csv"
    path.write_text(
        "token_address,from_address,to_address,value,transaction_hash,log_index,block_number\n"
        f"{TOKEN},{addr(3)},{addr(4)},5,{tx(4)},0,103\n"
    )
    report = await ingest_etl(store, [path])
    assert report.transfers_written == 0
    assert report.errors[0].line == 2 and "no timestamp" in report.errors[0].reason


async def test_edge_list(store: FalkorStore, tmp_path: Path) -> None:
    path = tmp_path / "edges.csv"
    path.write_text(
        "from_address,to_address,value,tx_count,block_timestamp\n"
        f"{addr(1)},{addr(2)},16.55,1,1497275319\n"
        f"{addr(1)},{addr(3)},20.80098167,4,1490158327\n"
        f"{addr(2)},not-an-address,1,1,1490158327\n"
        f"{addr(2)},{addr(3)},-1,1,1490158327\n"
    )
    report = await ingest_edges(store, [path])
    assert [(e.line, "to_address" in e.reason or "value" in e.reason) for e in report.errors] == [
        (4, True),
        (5, True),
    ]
    stats = await store.wallet_stats(addr(1))
    assert (stats.out_degree, stats.out_tx) == (2, 5)
    assert stats.out_value == pytest.approx(16.55 + 20.80098167)
    top = (await store.transfers(addr(1), direction="out")).transfers[0]
    assert top.value_raw == "16550000000000000000"
    assert (await ingest_edges(store, [path])).transfers_written == 0


async def test_etherscan_exports(store: FalkorStore, tmp_path: Path) -> None:
    txlist = {
        "status": "1",
        "message": "OK",
        "result": [
            {"blockNumber": "10", "timeStamp": "1600000000", "hash": tx(1), "from": addr(1), "to": addr(2),
             "value": "2000000000000000000", "isError": "0", "txreceipt_status": "1", "contractAddress": "",
             "gasUsed": "21000", "gasPrice": "30000000000"},
            {"blockNumber": "11", "timeStamp": "1600000010", "hash": tx(2), "from": addr(1), "to": addr(2),
             "value": "1000000000000000000", "isError": "1", "txreceipt_status": "0", "contractAddress": ""},
            {"blockNumber": "12", "timeStamp": "1600000020", "hash": "0xbad", "from": addr(1), "to": addr(2),
             "value": "1", "isError": "0", "txreceipt_status": "1", "contractAddress": ""},
        ],
    }  # fmt: skip
    tokentx = [
        {"blockNumber": "10", "timeStamp": "1600000000", "hash": tx(1), "from": addr(2), "to": addr(3),
         "value": "1234500", "contractAddress": TOKEN, "tokenName": "USD X", "tokenSymbol": "USDX",
         "tokenDecimal": "6"},
        {"blockNumber": "10", "timeStamp": "1600000000", "hash": tx(1), "from": addr(2), "to": addr(4),
         "value": "1000000", "contractAddress": TOKEN, "tokenName": "USD X", "tokenSymbol": "USDX",
         "tokenDecimal": "6"},
    ]  # fmt: skip
    (tmp_path / "txlist.json").write_text(json.dumps(txlist))
    (tmp_path / "tokentx.json").write_text(json.dumps(tokentx))
    report = await ingest_etherscan(store, [tmp_path / "txlist.json", tmp_path / "tokentx.json"])
    assert [(e.file, e.line) for e in report.errors] == [("txlist.json", 3)]
    assert report.transfers_written == 4
    out = {t.hash: t for t in (await store.transfers(addr(1), direction="out")).transfers}
    assert out[tx(1)].value == pytest.approx(2.0)
    assert out[tx(1)].fee == pytest.approx(21_000 * 30e9 / 1e18) and out[tx(2)].fee == 0.0
    assert (out[tx(2)].status, out[tx(2)].value) == (0, 0.0)
    tokens = (await store.transfers(addr(2), direction="out")).transfers
    assert sorted((t.log_index, t.value) for t in tokens if t.token == TOKEN) == [(0, 1.2345), (1, 1.0)]
    assert (await store.wallet(TOKEN)).symbol == "USDX"
    assert (await ingest_etherscan(store, [tmp_path / "txlist.json", tmp_path / "tokentx.json"])
            ).transfers_written == 0  # fmt: skip


async def test_etherscan_error_envelope(store: FalkorStore, tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"status": "0", "message": "NOTOK", "result": "Invalid API Key"}))
    with pytest.raises(ValueError, match="Invalid API Key"):
        await ingest_etherscan(store, [path])
