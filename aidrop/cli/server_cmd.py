"""`aidrop up | down | status`: the embedded FalkorDB (and arq's Redis) under AIDROP_DATA_DIR."""

from __future__ import annotations

import click

from aidrop.cli.common import echo_json
from core.settings import get_settings
from graph.embedded import embedded_server, shown


def _require_embedded() -> None:
    if not get_settings().embedded:
        raise click.ClickException("an external graph is configured (AIDROP_GRAPH_URL / backend)")


@click.command()
def up() -> None:
    """Start the embedded FalkorDB (no-op when it already runs)."""
    _require_embedded()
    st = embedded_server().start(progress=lambda line: click.echo(line, err=True))
    click.echo(f"embedded FalkorDB running: pid {st.pid}, {shown(st.graph_url)}, data in {st.data_dir}")


@click.command()
def down() -> None:
    """Stop the embedded FalkorDB; its data stays on disk."""
    _require_embedded()
    stopped = embedded_server().stop()
    click.echo("embedded FalkorDB stopped" if stopped else "embedded FalkorDB was not running")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(as_json: bool) -> None:
    """Report the embedded FalkorDB: running, pid, port, health."""
    s = get_settings()
    if not s.embedded:
        click.echo(f"external graph: backend {s.backend}, {shown(s.graph_url or s.neo4j_uri)}")
        return
    st = embedded_server(s).status()
    if as_json:
        echo_json(st.to_dict())
        return
    state = "healthy" if st.healthy else ("running, not answering" if st.running else "stopped")
    click.echo(f"embedded FalkorDB: {state}; port {st.port}; pid {st.pid}; data {st.data_dir}")
    if not st.healthy:
        raise SystemExit(1)
