"""GraphQL for compliance (docs/compliance.md): a wallet's attribution labels and exposure,
watchlists and alerts; mixed into api/schema.py's Wallet, Query, Mutation and Subscription."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator
from typing import Any, cast

import strawberry
from strawberry.permission import BasePermission
from strawberry.scalars import JSON
from strawberry.types import Info

from api.context import Context
from api.safety import ApiError, KeyRequired, ReadKey, page_size
from core.address import normalize_address
from graph import watch as gw

Ctx = Info[Context, None]
READ: list[type[BasePermission]] = [ReadKey]
WRITE: list[type[BasePermission]] = [KeyRequired]


# ---- watchlists and alerts ---------------------------------------------------------------------------
ALERT_POLL_S = 0.2  # how often a subscription looks for new alerts (alerts are written by ingestion)


@strawberry.type(description="A watched wallet: its rules and where its alerts go.")
class WatchInfo:
    id: strawberry.ID
    address: str
    rules: list[str]
    webhook: str | None
    created_at: int

    @classmethod
    def of(cls, w: gw.Watch) -> WatchInfo:
        return cls(
            id=strawberry.ID(w.id),
            address=w.address,
            rules=w.rules,
            webhook=w.webhook,
            created_at=w.created_at,
        )


@strawberry.type(description="An alert a watch raised (stored; delivered to its webhook if it has one).")
class AlertInfo:
    id: strawberry.ID
    seq: str = strawberry.field(description="Creation order (pass as `after` to resume a subscription).")
    address: str
    rule: str
    status: str = strawberry.field(description="new, pending, delivered, failed or acknowledged.")
    created_at: float
    attempts: int
    delivered_at: float | None
    last_error: str | None
    detail: JSON

    @classmethod
    def of(cls, a: gw.Alert) -> AlertInfo:
        return cls(
            id=strawberry.ID(a.id),
            seq=str(a.seq),
            address=a.address,
            rule=a.rule,
            status=a.status,
            created_at=a.created_at,
            attempts=a.attempts,
            delivered_at=a.delivered_at,
            last_error=a.last_error,
            detail=cast(JSON, a.detail),
        )


def _watch_input(call: Any) -> Any:
    try:
        return call()
    except (gw.WatchError, ValueError) as exc:
        raise ApiError(str(exc), "BAD_USER_INPUT") from exc


@strawberry.type
class ComplianceQuery:
    @strawberry.field(permission_classes=READ, description="Every watch.")
    async def watches(self, info: Ctx) -> list[WatchInfo]:
        return [WatchInfo.of(w) for w in await gw.watches(info.context.services.store)]

    @strawberry.field(permission_classes=READ, description="Alerts newest first.")
    async def alerts(
        self,
        info: Ctx,
        status: str | None = None,
        address: str | None = None,
        first: int = 50,
        before: str | None = None,
    ) -> list[AlertInfo]:
        first = page_size(first, info.context.settings.max_page)
        found = await _watch_input(
            lambda: gw.alert_page(
                info.context.services.store, status, address, first, int(before) if before else None
            )
        )
        return [AlertInfo.of(a) for a in found]


@strawberry.type
class ComplianceMutation:
    @strawberry.mutation(permission_classes=WRITE, description="Watch wallets with rules (default: any).")
    async def watch_add(
        self, info: Ctx, addresses: list[str], rules: list[str] | None = None, webhook: str | None = None
    ) -> list[WatchInfo]:
        from ingest.alerts import parse_rules

        checked = _watch_input(lambda: parse_rules(rules))
        found = await _watch_input(
            lambda: gw.add_watches(info.context.services.store, addresses, checked, webhook)
        )
        return [WatchInfo.of(w) for w in found]

    @strawberry.mutation(
        permission_classes=WRITE, description="Stop watching wallets; how many watches went."
    )
    async def watch_remove(self, info: Ctx, addresses: list[str]) -> int:
        return await _watch_input(lambda: gw.remove_watches(info.context.services.store, addresses))

    @strawberry.mutation(permission_classes=WRITE, description="Mark an alert as dealt with.")
    async def acknowledge_alert(self, info: Ctx, id: strawberry.ID) -> bool:
        await gw.set_status(info.context.services.store, str(id), "acknowledged")
        return True


@strawberry.type
class ComplianceSubscription:
    @strawberry.subscription(
        permission_classes=READ,
        description="Alerts as ingestion raises them (after `after`, else from now on).",
    )
    async def alerts(
        self, info: Ctx, address: str | None = None, after: str | None = None
    ) -> AsyncGenerator[AlertInfo, None]:
        store = info.context.services.store
        where = _watch_input(lambda: normalize_address(address)) if address else None
        cursor = int(after) if after else time.time_ns()
        while True:
            for alert in await gw.alerts_after(store, cursor, where):
                cursor = max(cursor, alert.seq)
                yield AlertInfo.of(alert)
            await asyncio.sleep(ALERT_POLL_S)
