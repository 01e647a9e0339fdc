"""Attribution labels and exposure on a graph with known flows (both backends)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from graph.exposure import exposure_of
from graph.labels import Label, delete_source, labels_of, write_labels
from graph.store import GraphStore
from ingest.labels.attribution import RISK_BUNDLE, import_labels, read_file
from ml.exposure import refresh_exposure
from tests.factories import addr, transfers

S, M, X, A, B, C, D, U = 1, 2, 3, 4, 5, 6, 7, 9  # sanctioned, mixer, exchange, plain wallets

# (from, to, tx, ETH, ts). Hand-computed shares with k = 3 hops:
# A got 10 of 40 from S: direct_in 0.25.  B got 20 from M (mixer) of 40: direct 0.5, and 20 from A,
# a quarter of it sanctioned: indirect 20/40 * 0.25 = 0.125.  C got 8 from B (0.625 risky) and 8
# from the exchange X, where tracing stops although X got funds from S: indirect 8/16 * 0.625.
# D got everything from C: within 3 hops only B's mixer part reaches it (0.5 * 0.5 = 0.25).
# D sent 4 of 8 to the mixer: direct_out 0.5; C sent all to D: indirect_out 0.5; B all to C: 0.5.
FLOWS = [
    (S, A, 1, 10, 100),
    (U, A, 2, 30, 101),
    (A, B, 3, 20, 102),
    (M, B, 4, 20, 103),
    (B, C, 5, 8, 104),
    (X, C, 6, 8, 105),
    (S, X, 7, 100, 106),
    (C, D, 8, 16, 107),
    (D, M, 9, 4, 108),
    (D, U, 10, 4, 109),
]
EXPECTED = {  # wallet: direct_in, indirect_in, direct_out, indirect_out, top
    A: (0.25, 0.0, 0.0, 0.0, "sanctioned"),
    B: (0.5, 0.125, 0.0, 0.5, "mixer"),
    C: (0.0, 0.3125, 0.0, 0.5, "mixer"),
    D: (0.0, 0.25, 0.5, 0.0, "mixer"),
}
LABELS = [
    Label(addr(S), "OFAC SDN entry", "sanctioned", "ofac", 1.0),
    Label(addr(M), "Test mixer", "mixer", "test", 0.9),
    Label(addr(X), "Test exchange", "exchange", "test", 1.0),
]


async def _load(store: GraphStore) -> None:
    await store.write_transfers(transfers(FLOWS))
    await write_labels(store, LABELS)


async def test_exposure_equals_hand_computed_shares(any_store: GraphStore) -> None:
    await _load(any_store)
    run = await refresh_exposure(any_store, hops=3)
    frame = run.frame.set_index("address")
    for wallet, (din, iin, dout, iout, top) in EXPECTED.items():
        row = frame.loc[addr(wallet)]
        got = (row["direct_in"], row["indirect_in"], row["direct_out"], row["indirect_out"])
        assert got == pytest.approx((din, iin, dout, iout), abs=1e-9), wallet
        assert row["top_category"] == top
    stored = await exposure_of(any_store, [addr(B), addr(C), addr(S), addr(U)])
    assert stored[addr(B)]["categories"] == {
        "mixer": {"in": 0.5, "out": 0.5},
        "sanctioned": {"in": 0.125, "out": 0.0},
    }
    assert stored[addr(S)]["risk"] == 1.0  # a risky wallet itself
    # C's explanation: its strongest paths from the risky end, with the ETH they carry
    paths = [(p["wallets"], p["value"]) for p in stored[addr(C)]["paths"] if p["side"] == "in"]
    assert paths == [
        ([addr(M), addr(B), addr(C)], pytest.approx(4.0)),
        ([addr(S), addr(A), addr(B), addr(C)], pytest.approx(1.0)),
    ]
    # U sends into A but receives nothing risky within 3 hops: not exposed, nothing stored
    assert addr(U) not in stored


async def test_fewer_hops_and_labels_withdrawn(any_store: GraphStore) -> None:
    await _load(any_store)
    two = (await refresh_exposure(any_store, hops=2)).frame.set_index("address")
    assert two.loc[addr(C), "indirect_in"] == pytest.approx(0.25)  # the sanctioned part is 3 hops away
    assert two.loc[addr(D), "indirect_in"] == pytest.approx(0.0)
    await delete_source(any_store, "ofac")
    assert (await labels_of(any_store, [addr(S)])) == {}
    await refresh_exposure(any_store, hops=3)
    stored = await exposure_of(any_store, [addr(A), addr(B)])
    assert addr(A) not in stored  # its only risky source lost its label: the properties are gone
    assert stored[addr(B)]["indirect_in"] == 0.0


CSV = """address,label,category,source,confidence
{a},Lazarus wallet,Sanctioned,ofac,100
{b},Fake airdrop site,phishing,,0.7
0xnot-an-address,x,scam,y,1
"""
TAGPACK = """title: Test pack
creator: someone
source: https://example.org/list
currency: ETH
confidence: forensic
tags:
  - address: "{a}"
    label: Some hacker
    category: perpetrator
    abuse: hacker
  - address: 1Archive1n2C579dMsAu3iC6tWzuQJz8dN
    label: Internet Archive
    currency: BTC
  - address: "{c}"
    label: Big exchange
    category: exchange
    confidence: ownership
