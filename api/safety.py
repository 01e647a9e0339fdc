"""What keeps the API safe to expose: API keys, query limits, body size, rate limit, typed errors.

Every error a client sees carries `extensions.code`; unexpected exceptions become
`INTERNAL_SERVER_ERROR` with a fixed message (the traceback goes to the server log only).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
    parse,
    specified_rules,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension
from strawberry.permission import BasePermission

from core.errors import AidropError

log = logging.getLogger("aidrop.api")

INTERNAL = "INTERNAL_SERVER_ERROR"
INTERNAL_MESSAGE = "internal error (logged on the server)"


class ApiError(AidropError):
    """An error with a code for `extensions.code`."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def too_complex(message: str) -> ApiError:
    return ApiError(message, "QUERY_TOO_COMPLEX")


def page_size(first: int, cap: int, name: str = "first") -> int:
    if first < 1:
        raise ApiError(f"{name} must be at least 1, not {first}", "BAD_USER_INPUT")
    if first > cap:
        raise too_complex(f"{name} must be at most {cap}, not {first}")
    return first


# ---- depth and aliases ------------------------------------------------------------------------
def limits_rule(max_depth: int, max_aliases: int) -> type[ValidationRule]:
    """A validation rule: selection depth (fragments followed) and aliases per operation."""

    class Limits(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            fragments = {
                d.name.value: d
                for d in self.context.document.definitions
                if isinstance(d, FragmentDefinitionNode)
            }
            aliases = 0

            def walk(selection_set: SelectionSetNode | None, depth: int, seen: frozenset[str]) -> int:
                nonlocal aliases
                if selection_set is None:
                    return depth
                deepest = depth
                for sel in selection_set.selections:
                    if isinstance(sel, FieldNode):
                        if sel.alias is not None:
                            aliases += 1
                        if sel.name.value.startswith("__"):
                            continue  # introspection: bounded by the schema itself (GraphiQL nests ~15)
                        if sel.selection_set is not None:
                            deepest = max(deepest, walk(sel.selection_set, depth + 1, seen))
                    elif isinstance(sel, InlineFragmentNode):
                        deepest = max(deepest, walk(sel.selection_set, depth, seen))
                    elif isinstance(sel, FragmentSpreadNode):
                        name = sel.name.value
                        if name in fragments and name not in seen:
                            deepest = max(deepest, walk(fragments[name].selection_set, depth, seen | {name}))
                    if deepest > max_depth or aliases > max_aliases:
                        return deepest  # stop early on hostile documents
                return deepest

            depth = walk(node.selection_set, 0, frozenset())
            if depth > max_depth:
                self.report_error(
                    GraphQLError(
                        f"query depth {depth} is over the limit of {max_depth}",
                        node,
                        extensions={"code": "QUERY_TOO_COMPLEX"},
                    )
                )
            if aliases > max_aliases:
                self.report_error(
                    GraphQLError(
                        f"more than {max_aliases} aliases in one operation",
                        node,
                        extensions={"code": "QUERY_TOO_COMPLEX"},
                    )
                )

    return Limits


# ---- error codes --------------------------------------------------------------------------------
def code_error(error: GraphQLError) -> GraphQLError:
    """The error with its `extensions.code`; unexpected exceptions masked."""
    original = error.original_error
    extensions = dict(error.extensions or {})
    message = error.message
    if isinstance(original, GraphQLError) and original.extensions:
        extensions = {**original.extensions, **extensions}
    if original is None or isinstance(original, GraphQLError):
        if "code" not in extensions:
            if "tokens" in message and "Parsing aborted" in message:
                extensions["code"] = "QUERY_TOO_COMPLEX"
            elif message.startswith("Syntax Error"):
                extensions["code"] = "GRAPHQL_PARSE_FAILED"
            else:
                extensions["code"] = "GRAPHQL_VALIDATION_FAILED"
    elif isinstance(original, AidropError):
        extensions["code"] = original.code
    elif isinstance(original, PermissionError):
        extensions.setdefault("code", "UNAUTHENTICATED")
    else:
        log.error("unexpected error in %s", error.path, exc_info=original)
        message = INTERNAL_MESSAGE
        extensions = {"code": INTERNAL}
    return GraphQLError(message, error.nodes, error.source, error.positions, error.path, None, extensions)


class ErrorCodes(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [code_error(e) for e in result.errors]


@lru_cache(maxsize=1024)
def _parse(query: str, max_tokens: int) -> DocumentNode:
    return parse(query, max_tokens=max_tokens)


@lru_cache(maxsize=1024)
def _validate(
    schema: Any, query: str, max_tokens: int, rules: tuple[type[ASTValidationRule], ...]
) -> list[GraphQLError]:
    """Keyed by the query text: hashing a parsed document walks its whole tree."""
    from strawberry.schema.schema import validate_document

    return validate_document(schema, _parse(query, max_tokens), rules)


def guard(max_tokens: int, max_depth: int, max_aliases: int) -> type[SchemaExtension]:
    """One schema extension for everything aidrop adds to an operation, in one hook (each hook
    costs a context manager per operation): the token limit, parse and validation caches keyed by
    the query text, depth and alias limits as a validation rule, error codes on the way out."""
    rule = limits_rule(max_depth, max_aliases)
    rules = (*specified_rules, rule)

    class Guard(ErrorCodes):
        @staticmethod
        def prepare(schema: Any, query: str) -> tuple[DocumentNode, list[GraphQLError]]:
            """The document and its validation errors, both cached (a parse error raises)."""
            return _parse(query, max_tokens), _validate(schema, query, max_tokens, rules)

        def on_operation(self) -> Iterator[None]:
            ec = self.execution_context
            ec.parse_options["max_tokens"] = max_tokens
            ec.validation_rules = (*ec.validation_rules, rule)
            if ec.query and ec.graphql_document is None:
                try:
                    ec.graphql_document = _parse(ec.query, max_tokens)
                except GraphQLError:
                    pass  # strawberry parses it again and reports the error as usual
                else:  # a list, even empty: strawberry skips its own validation
                    ec.pre_execution_errors = list(
                        _validate(ec.schema._schema, ec.query, max_tokens, tuple(ec.validation_rules))
                    )
            yield from super().on_operation()

    return Guard


# ---- API keys -----------------------------------------------------------------------------------
class KeyRequired(BasePermission):
    """Mutations (and every field when AIDROP_READ_AUTH is on, see ReadKey) need a valid key."""

    message = "this needs an API key (header X-API-Key)"
    error_extensions = {"code": "UNAUTHENTICATED"}

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        ctx = info.context
        self.message = f"this needs a valid API key in the {ctx.settings.api_key_header} header"
        return ctx.authenticated


class ReadKey(KeyRequired):
    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        return not info.context.settings.read_auth or super().has_permission(source, info, **kwargs)


# ---- ASGI: body size and rate limit -------------------------------------------------------------
def error_body(message: str, code: str) -> bytes:
    return json.dumps({"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}).encode()


async def send_error(
    send: Send, status: int, message: str, code: str, headers: dict[str, str] | None = None
) -> None:
    body = error_body(message, code)
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


class BodyLimit:
    """Refuses request bodies over `limit` bytes (413, REQUEST_TOO_LARGE), declared or streamed."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.limit:
                    return await self._refuse(send)
        seen = 0
        started = False

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited, tracked)
        except _TooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        await send_error(send, 413, f"request body over {self.limit} bytes", "REQUEST_TOO_LARGE")


class TokenBucket:
    """Per-client token buckets (in this process): `rate` requests/s, bursts of `burst`."""

    def __init__(self, rate: float, burst: int, max_clients: int = 100_000) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.max_clients = max_clients
        self.buckets: dict[str, tuple[float, float]] = {}

    def take(self, client: str) -> float:
        """0 when allowed, else the seconds until the next request would be."""
        now = time.monotonic()
        tokens, stamp = self.buckets.get(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - stamp) * self.rate)
        if tokens >= 1.0:
            if len(self.buckets) >= self.max_clients and client not in self.buckets:
                self.buckets.clear()  # crude but bounded
            self.buckets[client] = (tokens - 1.0, now)
            return 0.0
        self.buckets[client] = (tokens, now)
        return (1.0 - tokens) / self.rate


class RateLimit:
    """Limits /graphql requests per valid API key (else per client address): 429, RATE_LIMITED."""

    def __init__(self, app: ASGIApp, rate: float, burst: int, header: str, keys: frozenset[str],
                 paths: tuple[str, ...]) -> None:  # fmt: skip
        self.app = app
        self.bucket = TokenBucket(rate, burst) if rate > 0 else None
        self.header = header.lower().encode()
        self.keys = keys
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.bucket is None or scope["type"] != "http" or scope["path"] not in self.paths:
            return await self.app(scope, receive, send)
        client = None
        for name, value in scope.get("headers", ()):
            if name == self.header:
                key = value.decode("latin-1").strip()
                if key in self.keys:  # made-up keys do not buy their own bucket
                    client = "key:" + key
                break
        if client is None:
            client = "ip:" + (scope.get("client") or ("?", 0))[0]
        wait = self.bucket.take(client)
        if wait > 0:
            await send_error(send, 429, "rate limit exceeded; slow down", "RATE_LIMITED",
                             {"Retry-After": str(max(1, round(wait)))})  # fmt: skip
            return
        await self.app(scope, receive, send)
