"""GraphQL for compliance (docs/compliance.md): a wallet's attribution labels and exposure,
watchlists and alerts; mixed into api/schema.py's Wallet, Query, Mutation and Subscription."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from api.context import Context
from api.loader import Loader
from api.safety import ApiError, KeyRequired, ReadKey, page_size
from graph import watch as gw
from graph.address import normalize_address
from graph.exposure import exposure_record
from graph.labels import labels_of

Ctx = Info[Context, None]
READ = [ReadKey]
WRITE = [KeyRequired]


@strawberry.type(description="Who a wallet is according to one source.")
class Attribution:
    label: str
    category: str = strawberry.field(description="sanctioned, mixer, scam, hack, exchange, bridge, ...")
    source: str
    confidence: float = strawberry.field(description="0 to 1.")
    verified: bool = strawberry.field(description="False for lists written from memory or unchecked.")


@strawberry.type(description="Exposure to one risky category: the larger of the two shares, and both.")
class CategoryShare:
    category: str
    share: float
    received: float = strawberry.field(description="Share of the value received that came from it.")
    sent: float = strawberry.field(description="Share of the value sent that went to it.")


@strawberry.type(description="One of the strongest paths behind an exposure.")
class ExposurePath:
    side: str = strawberry.field(description="in: funds received along it; out: funds sent.")
    wallets: list[str] = strawberry.field(description="From the risky end to the wallet (in), or back (out).")
    value: float = strawberry.field(description="ETH attributed along this path.")
    share: float


@strawberry.type(description="Shares (0 to 1) of native value received from / sent to risky categories.")
class Exposure:
    direct: float = strawberry.field(description="The larger of directIn and directOut.")
    indirect: float = strawberry.field(description="The larger of indirectIn and indirectOut.")
    direct_in: float
    indirect_in: float = strawberry.field(description="Through unattributed intermediaries, within k hops.")
    direct_out: float
    indirect_out: float
    top_category: str | None
    risk: float = strawberry.field(description="1 for a labelled risky wallet, else its largest share.")
    ppr: float = strawberry.field(description="Personalised PageRank from the risky wallets.")
    computed_at: int | None
    by_category: list[CategoryShare]
    paths: list[ExposurePath]

    @classmethod
    def of(cls, r: dict[str, Any]) -> Exposure:
        cats = [
            CategoryShare(category=c, share=max(v["in"], v["out"]), received=v["in"], sent=v["out"])
            for c, v in r["categories"].items()
        ]
        cats.sort(key=lambda c: -c.share)
        return cls(
            direct=max(r["direct_in"], r["direct_out"]),
            indirect=max(r["indirect_in"], r["indirect_out"]),
            direct_in=r["direct_in"],
            indirect_in=r["indirect_in"],
            direct_out=r["direct_out"],
            indirect_out=r["indirect_out"],
            top_category=r["top_category"],
            risk=r["risk"],
            ppr=r["ppr"],
            computed_at=r["at"],
            by_category=cats,
            paths=[
                ExposurePath(side=p["side"], wallets=p["wallets"], value=p["value"], share=p["share"])
                for p in r["paths"]
            ],
        )


def _attribution_loader(context: Context) -> Loader[str, list[Attribution]]:
    """One statement for the labels of every wallet a request asks about."""
    loader = context.__dict__.get("_attributions")
    if loader is None:
        store = context.services.store

        async def load(keys: list[str]) -> list[list[Attribution]]:
            found = await labels_of(store, keys)
            return [
                [
                    Attribution(
                        label=x.label,
                        category=x.category,
                        source=x.source,
                        confidence=x.confidence,
                        verified=x.verified,
                    )
                    for x in found.get(k, [])
                ]
                for k in keys
            ]

        loader = context.__dict__["_attributions"] = Loader(load)
    return loader


async def wallet_attributions(info: Ctx, address: str) -> list[Attribution]:
    return await _attribution_loader(info.context).load(address)


def wallet_exposure(props: dict[str, Any]) -> Exposure | None:
    """From the wallet's own properties (read with it: no extra statement)."""
    if props.get("exposure_risk") is None:
        return None
    return Exposure.of(
        exposure_record({k[len("exposure_") :]: v for k, v in props.items() if k.startswith("exposure_")})
    )


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
            detail=a.detail,
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
