"""The `aidrop` command line. Commands stay thin: the work is in graph/, ingest/, ml/."""

from __future__ import annotations

import click

from aidrop import __version__
from aidrop.cli.api_cmd import analyze, api_group, serve, worker
from aidrop.cli.common import AidropGroup
from aidrop.cli.compliance_cmd import register as register_compliance
from aidrop.cli.demo_cmd import demo
from aidrop.cli.graph_cmd import graph_group
from aidrop.cli.growth_cmd import monitor_group
from aidrop.cli.ingest_cmd import ingest_group
from aidrop.cli.marketing_cmd import campaign_group, target
from aidrop.cli.ml_cmd import evaluate_group, report_group, score, train_group
from aidrop.cli.neo4j_cmd import neo4j_group
from aidrop.cli.patterns_cmd import patterns_group
from aidrop.cli.server_cmd import down, status, up
from aidrop.cli.sybil_cmd import sybil_group
from aidrop.cli.synth_cmd import synth


@click.group(cls=AidropGroup)
@click.version_option(__version__, prog_name="aidrop")
def main() -> None:
    """aidrop: wallet intelligence for EVM chains."""


for command in (up, down, status, ingest_group, graph_group, synth, demo, serve, worker, analyze, api_group,
                target, campaign_group, train_group, score, evaluate_group, report_group,
                sybil_group, patterns_group):  # fmt: skip
    main.add_command(command)
main.add_command(neo4j_group)
main.add_command(monitor_group)
register_compliance(main)
