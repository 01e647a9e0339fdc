"""A campaign's report: JSON (`build`) and a self-contained HTML page with its plots embedded as
PNG (`render_html`): conversion over time per group, the lifts with their intervals, the
typologies that convert most, and conversion by the propensity aidrop predicted for the goal."""

from __future__ import annotations

import base64
import html
import io
import json
from datetime import UTC, datetime
from typing import Any

import numpy as np

from graph.marketing import GROUPS
from graph.store import GraphStore
from ml.marketing import campaigns as mc

PROPENSITY_HEAD = ["decile", "propensity", "treatment", "rate", "control", "rate", "lift"]
COLORS = {"treatment": "#d62728", "control": "#1f77b4"}
LIFT_LABELS = {
    "conversion": "conversion rate",
    "engagement": "engagement rate",
    "retention": "retention rate",
    "volume_change": "volume change (native, per wallet)",
}


async def build(
    store: GraphStore, campaign_id: str, before: str | None = None, after: str | None = None,
    confidence: float = 0.95, seed: int = 0,
) -> dict[str, Any]:  # fmt: skip
    """Everything the report shows, as JSON-ready data."""
    campaign, snaps, a, b, wallets = await mc.load(store, campaign_id, before, after)
    metrics = mc.compute(campaign, a, b, wallets, confidence, seed)
    return {
        "campaign": campaign,
        "snapshots": snaps,
        "metrics": metrics,
        "typologies": mc.typology_table(wallets),
        "propensity": mc.propensity_lift(wallets, await mc.goal_category(store, campaign), confidence),
        "series": conversion_series(campaign, snaps, wallets),
        "generated_at": int(datetime.now(UTC).timestamp()),
    }


def conversion_series(
    campaign: dict[str, Any], snaps: list[dict[str, Any]], wallets: list[dict[str, Any]]
) -> dict[str, Any]:
    """Cumulative conversion rate per group from the start: a daily curve from the first goal
    interactions seen by the later snapshot, and one point per snapshot (its own count)."""
    start = int(campaign["start"])
    end = max([start + 86400] + [int(s["at"]) for s in snaps])
    days = np.arange(start, end + 1, 86400)
    if days[-1] < end:
        days = np.append(days, end)
    curve: dict[str, list[float]] = {}
    for g in GROUPS:
        firsts = np.sort(
            [int(w["first_goal"]) for w in wallets if w["group"] == g and w["first_goal"] is not None]
        )
        n = sum(w["group"] == g for w in wallets)
        curve[g] = (np.searchsorted(firsts, days, side="right") / n).tolist() if n else [0.0] * len(days)
    points = {
        g: [
            {"name": s["name"], "at": int(s["at"]),
             "rate": s["summary"][g]["converted"] / s["summary"][g]["targets"] if s["summary"].get(g, {}).get("targets") else None}  # noqa: E501
            for s in snaps
        ]
        for g in GROUPS
    }  # fmt: skip
    return {"times": days.tolist(), "curve": curve, "snapshots": points}


