"""The GraphQL schema: types and thin resolvers over graph/ (through the request's DataLoaders) and
jobs/. `schema.graphql` at the repository root is printed from this module (`aidrop api schema`).
"""

from __future__ import annotations

import base64
import math
from collections.abc import AsyncGenerator
from typing import Annotated, Any, cast

import strawberry
from strawberry.scalars import JSON

from api.compliance import ComplianceMutation, ComplianceQuery, ComplianceSubscription
from api.insight import InsightQuery
from api.laundering import LaunderingQuery
from api.marketing import MarketingMutation, MarketingQuery
from api.resolvers import lean_resolvers
from api.safety import ApiError, clip, guard, page_size
from api.sybil import SybilMutation, SybilQuery
from api.types import (
    READ,
    WRITE,
    Ctx,
    Job,
    JobStatus,
    PageInfo,
    Wallet,
    as_float,
    load_wallet,
    page_cap,
    parse_address,
)
from core.errors import NotFound
from graph import api_reads


# ---- connections ----------------------------------------------------------------------------------
@strawberry.type
class WalletEdge:
    cursor: str
    node: Wallet


@strawberry.type
class WalletConnection:
    edges: list[WalletEdge]
    page_info: PageInfo
    filter: strawberry.Private[api_reads.WalletFilter]

    @strawberry.field(description="Wallets matching the filter (one more graph query).")
    async def total_count(self, info: Ctx) -> int:
        return await api_reads.wallet_count(info.context.services.store, self.filter)


@strawberry.input
class WalletFilter:
    typology: str | None = None
    cluster: int | None = None
    flagged: bool | None = None
    min_anomaly_score: float | None = None
    label: str | None = strawberry.field(default=None, description="Contract or Token.")
    category: str | None = None

    def to_filter(self) -> api_reads.WalletFilter:
        if self.label is not None and self.label not in ("Wallet", "Contract", "Token"):
            raise ApiError(f"label must be Wallet, Contract or Token, not {self.label!r}", "BAD_USER_INPUT")
        return api_reads.WalletFilter(
            typology=self.typology,
            cluster=self.cluster,
            flagged=self.flagged,
            min_score=self.min_anomaly_score,
            label=self.label,
            category=self.category,
        )


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


def _uncursor(text: str | None, kind: str) -> str | None:
    if text is None:
        return None
    try:
        value = base64.urlsafe_b64decode(text.encode()).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(f"invalid cursor {clip(text)}", "BAD_USER_INPUT") from exc
    prefix, _, rest = value.partition(":")
    if prefix != kind:
        raise ApiError(f"invalid cursor {clip(text)}", "BAD_USER_INPUT")
    return rest


@strawberry.type
class ClusterSummary:
    id: int
    wallets: int
    flagged: int
    mean_anomaly: float | None
    profile: JSON | None


@strawberry.type
class TypologyCount:
    code: str
    wallets: int
    share: float


@strawberry.type
class JobEdge:
    cursor: str
    node: Job


@strawberry.type
class JobConnection:
    edges: list[JobEdge]
    page_info: PageInfo


