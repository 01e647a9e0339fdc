"""`aidrop synth`: a synthetic chain population with known truth, as ethereum-etl CSVs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from aidrop.cli.common import echo_json


@click.command("synth")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the CSVs into (created if needed).",
)
@click.option("--wallets", default=10_000, show_default=True, type=click.IntRange(min=10))
@click.option("--days", default=30, show_default=True, type=click.IntRange(min=1))
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0))
@click.option(
    "--laundering-share",
    default=0.02,
    show_default=True,
    type=click.FloatRange(0.0, 0.5),
    help="Share of wallets drawn into laundering patterns.",
)
@click.option(
    "--sybil-share",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0.0, 0.5),
    help="Share of wallets drawn into airdrop farms (plus honest look-alikes; labels.csv sybil_cluster).",
)
@click.option("--campaign", is_flag=True, help="Simulate a campaign A/B test (writes campaign.csv).")
@click.option(
    "--baseline",
    default=0.05,
    show_default=True,
    type=click.FloatRange(0.0, 1.0),
    help="Campaign: conversion rate of the control group.",
)
@click.option(
    "--uplift",
    default=0.05,
    show_default=True,
    type=click.FloatRange(0.0, 1.0),
    help="Campaign: added to the baseline for the treatment group.",
)
@click.option(
    "--start",
    "start_date",
    default="2024-01-01",
    show_default=True,
    type=click.DateTime(["%Y-%m-%d"]),
    help="First day of the data (UTC).",
)
@click.option(
    "--lifecycle",
    is_flag=True,
    help="Wallets onboard, fade, fall dormant, wake up and adopt categories (writes lifecycle.csv).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def synth(out: Path, wallets: int, days: int, seed: int, laundering_share: float, sybil_share: float,
          campaign: bool, baseline: float, uplift: float, start_date: datetime, lifecycle: bool,
          as_json: bool) -> None:  # fmt: skip
    """Generate transactions, token transfers, receipts, contracts, tokens and labels.

    The same arguments give byte-identical files; load them with `aidrop ingest etl OUT`.
    """
    from ingest.synth import CampaignParams, LifecycleParams, generate

    if baseline + uplift > 1.0:
        raise click.BadParameter("baseline + uplift must be at most 1", param_hint="--uplift")
    start = int(start_date.replace(tzinfo=UTC).timestamp())
    try:
        summary = generate(out, wallets, days, seed, laundering_share, campaign, start=start,
                           campaign_params=CampaignParams(baseline=baseline, uplift=uplift),
                           sybil_share=sybil_share,
                           lifecycle=LifecycleParams() if lifecycle else None)  # fmt: skip
    except (ValueError, FileExistsError) as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        echo_json(summary.to_dict())
        return
    click.echo(
        f"wrote {out}: {summary.transactions:,} transactions, {summary.token_transfers:,} token "
        f"transfers ({summary.transfers:,} transfers), {summary.wallets:,} wallets, "
        f"{summary.contracts:,} contracts, {summary.tokens:,} tokens in {summary.seconds:.1f} s"
    )
    patterns = ", ".join(f"{k} {v}" for k, v in sorted(summary.patterns.items()))
    click.echo(f"laundering: {summary.launderers:,} wallets in {sum(summary.patterns.values())} patterns"
               + (f" ({patterns})" if patterns else ""))  # fmt: skip
    if sybil_share:
        click.echo(f"farms: {summary.farm_wallets:,} wallets in {summary.farms} farms "
                   "(labels.csv sybil_cluster)")  # fmt: skip
    if campaign:
        click.echo(f"campaign: {summary.campaign_targets:,} targets, conversions "
                   + ", ".join(f"{g} {n:,}" for g, n in summary.conversions.items()))  # fmt: skip
