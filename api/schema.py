"""The GraphQL schema: types and thin resolvers over graph/ (through the request's DataLoaders) and
jobs/. `schema.graphql` at the repository root is printed from this module (`aidrop api schema`).
"""

from __future__ import annotations

import base64
import enum
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import Annotated, Any

import strawberry
from graphql import FieldNode
from strawberry.scalars import JSON
from strawberry.types import Info

from api.context import Context
from api.insight import ActivityDay, InsightQuery, wallet_activity
from api.marketing import MarketingMutation, MarketingQuery
from api.resolvers import lean_resolvers
from api.safety import ApiError, KeyRequired, ReadKey, guard, page_size
from graph import api_reads
from graph.address import normalize_address
from graph.errors import NotFound
from graph.model import Counterparty as CounterpartyRecord
from graph.model import Transfer as TransferRecord
from graph.model import Wallet as WalletRecord
from graph.model import WalletStats as StatsRecord
from graph.store import MAX_HOPS
from jobs.records import JobRecord

Ctx = Info[Context, None]
READ = [ReadKey]
WRITE = [KeyRequired]


def _cap(info: Ctx) -> int:
    return info.context.settings.max_page


def _time(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, UTC) if ms else None


# ---- wallets ------------------------------------------------------------------------------------
@strawberry.type(
    description="Fan-in / fan-out of a wallet: transfers, transactions, counterparties, native value."
)
class WalletStats:
    in_degree: int = strawberry.field(description="Incoming transfers (edges).")
    out_degree: int = strawberry.field(description="Outgoing transfers (edges).")
    in_tx: int = strawberry.field(description="Incoming transactions (sum of tx_count).")
    out_tx: int = strawberry.field(description="Outgoing transactions.")
    fan_in: int = strawberry.field(description="Distinct wallets that sent to this one.")
    fan_out: int = strawberry.field(description="Distinct wallets this one sent to.")
    in_value: float = strawberry.field(description="Native value received (ETH).")
    out_value: float = strawberry.field(description="Native value sent (ETH).")
    first_seen: int | None = strawberry.field(description="First transfer either way (epoch seconds).")
    last_seen: int | None = strawberry.field(description="Last transfer either way (epoch seconds).")
    first_in: int | None
    last_in: int | None
    first_out: int | None
    last_out: int | None

    @classmethod
    def of(cls, s: StatsRecord) -> WalletStats:
        times = [t for t in (s.first_in, s.first_out) if t is not None]
        lasts = [t for t in (s.last_in, s.last_out) if t is not None]
        return cls(
            in_degree=s.in_degree,
            out_degree=s.out_degree,
            in_tx=s.in_tx,
            out_tx=s.out_tx,
            fan_in=s.in_counterparties,
            fan_out=s.out_counterparties,
            in_value=s.in_value,
            out_value=s.out_value,
            first_seen=min(times) if times else None,
            last_seen=max(lasts) if lasts else None,
            first_in=s.first_in,
            last_in=s.last_in,
            first_out=s.first_out,
            last_out=s.last_out,
        )


@strawberry.type
class TypologyAxis:
    axis: str = strawberry.field(description="focus, pattern, risk or community.")
    value: str = strawberry.field(description="The axis' letter, e.g. D (DeFi) or T (trader).")
    probability: float | None


@strawberry.type
class Typology:
    code: str = strawberry.field(description="The four axes as a code, e.g. D-T-A-C.")
    axes: list[TypologyAxis]


@strawberry.type
class Cluster:
    id: int
    version: str | None
    profile: JSON | None = strawberry.field(description="What the cluster's wallets look like (from ml/).")


@strawberry.type
class AnomalyFactor:
    factor: str
    contribution: float


@strawberry.type
class Anomaly:
    score: float
    rank: int | None = strawberry.field(description="1 = the most anomalous wallet.")
    flagged: bool
    model: str | None
    version: str | None
    explanation: list[AnomalyFactor]


@strawberry.type
class ProfileImage:
    image_url: str
    metadata_url: str | None
    source: str | None = strawberry.field(description="openai or avatar (drawn locally).")


