"""`aidrop demo`: the main job on the embedded default, from nothing to a wallet graph to explore."""

from __future__ import annotations

import sys

import click

from aidrop.cli.common import run, with_store
from aidrop.settings import get_settings


@click.command("demo")
@click.option("--wallets", default=5_000, show_default=True, type=click.IntRange(min=10))
@click.option("--days", default=30, show_default=True, type=click.IntRange(min=1))
@click.option("--seed", default=7, show_default=True, type=click.IntRange(min=0))
def demo(wallets: int, days: int, seed: int) -> None:
    """Start the embedded FalkorDB, generate a labelled synthetic chain, load it, show the graph."""
    from ingest.load import ingest_etl
    from ingest.synth import generate

    settings = get_settings()
    folder = settings.data_dir / "demo" / f"w{wallets}-d{days}-s{seed}"
    if not (folder / "transactions.csv").exists():
        click.echo(f"generating {wallets:,} wallets over {days} days into {folder} ...")
        generate(folder, wallets, days, seed, campaign=True, progress=sys.stderr.isatty())
    click.echo(f"loading {folder} into the wallet graph ...")

    async def load(store):  # type: ignore[no-untyped-def]
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
    click.echo(
        "\nnext:\n"
        "  aidrop graph stats\n"
        f"  aidrop graph wallet ADDRESS        (addresses and their personas: {folder}/labels.csv)\n"
        "  aidrop graph export neo4j-admin ./export   (then docker compose up neo4j: Browser on :7474)\n"
        "  aidrop down                          (stops the embedded FalkorDB; data stays in "
        f"{settings.data_dir})"
    )
