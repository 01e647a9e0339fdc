"""`aidrop report model`: one self-contained HTML page (plots as embedded PNG) from the model
registry: the active versions with their data fingerprints and parameters, the metric tables,
the cluster map and profiles, the typology confusion matrices and feature importances, the
anomaly ROC curves, score distributions and Precision@K of the last `aidrop evaluate`."""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Callable
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ml.models import ANOMALY_MODELS  # noqa: E402
from ml.registry import MODEL_NAMES, Registry  # noqa: E402

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left;
font-size:.9em}th{background:#f4f4f4}img{max-width:100%;margin:.4em 0}.muted{color:#777}code{font-size:.9em}
"""


def _png(draw: Callable[[Any], None], size: tuple[float, float] = (6.4, 4.2)) -> str:
    fig, ax = plt.subplots(figsize=size, dpi=100)
    try:
        draw(ax)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
    finally:
        plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode()
    return f'<img alt="plot" src="data:image/png;base64,{data}">'


def _table(rows: list[list[Any]], header: list[str]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def model_report(registry: Registry) -> str:
    parts = ["<h1>aidrop models</h1>"]
    metas = {m: registry.metadata(m) for m in MODEL_NAMES if registry.active(m)}
    evaluations = registry.evaluations()
    if not metas and not evaluations:
        parts.append(
            "<p>No trained model yet: run <code>aidrop train</code> and <code>aidrop evaluate</code>.</p>"
        )
    parts.append("<h2>Active versions</h2>")
    parts.append(
        _table(
            [
                [m, meta["version"], meta["created"], meta.get("data"), meta.get("params")]
                for m, meta in metas.items()
            ],
            ["model", "version", "created", "data fingerprint", "parameters"],
        )
    )
    if "anomaly" in evaluations:
        parts.append(_anomaly_section(evaluations["anomaly"]))
    for name in ANOMALY_MODELS:
        if name in metas:
            parts.append(_anomaly_model_section(name, metas[name]))
    if "patterns" in evaluations:
        parts.append(_patterns_section(evaluations["patterns"]))
    if "typology" in evaluations or "typology" in metas:
        parts.append(_typology_section(evaluations.get("typology"), metas.get("typology")))
    if "clusters" in metas:
        parts.append(_cluster_section(metas["clusters"]))
    from ml.growth.report import growth_section

    parts.append(growth_section(registry, evaluations))
    body = "\n".join(parts)
    head = f"<meta charset='utf-8'><title>aidrop models</title><style>{STYLE}</style>"
    return f"<!doctype html><html><head>{head}</head><body>{body}</body></html>"


def _anomaly_section(ev: dict[str, Any]) -> str:
    models = ev["models"]
    ks = ev.get("k", [20, 50, 100])
    keys = ["auc", "accuracy", "f1"] + [f"{m}@{k}" for k in ks for m in ("precision", "recall")]
    how = f"{ev['folds']}-fold cross-validation" if ev["folds"] else "active versions as trained"
    out = [
        "<h2>Anomaly: evaluation</h2>",
        f"<p>{html.escape(ev['labels'])}: {ev['labelled']} labelled wallets in the graph, {ev['positives']} "
        f"positive; {how}; absolute time {'on' if ev.get('absolute_time') else 'off'} ({ev['created']}).</p>",
        _table([[m["model"]] + [m.get(k) for k in keys] for m in models], ["model", *keys]),
    ]

    def roc(ax: Any) -> None:
        for m in models:
            if "roc" in m:
                ax.plot(m["roc"]["fpr"], m["roc"]["tpr"], label=f"{m['model']} (AUC {m['auc']:.3f})")
        ax.plot([0, 1], [0, 1], color="#bbb", linestyle="--")
        ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
        ax.legend(loc="lower right", fontsize=8)

    def precision(ax: Any) -> None:
        width = 0.8 / max(len(models), 1)
        for i, m in enumerate(models):
            ax.bar(
                np.arange(len(ks)) + i * width,
                [m.get(f"precision@{k}") or 0 for k in ks],
                width,
                label=m["model"],
            )
        ax.set_xticks(np.arange(len(ks)) + 0.4 - width / 2, [f"P@{k}" for k in ks])
        ax.set(ylim=(0, 1.05), title="Precision@K")
        ax.legend(fontsize=8)

    out += [_png(roc), _png(precision)]
    for m in models:
        if "scores" not in m:
            continue
        s, y = np.asarray(m["scores"]["score"]), np.asarray(m["scores"]["y"])

        def hist(ax: Any, s: np.ndarray = s, y: np.ndarray = y, name: str = m["model"]) -> None:
            bins = np.linspace(np.nanmin(s), np.nanmax(s) + 1e-12, 40)
            ax.hist(s[y == 0], bins=bins, alpha=0.6, label="normal")
            ax.hist(s[y == 1], bins=bins, alpha=0.6, label="positive")
            ax.set(title=f"score distribution: {name}", xlabel="anomaly score", ylabel="wallets")
            ax.legend(fontsize=8)

        out.append(_png(hist, (6.4, 3.4)))
        if "recovery" in m:
            rec = m["recovery"]
            rows = [[g, v["n"], v["recovered"]] for g, v in rec["per_group"].items()]
            text = f"{html.escape(m['model'])}: positives in the top K = {rec['k']}: {rec['recovered']:.3f}"
            out.append(f"<p>{text}</p>" + _table(rows, ["typology", "positives", "recovered in top K"]))
    return "\n".join(out)


ROLE_COLOURS = {
    "source": "#4c72b0",
    "sink": "#55a868",
    "hub": "#c44e52",
    "relay": "#8172b2",
    "cycle": "#dd8452",
}


def _patterns_section(ev: dict[str, Any]) -> str:
    """Laundering patterns of the last scoring run: how many of each type, and the strongest
    ones drawn as small graphs (members on a circle coloured by role, arrows for transfers)."""
    counts = ev.get("counts", {})
    out = [
        "<h2>Laundering patterns (last scoring run)</h2>",
        f"<p>The evidence behind the label-free score ({ev['created']}); "
        "<code>aidrop patterns list</code> shows them all.</p>",
        _table([[t, n] for t, n in sorted(counts.items(), key=lambda kv: -kv[1])], ["type", "patterns"]),
    ]
    for ex in ev.get("examples", []):

        def draw(ax: Any, ex: dict[str, Any] = ex) -> None:
            n = len(ex["wallets"])
            angle = 2 * np.pi * np.arange(n) / max(n, 1)
            x, y = np.cos(angle), np.sin(angle)
            arrow = {"arrowstyle": "->", "color": "#777", "shrinkA": 8, "shrinkB": 8}
            for a, b, _ in ex["edges"]:
                ax.annotate("", (x[b], y[b]), (x[a], y[a]), arrowprops=arrow)
            for i, (address, role) in enumerate(zip(ex["wallets"], ex["roles"], strict=True)):
                ax.scatter(x[i], y[i], s=160, color=ROLE_COLOURS.get(role, "#999"), zorder=3)
                ax.text(
                    x[i] * 1.25, y[i] * 1.25, f"{address[:8]}\n{role}", ha="center", va="center", fontsize=6
                )
            ax.set(xlim=(-1.6, 1.6), ylim=(-1.6, 1.6), title=f"{ex['type']}, score {ex['score']}")
            ax.axis("off")

        out.append(_png(draw, (3.6, 3.6)))
    return "\n".join(out)


def _anomaly_model_section(name: str, meta: dict[str, Any]) -> str:
    out = [f"<h2>Anomaly model {name} {meta['version']}</h2>"]
    out.append(f"<p>supervised: {meta.get('supervised')}; trained in {meta.get('seconds', 0):.1f}s.</p>")
    for kind, metrics in (meta.get("metrics") or {}).items():
        out.append(
            f"<p>{html.escape(kind)} metrics</p>"
            + _table([[k, v] for k, v in metrics.items()], ["metric", "value"])
        )
    imp = meta.get("importance") or {}
    if imp and len({round(float(v), 6) for v in imp.values()}) == 1:  # e.g. the label-free model
        out.append(f"<p>{len(imp)} features, all weighed alike: no feature importance to show "
                   "(each wallet's explanation names the factors of its own score).</p>")  # fmt: skip
    elif imp:
        names, values = list(imp)[:15][::-1], list(imp.values())[:15][::-1]
        unit = "mean decrease in impurity" if meta.get("supervised") else "importance"

        def bars(ax: Any) -> None:
            ax.barh(names, values, color="#4c72b0")
            ax.set(title=f"{name}: feature importance", xlabel=unit)
            ax.tick_params(axis="y", labelsize=7)

        out.append(_png(bars, (6.4, 4.6)))
    return "\n".join(out)


def _typology_section(ev: dict[str, Any] | None, meta: dict[str, Any] | None) -> str:
    out = ["<h2>Typology</h2>"]
    axes = (ev or {}).get("axes") or ((meta or {}).get("metrics") or {}).get("axes") or {}
    source = (
        "aidrop evaluate typology (known axes)" if ev else f"the active model ({(meta or {}).get('source')})"
    )
    if not axes:
        out.append(f"<p>No held-out evaluation in {html.escape(source)}: it was trained without known "
                   "axes. <code>aidrop evaluate typology --labels FILE</code> (labels with the four "
                   "axes) measures one.</p>")  # fmt: skip
        return "\n".join(out)
    out.append(f"<p>Held-out evaluation from {html.escape(source)}.</p>")
    rules = (ev or {}).get("rules", {})
    out.append(
        _table(
            [[a, r["accuracy"], r["n_test"], rules.get(a)] for a, r in axes.items()],
            ["axis", "held-out accuracy", "wallets", "rules alone"],
        )
    )
    for axis, rep in axes.items():

        def cm(ax: Any, rep: dict[str, Any] = rep, axis: str = axis) -> None:
            m = np.asarray(rep["confusion"], dtype=float)
            ax.imshow(m, cmap="Blues")
            labels = rep["labels"]
            ax.set_xticks(range(len(labels)), labels)
            ax.set_yticks(range(len(labels)), labels)
            for i in range(m.shape[0]):
                for j in range(m.shape[1]):
                    ax.text(j, i, int(m[i, j]), ha="center", va="center", fontsize=8)
            ax.set(title=f"{axis}: confusion (rows true)", xlabel="predicted", ylabel="true")

        def imp(ax: Any, rep: dict[str, Any] = rep, axis: str = axis) -> None:
            items = list(rep["importance"].items())[:10][::-1]
            ax.barh([k for k, _ in items], [v for _, v in items], color="#55a868")
            ax.set(title=f"{axis}: feature importance")
            ax.tick_params(axis="y", labelsize=7)

        out += [_png(cm, (4.2, 3.6)), _png(imp, (5.2, 3.6))]
        report = rep.get("report", {})
        rows = [
            [k, v.get("precision"), v.get("recall"), v.get("f1-score"), v.get("support")]
            for k, v in report.items()
            if isinstance(v, dict)
        ]
        out.append(_table(rows, ["class", "precision", "recall", "f1", "support"]))
    return "\n".join(out)


def _cluster_section(meta: dict[str, Any]) -> str:
    out = [f"<h2>Clusters {meta['version']}</h2>"]
    params = meta.get("params", {})
    out.append(
        f"<p>{html.escape(str(params.get('algorithm')))}, k = {meta.get('k')}; silhouette by k: "
        f"{html.escape(json.dumps(meta.get('metrics', {}).get('silhouette', {})))}</p>"
    )
    profiles = meta.get("profiles", [])
    out.append(
        _table(
            [[p["cluster"], p["size"], p["share"], "; ".join(p["traits"])] for p in profiles],
            ["cluster", "wallets", "share", "what sets it apart"],
        )
    )
    cmap = meta.get("map") or {}
    if cmap.get("x"):

        def scatter(ax: Any) -> None:
            x, y, c = np.asarray(cmap["x"]), np.asarray(cmap["y"]), np.asarray(cmap["cluster"])
            for k in sorted(set(c.tolist())):
                ax.scatter(x[c == k], y[c == k], s=6, alpha=0.6, label=f"cluster {k}")
            ax.set(title="clusters (PCA of scaled features, sample)", xlabel="PC 1", ylabel="PC 2")
            ax.legend(fontsize=7, markerscale=2)

        out.append(_png(scatter, (6.4, 5.0)))
    sil = meta.get("metrics", {}).get("silhouette", {})
    if len(sil) > 1:

        def silhouette(ax: Any) -> None:
            ks = sorted(sil, key=int)
            ax.plot([int(k) for k in ks], [sil[k] for k in ks], marker="o")
            ax.set(title="silhouette by k", xlabel="k", ylabel="silhouette")

        out.append(_png(silhouette, (5.0, 3.2)))
    return "\n".join(out)