@strawberry.type
class Transfer:
    hash: str
    log_index: int
    from_address: str
    to_address: str
    value: float
    value_raw: str
    token: str
    ts: int
    block: int
    status: int
    tx_count: int
    fee: float = strawberry.field(
        description="ETH the sender paid for the transaction (its native transfer; 0 on token "
        "transfers and where the source does not say)."
    )

    @classmethod
    def of(cls, t: TransferRecord) -> Transfer:
        return cls(**{k: getattr(t, k) for k in TransferRecord.__dataclass_fields__})


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class TransferEdge:
    cursor: str
    node: Transfer


@strawberry.type
class TransferConnection:
    edges: list[TransferEdge]
    page_info: PageInfo


@strawberry.enum
class Direction(enum.Enum):
    IN = "in"
    OUT = "out"
    BOTH = "both"


@strawberry.type
class Counterparty:
    address: str
    sent: float = strawberry.field(description="Native value this wallet sent to the counterparty.")
    received: float = strawberry.field(description="Native value it received from the counterparty.")
    transfers: int

    @strawberry.field
    async def wallet(self, info: Ctx) -> Wallet | None:
        return await load_wallet(info, self.address)

    @classmethod
    def of(cls, c: CounterpartyRecord) -> Counterparty:
        return cls(address=c.address, sent=c.sent, received=c.received, transfers=c.transfers)


@strawberry.type
class NeighbourEdge:
    from_address: str
    to_address: str
    transfers: int
    value: float


@strawberry.type
class Neighbourhood:
    center: str
    addresses: list[str]
    edges: list[NeighbourEdge]
    truncated: bool

    @strawberry.field(description="The neighbours as wallets (batched).")
    async def nodes(self, info: Ctx) -> list[Wallet]:
        found = await info.context.wallets.load_many(self.addresses)
        return [
            Wallet(address=a, node=n) for a, n in zip(self.addresses, found, strict=True) if n is not None
        ]


