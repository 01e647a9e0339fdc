"""Every Cypher statement aidrop sends, in one place.

A `Statement` holds the text both dialects accept; `falkordb=` or `neo4j=` hold a variant
only where the dialects differ. The Neo4j texts are linted by Neo4j's own analyzer in the
test suite (tests/test_neo4j_lint.py), the FalkorDB ones run in the conformance suite.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Statement:
    name: str
    text: str
    falkordb: str | None = None
    neo4j: str | None = None

    def for_backend(self, backend: str) -> str:
        variant = self.falkordb if backend == "falkordb" else self.neo4j
        return variant if variant is not None else self.text


REGISTRY: dict[str, Statement] = {}


def stmt(name: str, text: str, *, falkordb: str | None = None, neo4j: str | None = None) -> Statement:
    if name in REGISTRY:
        raise ValueError(f"duplicate statement {name}")
    REGISTRY[name] = Statement(name, text.strip(), falkordb and falkordb.strip(), neo4j and neo4j.strip())
    return REGISTRY[name]


# ---- schema -------------------------------------------------------------------------------
# FalkorDB: the wallet index here, its unique constraint through GRAPH.CONSTRAINT (graph/falkor.py).
# No index or constraint on TRANSFER: on FalkorDB 4.16 any edge index halves the MERGE rate and the
# (hash, log_index) constraint cuts it to a third (docs/architecture.md). Transfer identity is kept
# unique by the write path instead: MERGE in serialised writes, de-duplication in the bulk path.
FALKOR_INDEXES = [
    stmt("index_wallet_address", "CREATE INDEX FOR (w:Wallet) ON (w.address)"),
    stmt("falkor_index_contract_category", "CREATE INDEX FOR (c:Contract) ON (c.category)"),
]
NEO4J_SCHEMA = [
    stmt(
        "constraint_wallet_address",
        "CREATE CONSTRAINT wallet_address IF NOT EXISTS FOR (w:Wallet) REQUIRE w.address IS UNIQUE",
    ),
    NEO4J_TRANSFER_IDENTITY := stmt(
        "constraint_transfer_identity",
        "CREATE CONSTRAINT transfer_identity IF NOT EXISTS "
        "FOR ()-[t:TRANSFER]-() REQUIRE (t.hash, t.log_index) IS UNIQUE",
    ),
    stmt(
        "index_transfer_time",
        "CREATE INDEX transfer_time IF NOT EXISTS FOR ()-[t:TRANSFER]-() ON (t.ts)",
    ),
    stmt(
        "index_transfer_block",
        "CREATE INDEX transfer_block IF NOT EXISTS FOR ()-[t:TRANSFER]-() ON (t.block)",
    ),
    stmt(
        "index_transfer_token",
        "CREATE INDEX transfer_token IF NOT EXISTS FOR ()-[t:TRANSFER]-() ON (t.token)",
    ),
    stmt(
        "index_contract_category",
        "CREATE INDEX contract_category IF NOT EXISTS FOR (c:Contract) ON (c.category)",
    ),
]

NEO4J_TRANSFER_IDENTITY_INDEX = stmt(
    "index_transfer_identity",
    "CREATE INDEX transfer_identity IF NOT EXISTS FOR ()-[t:TRANSFER]-() ON (t.hash, t.log_index)",
)

# ---- writes -------------------------------------------------------------------------------
# Columnar parameters (one list per column) parse about twice as fast on FalkorDB as a list of
# maps; projecting the row's values with WITH lets MERGE use the address index. One statement for
# wallets and transfers: 48k transfers/s against 33k with a separate wallet pass.
MERGE_TRANSFERS = stmt(
    "merge_transfers",
    """
UNWIND range(0, size($hash) - 1) AS i
WITH i, $from_address[i] AS f, $to_address[i] AS t, $hash[i] AS h, $log_index[i] AS li
MERGE (a:Wallet {address: f})
MERGE (b:Wallet {address: t})
MERGE (a)-[r:TRANSFER {hash: h, log_index: li}]->(b)
ON CREATE SET r.value = $value[i], r.value_raw = $value_raw[i], r.token = $token[i],
  r.ts = $ts[i], r.block = $block[i], r.status = $status[i], r.tx_count = $tx_count[i]
