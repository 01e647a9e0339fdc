"""Sybil clusters for airdrops: evidence between wallets (evidence.py), clusters (detect.py),
pairwise measures against labels (score.py). docs/sybil.md."""

from ml.sybil.detect import Link, SybilCluster, SybilDetector

__all__ = ["Link", "SybilCluster", "SybilDetector"]
