"""Attribution labels in the graph: who a wallet is, according to whom, and how sure.

A label is a `:Label` node (label, category, source, confidence 0..1, verified) linked from its
wallet by `TAGGED`; one per (address, source, category), so importing a list again updates it.
Each wallet also keeps its distinct categories as `label_categories` (filters, Neo4j Browser).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from graph import cypher as q
from graph.store import GraphStore
from graph.watch import note_change

# Categories: the risky ones count towards exposure; services stop the tracing of funds (an
# exchange's internal movements are not visible on chain, so funds are attributed to it and no
# further); derived ones are aidrop's own findings (issue 14's laundering patterns, issue 15's
# sybil clusters) written as labels with source "aidrop".
RISK_CATEGORIES = ("sanctioned", "mixer", "scam", "hack", "laundering", "sybil")
SERVICE_CATEGORIES = ("exchange", "bridge", "defi", "nft", "gaming", "social")
DERIVED_CATEGORIES = ("laundering", "sybil")
DERIVED_SOURCE = "aidrop"
CATEGORY_ALIASES = {
    "sanction": "sanctioned",
    "sanctions": "sanctioned",
    "ofac": "sanctioned",
    "mixing_service": "mixer",
    "mixing": "mixer",
    "tumbler": "mixer",
    "phishing": "scam",
    "fraud": "scam",
    "ponzi_scheme": "scam",
    "ponzi": "scam",
    "ransomware": "scam",
    "hacker": "hack",
    "exploit": "hack",
    "exploiter": "hack",
    "theft": "hack",
    "stolen_funds": "hack",
    "cex": "exchange",
    "dex": "defi",
    "flagged laundering": "laundering",
    "money_laundering": "laundering",
    "sybil cluster": "sybil",
}
MAX_LABEL = 200  # characters of label text and source kept


@dataclass(frozen=True)
class Label:
    address: str
    label: str
    category: str
    source: str
    confidence: float = 1.0
    verified: bool = True

    @property
    def key(self) -> str:
        return f"{self.address}|{self.source}|{self.category}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def category_of(text: str) -> str:
    """The canonical category of a free-text one (`Phishing` -> scam); unknown ones lowercased."""
    name = " ".join(str(text).strip().lower().replace("-", "_").split())
    return CATEGORY_ALIASES.get(name, CATEGORY_ALIASES.get(name.replace(" ", "_"), name))


async def write_labels(store: GraphStore, labels: Sequence[Label]) -> int:
    """Merge the labels and their wallets; the wallets' `label_categories` follow."""
    stamp = time.time_ns()  # running monitors read the labels again when it moves
    rows = [{**lab.to_dict(), "key": lab.key, "updated_at": stamp} for lab in labels]
    for i in range(0, len(rows), store.write_batch):
        await store.execute(q.MERGE_LABELS, {"rows": rows[i : i + store.write_batch]})
    await _refresh_categories(store, sorted({lab.address for lab in labels}))
    note_change("labels")
    return len(rows)


async def delete_source(store: GraphStore, source: str) -> int:
    """Remove every label of one source (a list withdrawn or replaced); the count of wallets."""
    addresses = [r["address"] for r in await store.query(q.LABEL_SOURCE_ADDRESSES, {"source": source})]
    await store.execute(q.DELETE_LABELS, {"source": source})
    await _refresh_categories(store, addresses)
    note_change("labels")
    return len(addresses)


async def _refresh_categories(store: GraphStore, addresses: list[str]) -> None:
    for i in range(0, len(addresses), store.write_batch):
        await store.execute(q.SET_LABEL_CATEGORIES, {"addresses": addresses[i : i + store.write_batch]})


async def labels_of(store: GraphStore, addresses: Iterable[str]) -> dict[str, list[Label]]:
    """Each wallet's labels (wallets without any are absent)."""
    out: dict[str, list[Label]] = {}
    for r in await store.query(q.LABELS_OF, {"addresses": list(addresses)}):
        out.setdefault(r["address"], []).append(
            Label(
                r["address"],
                r["label"],
                r["category"],
                r["source"],
                float(r["confidence"] or 0.0),
                bool(r["verified"]),
            )
        )
    return out


async def labelled(store: GraphStore) -> list[dict[str, Any]]:
    """Every (address, category, confidence) the graph knows."""
    return await store.query(q.LABELLED)


async def label_counts(store: GraphStore) -> list[dict[str, Any]]:
    """Labels per category and source."""
    return await store.query(q.LABEL_COUNTS)


async def derive_labels(store: GraphStore) -> dict[str, int]:
    """aidrop's own findings as labels with source `aidrop` (replacing the previous ones): wallets
    the anomaly model flagged (laundering typologies; confidence = the anomaly score) and members
    of a sybil cluster (`sybil_cluster`, written by the sybil detector)."""
    await delete_source(store, DERIVED_SOURCE)
    labels = []
    for r in await store.query(q.FLAGGED_WALLETS):
        if r["flagged"]:
            score = float(r["score"]) if r["score"] is not None else 0.5
            labels.append(Label(r["address"], "flagged laundering", "laundering", DERIVED_SOURCE,
                                round(min(max(score, 0.0), 1.0), 4)))  # fmt: skip
        if r["sybil_cluster"] is not None:
            labels.append(
                Label(r["address"], f"sybil cluster {r['sybil_cluster']}", "sybil", DERIVED_SOURCE, 1.0)
            )
    await write_labels(store, labels)
    return {c: sum(1 for x in labels if x.category == c) for c in DERIVED_CATEGORIES}
