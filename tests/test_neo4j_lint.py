"""Every Cypher text the Neo4j backend can send, and every ```cypher block of the Neo4j Browser
guide, passes Neo4j's own parser and semantic analysis (tools/cypher-lint, node, offline).

Neo4j cannot run here; this is what checks its dialect. Warnings count as failures too:
deprecations, cartesian products, unknown labels, properties, procedures or functions.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from graph import cypher as q

ROOT = Path(__file__).resolve().parents[1]
LINT_DIR = ROOT / "tools" / "cypher-lint"
PACKAGE = LINT_DIR / "node_modules" / "@neo4j-cypher" / "language-support"
GUIDE = ROOT / "docs" / "neo4j-browser.md"
NEO4J_MODULES = [ROOT / "graph" / "neo4j_store.py"]
CYPHER_START = re.compile(r"^\s*(MATCH|OPTIONAL MATCH|MERGE|CREATE|CALL|UNWIND|RETURN|WITH|DROP|SHOW)\b")
CYPHER_BLOCK = re.compile(r"^```cypher[ \t]*\n(.*?)^```", re.M | re.S)

# Statements the linter must reject (name -> text): proof the clean runs are not vacuous.
PROBES = {
    "probe:size-of-pattern": "MATCH (w:Wallet) RETURN size((w)-[:TRANSFER]->()) AS n",
    "probe:deprecated-id": "MATCH (w:Wallet) RETURN id(w) AS n",
    "probe:cartesian": "MATCH (a:Wallet), (b:Wallet) RETURN a, b",
    "probe:unknown-procedure": "CALL gds.pageRankk.stream('g') YIELD nodeId RETURN nodeId",
    "probe:unknown-yield": "CALL gds.pageRank.stream('g') YIELD nodeId, rank RETURN nodeId",
    "probe:unknown-property": "MATCH (w:Wallet) RETURN w.adress AS a",
    "probe:syntax": "MATCH (w:Wallet RETURN w",
}
# ... and must accept.
CLEAN_PROBES = {
    "probe:count-subquery": "MATCH (w:Wallet) RETURN COUNT { (w)-[:TRANSFER]->() } AS n",
    "probe:ppr": (
        "MATCH (s:Wallet {address: $address}) "
        "CALL gds.pageRank.stream('wallets', {sourceNodes: [s]}) YIELD nodeId, score "
        "RETURN gds.util.asNode(nodeId).address AS address, score"
    ),
}


def registry_statements() -> dict[str, str]:
    """All of graph.cypher.REGISTRY in the Neo4j dialect, less FalkorDB-only schema statements."""
    falkor_only = {s.name for s in (*q.FALKOR_INDEXES, *q.FALKOR_SCHEMA_READS)}
    return {s.name: s.for_backend("neo4j") for s in q.REGISTRY.values() if s.name not in falkor_only}


def module_literals() -> dict[str, str]:
    """Cypher written straight into the Neo4j backend's modules (string constants)."""
    found = {}
    for path in NEO4J_MODULES:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and CYPHER_START.match(node.value)
            ):
                found[f"{path.relative_to(ROOT)}:{node.lineno}"] = node.value
    return found


def guide_blocks() -> dict[str, str]:
    text = GUIDE.read_text()
    return {
        f"{GUIDE.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 2}": m.group(1)
        for m in CYPHER_BLOCK.finditer(text)
    }


def ensure_node_modules() -> None:
    if PACKAGE.is_dir():
        return
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        pytest.fail("node and npm are needed for the Cypher lint (tools/cypher-lint)")
    proc = subprocess.run(
        [npm, "ci", "--prefix", str(LINT_DIR), "--no-audit", "--no-fund"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode != 0 or not PACKAGE.is_dir():
        pytest.fail(f"npm ci --prefix tools/cypher-lint failed:\n{proc.stdout}\n{proc.stderr}")


@pytest.fixture(scope="module")
def lint() -> dict[str, list[dict[str, Any]]]:
    """Diagnostics of every item, from one node process."""
    ensure_node_modules()
    items = [{"name": n, "text": t} for n, t in {**registry_statements(), **module_literals()}.items()]
    items += [{"name": n, "text": t, "console": True} for n, t in guide_blocks().items()]
    items += [{"name": n, "text": t} for n, t in {**PROBES, **CLEAN_PROBES}.items()]
    proc = subprocess.run(
        [shutil.which("node") or "node", str(LINT_DIR / "lint.mjs")],
        input=json.dumps(items),
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode not in (0, 1):
        pytest.fail(f"cypher-lint exited {proc.returncode}:\n{proc.stderr}")
    result = json.loads(proc.stdout)
    assert set(result) == {i["name"] for i in items}
    return result


def report(found: dict[str, list[dict[str, Any]]]) -> str:
    lines = []
    for name, diagnostics in found.items():
        for d in diagnostics:
            lines.append(f"{name} [{d['line']}:{d['column']}] {d['severity']}: {d['message']}")
    return "\n".join(lines)


def test_neo4j_statements_pass_lint(lint: dict[str, list[dict[str, Any]]]) -> None:
    names = [*registry_statements(), *module_literals()]
    found = {n: lint[n] for n in names if lint[n]}
    assert not found, (
        "Neo4j statements with diagnostics (the labels and property keys aidrop writes are "
        "declared in tools/cypher-lint/schema.mjs):\n" + report(found)
    )


def test_browser_guide_cypher_passes_lint(lint: dict[str, list[dict[str, Any]]]) -> None:
    blocks = guide_blocks()
    assert len(blocks) >= 8, "docs/neo4j-browser.md should hold its ready Cypher in ```cypher blocks"
    found = {n: lint[n] for n in blocks if lint[n]}
    assert not found, "docs/neo4j-browser.md Cypher with diagnostics:\n" + report(found)


def test_every_statement_is_linted_but_falkordb_schema() -> None:
    linted = set(registry_statements())
    skipped = set(q.REGISTRY) - linted
    assert skipped == {s.name for s in (*q.FALKOR_INDEXES, *q.FALKOR_SCHEMA_READS)}
    assert {"merge_transfers", "constraint_wallet_address", "index_transfer_identity", "delete_all"} <= linted


def test_linter_rejects_bad_statements(lint: dict[str, list[dict[str, Any]]]) -> None:
    missed = [name for name in PROBES if not lint[name]]
    assert not missed, f"the linter accepted statements it must reject: {missed}"
    assert any(d["severity"] == "error" for d in lint["probe:size-of-pattern"])
    assert any(d["deprecated"] for d in lint["probe:deprecated-id"])


def test_linter_accepts_good_statements(lint: dict[str, list[dict[str, Any]]]) -> None:
    found = {n: lint[n] for n in CLEAN_PROBES if lint[n]}
    assert not found, report(found)