"""


async def test_label_files_in_every_format(any_store: GraphStore, tmp_path: Path) -> None:
    (tmp_path / "list.csv").write_text(CSV.format(a=addr(11), b=addr(12)))
    (tmp_path / "pack.yaml").write_text(TAGPACK.format(a=addr(11), c=addr(13)))
    (tmp_path / "plain.txt").write_text(
        f"# withdrawn list\n{addr(14)}\n\n{addr(15).upper().replace('0X', '0x')}\nnope\n"
    )
    csv_file = read_file(tmp_path / "list.csv")
    assert [str(e) for e in csv_file.errors] == [
        f"{tmp_path / 'list.csv'}:4: invalid address "
        "'0xnot-an-address': expected 0x followed by 40 hex digits"
    ]
    summary = await import_labels(any_store, [tmp_path / "list.csv", tmp_path / "pack.yaml"])
    assert summary["labels"] == 4 and summary["skipped_other_chains"] == 1 and summary["error_count"] == 1
    plain = await import_labels(
        any_store, [tmp_path / "plain.txt"], category="sanctioned", source="ofac-2020"
    )
    assert plain["labels"] == 2 and plain["error_count"] == 1
    found = await labels_of(any_store, [addr(11), addr(12), addr(13), addr(15)])
    assert {(x.category, x.source, x.confidence) for x in found[addr(11)]} == {
        ("sanctioned", "ofac", 1.0),
        ("hack", "https://example.org/list", 0.8),
    }
    assert [(x.label, x.category, x.source) for x in found[addr(12)]] == [
        ("Fake airdrop site", "scam", "list")
    ]
    assert found[addr(13)][0].category == "exchange" and found[addr(13)][0].confidence == 1.0
    assert found[addr(15)][0].source == "ofac-2020"
    wallet = await any_store.wallet(addr(11))
    assert sorted(wallet.props["label_categories"]) == ["hack", "sanctioned"]
    # importing again changes nothing; the bundled file is marked unverified
    again = await import_labels(any_store, [tmp_path / "list.csv", tmp_path / "pack.yaml"])
    assert again["labels"] == 4
    assert len((await labels_of(any_store, [addr(11)]))[addr(11)]) == 2
    bundled = read_file(RISK_BUNDLE)
    assert bundled.labels and not any(lab.verified for lab in bundled.labels)


def test_cli_labels_exposure_and_wallet(cli_env: dict[str, str], tmp_path: Path) -> None:
    from tests.test_ingest_files import TX_HEADER, tx_row

    rows = [
        tx_row(i, f, t, int(v * 10**18), 100 + i, 1_000 + i) for i, (f, t, _h, v, _ts) in enumerate(FLOWS, 1)
    ]
    (tmp_path / "transactions.csv").write_text(TX_HEADER + "\n" + "\n".join(rows) + "\n")
    (tmp_path / "risky.txt").write_text(f"{addr(S)}\n")
    (tmp_path / "mixers.csv").write_text(
        f"address,label,category\n{addr(M)},Test mixer,mixer\n{addr(X)},Ex,exchange\n"
    )

    def aidrop(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "aidrop", *args], env=cli_env, capture_output=True, text=True, timeout=120
        )

    assert aidrop("ingest", "etl", str(tmp_path / "transactions.csv")).returncode == 0
    done = aidrop(
        "labels", "import", str(tmp_path / "risky.txt"), "--category", "sanctioned", "--source", "ofac"
    )
    assert done.returncode == 0, done.stderr
    assert "labels 1 on 1 wallets (sanctioned 1)" in done.stdout
    assert aidrop("labels", "import", str(tmp_path / "mixers.csv")).returncode == 0
    out = tmp_path / "exposure.csv"
    result = aidrop("exposure", "--out", str(out), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["risky"] == 2
    lines = out.read_text().splitlines()
    assert lines[0] == "address,direct_in,indirect_in,direct_out,indirect_out,top_category"
    assert f"{addr(B)},0.5,0.125,0.0,0.5,mixer" in lines
    wallet = json.loads(aidrop("graph", "wallet", addr(S), "--json").stdout)
    assert wallet["labels"] == [
        {
            "address": addr(S),
            "label": "ofac",
            "category": "sanctioned",
            "source": "ofac",
            "confidence": 1.0,
            "verified": True,
        }
    ]
    exposed = json.loads(aidrop("graph", "wallet", addr(B), "--json").stdout)
    assert exposed["exposure"]["top_category"] == "mixer"
    missing = aidrop("labels", "import", str(tmp_path / "risky.txt"))
    assert missing.returncode != 0 and "needs --category" in missing.stderr


async def test_segments_leave_out_exposed_wallets(any_store: GraphStore) -> None:
    from graph.marketing import SegmentFilter, evaluate

    await _load(any_store)
    await refresh_exposure(any_store, hops=3)
    members = {m.address for m in await evaluate(any_store, SegmentFilter())}
    assert members == {addr(U)}  # every other wallet is risky or has 5% or more exposure
    loose = {m.address for m in await evaluate(any_store, SegmentFilter(max_exposure=0.3))}
    assert loose == {addr(U), addr(A)}  # A: 0.25 received; D: 0.5 of what it sent went to the mixer
    every = {m.address for m in await evaluate(any_store, SegmentFilter(include_exposed=True))}
    assert every == {addr(w) for w in (S, M, X, A, B, C, D, U)}


async def test_derived_labels_from_aidrop_findings(any_store: GraphStore) -> None:
    from graph.labels import derive_labels
    from tests.test_compliance_alerts import _FLAG

    await _load(any_store)
    await any_store.execute(_FLAG, {"address": addr(D)})
    assert await derive_labels(any_store) == {"laundering": 1, "sybil": 0}
    assert [(x.category, x.source) for x in (await labels_of(any_store, [addr(D)]))[addr(D)]] == [
        ("laundering", "aidrop")
    ]
    frame = (await refresh_exposure(any_store)).frame.set_index("address")
    assert frame.loc[addr(C), "direct_out"] == 1.0  # C sent everything to D, now a risky wallet
