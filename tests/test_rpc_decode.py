"""Decoding of node answers and the checkpoint's block ranges, without a node."""

from __future__ import annotations

from eth_abi import encode

from graph.chain import Ranges
from ingest.rpc.decode import TRANSFER, TRANSFER_BATCH, BlockData, decode_blocks, token_addresses
from ingest.rpc.fetch import _decimals, _text

A, B, T = "0x" + "a" * 40, "0x" + "b" * 40, "0x" + "7" * 40


def topic(address: str) -> str:
    return "0x" + address[2:].rjust(64, "0")


def block(txs: list[dict], receipts: list[dict]) -> BlockData:
    return BlockData(number=5, hash="0x" + "1" * 64, parent_hash="0x" + "0" * 64, ts=1700, transactions=txs,
                     receipts=receipts)  # fmt: skip


def tx(i: int, to: str | None = T, value: int = 0) -> dict:
    return {"hash": f"0x{i:064x}", "from": A.upper().replace("0X", "0x"), "to": to, "value": hex(value)}


def receipt(status: int = 1, logs: list[dict] | None = None, created: str | None = None) -> dict:
    return {"status": hex(status), "logs": logs or [], "contractAddress": created}


def log(index: int, topics: list[str], data: str = "0x", removed: bool = False) -> dict:
    return {"address": T, "logIndex": hex(index), "topics": topics, "data": data, "removed": removed}


def test_erc20_scaled_by_known_decimals_else_unscaled() -> None:
    amount = "0x" + f"{1_500_000:064x}"
    b = block([tx(1)], [receipt(logs=[log(3, [TRANSFER, topic(A), topic(B)], amount)])])
    assert token_addresses([b]) == {T}
    six = decode_blocks([b], {T: 6}).frame
    token = six[six["token"] == T].iloc[0]
    assert (token["value"], token["value_raw"], token["log_index"], token["from_address"]) == (
        1.5,
        "1500000",
        3,
        A,
    )
    assert decode_blocks([b], {}).frame.query("token == @T").iloc[0]["value"] == 1_500_000.0


def test_failed_creation_and_odd_logs() -> None:
    created = "0x" + "c" * 40
    cryptokitties = log(0, [TRANSFER], "0x" + "00" * 96)  # no indexed arguments: not a standard shape
    removed = log(1, [TRANSFER, topic(A), topic(B)], "0x" + "00" * 32, removed=True)
    bad_batch = log(2, [TRANSFER_BATCH, topic(A), topic(A), topic(B)], "0x1234")
    b = block(
        [tx(1, to=None, value=5), tx(2, value=10**18), tx(3)],
        [receipt(created=created), receipt(status=0), receipt(logs=[cryptokitties, removed, bad_batch])],
    )
    d = decode_blocks([b], {})
    native = d.frame.set_index("hash")
    assert (
        native.loc[f"0x{1:064x}", "to_address"] == created and native.loc[f"0x{1:064x}", "value_raw"] == "5"
    )
    assert native.loc[f"0x{2:064x}", "status"] == 0 and native.loc[f"0x{2:064x}", "value"] == 0.0
    assert len(d.frame) == 3 and d.kinds["skipped_logs"] == 3 and d.created[0]["address"] == created
    assert (d.frame["ts"] == 1700).all() and (d.frame["block"] == 5).all()


def test_erc1155_batch_items() -> None:
    data = "0x" + encode(["uint256[]", "uint256[]"], [[1, 2**255], [3, 4]]).hex()
    b = block([tx(1)], [receipt(logs=[log(9, [TRANSFER_BATCH, topic(A), topic(A), topic(B)], data)])])
    d = decode_blocks([b], {T: 18})  # decimals are not applied to ERC-1155 amounts
    items = d.frame[d.frame["token"] == T]
    assert items["log_index"].tolist() == [9, 9 + (1 << 32)] and items["value"].tolist() == [3.0, 4.0]
    assert d.token_ids["token_id"].tolist() == ["1", str(2**255)]


def test_token_metadata_strings() -> None:
    word = encode(["string"], ["Wrapped Ether"]).hex()
    assert _text("0x" + word) == "Wrapped Ether"
    assert _text("0x" + b"MKR".ljust(32, b"\0").hex()) == "MKR"  # bytes32, as older tokens answer
    assert _text("0x") is None and _text(None) is None
    assert _decimals("0x" + f"{18:064x}") == 18 and _decimals("0x" + f"{10**6:064x}") is None


def test_ranges() -> None:
    r = Ranges.parse("0-9,20-29")
    r.add(10, 12)
    assert str(r) == "0-12,20-29" and r.top == 29 and 11 in r and 15 not in r
    assert r.missing(5, 35) == [(13, 19), (30, 35)] and r.missing(0, 12) == []
    r.remove(5, 22)
    assert str(r) == "0-4,23-29"
    r.add(5, 22)
    assert r == Ranges([(0, 29)]) and str(Ranges.parse("")) == ""
