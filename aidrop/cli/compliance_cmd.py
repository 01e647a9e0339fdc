"""`aidrop labels`, `aidrop exposure`, `aidrop watch` and `aidrop alerts`: compliance monitoring
(attribution labels, exposure to risky categories, watchlists and their alerts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from aidrop.cli.common import echo_json, run, with_store


def _say(message: str) -> None:
    click.echo(message, err=True)


# ---- labels -----------------------------------------------------------------------------------------
@click.group("labels")
def labels_group() -> None:
    """Attribution labels: who a wallet is (sanctioned, mixer, exchange, ...), by whom, how sure."""


@labels_group.command("import")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--category", help="Category of a plain address list (sanctioned, mixer, scam, hack, ...).")
@click.option("--source", help="Who published a plain list (e.g. ofac); CSV rows may name their own.")
@click.option("--label", "label_text", help="Label text of a plain list's addresses (default: the source).")
@click.option(
    "--confidence",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0, 100),
    help="Confidence of a plain list's labels, 0..1 (or a percentage).",
)
@click.option("--unverified", is_flag=True, help="Mark the labels unverified (e.g. written from memory).")
@click.option("--replace", is_flag=True, help="Remove each source's earlier labels first.")
@click.option("--bundled", is_flag=True, help="Also the bundled risk labels (unverified, from memory).")
@click.option("--json", "as_json", is_flag=True)
def labels_import(
    files: tuple[Path, ...],
    category: str | None,
    source: str | None,
    label_text: str | None,
    confidence: float,
    unverified: bool,
    replace: bool,
    bundled: bool,
    as_json: bool,
) -> None:
    """Address lists into labels: CSV (address,label,category[,source,confidence]), a plain list
    (one address per line, with --category and --source), GraphSense TagPack YAML, or the
    contract label YAML of `aidrop ingest labels`."""
    from ingest.labels.attribution import RISK_BUNDLE, import_labels

    paths = list(files) + ([RISK_BUNDLE] if bundled else [])
    if not paths:
        raise click.UsageError("give FILE(s) or --bundled")
    opts = {
        "category": category,
        "source": source,
        "label": label_text,
        "confidence": confidence / 100 if confidence > 1 else confidence,
        "verified": not unverified,
    }
    summary = run(with_store, lambda store: import_labels(store, paths, replace=replace, **opts))
    for error in summary["errors"]:
        _say(f"rejected {error}")
    if as_json:
        echo_json(summary)
        return
    cats = ", ".join(f"{k} {v:,}" for k, v in summary["categories"].items()) or "none"
    click.echo(
        f"labels {summary['labels']:,} on {summary['wallets']:,} wallets ({cats}); "
        f"rejected {summary['error_count']:,}; other chains skipped {summary['skipped_other_chains']:,}"
    )


@labels_group.command("list")
@click.option("--json", "as_json", is_flag=True)
def labels_list(as_json: bool) -> None:
    """Labels in the graph per category and source."""
    from graph.labels import label_counts

    rows = run(with_store, label_counts)
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        click.echo(f"{r['category']:>12}  {r['labels']:>8,}  {r['source']}")


@labels_group.command("derive")
def labels_derive() -> None:
    """aidrop's own findings as labels (source aidrop): wallets flagged by the anomaly model as
    `laundering`, sybil cluster members as `sybil`; run after `aidrop score`."""
    from graph.labels import derive_labels

    counts = run(with_store, derive_labels)
    click.echo("derived labels: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))


@labels_group.command("remove")
@click.option("--source", required=True, help="Remove every label of this source.")
def labels_remove(source: str) -> None:
    """Remove a source's labels (a list withdrawn)."""
    from graph.labels import delete_source

    count = run(with_store, lambda store: delete_source(store, source))
    click.echo(f"removed the labels of {source} from {count:,} wallets")


# ---- exposure ---------------------------------------------------------------------------------------
@click.command("exposure")
@click.option(
    "--hops",
    default=3,
    show_default=True,
    type=click.IntRange(1, 6),
    help="Intermediaries traced through, plus one.",
)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write address,direct_in,indirect_in,direct_out,indirect_out,top_category (CSV).",
)
@click.option("--all", "every", is_flag=True, help="In --out, every wallet, not only exposed ones.")
@click.option("--no-write", is_flag=True, help="Compute only; leave the graph as it is.")
@click.option("--json", "as_json", is_flag=True)
def exposure(hops: int, out: Path | None, every: bool, no_write: bool, as_json: bool) -> None:
    """Every wallet's direct and indirect exposure to risky categories (share of value received
    and sent), written onto the wallets; needs labels (`aidrop labels import`)."""
    from ml.exposure import refresh_exposure

    result = run(with_store, lambda store: refresh_exposure(store, hops, write=not no_write, progress=_say))
    frame = result.frame if every else result.frame[result.frame["risk"] > 0]
    if out:
        cols = ["address", "direct_in", "indirect_in", "direct_out", "indirect_out", "top_category"]
        frame.sort_values("address")[cols].to_csv(out, index=False)
    summary = {
        "wallets": result.wallets,
        "transfers": result.transfers,
        "exposed": result.exposed,
        "risky": result.risky,
        "seconds": result.seconds,
        "out": str(out) if out else None,
    }
    if as_json:
        echo_json(summary)
        return
    click.echo(
        f"exposure of {result.wallets:,} wallets over {result.transfers:,} transfers: "
        f"{result.risky:,} risky, {result.exposed:,} exposed or risky, in {result.seconds['total']:.1f} s"
        + (f"; written to {out}" if out else "")
    )


