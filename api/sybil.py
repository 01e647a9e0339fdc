"""GraphQL for sybil clusters (docs/sybil.md): a wallet's cluster with its evidence, the clusters
biggest first, and appeals; merged into api/schema.py's Query and Mutation as mixins, and
`Wallet.sybil`."""

from __future__ import annotations

import base64
import hashlib

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from api.context import Context
from api.safety import ApiError, KeyRequired, ReadKey, page_size
from graph import sybil as gs

Ctx = Info[Context, None]
READ = [ReadKey]
WRITE = [KeyRequired]
MAX_MEMBERS = 1000


@strawberry.type(description="One kind of evidence between two wallets, with the transactions that show it.")
class SybilEvidence:
    kind: str = strawberry.field(description="funder, collector, timing, amount or counterparty.")
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
        first = page_size(first, MAX_MEMBERS)
        return await gs.members(info.context.services.store, str(self.id), first)

    @strawberry.field(
        description="The stored evidence: each member's strongest links, each kind with its transactions."
    )
    async def evidence(self, info: Ctx, first: int = 100, address: str | None = None) -> list[SybilEvidence]:
        first = page_size(first, MAX_MEMBERS)
        links = await gs.links(info.context.services.store, str(self.id), address, first)
        return [SybilEvidence(kind=x.kind, a=x.a, b=x.b, transactions=x.transactions) for x in links]

    @classmethod
    def of(cls, c: gs.ClusterRecord) -> SybilCluster:
        return cls(id=strawberry.ID(c.id), size=c.size, score=c.score, evidence_counts=c.evidence_counts)


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


@strawberry.type
class SybilClusterConnection:
    clusters: list[SybilCluster]
    end_cursor: str | None
    has_next_page: bool


def _cursor(c: gs.ClusterRecord) -> str:
    return base64.urlsafe_b64encode(f"{c.size}:{c.id}".encode()).decode()


def _after(cursor: str | None) -> tuple[int, str] | None:
    if not cursor:
        return None
    try:
        size, cid = base64.urlsafe_b64decode(cursor.encode()).decode().split(":", 1)
        return int(size), cid
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(f"invalid cursor {cursor!r}", "BAD_USER_INPUT") from exc


@strawberry.type
class SybilQuery:
    @strawberry.field(
        permission_classes=READ, description="Sybil clusters of at least minSize wallets, biggest first."
    )
    async def sybil_clusters(self, info: Ctx, min_size: int = 3, first: int = 20,
                             after: str | None = None) -> SybilClusterConnection:  # fmt: skip
        first = page_size(first, MAX_MEMBERS)
        if min_size < 2:
            raise ApiError("minSize must be at least 2", "BAD_USER_INPUT")
        rows = await gs.clusters(info.context.services.store, min_size, first + 1, _after(after))
        more, rows = len(rows) > first, rows[:first]
        end = _cursor(rows[-1]) if rows else None
        return SybilClusterConnection(clusters=[SybilCluster.of(c) for c in rows], end_cursor=end,
                                      has_next_page=more)  # fmt: skip


@strawberry.type
class SybilMutation:
    @strawberry.mutation(
        permission_classes=WRITE, description="Appeal a wallet's sybil cluster; recorded as open."
    )
    async def appeal_sybil(self, info: Ctx, address: str, reason: str) -> SybilAppeal:
        key = info.context.api_key
        filed_by = hashlib.sha256(key.encode()).hexdigest()[:16] if key else None
        return SybilAppeal.of(await gs.appeal(info.context.services.store, address, reason, filed_by))
