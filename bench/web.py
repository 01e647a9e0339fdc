"""The web app (issue 18) in headless Chromium against a real `aidrop serve` + worker on a demo
chain (tests/webstack.py: `aidrop demo --no-serve`, ml/'s models): web/e2e/bench.mjs measures

- first meaningful render of a wallet page from a cold load (empty cache: the address, the anomaly
  score and its reasons on screen), against the same wallet's GraphQL query alone from a blank
  page of the same origin (baseline: what any client pays);
- the JavaScript shipped, gzipped, against the 400 KB budget;
- frame rate while panning (mouse drag) and zooming (wheel) a neighbourhood grown to >= 500
  wallets by expanding hubs, against the same page untouched (baseline: the display's rate).

Needs the build (cd web && npm ci && npm run build) and Debian's chromium.

.venv/bin/python bench/web.py [--wallets 1500] [--runs 5] [--nodes 500]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])

from bench.common import embedded, load_average, table  # noqa: E402
from tests.webstack import WEB, chain_folder, personas, web_stack  # noqa: E402

BUDGET_KB = 400


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wallets", type=int, default=1500)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--nodes", type=int, default=500)
    args = parser.parse_args()
    if not (WEB / "dist" / "index.html").is_file():
        raise SystemExit("build the web app first: cd web && npm ci && npm run build")
    with embedded() as server, tempfile.TemporaryDirectory(prefix="aidrop-web-bench-") as tmp:
        print(f"demo chain of {args.wallets:,} wallets, trained and scored ...", file=sys.stderr)
        with web_stack(server, Path(tmp), wallets=args.wallets) as s:
            wallet = personas(chain_folder(s, args.wallets), 1)[0]
            run = subprocess.run(
                ["node", "e2e/bench.mjs", "--url", s.url, "--wallet", wallet, "--runs", str(args.runs),
                 "--nodes", str(args.nodes)],
                cwd=WEB, capture_output=True, text=True, timeout=900,
            )  # fmt: skip
            if run.returncode:
                raise SystemExit(run.stderr[-3000:])
            r = json.loads(run.stdout.strip().splitlines()[-1])
    print(json.dumps(r), file=sys.stderr)  # the raw figures, for the record
    kb = r["jsGzipBytes"] / 1024
    first, bare = r["firstRenderMedianMs"], r["bareQueryMedianMs"]
    rows = [
        ("wallet page, first meaningful render (cold, median)", f"{first} ms",
         f"{bare} ms (its query alone)", f"{first / max(1, bare):.1f}x"),
        ("JavaScript shipped, gzipped", f"{kb:.0f} KB in {r['jsFiles']} files",
         f"{BUDGET_KB} KB (budget)", f"{kb / BUDGET_KB:.2f}"),
        (f"pan + zoom, {r['graphNodes']} wallets / {r['graphEdges']} flows", f"{r['panZoom']['fps']} fps "
         f"(p95 frame {r['panZoom']['p95FrameMs']} ms)", f"{r['idle']['fps']} fps (untouched)",
         f"{r['panZoom']['fps'] / max(1, r['idle']['fps']):.2f}"),
    ]  # fmt: skip
    print(table(rows, ("what", "figure", "baseline", "ratio")))
    print(f"\nfirst renders (ms): {r['firstRenderMs']}; scripts at first render: {r['scriptsAtFirstRender']}")
    print(f"load average: {load_average()}")


if __name__ == "__main__":
    main()