# ---- watchlists and alerts ---------------------------------------------------------------------------
@click.group("watch")
def watch_group() -> None:
    """Watchlists: wallets whose transfers and changes raise alerts as ingestion goes."""


@watch_group.command("add")
@click.argument("addresses", nargs=-1, required=True)
@click.option("--rule", "rules", multiple=True,
              help="any (default), value>X, exposure>S, exposure:CATEGORY>S, labelled[:CATEGORY], anomaly, "
              "typology, sybil, laundering; repeat for several.")  # fmt: skip
@click.option("--webhook", help="POST each alert here (signed with AIDROP_WEBHOOK_SECRET).")
@click.option("--json", "as_json", is_flag=True)
def watch_add(addresses: tuple[str, ...], rules: tuple[str, ...], webhook: str | None, as_json: bool) -> None:
    """Watch ADDRESS... with the rules (adding a watch again replaces its rules)."""
    from graph.watch import add_watches
    from ingest.alerts import parse_rules

    checked = parse_rules(list(rules))
    found = run(with_store, lambda store: add_watches(store, list(addresses), checked, webhook))
    if as_json:
        echo_json([w.to_dict() for w in found])
        return
    click.echo(
        f"watching {len(found):,} wallets: {', '.join(checked)}" + (f" -> {webhook}" if webhook else "")
    )


@watch_group.command("list")
@click.option("--json", "as_json", is_flag=True)
def watch_list(as_json: bool) -> None:
    """The watches."""
    from graph.watch import watches

    found = run(with_store, watches)
    if as_json:
        echo_json([w.to_dict() for w in found])
        return
    for w in found:
        click.echo(f"{w.address}  {', '.join(w.rules)}" + (f"  -> {w.webhook}" if w.webhook else ""))


@watch_group.command("remove")
@click.argument("addresses", nargs=-1, required=True)
def watch_remove(addresses: tuple[str, ...]) -> None:
    """Stop watching ADDRESS... (every watch on it)."""
    from graph.watch import remove_watches

    count = run(with_store, lambda store: remove_watches(store, list(addresses)))
    click.echo(f"removed {count:,} watches")


@click.group("alerts")
def alerts_group() -> None:
    """Alerts raised by the watches: history and delivery."""


@alerts_group.command("list")
@click.option("--status", type=click.Choice(["new", "pending", "delivered", "failed", "acknowledged"]))
@click.option("--address", help="Alerts of one wallet.")
@click.option("--first", default=50, show_default=True, type=click.IntRange(1, 1000))
@click.option("--json", "as_json", is_flag=True)
def alerts_list(status: str | None, address: str | None, first: int, as_json: bool) -> None:
    """Alerts newest first."""
    from dataclasses import asdict

    from graph.watch import alert_page

    found = run(with_store, lambda store: alert_page(store, status, address, first))
    if as_json:
        echo_json([asdict(a) for a in found])
        return
    for a in found:
        click.echo(f"{a.created_at:.0f}  {a.status:>12}  {a.address}  {a.rule}  {a.id}")


@alerts_group.command("deliver")
@click.option("--timeout", default=60.0, show_default=True, help="Seconds to keep trying.")
def alerts_deliver(timeout: float) -> None:
    """Send the alerts still pending to their webhooks (ingestion does this as it goes)."""
    from core.settings import get_settings
    from ingest.alerts import Deliverer

    async def go(store: Any) -> tuple[int, int, int]:
        deliverer = await Deliverer(store, get_settings().webhook_secret).start()
        try:
            left = await deliverer.drain(timeout)
        finally:
            await deliverer.close()
        return deliverer.delivered, deliverer.failed, left

    delivered, failed, left = run(with_store, go)
    click.echo(f"delivered {delivered:,}; gave up on {failed:,}; still pending {left:,}")


def register(main: Any) -> None:
    for command in (labels_group, exposure, watch_group, alerts_group):
        main.add_command(command)
