"""GraphQL for laundering evidence (issue 14): the patterns ml/laundering found, per wallet
(`wallet { laundering { patterns { ... } } }`) and as a list (`patterns(type, first, after)`);
merged into api/schema.py's Query as a mixin."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from api.context import Context
from api.safety import ApiError, ReadKey, page_size
from graph import patterns as gp

if TYPE_CHECKING:
    from api.schema import PageInfo

Ctx = Info[Context, None]
LazyPageInfo = Annotated["PageInfo", strawberry.lazy("api.schema")]
READ = [ReadKey]
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
            window={
                "start": start.isoformat(),
                "end": end.isoformat(),
                "days": round((end - start).total_seconds() / 86_400, 3),
            },
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


@strawberry.type
class PatternEdge:
    cursor: str
    node: Pattern


@strawberry.type
class PatternConnection:
    edges: list[PatternEdge]
    page_info: LazyPageInfo
    total_count: int


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"pattern:{offset}".encode()).decode()


def _offset(after: str | None) -> int:
    if after is None:
        return 0
    try:
        kind, _, rest = base64.urlsafe_b64decode(after.encode()).decode().partition(":")
        if kind == "pattern" and rest.isdigit():
            return int(rest) + 1
    except (ValueError, UnicodeDecodeError):
        pass
    raise ApiError(f"invalid cursor {after!r}", "BAD_USER_INPUT")


async def laundering_of(info: Ctx, address: str, first: int) -> Laundering:
    first = page_size(first, MAX_PATTERNS_PER_WALLET)
    rows = await gp.wallet_patterns(info.context.services.store, address, first)
    return Laundering(patterns=[Pattern.of(r) for r in rows])


@strawberry.type
class LaunderingQuery:
    @strawberry.field(permission_classes=READ, description="Laundering patterns, strongest first.")
    async def patterns(
        self, info: Ctx, type: str | None = None, first: int = 20, after: str | None = None
    ) -> PatternConnection:
        first = page_size(first, min(info.context.settings.max_page, gp.MAX_FIRST))
        skip = _offset(after)
        rows, total = await gp.list_patterns(info.context.services.store, type, first, skip)
        from api.schema import PageInfo

        edges = [PatternEdge(cursor=_cursor(skip + i), node=Pattern.of(r)) for i, r in enumerate(rows)]
        return PatternConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=skip + len(rows) < total, end_cursor=edges[-1].cursor if edges else None
            ),
            total_count=total,
        )
