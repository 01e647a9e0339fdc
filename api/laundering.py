"""GraphQL for laundering evidence (issue 14): the patterns ml/laundering found, per wallet
(`wallet { laundering { patterns { ... } } }`) and as a list (`patterns(type, first, after)`);
merged into api/schema.py's Query as a mixin."""

from __future__ import annotations

import base64

import strawberry
from strawberry.permission import BasePermission
from strawberry.types import Info

from api.context import Context
from api.safety import ApiError, ReadKey, page_size
from api.types import PageInfo, Pattern
from graph import patterns as gp

Ctx = Info[Context, None]

READ: list[type[BasePermission]] = [ReadKey]


@strawberry.type
class PatternEdge:
    cursor: str
    node: Pattern


@strawberry.type
class PatternConnection:
    edges: list[PatternEdge]
    page_info: PageInfo
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


@strawberry.type
class LaunderingQuery:
    @strawberry.field(permission_classes=READ, description="Laundering patterns, strongest first.")
    async def patterns(
        self, info: Ctx, type: str | None = None, first: int = 20, after: str | None = None
    ) -> PatternConnection:
        first = page_size(first, min(info.context.settings.max_page, gp.MAX_FIRST))
        skip = _offset(after)
        rows, total = await gp.list_patterns(info.context.services.store, type, first, skip)
        edges = [PatternEdge(cursor=_cursor(skip + i), node=Pattern.of(r)) for i, r in enumerate(rows)]
        return PatternConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=skip + len(rows) < total, end_cursor=edges[-1].cursor if edges else None
            ),
            total_count=total,
        )
