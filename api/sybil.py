"""GraphQL for sybil clusters (docs/sybil.md): the clusters biggest first and appeals, merged into
api/schema.py's Query and Mutation as mixins; a wallet's cluster (`Wallet.sybil`) and the types
are in api/types.py."""

from __future__ import annotations

import base64
import hashlib

import strawberry
from strawberry.permission import BasePermission
from strawberry.types import Info

from api.context import Context
from api.safety import ApiError, KeyRequired, ReadKey, page_size
from api.types import MAX_SYBIL_MEMBERS, SybilAppeal, SybilCluster
from graph import sybil as gs

Ctx = Info[Context, None]
READ: list[type[BasePermission]] = [ReadKey]
WRITE: list[type[BasePermission]] = [KeyRequired]


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
        first = page_size(first, MAX_SYBIL_MEMBERS)
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
