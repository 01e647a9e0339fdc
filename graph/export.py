"""The wallet graph as `neo4j-admin database import full` input: two CSVs and an import script.

Streams `GraphStore.export_pages()` (memory stays flat) into `wallets.csv` and
`transfers.csv`, with Neo4j 5 import headers, and writes `import.sh` beside them: the
exact import command, then the constraints and indexes aidrop creates (graph/cypher.py).
Fields are quoted the RFC 4180 way neo4j-admin reads by default (quotes doubled); line
breaks inside names are replaced by spaces so the import needs no `--multiline-fields`.
"""

from __future__ import annotations

import csv
import math
import shlex
from pathlib import Path
from typing import Any

from core.chains import DEFAULT_CHAIN
from graph import cypher as q
from graph.store import GraphStore

WALLETS_FILE = "wallets.csv"
TRANSFERS_FILE = "transfers.csv"
SCRIPT_FILE = "import.sh"
ID_SPACE = "Wallet"

OTHER_SPACE = "Node"  # every node that is not a wallet
# The analysis results on wallets (docs/ml.md) travel with them, for Neo4j Browser.
RESULT_COLUMNS = [
    "ppr:double", "anomaly_score:double", "anomaly_rank:long", "anomaly_flagged:boolean",
    "anomaly_explanation", "anomaly_model", "anomaly_version", "typology", "typology_axes",
    "typology_explanation", "typology_version", "cluster:long", "cluster_version", "first_ts:long",
    "last_ts:long", "activity_days:long[]", "activity_value:double[]", "category_ts:long[]",
    "created_chain:long", "chains:long[]", "label_categories:string[]", "sybil_cluster", "churn_risk:double",
    "expected_active_days:double", "propensity:double[]", "growth_version",
    "exposure_direct_in:double", "exposure_indirect_in:double", "exposure_direct_out:double",
    "exposure_indirect_out:double", "exposure_top", "exposure_risk:double", "exposure_ppr:double",
    "exposure_categories", "exposure_paths", "exposure_at:long",
]  # fmt: skip
WALLET_HEADER = [
    f"address:ID({ID_SPACE})", ":LABEL", "category", "name", "created_block:long", "symbol", "decimals:int",
    *RESULT_COLUMNS,
]  # fmt: skip
TRANSFER_HEADER = [
    f":START_ID({ID_SPACE})",
    f":END_ID({ID_SPACE})",
    ":TYPE",
    "hash",
    "log_index:long",
    "value:double",
    "value_raw",
    "token",
    "ts:long",
    "block:long",
    "status:int",
    "tx_count:long",
    "fee:double",
    "token_id",
    "chain:long",
]

OTHER_FILES = ("nodes-*.csv", "relationships-*.csv")  # the rest of the graph, when there is any


def _other_files(out_dir: Path) -> list[tuple[str, str]]:
    return [
        ("nodes" if pattern.startswith("nodes") else "relationships", p.name)
        for pattern in OTHER_FILES
        for p in sorted(out_dir.glob(pattern))
    ]


def importer_args(out_dir: Path, database: str = "neo4j", overwrite: bool = False) -> list[str]:
    """`neo4j-admin database import full` arguments for the export in `out_dir`."""
    out_dir = Path(out_dir)
    return [
        "database", "import", "full",
        f"--nodes=Wallet={out_dir / WALLETS_FILE}",
        f"--relationships=TRANSFER={out_dir / TRANSFERS_FILE}",
        *(f"--{kind}={out_dir / name}" for kind, name in _other_files(out_dir)),
        "--id-type=string", "--delimiter=,", "--array-delimiter=;",
        f"--overwrite-destination={'true' if overwrite else 'false'}",
        database,
    ]  # fmt: skip


def import_command(out_dir: Path) -> str:
    """Neo4j 5 syntax; $DIR, $DATABASE and $OVERWRITE are set by import.sh."""
    others = "".join(f'  --{kind}="$DIR/{name}" \\\n' for kind, name in _other_files(out_dir))
    return f"""neo4j-admin database import full \\
  --nodes=Wallet="$DIR/{WALLETS_FILE}" \\
  --relationships=TRANSFER="$DIR/{TRANSFERS_FILE}" \\
{others}  --id-type=string --delimiter=',' --array-delimiter=';' \\
  --overwrite-destination="$OVERWRITE" \\
  "$DATABASE"
"""


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return " ".join(str(value).splitlines())


