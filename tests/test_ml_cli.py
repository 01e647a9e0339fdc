"""The wallet-intelligence commands end to end, as a user runs them: synthetic chain in, CSV of
scores out, evaluations, and the HTML report with its plots."""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib import image

from ingest.synth import generate

pytestmark = pytest.mark.both_backends

AIDROP = str(Path(sys.executable).with_name("aidrop"))


def run(env: dict[str, str], *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([AIDROP, *args], env=env, capture_output=True, text=True, timeout=600)
    if ok:
        assert proc.returncode == 0, f"aidrop {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
    return proc


def test_train_score_evaluate_report(cli_env: dict[str, str], tmp_path: Path) -> None:
    data = tmp_path / "synth"
    generate(data, 1200, 30, seed=8, laundering_share=0.08)
    run(cli_env, "ingest", "etl", str(data))
    labels = data / "labels.csv"

    # mpocryptoml cannot score before it is trained with labels
    missing = run(cli_env, "score", "--model", "mpocryptoml", ok=False)
    assert missing.returncode == 2 and "train" in missing.stderr

    proc = run(cli_env, "train", "anomaly", "--labels", str(labels))
    assert "s] fitting anomaly (aidrop)" in proc.stderr and "s] read graph" in proc.stderr  # progress
    trained = json.loads(proc.stdout)
    assert trained["supervised"] is True and trained["metrics"]["out_of_fold"]["auc"] > 0.7
    run(cli_env, "train", "anomaly", "--model", "mpocryptoml", "--labels", str(labels))
    typology = json.loads(run(cli_env, "train", "typology", "--labels", str(labels)).stdout)
    assert set(typology["metrics"]["axes"]) == {"focus", "pattern", "risk", "community"}
    run(cli_env, "train", "clusters", "--algorithm", "gmm", "--k", "3")

    out = tmp_path / "scores.csv"
    proc = run(cli_env, "score", "--out", str(out))
    scores = pd.read_csv(out)
    stats = json.loads(run(cli_env, "graph", "stats", "--json").stdout)
    assert list(scores.columns) == ["address", "anomaly_score", "rank", "flagged"]
    assert len(scores) == stats["wallets"] and scores["address"].is_unique
    assert scores["rank"].is_monotonic_increasing and scores["rank"].iloc[0] == 1
    assert scores["anomaly_score"].is_monotonic_decreasing
    assert f"{int(scores['flagged'].sum()):,} flagged" in proc.stderr
    top = run(cli_env, "score", "--model", "mpocryptoml", "--out", str(out), "--top", "7")
    assert len(pd.read_csv(out)) == 7 and "mpocryptoml" in top.stderr

    wallet = json.loads(run(cli_env, "graph", "wallet", scores["address"].iloc[0], "--json").stdout)
    assert wallet["wallet"]["props"]["anomaly_model"] == "mpocryptoml"  # the last run wrote it

    evaluated = run(cli_env, "evaluate", "anomaly", "--labels", str(labels), "--folds", "3", "--k", "10,30")
    assert "aidrop: fold 3 of 3" in evaluated.stderr and "mpocryptoml: fold 1 of 3" in evaluated.stderr
    lines = evaluated.stdout.splitlines()
    assert lines[0].split()[:4] == ["model", "labelled", "auc", "accuracy"] and "precision@30" in lines[0]
    names = [line.split("  ")[0] for line in lines[1:]]
    assert names == ["aidrop", "mpocryptoml", "aidrop (label-free)"]
    run(cli_env, "evaluate", "typology", "--labels", str(labels))

    report = tmp_path / "report.html"
    run(cli_env, "report", "model", "--out", str(report))
    html = report.read_text()
    for heading in ("Anomaly: evaluation", "Typology", "Clusters", "Active versions", "Laundering patterns"):
        assert heading in html
    pngs = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(pngs) >= 12  # ROC, P@K, 3 score histograms, importance, 4x2 typology, map
    for data in pngs:
        pixels = image.imread(io.BytesIO(base64.b64decode(data)), format="png")
        assert pixels.shape[0] > 100 and np.asarray(pixels)[..., :3].std() > 0.01  # not blank

    # the laundering evidence the last scoring run stored
    listed = json.loads(run(cli_env, "patterns", "list", "--first", "3", "--json").stdout)
    assert listed["total"] >= 1 and 1 <= len(listed["patterns"]) <= 3
    first = listed["patterns"][0]
    assert first["members"] and first["transfers"] and first["start_ts"] <= first["end_ts"]
    shown = run(cli_env, "patterns", "show", first["id"]).stdout
    assert (
        first["type"] in shown and first["members"][0]["address"] in shown and first["transfers"][0] in shown
    )
    assert first["id"] in run(cli_env, "patterns", "list", "--type", first["type"]).stdout
    missing = run(cli_env, "patterns", "show", "fan_in-000000000000", ok=False)
    assert missing.returncode == 2 and "no pattern" in missing.stderr
