"""The GraphQL types other API modules share: a wallet with what the graph and the analysis know
about it, and a job. api/schema.py and the feature modules (api/marketing.py, ...) import them;
they import nothing from those modules."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Annotated, Any, cast

import strawberry
from graphql import FieldNode
from strawberry.permission import BasePermission
from strawberry.scalars import JSON
from strawberry.types import Info

from api.context import Context, lazy
from api.insight import ActivityDay
from api.loader import Loader
from api.safety import ApiError, KeyRequired, ReadKey, page_size
from core import chains
from core.address import normalize_address
from graph import api_reads
from graph import sybil as gs
from graph.exposure import exposure_record
from graph.labels import labels_of
from graph.model import CATEGORIES
from graph.model import Counterparty as CounterpartyRecord
from graph.model import Transfer as TransferRecord
from graph.model import Wallet as WalletRecord
from graph.model import WalletStats as StatsRecord
from graph.patterns import wallet_patterns
from graph.store import MAX_HOPS, TransferCursor
from graph.wallet_analysis import WalletAnalysis
from jobs.records import JobRecord

Ctx = Info[Context, None]
READ: list[type[BasePermission]] = [ReadKey]
WRITE: list[type[BasePermission]] = [KeyRequired]


def page_cap(info: Ctx) -> int:
    return info.context.settings.max_page


def to_datetime(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, UTC) if ms else None


# ---- wallets ------------------------------------------------------------------------------------
@strawberry.type(description="First-interaction propensity for one contract category.")
class CategoryPropensity:
    category: str
    probability: float


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
    chain: int = strawberry.field(description="The EVM chain id of the transfer (1: Ethereum mainnet).")

    @classmethod
    def of(cls, t: TransferRecord) -> Transfer:
        return cls(**{k: getattr(t, k) for k in TransferRecord.__dataclass_fields__})

    @strawberry.field(description="The symbol of the chain's native coin (`token` of a native transfer).")
    def native_symbol(self) -> str:
        return chains.chain(self.chain).native_symbol


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


def as_float(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


@strawberry.type(description="A wallet with what the graph and the analysis know about it.")
class Wallet:
    address: str
    node: strawberry.Private[WalletRecord]

    @lazy
    def analysis(self) -> WalletAnalysis:
        """The node's analysis properties as one record (read once per wallet of a response)."""
        return WalletAnalysis.from_props(self.node.props)

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
        return self.analysis.analyzed_at

    @strawberry.field(description="Personalised PageRank of the wallet (from ml/).")
    def ppr(self) -> float | None:
        return as_float(self.analysis.ppr)

    @strawberry.field(description="P(no transaction in the next 30 days) at the last scoring (ml/growth/).")
    def churn_risk(self) -> float | None:
        return as_float(self.node.props.get("churn_risk"))

    @strawberry.field(description="Expected days to the wallet's next transaction (survival view).")
    def expected_active_days(self) -> float | None:
        return as_float(self.node.props.get("expected_active_days"))

    @strawberry.field(description="P(first use in the next 30 days) per category the wallet never used.")
    def propensity(self) -> list[CategoryPropensity]:
        values = self.node.props.get("propensity") or []
        return [
            CategoryPropensity(category=c, probability=float(v))
            for c, v in zip(CATEGORIES, values, strict=False)
            if v is not None and float(v) >= 0
        ]

    @strawberry.field(description="Attribution labels: who the wallet is, by source (docs/compliance.md).")
    async def attributions(self, info: Ctx) -> list[Attribution]:
        return await wallet_attributions(info, self.address)

    @strawberry.field(description="Exposure to risky categories (null: none, or `aidrop exposure` not run).")
    def exposure(self) -> Exposure | None:
        return wallet_exposure(self.node.props)

    @strawberry.field(description="Fan-in / fan-out over the transfers of `chain` (every chain if null).")
    async def stats(self, info: Ctx, chain: int | None = None) -> WalletStats | None:
        found = await info.context.stats.load((self.address, chain_arg(chain)))
        return WalletStats.of(found) if found else None

    @strawberry.field
    def typology(self) -> Typology | None:
        code = self.analysis.typology
        if not code:
            return None
        axes = api_reads.typology_axes(str(code), self.analysis.typology_axes)
        return Typology(
            code=str(code),
            axes=[
                TypologyAxis(
                    axis=str(a.get("axis")),
                    value=str(a.get("value")),
                    probability=as_float(a.get("probability")),
                )
                for a in axes
            ],
        )

    @strawberry.field
    def cluster(self, info: Ctx) -> Cluster | None:  # a Cluster, or an awaitable of one after a refresh
        a = self.analysis
        cid = a.cluster
        if cid is None:
            return None
        version = a.cluster_version
        profile = api_reads.decode_json(a.cluster_profile)
        if profile is None:
            services = info.context.services
            profile = services.cached_profiles().get(int(cid))
            if profile is None and services.may_refresh_profiles():  # a cluster newer than the cache
                return _cluster_after_refresh(services, int(cid), version)  # type: ignore[return-value]  # graphql-core awaits it; strawberry reads the annotation for the schema
        return Cluster(id=int(cid), version=version, profile=profile)

    @strawberry.field(
        permission_classes=[ReadKey], description="Its sybil cluster and appeals (docs/sybil.md)."
    )
    def sybil(self) -> WalletSybil:
        return WalletSybil(address=self.address)

    @strawberry.field
    def anomaly(self) -> Anomaly | None:
        a = self.analysis
        score = as_float(a.anomaly_score)
        if score is None:
            return None
        return Anomaly(
            score=score,
            rank=a.anomaly_rank,
            flagged=bool(a.anomaly_flagged),
            model=a.anomaly_model,
            version=a.anomaly_version,
            explanation=[
                AnomalyFactor(factor=f.factor, contribution=f.contribution) for f in a.explanation().factors
            ],
        )

    @strawberry.field
    def profile(self, info: Ctx) -> ProfileImage | None:
        a = self.analysis
        if not a.profile_image:
            return None
        blobs = info.context.services.blobs
        return ProfileImage(
            image_url=blobs.url(a.profile_image),
            metadata_url=blobs.url(a.profile_metadata) if a.profile_metadata else None,
            source=a.profile_source,
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
        chain: Annotated[int | None, strawberry.argument(description="Only this chain's transfers.")] = None,
    ) -> TransferConnection:
        first = page_size(first, page_cap(info))
        if after is not None:
            try:
                TransferCursor.decode(after)
            except ValueError as exc:
                raise ApiError(str(exc), "BAD_USER_INPUT") from exc
        key = (self.address, direction.value, since, until, first, after, chain_arg(chain))
        page = await info.context.transfers.load(key)
        edges = []
        for t in page.transfers:
            edges.append(TransferEdge(cursor=TransferCursor.after(t).encode(), node=Transfer.of(t)))
        return TransferConnection(
            edges=edges,
            page_info=PageInfo(has_next_page=page.next_cursor is not None, end_cursor=page.next_cursor),
        )

    @strawberry.field(description="Top counterparties by transactions both ways, then native value.")
    async def counterparties(
        self, info: Ctx, first: int = 10, chain: int | None = None
    ) -> list[Counterparty]:
        first = page_size(first, page_cap(info))
        found = await info.context.counterparties.load((self.address, first, chain_arg(chain)))
        return [Counterparty.of(c) for c in found]

    @strawberry.field(description="Laundering patterns the wallet takes part in, strongest first.")
    async def laundering(self, info: Ctx, first: int = 10) -> Laundering:
        first = page_size(first, MAX_PATTERNS_PER_WALLET)
        rows = await wallet_patterns(info.context.services.store, self.address, first)
        return Laundering(patterns=[Pattern.of(r) for r in rows])

    @strawberry.field(description="Native value in and out per UTC day with a transfer, oldest first.")
    async def activity(
        self, info: Ctx, since: int | None = None, until: int | None = None
    ) -> list[ActivityDay]:
        from api.insight import wallet_activity

        return await wallet_activity(info, self.address, since, until)

    @strawberry.field(description="Wallets within `hops` transfers either way, strongest ties first.")
    async def neighbourhood(
        self, info: Ctx, hops: int = 1, limit: int = 25, chain: int | None = None
    ) -> Neighbourhood:
        if not 1 <= hops <= MAX_HOPS:
            raise ApiError(f"hops must be between 1 and {MAX_HOPS}, not {hops}", "BAD_USER_INPUT")
        limit = page_size(limit, page_cap(info), "limit")
        n = await info.context.services.store.neighbourhood(self.address, hops, limit, chain_arg(chain))
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
        info.context.stats.load((address, None)).add_done_callback(_retrieved)
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


