"""Sybil clusters on a small synthetic chain with farms and honest look-alikes: the clusters
match the farms, every link's transactions exist and show its kind, no look-alike group is
merged, appeals are recorded, and the CLI reads and exports what detection stored."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from core.errors import NotFound
from graph import sybil as gs
from graph.cypher import Statement
from graph.store import GraphStore
from ingest.load import ingest_etl
from ingest.synth import generate
from ml.sybil.pipeline import detect
from ml.sybil.score import merged_lookalikes, pairwise

AIDROP = str(Path(sys.executable).with_name("aidrop"))

TX_TRANSFERS = Statement(
    "test_sybil_tx_transfers",
    """
MATCH (a:Wallet)-[t:TRANSFER]->(b:Wallet)
WHERE t.hash IN $hashes
RETURN t.hash AS hash, a.address AS src, b.address AS dst, t.ts AS ts, t.value AS value, t.token AS token,
  b:Contract AS contract, a:Contract AS from_contract
""",
)
FIRST_FUNDING = Statement(
    "test_sybil_first_funding",
    """
MATCH (a:Wallet)-[t:TRANSFER]->(b:Wallet)
WHERE b.address IN $addresses AND t.token = 'ETH' AND t.value > 0
RETURN b.address AS address, t.hash AS hash, t.ts AS ts
""",
)


def labels(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "labels.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sybil")
    generate(folder, 600, 14, seed=5, laundering_share=0.02, sybil_share=0.1)  # 11k transfers
    return folder


async def test_clusters_match_farms_and_leave_lookalikes_apart(any_store: GraphStore, chain: Path) -> None:
    await ingest_etl(any_store, [chain])
    report, detector = await detect(any_store)
    lab = labels(chain)
    truth = {a: c for a, c in zip(lab["address"], lab["sybil_cluster"], strict=True) if c}
    lookalike = {a: g for a, g in zip(lab["address"], lab["sybil_lookalike"], strict=True) if g}
    assert {"crowd-mint", "airdrop"} <= set(lookalike.values())  # the honest look-alikes are there
    stored = {r["address"]: r["cluster"] for r in await gs.export_rows(any_store)}
    assert report.clusters == len(set(stored.values())) > 0 and report.members == len(stored)
    measures = pairwise(stored, truth)
    assert measures["precision"] >= 0.95 and measures["recall"] >= 0.7, measures
    merged = merged_lookalikes(stored, lookalike, truth)
    assert {g: n for g, n in merged.items() if g != "honest_in_clusters"} == {}
    # a second detection replaces the first with the same clusters
    again, _ = await detect(any_store)
    assert {r["address"]: r["cluster"] for r in await gs.export_rows(any_store)} == stored
    assert again.links == report.links


async def test_every_link_names_real_transactions_of_its_kind(any_store: GraphStore, chain: Path) -> None:
    await ingest_etl(any_store, [chain])
    await detect(any_store)
    clusters = await gs.clusters(any_store, first=1000)
    assert clusters
    checked = set()
    for c in clusters:
        links = await gs.links(any_store, c.id, first=1000)
        members = set(await gs.members(any_store, c.id, first=1000))
        assert links and {x.a for x in links} | {x.b for x in links} <= members
        assert {x.kind for x in links} <= set(c.evidence_counts)
        named = sorted({h for x in links for h in x.transactions})
        every = pd.DataFrame(await any_store.query(TX_TRANSFERS, {"hashes": named}))
        assert set(every["hash"]) == set(named)  # every transaction is in the graph
        fundings = await any_store.query(FIRST_FUNDING, {"addresses": sorted(members)})
        for link in links:
            rows = every[every["hash"].isin(link.transactions)]
            _check_kind(link, rows, [f for f in fundings if f["address"] in (link.a, link.b)])
            checked.add(link.kind)
    assert {"funder", "collector", "timing", "script"} <= checked


def _check_kind(link: gs.LinkRecord, rows: pd.DataFrame, fundings: list[dict]) -> None:
    pair = {link.a, link.b}
    touches = rows["src"].isin(pair) | rows["dst"].isin(pair)
    if link.kind == "funder":  # each wallet's first funding is named; the lines up meet
        first = pd.DataFrame(fundings).sort_values("ts").groupby("address")["hash"].first()
        assert set(first) <= set(rows["hash"])
        up = rows.groupby("dst")["src"].agg(set).to_dict()

        def line(w: str) -> set[str]:
            seen: set[str] = set()
            todo = [w]
            while todo:
                for s in up.get(todo.pop(), set()) - seen:
                    seen.add(s)
                    todo.append(s)
            return seen

        assert line(link.a) & line(link.b)
    elif link.kind == "collector":  # both sent to the same wallet (or through a hop to it)
        assert rows["src"].isin(pair).any()
        sent = rows[rows["src"].isin(pair)]
        targets = {w: set(sent.loc[sent["src"] == w, "dst"]) for w in pair}
        onward = set(rows.loc[~rows["src"].isin(pair), "dst"])
        assert targets[link.a] & targets[link.b] or onward
    elif link.kind == "timing":  # the same contract called by both within the hour
        calls = rows[
            rows["src"].isin(pair) & rows["contract"] | rows["dst"].isin(pair) & rows["from_contract"]
        ]
        assert set(calls["hash"]) == set(rows["hash"])  # each transaction has such a transfer
        by = calls.assign(w=calls["src"].where(calls["src"].isin(pair), calls["dst"]))
        party = by["dst"].where(by["src"].isin(pair), by["src"])
        by = by.assign(party=party)
        a, b = by[by["w"] == link.a], by[by["w"] == link.b]
        close = a.merge(b, on="party")
        assert ((close["ts_x"] - close["ts_y"]).abs() <= 3600).any()
    elif link.kind == "amount":  # the same amount in both wallets' transfers
        a = set(rows.loc[(rows["src"] == link.a) | (rows["dst"] == link.a), "value"])
        b = set(rows.loc[(rows["src"] == link.b) | (rows["dst"] == link.b), "value"])
        assert a & b
    elif link.kind in ("script", "cohort"):  # both called contracts on the same calendar day
        mine = rows["src"].isin(pair) & rows["contract"] | rows["dst"].isin(pair) & rows["from_contract"]
        calls = rows[mine]
        assert set(calls["hash"]) == set(rows["hash"])
        by = calls.assign(w=calls["src"].where(calls["src"].isin(pair), calls["dst"]),
                          party=calls["dst"].where(calls["src"].isin(pair), calls["src"]),
                          day=calls["ts"] // 86400)  # fmt: skip
        a, b = by[by["w"] == link.a], by[by["w"] == link.b]
        # script: the same contract that day; cohort: that too, or (its moments on whole
        # days) any contracts that day
        assert len(a.merge(b, on=["party", "day"] if link.kind == "script" else ["day"])) >= 1
    elif link.kind == "counterparty":  # contracts both dealt with
        assert touches.all() and (rows["contract"] | rows["from_contract"]).all()
    assert touches.any()


async def test_appeal_is_recorded_once_and_needs_a_member(any_store: GraphStore, chain: Path) -> None:
    await ingest_etl(any_store, [chain])
    await detect(any_store)
    c = (await gs.clusters(any_store, first=1))[0]
    member = (await gs.members(any_store, c.id, first=1))[0]
    appeal = await gs.appeal(
        any_store, member.upper().replace("0X", "0x"), "these are my own savings", key="k1"
    )
    assert (appeal.address, appeal.cluster, appeal.status) == (member, c.id, "open")
    assert [a.id for a in await gs.appeals(any_store, member)] == [appeal.id]
    with pytest.raises(gs.AppealRejected):
        await gs.appeal(any_store, member, "again")
    with pytest.raises(gs.AppealRejected):
        await gs.appeal(any_store, member, "  ")
    with pytest.raises(NotFound):
        await gs.appeal(any_store, "0x" + "ab" * 20, "not even here")
    # appeals outlive a new detection
    await detect(any_store)
    assert [a.id for a in await gs.appeals(any_store)] == [appeal.id]


async def test_cluster_pages_follow_size_then_id(any_store: GraphStore, chain: Path) -> None:
    await ingest_etl(any_store, [chain])
    await detect(any_store)
    every = await gs.clusters(any_store, min_size=3, first=1000)
    paged, after = [], None
    while True:
        page = await gs.clusters(any_store, min_size=3, first=2, after=after)
        if not page:
            break
        paged += page
        after = (page[-1].size, page[-1].id)
    assert [c.id for c in paged] == [c.id for c in every]
    assert [c.size for c in every] == sorted((c.size for c in every), reverse=True)
    big = await gs.clusters(any_store, min_size=10, first=1000)
    assert [c.id for c in big] == [c.id for c in every if c.size >= 10]


def run(env: dict[str, str], *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([AIDROP, *args], env=env, capture_output=True, text=True, timeout=300)
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_cli_detect_list_show_export(cli_env: dict[str, str], chain: Path, tmp_path: Path) -> None:
    run(cli_env, "ingest", "etl", str(chain))
    detected = run(cli_env, "sybil", "detect", "--json")
    report = json.loads(detected.stdout)
    assert report["clusters"] > 0 and "sybil: reading the graph" in detected.stderr
    listed = json.loads(run(cli_env, "sybil", "list", "--json").stdout)
    assert len(listed) == report["clusters"] and listed[0]["size"] == report["largest"]
    out = tmp_path / "sybil.csv"
    run(cli_env, "sybil", "export", "--out", str(out))
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["address", "cluster", "size", "score", "evidence"]
    assert len(frame) == report["members"]
    assert (frame.groupby("cluster").size() == frame.groupby("cluster")["size"].first()).all()
    member = frame["address"].iloc[0]
    text = run(cli_env, "sybil", "show", member).stdout
    assert f"{member} is in {frame['cluster'].iloc[0]}" in text and "0x" in text.split("\n", 1)[1]
    shown = json.loads(run(cli_env, "sybil", "show", member, "--json").stdout)
    assert shown["cluster"]["id"] == frame["cluster"].iloc[0] and shown["evidence"]
    bad = run(cli_env, "sybil", "show", "0x123", ok=False)
    assert bad.returncode == 2 and "INVALID_ADDRESS" in bad.stderr


async def test_segments_leave_sybil_clusters_out_unless_asked(any_store: GraphStore, chain: Path) -> None:
    from graph.marketing import SegmentFilter
    from ml.marketing.segments import preview

    await ingest_etl(any_store, [chain])
    before = (await preview(any_store, SegmentFilter()))["size"]
    report, _ = await detect(any_store)
    assert (await preview(any_store, SegmentFilter()))["size"] == before - report.members
    assert (await preview(any_store, SegmentFilter(include_sybil=True)))["size"] == before
    members = [r["address"] for r in await gs.export_rows(any_store)][:5]
    assert (await preview(any_store, SegmentFilter(addresses=tuple(members))))["size"] == 0


def test_campaign_lift_per_entity_counts_a_cluster_once() -> None:
    from ml.marketing.campaigns import per_entity

    def row(address: str, group: str, converted: bool, entity: str | None = None) -> dict:
        return {"address": address, "group": group, "converted": converted, "engaged": converted,
                "entity": entity or address}  # fmt: skip

    farm = [row(f"f{i}", "treatment", True, "sybil-00001") for i in range(8)]
    people = [row("a", "treatment", False), row("b", "treatment", True), row("c", "control", True),
              row("d", "control", False)]  # fmt: skip
    out = per_entity(farm + people)
    assert out["groups"]["treatment"] == {"entities": 3, "converted": 2, "conversion_rate": 2 / 3,
                                          "engaged": 2, "engagement_rate": 2 / 3}  # fmt: skip
    assert out["groups"]["control"]["entities"] == 2
    assert abs(out["lift"]["conversion"]["diff"] - (2 / 3 - 1 / 2)) < 1e-12