def _double(value: Any) -> str | None:
    """A double as Java's Double.parseDouble reads it (NaN and infinities spelled its way)."""
    if value is None:
        return None
    number = float(value)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    return repr(number)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _value(value: Any, kind: str) -> Any:
    """One property in the CSV form of its header type (`long`, `double[]`, ... or text)."""
    if value is None:
        return None
    if kind.endswith("[]"):
        return ";".join(str(_value(v, kind[:-2])) for v in value)
    if kind == "double":
        return _double(value)
    if kind in ("long", "int"):
        return _int(value)
    if kind == "boolean":
        return "true" if value else "false"
    return _text(value)


def _kind(column: str) -> str:
    return column.split(":", 1)[1] if ":" in column else "string"


def wallet_row(wallet: dict[str, Any]) -> list[Any]:
    labels = ["Wallet", *sorted(set(wallet["labels"]) - {"Wallet"})]
    props = wallet.get("props") or {}
    return [
        wallet["address"],
        ";".join(labels),
        _text(wallet.get("category")),
        _text(wallet.get("name")),
        _int(wallet.get("created_block")),
        _text(wallet.get("symbol")),
        _int(wallet.get("decimals")),
        *(_value(props.get(c.split(":")[0]), _kind(c)) for c in RESULT_COLUMNS),
    ]


def _type_of(values: list[Any]) -> str:
    """The import type that holds every value of a property (text when they disagree)."""
    kinds = set()
    for v in values:
        if isinstance(v, list):
            inner = _type_of(v) if v else "string"
            kinds.add(inner + "[]" if not inner.endswith("[]") else "string")
        elif isinstance(v, bool):
            kinds.add("boolean")
        elif isinstance(v, int):
            kinds.add("long")
        elif isinstance(v, float):
            kinds.add("double")
        else:
            kinds.add("string")
    if kinds <= {"long", "double"} and kinds:
        return "double" if "double" in kinds else "long"
    if kinds <= {"long[]", "double[]"} and kinds:
        return "double[]" if "double[]" in kinds else "long[]"
    return kinds.pop() if len(kinds) == 1 else "string"


def _table(rows: list[dict[str, Any]]) -> list[str]:
    """`name:type` columns for the properties of these rows."""
    keys = sorted({k for r in rows for k in r})
    columns = []
    for key in keys:
        kind = _type_of([r[key] for r in rows if r.get(key) is not None])
        columns.append(key if kind == "string" else f"{key}:{kind}")
    return columns


async def _export_others(store: GraphStore, out_dir: Path) -> tuple[int, int]:
    """Segments, campaigns, snapshots and the rest: one file per label set and per relationship
    type and end kinds (OTHER_FILES); how many nodes and relationships."""
    nodes = await store.query(q.EXPORT_OTHER_NODES)
    groups: dict[tuple[str, ...], list[dict]] = {}
    for node in nodes:
        groups.setdefault(tuple(sorted(node["labels"])), []).append(node)
    for labels, members in sorted(groups.items()):
        columns = _table([m["props"] for m in members])
        path = out_dir / f"nodes-{'-'.join(labels).lower() or 'unlabelled'}.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow([f"_export_id:ID({OTHER_SPACE})", ":LABEL", *columns])
            for m in members:
                w.writerow(
                    [
                        m["id"],
                        ";".join(labels),
                        *(_value(m["props"].get(c.split(":")[0]), _kind(c)) for c in columns),
                    ]
                )
    links = await store.query(q.EXPORT_OTHER_RELATIONSHIPS)
    kinds: dict[tuple[str, bool, bool], list[dict]] = {}
    for r in links:
        kinds.setdefault((r["type"], bool(r["start_wallet"]), bool(r["end_wallet"])), []).append(r)
    for (kind, start_wallet, end_wallet), members in sorted(kinds.items()):
        columns = _table([m["props"] for m in members])
        space = {True: ID_SPACE, False: OTHER_SPACE}
        path = out_dir / f"relationships-{kind.lower()}-{int(start_wallet)}{int(end_wallet)}.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(
                [f":START_ID({space[start_wallet]})", f":END_ID({space[end_wallet]})", ":TYPE", *columns]
            )
            for m in members:
                w.writerow(
                    [
                        m["start"],
                        m["end"],
                        kind,
                        *(_value(m["props"].get(c.split(":")[0]), _kind(c)) for c in columns),
                    ]
                )
    return len(nodes), len(links)


