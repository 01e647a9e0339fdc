"""The table of models: every model the registry stores, what kind it is and how to make one.

The CLI (`aidrop train/score --model`), the registry (which names it accepts), the report and
the API's `models` read this table; nothing else lists model names. Anomaly models follow
ml/base.py's `AnomalyModel`; add one with a row here (docs/architecture.md, "A model")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from ml.base import AnomalyModel


def _aidrop() -> type[AnomalyModel]:
    from ml.anomaly.aidrop import AidropAnomaly

    return AidropAnomaly


def _mpocryptoml() -> type[AnomalyModel]:
    from ml.anomaly.mpocryptoml import MpoCryptoML

    return MpoCryptoML


@dataclass(frozen=True)
class ModelSpec:
    name: str
    kind: Literal["anomaly", "typology", "clusters", "growth"]
    summary: str
    needs_labels: bool = False  # cannot be fitted (or fitted on the spot) without labels
    anomaly: Callable[[], type[AnomalyModel]] | None = None  # the class, imported when asked for


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("aidrop", "anomaly", "extra trees on features and context; label-free: laundering evidence",
                  anomaly=_aidrop),
        ModelSpec("mpocryptoml", "anomaly", "MPOCryptoML as published (PPR, regression on NTS and NWS)",
                  needs_labels=True, anomaly=_mpocryptoml),
        ModelSpec("typology", "typology", "four-axis typology, one random forest per axis"),
        ModelSpec("clusters", "clusters", "behavioural clusters with profiles and a map"),
        ModelSpec("churn", "growth", "dormancy risk (ml/growth)"),
        ModelSpec("propensity", "growth", "first interaction per contract category (ml/growth)"),
    )
}  # fmt: skip
ANOMALY_MODELS = tuple(name for name, spec in MODELS.items() if spec.kind == "anomaly")
DEFAULT_ANOMALY = "aidrop"


def anomaly_class(name: str) -> type[AnomalyModel]:
    spec = MODELS.get(name)
    if spec is None or spec.anomaly is None:
        raise ValueError(f"unknown anomaly model {name!r}: choose one of {', '.join(ANOMALY_MODELS)}")
    return spec.anomaly()


def make_model(name: str, **params: Any) -> AnomalyModel:
    """A new (unfitted) anomaly model of the table with these parameters."""
    return anomaly_class(name)(**params)
