"""A demo stack for the web app's end-to-end test and bench (issue 18): a small synthetic chain
loaded, trained and scored by `aidrop demo --no-serve` (ml/'s real models), real `aidrop serve`
and `aidrop worker` processes, and a campaign on the chain's campaign targets with two snapshots.

    .venv/bin/python -m tests.webstack      # the same stack on its own, until Ctrl-C (for a look)
"""

from __future__ import annotations

import csv
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from graph.embedded import EmbeddedServer
from ingest.synth.clock import DEFAULT_START
from tests.apiserver import AIDROP, KEY, Stack

WALLETS, DAYS, SEED = 300, 16, 6
START, END = DEFAULT_START + DAYS // 2 * 86400, DEFAULT_START + DAYS * 86400
WEB = Path(__file__).resolve().parent.parent / "web"


def chain_folder(stack_: Stack, wallets: int = WALLETS) -> Path:
    return stack_.tmp / "data" / "demo" / f"w{wallets}-d{DAYS}-s{SEED}"


def personas(folder: Path, n: int = 5) -> list[str]:
    """Wallets of the chain with a persona (not exchanges, contracts or launderers)."""
    with (folder / "labels.csv").open() as fh:
        rows = [
            r for r in csv.DictReader(fh) if r["segment"] in ("power", "active") and not r["laundering_id"]
        ]
    return [r["address"] for r in rows[:n]]


def _campaign(s: Stack, folder: Path) -> None:
    with (folder / "campaign.csv").open() as fh:
        targets = [r["address"] for r in csv.DictReader(fh)]
    with (folder / "contracts.csv").open() as fh:
        goal = next(r["address"] for r in csv.DictReader(fh) if r["name"].startswith("Quest Pass"))
    s.data(
        "mutation($n: String!, $f: SegmentFilterInput!) { saveSegment(name: $n, filter: $f) { id } }",
        {"n": "Quest targets", "f": {"addresses": targets, "includeFlagged": True}},
    )
    s.data(
        "mutation($i: CampaignInput!) { createCampaign(input: $i) { id } }",
        {
            "i": {
                "name": "Quest",
                "segment": "quest-targets",
                "goalContracts": [goal],
                "start": START,
                "cost": 150.0,
            }
        },
    )
    snap = (
        'mutation($n: String!, $at: Int!) { snapshotCampaign(campaignId: "quest", name: $n, at: $at) { id } }'
    )
    jobs = [
        s.data(snap, {"n": n, "at": at})["snapshotCampaign"]["id"]
        for n, at in (("start", START), ("end", END))
    ]
    done = s.wait_jobs(jobs, timeout=120)
    assert all(j["status"] == "COMPLETED" for j in done.values()), done


def _start_api(s: Stack, timeout: float = 180) -> None:
    """Stack.start_api with more time: this API loads the trained models' cluster profiles at
    startup, which takes a while on a busy machine."""
    s.api = s._spawn("api", "serve", "--log-level", "warning")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert s.api.poll() is None, f"aidrop serve exited {s.api.returncode}:\n{s.log('api')}"
        try:
            if requests.get(s.url + "/readyz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError(f"aidrop serve not ready after {timeout:.0f} s:\n{s.log('api')}")


@contextmanager
def web_stack(server: EmbeddedServer, tmp: Path, workers: int = 1, wallets: int = WALLETS) -> Iterator[Stack]:
    s = Stack(server, tmp, {"AIDROP_ANALYZER": "", "AIDROP_WEB_DIST": str(WEB / "dist")})
    try:
        started = time.monotonic()
        demo = subprocess.run(
            [AIDROP, "demo", "--wallets", str(wallets), "--days", str(DAYS), "--seed", str(SEED),
             "--no-serve"],
            env=s.env, cwd=tmp, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert demo.returncode == 0, demo.stdout + demo.stderr
        _start_api(s)
        for _ in range(workers):
            s.start_worker()
        _campaign(s, chain_folder(s, wallets))
        s.setup_seconds = time.monotonic() - started  # type: ignore[attr-defined]
        yield s
    finally:
        s.stop()


def main() -> None:  # pragma: no cover (by hand)
    import tempfile

    from tests.conftest import free_port

    tmp = Path(tempfile.mkdtemp(prefix="aidrop-web-"))
    server = EmbeddedServer(tmp / "falkor", free_port())
    server.start()
    try:
        with web_stack(server, tmp) as s:
            print(f"{s.url}/app/   key {KEY}   wallets e.g. {personas(chain_folder(s), 3)}", flush=True)
            print(f"setup {s.setup_seconds:.1f} s", flush=True)  # type: ignore[attr-defined]
            while True:
                time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
