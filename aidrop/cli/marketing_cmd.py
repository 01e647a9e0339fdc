"""`aidrop target` and `aidrop campaign ...`: segments, campaigns, snapshots, metrics, reports
(docs/marketing.md). The work is in graph/marketing.py and ml/marketing/."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from aidrop.cli.common import echo_json, run, with_store


def _addresses(path: str | None) -> tuple[str, ...]:
    """One address a line, or a CSV with an `address` column."""
    if not path:
        return ()
    lines = [x.strip() for x in Path(path).read_text().splitlines() if x.strip()]
    if lines and "address" in lines[0].split(","):
        col = lines[0].split(",").index("address")
        lines = [x.split(",")[col] for x in lines[1:]]
    return tuple(lines)


def _filter(typology, cluster, min_anomaly, max_anomaly, active_since, min_volume, category, addresses,
            include_flagged, as_of, include_sybil=False, min_churn_risk=None,
            min_propensity=()):  # fmt: skip
    from graph.marketing import SegmentFilter
    from ml.marketing.segments import parse_time

    now = parse_time(as_of) if as_of else int(time.time())
    return SegmentFilter(
        typologies=tuple(typology),
        clusters=tuple(cluster),
        min_anomaly=min_anomaly,
        max_anomaly=max_anomaly,
        active_since=parse_time(active_since, now),
        min_volume=min_volume,
        categories=tuple(category),
        addresses=_addresses(addresses),
        include_flagged=include_flagged,
        include_sybil=include_sybil,
        min_churn_risk=min_churn_risk,
        min_propensity=_propensity_bounds(min_propensity),
    ), now


def _propensity_bounds(values: tuple[str, ...]) -> tuple[tuple[str, float], ...]:
    """CATEGORY=P (repeatable) -> pairs."""
    out = []
    for text in values:
        category, _, value = text.partition("=")
        try:
            out.append((category.strip(), float(value)))
        except ValueError as exc:
            hint = "--min-propensity"
            raise click.BadParameter(f"{text!r}: CATEGORY=P like DeFi=0.3", param_hint=hint) from exc
    return tuple(out)


def filter_options(fn):
    options = [
        click.option(
            "--typology", multiple=True, help="Typology code or pattern, '*' for any axis: D-*-A-*."
        ),
        click.option("--cluster", multiple=True, type=int, help="Cluster id (repeat for several)."),
        click.option("--min-anomaly", type=float, help="Anomaly score at least this."),
        click.option("--max-anomaly", type=float, help="Anomaly score at most this."),
        click.option(
            "--active-since", help="A transfer at or after: ISO date, unix time, or 30d back from --as-of."
        ),
        click.option(
            "--min-volume", type=float, help="Native value sent + received (in the activity window)."
        ),
        click.option(
            "--category", multiple=True, help="Dealt with a contract of this category (DeFi, NFT, ...)."
        ),
        click.option("--addresses", type=click.Path(exists=True, dir_okay=False), help="Only these (file)."),
        click.option("--include-flagged", is_flag=True, help="Keep wallets flagged by the anomaly model."),
        click.option("--include-sybil", is_flag=True, help="Keep members of sybil clusters."),
        click.option("--min-churn-risk", type=float, help="Dormancy risk at least this (`aidrop score`)."),
        click.option("--min-propensity", multiple=True, help="First-use propensity: DeFi=0.3 (repeatable)."),
        click.option("--as-of", help="Reference time for relative times (default now)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


@click.command("target")
@click.argument("segment")
@filter_options
@click.option("--out", type=click.Path(dir_okay=False), help="Write the wallets: .json, else CSV.")
@click.option("--save", "save_as", help="Save as a segment (node) under this name.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def target(segment: str, typology, cluster, min_anomaly, max_anomaly, active_since, min_volume, category,
           addresses, include_flagged, include_sybil, min_churn_risk, min_propensity, as_of, out, save_as,
           as_json) -> None:  # fmt: skip
    """The wallets of SEGMENT: a predefined one (defi-holders, nft-enthusiasts, community-users,
    aggressive-traders, all) narrowed by the filters, or a saved segment's id."""
    from ml.marketing import segments as ms

    extra, now = _filter(typology, cluster, min_anomaly, max_anomaly, active_since, min_volume, category,
                         addresses, include_flagged, as_of, include_sybil, min_churn_risk,
                         min_propensity)  # fmt: skip

    async def go(store):
        from graph.activity import activity_status

        nonlocal extra, now
        if ms.is_relative(active_since) and not as_of:
            last = (await activity_status(store)).last_ts
            if last is not None and extra.active_since is not None and last < extra.active_since:
                # nothing in the window counted back from today: a graph of past data (the demo's
                # chain, an old export) is read as of its own last transfer instead
                extra, now = _filter(typology, cluster, min_anomaly, max_anomaly, active_since, min_volume,
                                     category, addresses, include_flagged, str(last), include_sybil,
                                     min_churn_risk, min_propensity)  # fmt: skip
                when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(last))
                click.echo(f"note: the graph's last transfer is at {when}, before the last {active_since}; "
                           f"--active-since {active_since} counts back from it (--as-of now: from today)",
                           err=True)  # fmt: skip
        if extra.reads_transfers and (status := await activity_status(store)).stale and status.refreshed_at:
            click.echo(
                "note: transfers were added after the activity summary was written; "
                "`aidrop graph activity` (or `aidrop score`) brings it up to date",
                err=True,
            )
        saved = None
        if save_as:
            if segment not in ms.PREDEFINED:
                raise click.UsageError("--save takes a predefined segment and filters")
            saved, members = await ms.save(store, save_as, ms.base_filter(segment).merged(extra), now)
        else:
            _, members = await ms.resolve(store, segment, extra)
        return saved, members

    saved, members = run(with_store, go)
    if out:
        path = Path(out)
        meta = {"segment": segment, "filter": extra.to_dict(), "as_of": now}
        path.write_text(ms.to_json(members, meta) if path.suffix == ".json" else ms.to_csv(members))
    counts: dict[str, int] = {}
    for m in members:
        counts[m.typology or "-"] = counts.get(m.typology or "-", 0) + 1
    summary: dict[str, Any] = {"segment": segment, "wallets": len(members), "typologies": counts, "out": out}
    if saved:
        summary["saved"] = saved.id
    if as_json:
        echo_json(summary)
        return
    click.echo(f"{len(members):,} wallets in {segment}" + (f" (saved as {saved.id})" if saved else ""))
    for code, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:10]:
        click.echo(f"  {code:<10} {n:>8,}")
    if out:
        click.echo(f"written to {out}")