def chain_arg(value: int | None) -> int | None:
    """A chain filter argument: null for every chain, else a valid chain id (INVALID_CHAIN)."""
    return None if value is None else chains.check_chain_id(value)


def parse_address(value: str) -> str:
    return normalize_address(value)  # InvalidAddress -> INVALID_ADDRESS


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
            args=cast(JSON, r.args),
            created_at=to_datetime(r.created_at),
            started_at=to_datetime(r.started_at),
            finished_at=to_datetime(r.finished_at),
            updated_at=to_datetime(r.updated_at),
            next_attempt_at=to_datetime(r.next_attempt_at),
        )


# ---- compliance: a wallet's attribution labels and exposure (docs/compliance.md) --------------------
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


# ---- laundering evidence (issue 14; api/laundering.py lists them) ------------------------------------
MAX_PATTERNS_PER_WALLET = 50


@strawberry.type(description="A wallet in a pattern and its role (source, sink, hub, relay, cycle).")
class PatternWallet:
    address: str
    role: str


@strawberry.type(description="A transfer of a pattern, by transaction hash.")
class PatternTransfer:
    hash: str


@strawberry.type(description="A laundering pattern: wallets and transfers that hang together in time and "
                             "amount far more than chance allows (docs/ml.md).")  # fmt: skip
