"""`aidrop train | score | evaluate | report`: wallet intelligence (the work is in ml/)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from aidrop.cli.common import echo_json, run, with_store
from ml.models import ANOMALY_MODELS, DEFAULT_ANOMALY

_labels = click.option(
    "--labels",
    "labels",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV address,label (label phishing/fraud/laundering/... or normal).",
)
_absolute = click.option(
    "--absolute-time", is_flag=True, help="Also use absolute calendar time (first/last seen); off by default."
)


def _registry() -> Any:
    from core.settings import get_settings
    from ml.registry import Registry

    return Registry(get_settings().data_dir)


def _say(text: str) -> None:
    click.echo(text, err=True)


def _progress() -> None:
    """The long steps of training, scoring and evaluation on stderr, with the time so far."""
    import logging
    import time

    start = time.monotonic()

    class Elapsed(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            return f"[{time.monotonic() - start:6.1f} s] {record.getMessage()}"

    logger = logging.getLogger("aidrop.ml")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(Elapsed())
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


@click.group("train")
def train_group() -> None:
    """Fit a model on the wallet graph and make it the active version."""


def _train(what: str, model: str = DEFAULT_ANOMALY, labels: Path | None = None, **params: Any) -> None:
    from ml.pipeline import train

    registry = _registry()
    _progress()
    art = run(with_store, lambda store: train(store, registry, what, model, labels, **params))
    _say(f"trained {art.model} {art.version} ({art.metadata.get('seconds', 0):.1f}s) -> {art.path}")
    summary = {
        k: art.metadata[k]
        for k in ("model", "version", "supervised", "source", "k", "metrics")
        if k in art.metadata
    }
    echo_json(summary)


@train_group.command("anomaly")
@click.option("--model", type=click.Choice(ANOMALY_MODELS), default=DEFAULT_ANOMALY, show_default=True)
@_labels
@_absolute
def train_anomaly(model: str, labels: Path | None, absolute_time: bool) -> None:
    """Anomaly model: supervised with --labels, label-free without (aidrop only)."""
    from ml.models import make_model

    params = (
        {"absolute_time": True} if absolute_time and "absolute_time" in make_model(model).get_params() else {}
    )
    _train("anomaly", model, labels, **params)


@train_group.command("typology")
@click.option(
    "--labels",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV with address,focus,pattern,risk,community (e.g. synthetic labels.csv); "
    "without it the axes come from rules over behaviour.",
)
def train_typology(labels: Path | None) -> None:
    """Typology classifiers, one random forest per axis."""
    _train("typology", labels=labels)


@train_group.command("clusters")
@click.option(
    "--algorithm", type=click.Choice(["kmeans", "dbscan", "gmm"]), default="kmeans", show_default=True
)
@click.option("--k", type=int, default=None, help="Number of clusters (default: best silhouette in 2..8).")
def train_clusters(algorithm: str, k: int | None) -> None:
    """Behavioural clusters with readable profiles."""
    _train("clusters", algorithm=algorithm, k=k)


@click.command("score")
@click.option("--model", type=click.Choice(ANOMALY_MODELS), default=DEFAULT_ANOMALY, show_default=True)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV address,anomaly_score,rank,flagged of every wallet (the top K with --top).",
)
@click.option("--top", type=int, default=None, help="Only the K most suspicious wallets (printed: 20).")
@click.option("--no-write", is_flag=True, help="Do not write the results onto the wallets.")
def score(model: str, out: Path | None, top: int | None, no_write: bool) -> None:
    """Score every wallet (anomaly, typology, cluster) and write the results onto the wallets."""
    from ml.pipeline import score as score_fn

    registry = _registry()
    _progress()
    result = run(with_store, lambda store: score_fn(store, registry, model, write=not no_write))
    for name in result.trained:
        _say(f"no active {name} model: trained one from the graph (label-free) and made it active")
    frame = result.frame.sort_values("rank", kind="stable")
    columns = ["address", "anomaly_score", "rank", "flagged"]
    if out:
        (frame.head(top) if top else frame)[columns].to_csv(out, index=False, float_format="%.6g")
        _say(f"{min(top or len(frame), len(frame)):,} wallets -> {out}")
    else:
        click.echo(frame.head(top or 20)[columns].to_string(index=False))
    stages = ", ".join(f"{k} {v:.1f}s" for k, v in result.timer.stages.items())
    flagged = int(frame["flagged"].sum())
    _say(f"{model} {result.version}: {len(frame):,} wallets, {flagged:,} flagged ({stages})")


@click.group("evaluate")
def evaluate_group() -> None:
    """Judge models against labels."""


@evaluate_group.command("anomaly")
@click.option(
    "--labels", "labels", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--k", "ks", default="20,50,100", show_default=True, help="K of Precision@K and Recall@K.")
@click.option(
    "--folds",
    default=5,
    show_default=True,
    help="Cross-validation folds (each wallet scored by a model that never saw its label); "
    "0 judges the active versions as they are.",
)
@_absolute
@click.option("--json", "as_json", is_flag=True)
def evaluate_anomaly(labels: Path, ks: str, folds: int, absolute_time: bool, as_json: bool) -> None:
    """Precision@K, Recall@K, AUC, accuracy and F1 of `flagged`: both models side by side."""
    from ml.evaluate import compare_anomaly

    k_values = tuple(int(k) for k in ks.split(",") if k.strip())
    registry = _registry()
    _progress()
    result = run(
        with_store, lambda store: compare_anomaly(store, registry, labels, k_values, folds, absolute_time)
    )
    registry.save_evaluation("anomaly", result)
    if as_json:
        echo_json(result)
        return
    click.echo(_table(result["models"], k_values))


def _table(models: list[dict[str, Any]], ks: tuple[int, ...]) -> str:
    keys = ["auc", "accuracy", "f1"] + [f"{m}@{k}" for k in ks for m in ("precision", "recall")]
    header = ["model", "labelled", *keys]
    rows = [[m["model"], str(m["n"])] + [_cell(m.get(k)) for k in keys] for m in models]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in [header, *rows])


def _cell(value: Any) -> str:
    return "-" if value is None else f"{value:.3f}"


@evaluate_group.command("typology")
@click.option(
    "--labels",
    "labels",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV with address,focus,pattern,risk,community (synthetic labels.csv).",
)
def evaluate_typology(labels: Path) -> None:
    """Per-axis accuracy on held-out wallets (and of the behaviour rules), with confusion matrices."""
    from ml.evaluate import evaluate_typology as evaluate_fn

    registry = _registry()
    result = run(with_store, lambda store: evaluate_fn(store, labels))
    registry.save_evaluation("typology", result)
    for axis, rep in result["axes"].items():
        click.echo(
            f"{axis:>10}  held-out accuracy {rep['accuracy']:.3f}  rules {result['rules'][axis]:.3f}"
            f"  (n={rep['n_test']})"
        )


def _growth_table(result: dict[str, Any]) -> str:
    keys = ("auc", "brier", "ece", "top_decile_precision", "top_decile_lift")
    header = ["", "n", "base rate", *keys]
    rows = []
    for name in ("model", "baseline"):
        m = result[name]
        label = name if name == "model" else f"baseline ({m['name']})"
        rows.append([label, str(m["n"]), _cell(m["base_rate"]), *(_cell(m.get(k)) for k in keys)])
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in [header, *rows])


def _evaluate_growth(task: str, as_of: str | None, horizon: str, as_json: bool, **target: Any) -> None:
    from ml.growth.evaluate import evaluate_from_store, parse_as_of, parse_horizon

    try:
        days, t = parse_horizon(horizon), parse_as_of(as_of)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    registry = _registry()
    result = run(with_store, lambda store: evaluate_from_store(store, task, t, days, progress=_say, **target))
    registry.save_evaluation(task if task == "churn" else f"propensity-{result['target']}", result)
    if as_json:
        echo_json(result)
        return
    click.echo(_growth_table(result))
    ratio = result.get("ratio_top_decile_precision") or result.get("ratio_top_decile_lift")
    _say(f"top decile, model / baseline: {_cell(ratio)} ({result['seconds']:.1f}s)")


_as_of = click.option("--as-of", "as_of", default=None, help="T2: a date or unix time.")
_horizon = click.option("--horizon", default="30d", show_default=True, help="Days after T (30d, 4w).")


@evaluate_group.command("churn")
@_as_of
@_horizon
@click.option("--json", "as_json", is_flag=True)
def evaluate_churn(as_of: str | None, horizon: str, as_json: bool) -> None:
    """Dormancy by time: train with T1 = T2 - horizon, judge at T2 against recency-frequency."""
    _evaluate_growth("churn", as_of, horizon, as_json)


@evaluate_group.command("propensity")
@click.option("--category", default=None, help="Contract category (DeFi, NFT, Gaming, Social, ...).")
@click.option("--contracts", default=None, help="Comma-separated contract addresses instead of a category.")
@_as_of
@_horizon
@click.option("--json", "as_json", is_flag=True)
def evaluate_propensity(category: str | None, contracts: str | None, as_of: str | None, horizon: str,
                        as_json: bool) -> None:  # fmt: skip
    """First interaction by time, against "already used a neighbouring category"."""
    if (category is None) == (contracts is None):
        raise click.UsageError("give --category or --contracts")
    listed = [c.strip() for c in contracts.split(",") if c.strip()] if contracts else None
    _evaluate_growth("propensity", as_of, horizon, as_json, category=category, contracts=listed)


@click.group("report")
def report_group() -> None:
    """Reports."""


@report_group.command("model")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def report_model(out: Path) -> None:
    """One self-contained HTML page: the active models, their metrics and every plot."""
    from ml.report import model_report

    html = model_report(_registry())
    out.write_text(html)
    _say(f"report -> {out} ({len(html) / 1024:.0f} KiB)")