@click.group("campaign")
def campaign_group() -> None:
    """Campaigns on a segment: a hashed holdout, snapshots, lift against the control."""


@campaign_group.command("create")
@click.argument("name")
@click.option("--segment", required=True, help="A saved segment's id or a predefined segment.")
@click.option("--goal-contract", multiple=True, help="A contract whose use is a conversion (repeat).")
@click.option("--goal-category", multiple=True, help="A contract category whose use is a conversion.")
@click.option("--start", help="When the campaign starts (ISO date or unix time; default now).")
@click.option("--end", help="When it ends (the monitor stops after).")
@click.option("--holdout", type=float, default=0.5, show_default=True, help="The control group's share.")
@click.option("--cost", type=float, help="What the campaign costs (any currency): cost per conversion.")
@click.option("--window", default="7d", show_default=True, help="Activity window of each snapshot.")
@click.option("--id", "campaign_id", help="Campaign id (default: from the name).")
def create(
    name, segment, goal_contract, goal_category, start, end, holdout, cost, window, campaign_id
) -> None:  # noqa: E501
    """Create campaign NAME over the wallets of a segment."""
    from ml.marketing import campaigns as mc
    from ml.marketing.segments import parse_duration, parse_time

    options = {
        "goal_contracts": goal_contract,
        "goal_categories": goal_category,
        "start": parse_time(start),
        "end": parse_time(end),
        "holdout": holdout,
        "cost": cost,
        "window": parse_duration(window),
        "campaign_id": campaign_id,
    }
    result = run(with_store, lambda store: mc.create(store, name, segment, **options))
    echo_json(result)


