"""Wallet intelligence: features, PageRank, clusters, typologies, anomaly scores, explanations and
the model registry (docs/ml.md). Data comes from and goes to the graph through graph/."""
