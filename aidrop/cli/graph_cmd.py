"""`aidrop graph ...`: counts, wallet look-ups, export, reset."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import click

from aidrop.cli.common import echo_json, run, with_store


@click.group("graph")
def graph_group() -> None:
    """Inspect and manage the wallet graph."""


@graph_group.command("stats")
@click.option("--json", "as_json", is_flag=True)
def stats(as_json: bool) -> None:
    """Counts: wallets, transfers, contracts, tokens, native value moved; and per chain."""
    from core.chains import chain

    result = run(with_store, lambda store: store.stats())
    if as_json:
        echo_json(result.to_dict())
        return
    counts = result.to_dict()
    chains = counts.pop("chains")
    for key, value in counts.items():
        click.echo(f"{key:>16}  {value:,}")
    for chain_id, per in chains.items():
        click.echo(
            f"chain {chain_id} ({chain(int(chain_id)).name}): "
            + ", ".join(f"{k} {v:,}" for k, v in per.items())
        )


@graph_group.command("wallet")
@click.argument("address")
@click.option("--transfers", "n_transfers", default=10, show_default=True, help="Newest transfers to show.")
def wallet(address: str, n_transfers: int) -> None:
    """A wallet: labels, fan-in/fan-out, top counterparties, newest transfers (JSON)."""

    async def fetch(store):
        from graph.exposure import exposure_of
        from graph.labels import labels_of

        w = await store.wallet(address)
        return {
            "wallet": asdict(w),
            "labels": [lab.to_dict() for lab in (await labels_of(store, [w.address])).get(w.address, [])],
            "exposure": (await exposure_of(store, [w.address])).get(w.address),
            "stats": (await store.wallet_stats(address)).to_dict(),
            "counterparties": [asdict(c) for c in await store.counterparties(address, 10)],
            "transfers": [asdict(t) for t in (await store.transfers(address, first=n_transfers)).transfers],
        }

    echo_json(run(with_store, fetch))


@graph_group.command("activity")
@click.option("--status", "status_only", is_flag=True, help="Only say when the summary was written.")
@click.option("--json", "as_json", is_flag=True)
def activity(status_only: bool, as_json: bool) -> None:
    """Write every wallet's activity summary (marketing's activity filters read it).

    `aidrop score` writes it too; run this after loading new transfers when no scoring follows."""
    from graph.activity import activity_status, refresh_activity

    if status_only:
        result = run(with_store, activity_status)
    else:
        click.echo("reading every transfer and writing the summary ...", err=True)
        result = run(with_store, refresh_activity)
    data = {**asdict(result), "stale": result.stale}
    if as_json:
        echo_json(data)
        return
    for key, value in data.items():
        click.echo(f"{key:>13}  {value}")


@graph_group.command("reset")
@click.confirmation_option(prompt="Delete the whole wallet graph?")
def reset() -> None:
    """Delete every node and relationship."""
    run(with_store, lambda store: store.clear())
    click.echo("graph deleted")


@graph_group.group("export")
def export() -> None:
    """Export the graph."""


@export.command("neo4j-admin")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
def export_neo4j_admin(out_dir: Path) -> None:
    """Node and relationship CSVs with `neo4j-admin database import` headers."""
    from graph.export import export_neo4j_admin as export_fn

    summary = run(with_store, lambda store: export_fn(store, out_dir))
    echo_json(summary)
