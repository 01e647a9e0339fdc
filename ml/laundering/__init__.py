"""Laundering typologies as evidence: patterns detected in the transfers (detect.py), wallet
scores from that evidence (score.py). docs/ml.md explains the reasoning behind each parameter."""
