"""Detection end to end: read the graph, find the clusters, name the transactions behind each
link, store clusters and links (graph/sybil.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from graph import sybil as gs
from graph.features import WalletGraph, load_wallet_graph
from graph.store import GraphStore
from ml.sybil.detect import SybilDetector


@dataclass
class DetectReport:
    wallets: int = 0
    transfers: int = 0
    clusters: int = 0
    members: int = 0
    links: int = 0
    largest: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def link_rows(graph: WalletGraph, detector: SybilDetector) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """The detector's links as rows to store (one per link and kind, `edges` as row positions)
    and the edges they name (src, dst, ts, token, value), indexed by row position."""
    cluster_of = {a: c.id for c in detector.clusters_ for a in c.members}
    rows, wanted = [], set()
    for link in detector.links_:
        for kind, edges in link.edges.items():
            rows.append(
                {"a": link.a, "b": link.b, "cluster": cluster_of[link.a], "kind": kind, "edges": edges}
            )
            wanted.update(edges)
    e = graph.edges.iloc[sorted(wanted)]
    address = graph.wallets["address"].to_numpy()
    frame = pd.DataFrame({
        "src": address[e["src"].to_numpy()], "dst": address[e["dst"].to_numpy()], "ts": e["ts"].to_numpy(),
        "token": [graph.tokens[t] for t in e["token"].tolist()], "value": e["value"].to_numpy(),
    }, index=e.index)  # fmt: skip
    return rows, frame


async def detect(
    store: GraphStore,
    detector: SybilDetector | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[DetectReport, SybilDetector]:
    say = progress or (lambda _: None)
    detector = detector or SybilDetector()
    report = DetectReport()
    began = time.perf_counter()
    say("reading the graph")
    graph = await load_wallet_graph(store)
    report.seconds["read"] = round(time.perf_counter() - began, 3)
    report.wallets, report.transfers = graph.n, len(graph.edges)
    detector.fit(graph, progress=lambda step: say(f"evidence: {step}"))
    report.seconds.update(detector.timings_)
    clock = time.perf_counter()
    say("naming the transactions")
    rows, edges = link_rows(graph, detector)
    hashes = dict(zip(edges.index.tolist(), await gs.transfer_hashes(store, edges), strict=True))
    links = []
    for r in rows:
        named = sorted({h for h in (hashes.get(e) for e in r["edges"]) if h})
        if named:
            links.append({**r, "transactions": named})
    report.seconds["hashes"] = round(time.perf_counter() - clock, 3)
    clock = time.perf_counter()
    say("writing clusters")
    await gs.write_clusters(store, detector.clusters_, links)
    report.seconds["write"] = round(time.perf_counter() - clock, 3)
    report.seconds["total"] = round(time.perf_counter() - began, 3)
    report.clusters = len(detector.clusters_)
    report.members = sum(len(c.members) for c in detector.clusters_)
    report.largest = max((len(c.members) for c in detector.clusters_), default=0)
    report.links = len(links)
    return report, detector
