"""The campaign report: its JSON holds what the HTML shows; the HTML opens in headless Chromium
with its three plots rendered (decoded PNGs that are not blank, and drawn in the screenshot)."""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from graph import marketing as gm
from graph.cypher import Statement
from graph.model import CATEGORIES
from graph.store import GraphStore
from ingest.load import ingest_etl
from ingest.synth import CampaignParams, generate
from ml.marketing import campaigns as mc
from ml.marketing import report as mr

T0 = 1704067200
DAYS = 16
START, END = T0 + 8 * 86400, T0 + 16 * 86400
IMG = re.compile(r'<img id="plot-(\w+)"[^>]*src="data:image/png;base64,([^"]+)"')


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail(
            "chromium is needed for the report test (scripts/test installs it: apt-get install chromium)"
        )
    return found


def screenshot(html_file: Path, png: Path, height: int = 3000) -> np.ndarray:
    proc = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--hide-scrollbars", f"--window-size=1000,{height}", f"--screenshot={png}", html_file.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert png.exists(), proc.stderr
    return np.asarray(Image.open(png).convert("RGB")).astype(int)


def colour_pixels(img: np.ndarray, hex_colour: str, tol: int = 40) -> int:
    rgb = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(img - rgb).sum(axis=2) < tol).sum())


SOCIAL = CATEGORIES.index("Social")
SET_PROPENSITY = Statement(
    "test_set_propensity",
    "UNWIND range(0, size($addresses) - 1) AS i MATCH (w:Wallet {address: $addresses[i]}) "
    "SET w.propensity = [k IN range(0, 5) | CASE WHEN k = $social THEN $scores[i] ELSE 0.5 END]",
)


def propensity(address: str) -> float:
    return int(address[-6:], 16) % 1000 / 1000  # spread over [0, 1), independent of the holdout


@pytest.fixture
async def report(store: GraphStore, tmp_path: Path) -> dict:
    folder = tmp_path / "synth"
    generate(
        folder, 1200, DAYS, seed=4, campaign=True, campaign_params=CampaignParams(baseline=0.05, uplift=0.15)
    )
    await ingest_etl(store, [folder])
    contracts = (folder / "contracts.csv").read_text().splitlines()
    goal = next(line.split(",")[0] for line in contracts if "Quest Pass" in line)
    targets = [line.split(",")[0] for line in (folder / "campaign.csv").read_text().splitlines()[1:]]
    seg, _ = await gm.save_segment(
        store, "t", "t", gm.SegmentFilter(addresses=tuple(targets), include_flagged=True), 0
    )
    # predicted Social (the goal contract's category) propensities when the campaign takes them
    await store.execute(
        SET_PROPENSITY, {"addresses": targets, "scores": [propensity(a) for a in targets], "social": SOCIAL}
    )
    # no typology from ml/ on these wallets: the typology table says so ('unknown')
    await mc.create(store, "launch", seg.id, goal_contracts=[goal], start=START, now=START, cost=500.0)
    # later scoring marks every target as a user already: the report keeps the targeting-time values
    await store.execute(
        SET_PROPENSITY, {"addresses": targets, "scores": [-1.0] * len(targets), "social": SOCIAL}
    )
    for day in (0, 2, 4, 8):
        await mc.snapshot(store, "launch", f"day-{day}", at=START + day * 86400)
    return await mr.build(store, "launch")


async def test_report_json(report: dict) -> None:
    m = report["metrics"]
    assert [s["name"] for s in report["snapshots"]] == ["day-0", "day-2", "day-4", "day-8"]
    assert (m["from"]["name"], m["to"]["name"]) == ("day-0", "day-8")
    # the curve ends where the snapshots say, per group
    for g in ("treatment", "control"):
        assert report["series"]["curve"][g][-1] == pytest.approx(m["groups"][g]["conversion_rate"])
        rates = [p["rate"] for p in report["series"]["snapshots"][g]]
        assert rates == sorted(rates) and rates[0] == 0.0
    assert report["typologies"][0]["typology"] == "unknown"
    assert (
        sum(r["treatment_converted"] for r in report["typologies"]) == m["groups"]["treatment"]["converted"]
    )
    assert mr.to_json(report)


async def test_report_splits_lift_by_the_propensity_predicted_at_targeting(report: dict) -> None:
    table = report["propensity"]
    assert table["category"] == "Social" and table["unscored"] == 0
    rows = table["deciles"]
    assert [r["decile"] for r in rows] == list(range(1, 11))
    # decile 1 holds the highest predictions, each decile's below the one before (not the -1 set later)
    assert all(a["min"] >= b["max"] for a, b in zip(rows, rows[1:], strict=False)) and rows[-1]["min"] >= 0
    m = report["metrics"]["groups"]
    for g in ("treatment", "control"):
        assert sum(r[f"{g}_targets"] for r in rows) == m[g]["targets"]
        assert sum(r[f"{g}_converted"] for r in rows) == m[g]["converted"]
    for r in rows:
        if r["lift"]:
            assert r["lift"]["diff"] == pytest.approx(r["treatment_rate"] - r["control_rate"])


async def test_report_html_renders_its_plots_in_chromium(report: dict, tmp_path: Path) -> None:
    page = mr.render_html(report)
    images = dict(IMG.findall(page))
    assert set(images) == {"conversion", "lift", "typologies", "propensity"}
    for name, data in images.items():
        img = np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")).astype(int)
        assert img.shape[0] > 150 and img.shape[1] > 400, name
        assert img.std() > 20, f"{name} plot is blank"
        assert (img.sum(axis=2) < 200).mean() > 0.002, f"{name} plot has no ink"  # axes, text, markers

    html_file = tmp_path / "report.html"
    html_file.write_text(page)
    shot = screenshot(html_file, tmp_path / "shot.png")
    # the plots' colours are drawn: the treatment and control lines and bars, the lift interval
    assert colour_pixels(shot, mr.COLORS["treatment"]) > 2000
    assert colour_pixels(shot, mr.COLORS["control"]) > 1000
    assert colour_pixels(shot, "#2ca02c") > 100  # a conversion lift above 0, in green
    # the same page without its images has none of them: they come from the plots
    bare = tmp_path / "bare.html"
    bare.write_text(IMG.sub("", page))
    blank = screenshot(bare, tmp_path / "bare.png")
    assert colour_pixels(blank, mr.COLORS["treatment"]) < 50
