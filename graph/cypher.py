"""Every Cypher statement aidrop sends, in one place.

A `Statement` holds the text both dialects accept; `falkordb=` or `neo4j=` hold a variant
only where the dialects differ. The Neo4j texts are linted by Neo4j's own analyzer in the
test suite (tests/test_neo4j_lint.py), the FalkorDB ones run in the conformance suite.
"""

from __future__ import annotations

from dataclasses import dataclass

from graph.model import CATEGORIES


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
# FalkorDB's schema procedures: which indexes and unique constraints are built (OPERATIONAL).
FALKOR_SCHEMA_READS = [
    FALKOR_INDEX_STATES := stmt("falkor_index_states", "CALL db.indexes() YIELD status"),
    FALKOR_CONSTRAINTS := stmt(
        "falkor_constraints", "CALL db.constraints() YIELD type, label, properties, entitytype, status"
    ),
]
# Schema of earlier versions, dropped first: before chain ids the transfer identity was (hash,
# log_index), and that constraint (or its index on Neo4j < 5.7) would refuse the same hash on a
# second chain.
NEO4J_RETIRED = [
    stmt("drop_constraint_transfer_identity_v1", "DROP CONSTRAINT transfer_identity IF EXISTS"),
    stmt("drop_index_transfer_identity_v1", "DROP INDEX transfer_identity IF EXISTS"),
]
NEO4J_SCHEMA = [
    stmt(
        "constraint_wallet_address",
        "CREATE CONSTRAINT wallet_address IF NOT EXISTS FOR (w:Wallet) REQUIRE w.address IS UNIQUE",
    ),
    NEO4J_TRANSFER_IDENTITY := stmt(
        "constraint_transfer_identity",
        "CREATE CONSTRAINT transfer_chain_identity IF NOT EXISTS "
        "FOR ()-[t:TRANSFER]-() REQUIRE (t.chain, t.hash, t.log_index) IS UNIQUE",
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
    "CREATE INDEX transfer_chain_identity IF NOT EXISTS "
    "FOR ()-[t:TRANSFER]-() ON (t.chain, t.hash, t.log_index)",
)

# ---- writes -------------------------------------------------------------------------------
# Columnar parameters (one list per column) parse about twice as fast on FalkorDB as a list of
# maps; projecting the row's values with WITH lets MERGE use the address index. One statement for
# wallets and transfers: 48k transfers/s against 33k with a separate wallet pass. A batch is of one
# chain ($chain): wallets are one node per address across chains, transfers are per chain.
_SET_TRANSFER = """
ON CREATE SET r.value = $value[i], r.value_raw = $value_raw[i], r.token = $token[i],
  r.ts = $ts[i], r.block = $block[i], r.status = $status[i], r.tx_count = $tx_count[i], r.fee = $fee[i]
"""
# Neo4j: the wallets first, in a subquery, then the transfers between them. With the three MERGEs
# in one pipeline Neo4j's planner puts an Eager (a full materialisation) between them for every row.
MERGE_TRANSFERS = stmt(
    "merge_transfers",
    """
UNWIND range(0, size($hash) - 1) AS i
WITH i, $from_address[i] AS f, $to_address[i] AS t, $hash[i] AS h, $log_index[i] AS li
MERGE (a:Wallet {address: f})
MERGE (b:Wallet {address: t})
MERGE (a)-[r:TRANSFER {chain: $chain, hash: h, log_index: li}]->(b)
"""
    + _SET_TRANSFER,
    neo4j="""
CALL () {
  UNWIND $from_address + $to_address AS address
  WITH DISTINCT address
  MERGE (:Wallet {address: address})
}
UNWIND range(0, size($hash) - 1) AS i
MATCH (a:Wallet {address: $from_address[i]})
MATCH (b:Wallet {address: $to_address[i]})
MERGE (a)-[r:TRANSFER {chain: $chain, hash: $hash[i], log_index: $log_index[i]}]->(b)
"""
    + _SET_TRANSFER,
)

# Contracts and tokens are per chain: (w:Wallet)-[:ON_CHAIN {contract, token, category, name,
# created_block, symbol, decimals}]->(:Chain {chain_id}) says what the address is on that chain.
# The wallet keeps the labels (a contract or token on some chain) and the latest values as its own
# properties, which chain-blind reads use; `created_chain` says which chain `created_block` counts.
UPSERT_CONTRACTS = stmt(
    "upsert_contracts",
    """
MERGE (c:Chain {chain_id: $chain})
WITH c
UNWIND $rows AS r
MERGE (w:Wallet {address: r.address})
SET w:Contract, w.category = coalesce(r.category, w.category), w.name = coalesce(r.name, w.name),
  w.created_chain = CASE WHEN r.block IS NULL THEN w.created_chain ELSE $chain END,
  w.created_block = coalesce(r.block, w.created_block)
MERGE (w)-[d:ON_CHAIN]->(c)
SET d.contract = true, d.category = coalesce(r.category, d.category), d.name = coalesce(r.name, d.name),
  d.created_block = coalesce(r.block, d.created_block)
""",
)

UPSERT_TOKENS = stmt(
    "upsert_tokens",
    """
MERGE (c:Chain {chain_id: $chain})
WITH c
UNWIND $rows AS r
MERGE (w:Wallet {address: r.address})
SET w:Token, w.symbol = coalesce(r.symbol, w.symbol), w.name = coalesce(r.name, w.name),
  w.decimals = coalesce(r.decimals, w.decimals)
MERGE (w)-[d:ON_CHAIN]->(c)
SET d.token = true, d.symbol = coalesce(r.symbol, d.symbol), d.name = coalesce(r.name, d.name),
  d.decimals = coalesce(r.decimals, d.decimals)
""",
)

DELETE_ALL = stmt(
    "delete_all",
    "MATCH (n) DETACH DELETE n",
    # Neo4j holds one transaction's deletes in memory: delete a large graph in batches.
    neo4j="MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS",
)

# ---- reads --------------------------------------------------------------------------------
COUNT_NODES = stmt("count_nodes", "MATCH (n) RETURN count(n) AS n")

TOKEN_DECIMALS = stmt(
    "token_decimals",
    """
MATCH (w:Token)-[d:ON_CHAIN]->(:Chain {chain_id: $chain})
WHERE d.token = true
RETURN w.address AS address, d.decimals AS decimals
""",
)

# Keyset paging, newest first: the cursor is the (ts, hash, log_index, chain) of the last row seen.
# `t.ts + 0` keeps FalkorDB 4.16 from answering the OR through the edge indexes, which returns
# rows the predicate excludes (tests/test_store_conformance.py::test_paging_* catch it).
# A null $chain reads every chain.
_TRANSFER_WHERE = """
WHERE t.ts >= $since AND t.ts <= $until AND ($chain IS NULL OR t.chain = $chain)
  AND (t.ts + 0 < $c_ts OR (t.ts + 0 = $c_ts AND (t.hash < $c_hash
       OR (t.hash = $c_hash AND (t.log_index < $c_log OR (t.log_index = $c_log AND t.chain < $c_chain))))))
"""
# Fan-in / fan-out: degree in transfers (edges) and in transactions (tx_count), distinct
# counterparties, native value, first and last time. One statement for one wallet or a page.
_FAN = """
OPTIONAL MATCH (w)-[o:TRANSFER]->(x:Wallet) WHERE $chain IS NULL OR o.chain = $chain
WITH w, count(o) AS out_degree, sum(o.tx_count) AS out_tx, count(DISTINCT x) AS out_cp,
  sum(CASE WHEN o.token = $native THEN o.value ELSE 0.0 END) AS out_value,
  min(o.ts) AS first_out, max(o.ts) AS last_out
OPTIONAL MATCH (w)<-[i:TRANSFER]-(y:Wallet) WHERE $chain IS NULL OR i.chain = $chain
RETURN w.address AS address, count(i) AS in_degree, sum(i.tx_count) AS in_tx,
  count(DISTINCT y) AS in_counterparties,
  sum(CASE WHEN i.token = $native THEN i.value ELSE 0.0 END) AS in_value,
  min(i.ts) AS first_in, max(i.ts) AS last_in,
  out_degree, out_tx, out_cp AS out_counterparties, out_value, first_out, last_out
"""
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
WHERE w.address IN $frontier AND NOT o.address IN $seen AND ($chain IS NULL OR t.chain = $chain)
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
WHERE a.address IN $addresses AND b.address IN $addresses AND ($chain IS NULL OR t.chain = $chain)
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
  w.created_block AS created_block, w.symbol AS symbol, w.decimals AS decimals, properties(w) AS props
ORDER BY address LIMIT $first
""",
)
EXPORT_TRANSFERS = stmt(
    "export_transfers",
    """
MATCH (a:Wallet)-[t:TRANSFER]->(b:Wallet) WHERE a.address IN $addresses
RETURN a.address AS from_address, b.address AS to_address, t.hash AS hash,
  t.log_index AS log_index, t.value AS value, t.value_raw AS value_raw, t.token AS token,
  t.ts AS ts, t.block AS block, t.status AS status, t.tx_count AS tx_count, t.fee AS fee,
  t.token_id AS token_id, t.chain AS chain
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
# keeps no edge index); matched by chain, block and transaction hash, so that another chain's
# transfers in the same graph are never touched.
ORPHAN_WALLETS = stmt(
    "orphan_wallets",
    """
UNWIND $senders AS s
MATCH (a:Wallet {address: s})-[t:TRANSFER]->(b:Wallet)
WHERE t.chain = $chain_id AND t.block >= $lo AND t.block <= $hi AND t.hash IN $hashes
RETURN DISTINCT a.address AS from_address, b.address AS to_address
""",
)
DELETE_ORPHAN_TRANSFERS = stmt(
    "delete_orphan_transfers",
    """
UNWIND $senders AS s
MATCH (:Wallet {address: s})-[t:TRANSFER]->(:Wallet)
WHERE t.chain = $chain_id AND t.block >= $lo AND t.block <= $hi AND t.hash IN $hashes
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
WITH i, $from_address[i] AS f, $hash[i] AS h, $log_index[i] AS li
MATCH (:Wallet {address: f})-[t:TRANSFER {chain: $chain_id, hash: h, log_index: li}]->(:Wallet)
SET t.token_id = $token_id[i]
""",
)

# ---- reads of given wallets, and the API's --------------------------------------------------
# GraphStore's wallet reads (graph/store.py) take a list of addresses, so that a list of wallets
# costs one statement per field whatever its length (the API's DataLoaders batch the keys); a
# single wallet is a list of one. UNWIND + MATCH on {address} uses the wallet index for every key.
# The API's own reads (filtered pages, counts) follow (graph/api_reads.py).
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
WHERE $chain IS NULL OR t.chain = $chain
RETURN a AS wallet, o.address AS address, sum(t.tx_count) AS transfers,
  sum(CASE WHEN t.token = $native THEN t.value ELSE 0.0 END) AS value
""",
)
COUNTERPARTIES_IN_BY_ADDRESS = stmt(
    "counterparties_in_by_address",
    """
UNWIND $addresses AS a
MATCH (w:Wallet {address: a})<-[t:TRANSFER]-(o:Wallet)
WHERE $chain IS NULL OR t.chain = $chain
RETURN a AS wallet, o.address AS address, sum(t.tx_count) AS transfers,
  sum(CASE WHEN t.token = $native THEN t.value ELSE 0.0 END) AS value
""",
)
# The first `$first` transfers of each wallet after the same keyset cursor, newest first.
_TRANSFER_ROWS = """
WITH a, t, f, b ORDER BY t.ts DESC, t.hash DESC, t.log_index DESC, t.chain DESC
WITH a, collect({from_address: f.address, to_address: b.address, hash: t.hash,
  log_index: t.log_index, value: t.value, value_raw: t.value_raw, token: t.token, ts: t.ts,
  block: t.block, status: t.status, tx_count: t.tx_count, fee: coalesce(t.fee, 0.0),
  chain: t.chain})[0..$first] AS rows
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

# ---- marketing ----------------------------------------------------------------------------
# Segments, campaigns and their snapshots (graph/marketing.py, docs/marketing.md):
# (:Segment {id})-[:INCLUDES]->(:Wallet), (:Campaign {id})-[:TARGETS {group}]->(:Wallet),
# (:Campaign)-[:HAS_SNAPSHOT]->(:Snapshot {campaign_id, name})-[:MEASURED {tx, ...}]->(:Wallet).
#
# A segment filter is evaluated by one statement. Its text is one of a few fixed variants
# (all registered here, so all linted): the wallets come from a scan or from an address list
# (UNWIND over the index); transfers are read only when a filter needs them. Every value is a
# parameter; a null parameter leaves its test out. Typology patterns are lists of axis letters,
# '*' for any (`D-*-A-*` -> ['D', '*', 'A', '*']).
_CATS = "[" + ", ".join(f"'{c}'" for c in CATEGORIES) + "]"  # a list literal, same order
_SEGMENT_SOURCES = {
    "scan": "MATCH (w:Wallet)\n",
    "list": "UNWIND $addresses AS a\nMATCH (w:Wallet {address: a})\n",
}
_SEGMENT_WHERE = """
WHERE NOT w:Contract AND NOT w:Token AND w.address <> '0x0000000000000000000000000000000000000000'
  AND ($typologies IS NULL OR any(p IN $typologies WHERE size(p) = size(split(w.typology, '-'))
       AND all(i IN range(0, size(p) - 1) WHERE p[i] = '*' OR p[i] = split(w.typology, '-')[i])))
  AND ($clusters IS NULL OR w.cluster IN $clusters)
  AND ($min_anomaly IS NULL OR w.anomaly_score >= $min_anomaly)
  AND ($max_anomaly IS NULL OR w.anomaly_score <= $max_anomaly)
  AND ($include_flagged OR coalesce(w.anomaly_flagged, false) = false)
  AND ($chain IS NULL OR $chain IN coalesce(w.chains, $chains))
  AND ($include_sybil OR w.sybil_cluster IS NULL)
  AND ($max_exposure IS NULL OR coalesce(w.exposure_risk, 0.0) < $max_exposure)
  AND ($min_churn IS NULL OR coalesce(w.churn_risk, -1.0) >= $min_churn)
  AND ($min_propensity IS NULL OR all(k IN range(0, size($min_propensity) - 1)
       WHERE $min_propensity[k] < 0 OR coalesce(w.propensity[k], -1.0) >= $min_propensity[k]))
"""
# Activity tests read the wallet's activity summary (graph/activity.py), not its transfers:
# recency and categories to the second (last transfer, last contact per category), native volume
# by whole UTC days from the day of $since. $since is -2^62 when no window is given.
_SEGMENT_ACTIVITY = f"""
  AND ($active IS NULL OR w.last_ts >= $active)
  AND ($categories IS NULL OR any(k IN range(0, {len(CATEGORIES) - 1})
       WHERE {_CATS}[k] IN $categories AND w.category_ts[k] > 0 AND w.category_ts[k] >= $since))
WITH w, reduce(v = 0.0, k IN range(0, size(coalesce(w.activity_days, [])) - 1) |
  CASE WHEN w.activity_days[k] >= $since_day THEN v + w.activity_value[k] ELSE v END) AS volume
WHERE $min_volume IS NULL OR volume >= $min_volume
"""
_SEGMENT_TAILS = {
    "rows": """
RETURN w.address AS address, w.typology AS typology, w.cluster AS cluster,
  w.anomaly_score AS anomaly_score, coalesce(w.anomaly_flagged, false) AS flagged, {volume} AS volume
ORDER BY address
""",
    "counts": "RETURN w.typology AS typology, count(w) AS wallets ORDER BY wallets DESC, typology",
}
# FalkorDB: the rows as one JSON list (SEGMENT_ROW order): 92k members in 0.9 s instead of 2 s,
# most of it saved in the client, which otherwise decodes every value on its own.
SEGMENT_ROW = ("address", "typology", "cluster", "anomaly_score", "flagged", "volume")
_SEGMENT_ROWS_JSON = """
WITH w, {volume} AS volume ORDER BY w.address
RETURN toJSON(collect([w.address, w.typology, w.cluster, w.anomaly_score,
  coalesce(w.anomaly_flagged, false), volume])) AS rows
"""


def _segment(source: str, activity: bool, tail: str) -> Statement:
    head = _SEGMENT_SOURCES[source] + _SEGMENT_WHERE.rstrip("\n") + (_SEGMENT_ACTIVITY if activity else "\n")
    volume = "volume" if activity else "null"
    return stmt(
        f"segment_{tail}_{source}{'_activity' if activity else ''}",
        head + _SEGMENT_TAILS[tail].replace("{volume}", volume),
        falkordb=head + _SEGMENT_ROWS_JSON.replace("{volume}", volume) if tail == "rows" else None,
    )


SEGMENT_QUERIES = {
    (source, activity, tail): _segment(source, activity, tail)
    for source in _SEGMENT_SOURCES
    for activity in (False, True)
    for tail in _SEGMENT_TAILS
}

SAVE_SEGMENT = stmt(
    "save_segment",
    """
MERGE (s:Segment {id: $id})
SET s += $props
""",
)
CLEAR_SEGMENT_MEMBERS = stmt(
    "clear_segment_members",
    "MATCH (:Segment {id: $id})-[r:INCLUDES]->(:Wallet) DELETE r",
)
ADD_SEGMENT_MEMBERS = stmt(
    "add_segment_members",
    """
MATCH (s:Segment {id: $id})
UNWIND $addresses AS a
MATCH (w:Wallet {address: a})
CREATE (s)-[:INCLUDES]->(w)
""",
)
SEGMENTS = stmt(
    "segments",
    "MATCH (s:Segment) RETURN properties(s) AS segment ORDER BY s.created_at DESC, s.id",
)
SEGMENT = stmt("segment", "MATCH (s:Segment {id: $id}) RETURN properties(s) AS segment")
SEGMENT_MEMBERS = stmt(
    "segment_members",
    """
MATCH (:Segment {id: $id})-[:INCLUDES]->(w:Wallet)
RETURN w.address AS address, w.typology AS typology, w.cluster AS cluster,
  w.anomaly_score AS anomaly_score, coalesce(w.anomaly_flagged, false) AS flagged, null AS volume
ORDER BY address
""",
)
DELETE_SEGMENT = stmt("delete_segment", "MATCH (s:Segment {id: $id}) DETACH DELETE s")

# A campaign is created once: MERGE tells a new id from a taken one (nodes created).
CREATE_CAMPAIGN = stmt(
    "create_campaign",
    """
MERGE (c:Campaign {id: $id})
ON CREATE SET c += $props
""",
)
LINK_CAMPAIGN_SEGMENT = stmt(
    "link_campaign_segment",
    """
MATCH (c:Campaign {id: $id})
WITH c
MATCH (s:Segment {id: $segment})
MERGE (c)-[:FROM_SEGMENT]->(s)
""",
)
# r.propensity: the first-use propensities (CATEGORIES order) aidrop predicted for the wallet when
# the campaign took it, for the report's lift by propensity decile.
ADD_CAMPAIGN_TARGETS = stmt(
    "add_campaign_targets",
    """
MATCH (c:Campaign {id: $id})
UNWIND range(0, size($addresses) - 1) AS i
WITH c, $addresses[i] AS a, $groups[i] AS g
MATCH (w:Wallet {address: a})
MERGE (c)-[r:TARGETS]->(w)
SET r.group = g, r.propensity = w.propensity
""",
)
CAMPAIGNS = stmt(
    "campaigns",
    "MATCH (c:Campaign) RETURN properties(c) AS campaign ORDER BY c.created_at DESC, c.id",
)
CAMPAIGN = stmt("campaign", "MATCH (c:Campaign {id: $id}) RETURN properties(c) AS campaign")
# Where the campaign's latest report is (a blob key) and when it was written.
SET_CAMPAIGN_REPORT = stmt(
    "set_campaign_report",
    "MATCH (c:Campaign {id: $id}) SET c.report_key = $key, c.report_at = $at",
)
CAMPAIGN_TARGETS = stmt(
    "campaign_targets",
    """
MATCH (:Campaign {id: $id})-[r:TARGETS]->(w:Wallet)
RETURN w.address AS address, r.group AS group, w.typology AS typology, r.propensity AS propensity
ORDER BY address
""",
)
DELETE_CAMPAIGN = stmt(
    "delete_campaign",
    """
MATCH (c:Campaign {id: $id})
OPTIONAL MATCH (c)-[:HAS_SNAPSHOT]->(s:Snapshot)
DETACH DELETE s, c
""",
)

# Snapshots: one per (campaign, name). The first caller creates it `pending` with its claim
# token, measures, and marks it `done`; any other caller gets the existing node back.
CLAIM_SNAPSHOT = stmt(
    "claim_snapshot",
    """
MATCH (c:Campaign {id: $campaign})
MERGE (c)-[:HAS_SNAPSHOT]->(s:Snapshot {campaign_id: $campaign, name: $name})
ON CREATE SET s.at = $at, s.claim = $claim, s.claimed_at = $now, s.status = 'pending'
""",
)
# A pending snapshot whose taker stopped (crash) is taken over after a while.
RECLAIM_SNAPSHOT = stmt(
    "reclaim_snapshot",
    """
MATCH (s:Snapshot {campaign_id: $campaign, name: $name})
WHERE s.status = 'pending' AND s.claimed_at < $stale_before
SET s.claim = $claim, s.claimed_at = $now
""",
)
# Per target, from its transfers up to $at: transactions sent, native value sent and the
# counterparties paid in the window ($since, $at]; goal interactions (successful calls of a goal
# contract or a contract of a goal category) in ($start, $at].
MEASURE_OUT = stmt(
    "measure_out",
    """
UNWIND $addresses AS a
MATCH (w:Wallet {address: a})
OPTIONAL MATCH (w)-[t:TRANSFER]->(o:Wallet)
WHERE t.ts > $lo AND t.ts <= $at
WITH a, t, o, t.ts > $since AS window,
  (t.status = 1 AND t.ts > $start
   AND (o.address IN $goal_contracts OR o.category IN $goal_categories)) AS goal
RETURN a AS address,
  count(DISTINCT CASE WHEN window THEN t.hash END) AS tx,
  sum(CASE WHEN window AND t.token = $native THEN t.value ELSE 0.0 END) AS sent,
  collect(DISTINCT CASE WHEN window THEN o.address END) AS paid,
  sum(CASE WHEN goal THEN 1 ELSE 0 END) AS goal_tx,
  min(CASE WHEN goal THEN t.ts END) AS first_goal
""",
)
MEASURE_IN = stmt(
    "measure_in",
    """
UNWIND $addresses AS a
MATCH (w:Wallet {address: a})
OPTIONAL MATCH (w)<-[t:TRANSFER]-(o:Wallet)
WHERE t.ts > $since AND t.ts <= $at
RETURN a AS address, sum(CASE WHEN t.token = $native THEN t.value ELSE 0.0 END) AS received,
  collect(DISTINCT o.address) AS payers
""",
)
WRITE_MEASURES = stmt(
    "write_measures",
    """
MATCH (s:Snapshot {campaign_id: $campaign, name: $name})
WHERE s.claim = $claim
UNWIND range(0, size($address) - 1) AS i
WITH s, i, $address[i] AS a
MATCH (w:Wallet {address: a})
MERGE (s)-[m:MEASURED]->(w)
SET m.tx = $tx[i], m.volume = $volume[i], m.counterparties = $counterparties[i],
  m.goal_tx = $goal_tx[i], m.first_goal = $first_goal[i]
""",
)
FINISH_SNAPSHOT = stmt(
    "finish_snapshot",
    """
MATCH (s:Snapshot {campaign_id: $campaign, name: $name})
WHERE s.claim = $claim
SET s += $props, s.status = 'done'
""",
)
SNAPSHOT_BY_NAME = stmt(
    "snapshot_by_name",
    "MATCH (s:Snapshot {campaign_id: $campaign, name: $name}) RETURN properties(s) AS snapshot",
)
SNAPSHOTS = stmt(
    "snapshots",
    """
MATCH (:Campaign {id: $campaign})-[:HAS_SNAPSHOT]->(s:Snapshot)
RETURN properties(s) AS snapshot
ORDER BY s.at, s.name
""",
)
SNAPSHOT_ROWS = stmt(
    "snapshot_rows",
    """
MATCH (:Snapshot {campaign_id: $campaign, name: $name})-[m:MEASURED]->(w:Wallet)
RETURN w.address AS address, m.tx AS tx, m.volume AS volume, m.counterparties AS counterparties,
  m.goal_tx AS goal_tx, m.first_goal AS first_goal
ORDER BY address
""",
)


# ---- wallet intelligence ----
# Read by graph/features.py, graph/ppr.py and graph/scores.py for ml/ (docs/ml.md).
# Every wallet that sent anything, with its out-transfers as columns (one list per field: a
# list per wallet is about 4x cheaper for FalkorDB to return than a row per transfer; coalesce
# keeps the lists aligned, since collect drops nulls), and what
# the database aggregates better than the transfers it would otherwise return: failed sends,
# calls to contracts and to contracts younger than $young_blocks at the time. One statement:
# keyset pages (ORDER BY address) cost more than they save up to millions of transfers.
_OUT_EDGES = """
MATCH (a:Wallet)-[t:TRANSFER]->(b:Wallet)
WHERE $chain IS NULL OR t.chain = $chain
WITH a, collect(b.address) AS dst, collect(coalesce(t.ts, 0)) AS ts,
  collect(coalesce(t.value, 0.0)) AS value, collect(coalesce(t.token, $native)) AS token,
  collect(coalesce(t.tx_count, 1)) AS tx_count, collect(coalesce(t.fee, 0.0)) AS fee,
  sum(CASE WHEN t.status = 0 THEN t.tx_count ELSE 0 END) AS failed_out,
  sum(CASE WHEN b.created_block IS NULL THEN 0 ELSE 1 END) AS contract_calls,
  sum(CASE WHEN b.created_block IS NOT NULL AND t.block >= 0 AND coalesce(b.created_chain, 1) = t.chain
      AND t.block - b.created_block < $young_blocks THEN 1 ELSE 0 END) AS young_calls
RETURN a.address AS address, {lists}, failed_out, contract_calls, young_calls
"""
# FalkorDB returns each list as one JSON string (toJSON): 3 s instead of 16 s for 1M transfers,
# most of it saved in the client, which otherwise decodes every value on its own.
ML_OUT_EDGES = stmt(
    "ml_out_edges",
    _OUT_EDGES.replace("{lists}", "dst, ts, value, token, tx_count, fee"),
    falkordb=_OUT_EDGES.replace(
        "{lists}",
        "toJSON(dst) AS dst, toJSON(ts) AS ts, toJSON(value) AS value, toJSON(token) AS token,\n"
        "  toJSON(tx_count) AS tx_count, toJSON(fee) AS fee",
    ),
)
# Fan-in / fan-out of every wallet in the database (bench/scoring.py measures it against the
# same figures from the transfers ML_OUT_EDGES returns; ml/ uses whichever is cheaper).
ML_OUT_AGGREGATES = stmt(
    "ml_out_aggregates",
    """
MATCH (a:Wallet)-[t:TRANSFER]->(b:Wallet)
WHERE $chain IS NULL OR t.chain = $chain
RETURN a.address AS address, count(t) AS out_degree, sum(t.tx_count) AS out_tx,
  count(DISTINCT b) AS out_counterparties,
  sum(CASE WHEN t.token = $native THEN t.value ELSE 0.0 END) AS out_value,
  min(t.ts) AS first_out, max(t.ts) AS last_out
""",
)
ML_IN_AGGREGATES = stmt(
    "ml_in_aggregates",
    """
MATCH (a:Wallet)-[t:TRANSFER]->(b:Wallet)
WHERE $chain IS NULL OR t.chain = $chain
RETURN b.address AS address, count(t) AS in_degree, sum(t.tx_count) AS in_tx,
  count(DISTINCT a) AS in_counterparties,
  sum(CASE WHEN t.token = $native THEN t.value ELSE 0.0 END) AS in_value,
  min(t.ts) AS first_in, max(t.ts) AS last_in
""",
)
# Wallets without any transfer (contracts and tokens known from metadata only).
ML_WALLET_COUNT = stmt("ml_wallet_count", "MATCH (w:Wallet) RETURN count(w) AS n")
ML_WALLETS = stmt("ml_wallets", "MATCH (w:Wallet) RETURN w.address AS address")
ML_CONTRACTS = stmt(
    "ml_contracts",
    """
MATCH (w:Contract)
RETURN w.address AS address, w.category AS category, w.name AS name, w.created_block AS created_block
""",
)
ML_TOKENS = stmt(
    "ml_tokens",
    "MATCH (w:Token) RETURN w.address AS address, w.symbol AS symbol, w.decimals AS decimals",
)

# Personalised PageRank in Cypher (FalkorDB; Neo4j uses GDS below). Scratch properties ppr_*
# on every wallet: out-weight (sum of tx_count), restart vector p0, estimate p, residual r,
# the mass being pushed this round, and x/next for power iteration. Weighted by tx_count.
# Writes and reads are separate statements: FalkorDB reads run read-only.
PPR_PREPARE = stmt(
    "ppr_prepare",
    """
MATCH (w:Wallet)
OPTIONAL MATCH (w)-[o:TRANSFER]->(:Wallet)
WITH w, sum(o.tx_count) AS outw
OPTIONAL MATCH (w)<-[i:TRANSFER]-(:Wallet)
WITH w, outw, count(i) AS indeg
SET w.ppr_outw = toFloat(outw), w.ppr_p0 = CASE WHEN indeg = 0 THEN 1.0 ELSE 0.0 END
""",
)
PPR_COUNTS = stmt(
    "ppr_counts",
    "MATCH (w:Wallet) RETURN count(w) AS wallets, sum(w.ppr_p0) AS sources",
)
# Restart vector: uniform over the sources (or over every wallet when $all), as a distribution.
PPR_SEED = stmt(
    "ppr_seed",
    """
MATCH (w:Wallet)
WITH w, CASE WHEN $all THEN 1.0 / $n ELSE w.ppr_p0 / $n END AS p0
SET w.ppr_p0 = p0, w.ppr_r = p0, w.ppr_x = p0, w.ppr_p = 0.0, w.ppr_push = 0.0, w.ppr_next = 0.0
""",
)
PPR_POWER_SPREAD = stmt(
    "ppr_power_spread",
    """
MATCH (a:Wallet)-[t:TRANSFER]->(b:Wallet)
WHERE a.ppr_x > 0.0
WITH b, sum(a.ppr_x * t.tx_count / a.ppr_outw) AS m
SET b.ppr_next = m
""",
)
PPR_DANGLING = stmt(
    "ppr_dangling",
    "MATCH (w:Wallet) WHERE w.ppr_outw = 0.0 RETURN sum(w.ppr_x) AS mass",
)
PPR_POWER_UPDATE = stmt(
    "ppr_power_update",
    """
MATCH (w:Wallet)
SET w.ppr_x = $alpha * w.ppr_p0 + (1.0 - $alpha) * (w.ppr_next + $dangling * w.ppr_p0), w.ppr_next = 0.0
""",
)
# Push (residual) rounds: every wallet whose residual exceeds eps times its out-weight keeps
# alpha of it and passes the rest along its transfers; dangling wallets return theirs to p0.
_PUSHING = "MATCH (u:Wallet) WHERE u.ppr_r > $eps * CASE WHEN u.ppr_outw > 1.0 THEN u.ppr_outw ELSE 1.0 END"
PPR_PUSH_COUNT = stmt(
    "ppr_push_count",
    _PUSHING
    + """
RETURN count(u) AS pushed, sum(CASE WHEN u.ppr_outw = 0.0 THEN u.ppr_r ELSE 0.0 END) AS dangling
""",
)
PPR_PUSH_TAKE = stmt(
    "ppr_push_take",
    _PUSHING
    + """
SET u.ppr_p = u.ppr_p + $alpha * u.ppr_r, u.ppr_push = u.ppr_r, u.ppr_r = 0.0
""",
)
PPR_PUSH_SPREAD = stmt(
    "ppr_push_spread",
    """
MATCH (u:Wallet)-[t:TRANSFER]->(v:Wallet)
WHERE u.ppr_push > 0.0
WITH v, sum(u.ppr_push * t.tx_count / u.ppr_outw) AS m
SET v.ppr_r = v.ppr_r + (1.0 - $alpha) * m
""",
)
PPR_PUSH_RESTART = stmt(
    "ppr_push_restart",
    """
MATCH (w:Wallet)
WHERE w.ppr_p0 > 0.0 OR w.ppr_push > 0.0
SET w.ppr_r = w.ppr_r + (1.0 - $alpha) * $dangling * w.ppr_p0, w.ppr_push = 0.0
""",
)
# The result stays in the database as `ppr`; the scratch properties go.
PPR_FINISH = stmt(
    "ppr_finish",
    """
MATCH (w:Wallet)
SET w.ppr = CASE WHEN $power THEN w.ppr_x ELSE w.ppr_p END, w.ppr_outw = null, w.ppr_p0 = null,
  w.ppr_p = null, w.ppr_r = null, w.ppr_push = null, w.ppr_x = null, w.ppr_next = null
""",
)
PPR_READ = stmt("ppr_read", "MATCH (w:Wallet) RETURN w.address AS address, w.ppr AS score")
# Single-source PPR that touches only the wallet's neighbourhood (local push, driven from
# graph/ppr.py): the weighted out- or in-neighbours of the wallets about to push.
PPR_NEIGHBOURS_OUT = stmt(
    "ppr_neighbours_out",
    """
UNWIND $addresses AS x
MATCH (u:Wallet {address: x})-[t:TRANSFER]->(v:Wallet)
RETURN x AS src, v.address AS dst, sum(t.tx_count) AS w
""",
)
PPR_NEIGHBOURS_IN = stmt(
    "ppr_neighbours_in",
    """
UNWIND $addresses AS x
MATCH (u:Wallet {address: x})<-[t:TRANSFER]-(v:Wallet)
RETURN x AS src, v.address AS dst, sum(t.tx_count) AS w
""",
)
# Neo4j with GDS: a native projection of every wallet (those without transfers too: they are
# sources) and every TRANSFER weighted by tx_count, pageRank with sourceNodes, dropped. The
# native projection scans the store in parallel: 1M transfers in a few seconds, where a Cypher
# projection (gds.graph.project over MATCH rows) took 6-19 s. GDS drops dangling mass; the
# L1Norm scaler of PPR_GDS_WRITE scales the scores to the restart-to-p0 walk.
_GDS_PROJECT = """
CALL gds.graph.project($graph, 'Wallet',
  {TRANSFER: {properties: {w: {property: 'tx_count', defaultValue: 1.0}}}})
YIELD nodeCount, relationshipCount
RETURN nodeCount AS nodes, relationshipCount AS relationships
"""
PPR_GDS_PROJECT = stmt("ppr_gds_project", _GDS_PROJECT, neo4j=_GDS_PROJECT)
# Written back by GDS (in parallel) as `ppr`, scaled to sum 1 (L1Norm: the restart-to-p0 walk's
# distribution); streaming 27k scores through Cypher and writing them with UNWIND took longer
# than the PageRank itself.
_GDS_WRITE = """
MATCH (s:Wallet)
WHERE $all OR NOT EXISTS { (s)<-[:TRANSFER]-(:Wallet) }
WITH collect(s) AS sources
CALL gds.pageRank.write($graph, {sourceNodes: sources, dampingFactor: 1.0 - $alpha,
  relationshipWeightProperty: 'w', maxIterations: $iterations, tolerance: $tolerance,
  scaler: 'L1Norm', writeProperty: 'ppr'})
YIELD nodePropertiesWritten, ranIterations
RETURN nodePropertiesWritten AS written, ranIterations AS iterations
"""
PPR_GDS_WRITE = stmt("ppr_gds_write", _GDS_WRITE, neo4j=_GDS_WRITE)
_GDS_WALLET = """
MATCH (s:Wallet {address: $address})
CALL gds.pageRank.stream($graph, {sourceNodes: [s], dampingFactor: 1.0 - $alpha,
  relationshipWeightProperty: 'w', maxIterations: $iterations, tolerance: $tolerance})
YIELD nodeId, score
WITH nodeId, score WHERE score > 0.0
RETURN gds.util.asNode(nodeId).address AS address, score
ORDER BY score DESC LIMIT $limit
"""
PPR_GDS_WALLET = stmt("ppr_gds_wallet", _GDS_WALLET, neo4j=_GDS_WALLET)
_GDS_DROP = "CALL gds.graph.drop($graph, false) YIELD graphName RETURN graphName"
PPR_GDS_DROP = stmt("ppr_gds_drop", _GDS_DROP, neo4j=_GDS_DROP)

# Results written onto wallets, in batches with one list per column (like MERGE_TRANSFERS).
# Property names are read by the API: keep docs/ml.md in step.
SET_PPR = stmt(
    "set_ppr",
    """
UNWIND range(0, size($address) - 1) AS i
WITH i, $address[i] AS a
MATCH (w:Wallet {address: a})
SET w.ppr = $ppr[i]
""",
)
SET_ANOMALY = stmt(
    "set_anomaly",
    """
UNWIND range(0, size($address) - 1) AS i
WITH i, $address[i] AS a
MATCH (w:Wallet {address: a})
SET w.anomaly_score = $score[i], w.anomaly_rank = $rank[i], w.anomaly_flagged = $flagged[i],
  w.anomaly_explanation = $explanation[i], w.anomaly_model = $model, w.anomaly_version = $version
""",
)
SET_TYPOLOGY = stmt(
    "set_typology",
    """
UNWIND range(0, size($address) - 1) AS i
WITH i, $address[i] AS a
MATCH (w:Wallet {address: a})
SET w.typology = $code[i], w.typology_axes = $axes[i], w.typology_explanation = $explanation[i],
  w.typology_version = $version
""",
)
SET_CLUSTER = stmt(
    "set_cluster",
    """
UNWIND range(0, size($address) - 1) AS i
WITH i, $address[i] AS a
MATCH (w:Wallet {address: a})
SET w.cluster = $cluster[i], w.cluster_version = $version
""",
)
# The activity summary (graph/activity.py); SET_RESULTS writes the same with the scores.
_SET_ACTIVITY = """w.first_ts = $first_ts[i], w.last_ts = $last_ts[i],
  w.activity_days = $activity_days[i], w.activity_value = $activity_value[i],
  w.category_ts = $category_ts[i]"""
SET_ACTIVITY = stmt(
    "set_activity",
    """
UNWIND range(0, size($address) - 1) AS i
WITH i, $address[i] AS a
MATCH (w:Wallet {address: a})
SET """
    + _SET_ACTIVITY,
)
# Everything of one pipeline run in one pass over the wallets, the activity summary included.
SET_RESULTS = stmt(
    "set_results",
    """
UNWIND range(0, size($address) - 1) AS i
WITH i, $address[i] AS a
MATCH (w:Wallet {address: a})
SET w.ppr = $ppr[i], w.anomaly_score = $score[i], w.anomaly_rank = $rank[i],
  w.anomaly_flagged = $flagged[i], w.anomaly_explanation = $explanation[i],
  w.anomaly_model = $model, w.anomaly_version = $version, w.typology = $code[i],
  w.typology_axes = $axes[i], w.typology_explanation = $typology_explanation[i],
  w.typology_version = $typology_version, w.cluster = $cluster[i], w.cluster_version = $cluster_version,
  """
    + _SET_ACTIVITY,
)
NOTE_WRITTEN = stmt(
    "note_written",
    "MERGE (m:Meta {name: 'ingest'}) SET m.written_at = $at, m.transfers = coalesce(m.transfers, 0) + $n",
)
INGEST_STATUS = stmt("ingest_status", "MATCH (m:Meta {name: 'ingest'}) RETURN properties(m) AS status")
SET_ACTIVITY_STATUS = stmt("set_activity_status", "MERGE (m:Meta {name: 'activity'}) SET m += $props")
ACTIVITY_STATUS = stmt("activity_status", "MATCH (m:Meta {name: 'activity'}) RETURN properties(m) AS status")
WALLET_RESULTS = stmt(
    "wallet_results",
    """
MATCH (w:Wallet {address: $address})
RETURN w.address AS address, w.ppr AS ppr, w.anomaly_score AS anomaly_score,
  w.anomaly_rank AS anomaly_rank, w.anomaly_flagged AS anomaly_flagged,
  w.anomaly_model AS anomaly_model, w.anomaly_version AS anomaly_version,
  w.anomaly_explanation AS anomaly_explanation, w.typology AS typology,
  w.typology_axes AS typology_axes, w.typology_explanation AS typology_explanation,
  w.typology_version AS typology_version, w.cluster AS cluster, w.cluster_version AS cluster_version
""",
)


# --- laundering patterns (issue 14) ---
# Evidence of ml/laundering: (:Pattern {id, type, start_ts, end_ts, value, token, score,
# transfers})-[:INVOLVES {role}]->(:Wallet). `transfers` lists the hashes. Every scoring run
# replaces all patterns (they are derived data, like the scores).
PATTERN_CLEAR = stmt(
    "pattern_clear",
    "MATCH (p:Pattern) WITH p LIMIT $batch DETACH DELETE p",
)
# columnar, the values projected with WITH: so FalkorDB looks the wallets up by the address index
# (a map's field in the pattern scanned every wallet: 1 ms a transfer at 5,000 wallets)
PATTERN_HASHES = stmt(
    "pattern_hashes",
    """
UNWIND range(0, size($src) - 1) AS i
WITH i, $src[i] AS s, $dst[i] AS d, $ts[i] AS ts
MATCH (a:Wallet {address: s})-[t:TRANSFER]->(b:Wallet {address: d})
WHERE t.ts = ts
RETURN i, t.hash AS hash
""",
)
PATTERN_WRITE = stmt(
    "pattern_write",
    """
UNWIND $rows AS r
CREATE (p:Pattern {id: r.id, type: r.type, start_ts: r.start_ts, end_ts: r.end_ts, value: r.value,
  token: r.token, score: r.score, transfers: r.transfers, wallets: size(r.wallets)})
WITH p, r
UNWIND range(0, size(r.wallets) - 1) AS i
MATCH (w:Wallet {address: r.wallets[i]})
CREATE (p)-[:INVOLVES {role: r.roles[i]}]->(w)
RETURN count(*) AS links
""",
)
_PATTERN_FIELDS = """p.id AS id, p.type AS type, p.start_ts AS start_ts, p.end_ts AS end_ts,
  p.value AS value, p.token AS token, p.score AS score, p.transfers AS transfers"""
PATTERNS_OF_WALLET = stmt(
    "patterns_of_wallet",
    f"""
MATCH (w:Wallet {{address: $address}})<-[i:INVOLVES]-(p:Pattern)
RETURN {_PATTERN_FIELDS}, i.role AS role
ORDER BY p.score DESC, p.id LIMIT $first
""",
)
PATTERNS_LIST = stmt(
    "patterns_list",
    f"""
MATCH (p:Pattern)
WHERE $type IS NULL OR p.type = $type
RETURN {_PATTERN_FIELDS}
ORDER BY p.score DESC, p.id SKIP $skip LIMIT $first
""",
)
PATTERN_BY_ID = stmt(
    "pattern_by_id",
    f"MATCH (p:Pattern {{id: $id}}) RETURN {_PATTERN_FIELDS}",
)
PATTERN_COUNT = stmt(
    "pattern_count",
    "MATCH (p:Pattern) WHERE $type IS NULL OR p.type = $type RETURN count(p) AS n",
)
PATTERN_MEMBERS = stmt(
    "pattern_members",
    """
UNWIND $ids AS pid
MATCH (p:Pattern {id: pid})-[i:INVOLVES]->(w:Wallet)
RETURN p.id AS id, w.address AS address, i.role AS role
ORDER BY id, role, address
""",
)
FALKOR_INDEXES.append(stmt("index_pattern_id", "CREATE INDEX FOR (p:Pattern) ON (p.id)"))
NEO4J_SCHEMA.append(
    stmt("index_pattern_id_neo4j", "CREATE INDEX pattern_id IF NOT EXISTS FOR (p:Pattern) ON (p.id)")
)


# --- compliance: labels, exposure, watchlists and alerts (issue 16) ---
# Attribution labels: one :Label node per (address, source, category), linked from its wallet by
# TAGGED; the wallet keeps the distinct categories as `label_categories` (a list) for filters.
MERGE_LABELS = stmt(
    "merge_labels",
    """
UNWIND $rows AS r
MERGE (w:Wallet {address: r.address})
MERGE (l:Label {key: r.key})
SET l.address = r.address, l.label = r.label, l.category = r.category, l.source = r.source,
  l.confidence = r.confidence, l.verified = r.verified, l.updated_at = r.updated_at
MERGE (w)-[:TAGGED]->(l)
""",
)
SET_LABEL_CATEGORIES = stmt(
    "set_label_categories",
    """
UNWIND $addresses AS a
MATCH (w:Wallet {address: a})
OPTIONAL MATCH (w)-[:TAGGED]->(l:Label)
WITH w, collect(DISTINCT l.category) AS categories
SET w.label_categories = categories
""",
)
LABELS_OF = stmt(
    "labels_of",
    """
UNWIND $addresses AS a
MATCH (:Wallet {address: a})-[:TAGGED]->(l:Label)
RETURN a AS address, l.label AS label, l.category AS category, l.source AS source,
  l.confidence AS confidence, l.verified AS verified
ORDER BY address, category, source
""",
)
LABELLED = stmt(
    "labelled",
    """
MATCH (w:Wallet)-[:TAGGED]->(l:Label)
RETURN w.address AS address, l.category AS category, l.confidence AS confidence
""",
)
LABEL_COUNTS = stmt(
    "label_counts",
    """
MATCH (l:Label)
RETURN l.category AS category, l.source AS source, count(l) AS labels
ORDER BY category, source
""",
)
LABEL_SOURCE_ADDRESSES = stmt(
    "label_source_addresses",
    "MATCH (l:Label) WHERE l.source = $source RETURN DISTINCT l.address AS address",
)
DELETE_LABELS = stmt("delete_labels", "MATCH (l:Label) WHERE l.source = $source DETACH DELETE l")
FALKOR_INDEXES.append(stmt("falkor_index_label_key", "CREATE INDEX FOR (l:Label) ON (l.key)"))
NEO4J_SCHEMA.append(stmt("index_label_key", "CREATE INDEX label_key IF NOT EXISTS FOR (l:Label) ON (l.key)"))
# Exposure (graph/exposure.py, ml/exposure.py): the successful native transfers with value, per
# sender as two lists, and results written onto wallets. Wallets by key: FalkorDB's internal id
# (an integer: no address looked up per transfer, and the lists parse as numbers), the address on
# Neo4j; EXPOSURE_WALLETS maps keys to addresses. No label on the receiver (a TRANSFER joins
# wallets): checking it doubled FalkorDB's traversal.
_EXPOSURE_EDGES = """
MATCH (a:Wallet)-[t:TRANSFER]->(b)
WHERE t.token = $native AND t.value > 0 AND (t.status IS NULL OR t.status <> 0)
WITH a, collect({b}) AS dst, collect(t.value) AS value
RETURN {a} AS src, {lists}
"""
EXPOSURE_EDGES = stmt(
    "exposure_edges",
    _EXPOSURE_EDGES.format(a="id(a)", b="id(b)", lists="toJSON(dst) AS dst, toJSON(value) AS value"),
    neo4j=_EXPOSURE_EDGES.format(a="a.address", b="b.address", lists="dst, value"),
)
EXPOSURE_WALLETS = stmt(
    "exposure_wallets",
    "MATCH (w:Wallet) RETURN toJSON(collect(id(w))) AS keys, toJSON(collect(w.address)) AS addresses",
    neo4j="MATCH (w:Wallet) RETURN collect(w.address) AS keys, collect(w.address) AS addresses",
)
EXPOSURE_PREVIOUS = stmt(
    "exposure_previous",
    "MATCH (w:Wallet) WHERE w.exposure_risk IS NOT NULL RETURN w.address AS address",
)
_EXPOSURE_FIELDS = ("direct_in", "indirect_in", "direct_out", "indirect_out", "top", "risk", "ppr",
                    "categories", "paths", "at")  # fmt: skip
SET_EXPOSURE = stmt(
    "set_exposure",
    "UNWIND range(0, size($address) - 1) AS i\nWITH i, $address[i] AS a\nMATCH (w:Wallet {address: a})\nSET "
    + ", ".join(f"w.exposure_{f} = ${f}[i]" for f in _EXPOSURE_FIELDS),
)
EXPOSURE_OF = stmt(
    "exposure_of",
    "UNWIND $addresses AS a\nMATCH (w:Wallet {address: a})\nWHERE w.exposure_risk IS NOT NULL\n"
    "RETURN a AS address, " + ", ".join(f"w.exposure_{f} AS {f}" for f in _EXPOSURE_FIELDS),
)
# Watchlists and alerts (graph/watch.py, ingest/alerts.py): a :Watch per (address, webhook) with
# its rules (JSON text) and the state its change rules compare with; an :Alert per event, its id
# derived from what triggered it (MERGE: evaluating the same transfers twice adds nothing), `seq`
# its creation order (the subscription reads the alerts after a seq), `status` its delivery.
MERGE_WATCHES = stmt(
    "merge_watches",
    """
UNWIND $rows AS r
MERGE (w:Watch {id: r.id})
SET w.address = r.address, w.rules = r.rules, w.webhook = r.webhook, w.updated_at = r.updated_at,
  w.created_at = coalesce(w.created_at, r.created_at), w.state = coalesce(w.state, '{}')
""",
)
DELETE_WATCHES = stmt(
    "delete_watches",
    "UNWIND $addresses AS a MATCH (w:Watch {address: a}) DELETE w",
)
WATCHES = stmt(
    "watches",
    "MATCH (w:Watch) RETURN properties(w) AS watch ORDER BY w.address, w.id",
)
# What a running monitor caches (ingest/alerts.py): the watches, and the labels; a version of
# both, read at most once a second (label writes stamp `updated_at`; a deletion moves the count).
WATCH_VERSION = stmt(
    "watch_version",
    """
MATCH (w:Watch)
WITH count(w) AS n, max(w.updated_at) AS newest
OPTIONAL MATCH (l:Label)
RETURN n, newest, count(l) AS labels, max(l.updated_at) AS labelled_at
""",
)
# The wallets a counterparty's labels or stored exposure make count for the rules.
MONITOR_VIEW = stmt(
    "monitor_view",
    """
MATCH (w:Wallet)
WHERE w.label_categories IS NOT NULL OR w.exposure_risk IS NOT NULL
RETURN w.address AS address, w.label_categories AS categories, w.exposure_categories AS exposure
""",
)
ALERTS_KNOWN = stmt(
    "alerts_known",
    "UNWIND $ids AS i MATCH (a:Alert {id: i}) RETURN a.id AS id, a.seq AS seq",
)
# One statement per evaluation: the watches' changed states, then the alerts (MERGE by id: an
# alert raised again is not stored twice; nodes_created says how many are new).
SAVE_ALERTS = stmt(
    "save_alerts",
    """
UNWIND $states AS s
MATCH (w:Watch {id: s.id})
SET w.state = s.state
WITH count(*) AS saved
UNWIND range(0, size($id) - 1) AS i
WITH i, $id[i] AS id
MERGE (a:Alert {id: id})
ON CREATE SET a.seq = $seq[i], a.watch = $watch[i], a.address = $address[i], a.rule = $rule[i],
  a.detail = $detail[i], a.created_at = $created_at[i], a.status = $status[i], a.webhook = $webhook[i],
  a.attempts = 0
""",
)
ALERTS_AFTER = stmt(
    "alerts_after",
    """
MATCH (a:Alert)
WHERE a.seq > $after AND ($address IS NULL OR a.address = $address)
RETURN properties(a) AS alert
ORDER BY a.seq
LIMIT $first
""",
)
ALERTS_PAGE = stmt(
    "alerts_page",
    """
MATCH (a:Alert)
WHERE a.seq < $before AND ($status IS NULL OR a.status = $status)
  AND ($address IS NULL OR a.address = $address)
RETURN properties(a) AS alert
ORDER BY a.seq DESC
LIMIT $first
""",
)
PENDING_ALERTS = stmt(
    "pending_alerts",
    "MATCH (a:Alert {status: 'pending'}) RETURN properties(a) AS alert ORDER BY a.seq LIMIT $first",
)
SET_ALERT_STATUS = stmt(
    "set_alert_status",
    """
MATCH (a:Alert {id: $id})
SET a.status = $status, a.attempts = coalesce($attempts, a.attempts),
  a.delivered_at = coalesce($delivered_at, a.delivered_at), a.last_error = $last_error
""",
)
# What the watch rules compare: a watched wallet's native transfers with each counterparty's
# labels and stored exposure (the incremental exposure of ingest/alerts.py).
WATCH_FLOWS_IN = stmt(
    "watch_flows_in",
    """
UNWIND $addresses AS a
MATCH (v:Wallet)-[t:TRANSFER]->(w:Wallet {address: a})
WHERE t.token = $native AND t.value > 0 AND (t.status IS NULL OR t.status <> 0)
WITH a, v, sum(t.value) AS value
RETURN a AS address, v.address AS counterparty, value, v.label_categories AS categories,
  v.exposure_categories AS exposure
""",
)
WATCH_FLOWS_OUT = stmt(
    "watch_flows_out",
    """
UNWIND $addresses AS a
MATCH (w:Wallet {address: a})-[t:TRANSFER]->(v:Wallet)
WHERE t.token = $native AND t.value > 0 AND (t.status IS NULL OR t.status <> 0)
WITH a, v, sum(t.value) AS value
RETURN a AS address, v.address AS counterparty, value, v.label_categories AS categories,
  v.exposure_categories AS exposure
""",
)
FALKOR_INDEXES.extend([
    stmt("falkor_index_watch_address", "CREATE INDEX FOR (w:Watch) ON (w.address)"),
    stmt("falkor_index_watch_id", "CREATE INDEX FOR (w:Watch) ON (w.id)"),
    stmt("falkor_index_alert_id", "CREATE INDEX FOR (a:Alert) ON (a.id)"),
    stmt("falkor_index_alert_seq", "CREATE INDEX FOR (a:Alert) ON (a.seq)"),
    stmt("falkor_index_alert_status", "CREATE INDEX FOR (a:Alert) ON (a.status)"),
])  # fmt: skip
NEO4J_SCHEMA.extend([
    stmt("index_watch_address", "CREATE INDEX watch_address IF NOT EXISTS FOR (w:Watch) ON (w.address)"),
    stmt("constraint_watch_id",
         "CREATE CONSTRAINT watch_id IF NOT EXISTS FOR (w:Watch) REQUIRE w.id IS UNIQUE"),
    stmt("constraint_alert_id",
         "CREATE CONSTRAINT alert_id IF NOT EXISTS FOR (a:Alert) REQUIRE a.id IS UNIQUE"),
    stmt("index_alert_seq", "CREATE INDEX alert_seq IF NOT EXISTS FOR (a:Alert) ON (a.seq)"),
    stmt("index_alert_status", "CREATE INDEX alert_status IF NOT EXISTS FOR (a:Alert) ON (a.status)"),
])  # fmt: skip
# Derived labels (graph/labels.py derive_labels): aidrop's own findings as labels.
FLAGGED_WALLETS = stmt(
    "flagged_wallets",
    """
MATCH (w:Wallet)
WHERE w.anomaly_flagged = true OR w.sybil_cluster IS NOT NULL
RETURN w.address AS address, coalesce(w.anomaly_flagged, false) AS flagged, w.anomaly_score AS score,
  w.sybil_cluster AS sybil_cluster
""",
)
# --- sybil clusters (issue 15) ---
# The transfers behind the evidence, found by (sender, receiver, time): ml/ reads transfers
# without their hashes (graph/features.py) and asks for the few it names.
SYBIL_TRANSFER_HASHES = stmt(
    "sybil_transfer_hashes",
    """
UNWIND range(0, size($src) - 1) AS i
WITH i, $src[i] AS s, $dst[i] AS d, $ts[i] AS ts
MATCH (a:Wallet {address: s})-[t:TRANSFER]->(b:Wallet {address: d})
WHERE t.ts = ts
RETURN i, t.hash AS hash, t.log_index AS log_index, t.token AS token, t.value AS value
""",
)
# A detection replaces the previous one: clusters, links and the wallets' mark; appeals stay.
SYBIL_CLEAR_CLUSTERS = stmt(
    "sybil_clear_clusters",
    "MATCH (c:SybilCluster) WITH c LIMIT 10000 DETACH DELETE c",
)
SYBIL_CLEAR_LINKS = stmt(
    "sybil_clear_links",
    "MATCH (:Wallet)-[l:SYBIL_LINK]->(:Wallet) WITH l LIMIT 50000 DELETE l",
)
SYBIL_CLEAR_MARKS = stmt(
    "sybil_clear_marks",
    """
MATCH (w:Wallet) WHERE w.sybil_cluster IS NOT NULL
WITH w LIMIT 50000
SET w.sybil_cluster = null
""",
)
SYBIL_CREATE_CLUSTERS = stmt(
    "sybil_create_clusters",
    """
UNWIND range(0, size($id) - 1) AS i
CREATE (:SybilCluster {id: $id[i], size: $size[i], score: $score[i], evidence_counts: $counts[i],
  detected_at: $at})
""",
)
SYBIL_ADD_MEMBERS = stmt(
    "sybil_add_members",
    """
UNWIND range(0, size($address) - 1) AS i
WITH i, $address[i] AS a, $cluster[i] AS cid
MATCH (w:Wallet {address: a})
MATCH (c:SybilCluster {id: cid})
CREATE (c)-[:MEMBER]->(w)
SET w.sybil_cluster = cid
""",
)
SYBIL_ADD_LINKS = stmt(
    "sybil_add_links",
    """
UNWIND range(0, size($a) - 1) AS i
WITH i, $a[i] AS x, $b[i] AS y
MATCH (a:Wallet {address: x})
MATCH (b:Wallet {address: y})
CREATE (a)-[:SYBIL_LINK {cluster: $cluster[i], kind: $kind[i], transactions: $transactions[i]}]->(b)
""",
)
# FalkorDB answers "already indexed" on a second run (graph/sybil.py lets that pass).
SYBIL_INDEX = stmt(
    "sybil_index_cluster_id",
    "CREATE INDEX FOR (c:SybilCluster) ON (c.id)",
    neo4j="CREATE INDEX sybil_cluster_id IF NOT EXISTS FOR (c:SybilCluster) ON (c.id)",
)
_SYBIL_CLUSTER_FIELDS = "c.id AS id, c.size AS size, c.score AS score, c.evidence_counts AS evidence_counts"
SYBIL_WALLET_CLUSTER = stmt(
    "sybil_wallet_cluster",
    "MATCH (c:SybilCluster)-[:MEMBER]->(:Wallet {address: $address}) RETURN " + _SYBIL_CLUSTER_FIELDS,
)
SYBIL_CLUSTER = stmt(
    "sybil_cluster",
    "MATCH (c:SybilCluster {id: $id}) RETURN " + _SYBIL_CLUSTER_FIELDS,
)
# Keyset paging: biggest first, then by id (`after` is the last row's (size, id)).
SYBIL_CLUSTERS = stmt(
    "sybil_clusters",
    """
MATCH (c:SybilCluster)
WHERE c.size >= $min_size AND (c.size < $after_size OR (c.size = $after_size AND c.id > $after_id))
RETURN """
    + _SYBIL_CLUSTER_FIELDS
    + """
ORDER BY c.size DESC, c.id
LIMIT $first
""",
)
SYBIL_MEMBERS = stmt(
    "sybil_members",
    """
MATCH (c:SybilCluster {id: $id})-[:MEMBER]->(w:Wallet)
RETURN w.address AS address
ORDER BY address
LIMIT $first
""",
)
SYBIL_LINKS = stmt(
    "sybil_links",
    """
MATCH (a:Wallet)-[l:SYBIL_LINK]->(b:Wallet)
WHERE l.cluster = $id AND ($address IS NULL OR a.address = $address OR b.address = $address)
RETURN a.address AS a, b.address AS b, l.kind AS kind, l.transactions AS transactions
ORDER BY a, b, kind
LIMIT $first
""",
)
SYBIL_EXPORT = stmt(
    "sybil_export",
    """
MATCH (c:SybilCluster)-[:MEMBER]->(w:Wallet)
RETURN w.address AS address, c.id AS cluster, c.size AS size, c.score AS score,
  c.evidence_counts AS evidence_counts
ORDER BY cluster, address
""",
)
SYBIL_CREATE_APPEAL = stmt(
    "sybil_create_appeal",
    """
MATCH (w:Wallet {address: $address})
CREATE (p:SybilAppeal {id: $id, address: $address, cluster: $cluster, reason: $reason,
  status: 'open', created_at: $at, key: $key})-[:APPEALS]->(w)
""",
)
SYBIL_APPEALS = stmt(
    "sybil_appeals",
    """
MATCH (p:SybilAppeal)
WHERE $address IS NULL OR p.address = $address
RETURN p.id AS id, p.address AS address, p.cluster AS cluster, p.reason AS reason,
  p.status AS status, p.created_at AS created_at
ORDER BY created_at DESC, id
LIMIT $first
""",
)
SYBIL_OPEN_APPEALS = stmt(
    "sybil_open_appeals",
    "MATCH (p:SybilAppeal {address: $address, status: 'open'}) RETURN count(p) AS n",
)
SYBIL_COUNT_LINKS = stmt(
    "sybil_count_links", "MATCH (:Wallet)-[l:SYBIL_LINK]->(:Wallet) RETURN count(l) AS n"
)
SYBIL_COUNT_CLUSTERS = stmt("sybil_count_clusters", "MATCH (c:SybilCluster) RETURN count(c) AS n")
SYBIL_COUNT_MARKS = stmt(
    "sybil_count_marks", "MATCH (w:Wallet) WHERE w.sybil_cluster IS NOT NULL RETURN count(w) AS n"
)


# --- chains (issue 11) ---------------------------------------------------------------------------
# Per-chain counts for `aidrop graph stats` (GraphStore.stats): transfers, native value and token
# transfers by the transfer's chain; wallets that sent or received on the chain; contracts and
# tokens by their ON_CHAIN relationship.
STATS_CHAIN_TRANSFERS = stmt(
    "stats_chain_transfers",
    """
MATCH ()-[t:TRANSFER]->()
RETURN t.chain AS chain, count(t) AS transfers,
  sum(CASE WHEN t.token = $native THEN t.value ELSE 0.0 END) AS total_value,
  sum(CASE WHEN t.token <> $native THEN 1 ELSE 0 END) AS token_transfers
ORDER BY chain
""",
)
STATS_CHAIN_WALLETS = stmt(
    "stats_chain_wallets",
    """
MATCH (w:Wallet)-[t:TRANSFER]-(:Wallet)
WITH t.chain AS chain, w
RETURN chain, count(DISTINCT w) AS wallets
ORDER BY chain
""",
)
STATS_CHAIN_CONTRACTS = stmt(
    "stats_chain_contracts",
    """
MATCH (:Wallet)-[d:ON_CHAIN]->(c:Chain)
RETURN c.chain_id AS chain, sum(CASE WHEN d.contract = true THEN 1 ELSE 0 END) AS contracts,
  sum(CASE WHEN d.token = true THEN 1 ELSE 0 END) AS tokens
ORDER BY chain
""",
)
# The chains of the graph: every ingestion notes its chain on a (:Chain {chain_id}) node (RPC
# ingestion keeps its checkpoint there too).
CHAINS = stmt("chains", "MATCH (c:Chain) RETURN c.chain_id AS chain ORDER BY chain")
NOTE_CHAIN = stmt("note_chain", "MERGE (:Chain {chain_id: $chain})")
# The chains a wallet has transfers on, written with its activity summary (graph/activity.py)
# when the graph has more than one: segments filter on it (`$chain IN w.chains`) without
# reading transfers; in a graph of one chain every wallet is on it.
SET_WALLET_CHAINS = stmt(
    "set_wallet_chains",
    """
MATCH (w:Wallet)-[t:TRANSFER]-(:Wallet)
WITH w, collect(DISTINCT t.chain) AS chains
SET w.chains = chains
""",
)
# Migration of a graph written before chain ids: everything in it is chain 1 (core/chains.py
# DEFAULT_CHAIN). Run once by GraphStore.migrate_chains (from ensure_schema), marked on a :Meta node.
SCHEMA_VERSION = stmt("schema_version", "MATCH (m:Meta {name: 'schema'}) RETURN m.chains AS chains")
MIGRATE_TRANSFER_CHAINS = stmt(
    "migrate_transfer_chains",
    "MATCH ()-[t:TRANSFER]->() WHERE t.chain IS NULL SET t.chain = $chain",
    # Neo4j holds one transaction's writes in memory: a large graph in batches.
    neo4j="""
MATCH ()-[t:TRANSFER]->() WHERE t.chain IS NULL
CALL (t) { SET t.chain = $chain } IN TRANSACTIONS OF 10000 ROWS
""",
)
MIGRATE_CONTRACT_CHAINS = stmt(
    "migrate_contract_chains",
    """
MERGE (c:Chain {chain_id: $chain})
WITH c
MATCH (w:Wallet)
WHERE ('Contract' IN labels(w) OR 'Token' IN labels(w)) AND NOT (w)-[:ON_CHAIN]->(:Chain)
MERGE (w)-[d:ON_CHAIN]->(c)
SET d.contract = 'Contract' IN labels(w), d.token = 'Token' IN labels(w), d.category = w.category,
  d.name = w.name, d.created_block = w.created_block, d.symbol = w.symbol, d.decimals = w.decimals,
  w.created_chain = CASE WHEN w.created_block IS NULL THEN null ELSE $chain END
""",
)
SET_SCHEMA_VERSION = stmt(
    "set_schema_version",
    "MERGE (m:Meta {name: 'schema'}) SET m.chains = $version",
)


# --- Neo4j for real (issue 12) ---
# The rest of the graph for `graph export neo4j-admin` (segments, campaigns, snapshots, chain
# state): every node that is not a wallet and every relationship that is not a transfer, with an
# id that is only meant to join them in the export files (FalkorDB id(), Neo4j elementId()).
_OTHER_NODES = "MATCH (n) WHERE NOT n:Wallet RETURN {id} AS id, labels(n) AS labels, properties(n) AS props"
EXPORT_OTHER_NODES = stmt(
    "export_other_nodes",
    _OTHER_NODES.format(id="toString(id(n))"),
    neo4j=_OTHER_NODES.format(id="elementId(n)"),
)
_OTHER_RELATIONSHIPS = """
MATCH (a)-[r]->(b) WHERE type(r) <> 'TRANSFER'
WITH r, a, b, 'Wallet' IN labels(a) AS start_wallet, 'Wallet' IN labels(b) AS end_wallet
RETURN type(r) AS type, start_wallet, end_wallet, properties(r) AS props,
  CASE WHEN start_wallet THEN a.address ELSE {a} END AS start,
  CASE WHEN end_wallet THEN b.address ELSE {b} END AS end
"""
EXPORT_OTHER_RELATIONSHIPS = stmt(
    "export_other_relationships",
    _OTHER_RELATIONSHIPS.format(a="toString(id(a))", b="toString(id(b))"),
    neo4j=_OTHER_RELATIONSHIPS.format(a="elementId(a)", b="elementId(b)"),
)


SYBIL_CLUSTERS_OF = stmt(
    "sybil_clusters_of",
    """
UNWIND $addresses AS a
MATCH (w:Wallet {address: a})
WHERE w.sybil_cluster IS NOT NULL
RETURN a AS address, w.sybil_cluster AS cluster
""",
)

# --- growth (issue 17) ---
# Dormancy risk, expected days to the next transaction and first-interaction propensity per
# category (CATEGORIES order, -1: already used; ml/growth/ops.py) written by `aidrop score`.
SET_GROWTH = stmt(
    "set_growth",
    """
UNWIND range(0, size($address) - 1) AS i
WITH i, $address[i] AS a
MATCH (w:Wallet {address: a})
SET w.churn_risk = $churn_risk[i], w.expected_active_days = $expected_active_days[i],
  w.propensity = $propensity[i], w.growth_version = $growth_version
""",
)
GROWTH_SCORES = stmt(
    "growth_scores",
    """
MATCH (w:Wallet)
WHERE w.churn_risk IS NOT NULL OR w.propensity IS NOT NULL
RETURN w.address AS address, w.churn_risk AS churn_risk, w.expected_active_days AS expected_active_days,
  w.propensity AS propensity
ORDER BY address
""",
)


# --- web app reads (issue 18) ---
# A wallet's value in and out per UTC day (native value; transfers of every token counted).
_DAILY_FLOWS = """
MATCH (w:Wallet {{address: $address}}){arrow}
WHERE t.ts >= $since AND t.ts < $until
RETURN t.ts / 86400 AS day, sum(t.tx_count) AS transfers,
  sum(CASE WHEN t.token = $native THEN t.value ELSE 0.0 END) AS value
"""
DAILY_FLOWS_OUT = stmt("daily_flows_out", _DAILY_FLOWS.format(arrow="-[t:TRANSFER]->(:Wallet)"))
DAILY_FLOWS_IN = stmt("daily_flows_in", _DAILY_FLOWS.format(arrow="<-[t:TRANSFER]-(:Wallet)"))


# --- one wallet scored on its neighbourhood (issue 11: ml/analyzer.py, graph/features.py) ---
# The wallet's counterparties with their transfer counts (to leave busy ones out of the read).
_NEIGHBOURS = """
MATCH (w:Wallet {{address: $address}})-[t:TRANSFER]-(n:Wallet)
WHERE ($chain IS NULL OR t.chain = $chain) AND n.address <> $address
WITH DISTINCT n LIMIT $limit
RETURN n.address AS address, {degree} AS transfers
"""
ML_NEIGHBOURS = stmt(
    "ml_neighbours",
    _NEIGHBOURS.format(degree="size([(n)-[:TRANSFER]-(:Wallet) | 1])"),
    neo4j=_NEIGHBOURS.format(degree="COUNT { (n)-[:TRANSFER]-(:Wallet) }"),
)
# ML_OUT_EDGES over the transfers that touch $addresses: those they send, and those they receive
# from outside the set (the two parts are disjoint).
_AROUND = """CALL {
  UNWIND $addresses AS x
  MATCH (a:Wallet {address: x})-[t:TRANSFER]->(b:Wallet)
  WHERE $chain IS NULL OR t.chain = $chain
  RETURN a, t, b
  UNION ALL
  UNWIND $addresses AS x
  MATCH (b:Wallet {address: x})<-[t:TRANSFER]-(a:Wallet)
  WITH a, t, b  // after the traversal: a filter on a.address made FalkorDB scan every wallet
  WHERE ($chain IS NULL OR t.chain = $chain) AND NOT a.address IN $addresses
  RETURN a, t, b
}"""
_OUT_EDGES_AROUND = _OUT_EDGES.replace(
    "MATCH (a:Wallet)-[t:TRANSFER]->(b:Wallet)\nWHERE $chain IS NULL OR t.chain = $chain", _AROUND
)
assert _OUT_EDGES_AROUND != _OUT_EDGES
ML_OUT_EDGES_AROUND = stmt(
    "ml_out_edges_around",
    _OUT_EDGES_AROUND.replace("{lists}", "dst, ts, value, token, tx_count, fee"),
    # Neo4j 5 asks for the subquery's variable scope (none imported); FalkorDB does not parse it
    neo4j=_OUT_EDGES_AROUND.replace("CALL {", "CALL () {").replace(
        "{lists}", "dst, ts, value, token, tx_count, fee"
    ),
    falkordb=_OUT_EDGES_AROUND.replace(
        "{lists}",
        "toJSON(dst) AS dst, toJSON(ts) AS ts, toJSON(value) AS value, toJSON(token) AS token,\n"
        "  toJSON(tx_count) AS tx_count, toJSON(fee) AS fee",
    ),
)
ML_CONTRACTS_OF = stmt(
    "ml_contracts_of",
    """
UNWIND $addresses AS x
MATCH (w:Wallet {address: x})
WHERE w:Contract
RETURN w.address AS address, w.category AS category, w.name AS name, w.created_block AS created_block
""",
)
ML_TOKENS_OF = stmt(
    "ml_tokens_of",
    """
UNWIND $addresses AS x
MATCH (w:Wallet {address: x})
WHERE w:Token
RETURN w.address AS address, w.symbol AS symbol, w.decimals AS decimals
""",
)
# A score's place among the stored ones: 1 + the wallets scoring higher (by the same model).
ANOMALY_RANK_OF = stmt(
    "anomaly_rank_of",
    """
MATCH (w:Wallet)
WHERE w.anomaly_score > $score AND w.anomaly_model = $model AND w.address <> $address
RETURN count(w) + 1 AS rank
""",
)