""",
)

UPSERT_CONTRACTS = stmt(
    "upsert_contracts",
    """
UNWIND $rows AS r
MERGE (w:Wallet {address: r.address})
SET w:Contract, w.category = coalesce(r.category, w.category), w.name = coalesce(r.name, w.name),
  w.created_block = coalesce(r.block, w.created_block)
""",
)

UPSERT_TOKENS = stmt(
    "upsert_tokens",
    """
UNWIND $rows AS r
MERGE (w:Wallet {address: r.address})
SET w:Token, w.symbol = coalesce(r.symbol, w.symbol), w.name = coalesce(r.name, w.name),
  w.decimals = coalesce(r.decimals, w.decimals)
""",
)

DELETE_ALL = stmt("delete_all", "MATCH (n) DETACH DELETE n")

# ---- reads --------------------------------------------------------------------------------
COUNT_NODES = stmt("count_nodes", "MATCH (n) RETURN count(n) AS n")

WALLET = stmt(
    "wallet",
    "MATCH (w:Wallet {address: $address}) RETURN labels(w) AS labels, properties(w) AS props",
)

TOKEN_DECIMALS = stmt(
    "token_decimals",
    "MATCH (w:Token) RETURN w.address AS address, w.decimals AS decimals",
)

_TRANSFER_FIELDS = """
RETURN a.address AS from_address, b.address AS to_address, t.hash AS hash,
  t.log_index AS log_index, t.value AS value, t.value_raw AS value_raw, t.token AS token,
  t.ts AS ts, t.block AS block, t.status AS status, t.tx_count AS tx_count
ORDER BY t.ts DESC, t.hash DESC, t.log_index DESC
LIMIT $first
"""
# Keyset paging, newest first: the cursor is the (ts, hash, log_index) of the last row seen.
# `t.ts + 0` keeps FalkorDB 4.16 from answering the OR through the edge indexes, which returns
# rows the predicate excludes (tests/test_store_conformance.py::test_paging_* catch it).
_TRANSFER_WHERE = """
WHERE t.ts >= $since AND t.ts <= $until
  AND (t.ts + 0 < $c_ts OR (t.ts + 0 = $c_ts AND (t.hash < $c_hash
       OR (t.hash = $c_hash AND t.log_index < $c_log))))
"""
TRANSFERS_OUT = stmt(
    "transfers_out",
    "MATCH (a:Wallet {address: $address})-[t:TRANSFER]->(b:Wallet)" + _TRANSFER_WHERE + _TRANSFER_FIELDS,
)
TRANSFERS_IN = stmt(
    "transfers_in",
    "MATCH (a:Wallet)-[t:TRANSFER]->(b:Wallet {address: $address})" + _TRANSFER_WHERE + _TRANSFER_FIELDS,
)

COUNTERPARTIES_OUT = stmt(
    "counterparties_out",
    """
MATCH (w:Wallet {address: $address})-[t:TRANSFER]->(o:Wallet)
RETURN o.address AS address, sum(t.tx_count) AS transfers,
  sum(CASE WHEN t.token = $native THEN t.value ELSE 0.0 END) AS value
""",
)
COUNTERPARTIES_IN = stmt(
    "counterparties_in",
    """
MATCH (w:Wallet {address: $address})<-[t:TRANSFER]-(o:Wallet)
RETURN o.address AS address, sum(t.tx_count) AS transfers,
  sum(CASE WHEN t.token = $native THEN t.value ELSE 0.0 END) AS value
""",
)

# Fan-in / fan-out: degree in transfers (edges) and in transactions (tx_count), distinct
# counterparties, native value, first and last time. One statement for one wallet or a page.
_FAN = """
OPTIONAL MATCH (w)-[o:TRANSFER]->(x:Wallet)
WITH w, count(o) AS out_degree, sum(o.tx_count) AS out_tx, count(DISTINCT x) AS out_cp,
  sum(CASE WHEN o.token = $native THEN o.value ELSE 0.0 END) AS out_value,
  min(o.ts) AS first_out, max(o.ts) AS last_out