def _float(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


@strawberry.type(description="A wallet with what the graph and the analysis know about it.")
class Wallet:
    address: str
    node: strawberry.Private[WalletRecord]

    @strawberry.field
    def labels(self) -> list[str]:
        return self.node.labels

    @strawberry.field
    def category(self) -> str | None:
        return self.node.category

    @strawberry.field
    def name(self) -> str | None:
        return self.node.name

    @strawberry.field
    def symbol(self) -> str | None:
        return self.node.symbol

    @strawberry.field(description="When the analysis last ran (epoch seconds); null if never.")
    def analyzed_at(self) -> int | None:
        return self.node.props.get("analyzed_at")

    @strawberry.field(description="Personalised PageRank of the wallet (from ml/).")
    def ppr(self) -> float | None:
        return _float(self.node.props.get("ppr"))

    @strawberry.field
    async def stats(self, info: Ctx) -> WalletStats | None:
        found = await info.context.stats.load(self.address)
        return WalletStats.of(found) if found else None

    @strawberry.field
    def typology(self) -> Typology | None:
        code = self.node.props.get("typology")
        if not code:
            return None
        axes = api_reads.typology_axes(str(code), self.node.props.get("typology_axes"))
        return Typology(
            code=str(code),
            axes=[
                TypologyAxis(
                    axis=str(a.get("axis")),
                    value=str(a.get("value")),
                    probability=_float(a.get("probability")),
                )
                for a in axes
            ],
        )

    @strawberry.field
    def cluster(self, info: Ctx) -> Cluster | None:  # a Cluster, or an awaitable of one after a refresh
        cid = self.node.props.get("cluster")
        if cid is None:
            return None
        version = self.node.props.get("cluster_version")
        profile = api_reads.decode_json(self.node.props.get("cluster_profile"))
        if profile is None:
            services = info.context.services
            profile = services.cached_profiles().get(int(cid))
            if profile is None and services.may_refresh_profiles():  # a cluster newer than the cache
                return _cluster_after_refresh(services, int(cid), version)  # awaited by the executor
        return Cluster(id=int(cid), version=version, profile=profile)

    @strawberry.field
    def anomaly(self) -> Anomaly | None:
        p = self.node.props
        score = _float(p.get("anomaly_score"))
        if score is None:
            return None
        factors = api_reads.explanation(p.get("anomaly_explanation"))
        return Anomaly(
            score=score,
            rank=p.get("anomaly_rank"),
            flagged=bool(p.get("anomaly_flagged")),
            model=p.get("anomaly_model"),
            version=p.get("anomaly_version"),
            explanation=[
                AnomalyFactor(factor=f["factor"], contribution=_float(f["contribution"]) or 0.0)
                for f in factors
            ],
        )

    @strawberry.field
    def profile(self, info: Ctx) -> ProfileImage | None:
        image = self.node.props.get("profile_image")
        if not image:
            return None
        blobs = info.context.services.blobs
        meta = self.node.props.get("profile_metadata")
        return ProfileImage(
            image_url=blobs.url(image),
            metadata_url=blobs.url(meta) if meta else None,
            source=self.node.props.get("profile_source"),
        )

    @strawberry.field(description="Transfers newest first, in keyset pages.")
    async def transfers(
        self,
        info: Ctx,
        direction: Direction = Direction.BOTH,
        since: int | None = None,
        until: int | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> TransferConnection:
        first = page_size(first, _cap(info))
        if after is not None:
            try:
                from graph.store import TransferCursor

                TransferCursor.decode(after)
            except ValueError as exc:
                raise ApiError(str(exc), "BAD_USER_INPUT") from exc
        page = await info.context.transfers.load((self.address, direction.value, since, until, first, after))
        edges = []
        for t in page.transfers:
            edges.append(TransferEdge(cursor=f"{t.ts}:{t.hash}:{t.log_index}", node=Transfer.of(t)))
        return TransferConnection(
            edges=edges,
            page_info=PageInfo(has_next_page=page.next_cursor is not None, end_cursor=page.next_cursor),
        )

    @strawberry.field(description="Top counterparties by transactions both ways, then native value.")
    async def counterparties(self, info: Ctx, first: int = 10) -> list[Counterparty]:
        first = page_size(first, _cap(info))
        return [Counterparty.of(c) for c in await info.context.counterparties.load((self.address, first))]

    @strawberry.field(description="Native value in and out per UTC day with a transfer, oldest first.")
    async def activity(
        self, info: Ctx, since: int | None = None, until: int | None = None
    ) -> list[ActivityDay]:
        return await wallet_activity(info, self.address, since, until)

    @strawberry.field(description="Wallets within `hops` transfers either way, strongest ties first.")
    async def neighbourhood(self, info: Ctx, hops: int = 1, limit: int = 25) -> Neighbourhood:
        if not 1 <= hops <= MAX_HOPS:
            raise ApiError(f"hops must be between 1 and {MAX_HOPS}, not {hops}", "BAD_USER_INPUT")
        limit = page_size(limit, _cap(info), "limit")
        n = await info.context.services.store.neighbourhood(self.address, hops, limit)
        return Neighbourhood(
            center=n.center,
            addresses=n.nodes,
            edges=[
                NeighbourEdge(
                    from_address=e["from_address"],
                    to_address=e["to_address"],
                    transfers=int(e["transfers"] or 0),
                    value=float(e["value"] or 0.0),
                )
                for e in n.edges
            ],
            truncated=n.truncated,
        )


async def _cluster_after_refresh(services: Any, cid: int, version: str | None) -> Cluster:
    return Cluster(id=cid, version=version, profile=(await services.profiles(force=True)).get(cid))


async def load_wallet(info: Ctx, address: str) -> Wallet | None:
    node = info.context.wallets.load(address)
    if _asks(info, "stats"):  # read the stats beside the node instead of after it
        info.context.stats.load(address).add_done_callback(_retrieved)
    found = await node
    return Wallet(address=address, node=found) if found is not None else None


def _asks(info: Ctx, name: str) -> bool:
    """Whether the field's selection names `name` itself (fragments are not followed)."""
    for node in info._raw_info.field_nodes:
        for selection in node.selection_set.selections if node.selection_set else ():
            if isinstance(selection, FieldNode) and selection.name.value == name:
                return True
    return False


def _retrieved(future: Any) -> None:
    """A prefetch nobody awaits (no such wallet) fails quietly; its error reaches who awaits it."""
    if not future.cancelled():
        future.exception()


def _address(value: str) -> str:
    return normalize_address(value)  # InvalidAddress -> INVALID_ADDRESS


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
        raise ApiError(f"invalid cursor {text!r}", "BAD_USER_INPUT") from exc
    prefix, _, rest = value.partition(":")
    if prefix != kind:
        raise ApiError(f"invalid cursor {text!r}", "BAD_USER_INPUT")
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


# ---- jobs -------------------------------------------------------------------------------------------
@strawberry.enum
class JobStatus(enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


@strawberry.type(description="An asynchronous job: poll job(id) or subscribe to jobUpdates(id).")
class Job:
    id: strawberry.ID
    kind: str
    status: JobStatus
    progress: float = strawberry.field(description="0 to 1.")
    message: str | None
    attempts: int
    error: str | None = strawberry.field(description="Why it failed (or why the last try failed).")
    error_code: str | None
    result: JSON | None
    args: JSON
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime | None
    next_attempt_at: datetime | None

    @strawberry.field(description="The wallet of an analyze_wallet job.")
    async def wallet(self, info: Ctx) -> Wallet | None:
        address = self.args.get("address") if isinstance(self.args, dict) else None
        return await load_wallet(info, address) if address else None

    @classmethod
    def of(cls, r: JobRecord) -> Job:
        return cls(
            id=strawberry.ID(r.id),
            kind=r.kind,
            status=JobStatus(r.status),
            progress=r.progress,
            message=r.message,
            attempts=r.attempts,
            error=r.error,
            error_code=r.error_code,
            result=r.result,
            args=r.args,
            created_at=_time(r.created_at),
            started_at=_time(r.started_at),
            finished_at=_time(r.finished_at),
            updated_at=_time(r.updated_at),
            next_attempt_at=_time(r.next_attempt_at),
        )


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
class Query(MarketingQuery, InsightQuery):
    @strawberry.field(description="A wallet by address (NOT_FOUND if the graph has none).")
    async def wallet(self, info: Ctx, address: str) -> Wallet | None:
        address = _address(address)
        found = await load_wallet(info, address)
        if found is None:
            raise NotFound(f"no wallet {address} in the graph")
        return found

    @strawberry.field(description="Wallets by address, filtered, as a Relay connection.")
    async def wallets(
        self, info: Ctx, filter: WalletFilter | None = None, first: int = 20, after: str | None = None
    ) -> WalletConnection:
        first = page_size(first, _cap(info))
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
        first = page_size(first, _cap(info))
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
                mean_anomaly=_float(r["mean_anomaly"]),
                profile=profiles.get(int(r["cluster"])),
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
        first = page_size(first, _cap(info))
        raw = _uncursor(after, "job")
        try:
            score = float(raw) if raw is not None else None
        except ValueError as exc:
            raise ApiError(f"invalid cursor {after!r}", "BAD_USER_INPUT") from exc
        records, more = await info.context.services.records.page(
            status.value if status else None, first, score
        )
        edges = [JobEdge(cursor=_cursor(f"job:{r.score:.0f}"), node=Job.of(r)) for r in records]
        return JobConnection(
            edges=edges,
            page_info=PageInfo(has_next_page=more, end_cursor=edges[-1].cursor if edges else None),
        )


@strawberry.type
class Mutation(MarketingMutation):
    @strawberry.mutation(
        permission_classes=WRITE, description="Queue the analysis of a wallet; the job at once."
    )
    async def analyze_wallet(self, info: Ctx, address: str, force: bool = False) -> Job:
        return Job.of(await info.context.services.queue.analyze_wallet(_address(address), force))

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
class Subscription:
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


def build_schema(max_depth: int = 12, max_aliases: int = 30, max_tokens: int = 2000) -> strawberry.Schema:
    schema = _Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[guard(max_tokens, max_depth, max_aliases)],  # a class: a fresh one per operation
    )
    lean_resolvers(schema)
    return schema


def schema_sdl() -> str:
    """The schema in SDL, as committed in schema.graphql."""
    return build_schema().as_str() + "\n"
