"""One wallet's analysis as a typed record: what ml/ computes, the jobs write onto the wallet and
the GraphQL `Wallet` type reads (docs/ml.md lists the properties).

The node keeps scalars and lists of scalars only, so the typology's axes and the explanations
are JSON text there; the record keeps them as they are stored and the readers decode them
(`graph.api_reads.typology_axes`, `explanation`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

# the properties a scoring run writes with the scores (SET_RESULTS in graph/cypher.py)
SCORE_PROPERTIES = (
    "typology", "typology_axes", "typology_explanation", "typology_version", "cluster", "cluster_version",
    "anomaly_score", "anomaly_rank", "anomaly_flagged", "anomaly_model", "anomaly_version",
    "anomaly_explanation", "ppr",
)  # fmt: skip


@dataclass(frozen=True)
class Factor:
    """One reason for a score: a feature (or a laundering pattern) and how much it added."""

    factor: str
    contribution: float
    value: float | None = None  # the wallet's value of the feature, when the model gives it


@dataclass(frozen=True)
class Explanation:
    """Why a wallet scored as it did: its factors, largest contribution first.

    On the node and in `AnomalyResult.explanation` it is JSON text, a list of `{"feature",
    "contribution"[, "value"]}` (ml/explain.py writes it without building objects, for speed);
    `parse` also reads `{"factor", ...}` items and a `{factor: contribution}` map."""

    factors: tuple[Factor, ...] = ()

    @classmethod
    def parse(cls, raw: Any) -> Explanation:
        data = raw
        if isinstance(raw, (str, bytes)):
            try:
                data = json.loads(raw)
            except ValueError:
                return cls()
        if isinstance(data, dict):
            return cls(tuple(Factor(str(k), _number(v) or 0.0) for k, v in data.items()))
        if not isinstance(data, list):
            return cls()
        return cls(
            tuple(
                Factor(str(f.get("factor", f.get("feature"))), _number(f.get("contribution")) or 0.0,
                       _number(f.get("value")))
                for f in data
                if isinstance(f, dict)
            )
        )  # fmt: skip

    def to_json(self) -> str:
        items = [
            {
                "feature": f.factor,
                "contribution": f.contribution,
                **({"value": f.value} if f.value is not None else {}),
            }
            for f in self.factors
        ]
        return json.dumps(items, separators=(",", ":"))


def _number(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


@dataclass
class WalletAnalysis:
    """A wallet's scores, typology, cluster and profile picture, keyed as on the node."""

    typology: str | None = None
    typology_axes: Any = None  # JSON text (or the decoded list): [{axis, value, probability}]
    typology_explanation: Any = None
    typology_version: str | None = None
    cluster: int | None = None
    cluster_version: str | None = None
    cluster_profile: Any = None  # an analyzer may give the profile with the wallet (JSON or dict)
    anomaly_score: float | None = None
    anomaly_rank: int | None = None
    anomaly_flagged: bool | None = None
    anomaly_model: str | None = None
    anomaly_version: str | None = None
    anomaly_explanation: Any = None  # JSON text per factor, or a list of {factor, contribution}
    ppr: float | None = None
    # the profile picture the job draws (jobs/worker.py) and when the job wrote the analysis
    profile_image: str | None = None
    profile_metadata: str | None = None
    profile_source: str | None = None
    profile_hash: str | None = None
    profile_prompt: str | None = None
    analyzed_at: int | None = None
    analysis_version: str | None = None

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> WalletAnalysis:
        """The record of a node's properties (other properties are left out)."""
        return cls(**{k: props.get(k) for k in _NAMES})

    def to_props(self, keys: tuple[str, ...] | None = None) -> dict[str, Any]:
        """The node properties: the scoring run's (`SCORE_PROPERTIES`) always, null included (a
        null removes a stale value), the others when set; `keys` narrows them."""
        props = asdict(self)
        out = {k: v for k, v in props.items() if k in SCORE_PROPERTIES or v is not None}
        return out if keys is None else {k: v for k, v in out.items() if k in keys}

    def explanation(self) -> Explanation:
        """The anomaly score's explanation."""
        return Explanation.parse(self.anomaly_explanation)

    def changed(self, props: Mapping[str, Any]) -> dict[str, Any]:
        """The properties that differ from what the node already holds."""
        return {k: v for k, v in self.to_props().items() if props.get(k) != v}


_NAMES = tuple(f.name for f in fields(WalletAnalysis))
