"""Read-only GraphQL fields the web app's dashboards need (issue 18): a wallet's value in and out
per day, the model registry's versions with their metrics, and the cluster model's 2-D map.
Merged into api/schema.py (`Wallet.activity`, Query as a mixin)."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.permission import BasePermission
from strawberry.scalars import JSON
from strawberry.types import Info

from api.context import Context
from api.safety import ReadKey
from core.errors import NotFound
from graph import api_reads

Ctx = Info[Context, None]
READ: list[type[BasePermission]] = [ReadKey]


@strawberry.type(description="A wallet's transfers of one UTC day.")
class ActivityDay:
    day: int = strawberry.field(description="The day's start (epoch seconds, UTC).")
    value_in: float = strawberry.field(description="Native value received (ETH).")
    value_out: float = strawberry.field(description="Native value sent (ETH).")
    transfers_in: int
    transfers_out: int


async def wallet_activity(info: Ctx, address: str, since: int | None, until: int | None) -> list[ActivityDay]:
    flows = await api_reads.daily_flows(info.context.services.store, address, since, until)
    return [
        ActivityDay(
            day=f.day,
            value_in=f.value_in,
            value_out=f.value_out,
            transfers_in=f.transfers_in,
            transfers_out=f.transfers_out,
        )
        for f in flows
    ]


@strawberry.type(description="One trained version of a model (the registry's metadata).")
class ModelVersion:
    version: str
    active: bool
    created: str | None
    metrics: JSON | None = strawberry.field(description="As the training recorded them.")
    params: JSON | None
    trained_on: int | None = strawberry.field(description="Wallets it was fitted on.")
    seconds: float | None = strawberry.field(description="Training time.")


@strawberry.type(description="A model of the registry (AIDROP_DATA_DIR/models) and its versions.")
class ModelInfo:
    name: str
    active_version: str | None
    versions: list[ModelVersion] = strawberry.field(description="Newest first.")


@strawberry.type(description="The cluster model's 2-D map (PCA) of a sample of wallets.")
class ClusterMap:
    version: str
    x: list[float]
    y: list[float]
    cluster: list[int]


def _registry(info: Ctx) -> Any:
    from ml.registry import Registry

    return Registry(info.context.settings.data_dir)


def _version(meta: dict[str, Any], active: str | None) -> ModelVersion:
    return ModelVersion(
        version=str(meta.get("version")),
        active=meta.get("version") == active,
        created=meta.get("created"),
        metrics=meta.get("metrics"),
        params=meta.get("params"),
        trained_on=meta.get("trained_on"),
        seconds=meta.get("seconds"),
    )


@strawberry.type
class InsightQuery:
    @strawberry.field(permission_classes=READ, description="The registry's models and their versions.")
    def models(self, info: Ctx, last: int = 10) -> list[ModelInfo]:
        from ml.models import MODELS

        registry = _registry(info)
        out = []
        for name in MODELS:
            active = registry.active(name)
            versions = list(reversed(registry.versions(name)))[: max(1, min(last, 100))]
            if not versions:
                continue
            metas = [registry.metadata(name, v) for v in versions]
            out.append(
                ModelInfo(name=name, active_version=active, versions=[_version(m, active) for m in metas])
            )
        return out

    @strawberry.field(permission_classes=READ, description="The active cluster model's map; null if none.")
    def cluster_map(self, info: Ctx) -> ClusterMap | None:
        try:
            meta = _registry(info).metadata("clusters")
        except NotFound:
            return None
        m = meta.get("map") or {}
        if not m.get("x"):
            return None
        return ClusterMap(version=str(meta["version"]), x=m["x"], y=m["y"], cluster=m["cluster"])