def transfer_row(transfer: dict[str, Any]) -> list[Any]:
    return [
        transfer["from_address"],
        transfer["to_address"],
        "TRANSFER",
        transfer["hash"],
        _int(transfer["log_index"]),
        _double(transfer["value"]),
        _text(transfer["value_raw"]),
        _text(transfer["token"]),
        _int(transfer["ts"]),
        _int(transfer["block"]),
        _int(transfer["status"]),
        _int(transfer["tx_count"]),
        _double(transfer.get("fee") or 0.0),
        _text(transfer.get("token_id")),
        _int(transfer.get("chain") or DEFAULT_CHAIN),
    ]


def schema_statements() -> list[str]:
    """What to create once the imported database runs (what `ensure_schema` creates)."""
    return [s.for_backend("neo4j") for s in q.NEO4J_SCHEMA]


def import_script(out_dir: Path) -> str:
    schema = ";\n".join(schema_statements()) + ";"
    fallback = q.NEO4J_TRANSFER_IDENTITY_INDEX.for_backend("neo4j")
    return f"""#!/bin/sh
# Load this aidrop export into Neo4j 5 with neo4j-admin, then create aidrop's schema.
#   1. Stop Neo4j (the import needs the database offline), then:  sh import.sh
#      The database must not exist yet; NEO4J_OVERWRITE=true replaces it (docker's first
#      start creates "neo4j").
#   2. Start Neo4j, then:                                          sh import.sh schema
#      (or run any aidrop command against it: aidrop creates its schema on connect).
# Settings: NEO4J_DATABASE (neo4j), NEO4J_OVERWRITE (false); for step 2 NEO4J_URI
# (bolt://localhost:7687), NEO4J_USER (neo4j), NEO4J_PASSWORD.
set -eu
DIR="$(cd "$(dirname "$0")" && pwd)"
DATABASE="${{NEO4J_DATABASE:-neo4j}}"
OVERWRITE="${{NEO4J_OVERWRITE:-false}}"

if [ "${{1:-import}}" = "schema" ]; then
  # Relationship uniqueness needs Neo4j >= 5.7; before that, replace transfer_identity with:
  #   {fallback}
  exec cypher-shell -a "${{NEO4J_URI:-bolt://localhost:7687}}" -u "${{NEO4J_USER:-neo4j}}" \\
    -p "${{NEO4J_PASSWORD:?set NEO4J_PASSWORD}}" -d "$DATABASE" <<'CYPHER'
{schema}
CYPHER
fi

{import_command(out_dir)}"""


async def export_neo4j_admin(store: GraphStore, out_dir: Path, page: int = 10_000) -> dict[str, Any]:
    """Write wallets.csv, transfers.csv and import.sh into `out_dir`; what was written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    wallets_path, transfers_path = out_dir / WALLETS_FILE, out_dir / TRANSFERS_FILE
    nodes = relationships = 0
    labels: dict[str, int] = {}
    with (
        wallets_path.open("w", newline="", encoding="utf-8") as wallets_file,
        transfers_path.open("w", newline="", encoding="utf-8") as transfers_file,
    ):
        wallets, transfers = csv.writer(wallets_file), csv.writer(transfers_file)
        wallets.writerow(WALLET_HEADER)
        transfers.writerow(TRANSFER_HEADER)
        async for wallet_page, transfer_page in store.export_pages(page):
            for wallet in wallet_page:
                row = wallet_row(wallet)
                wallets.writerow(row)
                for label in row[1].split(";"):
                    labels[label] = labels.get(label, 0) + 1
            transfers.writerows(transfer_row(t) for t in transfer_page)
            nodes += len(wallet_page)
            relationships += len(transfer_page)
    for pattern in OTHER_FILES:  # an earlier export's
        for stale in out_dir.glob(pattern):
            stale.unlink()
    other_nodes, other_relationships = await _export_others(store, out_dir)
    script = out_dir / SCRIPT_FILE
    script.write_text(import_script(out_dir), encoding="utf-8")
    script.chmod(0o755)
    return {
        "format": "neo4j-admin",
        "out_dir": str(out_dir),
        "files": [
            str(wallets_path),
            str(transfers_path),
            *(str(out_dir / n) for _, n in _other_files(out_dir)),
            str(script),
        ],
        "nodes": nodes,
        "relationships": relationships,
        "other_nodes": other_nodes,
        "other_relationships": other_relationships,
        "labels": dict(sorted(labels.items())),
        "command": f"sh {shlex.quote(str(script))}",
    }
