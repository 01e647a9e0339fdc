"""GraphQL for marketing (docs/marketing.md): segments, previews, campaigns with their snapshots,
metrics and report; merged into api/schema.py's Query and Mutation as mixins. Wallets and jobs
are api/types.py's."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Annotated, Any, cast

import strawberry
from strawberry.permission import BasePermission
from strawberry.scalars import JSON
from strawberry.types import Info

from api.context import Context
from api.safety import ApiError, KeyRequired, ReadKey, page_size
from api.types import Job, Wallet
from graph import marketing as gm
from graph.marketing import MarketingError
from ml.marketing import campaigns as mc
from ml.marketing import segments as ms

Ctx = Info[Context, None]
READ: list[type[BasePermission]] = [ReadKey]
WRITE: list[type[BasePermission]] = [KeyRequired]


@strawberry.type(description="Wallets of one typology code in a segment.")
class SegmentTypology:
    code: str | None
    wallets: int


def _typologies(counts: Mapping[str | None, int] | Mapping[str, int]) -> list[SegmentTypology]:
    return [SegmentTypology(code=k or None, wallets=v) for k, v in counts.items()]


@strawberry.input(description="A category and the least propensity a wallet must have for it.")
class PropensityBoundInput:
    category: str
    at_least: float


@strawberry.input(description="Which wallets: every given test must hold. Flagged wallets only if asked.")
class SegmentFilterInput:
    base: str | None = strawberry.field(
        default=None, description="A predefined segment to narrow: defi-holders, nft-enthusiasts, ..."
    )
    typologies: list[str] | None = strawberry.field(default=None, description="Codes or patterns: D-*-A-*.")
    clusters: list[int] | None = None
    min_anomaly: float | None = None
    max_anomaly: float | None = None
    active_since: int | None = strawberry.field(default=None, description="A transfer at or after (epoch s).")
    active_within_days: float | None = strawberry.field(
        default=None, description="A transfer in the last N days."
    )
    min_volume: float | None = strawberry.field(
        default=None, description="Native value sent + received (in the activity window)."
    )
    categories: list[str] | None = strawberry.field(
        default=None, description="Dealt with a contract of these."
    )
    addresses: list[str] | None = None
    include_flagged: bool = False
    include_sybil: bool = strawberry.field(default=False, description="Keep members of sybil clusters.")
    include_exposed: bool = strawberry.field(
        default=False, description="Also wallets exposed to risky categories (docs/compliance.md)."
    )
    max_exposure: float | None = strawberry.field(
        default=None, description="Leave out wallets with this exposure share or more (default 0.05)."
    )
    chain: int | None = strawberry.field(default=None, description="Wallets with transfers on this chain.")
    min_churn_risk: float | None = strawberry.field(
        default=None, description="Dormancy risk at least this (ml/growth/, written by `aidrop score`)."
    )
    min_propensity: list[PropensityBoundInput] | None = strawberry.field(
        default=None, description="First-use propensity at least this, per category."
    )

    def to_filter(self) -> gm.SegmentFilter:
        since = self.active_since
        if self.active_within_days is not None:
            since = max(since or 0, int(time.time() - self.active_within_days * 86400))
        try:
            f = gm.SegmentFilter(
                typologies=tuple(self.typologies or ()),
                clusters=tuple(self.clusters or ()),
                min_anomaly=self.min_anomaly,
                max_anomaly=self.max_anomaly,
                active_since=since,
                min_volume=self.min_volume,
                categories=tuple(self.categories or ()),
                addresses=tuple(self.addresses or ()),
                include_flagged=self.include_flagged,
                include_sybil=self.include_sybil,
                include_exposed=self.include_exposed,
                max_exposure=self.max_exposure,
                chain=self.chain,
                min_churn_risk=self.min_churn_risk,
                min_propensity=tuple((b.category, b.at_least) for b in self.min_propensity or ()),
            )
            return ms.base_filter(self.base).merged(f) if self.base else f
        except (MarketingError, ValueError) as exc:
            raise ApiError(str(exc), "BAD_USER_INPUT") from exc


@strawberry.type(description="What a filter holds, evaluated now and not saved.")
class SegmentPreview:
    size: int
    typologies: list[SegmentTypology]


@strawberry.type(description="A saved segment: (:Segment)-[:INCLUDES]->(:Wallet).")
class Segment:
    id: strawberry.ID
    name: str
    definition: JSON
    created_at: int = strawberry.field(description="When it was evaluated (epoch seconds).")
    size: int
    typologies: list[SegmentTypology]

    @strawberry.field(description="Its wallets by address (a page).")
    async def wallets(self, info: Ctx, first: int = 100, after: str | None = None) -> list[Wallet]:
        first = page_size(first, info.context.settings.max_page)
        members = await gm.segment_members(info.context.services.store, str(self.id))
        addresses = [m.address for m in members if after is None or m.address > after][:first]
        nodes = await info.context.wallets.load_many(addresses)
        return [Wallet(address=a, node=n) for a, n in zip(addresses, nodes, strict=True) if n is not None]

    @classmethod
    def of(cls, s: gm.Segment) -> Segment:
        return cls(
            id=strawberry.ID(s.id),
            name=s.name,
            definition=cast(JSON, s.definition),
            created_at=s.created_at,
            size=s.size,
            typologies=_typologies(dict(s.typology_counts)),
        )


@strawberry.type(description="Treatment - control, with its interval.")
class Lift:
    treatment: float
    control: float
    diff: float
    low: float
    high: float
    p_value: float | None
    relative: float | None
    method: str

    @classmethod
    def of(cls, d: dict[str, Any] | None) -> Lift | None:
        if not d:
            return None
        return cls(
            **{
                k: d[k]
                for k in ("treatment", "control", "diff", "low", "high", "p_value", "relative", "method")
            }
        )


@strawberry.type(description="Treatment against control between two snapshots.")
class CampaignMetrics:
    from_snapshot: str
    to_snapshot: str
    confidence: float
    groups: JSON = strawberry.field(description="Per group: targets, converted, rates, volumes.")
    conversion: Lift | None
    engagement: Lift | None
    retention: Lift | None
    volume_change: Lift | None
    cost: JSON | None


@strawberry.type(description="Every target's activity at a time (one per campaign and name).")
class CampaignSnapshot:
    name: str
    at: int
    taken_at: int | None
    targets: int
    summary: JSON = strawberry.field(description="Per group: targets, active, converted, volume, tx.")


@strawberry.type(description="A campaign on a segment, with a hashed holdout control group.")
class Campaign:
    id: strawberry.ID
    name: str
    segment_id: str | None
    goal_contracts: list[str]
    goal_categories: list[str]
    start: int
    end: int | None
    holdout: float
    cost: float | None
    window: int = strawberry.field(description="Activity window of each snapshot (seconds).")
    created_at: int
    targets: int
    treatment: int
    control: int
    report_key: strawberry.Private[str | None] = None

    @strawberry.field
    async def snapshots(self, info: Ctx) -> list[CampaignSnapshot]:
        snaps = await mc.snapshots(info.context.services.store, str(self.id))
        return [
            CampaignSnapshot(name=s["name"], at=int(s["at"]), taken_at=s.get("taken_at"),
                             targets=int(s.get("targets") or 0), summary=s["summary"])
            for s in snaps
        ]  # fmt: skip

    @strawberry.field(description="Between two snapshots (default the first and the last); null before any.")
    async def metrics(
        self,
        info: Ctx,
        from_: Annotated[str | None, strawberry.argument(name="from")] = None,
        to: str | None = None,
        confidence: float = 0.95,
    ) -> CampaignMetrics | None:
        if not 0.5 <= confidence < 1:
            raise ApiError("confidence must be in [0.5, 1)", "BAD_USER_INPUT")
        store = info.context.services.store
        if not await mc.snapshots(store, str(self.id)):
            return None
        m = await mc.metrics(store, str(self.id), from_, to, confidence)
        lift = m["lift"]
        return CampaignMetrics(
            from_snapshot=m["from"]["name"],
            to_snapshot=m["to"]["name"],
            confidence=m["confidence"],
            groups=m["groups"],
            conversion=Lift.of(lift["conversion"]),
            engagement=Lift.of(lift["engagement"]),
            retention=Lift.of(lift["retention"]),
            volume_change=Lift.of(lift["volume_change"]),
            cost=m["cost"],
        )

    @strawberry.field(description="The HTML report, written by the last snapshotCampaign job.")
    def report_url(self, info: Ctx) -> str | None:
        return info.context.services.blobs.url(self.report_key) if self.report_key else None

    @classmethod
    def of(cls, c: dict[str, Any]) -> Campaign:
        return cls(
            id=strawberry.ID(c["id"]),
            name=c["name"],
            segment_id=c.get("segment_id"),
            goal_contracts=c["goal_contracts"],
            goal_categories=c["goal_categories"],
            start=int(c["start"]),
            end=c.get("end"),
            holdout=float(c["holdout"]),
            cost=c.get("cost"),
            window=int(c["window"]),
            created_at=int(c["created_at"]),
            targets=int(c["targets"]),
            treatment=int(c["treatment"]),
            control=int(c["control"]),
            report_key=c.get("report_key"),
        )


@strawberry.input
class CampaignInput:
    name: str
    segment: str = strawberry.field(description="A saved segment's id or a predefined segment.")
    goal_contracts: list[str] | None = None
    goal_categories: list[str] | None = None
    start: int | None = strawberry.field(default=None, description="Epoch seconds; default now.")
    end: int | None = None
    holdout: float = strawberry.field(default=0.5, description="The control group's share.")
    cost: float | None = None
    window_days: float = 7.0
    id: str | None = None


def _input_error(exc: Exception) -> ApiError:
    return ApiError(str(exc), "BAD_USER_INPUT")


@strawberry.type
class MarketingQuery:
    @strawberry.field(permission_classes=READ, description="Saved segments, newest first.")
    async def segments(self, info: Ctx) -> list[Segment]:
        return [Segment.of(s) for s in await gm.segments(info.context.services.store)]

    @strawberry.field(permission_classes=READ, description="A saved segment (NOT_FOUND if none).")
    async def segment(self, info: Ctx, id: strawberry.ID) -> Segment:
        return Segment.of(await gm.segment(info.context.services.store, str(id)))

    @strawberry.field(permission_classes=READ, description="How many wallets a filter holds, per typology.")
    async def preview_segment(self, info: Ctx, filter: SegmentFilterInput) -> SegmentPreview:
        preview = await ms.preview(info.context.services.store, filter.to_filter())
        return SegmentPreview(size=preview["size"], typologies=_typologies(preview["typologies"]))

    @strawberry.field(permission_classes=READ, description="Campaigns, newest first.")
    async def campaigns(self, info: Ctx) -> list[Campaign]:
        return [Campaign.of(c) for c in await mc.all_campaigns(info.context.services.store)]

    @strawberry.field(permission_classes=READ, description="A campaign (NOT_FOUND if none).")
    async def campaign(self, info: Ctx, id: strawberry.ID) -> Campaign:
        return Campaign.of(await mc.get(info.context.services.store, str(id)))


@strawberry.type
class MarketingMutation:
    @strawberry.mutation(permission_classes=WRITE, description="Evaluate a filter and save it as a segment.")
    async def save_segment(
        self, info: Ctx, name: str, filter: SegmentFilterInput, id: str | None = None
    ) -> Segment:
        try:
            saved, _ = await ms.save(
                info.context.services.store, name, filter.to_filter(), int(time.time()), id
            )
        except MarketingError as exc:
            raise _input_error(exc) from exc
        return Segment.of(saved)

    @strawberry.mutation(permission_classes=WRITE, description="A campaign over a segment's wallets.")
    async def create_campaign(self, info: Ctx, input: CampaignInput) -> Campaign:
        try:
            created = await mc.create(
                info.context.services.store, input.name, input.segment,
                goal_contracts=input.goal_contracts or (), goal_categories=input.goal_categories or (),
                start=input.start, end=input.end, holdout=input.holdout, cost=input.cost,
                window=int(input.window_days * 86400), campaign_id=input.id,
            )  # fmt: skip
        except gm.Conflict as exc:
            raise ApiError(str(exc), "CONFLICT") from exc
        except MarketingError as exc:
            raise _input_error(exc) from exc
        return Campaign.of(created)

    @strawberry.mutation(
        permission_classes=WRITE,
        description="Queue a snapshot of the campaign (and its report); the job at once. One per name.",
    )
    async def snapshot_campaign(
        self, info: Ctx, campaign_id: strawberry.ID, name: str | None = None, at: int | None = None
    ) -> Job:
        await mc.get(info.context.services.store, str(campaign_id))  # NOT_FOUND now, not in the job
        try:
            record = await info.context.services.queue.snapshot_campaign(str(campaign_id), name, at)
        except ValueError as exc:
            raise _input_error(exc) from exc
        return Job.of(record)
