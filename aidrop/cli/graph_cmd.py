"""`aidrop graph ...`: counts, wallet look-ups, export, reset."""

from __future__ import annotations

import json
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
@click.option("--json", "as_json", is_flag=True, help="Everything as JSON (for programs).")
def wallet(address: str, n_transfers: int, as_json: bool) -> None:
    """A wallet: labels, fan-in/fan-out, top counterparties, newest transfers."""

    async def fetch(store):
        from graph.exposure import exposure_of
        from graph.labels import labels_of
        from graph.model import NATIVE_TOKEN

        w = await store.wallet(address)
        transfers = (await store.transfers(address, first=n_transfers)).transfers
        tokens = {}
        for token in {t.token for t in transfers} - {NATIVE_TOKEN}:
            try:
                tokens[token] = await store.wallet(token)
            except LookupError:
                pass
        return {
            "wallet": asdict(w),
            "labels": [lab.to_dict() for lab in (await labels_of(store, [w.address])).get(w.address, [])],
            "exposure": (await exposure_of(store, [w.address])).get(w.address),
            "stats": (await store.wallet_stats(address)).to_dict(),
            "counterparties": [asdict(c) for c in await store.counterparties(address, 10)],
            "transfers": [asdict(t) for t in transfers],
        }, {k: v.symbol for k, v in tokens.items() if v.symbol}

    found, symbols = run(with_store, fetch)
    if as_json:
        echo_json(found)
        return
    click.echo(describe_wallet(found, symbols))


def _when(ts: int | None) -> str:
    import time

    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(ts)) if ts is not None else "-"


def _amount(value: float, token: str, symbols: dict[str, str]) -> str:
    from graph.model import NATIVE_TOKEN

    unit = "ETH" if token == NATIVE_TOKEN else symbols.get(token) or f"{token[:8]}…"
    return f"{value:,.4f} {unit}"


def describe_wallet(found: dict, symbols: dict[str, str]) -> str:
    """`aidrop graph wallet` for a person: dates, amounts with their symbols, the analysis."""
    from graph.api_reads import decode_json

    w, st = found["wallet"], found["stats"]
    me = w["address"]
    kind = " ".join(x for x in (*w["labels"], w.get("category"), w.get("symbol"), w.get("name")) if x)
    lines = [me + (f"  ({kind})" if kind else "")]
    props = w.get("props") or {}
    if props.get("typology") or props.get("anomaly_score") is not None:
        score = props.get("anomaly_score")
        parts = [f"typology {props.get('typology') or '-'}", f"cluster {props.get('cluster', '-')}"]
        if score is not None:
            parts.append(
                f"anomaly {float(score):.3f}" + (" (flagged)" if props.get("anomaly_flagged") else "")
            )
        if props.get("analyzed_at"):
            parts.append(f"analysed {_when(int(props['analyzed_at']))}")
        lines.append("   ".join(parts))
        profile = decode_json(props.get("cluster_profile"))
        if isinstance(profile, dict) and profile.get("summary"):
            lines.append(f"cluster profile: {profile['summary']}")
    for lab in found.get("labels") or ():
        what = " ".join(str(lab.get(k)) for k in ("label", "name", "category") if lab.get(k))
        lines.append(
            f"attribution: {what or lab}" + (f" (source {lab['source']})" if lab.get("source") else "")
        )
    if found.get("exposure"):
        lines.append(f"exposure: {json.dumps(found['exposure'], default=str)[:300]}")
    for side, deg, tx, cps, value, first, last in (
        ("in ", "in_degree", "in_tx", "in_counterparties", "in_value", "first_in", "last_in"),
        ("out", "out_degree", "out_tx", "out_counterparties", "out_value", "first_out", "last_out"),
    ):
        lines.append(f"{side}: {st[deg]:,} transfers in {st[tx]:,} transactions with {st[cps]:,} wallets, "
                     f"{st[value]:,.4f} ETH, {_when(st[first])} .. {_when(st[last])} UTC")  # fmt: skip
    if found["counterparties"]:
        lines.append("top counterparties (native value):")
        for c in found["counterparties"]:
            lines.append(f"  {c['address']}  sent {c['sent']:,.4f} ETH  received {c['received']:,.4f} ETH  "
                         f"{c['transfers']:,} transfers")  # fmt: skip
    if found["transfers"]:
        lines.append("newest transfers (UTC):")
        for t in found["transfers"]:
            out = t["from_address"] == me
            other = t["to_address"] if out else t["from_address"]
            failed = "  FAILED" if not t.get("status", 1) else ""
            amount = _amount(t["value"], t["token"], symbols)
            lines.append(f"  {_when(t['ts'])}  {'out' if out else 'in '}  {amount:>24}"
                         f"  {'to  ' if out else 'from'} {other}  tx {t['hash'][:12]}…{failed}")  # fmt: skip
    return "\n".join(lines)


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
