"""Segments on a synthetic chain: every predefined segment and custom filters give exactly the
wallets a pandas computation over the same labels and the exported graph gives; flagged wallets
stay out unless asked; saved segments, previews, exports and `aidrop target`."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pandas as pd
import pytest

from bench.segments import export_frames, label_frame, pandas_segment, set_labels
from core.errors import NotFound
from graph import marketing as gm
from graph.embedded import EmbeddedServer
from graph.falkor import FalkorStore
from graph.marketing import MarketingError, SegmentFilter
from ingest.load import ingest_etl
from ingest.synth import generate
from ml.marketing import segments as ms

pytestmark = pytest.mark.both_backends

AIDROP = str(Path(sys.executable).with_name("aidrop"))
T0 = 1704067200  # the generator's default start
DAYS = 14
END = T0 + DAYS * 86400


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("synth-seg")
    generate(folder, 1500, DAYS, seed=21, laundering_share=0.05)
    return folder


@pytest.fixture(scope="module")
async def world(falkor_server: EmbeddedServer, synth: Path) -> AsyncIterator[tuple]:
    """The chain loaded once for the module, with ml/'s wallet properties from the labels, and
    the graph exported to pandas (the reference's input)."""
    store = FalkorStore(falkor_server.graph_url, "test_marketing_segments")
    await store.clear()
    await ingest_etl(store, [synth])
    labels = label_frame(synth)
    await set_labels(store, labels)
    wallets, transfers = await export_frames(store)
    yield store, labels, wallets, transfers
    await store.clear()
    await store.close()


async def members(store: FalkorStore, f: SegmentFilter) -> set[str]:
    return {m.address for m in await gm.evaluate(store, f)}


@pytest.mark.parametrize(
    "name", ["defi-holders", "nft-enthusiasts", "community-users", "aggressive-traders", "all"]
)
async def test_predefined_segments_equal_pandas(world: tuple, name: str) -> None:
    store, labels, wallets, transfers = world
    _, found = await ms.resolve(store, name)
    expected = pandas_segment(wallets, labels, transfers, ms.PREDEFINED[name].filter)
    assert {m.address for m in found} == expected
    assert len(expected) > 30


CUSTOM = {
    "wildcards, two patterns": SegmentFilter(typologies=("D-*-A-*", "N-T-*-*")),
    "clusters and anomaly bounds": SegmentFilter(clusters=(0, 3, 5), min_anomaly=0.1, max_anomaly=0.7),
    "recent activity": SegmentFilter(active_since=END - 3 * 86400),
    "volume since the middle": SegmentFilter(active_since=T0 + 7 * 86400, min_volume=0.5),
    "volume all time": SegmentFilter(min_volume=2.0),
    "categories touched": SegmentFilter(categories=("NFT", "Gaming")),
    "everything at once": SegmentFilter(
        typologies=("*-T-*-*", "D-H-*-C"),
        clusters=tuple(range(6)),
        max_anomaly=0.9,
        active_since=END - 7 * 86400,
        min_volume=0.1,
        categories=("DeFi",),
    ),  # fmt: skip
    "flagged included": SegmentFilter(typologies=("*-*-A-*",), include_flagged=True),
}


@pytest.mark.parametrize("case", list(CUSTOM))
async def test_custom_filters_equal_pandas(world: tuple, case: str) -> None:
    store, labels, wallets, transfers = world
    f = CUSTOM[case]
    expected = pandas_segment(wallets, labels, transfers, f)
    assert await members(store, f) == expected
    assert 0 < len(expected) < len(labels)


async def test_address_list_combines_with_the_other_tests(world: tuple) -> None:
    store, labels, wallets, transfers = world
    some = tuple(labels["address"].iloc[::7].str.upper().str.replace("0X", "0x"))  # checksum-ish case
    f = SegmentFilter(addresses=some, typologies=("*-H-*-*",), min_volume=0.2)
    expected = pandas_segment(wallets, labels, transfers, f)
    assert await members(store, f) == expected
    assert expected and expected <= {a.lower() for a in some}


async def test_flagged_wallets_are_out_unless_asked(world: tuple) -> None:
    store, labels, _, _ = world
    flagged = set(labels.loc[labels["anomaly_flagged"], "address"])
    assert len(flagged) > 20  # laundering members
    default = await members(store, SegmentFilter())
    everyone = await members(store, SegmentFilter(include_flagged=True))
    assert not default & flagged
    assert flagged <= everyone
    assert everyone - default == flagged


async def test_contracts_tokens_and_the_zero_address_are_never_members(world: tuple) -> None:
    store, labels, wallets, _ = world
    found = await members(store, SegmentFilter(include_flagged=True))
    machines = set(wallets.loc[wallets["contract"] | wallets["token"], "address"]) | {"0x" + "0" * 40}
    assert not found & machines
    assert found == set(labels["address"])  # every labelled human wallet, nothing else


async def test_preview_counts_by_typology(world: tuple) -> None:
    store, labels, _, _ = world
    f = SegmentFilter(typologies=("D-*-*-*",))
    preview = await ms.preview(store, f)
    expected = labels[labels["typology"].str.startswith("D-") & ~labels["anomaly_flagged"]][
        "typology"
    ].value_counts()
    assert preview["typologies"] == expected.to_dict()
    assert preview["size"] == int(expected.sum())
    assert list(preview["typologies"].values()) == sorted(preview["typologies"].values(), reverse=True)


async def test_saved_segment_keeps_definition_time_and_members(world: tuple) -> None:
    store, labels, wallets, transfers = world
    f = SegmentFilter(typologies=("*-T-A-*",), min_volume=0.3)
    saved, found = await ms.save(store, "Risky traders", f, now=END)
    try:
        assert saved.id == "risky-traders" and saved.created_at == END
        again = await gm.segment(store, "risky-traders")
        assert again.definition == {"typologies": ["*-T-A-*"], "min_volume": 0.3}
        assert SegmentFilter.from_dict(again.definition) == f
        assert again.size == len(found) == len(pandas_segment(wallets, labels, transfers, f))
        stored = {m.address for m in await gm.segment_members(store, "risky-traders")}
        assert stored == {m.address for m in found}
        assert sum(again.typology_counts.values()) == again.size
        assert "risky-traders" in [s.id for s in await gm.segments(store)]
        # a saved segment resolves to its members as saved; filters do not apply to it
        _, resolved = await ms.resolve(store, "risky-traders")
        assert {m.address for m in resolved} == stored
        with pytest.raises(MarketingError):
            await ms.resolve(store, "risky-traders", SegmentFilter(min_volume=1.0))
        # saving the id again replaces definition and members
        narrower = SegmentFilter(typologies=("D-T-A-*",))
        saved2, found2 = await ms.save(store, "Risky traders", narrower, now=END + 60)
        stored2 = {m.address for m in await gm.segment_members(store, "risky-traders")}
        assert stored2 == {m.address for m in found2} == await members(store, narrower)
        assert (await gm.segment(store, "risky-traders")).created_at == END + 60
    finally:
        await gm.delete_segment(store, "risky-traders")
    with pytest.raises(NotFound):
        await gm.segment(store, "risky-traders")


def test_typology_patterns() -> None:
    assert gm.parse_typology("d-*-a-*") == ["D", "*", "A", "*"]
    assert gm.typology_matches("D-*-A-*", "D-T-A-C")
    assert not gm.typology_matches("D-*-A-*", "D-T-S-C")
    assert not gm.typology_matches("D-*", "D-T-A-C")  # every axis is written out
    for bad in ("", "D--A", "D-?-A-C", "D-T-A-C; MATCH (n) DETACH DELETE n"):
        with pytest.raises(MarketingError):
            SegmentFilter(typologies=(bad,))
    with pytest.raises(MarketingError):
        SegmentFilter(min_anomaly=0.9, max_anomaly=0.1)


def test_exports() -> None:
    rows = [
        gm.Member("0xab", "D-T-A-C", 3, 0.25, False, None),
        gm.Member("0xcd", None, None, None, True, 1.5),
    ]
    parsed = list(csv.DictReader(ms.to_csv(rows).splitlines()))
    assert parsed[0] == {"address": "0xab", "typology": "D-T-A-C", "cluster": "3", "anomaly_score": "0.25",
                         "flagged": "False", "volume": ""}  # fmt: skip
    assert parsed[1]["volume"] == "1.5" and parsed[1]["typology"] == ""
    data = json.loads(ms.to_json(rows, {"segment": "x"}))
    assert data["size"] == 2 and data["segment"] == "x" and data["wallets"][1]["flagged"] is True


def test_times() -> None:
    assert ms.parse_time("2024-01-15") == T0 + 14 * 86400
    assert ms.parse_time("1705276800") == 1705276800
    assert ms.parse_time("3d", now=END) == END - 3 * 86400
    assert ms.parse_duration("6h") == 21600
    with pytest.raises(MarketingError):
        ms.parse_time("yesterday")


def test_aidrop_target_writes_the_segment(cli_env: dict[str, str], synth: Path, tmp_path: Path) -> None:
    subprocess.run([AIDROP, "ingest", "etl", str(synth)], env=cli_env, check=True, capture_output=True)
    out = tmp_path / "wallets.csv"
    # no typology on these wallets yet (ml/ has not run): the activity filters still work
    proc = subprocess.run(
        [AIDROP, "target", "all", "--active-since", "2d", "--as-of", str(END), "--category", "DeFi",
         "--out", str(out), "--save", "recent-defi", "--json"],
        env=cli_env, capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    written = pd.read_csv(out, dtype=str)
    assert summary["wallets"] == len(written) > 0 and summary["saved"] == "recent-defi"
    assert written["volume"].notna().all()
    json_out = tmp_path / "again.json"
    proc = subprocess.run([AIDROP, "target", "recent-defi", "--out", str(json_out)], env=cli_env,
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert {w["address"] for w in json.loads(json_out.read_text())["wallets"]} == set(written["address"])
    bad = subprocess.run([AIDROP, "target", "whales"], env=cli_env, capture_output=True, text=True)
    assert bad.returncode == 2 and "no segment 'whales'" in bad.stderr
