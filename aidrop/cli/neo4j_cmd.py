"""`aidrop neo4j start | stop | status`: the local Neo4j with GDS and APOC (graph/neo4j_server.py)."""

from __future__ import annotations

from pathlib import Path

import click

from aidrop.cli.common import echo_json, run
from graph.neo4j_server import local_neo4j


def _progress(message: str) -> None:
    click.echo(message, err=True)  # stdout carries only the lines a shell evals


@click.group("neo4j")
def neo4j_group() -> None:
    """The local Neo4j 5 (GDS, APOC) built from Maven Central: needs Java 17+ and Maven."""


@neo4j_group.command()
@click.option("--timeout", default=600.0, show_default=True, help="Seconds to wait for Bolt.")
def start(timeout: float) -> None:
    """Start it (building on first use) and print NEO4J_URI/USER/PASSWORD lines:
    `eval "$(aidrop neo4j start)"`, then AIDROP_GRAPH_BACKEND=neo4j."""
    st = local_neo4j().start(timeout=timeout, progress=_progress)
    click.echo(st.env_lines())


@neo4j_group.command()
def build() -> None:
    """Build tools/neo4j (Maven Central into ~/.m2) unless up to date; `start` does it too."""
    server = local_neo4j()
    server.build(progress=_progress)
    click.echo(f"local Neo4j launcher built in {server.tools / 'target'}")


@neo4j_group.command("import")
@click.argument("export_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
def import_(export_dir: Path) -> None:
    """Replace the local Neo4j's graph by an `aidrop graph export neo4j-admin` folder with
    Neo4j's importer (first loads of a large history), then start it and create the schema."""
    from graph.neo4j_store import Neo4jStore

    st = local_neo4j().import_export(export_dir, progress=_progress)

    async def schema() -> None:
        store = Neo4jStore(st.uri, st.user, st.password)
        try:
            await store.ensure_schema()
        finally:
            await store.close()

    run(schema)
    click.echo(st.env_lines())


@neo4j_group.command()
def stop() -> None:
    """Stop it; its data stays on disk."""
    stopped = local_neo4j().stop()
    click.echo("local Neo4j stopped" if stopped else "local Neo4j was not running")


@neo4j_group.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(as_json: bool) -> None:
    """Running, pid, Bolt URI, health (exit 1 unless healthy)."""
    st = local_neo4j().status()
    if as_json:
        echo_json(st.to_dict())
    else:
        state = "healthy" if st.healthy else ("running, not answering" if st.running else "stopped")
        click.echo(f"local Neo4j: {state}; {st.uri}; pid {st.pid}; data {st.home}")
    if not st.healthy:
        raise SystemExit(1)
