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

WALLET_HEADER = [
    f"address:ID({ID_SPACE})", ":LABEL", "category", "name", "created_block:long", "symbol", "decimals:int",
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

# Neo4j 5 syntax; $DIR, $DATABASE and $OVERWRITE are set by import.sh.
IMPORT_COMMAND = f"""neo4j-admin database import full \\
  --nodes=Wallet="$DIR/{WALLETS_FILE}" \\
  --relationships=TRANSFER="$DIR/{TRANSFERS_FILE}" \\
  --id-type=string --delimiter=',' --array-delimiter=';' \\
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


def wallet_row(wallet: dict[str, Any]) -> list[Any]:
    labels = ["Wallet", *sorted(set(wallet["labels"]) - {"Wallet"})]
    return [
        wallet["address"],
        ";".join(labels),
        _text(wallet.get("category")),
        _text(wallet.get("name")),
        _int(wallet.get("created_block")),
        _text(wallet.get("symbol")),
        _int(wallet.get("decimals")),
    ]


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


def import_script() -> str:
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

{IMPORT_COMMAND}"""


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
    script = out_dir / SCRIPT_FILE
    script.write_text(import_script(), encoding="utf-8")
    script.chmod(0o755)
    return {
        "format": "neo4j-admin",
        "out_dir": str(out_dir),
        "files": [str(wallets_path), str(transfers_path), str(script)],
        "nodes": nodes,
        "relationships": relationships,
        "labels": dict(sorted(labels.items())),
        "command": f"sh {shlex.quote(str(script))}",
    }
