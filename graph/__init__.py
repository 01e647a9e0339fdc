"""The wallet graph: one GraphStore interface, FalkorDB (embedded default) and Neo4j backends."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported lazily: `aidrop status` and friends should not load pandas
    from core.settings import Settings
    from graph.store import GraphStore

__all__ = ["GraphStore", "open_store"]


def open_store(settings: Settings | None = None, graph_name: str | None = None) -> GraphStore:
    """The configured store; starts the embedded FalkorDB when no other graph is named."""
    from core.settings import get_settings

    s = settings or get_settings()
    if s.backend == "neo4j":
        from graph.neo4j_store import Neo4jStore

        uri, user, password = s.neo4j_uri or s.graph_url, s.neo4j_user, s.neo4j_password
        if not uri:  # no server named: the local one of `aidrop neo4j start`, when it runs
            from core.errors import GraphUnavailable
            from graph.neo4j_server import local_neo4j

            local = local_neo4j(s).status()
            if not local.healthy:
                raise GraphUnavailable(
                    "AIDROP_GRAPH_BACKEND=neo4j needs NEO4J_URI (with NEO4J_USER, NEO4J_PASSWORD), or the "
                    'local Neo4j: eval "$(aidrop neo4j start)"'
                )
            uri, user, password = local.uri, local.user, local.password
        return Neo4jStore(uri, user, password, s.neo4j_database)
    from graph.falkor import FalkorStore

    url = s.graph_url
    if s.embedded:
        from graph.embedded import embedded_server

        url = embedded_server(s).start().graph_url
    return FalkorStore(url, graph_name or s.graph_name)
