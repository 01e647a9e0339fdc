"""`aidrop sybil detect | list | show ADDRESS | export --out FILE | appeals`: sybil clusters
(the work is in ml/sybil and graph/sybil.py)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import click

from aidrop.cli.common import echo_json, run, with_store

_json = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
KIND_WORDS = {
    "funder": "were first funded by the same wallet (directly, or at the top of a line of wallets "
    "funding one another)",
    "collector": "sent funds on to the same wallet",
    "timing": "called the same contracts within the same hour",
    "amount": "moved identical amounts",
    "counterparty": "dealt with the same rare contracts",
    "script": "called the same contracts on the same days, far more often than chance",
    "cohort": "acted on the same days as a large share of the wallets sharing their funder or collector, "
    "more often than their own activity explains",
}


@click.group("sybil")
def sybil_group() -> None:
    """Sybil clusters: wallets one operator runs, with the evidence and appeals."""


@sybil_group.command("detect")
@click.option("--quiet", is_flag=True, help="No progress lines.")
@_json
def detect(quiet: bool, as_json: bool) -> None:
    """Find sybil clusters in the graph and store them (replacing the previous detection)."""
    from ml.sybil.pipeline import detect as run_detect

    def say(step: str) -> None:
        if not quiet:
            click.echo(f"sybil: {step}", err=True)

    report, _ = run(with_store, lambda store: run_detect(store, progress=say))
    if as_json:
        echo_json(report.to_dict())
        return
    seconds = report.seconds.get("total", 0)
    click.echo(f"{report.clusters:,} sybil clusters, {report.members:,} wallets "
               f"(largest {report.largest:,}), {report.links:,} evidence links from {report.wallets:,} "
               f"wallets and {report.transfers:,} transfers in {seconds:.1f} s")  # fmt: skip


@sybil_group.command("list")
@click.option("--min-size", default=3, show_default=True, type=click.IntRange(min=2))
@click.option("--first", default=50, show_default=True, type=click.IntRange(1, 1000))
@_json
def list_clusters(min_size: int, first: int, as_json: bool) -> None:
    """The stored clusters, biggest first."""
    from graph import sybil as gs

    rows = run(with_store, lambda store: gs.clusters(store, min_size, first))
    if as_json:
        echo_json([r.to_dict() for r in rows])
        return
    if not rows:
        click.echo("no sybil clusters (run `aidrop sybil detect`)")
    for r in rows:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(r.evidence_counts.items()))
        click.echo(f"{r.id}  {r.size:>5} wallets  score {r.score:.2f}  links: {counts}")


@sybil_group.command("show")
@click.argument("address")
@click.option("--first", default=20, show_default=True, type=click.IntRange(1, 1000), help="Links to show.")
@_json
def show(address: str, first: int, as_json: bool) -> None:
    """A wallet's cluster and the evidence against it, in words."""
    from graph import sybil as gs

    async def read(store: Any) -> dict[str, Any]:
        found = await gs.wallet_cluster(store, address)
        if found is None:
            return {"address": address.lower(), "cluster": None}
        links = await gs.links(store, found.id, address, first)
        appeals = await gs.appeals(store, address)
        evidence = [x.to_dict() for x in links]
        return {"address": address.lower(), "cluster": found.to_dict(), "evidence": evidence,
                "appeals": [a.to_dict() for a in appeals]}  # fmt: skip

    data = run(with_store, read)
    if as_json:
        echo_json(data)
        return
    if data["cluster"] is None:
        click.echo(f"{data['address']} is in no sybil cluster")
        return
    c = data["cluster"]
    click.echo(f"{data['address']} is in {c['id']}: {c['size']} wallets, score {c['score']:.2f}")
    for link in data["evidence"]:
        other = link["b"] if link["a"] == data["address"] else link["a"]
        click.echo(f"- with {other}: {KIND_WORDS.get(link['kind'], link['kind'])}")
        for tx in link["transactions"]:
            click.echo(f"    {tx}")
    for a in data["appeals"]:
        click.echo(f"appeal {a['id']} ({a['status']}): {a['reason']}")


@sybil_group.command("export")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@_json
def export(out: Path, as_json: bool) -> None:
    """Every clustered wallet as CSV: address,cluster,size,score,evidence."""
    from graph import sybil as gs

    rows = run(with_store, gs.export_rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as fh:
        w = csv.DictWriter(fh, ["address", "cluster", "size", "score", "evidence"], lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    summary = {"out": str(out), "rows": len(rows), "clusters": len({r["cluster"] for r in rows})}
    if as_json:
        echo_json(summary)
        return
    click.echo(f"wrote {out}: {summary['rows']:,} wallets in {summary['clusters']:,} clusters")


@sybil_group.command("appeals")
@click.option("--address", default=None, help="Only this wallet's appeals.")
@click.option("--first", default=100, show_default=True, type=click.IntRange(1, 1000))
@_json
def appeals(address: str | None, first: int, as_json: bool) -> None:
    """Appeals against clusters, newest first, with their review status."""
    from graph import sybil as gs

    rows = run(with_store, lambda store: gs.appeals(store, address, first))
    if as_json:
        echo_json([a.to_dict() for a in rows])
        return
    if not rows:
        click.echo("no appeals")
    for a in rows:
        click.echo(f"{a.id}  {a.address}  {a.cluster}  {a.status}: {a.reason}")