OPTIONAL MATCH (w)<-[i:TRANSFER]-(y:Wallet)
RETURN w.address AS address, count(i) AS in_degree, sum(i.tx_count) AS in_tx,
  count(DISTINCT y) AS in_counterparties,
  sum(CASE WHEN i.token = $native THEN i.value ELSE 0.0 END) AS in_value,
  min(i.ts) AS first_in, max(i.ts) AS last_in,
  out_degree, out_tx, out_cp AS out_counterparties, out_value, first_out, last_out
"""
WALLET_FAN = stmt("wallet_fan", "MATCH (w:Wallet {address: $address})" + _FAN)
FAN_PAGE = stmt(
    "fan_page",
    "MATCH (w:Wallet) WHERE w.address > $after WITH w ORDER BY w.address LIMIT $first"
    + _FAN
    + "ORDER BY address",
)

NEIGHBOURS = stmt(
    "neighbours",
    """
MATCH (w:Wallet)-[t:TRANSFER]-(o:Wallet)
WHERE w.address IN $frontier AND NOT o.address IN $seen
WITH o.address AS address, count(t) AS n
ORDER BY n DESC, address
LIMIT $limit
RETURN address
""",
)
EDGES_AMONG = stmt(
    "edges_among",
    """
MATCH (a:Wallet)-[t:TRANSFER]->(b:Wallet)
WHERE a.address IN $addresses AND b.address IN $addresses
RETURN a.address AS from_address, b.address AS to_address, count(t) AS transfers,
  sum(CASE WHEN t.token = $native THEN t.value ELSE 0.0 END) AS value
""",
)

STATS_NODES = stmt(
    "stats_nodes",
    """
MATCH (w:Wallet)
RETURN count(w) AS wallets,
  sum(CASE WHEN 'Contract' IN labels(w) THEN 1 ELSE 0 END) AS contracts,
  sum(CASE WHEN 'Token' IN labels(w) THEN 1 ELSE 0 END) AS tokens
""",
)
STATS_TRANSFERS = stmt(
    "stats_transfers",
    """
MATCH ()-[t:TRANSFER]->()
RETURN count(t) AS transfers,
  sum(CASE WHEN t.token = $native THEN t.value ELSE 0.0 END) AS total_value,
  sum(CASE WHEN t.token <> $native THEN 1 ELSE 0 END) AS token_transfers
""",
)

# ---- export: wallets in keyset pages by address, then those wallets' out-transfers ----
EXPORT_WALLETS = stmt(
    "export_wallets",
    """
MATCH (w:Wallet) WHERE w.address > $after
RETURN w.address AS address, labels(w) AS labels, w.category AS category, w.name AS name,
  w.created_block AS created_block, w.symbol AS symbol, w.decimals AS decimals
ORDER BY address LIMIT $first
""",
)
EXPORT_TRANSFERS = stmt(
    "export_transfers",
    """
MATCH (a:Wallet)-[t:TRANSFER]->(b:Wallet) WHERE a.address IN $addresses
RETURN a.address AS from_address, b.address AS to_address, t.hash AS hash,
  t.log_index AS log_index, t.value AS value, t.value_raw AS value_raw, t.token AS token,
  t.ts AS ts, t.block AS block, t.status AS status, t.tx_count AS tx_count, t.token_id AS token_id
""",
)

# ---- chain ingestion ----------------------------------------------------------------------
# (:Chain {chain_id, done, head}): `done` is the block ranges already ingested ("0-99,200-250"),
# `head` the highest. (:Block {chain_id, number, hash, parent_hash, txs, senders}): the newest
# blocks of each chain (a reorg window) with their transaction hashes and the senders of their
# transfers, written before the transfers.
CHAIN_STATE = stmt(
    "chain_state",
    "MATCH (c:Chain {chain_id: $chain_id}) RETURN c.done AS done, c.head AS head",
)
SET_CHAIN_STATE = stmt(
    "set_chain_state",
    "MERGE (c:Chain {chain_id: $chain_id}) SET c.done = $done, c.head = $head",
)
CHAIN_BLOCKS = stmt(
    "chain_blocks",
    """
