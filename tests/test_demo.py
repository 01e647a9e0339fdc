"""`aidrop demo`, the README's main command, without the serving part: a fresh data folder ends
with a loaded, scored graph that a marketer's activity filter can use at once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.both_backends

AIDROP = str(Path(sys.executable).with_name("aidrop"))


def test_demo_loads_scores_and_summarises(cli_env: dict[str, str], tmp_path: Path) -> None:
    def aidrop(*args: str) -> str:
        done = subprocess.run([AIDROP, *args], env=cli_env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        return done.stdout

    out = aidrop("demo", "--no-serve", "--wallets", "300", "--days", "5")
    assert "scored" in out and "aidrop serve" in out
    assert "export AIDROP_API_KEYS=" in out and "aidrop worker" in out  # mutations work, jobs run
    stats = json.loads(aidrop("graph", "stats", "--json"))
    assert stats["wallets"] > 300 and stats["transfers"] > 1000
    activity = json.loads(aidrop("graph", "activity", "--status", "--json"))
    assert activity["stale"] is False and activity["transfers"] == stats["transfers"]
    aidrop("score", "--top", "5", "--out", str(tmp_path / "top.csv"))
    top = (tmp_path / "top.csv").read_text().strip().splitlines()
    assert top[0] == "address,anomaly_score,rank,flagged" and len(top) == 6
    end = 1704067200 + 5 * 86400  # the synthetic chain's last day
    segment = json.loads(aidrop("target", "all", "--active-since", "3d", "--as-of", str(end), "--json"))
    assert segment["wallets"] > 0
    # without --as-of: the chain is from 2024, the window counts back from its last transfer
    assert (
        json.loads(aidrop("target", "all", "--active-since", "3d", "--json"))["wallets"] == segment["wallets"]
    )
