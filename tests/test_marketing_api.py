"""Marketing over GraphQL against real `aidrop serve` and `aidrop worker` processes: preview and
save a segment, create a campaign on it, snapshot it through jobs (one snapshot per name), read
its snapshots, metrics and report (served from the blob store)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pandas as pd
import pytest
import requests

from bench.segments import label_frame, set_labels
from graph.falkor import FalkorStore
from ingest.load import ingest_etl
from ingest.synth import CampaignParams, generate
from tests.apiserver import Stack, stack

T0 = 1704067200
DAYS = 16
START, END = T0 + 8 * 86400, T0 + 16 * 86400

PREVIEW = (
    """query($f: SegmentFilterInput!) { previewSegment(filter: $f) { size typologies { code wallets } } }"""
)
SAVE = """mutation($name: String!, $f: SegmentFilterInput!) {
  saveSegment(name: $name, filter: $f) { id name size createdAt definition typologies { code wallets } } }"""
SEGMENTS = """{ segments { id size } segment(id: "targets") { id wallets(first: 3) { address labels } } }"""
CREATE = """mutation($input: CampaignInput!) { createCampaign(input: $input) {
  id name segmentId goalContracts start holdout targets treatment control } }"""
SNAPSHOT = """mutation($id: ID!, $name: String, $at: Int) {
  snapshotCampaign(campaignId: $id, name: $name, at: $at) { id kind status } }"""
CAMPAIGN = """query($id: ID!) { campaigns { id } campaign(id: $id) {
  id snapshots { name at targets summary }
  metrics { fromSnapshot toSnapshot groups cost conversion { diff low high pValue method }
    retention { diff } }
  reportUrl } }"""


@pytest.fixture(scope="module")
async def api(falkor_server, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[Stack, Path]]:
    tmp = tmp_path_factory.mktemp("marketing-api")
    folder = tmp / "synth"
    generate(
        folder, 800, DAYS, seed=6, campaign=True, campaign_params=CampaignParams(baseline=0.1, uplift=0.3)
    )
    with stack(falkor_server, tmp) as s:
        store = FalkorStore(s.server.graph_url, s.graph)
        await ingest_etl(store, [folder])
        await set_labels(store, label_frame(folder))
        await store.close()
        yield s, folder


def read(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)


def test_segments_campaign_snapshots_metrics_and_report(api: tuple[Stack, Path]) -> None:
    s, folder = api
    labels = label_frame(folder)
    truth = read(folder, "campaign")
    contracts = read(folder, "contracts")
    goal = contracts.loc[contracts["name"].str.startswith("Quest Pass"), "address"].item()

    preview = s.data(PREVIEW, {"f": {"base": "nft-enthusiasts"}})["previewSegment"]
    expected = labels[labels["typology"].str.startswith("N-") & ~labels["anomaly_flagged"]][
        "typology"
    ].value_counts()
    assert preview["size"] == int(expected.sum())
    assert {t["code"]: t["wallets"] for t in preview["typologies"]} == expected.to_dict()

    f = {"addresses": list(truth["address"]), "includeFlagged": True}
    saved = s.data(SAVE, {"name": "Targets", "f": f})["saveSegment"]
    assert saved["id"] == "targets" and saved["size"] == len(truth)
    lists = s.data(SEGMENTS)
    assert {"id": "targets", "size": len(truth)} in lists["segments"]
    assert len(lists["segment"]["wallets"]) == 3

    created = s.data(CREATE, {"input": {"name": "Quest", "segment": "targets", "goalContracts": [goal],
                                        "start": START, "cost": 150.0}})["createCampaign"]  # fmt: skip
    assert created["targets"] == len(truth)
    assert created["treatment"] == int((truth["group"] == "treatment").sum())

    first = s.data(SNAPSHOT, {"id": "quest", "name": "start", "at": START})["snapshotCampaign"]
    second = s.data(SNAPSHOT, {"id": "quest", "name": "end", "at": END})["snapshotCampaign"]
    assert first["kind"] == "snapshot_campaign" and first["id"] != second["id"]
    jobs = s.wait_jobs([first["id"], second["id"]])
    assert all(j["status"] == "COMPLETED" for j in jobs.values()), jobs
    assert jobs[first["id"]]["result"]["taken"] and jobs[second["id"]]["result"]["taken"]
    again = s.data(SNAPSHOT, {"id": "quest", "name": "end", "at": END - 3600})["snapshotCampaign"]
    result = s.wait_jobs([again["id"]])[again["id"]]["result"]
    assert result["taken"] is False and result["at"] == END  # one snapshot per name

    c = s.data(CAMPAIGN, {"id": "quest"})["campaign"]
    assert [x["name"] for x in c["snapshots"]] == ["start", "end"]
    m = c["metrics"]
    assert (m["fromSnapshot"], m["toSnapshot"]) == ("start", "end")
    for group in ("treatment", "control"):
        rows = truth[truth["group"] == group]
        assert m["groups"][group]["converted"] == int((rows["converted"] == "1").sum())
    assert m["conversion"]["low"] <= 0.3 <= m["conversion"]["high"] and m["conversion"]["low"] > 0
    assert m["cost"]["per_converted"] == pytest.approx(150.0 / m["groups"]["treatment"]["converted"])

    page = requests.get(c["reportUrl"], timeout=10)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.text.count("data:image/png;base64,") == 3 and "Campaign Quest" in page.text


def test_errors_are_typed(api: tuple[Stack, Path]) -> None:
    s, _ = api
    missing = s.gql(CAMPAIGN, {"id": "nope"}, key="test-key-1")
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    bad = s.gql(PREVIEW, {"f": {"typologies": ["D-?"]}}, key="test-key-1")
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    no_goal = s.gql(CREATE, {"input": {"name": "x", "segment": "targets"}}, key="test-key-1")
    assert no_goal["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    unknown = s.gql(SNAPSHOT, {"id": "nope"}, key="test-key-1")
    assert unknown["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    anonymous = s.gql(SAVE, {"name": "x", "f": {}}, key=None)
    assert anonymous["errors"][0]["extensions"]["code"] in ("UNAUTHENTICATED", "FORBIDDEN")
