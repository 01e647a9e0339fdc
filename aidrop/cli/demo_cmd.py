"""`aidrop demo`: the main job on the embedded default, from nothing to a wallet graph served over
GraphQL: embedded FalkorDB, a labelled synthetic chain, ingest, train and score (ml/), then the API
and a worker until Ctrl-C."""

from __future__ import annotations

import csv
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import click

from aidrop.cli.common import run, with_store
from core.settings import get_settings

EXAMPLE = """{{
  wallet(address: "{address}") {{
    address
    stats {{ fanIn fanOut inValue outValue firstSeen lastSeen }}
    typology {{ code axes {{ axis value probability }} }}
    cluster {{ id profile }}
    anomaly {{ score rank flagged explanation {{ factor contribution }} }}
    profile {{ imageUrl metadataUrl }}
    counterparties(first: 3) {{ address transfers }}
  }}
  typologies {{ code wallets share }}
}}"""


def _example_address(folder: Path) -> str | None:
    """A wallet the synthetic chain gave a persona (not an exchange or a contract)."""
    labels = folder / "labels.csv"
    if not labels.exists():
        return None
    with labels.open() as fh:
        for row in csv.DictReader(fh):
            if row.get("segment") == "power" and not row.get("laundering_id"):
                return row["address"]
    return None


async def _train_and_score(store):
    from core.settings import get_settings
    from ml.analyzer import AnalysisUnavailable, make_analyzer

    try:
        analyzer = make_analyzer(get_settings())
    except AnalysisUnavailable as exc:
        return f"skipped: {exc}"
    return await analyzer.train_and_score(store)


def _wait_ready(url: str, procs: list[subprocess.Popen], timeout: float = 60) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                raise click.ClickException(f"{proc.args!r} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise click.ClickException(f"the API at {url} did not become ready in {timeout:.0f} s")


@click.command("demo")
@click.option("--wallets", default=5_000, show_default=True, type=click.IntRange(min=10))
@click.option("--days", default=30, show_default=True, type=click.IntRange(min=1))
@click.option("--seed", default=7, show_default=True, type=click.IntRange(min=0))
@click.option(
    "--serve/--no-serve", default=True, show_default=True, help="Run the API and a worker until Ctrl-C."
)
def demo(wallets: int, days: int, seed: int, serve: bool) -> None:
    """Start the embedded FalkorDB, generate a labelled synthetic chain, load it, train and score,
    and serve it over GraphQL with a worker (GraphiQL in the browser)."""
    from ingest.load import ingest_etl
    from ingest.synth import generate

    settings = get_settings()
    folder = settings.data_dir / "demo" / f"w{wallets}-d{days}-s{seed}"
    if not (folder / "transactions.csv").exists():
        click.echo(f"generating {wallets:,} wallets over {days} days into {folder} ...")
        generate(folder, wallets, days, seed, campaign=True, progress=sys.stderr.isatty())
    click.echo(f"loading {folder} into the wallet graph ...")

    async def load(store):
        report = await ingest_etl(store, [folder], progress=sys.stderr.isatty())
        return report, await store.stats()

    report, stats = run(with_store, load)
    click.echo(
        f"ingested: {report.transfers_written:,} new transfers ({report.mode}), "
        f"{report.rows_rejected:,} rows rejected"
    )
    click.echo(
        f"graph: {stats.wallets:,} wallets, {stats.transfers:,} transfers "
        f"({stats.token_transfers:,} token), {stats.contracts:,} contracts, {stats.tokens:,} tokens, "
        f"{stats.total_value:,.2f} ETH moved"
    )
    click.echo("training and scoring (ml/) ...")
    scored = run(with_store, _train_and_score)
    click.echo(f"  {scored}")
    if not serve:
        exe = _command()
        key = settings.api_keys or secrets.token_urlsafe(18)
        click.echo(
            "\nnext (the API with a key, so that mutations work, and a worker to run the jobs):\n"
            f"  export AIDROP_API_KEYS={key}\n"
            f"  {exe} serve & {exe} worker &   (GraphQL on {settings.public_base_url}/graphql; "
            f"mutations need the header {settings.api_key_header}: {key.split(',')[0]})\n"
            f"  {exe} graph wallet ADDRESS     (addresses and their personas: {folder}/labels.csv)\n"
            f"  {exe} down                     (stops the embedded FalkorDB; data in {settings.data_dir})\n"
            f"or all of it at once: {exe} demo"
        )
        return
    _serve(settings, folder)


def _command() -> str:
    """How to call aidrop from here: `aidrop` when it is on PATH, else its path."""
    import shutil

    exe = Path(sys.executable).with_name("aidrop")
    if shutil.which("aidrop") == str(exe):
        return "aidrop"
    try:
        return str(exe.relative_to(Path.cwd()))
    except ValueError:
        return str(exe)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _serve(settings, folder: Path) -> None:
    key = next(iter(sorted(settings.api_key_set)), None) or secrets.token_urlsafe(18)
    env = {**os.environ, "AIDROP_API_KEYS": settings.api_keys or key}
    exe = str(Path(sys.executable).with_name("aidrop"))
    logs = settings.data_dir / "demo"
    procs = [
        subprocess.Popen([exe, "serve", "--log-level", "warning"], env=env,
                         stdout=(logs / "api.log").open("ab"), stderr=subprocess.STDOUT),
        subprocess.Popen([exe, "worker"], env=env, stdout=(logs / "worker.log").open("ab"),
                         stderr=subprocess.STDOUT),
    ]  # fmt: skip
    url = settings.public_base_url
    try:
        _wait_ready(url, procs)
        address = _example_address(folder) or "0x..."
        if address != "0x...":  # its analysis (profile image included) is ready by the time you look
            from aidrop.cli.api_cmd import ApiClient

            try:
                ApiClient(url + "/graphql", key)(
                    "mutation($a: String!) { analyzeWallet(address: $a) { id } }", {"a": address}
                )
            except click.ClickException as exc:
                click.echo(f"(could not queue the example's analysis: {exc.message})", err=True)
        click.echo(
            f"\nWeb app:   {url}/app/   (scripts/demo builds it with node; mutations need the key below)\n"
            f"GraphiQL:  {url}/graphql   (works offline; logs in {logs}/api.log and worker.log)\n"
            f"API key:   {key}   (header {settings.api_key_header}; mutations need it)\n\n"
            f"an example query (paste it into GraphiQL):\n\n{EXAMPLE.format(address=address)}\n\n"
            "analyse a wallet again (a job; poll job(id) or subscribe to jobUpdates):\n"
            f'  mutation {{ analyzeWallet(address: "{address}", force: true) {{ id status }} }}\n'
            f"  or: AIDROP_API_KEY={key} aidrop analyze {address}\n\n"
            "Ctrl-C stops the API and the worker (the embedded FalkorDB keeps running: aidrop down)."
        )
        for sig in (signal.SIGINT, signal.SIGTERM):  # also when started in the background
            signal.signal(sig, _interrupt)
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        raise click.ClickException("the API or the worker stopped; see their logs in " + str(logs))
    except KeyboardInterrupt:
        click.echo("\nstopping ...")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