MATCH (b:Block {chain_id: $chain_id}) WHERE b.number >= $lo AND b.number <= $hi
RETURN properties(b) AS block
ORDER BY b.number
""",
)
MERGE_BLOCKS = stmt(
    "merge_blocks",
    """
UNWIND $rows AS r
MERGE (b:Block {chain_id: $chain_id, number: r.number})
SET b.hash = r.hash, b.parent_hash = r.parent_hash, b.txs = r.txs, b.senders = r.senders
""",
)
DELETE_BLOCKS = stmt(
    "delete_blocks",
    "MATCH (b:Block {chain_id: $chain_id}) WHERE b.number >= $lo AND b.number <= $hi DELETE b",
)
# Transfers of orphaned blocks, reached from their senders through the address index (FalkorDB
# keeps no edge index); matched by block and transaction hash, so that another chain's transfers
# in the same graph are never touched.
ORPHAN_WALLETS = stmt(
    "orphan_wallets",
    """
UNWIND $senders AS s
MATCH (a:Wallet {address: s})-[t:TRANSFER]->(b:Wallet)
WHERE t.block >= $lo AND t.block <= $hi AND t.hash IN $hashes
RETURN DISTINCT a.address AS from_address, b.address AS to_address
""",
)
DELETE_ORPHAN_TRANSFERS = stmt(
    "delete_orphan_transfers",
    """
UNWIND $senders AS s
MATCH (:Wallet {address: s})-[t:TRANSFER]->(:Wallet)
WHERE t.block >= $lo AND t.block <= $hi AND t.hash IN $hashes
DELETE t
""",
)
# Plain wallets left without any relationship (seen only in orphaned blocks).
DELETE_LONELY_WALLETS = stmt(
    "delete_lonely_wallets",
    """
UNWIND $addresses AS a
MATCH (w:Wallet {address: a}) WHERE size(labels(w)) = 1
OPTIONAL MATCH (w)-[r]-()
WITH w, count(r) AS n
WHERE n = 0
DELETE w
""",
)
# NFT transfers keep the token id (a decimal string: ids are up to 2**256).
SET_TOKEN_IDS = stmt(
    "set_token_ids",
    """
UNWIND range(0, size($hash) - 1) AS i
WITH i, $from_address[i] AS f
MATCH (:Wallet {address: f})-[t:TRANSFER {hash: $hash[i], log_index: $log_index[i]}]->(:Wallet)
SET t.token_id = $token_id[i]
""",
)


# ---- api ----------------------------------------------------------------------------------
# Reads of the GraphQL API (graph/api_reads.py): each takes a list of addresses, so that a list
# of wallets costs one statement per field whatever its length (DataLoaders batch the keys).
# UNWIND + MATCH on {address} uses the wallet index for every key.
WALLETS_BY_ADDRESS = stmt(
    "wallets_by_address",
    """
UNWIND $addresses AS a
MATCH (w:Wallet {address: a})
RETURN a AS address, labels(w) AS labels, properties(w) AS props
""",
)
FAN_BY_ADDRESS = stmt("fan_by_address", "UNWIND $addresses AS a MATCH (w:Wallet {address: a})" + _FAN)
COUNTERPARTIES_OUT_BY_ADDRESS = stmt(
    "counterparties_out_by_address",
    """
UNWIND $addresses AS a
MATCH (w:Wallet {address: a})-[t:TRANSFER]->(o:Wallet)
RETURN a AS wallet, o.address AS address, sum(t.tx_count) AS transfers,
  sum(CASE WHEN t.token = $native THEN t.value ELSE 0.0 END) AS value