class Pattern:
    id: strawberry.ID
    type: str = strawberry.field(
        description="fan_in, fan_out, cycle, scatter_gather, gather_scatter, peel or bipartite."
    )
    role: str | None = strawberry.field(description="The asking wallet's role (under wallet.laundering).")
    score: float = strawberry.field(description="Evidence: sum over transfers of -ln(chance of the link).")
    window: JSON = strawberry.field(description='{"start", "end"} (ISO 8601, UTC) and "days".')
    start: datetime
    end: datetime
    value: float = strawberry.field(description="Value entering the pattern, in units of `token`.")
    token: str
    wallets: list[PatternWallet]
    transfers: list[PatternTransfer]

    @classmethod
    def of(cls, row: dict[str, Any]) -> Pattern:
        start = datetime.fromtimestamp(int(row["start_ts"]), UTC)
        end = datetime.fromtimestamp(int(row["end_ts"]), UTC)
        return cls(
            id=strawberry.ID(str(row["id"])),
            type=str(row["type"]),
            role=row.get("role"),
            score=float(row["score"]),
            window=cast(
                JSON,
                {
                    "start": start.isoformat(),
                    "end": end.isoformat(),
                    "days": round((end - start).total_seconds() / 86_400, 3),
                },
            ),
            start=start,
            end=end,
            value=float(row["value"]),
            token=str(row["token"]),
            wallets=[PatternWallet(address=m["address"], role=m["role"]) for m in row["members"]],
            transfers=[PatternTransfer(hash=h) for h in row["transfers"]],
        )


@strawberry.type(description="What the laundering detectors found about a wallet.")
class Laundering:
    patterns: list[Pattern]


# ---- sybil clusters (docs/sybil.md; the queries and the appeal mutation are in api/sybil.py) ------
MAX_SYBIL_MEMBERS = 1000


@strawberry.type(description="One kind of evidence between two wallets, with the transactions that show it.")
class SybilEvidence:
    kind: str = strawberry.field(
        description="funder, collector, timing, amount, counterparty, script or cohort."
    )
    a: str
    b: str
    transactions: list[str]


@strawberry.type(description="Wallets one operator appears to run, found by aidrop sybil detect.")
class SybilCluster:
    id: strawberry.ID
    size: int
    score: float = strawberry.field(description="0.5-1: how densely the members are linked, and by how much.")
    evidence_counts: JSON = strawberry.field(description="Links per kind of evidence.")

    @strawberry.field(description="Its wallets' addresses, in address order.")
    async def members(self, info: Ctx, first: int = 100) -> list[str]:
        first = page_size(first, MAX_SYBIL_MEMBERS)
        return await gs.members(info.context.services.store, str(self.id), first)

    @strawberry.field(
        description="The stored evidence: each member's strongest links, each kind with its transactions."
    )
    async def evidence(self, info: Ctx, first: int = 100, address: str | None = None) -> list[SybilEvidence]:
        first = page_size(first, MAX_SYBIL_MEMBERS)
        links = await gs.links(info.context.services.store, str(self.id), address, first)
        return [SybilEvidence(kind=x.kind, a=x.a, b=x.b, transactions=x.transactions) for x in links]

    @classmethod
    def of(cls, c: gs.ClusterRecord) -> SybilCluster:
        return cls(
            id=strawberry.ID(c.id), size=c.size, score=c.score, evidence_counts=cast(JSON, c.evidence_counts)
        )


@strawberry.type(description="An appeal against a sybil cluster, and where its review stands.")
class SybilAppeal:
    id: strawberry.ID
    address: str
    cluster: str | None
    reason: str
    status: str = strawberry.field(description="open until someone reviews it.")
    created_at: int

    @classmethod
    def of(cls, a: gs.Appeal) -> SybilAppeal:
        return cls(id=strawberry.ID(a.id), address=a.address, cluster=a.cluster, reason=a.reason,
                   status=a.status, created_at=a.created_at)  # fmt: skip


@strawberry.type(description="A wallet's standing in the sybil detection.")
class WalletSybil:
    address: strawberry.Private[str]

    @strawberry.field(description="Its cluster, or null if it is in none.")
    async def cluster(self, info: Ctx) -> SybilCluster | None:
        found = await gs.wallet_cluster(info.context.services.store, self.address)
        return SybilCluster.of(found) if found else None

    @strawberry.field(description="Appeals filed for it, newest first.")
    async def appeals(self, info: Ctx) -> list[SybilAppeal]:
        return [SybilAppeal.of(a) for a in await gs.appeals(info.context.services.store, self.address)]
