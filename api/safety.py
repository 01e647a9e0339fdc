"""What keeps the API safe to expose: API keys, query limits, body size, rate limit, typed errors.

Every error a client sees carries `extensions.code`; unexpected exceptions become
`INTERNAL_SERVER_ERROR` with a fixed message (the traceback goes to the server log only).
"""

from __future__ import annotations

import hashlib
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
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
    VariableNode,
    get_named_type,
    parse,
    specified_rules,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension
from strawberry.permission import BasePermission

from core.errors import AidropError, clip

__all__ = ["clip"]  # re-exported for api/schema.py

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


# ---- depth, aliases and cost ------------------------------------------------------------------
SIZE_ARGS = ("first", "limit")  # a field returning up to this many items (a page)
LIST_ARGS = ("ids", "addresses")  # a field returning one item per element of this list


def limits_rule(max_depth: int, max_aliases: int, max_cost: int = 0, max_page: int = 100,
                max_batch: int = 1000) -> type[ValidationRule]:  # fmt: skip
    """A validation rule: selection depth (fragments followed), aliases per operation, and cost.

    The cost counts the objects an operation can resolve: each field with a selection costs
    its size times (1 + the cost of its selection), the size being its `first`/`limit`
    (or the number of `ids`/`addresses`), 1 otherwise. Sizes multiply through nesting, so
    `wallets(first:100){...counterparties(first:100){wallet{counterparties(first:100)...}}}` costs
    about 10^6. A size given by a variable counts as the variable's default, else the cap (the
    text alone decides, so the verdict is cached with the validation)."""

    class Limits(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            fragments = {
                d.name.value: d
                for d in self.context.document.definitions
                if isinstance(d, FragmentDefinitionNode)
            }
            defaults = {v.variable.name.value: v.default_value for v in node.variable_definitions or ()}
            schema = self.context.schema
            aliases = 0
            over = False

            def size(field: FieldNode, definition: Any) -> int:
                given = {a.name.value: a.value for a in field.arguments or ()}
                n = 1
                for name, arg in (definition.args or {}).items() if definition is not None else ():
                    value = given.get(name)
                    if isinstance(value, VariableNode):
                        value = defaults.get(value.name.value) or value
                    if name in SIZE_ARGS:
                        if isinstance(value, IntValueNode):  # over the cap: page_size's error
                            n = max(n, min(int(value.value), max_page))
                        elif isinstance(value, VariableNode):
                            n = max(n, max_page)
                        elif value is None and isinstance(arg.default_value, int):
                            n = max(n, arg.default_value)
                    elif name in LIST_ARGS:
                        if isinstance(value, ListValueNode):
                            n = max(n, min(len(value.values), max_batch))
                        elif isinstance(value, VariableNode):
                            n = max(n, max_batch)
                return n

            def walk(selection_set: SelectionSetNode | None, parent: Any, depth: int,
                     seen: frozenset[str]) -> tuple[int, int]:  # fmt: skip
                """(deepest depth, cost) of a selection on the type `parent`."""
                nonlocal aliases, over
                if selection_set is None:
                    return depth, 0
                deepest, cost = depth, 0
                for sel in selection_set.selections:
                    if isinstance(sel, FieldNode):
                        if sel.alias is not None:
                            aliases += 1
                        if sel.name.value.startswith("__"):
                            continue  # introspection: bounded by the schema itself (GraphiQL nests ~15)
                        if sel.selection_set is not None:
                            fields = getattr(parent, "fields", None) or {}
                            definition = fields.get(sel.name.value)
                            child = get_named_type(definition.type) if definition is not None else None
                            d, c = walk(sel.selection_set, child, depth + 1, seen)
                            deepest = max(deepest, d)
                            cost += size(sel, definition) * (1 + c)
                    elif isinstance(sel, InlineFragmentNode):
                        cond = sel.type_condition
                        child = schema.get_type(cond.name.value) if cond is not None else parent
                        d, c = walk(sel.selection_set, child, depth, seen)
                        deepest, cost = max(deepest, d), cost + c
                    elif isinstance(sel, FragmentSpreadNode):
                        name = sel.name.value
                        if name in fragments and name not in seen:
                            frag = fragments[name]
                            child = schema.get_type(frag.type_condition.name.value)
                            d, c = walk(frag.selection_set, child, depth, seen | {name})
                            deepest, cost = max(deepest, d), cost + c
                    if deepest > max_depth or aliases > max_aliases or (max_cost and cost > max_cost):
                        over = True
                        return deepest, cost  # stop early on hostile documents
                return deepest, cost

            root = {"query": schema.query_type, "mutation": schema.mutation_type,
                    "subscription": schema.subscription_type}.get(node.operation.value)  # fmt: skip
            depth, cost = walk(node.selection_set, root, 0, frozenset())
            problems = []
            if depth > max_depth:
                problems.append(f"query depth {depth} is over the limit of {max_depth}")
            if aliases > max_aliases:
                problems.append(f"more than {max_aliases} aliases in one operation")
            if max_cost and cost > max_cost and not problems:
                more = " or more" if over else ""
                problems.append(
                    f"query cost {cost}{more} is over the limit of {max_cost} (the cost multiplies each "
                    "list's first/limit through the nesting; ask for smaller pages or fewer levels)"
                )
            for problem in problems:
                self.report_error(GraphQLError(problem, node, extensions={"code": "QUERY_TOO_COMPLEX"}))

    return Limits


# ---- variables ---------------------------------------------------------------------------------
def long_list(value: Any, cap: int, depth: int = 0) -> int:
    """The length of the first list over `cap` items anywhere in a variables value (0: none)."""
    if isinstance(value, list):
        if len(value) > cap:
            return len(value)
        items: Any = value
    elif isinstance(value, dict):
        items = value.values()
    else:
        return 0
    if depth > 20:
        return 0  # JSON nesting is bounded by the parser; variables of this schema are shallow
    for item in items:
        if isinstance(item, (list, dict)) and (n := long_list(item, cap, depth + 1)):
            return n
    return 0


def check_variables(variables: dict[str, Any] | None, cap: int) -> None:
    """Lists in variables hold at most `cap` items: a list becomes a Cypher parameter and work in
    the database per item (100,000 typology patterns kept FalkorDB busy for minutes)."""
    if variables and (n := long_list(variables, cap)):
        raise too_complex(f"a list variable has {n} items; at most {cap} are accepted (AIDROP_MAX_LIST)")


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
    elif isinstance(original, (RedisConnectionError, RedisTimeoutError)):
        log.warning("Redis unreachable in %s: %s", error.path, original)
        message = "the job queue (Redis) is unreachable; try again shortly"
        extensions = {"code": "QUEUE_UNAVAILABLE"}
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


def guard(max_tokens: int, max_depth: int, max_aliases: int, max_cost: int = 0, max_page: int = 100,
          max_batch: int = 1000, max_list: int = 1000) -> type[SchemaExtension]:  # fmt: skip
    """One schema extension for everything aidrop adds to an operation, in one hook (each hook
    costs a context manager per operation): the token limit, parse and validation caches keyed by
    the query text, depth and alias limits as a validation rule, error codes on the way out."""
    rule = limits_rule(max_depth, max_aliases, max_cost, max_page, max_batch)
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
                    if n := long_list(ec.variables, max_list):  # GET and WebSocket (POST: api/app.py)
                        message = f"a list variable has {n} items; at most {max_list} are accepted"
                        ec.pre_execution_errors.append(
                            GraphQLError(message, extensions={"code": "QUERY_TOO_COMPLEX"})
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


# One token bucket per client in Redis, shared by every API process (and server). The clock is
# Redis's own (TIME), so processes on several machines agree. A process takes up to ARGV[3] tokens
# at once (a lease it spends locally); returns "granted wait": tokens granted (0 when none) and
# the seconds until the next one.
_BUCKET = """
local rate, burst, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local h = redis.call('HMGET', KEYS[1], 't', 's')
local tokens = tonumber(h[1]) or burst
local stamp = tonumber(h[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - stamp) * rate)
local granted, wait = 0, 0
if tokens >= 1 then
  granted = math.min(want, math.floor(tokens))
  tokens = tokens - granted
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 's', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return granted .. ' ' .. tostring(wait)
"""
RATE_KEY = "aidrop:rate:"
LEASE_S = 0.5  # leased tokens unspent this long go unused (they never outlive a moment)


class SharedBucket:
    """TokenBucket's rule kept in Redis (`redis_of()` gives the client once the app has started);
    while Redis does not answer, this process's own buckets stand in (limited, never open).

    A busy client's tokens are leased a few at a time (a tenth of the burst, at most 10), so that
    most of its requests cost no round trip to Redis; with a burst under 20 every request asks."""

    def __init__(self, rate: float, burst: int, redis_of: Any) -> None:
        self.rate, self.burst = rate, burst
        self.redis_of = redis_of
        self.local = TokenBucket(rate, burst)
        self.lease = max(1, min(10, burst // 10))
        self.leased: dict[str, tuple[int, float]] = {}  # client -> (tokens left, taken at)
        self._script: Any = None
        self._warned = 0.0

    async def take(self, client: str) -> float:
        left, at = self.leased.get(client, (0, 0.0))
        now = time.monotonic()
        if left > 0 and now - at < LEASE_S:
            self.leased[client] = (left - 1, at)
            return 0.0
        redis = self.redis_of()
        if redis is None:
            return self.local.take(client)
        if self._script is None or self._script.registered_client is not redis:
            self._script = redis.register_script(_BUCKET)
        key = RATE_KEY + hashlib.sha256(client.encode()).hexdigest()[:24]  # no key stored in clear
        try:
            granted, wait = (await self._script(keys=[key], args=[self.rate, self.burst, self.lease])).split()
        except Exception as exc:  # Redis away: this process's buckets for now
            if time.monotonic() - self._warned > 10:  # once in a while, not per request
                self._warned = time.monotonic()
                log.warning("rate limit in Redis unavailable (%s); limiting per process", type(exc).__name__)
            return self.local.take(client)
        if int(granted) < 1:
            self.leased.pop(client, None)
            return float(wait)
        if len(self.leased) > 100_000:
            self.leased.clear()  # bounded, as TokenBucket
        self.leased[client] = (int(granted) - 1, now)
        return 0.0


class RateLimit:
    """Limits /graphql requests, and operations over its WebSocket, per valid API key (else per
    client address) with buckets shared by every API process through Redis: 429, RATE_LIMITED
    (over a WebSocket: an `error` message for that operation)."""

    def __init__(self, app: ASGIApp, rate: float, burst: int, header: str, keys: frozenset[str],
                 paths: tuple[str, ...], redis_of: Any = None) -> None:  # fmt: skip
        self.app = app
        self.bucket = SharedBucket(rate, burst, redis_of or (lambda: None)) if rate > 0 else None
        self.header = header.lower().encode()
        self.header_name = header
        self.keys = keys
        self.paths = paths

    def _client(self, scope: Scope) -> str:
        for name, value in scope.get("headers", ()):
            if name == self.header:
                key = value.decode("latin-1").strip()
                if key in self.keys:  # made-up keys do not buy their own bucket
                    return "key:" + key
                break
        return "ip:" + (scope.get("client") or ("?", 0))[0]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.bucket is None
            or scope["type"] not in ("http", "websocket")
            or scope["path"] not in self.paths
        ):
            return await self.app(scope, receive, send)
        client = self._client(scope)
        if scope["type"] == "websocket":
            return await self._socket(scope, receive, send, client)
        wait = await self.bucket.take(client)
        if wait > 0:
            await send_error(send, 429, "rate limit exceeded; slow down", "RATE_LIMITED",
                             {"Retry-After": str(max(1, round(wait)))})  # fmt: skip
            return
        await self.app(scope, receive, send)

    async def _socket(self, scope: Scope, receive: Receive, send: Send, client: str) -> None:
        """Every operation started over the socket takes a token, as a request would; one over
        the limit is answered with an error message and never reaches the server."""
        bucket = self.bucket
        assert bucket is not None

        async def counted() -> Message:
            nonlocal client
            while True:
                message = await receive()
                text = message.get("text") if message["type"] == "websocket.receive" else None
                if not text or '"type"' not in text:
                    return message
                try:
                    frame = json.loads(text)
                except (ValueError, RecursionError):
                    return message  # the protocol handler reports it
                kind = frame.get("type") if isinstance(frame, dict) else None
                if kind == "connection_init":  # browsers send the key here
                    payload = frame.get("payload")
                    key = payload.get(self.header_name) if isinstance(payload, dict) else None
                    if isinstance(key, str) and key in self.keys:
                        client = "key:" + key
                    return message
                if kind not in ("subscribe", "start"):  # graphql-transport-ws, graphql-ws
                    return message
                wait = await bucket.take(client)
                if wait <= 0:
                    return message
                extensions = {"code": "RATE_LIMITED", "retryAfter": max(1, round(wait))}
                error = {"message": "rate limit exceeded; slow down", "extensions": extensions}
                reply = {"id": frame.get("id"), "type": "error", "payload": [error]}
                await send({"type": "websocket.send", "text": json.dumps(reply)})

        await self.app(scope, counted, send)
