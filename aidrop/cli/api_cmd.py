"""`aidrop serve` (the GraphQL API), `aidrop worker` (the job worker), `aidrop analyze` (the batch
client over GraphQL) and `aidrop api schema` (the SDL)."""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import click

from core.settings import get_settings

ANALYZE = """mutation($addresses: [String!]!, $force: Boolean!) {
  analyzeWallets(addresses: $addresses, force: $force) { id status }
}"""
POLL = """query($ids: [ID!]!) {
  jobsById(ids: $ids) {
    id status progress error errorCode
    wallet { address typology { code } cluster { id } anomaly { score rank flagged } profile { imageUrl } }
  }
}"""


@click.command("serve")
@click.option("--host", default=None, help="Address to listen on [AIDROP_HOST, 127.0.0.1].")
@click.option("--port", default=None, type=click.IntRange(1, 65535), help="Port [AIDROP_PORT, 8000].")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Server processes.")
@click.option("--log-level", default="info", show_default=True)
def serve(host: str | None, port: int | None, workers: int, log_level: str) -> None:
    """Serve the GraphQL API (GraphiQL at /graphql)."""
    import uvicorn

    settings = get_settings()
    host = host or settings.serve_host
    port = port or settings.serve_port
    if (host, port) != (settings.serve_host, settings.serve_port):
        # the app (in this process or uvicorn's workers) builds its URLs (profile images) from these
        os.environ.update(AIDROP_HOST=host, AIDROP_PORT=str(port))
        get_settings.cache_clear()
        settings = get_settings()
    if settings.embedded:  # start it here, not in each server process
        from graph.embedded import embedded_server

        embedded_server(settings).start()
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    click.echo(f"aidrop API on http://{shown}:{port}/graphql (GraphiQL in a browser)", err=True)
    if port != 8000 and not os.environ.get("AIDROP_PUBLIC_URL"):
        click.echo(f"clients (aidrop analyze) find it with AIDROP_PORT={port} in their environment", err=True)
    if not settings.api_key_set:
        click.echo("no AIDROP_API_KEYS: every mutation (analyzeWallet, ...) will be refused", err=True)
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=False,
        ws_max_size=1 << 20,
        timeout_graceful_shutdown=5,
        # uvicorn believes X-Forwarded-For from 127.0.0.1 by default: a client on the machine (or
        # behind a local proxy that passes the header on) would pick its own address
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=settings.trusted_proxies or None,
    )


@click.command("worker")
@click.option("--burst", is_flag=True, help="Exit once the queue is empty.")
@click.option("--concurrency", type=click.IntRange(1, 1000), help="Jobs at once [AIDROP_WORKER_CONCURRENCY].")
def worker(burst: bool, concurrency: int | None) -> None:
    """Run the job worker (analyze_wallet, analyze_batch, ingest_range, rescore_all, snapshot_campaign)."""
    import asyncio
    import logging

    from jobs.worker import run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.set_event_loop(asyncio.new_event_loop())
    run_worker(get_settings(), burst=burst, concurrency=concurrency)


