"""`aidrop ingest etl | edges | etherscan`: files into the wallet graph."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from aidrop.cli.common import chain_option, echo_json, run, with_store

if TYPE_CHECKING:
    from ingest.report import IngestReport

SHOWN_ERRORS = 20
_paths = click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
_json = click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
_errors = click.option(
    "--errors", "errors_file", type=click.Path(path_type=Path), help="Write every rejected row here."
)

_chain = chain_option("EVM chain id of the transfers in the files (1: Ethereum mainnet).")


def _finish(report: IngestReport, as_json: bool, errors_file: Path | None) -> None:
    if errors_file:
        errors_file.write_text("".join(f"{e}\n" for e in report.errors))
    if as_json:
        echo_json(report.to_dict())
        return
    for error in report.errors[:SHOWN_ERRORS]:
        click.echo(f"rejected {error}", err=True)
    if report.rows_rejected > SHOWN_ERRORS:
        click.echo(f"... {report.rows_rejected - SHOWN_ERRORS} more rejected rows", err=True)
    click.echo(
        f"rows read {report.rows_read:,}; transfers written {report.transfers_written:,} "
        f"({report.mode}); wallets created {report.wallets_created:,}; "
        f"rows rejected {report.rows_rejected:,}; rows skipped {report.rows_skipped:,}"
    )


def _ingest(name: str, paths: tuple[Path, ...], chain: int) -> IngestReport:
    from core.settings import get_settings
    from ingest import load
    from ingest.alerts import watching

    fn = getattr(load, name)
    progress = sys.stderr.isatty()

    async def go(store):
        async with watching(store, get_settings().webhook_secret):  # watchlists: ingest/alerts.py
            return await fn(store, list(paths), progress=progress, chain=chain)

    return run(with_store, go)


@click.group("ingest")
def ingest_group() -> None:
    """Load transactions into the wallet graph (idempotent: loading twice changes nothing)."""


@ingest_group.command("etl")
@_paths
@_chain
@_json
@_errors
def ingest_etl(paths: tuple[Path, ...], chain: int, as_json: bool, errors_file: Path | None) -> None:
    """ethereum-etl CSVs: a folder, or transactions/token_transfers/receipts/contracts/tokens files."""
    _finish(_ingest("ingest_etl", paths, chain), as_json, errors_file)


@ingest_group.command("edges")
@_paths
@_chain
@_json
@_errors
def ingest_edges(paths: tuple[Path, ...], chain: int, as_json: bool, errors_file: Path | None) -> None:
    """Edge lists: from_address,to_address,value,block_timestamp[,tx_count] (value in ETH)."""
    _finish(_ingest("ingest_edges", paths, chain), as_json, errors_file)


@ingest_group.command("etherscan")
@_paths
@_chain
@_json
@_errors
def ingest_etherscan(paths: tuple[Path, ...], chain: int, as_json: bool, errors_file: Path | None) -> None:
    """Etherscan txlist / tokentx JSON exports."""
    _finish(_ingest("ingest_etherscan", paths, chain), as_json, errors_file)


from aidrop.cli.rpc_cmd import labels, rpc  # noqa: E402

ingest_group.add_command(rpc)
ingest_group.add_command(labels)
