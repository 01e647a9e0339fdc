"""`aidrop ingest rpc` (blocks from an EVM JSON-RPC node) and `aidrop ingest labels` (contract labels)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from pathlib import Path
from typing import Any

import click

from aidrop.cli.common import chain_option, echo_json, run, with_store


def _block(value: str) -> int | None:
    if value.strip().lower() == "latest":
        return None
    try:
        number = int(value, 0)
    except ValueError:
        raise click.BadParameter(f"a block number or 'latest', not {value!r}") from None
    if number < 0:
        raise click.BadParameter("block numbers are not negative")
    return number


def _summary(r: dict[str, Any]) -> str:
    span = f"blocks {r['first_block']}-{r['last_block']}" if r["blocks"] else "no new blocks"
    rate = f"{r['blocks_per_s']:,.1f} blocks/s, {r['transfers_per_s']:,.1f} transfers/s"
    kinds = ", ".join(
        f"{name} {r[key]:,}"
        for name, key in (
            ("native", "native"),
            ("ERC-20", "erc20"),
            ("ERC-721", "erc721"),
            ("ERC-1155", "erc1155"),
            ("internal", "internal"),
        )
    )
    lines = [
        f"chain {r['chain_id']}: {span} ({r['blocks']:,} blocks, {r['transactions']:,} transactions) "
        f"in {r['seconds']:.1f} s: {rate}",
        f"transfers {r['transfers']:,} ({kinds}), new in the graph {r['transfers_written']:,}; "
        f"wallets created {r['wallets_created']:,}",
        f"tokens read {r['tokens']:,}; contracts created {r['contracts']:,}; reorgs {r['reorgs']} "
        f"({r['orphaned_blocks']} blocks orphaned); requests {r['requests']:,}, retries {r['retries']:,}",
    ]
    if r["interrupted"]:
        lines.append("stopped: run the same command again to resume")
    return "\n".join(lines)


@click.command("rpc")
@click.option(
    "--rpc-url", envvar="AIDROP_RPC_URL", required=True, help="http(s):// URL of the node [AIDROP_RPC_URL]."
)
@click.option("--from", "start", default="0", show_default=True, help="First block.")
@click.option(
    "--to", "end", default="latest", show_default=True, help="Last block, or 'latest' (the head less K)."
)
@click.option("--follow", is_flag=True, help="Keep going: tail the head K blocks behind until interrupted.")
@click.option(
    "--confirmations",
    "-k",
    default=0,
    show_default=True,
    type=click.IntRange(0),
    help="Stay K blocks behind the head.",
)
@click.option(
    "--poll", default=1.0, show_default=True, type=click.FloatRange(0.05), help="Seconds between head checks."
)
@click.option("--chain-id", type=int, help="Refuse a node on another chain.")
@click.option("--chunk", default=50, show_default=True, type=click.IntRange(1), help="Blocks per write.")
@click.option(
    "--batch-size",
    default=50,
    show_default=True,
    type=click.IntRange(1),
    help="JSON-RPC calls per HTTP request.",
)
@click.option(
    "--concurrency", default=4, show_default=True, type=click.IntRange(1), help="HTTP requests in flight."
)
@click.option("--timeout", default=30.0, show_default=True, help="Seconds to wait for an answer.")
@click.option("--retries", default=8, show_default=True, type=click.IntRange(1), help="Tries per request.")
@click.option(
    "--receipts",
    type=click.Choice(["auto", "block", "tx"]),
    default="auto",
    show_default=True,
    help="eth_getBlockReceipts (block), eth_getTransactionReceipt (tx), or either (auto).",
)
@click.option(
    "--values",
    type=click.Choice(["auto", "trace", "full"]),
    default="auto",
    show_default=True,
    help="Transaction values from trace_block (trace), full blocks (full), or trace when the node has it.",
)
@click.option(
    "--internal",
    type=click.Choice(["auto", "trace", "debug", "off"]),
    default="auto",
    show_default=True,
    help="Internal transactions (value moved by contracts) from trace_block (trace), "
    "debug_traceBlockByNumber (debug), whichever the node has (auto), or none (off).",
)
@click.option(
    "--window",
    default=256,
    show_default=True,
    type=click.IntRange(1),
    help="Newest blocks remembered for reorgs (the deepest reorg handled).",
)
@click.option(
    "--labels/--no-labels",
    default=True,
    show_default=True,
    help="Load the chain's bundled contract labels first (core/chains.py; mainnet has some).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def rpc(
    rpc_url: str,
    start: str,
    end: str,
    follow: bool,
    confirmations: int,
    poll: float,
    chain_id: int | None,
    chunk: int,
    batch_size: int,
    concurrency: int,
    timeout: float,
    retries: int,
    receipts: str,
    values: str,
    internal: str,
    window: int,
    labels: bool,
    as_json: bool,
) -> None:
    """Blocks, receipts and token transfers from an EVM JSON-RPC node into the wallet graph.

    Resumes from the chain's checkpoint in the graph; a re-run of a range changes nothing."""
    from core.settings import get_settings
    from ingest.alerts import watching
    from ingest.labels import bundled, load_labels
    from ingest.rpc import Options, RetryPolicy, RpcClient, ingest_rpc

    first, last = _block(start), _block(end)
    if first is None:
        raise click.BadParameter("--from needs a block number", param_hint="--from")
    if last is not None and last < first:
        raise click.BadParameter(f"--to {last} is before --from {first}", param_hint="--to")
    options = Options(
        start=first,
        end=last,
        confirmations=confirmations,
        follow=follow,
        poll=poll,
        chain_id=chain_id,
        chunk=chunk,
        window=window,
        receipts=receipts,
        values=values,
        internal=internal,
        progress=sys.stderr.isatty(),
    )

    async def go(store: Any) -> dict[str, Any]:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        retry = RetryPolicy(attempts=retries)
        async with RpcClient(
            rpc_url, batch_size=batch_size, concurrency=concurrency, timeout=timeout, retry=retry
        ) as client:
            node_chain = await client.check_chain(chain_id)  # eth_chainId: the transfers' chain
            label_file = bundled(node_chain) if labels else None
            if label_file is not None:
                await load_labels(store, [label_file], node_chain)
            async with watching(store, get_settings().webhook_secret):  # watchlists: ingest/alerts.py
                report = await ingest_rpc(store, client, options, stop)
        return report.to_dict()

    result = run(with_store, go)
    if as_json:
        echo_json(result)
    else:
        click.echo(_summary(result))


@click.command("labels")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@chain_option("Chain id the labels are for.", "chain_id")
def labels(files: tuple[Path, ...], chain_id: int) -> None:
    """Contract labels (YAML: address, name, category, source) into :Contract nodes of a chain.

    Without FILES, the chain's bundled labels (well-known contracts on mainnet)."""
    from ingest.labels import bundled, load_labels

    default = bundled(chain_id)
    paths = list(files) or ([default] if default else [])
    if not paths:
        raise click.UsageError(f"no bundled labels for chain {chain_id}: name the files")
    count = run(with_store, lambda store: load_labels(store, paths, chain_id))
    click.echo(f"labelled {count:,} contracts on chain {chain_id} from {', '.join(map(str, paths))}")