@campaign_group.command("list")
def list_campaigns() -> None:
    """Every campaign (JSON)."""
    from ml.marketing import campaigns as mc

    echo_json(run(with_store, mc.all_campaigns))


@campaign_group.command("snapshot")
@click.argument("campaign_id")
@click.option("--name", help="Snapshot name (default: its time); one snapshot per name.")
@click.option("--at", help="Measure up to this time (default now).")
def snapshot(campaign_id: str, name: str | None, at: str | None) -> None:
    """Measure every target's activity now (or --at); an existing name is returned as it is."""
    from ml.marketing import campaigns as mc
    from ml.marketing.segments import parse_time

    snap, taken = run(with_store, lambda store: mc.snapshot(store, campaign_id, name, parse_time(at)))
    echo_json({**snap, "taken": taken})


@campaign_group.command("metrics")
@click.argument("campaign_id")
@click.option("--from", "before", help="Earlier snapshot (default the first).")
@click.option("--to", "after", help="Later snapshot (default the last).")
@click.option("--confidence", type=float, default=0.95, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def metrics(
    campaign_id: str, before: str | None, after: str | None, confidence: float, as_json: bool
) -> None:
    """Engagement, conversion, retention and volume change per group, with the lifts."""
    from ml.marketing import campaigns as mc

    m = run(with_store, lambda store: mc.metrics(store, campaign_id, before, after, confidence))
    if as_json:
        echo_json(m)
        return
    click.echo(f"{campaign_id}: {m['from']['name']} -> {m['to']['name']}")
    for g, s in m["groups"].items():
        click.echo(f"  {g:<9} {s['targets']:>7,} targets  {s['converted']:>6,} converted")
    for key, v in m["lift"].items():
        if v:
            pct = key != "volume_change"
            f = (lambda x: f"{100 * x:+.2f} pp") if pct else (lambda x: f"{x:+.4f}")
            click.echo(
                f"  {key:<14} lift {f(v['diff'])}  [{f(v['low'])}, {f(v['high'])}]  p={v['p_value']:.3g}"
            )
    if m["cost"] and m["cost"]["per_converted"] is not None:
        click.echo(f"  cost per converted wallet {m['cost']['per_converted']:.2f}")


@campaign_group.command("report")
@click.argument("campaign_id")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="HTML file.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="Also the data as JSON.")
@click.option("--from", "before", help="Earlier snapshot (default the first).")
@click.option("--to", "after", help="Later snapshot (default the last).")
def report(campaign_id: str, out: str, json_out: str | None, before: str | None, after: str | None) -> None:
    """The campaign's report: tables and plots in one HTML file."""
    from ml.marketing import report as mr

    data = run(with_store, lambda store: mr.build(store, campaign_id, before, after))
    Path(out).write_text(mr.render_html(data))
    if json_out:
        Path(json_out).write_text(mr.to_json(data))
    click.echo(f"report written to {out}" + (f" and {json_out}" if json_out else ""))


@campaign_group.command("monitor")
@click.argument("campaign_ids", nargs=-1)
@click.option("--interval", default="1d", show_default=True, help="One snapshot per campaign per interval.")
@click.option("--at", help="Run as if now were this time.")
@click.option("--loop", is_flag=True, help="Keep running, once per interval (Ctrl-C stops).")
def monitor(campaign_ids: tuple[str, ...], interval: str, at: str | None, loop: bool) -> None:
    """Snapshot the campaigns (default: every running one) once per interval."""
    from ml.marketing import campaigns as mc
    from ml.marketing.segments import parse_duration, parse_time

    every = parse_duration(interval)
    while True:
        now = parse_time(at) if at else int(time.time())
        for r in run(with_store, lambda store, now=now: mc.monitor(store, list(campaign_ids), every, now)):
            state = "taken" if r["taken"] else "already taken"
            click.echo(f"{r['campaign']}: snapshot {r['snapshot']} {state}")
        if not loop:
            return
        try:
            time.sleep(every - time.time() % every + 1)
        except KeyboardInterrupt:
            return
