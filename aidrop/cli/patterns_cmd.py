"""`aidrop patterns list | show`: the laundering patterns found by the last scoring run, the
evidence behind the label-free anomaly score (the work is in graph/patterns.py and ml/laundering)."""

from __future__ import annotations

import time
from typing import Any

import click

from aidrop.cli.common import echo_json, run, with_store

TYPES = ("fan_in", "fan_out", "cycle", "scatter_gather", "gather_scatter", "peel", "bipartite")


def _when(ts: int | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(int(ts))) if ts is not None else "-"


def _line(p: dict[str, Any]) -> str:
    days = (int(p["end_ts"]) - int(p["start_ts"])) / 86_400
    return (
        f"{p['id']:<30} {p['type']:<15} score {float(p['score']):7.1f}  {len(p['members']):>3} wallets  "
        f"{len(p['transfers']):>3} transfers  {float(p['value']):,.4g} {p['token']}  "
        f"{_when(p['start_ts'])} +{days:.1f}d"
    )


@click.group("patterns")
def patterns_group() -> None:
    """Laundering patterns found in the graph (written by `aidrop score`)."""


@patterns_group.command("list")
@click.option("--type", "kind", type=click.Choice(TYPES), help="Only this typology.")
@click.option("--first", default=20, show_default=True, type=click.IntRange(1, 500))
@click.option("--skip", default=0, show_default=True, type=click.IntRange(min=0))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_patterns(kind: str | None, first: int, skip: int, as_json: bool) -> None:
    """The strongest patterns first."""
    from graph.patterns import list_patterns as read

    page, total = run(with_store, lambda store: read(store, kind, first, skip))
    if as_json:
        echo_json({"total": total, "patterns": page})
        return
    if not page:
        click.echo("no patterns: run `aidrop score` first (or none was found)")
        return
    for p in page:
        click.echo(_line(p))
    click.echo(f"{skip + len(page)} of {total}")


@patterns_group.command("show")
@click.argument("pattern_id")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def show_pattern(pattern_id: str, as_json: bool) -> None:
    """One pattern: its wallets with their roles, and its transfers."""
    from graph.patterns import pattern

    p = run(with_store, lambda store: pattern(store, pattern_id))
    if as_json:
        echo_json(p)
        return
    click.echo(_line(p))
    for m in p["members"]:
        click.echo(f"  {m['role']:<8} {m['address']}")
    for h in p["transfers"]:
        click.echo(f"  transfer {h}")
