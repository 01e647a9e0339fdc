"""The web app end to end (issue 18): real `aidrop serve` + worker on a small demo chain (trained
and scored by ml/), the built app (web/dist) at /app/, and headless Chromium (Debian's, through
playwright-core: web/e2e/run.mjs) doing what an analyst and a growth team do: search a wallet, read
its scores and reasons, expand the flow graph twice, run an analysis and watch it complete, build
and save a segment, open a campaign's lift chart. Every page is checked with axe-core; console
errors and requests off the machine fail the test. Screenshots: web/e2e/artifacts/."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.apiserver import KEY, Stack
from tests.webstack import WEB, chain_folder, personas, web_stack

ARTIFACTS = WEB / "e2e" / "artifacts"


def _missing() -> str | None:
    if shutil.which("node") is None:
        return "node is needed for the web app's end-to-end test (Debian: apt-get install nodejs npm)"
    if not (WEB / "dist" / "index.html").is_file() or not (WEB / "node_modules" / "playwright-core").is_dir():
        return "the web app is not built: scripts/test builds it (cd web && npm ci && npm run build)"
    if shutil.which("chromium") is None:
        return "Debian's chromium is needed (scripts/test installs it: apt-get install chromium)"
    return None


@pytest.fixture(scope="module")
def app(falkor_server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if reason := _missing():
        pytest.fail(reason)
    with web_stack(falkor_server, tmp_path_factory.mktemp("web")) as s:
        yield s


@pytest.mark.timeout(600)
def test_the_web_app_end_to_end(app: Stack) -> None:
    page = requests.get(app.url + "/app/wallet/" + "0x" + "ab" * 20, timeout=5)
    assert page.status_code == 200 and '<div id="root">' in page.text  # a deep link opens the app
    assert "cdn" not in page.text.lower() and "https://" not in page.text

    wallet = personas(chain_folder(app), 1)[0]
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    run = subprocess.run(
        ["node", "e2e/run.mjs", "--url", app.url, "--key", KEY, "--wallet", wallet, "--out", str(ARTIFACTS)],
        cwd=WEB, capture_output=True, text=True, timeout=540,
    )  # fmt: skip
    assert run.stdout.strip(), run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    failed = [s for s in result["steps"] if not s["ok"]]
    assert result["ok"] and not failed, (failed, run.stderr[-2000:], app.log("api"), app.log("worker0"))

    facts = result["facts"]
    assert all("the score by" in r for r in facts["reasons"]) and float(facts["score"]) >= 0
    nodes = facts["graphNodes"]
    assert nodes[0] < nodes[1] <= nodes[2], nodes  # two expansions drawn (the second may add none)
    assert len(set(facts["expanded"])) == 2
    big = facts["bigGraph"]  # grown past 200 wallets: the tab lives and draws them all in view
    assert big["nodes"] >= 200 and big["shown"] == big["nodes"] and big["drawn"] == big["nodes"], big
    assert big["painted"] >= 10 * big["nodes"], big
    assert facts["jobStatuses"][-1] == "COMPLETED"
    seg = facts["segment"]
    assert 0 < seg["size"] < seg["all"] and seg["csvRows"] == seg["size"] and seg["breakdown"] > 0
    assert facts["lift"].startswith("conversion:") and facts["costPerIncremental"]

    assert result["consoleErrors"] == [] and result["pageErrors"] == [], result
    assert result["offsite"] == [], result["offsite"]
    serious = {
        page: [v for v in found if v["impact"] in ("serious", "critical")]
        for page, found in result["axe"].items()
    }
    assert set(serious) >= {"home", "wallet", "wallet-analysed", "segment-builder", "segment", "campaign"}
    assert not any(serious.values()), serious
    shots = [Path(p) for p in result["screenshots"]]
    assert len(shots) == len(result["axe"]) and all(p.stat().st_size > 10_000 for p in shots)
