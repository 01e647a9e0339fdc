"""`aidrop monitor drift | retrain`: the growth models in operation (the work is in ml/growth/)."""

from __future__ import annotations

from pathlib import Path

import click

from aidrop.cli.common import echo_json, run, with_store
from aidrop.cli.ml_cmd import _registry, _say


@click.group("monitor")
def monitor_group() -> None:
    """Watch the growth models: drift against their training snapshot, champion / challenger."""


@monitor_group.command("drift")
@click.option("--threshold", default=0.25, show_default=True, type=click.FloatRange(0.01, 10.0),
              help="PSI at or above which a feature or the score counts as drifted.")  # fmt: skip
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="HTML report with the plots.")
@click.option("--json", "as_json", is_flag=True)
def drift(threshold: float, out: Path | None, as_json: bool) -> None:
    """PSI per feature and of the churn score, now against the active model's training data."""
    from ml.growth.ops import drift_from_store
    from ml.growth.report import drift_html

    registry = _registry()
    _say("reading the transfers and scoring the active wallets")
    report = run(with_store, lambda store: drift_from_store(store, registry, threshold))
    registry.save_evaluation("drift", report)
    if out:
        out.write_text(drift_html(report))
        _say(f"report -> {out}")
    if as_json:
        echo_json(report)
        return
    for name, f in list(report["features"].items())[:10]:
        click.echo(f"{name:>20}  {f['psi']:.3f}  {f['level']}")
    click.echo(f"{'(score)':>20}  {report['score']['psi']:.3f}  {report['score']['level']}")
    click.echo("drift: retrain" if report["drifted"] else "stable")


@monitor_group.command("retrain")
@click.option("--margin", default=0.01, show_default=True, type=float, help="AUC the challenger must add.")
@click.option("--every-days", default=30, show_default=True, type=click.IntRange(min=1))
def retrain(margin: float, every_days: int) -> None:
    """What the worker does daily: on drift or schedule, train a challenger and promote it only
    if it beats the champion on a fresh time-split holdout."""
    from ml.growth.ops import RetrainPolicy, retrain_from_store

    registry = _registry()
    policy = RetrainPolicy(margin=margin, every_days=every_days)
    echo_json(run(with_store, lambda store: retrain_from_store(store, registry, policy)))