# ---- roots -----------------------------------------------------------------------------------------
@strawberry.type
class Query(MarketingQuery, ComplianceQuery, LaunderingQuery, SybilQuery, InsightQuery):
    @strawberry.field(description="A wallet by address (NOT_FOUND if the graph has none).")
    async def wallet(self, info: Ctx, address: str) -> Wallet | None:
        address = parse_address(address)
        found = await load_wallet(info, address)
        if found is None:
            raise NotFound(f"no wallet {address} in the graph")
        return found

    @strawberry.field(description="Wallets by address, filtered, as a Relay connection.")
    async def wallets(
        self, info: Ctx, filter: WalletFilter | None = None, first: int = 20, after: str | None = None
    ) -> WalletConnection:
        first = page_size(first, page_cap(info))
        where = (filter or WalletFilter()).to_filter()
        addresses, more = await api_reads.wallet_page(
            info.context.services.store, where, first, _uncursor(after, "wallet")
        )
        nodes = await info.context.wallets.load_many(addresses)
        edges = [
            WalletEdge(cursor=_cursor(f"wallet:{a}"), node=Wallet(address=a, node=n))
            for a, n in zip(addresses, nodes, strict=True)
            if n is not None
        ]
        return WalletConnection(
            edges=edges,
            page_info=PageInfo(has_next_page=more, end_cursor=edges[-1].cursor if edges else None),
            filter=where,
        )

    @strawberry.field(description="The most anomalous wallets, highest score first.")
    async def top_anomalies(self, info: Ctx, first: int = 20, model: str | None = None) -> list[Wallet]:
        first = page_size(first, page_cap(info))
        addresses = await api_reads.top_anomalies(info.context.services.store, first, model)
        nodes = await info.context.wallets.load_many(addresses)
        return [Wallet(address=a, node=n) for a, n in zip(addresses, nodes, strict=True) if n is not None]

    @strawberry.field(description="Clusters with their size and profile.")
    async def clusters(self, info: Ctx) -> list[ClusterSummary]:
        rows = await api_reads.cluster_counts(info.context.services.store)
        profiles = await info.context.services.profiles()
        return [
            ClusterSummary(
                id=int(r["cluster"]),
                wallets=int(r["wallets"]),
                flagged=int(r["flagged"] or 0),
                mean_anomaly=as_float(r["mean_anomaly"]),
                profile=cast(JSON, profiles.get(int(r["cluster"]))),
            )
            for r in rows
        ]

    @strawberry.field(description="How many wallets have each typology code.")
    async def typologies(self, info: Ctx) -> list[TypologyCount]:
        rows = await api_reads.typology_counts(info.context.services.store)
        total = sum(int(r["wallets"]) for r in rows) or 1
        return [
            TypologyCount(
                code=str(r["code"]), wallets=int(r["wallets"]), share=round(int(r["wallets"]) / total, 6)
            )
            for r in rows
        ]

    @strawberry.field(permission_classes=READ)
    async def job(self, info: Ctx, id: strawberry.ID) -> Job | None:
        record = await info.context.jobs.load(str(id))
        if record is None:
            raise NotFound(f"no job {id}")
        return Job.of(record)

    @strawberry.field(description="Jobs by id, in the order asked (null if unknown).")
    async def jobs_by_id(self, info: Ctx, ids: list[strawberry.ID]) -> list[Job | None]:
        if len(ids) > info.context.settings.max_batch:
            raise ApiError(f"at most {info.context.settings.max_batch} ids per call", "QUERY_TOO_COMPLEX")
        records = await info.context.jobs.load_many([str(i) for i in ids])
        return [Job.of(r) if r is not None else None for r in records]

    @strawberry.field(description="Jobs newest first.")
    async def jobs(
        self, info: Ctx, status: JobStatus | None = None, first: int = 20, after: str | None = None
    ) -> JobConnection:
        first = page_size(first, page_cap(info))
        raw = _uncursor(after, "job")
        try:
            score = float(raw) if raw is not None else None
            if score is not None and not math.isfinite(score):
                raise ValueError(raw)
        except ValueError as exc:
            raise ApiError(f"invalid cursor {clip(after)}", "BAD_USER_INPUT") from exc
        records, more = await info.context.services.records.page(
            status.value if status else None, first, score
        )
        edges = [JobEdge(cursor=_cursor(f"job:{r.score:.0f}"), node=Job.of(r)) for r in records]
        return JobConnection(
            edges=edges,
            page_info=PageInfo(has_next_page=more, end_cursor=edges[-1].cursor if edges else None),
        )


@strawberry.type
class Mutation(MarketingMutation, ComplianceMutation, SybilMutation):
    @strawberry.mutation(
        permission_classes=WRITE, description="Queue the analysis of a wallet; the job at once."
    )
    async def analyze_wallet(self, info: Ctx, address: str, force: bool = False) -> Job:
        return Job.of(await info.context.services.queue.analyze_wallet(parse_address(address), force))

    @strawberry.mutation(
        permission_classes=WRITE, description="analyzeWallet for many wallets (one job each)."
    )
    async def analyze_wallets(self, info: Ctx, addresses: list[str], force: bool = False) -> list[Job]:
        cap = info.context.settings.max_batch
        if not addresses:
            raise ApiError("addresses is empty", "BAD_USER_INPUT")
        if len(addresses) > cap:
            raise ApiError(f"at most {cap} addresses per call, not {len(addresses)}", "QUERY_TOO_COMPLEX")
        return [Job.of(r) for r in await info.context.services.queue.analyze_wallets(addresses, force)]

    @strawberry.mutation(permission_classes=WRITE, description="Ingest a block range from the RPC node.")
    async def ingest_blocks(
        self, info: Ctx, from_: Annotated[int, strawberry.argument(name="from")], to: int
    ) -> Job:
        try:
            return Job.of(await info.context.services.queue.ingest_range(from_, to))
        except ValueError as exc:
            raise ApiError(str(exc), "BAD_USER_INPUT") from exc


@strawberry.type
class Subscription(ComplianceSubscription):
    @strawberry.subscription(
        permission_classes=READ, description="The job now and on every change until it ends."
    )
    async def job_updates(self, info: Ctx, id: strawberry.ID) -> AsyncGenerator[Job, None]:
        records = info.context.services.records
        if await records.get(str(id)) is None:
            raise NotFound(f"no job {id}")
        async for record in records.updates(str(id)):
            yield Job.of(record)


class _Schema(strawberry.Schema):
    def process_errors(self, errors: list[Any], execution_context: Any = None) -> None:
        """Not logged here: api.safety.code_error logs the unexpected ones, once."""


def build_schema(max_depth: int = 12, max_aliases: int = 30, max_tokens: int = 2000, max_cost: int = 0,
                 max_page: int = 100, max_batch: int = 1000, max_list: int = 1000,
                 fast: bool = True) -> strawberry.Schema:  # fmt: skip
    """The schema; `fast` gives plain fields lean resolvers (api/resolvers.py), which the caller
    asks for only where api/fast_path.py allows it."""
    schema = _Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        # a class: a fresh one per operation
        extensions=[guard(max_tokens, max_depth, max_aliases, max_cost, max_page, max_batch, max_list)],
    )
    if fast:
        lean_resolvers(schema)
    return schema


def schema_sdl() -> str:
    """The schema in SDL, as committed in schema.graphql."""
    return build_schema().as_str() + "\n"