""",
)
COUNTERPARTIES_IN_BY_ADDRESS = stmt(
    "counterparties_in_by_address",
    """
UNWIND $addresses AS a
MATCH (w:Wallet {address: a})<-[t:TRANSFER]-(o:Wallet)
RETURN a AS wallet, o.address AS address, sum(t.tx_count) AS transfers,
  sum(CASE WHEN t.token = $native THEN t.value ELSE 0.0 END) AS value
""",
)
# The first `$first` transfers of each wallet after the same keyset cursor, newest first.
_TRANSFER_ROWS = """
WITH a, t, f, b ORDER BY t.ts DESC, t.hash DESC, t.log_index DESC
WITH a, collect({from_address: f.address, to_address: b.address, hash: t.hash,
  log_index: t.log_index, value: t.value, value_raw: t.value_raw, token: t.token, ts: t.ts,
  block: t.block, status: t.status, tx_count: t.tx_count})[0..$first] AS rows
RETURN a AS wallet, rows
"""
TRANSFERS_OUT_BY_ADDRESS = stmt(
    "transfers_out_by_address",
    "UNWIND $addresses AS a MATCH (f:Wallet {address: a})-[t:TRANSFER]->(b:Wallet)"
    + _TRANSFER_WHERE
    + _TRANSFER_ROWS,
)
TRANSFERS_IN_BY_ADDRESS = stmt(
    "transfers_in_by_address",
    "UNWIND $addresses AS a MATCH (f:Wallet)-[t:TRANSFER]->(b:Wallet {address: a})"
    + _TRANSFER_WHERE
    + _TRANSFER_ROWS,
)
# `wallets(filter, first, after)`: keyset pages by address; a null parameter leaves its test out.
_WALLET_FILTER = """
WHERE w.address > $after
  AND ($typology IS NULL OR w.typology = $typology)
  AND ($cluster IS NULL OR w.cluster = $cluster)
  AND ($flagged IS NULL OR w.anomaly_flagged = $flagged)
  AND ($min_score IS NULL OR w.anomaly_score >= $min_score)
  AND ($label IS NULL OR $label IN labels(w))
  AND ($category IS NULL OR w.category = $category)
"""
WALLET_PAGE = stmt(
    "wallet_page",
    "MATCH (w:Wallet)" + _WALLET_FILTER + "RETURN w.address AS address ORDER BY address LIMIT $first",
)
WALLET_COUNT = stmt("wallet_count", "MATCH (w:Wallet)" + _WALLET_FILTER + "RETURN count(w) AS n")
TOP_ANOMALIES = stmt(
    "top_anomalies",
    """
MATCH (w:Wallet)
WHERE w.anomaly_score IS NOT NULL AND ($model IS NULL OR w.anomaly_model = $model)
RETURN w.address AS address, w.anomaly_score AS score
ORDER BY score DESC, address
LIMIT $first
""",
)
CLUSTER_COUNTS = stmt(
    "cluster_counts",
    """
MATCH (w:Wallet) WHERE w.cluster IS NOT NULL
RETURN w.cluster AS cluster, count(w) AS wallets, avg(w.anomaly_score) AS mean_anomaly,
  sum(CASE WHEN w.anomaly_flagged THEN 1 ELSE 0 END) AS flagged
ORDER BY cluster
""",
)
TYPOLOGY_COUNTS = stmt(
    "typology_counts",
    """
MATCH (w:Wallet) WHERE w.typology IS NOT NULL
RETURN w.typology AS code, count(w) AS wallets
ORDER BY wallets DESC, code
""",
)
# The result of one analysis job, written once: a job that runs again after a crash (the same
# job id) finds its own id on the node and writes nothing.
WRITE_ANALYSIS = stmt(
    "write_analysis",
    """
MATCH (w:Wallet {address: $address})
WITH w WHERE coalesce(w.analysis_job, '') <> $job
SET w += $props, w.analysis_job = $job, w.analysis_count = coalesce(w.analysis_count, 0) + 1
RETURN w.analysis_count AS count
""",
)