class ApiClient:
    def __init__(self, url: str, key: str | None, timeout: float = 30.0) -> None:
        self.url = url
        self.key = key
        self.timeout = timeout

    def __call__(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        headers = {"Content-Type": "application/json"}
        if self.key:
            headers[get_settings().api_key_header] = self.key
        body = json.dumps({"query": query, "variables": variables}).encode()
        for attempt in range(6):
            request = urllib.request.Request(self.url, body, headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    payload = json.loads(response.read())
                break
            except urllib.error.HTTPError as exc:
                if exc.code == 429 and attempt < 5:
                    time.sleep(float(exc.headers.get("Retry-After") or 1))
                    continue
                try:
                    payload = json.loads(exc.read())
                except ValueError:
                    raise click.ClickException(f"{self.url} answered HTTP {exc.code}") from None
                break
            except (urllib.error.URLError, OSError) as exc:
                raise click.ClickException(f"cannot reach the API at {self.url}: {exc}") from None
        if payload.get("errors"):
            first = payload["errors"][0]
            code = (first.get("extensions") or {}).get("code", "ERROR")
            raise click.ClickException(f"[{code}] {first.get('message')}")
        return payload["data"]


def _addresses(args: tuple[str, ...], file: Path | None) -> list[str]:
    found = list(args)
    if file is not None:
        text = sys.stdin.read() if str(file) == "-" else file.read_text()
        for line in text.splitlines():
            cell = line.split(",")[0].strip()
            if cell and not cell.startswith("#") and cell.lower() != "address":
                found.append(cell)
    seen: dict[str, None] = {}
    for a in found:
        seen.setdefault(a, None)
    return list(seen)


@click.command("analyze")
@click.argument("addresses", nargs=-1)
@click.option("--file", "file", type=click.Path(path_type=Path, allow_dash=True),
              help="Addresses, one a line (or the first CSV column); - for stdin.")  # fmt: skip
@click.option("--url", default=None, help="GraphQL endpoint [AIDROP_PUBLIC_URL/graphql].")
@click.option(
    "--key", envvar="AIDROP_API_KEY", help="API key [AIDROP_API_KEY, else the first of AIDROP_API_KEYS]."
)
@click.option("--force", is_flag=True, help="Analyse again even if a recent analysis exists.")
@click.option(
    "--chunk", default=200, show_default=True, type=click.IntRange(1, 10_000), help="Addresses per call."
)
@click.option("--timeout", default=600.0, show_default=True, help="Seconds to wait for all jobs.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per wallet.")
def analyze(addresses: tuple[str, ...], file: Path | None, url: str | None, key: str | None, force: bool,
            chunk: int, timeout: float, as_json: bool) -> None:  # fmt: skip
    """Analyse wallets through the API: queue the jobs, follow them with a progress bar, print results."""
    from tqdm import tqdm

    settings = get_settings()
    wanted = _addresses(addresses, file)
    if not wanted:
        raise click.UsageError("give addresses or --file FILE")
    client = ApiClient(
        url or f"{settings.public_base_url}/graphql", key or next(iter(sorted(settings.api_key_set)), None)
    )
    jobs: dict[str, str] = {}  # job id -> address
    for i in range(0, len(wanted), chunk):
        part = wanted[i : i + chunk]
        data = client(ANALYZE, {"addresses": part, "force": force})
        for address, job in zip(part, data["analyzeWallets"], strict=True):
            jobs[job["id"]] = address
    results: dict[str, dict[str, Any]] = {}
    pending = list(jobs)
    bar = tqdm(total=len(jobs), unit="wallet", desc="analysing", disable=as_json or not sys.stderr.isatty())
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        still = []
        for i in range(0, len(pending), chunk):
            for job in client(POLL, {"ids": pending[i : i + chunk]})["jobsById"]:
                if job is None:
                    continue
                if job["status"] in ("COMPLETED", "FAILED"):
                    results[job["id"]] = job
                    bar.update(1)
                else:
                    still.append(job["id"])
        pending = still
        if pending:
            time.sleep(0.3)
    bar.close()
    failed = 0
    for job_id, address in jobs.items():
        job = results.get(job_id)
        row = _row(address, job_id, job)
        failed += row["status"] != "completed"
        if as_json:
            click.echo(json.dumps(row, sort_keys=True))
        else:
            click.echo(_line(row))
    if not as_json:
        click.echo(f"{len(jobs) - failed} of {len(jobs)} wallets analysed", err=True)
    if failed:
        sys.exit(1)


def _row(address: str, job_id: str, job: dict[str, Any] | None) -> dict[str, Any]:
    if job is None:
        return {"address": address, "job": job_id, "status": "timeout"}
    row: dict[str, Any] = {"address": address, "job": job_id, "status": job["status"].lower()}
    if job["status"] == "FAILED":
        row["error"] = f"[{job.get('errorCode')}] {job.get('error')}"
    w = job.get("wallet") or {}
    row["typology"] = (w.get("typology") or {}).get("code")
    row["cluster"] = (w.get("cluster") or {}).get("id")
    anomaly = w.get("anomaly") or {}
    row["anomaly_score"], row["anomaly_rank"], row["flagged"] = (
        anomaly.get("score"), anomaly.get("rank"), anomaly.get("flagged"))  # fmt: skip
    row["image_url"] = (w.get("profile") or {}).get("imageUrl")
    return row


def _line(row: dict[str, Any]) -> str:
    if row["status"] != "completed":
        return f"{row['address']}  {row['status']}  {row.get('error', '')}".rstrip()
    score = f"{row['anomaly_score']:.3f}" if row.get("anomaly_score") is not None else "-"
    flag = " FLAGGED" if row.get("flagged") else ""
    return (
        f"{row['address']}  {row.get('typology') or '-':9}  cluster {row.get('cluster')}  "
        f"anomaly {score} (rank {row.get('anomaly_rank')}){flag}  {row.get('image_url') or ''}"
    )


@click.group("api")
def api_group() -> None:
    """The GraphQL API's schema."""


@api_group.command("schema")
def schema() -> None:
    """Print the GraphQL schema (SDL), as committed in schema.graphql."""
    from api.schema import schema_sdl

    click.echo(schema_sdl(), nl=False)
