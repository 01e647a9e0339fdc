"""The ASGI app of `aidrop serve`: GraphQL (HTTP + WebSocket) at /graphql with an offline GraphiQL,
blobs, health, readiness and metrics.

    /graphql          GET: GraphiQL (assets served from api/static/graphiql); POST: GraphQL; WS: subscriptions
    /graphiql/...     GraphiQL's scripts and styles
    /app/...          the web app (web/dist; api/webapp.py)
    /blobs/{key}      profile images and metadata of the local blob store (S3 serves its own)
    /healthz          the process answers
    /readyz           graph and Redis reachable (503 otherwise)
    /metrics          Prometheus text format
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hmac
import json
import logging
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from api import fast_path
from api.context import Context, Services
from api.metrics import Metrics
from api.safety import ApiError, BodyLimit, RateLimit, check_variables, code_error, send_error
from api.schema import build_schema
from api.webapp import routes as webapp_routes

if TYPE_CHECKING:
    from core.settings import Settings

log = logging.getLogger("aidrop.api")
STATIC = Path(__file__).parent / "static" / "graphiql"
GRAPHIQL_HTML = Path(__file__).parent / "graphiql.html"


class GraphQLApp(GraphQL):
    """strawberry's ASGI view with aidrop's context and the GraphiQL page from local assets."""

    def __init__(
        self, services_ref: dict[str, Any], settings: Settings, metrics: Metrics, **kwargs: Any
    ) -> None:
        self.fast = fast_path.enabled(settings.fast_path)
        if self.fast:  # imported only on the versions it knows
            from api.execution import execute_direct

            self.direct = execute_direct
        super().__init__(
            build_schema(
                settings.max_depth,
                settings.max_aliases,
                settings.max_tokens,
                settings.max_cost,
                settings.max_page,
                settings.max_batch,
                settings.max_list,
                fast=self.fast,
            ),  # fmt: skip
            graphql_ide="graphiql",
            **kwargs,
        )
        self.services_ref = services_ref
        self.settings = settings
        self.metrics = metrics
        self.keys = settings.api_key_set
        self.page = GRAPHIQL_HTML.read_text().replace("__KEY_HEADER__", settings.api_key_header)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """With AIDROP_READ_AUTH, an HTTP operation without a valid key ends here (mutations
        are checked field by field, subscriptions when they start: KeyRequired, ReadKey)."""
        if self.settings.read_auth and scope["type"] == "http":
            operation = scope["method"] == "POST" or b"query=" in scope.get("query_string", b"")
            if operation and not self._key(Headers(scope=scope))[1]:
                return await send_error(
                    send, 401, f"this needs a valid API key in the {self.settings.api_key_header} header",
                    "UNAUTHENTICATED",
                )  # fmt: skip
        if self.fast and scope["type"] == "http" and scope["method"] == "POST" and self._plain_json(scope):
            return await self._post(scope, receive, send)
        await super().__call__(scope, receive, send)

    @staticmethod
    def _plain_json(scope: Scope) -> bool:
        """A plain JSON POST (what frontends send); multipart uploads, batches and streamed
        responses (incremental delivery, subscriptions over HTTP) go through strawberry's view."""
        content_type = accept = b""
        for name, value in scope.get("headers", ()):
            if name == b"content-type":
                content_type = value
            elif name == b"accept":
                accept = value
        return content_type.split(b";")[0].strip().lower() == b"application/json" and not (
            b"multipart/mixed" in accept or b"text/event-stream" in accept
        )

    async def _post(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The same as strawberry's view for one JSON operation, with less machinery per request
        (it parses the content type with the email package, builds adapters and sub-responses)."""
        request = Request(scope, receive)
        try:
            data = json.loads(await request.body())
        except (ValueError, RecursionError):  # RecursionError: JSON nested 100,000 deep
            return await send_error(
                send, 400, "the request body is not JSON (or nested too deep)", "BAD_REQUEST"
            )
        if not isinstance(data, dict):  # a batch: strawberry answers (and refuses) those
            return await super().__call__(scope, _replay(json.dumps(data).encode()), send)
        query, variables = data.get("query"), data.get("variables")
        if not isinstance(query, str):
            return await PlainTextResponse("No GraphQL query found in the request", 400)(scope, receive, send)
        if not isinstance(variables, (dict, type(None))):
            reason = "The GraphQL operation's `variables` must be an object or null, if provided."
            return await PlainTextResponse(reason, 400)(scope, receive, send)
        try:
            check_variables(variables, self.settings.max_list)
        except ApiError as exc:
            return await send_error(send, 400, str(exc), exc.code)
        context = await self.get_context(request, None)
        name = data.get("operationName")
        self.metrics.operations.inc(operation_type(query, name))
        result: Any
        try:
            result = await self.direct(self.schema, query, variables, context, name, POST_OPERATIONS)
            if result is None:
                result = await self.schema.execute(
                    query,
                    variable_values=variables,
                    context_value=context,
                    operation_name=name,
                    allowed_operation_types=POST_OPERATIONS,
                )
        except InvalidOperationTypeError as exc:
            return await PlainTextResponse(exc.as_http_error_reason("POST"), 400)(scope, receive, send)
        except CannotGetOperationTypeError as exc:
            return await PlainTextResponse(exc.as_http_error_reason(), 400)(scope, receive, send)
        body = self.encode_json(await self.process_result(request, result))
        await Response(body, media_type="application/json")(scope, receive, send)

    def _key(self, headers: Any) -> tuple[str | None, bool]:
        key = headers.get(self.settings.api_key_header)
        if not key:
            return None, False
        return key, any(hmac.compare_digest(key, k) for k in self.keys)

    async def get_context(  # type: ignore[override]  # strawberry's base declares a broader context type
        self, request: Request | WebSocket, response: Any
    ) -> Context:
        key, ok = self._key(request.headers)  # (browsers' WebSockets send it in connection_init)
        return Context(self.services_ref["services"], request, response, key, ok)

    async def process_result(self, request: Any, result: Any) -> Any:
        """Every error leaves with extensions.code (parse errors skip the schema extensions)."""
        if getattr(result, "errors", None):
            result.errors = [code_error(e) for e in result.errors]
        return await super().process_result(request, result)

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(self.page)

    def encode_json(self, data: object) -> str:
        if isinstance(data, dict):
            for error in data.get("errors") or ():
                code = (error.get("extensions") or {}).get("code", "")
                self.metrics.errors.inc(code)
        return json.dumps(data, separators=(",", ":"))


POST_OPERATIONS = frozenset({OperationType.QUERY, OperationType.MUTATION})
_OPERATION = re.compile(r"\b(query|mutation|subscription)\b\s*(\w*)")


def operation_type(query: str, name: str | None) -> str:
    """query, mutation or subscription, from the text (a `{ ... }` shorthand is a query)."""
    for kind, op_name in _OPERATION.findall(query.split("{", 1)[0] if name is None else query):
        if name is None or op_name == name:
            return kind
    return "query"


def _replay(body: bytes) -> Receive:
    """A receive channel that hands over an already read body once."""
    sent = False

    async def receive() -> Any:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


class Timing:
    """Request count and latency per route for /metrics."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"]
        route = (
            path
            if path in ("/graphql", "/healthz", "/readyz", "/metrics")
            else path.split("/")[1][:20] or "/"
        )
        started = time.perf_counter()
        status = 500

        async def tracked(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        finally:
            self.metrics.requests.inc(route, str(status))
            self.metrics.latency.observe(time.perf_counter() - started, route)


GRAPH_CONCURRENCY = 64  # statements in flight per API process (FalkorDB: 32 connections, the rest wait)


def count_queries(store: Any, metrics: Metrics, limit: int = GRAPH_CONCURRENCY) -> None:
    """Every statement the store sends counts in aidrop_graph_queries_total{statement}; at most
    `limit` are in flight (more wait their turn instead of failing for want of a connection)."""
    query, execute = store.query, store.execute
    gate = asyncio.Semaphore(limit)

    async def counted_query(statement: Any, params: Any = None) -> Any:
        metrics.graph_queries.inc(statement.name)
        async with gate:
            return await query(statement, params)

    async def counted_execute(statement: Any, params: Any = None) -> Any:
        metrics.graph_queries.inc(statement.name)
        async with gate:
            return await execute(statement, params)

    store.query, store.execute = counted_query, counted_execute


def create_app(settings: Settings | None = None, services: Services | None = None) -> Starlette:
    """The app; services (graph store, blobs, Redis) are opened at startup unless given."""
    from core.settings import get_settings

    settings = settings or get_settings()
    metrics = Metrics()
    ref: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        own = services is None
        ref["services"] = services or await open_services(settings)
        count_queries(ref["services"].store, metrics)
        await ref["services"].profiles()
        # What is alive now lives as long as the server: keep it out of the collector's scans,
        # and collect young objects less often (a request allocates a few thousand).
        gc.collect()
        gc.freeze()
        gc.set_threshold(20_000, 20, 20)
        try:
            yield
        finally:
            if own:
                await close_services(ref["services"])

    graphql = GraphQLApp(ref, settings, metrics)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        s: Services = ref["services"]
        checks: dict[str, str] = {}

        async def check(name: str, probe: Any) -> None:
            try:
                await asyncio.wait_for(probe, 2.0)
                checks[name] = "ok"
            except Exception as exc:  # report, never raise: this is the probe
                checks[name] = f"unreachable: {type(exc).__name__}"

        await asyncio.gather(check("graph", s.store.ping()), check("redis", s.records.redis.ping()))
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ready" if ok else "not ready", **checks}, status_code=200 if ok else 503
        )

    async def metrics_route(request: Request) -> Response:
        s: Services = ref["services"]
        gauges: dict[str, tuple[str, dict[tuple[str, str], float]]] = {}
        with contextlib.suppress(Exception):
            counts = await asyncio.wait_for(s.records.counts(), 2.0)
            gauges["aidrop_jobs"] = ("Job records by status.", {("status", k): v for k, v in counts.items()})
            depth = await s.records.redis.zcard(s.records.queue_name)
            gauges["aidrop_queue_depth"] = ("Jobs waiting in the arq queue.", {("", ""): depth})
        return PlainTextResponse(metrics.render(gauges), media_type="text/plain; version=0.0.4")

    async def blob(request: Request) -> Response:
        from jobs.blobs import BlobError, LocalBlobStore, guess_type

        store = ref["services"].blobs
        if not isinstance(store, LocalBlobStore):
            return PlainTextResponse("blobs are served by the S3 endpoint", status_code=404)
        try:
            path = store.path(request.path_params["key"])
        except BlobError:
            return PlainTextResponse("invalid key", status_code=400)
        if not path.is_file():
            return PlainTextResponse("not found", status_code=404)
        return FileResponse(
            path, media_type=guess_type(path.name), headers={"Cache-Control": "public, max-age=300"}
        )

    async def root(request: Request) -> Response:
        return RedirectResponse("/graphql")

    routes = [
        Route("/", root),
        Route("/graphql/", root),  # relative: never Starlette's slash redirect built from the Host header
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        Mount("/graphiql", StaticFiles(directory=STATIC), name="graphiql"),
        Route("/blobs/{key:path}", blob),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics_route),
        *webapp_routes(),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[
            Middleware(Timing, metrics=metrics),
            Middleware(RateLimit, rate=settings.rate_limit, burst=settings.rate_burst,
                       header=settings.api_key_header, keys=settings.api_key_set, paths=("/graphql",),
                       redis_of=lambda: ref["services"].records.redis if "services" in ref else None),
            Middleware(BodyLimit, limit=settings.max_body_bytes),
        ],
    )  # fmt: skip
    app.router.redirect_slashes = False  # it would echo the Host header into Location
    return app


async def open_services(settings: Settings) -> Services:
    from graph import open_store
    from graph.embedded import jobs_redis_url
    from jobs.blobs import open_blobs
    from jobs.queue import JobQueue
    from jobs.records import JobRecords

    store = open_store(settings)
    await store.ensure_schema()
    store.query_timeout = settings.query_timeout
    records = JobRecords.from_url(jobs_redis_url(settings), settings.job_ttl_days)
    return Services(settings, store, open_blobs(settings), records, JobQueue(records, settings))


async def close_services(services: Services) -> None:
    await services.records.close()
    await services.store.close()
