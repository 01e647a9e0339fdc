"""Label-free laundering scores from the detected patterns (docs/ml.md, "Laundering evidence").

A wallet's score is its share of the evidence of the strongest pattern it takes part in: the sum
over the pattern's transfers of how much more unlikely each one's link is than a link kept by
chance (detect.py). The members share it, because a scheme needs all of them: the source of a
fan-in sends one transfer, but to a wallet that collects ten like it within days; a member tied
in by fewer links than the pattern's typical member (a bystander paid the same week) gets that
fraction. Services (wallets that are busy at some time: exchanges, routers, distributions) are
scored by nothing they relay.

The score is mapped to [0.5, 1) by 0.5 + 0.5 (1 - exp(-evidence / SCALE)); wallets in no pattern
are ordered below every pattern by `fallback` in [0, 1), scaled into [0, 0.5): the collector
heuristic (ml/anomaly/aidrop.py), which is what a graph without laundering shapes (phishing
collectors) still shows. A pre-aggregated edge list (more than MAX_AGGREGATED of its edges
stand for several transactions, tedge: a third) has no per-transfer times, so its score is the
fallback alone.
`flagged` marks wallets with evidence >= FLAG (about five transfers, each far beyond chance)."""

from __future__ import annotations

import json

import numpy as np

from ml.laundering.detect import Detection

SCALE = 15.0  # evidence at which the score is 0.63: five transfers each 1-in-1,000 by chance
#               (-ln 1000 = 6.9, less the 4.0 a chance link shows: 2.9 each)
MAX_AGGREGATED = 0.1  # share of edges standing for several transactions above which times are not
#                      per transfer (a pre-aggregated edge list such as tedge): no evidence used
FLAG = 15.0  # about five transfers each 1-in-1,000 by chance, or three beyond 1-in-8,000 (5 each)


def timed(edges_tx_count: np.ndarray) -> bool:
    """Whether the graph's transfers carry their own times (few pre-aggregated edges)."""
    return not len(edges_tx_count) or float(np.mean(edges_tx_count > 1)) <= MAX_AGGREGATED


def wallet_scores(det: Detection, fallback: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str | None]]:
    """(score, flagged, explanation JSON) per wallet; `fallback` orders wallets without evidence."""
    evidence = det.wallet_score
    below = 0.5 * np.clip(np.nan_to_num(fallback), 0.0, 0.999)
    score = np.where(evidence > 0, 0.5 + 0.5 * (1.0 - np.exp(-evidence / SCALE)), below)
    flagged = evidence >= FLAG
    explanation: list[str | None] = []
    for i, p in enumerate(det.wallet_pattern.tolist()):
        if p < 0:
            explanation.append(None)
            continue
        pat = det.patterns[p]
        role = pat.roles[pat.wallets.index(i)]
        item = {
            "feature": f"laundering pattern: {pat.type} ({role})",
            "contribution": round(float(score[i]), 4),
            "value": round(float(pat.score), 3),
        }
        explanation.append(json.dumps([item], separators=(",", ":")))
    return score, flagged, explanation
