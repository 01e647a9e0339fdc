"""The drift report (`aidrop monitor drift --out`) and the growth section of the model report:
PSI per feature and of the score against the thresholds, and the retraining history."""

from __future__ import annotations

import html
from typing import Any

from ml.growth import drift
from ml.registry import Registry


def _bars(report: dict[str, Any]) -> str:
    from ml.report import _png

    names = list(report["features"])[:20][::-1]
    values = [report["features"][n]["psi"] for n in names]

    def draw(ax: Any) -> None:
        colours = [
            "#c0392b" if v >= drift.DRIFT else "#e6a23c" if v >= drift.WATCH else "#4a90d9" for v in values
        ]
        ax.barh(names + ["(score)"], values + [report["score"]["psi"]], color=colours + ["#333"])
        for x, style in ((drift.WATCH, ":"), (drift.DRIFT, "--")):
            ax.axvline(x, color="#555", linestyle=style, linewidth=1)
        ax.set_xlabel("population stability index (training snapshot -> now)")

    return _png(draw, (6.4, 0.25 * len(names) + 1.6))


def drift_section(report: dict[str, Any]) -> str:
    state = "DRIFT" if report["drifted"] else "stable"
    worst = report["worst_feature"]
    return (
        f"<h3>Drift of {html.escape(report['model'])} {html.escape(report['version'])}: {state}</h3>"
        f"<p>score PSI {report['score']['psi']:.3f} ({report['score']['level']}); worst feature "
        f"{html.escape(worst['name'])} {worst['psi']:.3f}; threshold {report['threshold']}; "
        f"{report['n_reference']:,} wallets at training, {report['n_now']:,} now. Levels: below "
        f"{drift.WATCH} stable, {drift.WATCH}-{drift.DRIFT} watch, above {drift.DRIFT} drift.</p>"
        f"{_bars(report)}"
    )


def drift_html(report: dict[str, Any]) -> str:
    return (
        f"<!doctype html><meta charset=utf-8><title>aidrop drift</title><body>{drift_section(report)}</body>"
    )


def history_section(registry: Registry) -> str:
    """The retraining decisions, newest first."""
    rows = registry.history("churn")[::-1][:50]
    if not rows:
        return ""
    cells = []
    for r in rows:
        hold = r.get("holdout") or {}
        auc = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
        cells.append(
            "<tr>"
            + "".join(
                f"<td>{html.escape(str(v))}</td>"
                for v in (
                    r.get("data_to"),
                    r.get("decision"),
                    r.get("reason"),
                    (r.get("drift") or {}).get("score_psi"),
                    ((r.get("drift") or {}).get("worst_feature") or {}).get("name"),
                    r.get("champion", "-"),
                    auc(hold.get("champion_auc")),
                    r.get("challenger", "-"),
                    auc(hold.get("challenger_auc")),
                    (r.get("policy") or {}).get("margin"),
                )
            )  # fmt: skip
            + "</tr>"
        )
    head = ("data to", "decision", "reason", "score PSI", "worst feature", "champion", "champion AUC",
            "challenger", "challenger AUC", "margin")  # fmt: skip
    return (
        "<h2>Growth models: retraining history</h2><table><tr>"
        + "".join(f"<th>{h}</th>" for h in head)
        + "</tr>"
        + "".join(cells)
        + "</table>"
    )


def _evaluation(name: str, ev: dict[str, Any]) -> str:
    from ml.report import _png

    model, base = ev["model"], ev["baseline"]

    def reliability(ax: Any) -> None:
        for m, label in ((model, "model"), (base, f"baseline ({base['name']})")):
            cal = m.get("calibration") or []
            ax.plot([c["predicted"] for c in cal], [c["observed"] for c in cal], marker="o", label=label)
        ax.plot([0, 1], [0, 1], color="#999", linestyle=":")
        ax.set_xlabel("predicted")
        ax.set_ylabel("observed")
        ax.legend(fontsize=8)

    def deciles(ax: Any) -> None:
        for m, label, shift in ((model, "model", -0.2), (base, "baseline", 0.2)):
            d = m.get("deciles") or []
            ax.bar([x["decile"] + shift for x in d], [x["precision"] or 0 for x in d], width=0.4, label=label)
        ax.set_xlabel("decile (1 = highest score)")
        ax.set_ylabel("precision")
        ax.legend(fontsize=8)

    auc = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
    return (
        f"<h3>{html.escape(name)} (as-of {ev['split']['t2']}, horizon {ev['split']['horizon_days']} d)</h3>"
        f"<p>AUC {auc(model.get('auc'))} against {auc(base.get('auc'))}; top-decile precision "
        f"{auc(model.get('top_decile_precision'))} against {auc(base.get('top_decile_precision'))}; "
        f"ECE {auc(model.get('ece'))}.</p>{_png(reliability, (4.6, 3.6))}{_png(deciles, (4.6, 3.6))}"
    )


def growth_section(registry: Registry, evaluations: dict[str, dict[str, Any]]) -> str:
    parts = [_evaluation(k, v) for k, v in evaluations.items() if k == "churn" or k.startswith("propensity-")]
    if "drift" in evaluations:
        parts.append(drift_section(evaluations["drift"]))
    parts.append(history_section(registry))
    body = "".join(p for p in parts if p)
    return f"<h2>Growth: dormancy and first interaction</h2>{body}" if body else ""
