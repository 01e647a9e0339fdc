"""The web app (web/, issue 18) at /app/: its build (web/dist) from the same origin as /graphql.

Files of the build are served as they are (hashed assets cached for a year; text gzipped for
clients that accept it, compressed once per file); any other path under
/app/ that names no file gets index.html, so deep links (/app/wallet/0x...) open the app, which
routes in the browser. Without a build, /app/ says how to make one.
"""

from __future__ import annotations

import gzip
import mimetypes
import os
from functools import lru_cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

DIST = Path(__file__).resolve().parent.parent / "web" / "dist"
IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}
NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>aidrop: the web app is not built</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:42rem;margin:4rem auto;padding:0 1rem}
code,pre{background:#f2f2f2;padding:.1rem .3rem}pre{padding:.8rem}</style></head>
<body><main><h1>The web app is not built</h1>
<p>aidrop serves its web app from <code>__DIST__</code>, which has no <code>index.html</code>.
Building it needs Node.js 20 or newer and npm (Debian: <code>apt-get install nodejs npm</code>):</p>
<pre>cd web &amp;&amp; npm ci &amp;&amp; npm run build</pre>
<p><code>scripts/demo</code> and <code>scripts/test</code> build it when node is there.
Set <code>AIDROP_WEB_DIST</code> to serve a build from elsewhere.
The GraphQL API works without it: <a href="/graphql">GraphiQL</a>.</p></main></body></html>
"""


COMPRESSIBLE = {".js", ".css", ".html", ".svg", ".json", ".map", ".txt"}


@lru_cache(maxsize=256)
def _gzipped(path: Path, mtime_ns: int) -> bytes:
    return gzip.compress(path.read_bytes(), compresslevel=9, mtime=0)


def _file(path: Path, request: Request, headers: dict[str, str]) -> Response:
    if path.suffix in COMPRESSIBLE:
        headers = {**headers, "Vary": "Accept-Encoding"}
        if "gzip" in request.headers.get("accept-encoding", ""):
            body = _gzipped(path, path.stat().st_mtime_ns)
            media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return Response(body, media_type=media, headers={**headers, "Content-Encoding": "gzip"})
    return FileResponse(path, headers=headers)


def web_dist() -> Path:
    return Path(os.environ.get("AIDROP_WEB_DIST") or DIST)


def routes(dist: Path | None = None) -> list[BaseRoute]:
    root = (dist or web_dist()).resolve()

    async def app_root(request: Request) -> Response:
        return RedirectResponse("/app/")

    async def app_file(request: Request) -> Response:
        index = root / "index.html"
        if not index.is_file():
            page = NOT_BUILT.replace("__DIST__", str(root))
            return HTMLResponse(page, status_code=503, headers={"Cache-Control": "no-store"})
        rel = request.path_params.get("path", "")
        if rel:
            target = (root / rel).resolve()
            if target.is_relative_to(root) and target.is_file():
                headers = IMMUTABLE if rel.startswith("assets/") else {"Cache-Control": "no-cache"}
                return _file(target, request, headers)
            if "." in rel.rsplit("/", 1)[-1]:  # a file the build lacks, not a route of the app
                return PlainTextResponse("not found", status_code=404)
        return _file(index, request, {"Cache-Control": "no-cache"})

    return [Route("/app", app_root), Route("/app/", app_file), Route("/app/{path:path}", app_file)]
