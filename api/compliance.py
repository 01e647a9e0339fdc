"""GraphQL for compliance (docs/compliance.md): a wallet's attribution labels and exposure,
watchlists and alerts; mixed into api/schema.py's Wallet, Query, Mutation and Subscription."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from api.context import Context
from api.loader import Loader
from graph.exposure import exposure_record
from graph.labels import labels_of

Ctx = Info[Context, None]


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
            ],  # fmt: skip
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
                ]  # fmt: skip
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
    return Exposure.of(exposure_record({k[len("exposure_") :]: v for k, v in props.items()
                                        if k.startswith("exposure_")}))  # fmt: skip