# ---- plots ------------------------------------------------------------------------------------
def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_conversion(series: dict[str, Any]) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 3.6))
    times = [datetime.fromtimestamp(t, UTC) for t in series["times"]]
    for g in GROUPS:
        ax.step(times, [100 * v for v in series["curve"][g]], where="post", color=COLORS[g], lw=2, label=g)
        pts = [p for p in series["snapshots"][g] if p["rate"] is not None]
        ax.plot([datetime.fromtimestamp(p["at"], UTC) for p in pts], [100 * p["rate"] for p in pts], "o",
                color=COLORS[g], ms=6)  # fmt: skip
    ax.set_ylabel("converted since start (%)")
    ax.set_title("Conversion over time (dots: snapshots)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    fig.autofmt_xdate()
    return _png(fig)


def plot_lifts(metrics: dict[str, Any]) -> str:
    plt = _plt()
    rates = [(k, v) for k, v in metrics["lift"].items() if v and k != "volume_change"]
    fig, ax = plt.subplots(figsize=(8, 0.9 + 0.7 * max(1, len(rates))))
    for i, (_, v) in enumerate(rates):
        color = "#2ca02c" if v["low"] > 0 else ("#d62728" if v["high"] < 0 else "#7f7f7f")
        err = [[100 * (v["diff"] - v["low"])], [100 * (v["high"] - v["diff"])]]
        ax.errorbar([100 * v["diff"]], [i], xerr=err, fmt="o", color=color, elinewidth=3, capsize=6, ms=8)
    ax.axvline(0, color="black", lw=1)
    ax.set_yticks(range(len(rates)), [LIFT_LABELS[k] for k, _ in rates])
    ax.set_ylim(-0.6, len(rates) - 0.4)
    ax.set_xlabel(
        f"lift, treatment - control (percentage points, {int(100 * metrics['confidence'])}% interval)"
    )
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def plot_typologies(rows: list[dict[str, Any]]) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 0.8 + 0.35 * max(1, len(rows))))
    y = np.arange(len(rows))
    for off, g in ((-0.2, "treatment"), (0.2, "control")):
        ax.barh(y + off, [100 * (r[f"{g}_rate"] or 0) for r in rows], height=0.38, color=COLORS[g], label=g)
    ax.set_yticks(y, [r["typology"] for r in rows])
    ax.invert_yaxis()
    ax.set_xlabel("conversion rate (%)")
    ax.set_title("Top converting typologies")
    ax.legend(loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def plot_propensity(table: dict[str, Any]) -> str:
    plt = _plt()
    rows = table["deciles"]
    fig, ax = plt.subplots(figsize=(8, 3.6))
    x = np.arange(1, len(rows) + 1)
    for off, g in ((-0.2, "treatment"), (0.2, "control")):
        ax.bar(x + off, [100 * (r[f"{g}_rate"] or 0) for r in rows], width=0.38, color=COLORS[g], label=g)
    ax.set_xticks(x)
    ax.set_xlabel(f"decile of predicted {table['category']} propensity at targeting (1: most likely)")
    ax.set_ylabel("conversion rate (%)")
    ax.set_title("Conversion by predicted propensity")
    ax.legend(loc="upper right")
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


# ---- HTML -------------------------------------------------------------------------------------
def _fmt(v: Any, pct: bool = False, digits: int = 3) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{100 * v:.1f}%" if pct else f"{v:,.{digits}f}"
    return html.escape(f"{v:,}" if isinstance(v, int) else str(v))


def _time(ts: int | None) -> str:
    return "–" if ts is None else datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%d %H:%M UTC")


def _table(head: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:960px}
h1{margin-bottom:.2em} .muted{color:#666} table{border-collapse:collapse;margin:.6em 0 1.4em}
th,td{border:1px solid #ddd;padding:.3em .7em;text-align:right} th{background:#f4f4f4}
td:first-child,th:first-child{text-align:left} img{display:block;max-width:100%;margin:.4em 0 1.4em}
"""


def render_html(report: dict[str, Any]) -> str:
    c, m = report["campaign"], report["metrics"]
    g = m["groups"]
    goal = ", ".join([*c["goal_contracts"], *c["goal_categories"]])
    group_rows = [
        [k, _fmt(g[k]["targets"]), _fmt(g[k]["converted"]), _fmt(g[k]["conversion_rate"], True),
         _fmt(g[k]["engagement_rate"], True), _fmt(g[k]["retention_rate"], True), _fmt(g[k]["volume_before"]),
         _fmt(g[k]["volume_after"]), _fmt(g[k]["volume_change"])]
        for k in GROUPS
    ]  # fmt: skip
    lift_rows = []
    for key, v in m["lift"].items():
        if not v:
            continue
        pct = key != "volume_change"
        rel = "–" if v["relative"] is None else f"{100 * v['relative']:+.1f}%"
        lift_rows.append([LIFT_LABELS[key], _fmt(v["treatment"], pct), _fmt(v["control"], pct),
                          _fmt(v["diff"], pct), f"[{_fmt(v['low'], pct)}, {_fmt(v['high'], pct)}]",
                          _fmt(v["p_value"], digits=4), rel, v["method"]])  # fmt: skip
    typ_rows = [
        [
            html.escape(r["typology"]),
            f"{r['treatment_converted']}/{r['treatment_targets']}",
            _fmt(r["treatment_rate"], True),
            f"{r['control_converted']}/{r['control_targets']}",
            _fmt(r["control_rate"], True),
        ]
        for r in report["typologies"]
    ]
    snap_rows = [
        [html.escape(s["name"]), _time(s["at"]), _fmt(s.get("targets")),
         *(_fmt(s["summary"].get(k, {}).get("converted")) for k in GROUPS)]
        for s in report["snapshots"]
    ]  # fmt: skip
    cost = m.get("cost")
    cost_html = ""
    if cost:
        head = ["total", "per converted wallet", "incremental conversions", "per incremental conversion"]
        row = [
            _fmt(cost["total"], digits=2),
            _fmt(cost["per_converted"], digits=2),
            _fmt(cost["incremental_conversions"], digits=1),
            _fmt(cost["per_incremental"], digits=2),
        ]
        cost_html = "<h2>Cost</h2>" + _table(head, [row])
    conf = int(round(100 * m["confidence"]))
    plots = {
        "conversion": plot_conversion(report["series"]),
        "lift": plot_lifts(m),
        "typologies": plot_typologies(report["typologies"]) if report["typologies"] else None,
        "propensity": plot_propensity(report["propensity"]) if report.get("propensity") else None,
    }
    img = {
        k: (f'<img id="plot-{k}" alt="{k} plot" src="data:image/png;base64,{v}">' if v else "")
        for k, v in plots.items()
    }
    prop = report.get("propensity")
    prop_html = ""
    if prop:
        prop_rows = [
            [str(r["decile"]), f"{r['min']:.3f}–{r['max']:.3f}",
             f"{r['treatment_converted']}/{r['treatment_targets']}", _fmt(r["treatment_rate"], True),
             f"{r['control_converted']}/{r['control_targets']}", _fmt(r["control_rate"], True),
             _fmt(r["lift"]["diff"], True) if r["lift"] else "–",
             f"[{_fmt(r['lift']['low'], True)}, {_fmt(r['lift']['high'], True)}]" if r["lift"] else "–"]
            for r in prop["deciles"]
        ]  # fmt: skip
        prop_html = (
            f"<h2>Lift by predicted {html.escape(prop['category'])} propensity</h2>"
            f'<p class="muted">{prop["scored"]} targets with a prediction when the campaign took them '
            f"({prop['unscored']} without: not scored, or already users)</p>{img['propensity']}"
            + _table(PROPENSITY_HEAD + [f"{conf}% interval"], prop_rows)
        )  # fmt: skip
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Campaign {html.escape(c["name"])} – aidrop</title>
<style>{CSS}</style></head><body>
<h1>Campaign {html.escape(c["name"])}</h1>
<p class="muted">id {html.escape(c["id"])} · segment {html.escape(str(c.get("segment_id")))} · goal {
        html.escape(goal)
    }
 · start {_time(c["start"])} · holdout {100 * c["holdout"]:.0f}% · window {int(c["window"]) // 3600} h</p>
<p>Compared: snapshot <b>{html.escape(m["from"]["name"])}</b> ({_time(m["from"]["at"])}) to
<b>{html.escape(m["to"]["name"])}</b> ({_time(m["to"]["at"])}); intervals at {conf}%.</p>
<h2>Conversion over time</h2>{img["conversion"]}
<h2>Lift</h2>{img["lift"]}
{
        _table(
            ["metric", "treatment", "control", "lift", f"{conf}% interval", "p-value", "relative", "method"],
            lift_rows,
        )
    }
<h2>Groups</h2>
{
        _table(
            [
                "group",
                "targets",
                "converted",
                "conversion",
                "engagement",
                "retention",
                "volume before",
                "volume after",
                "volume change",
            ],
            group_rows,
        )
    }
{cost_html}
<h2>Top converting typologies</h2>{img["typologies"]}
{_table(["typology", "treatment converted", "rate", "control converted", "rate"], typ_rows)}
{prop_html}
<h2>Snapshots</h2>
{_table(["name", "at", "targets", "converted (treatment)", "converted (control)"], snap_rows)}
<p class="muted">aidrop · generated {_time(report["generated_at"])}</p>
</body></html>
"""


def to_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=1, sort_keys=True, default=str)


async def publish(store: GraphStore, blobs: Any, campaign_id: str) -> str:
    """Render the report and put it in the blob store (`campaigns/<id>/report.html` and
    `.json`); the campaign remembers the key. Returns the HTML's URL."""
    from graph import marketing as gm

    data = await build(store, campaign_id)
    key = f"campaigns/{campaign_id}/report.html"
    await blobs.put(key.replace(".html", ".json"), to_json(data).encode(), "application/json")
    url = await blobs.put(key, render_html(data).encode(), "text/html; charset=utf-8")
    await gm.set_campaign_report(store, campaign_id, key, data["generated_at"])
    return url
