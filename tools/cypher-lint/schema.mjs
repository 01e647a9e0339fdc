// The database aidrop's Neo4j statements run against, as the linter's DbSchema: the wallet graph's
// labels, relationship type and property keys (a label or property a statement reads must be
// declared here, which catches typos), and the GDS and APOC procedures and functions
// aidrop calls, with their Neo4j 5 signatures (GDS 2.x, APOC 5). Built-in functions and db.*
// procedures come from the pinned language-support's own Neo4j 5 catalogue.
import { testData } from '@neo4j-cypher/language-support';

export const LABELS = ['Wallet', 'Contract', 'Token', 'Chain', 'Block', 'Segment', 'Campaign', 'Snapshot', 'Meta',
  'SybilCluster', 'SybilAppeal', 'Label', 'Watch', 'Alert'];
export const RELATIONSHIP_TYPES = ['TRANSFER', 'INCLUDES', 'TARGETS', 'FROM_SEGMENT', 'HAS_SNAPSHOT', 'MEASURED',
  'MEMBER', 'SYBIL_LINK', 'APPEALS', 'TAGGED', 'ON_CHAIN'];
LABELS.push('Pattern'); // laundering evidence (issue 14, docs/ml.md)
RELATIONSHIP_TYPES.push('INVOLVES');
export const PROPERTY_KEYS = [
  // :Wallet, :Contract, :Token
  'address', 'category', 'name', 'created_block', 'symbol', 'decimals',
  // :TRANSFER
  'hash', 'log_index', 'value', 'value_raw', 'token', 'ts', 'block', 'status', 'tx_count', 'fee', 'token_id',
  // :Chain (ingestion state) and :Block (the reorg window)
  'chain_id', 'done', 'head', 'number', 'parent_hash', 'txs',
  // written by GDS (docs/neo4j-browser.md)
  'pagerank',
  // wallet intelligence (docs/ml.md): results on wallets, and PPR scratch properties
  'ppr', 'anomaly_score', 'anomaly_rank', 'anomaly_flagged', 'anomaly_model', 'anomaly_version',
  'anomaly_explanation', 'typology', 'typology_axes', 'typology_explanation', 'typology_version',
  'cluster', 'cluster_version', 'ppr_outw', 'ppr_p0', 'ppr_p', 'ppr_r', 'ppr_push', 'ppr_x', 'ppr_next',
  // written and read by the API and the jobs (docs/api.md)
  'analysis_job', 'analysis_count', 'analysis_version', 'analyzed_at', 'cluster_profile', 'profile_image',
  'profile_metadata', 'profile_source', 'profile_hash', 'profile_prompt', 'typology', 'cluster', 'anomaly_score',
  'anomaly_flagged', 'anomaly_model',
  // marketing (docs/marketing.md): :Segment, :Campaign, :Snapshot, TARGETS, MEASURED
  'id', 'created_at', 'group', 'campaign_id', 'at', 'claim', 'claimed_at', 'tx', 'volume',
  'counterparties', 'goal_tx', 'first_goal', 'report_key', 'report_at',
  // the activity summary on wallets (graph/activity.py) and :Meta {name} status nodes
  'first_ts', 'last_ts', 'activity_days', 'activity_value', 'category_ts', 'written_at', 'transfers',
  // sybil clusters (graph/sybil.py): :SybilCluster, SYBIL_LINK, :SybilAppeal, the mark on wallets
  'size', 'score', 'evidence_counts', 'detected_at', 'sybil_cluster', 'kind', 'transactions', 'reason', 'key',
  // compliance (docs/compliance.md): :Label, exposure on wallets, :Watch and :Alert
  'label', 'source', 'confidence', 'verified', 'label_categories',
  'exposure_direct_in', 'exposure_indirect_in', 'exposure_direct_out', 'exposure_indirect_out', 'exposure_top',
  'churn_risk', 'expected_active_days', 'propensity', 'growth_version',
  'exposure_risk', 'exposure_ppr', 'exposure_categories', 'exposure_paths', 'exposure_at',
  'rules', 'webhook', 'seq', 'rule', 'detail', 'delivered_at', 'attempts', 'last_error', 'wallet',
  'state', 'laundering_pattern', 'updated_at',
  // chains (core/chains.py): a transfer's chain, a wallet's chains, ON_CHAIN's contract and token
  // flags, the chain of a contract's creation block, the graph's chain-awareness version on :Meta
  'chain', 'chains', 'contract', 'created_chain',
];
// laundering patterns (docs/ml.md): :Pattern {id, type, start_ts, end_ts, value, token, score, transfers,
// wallets} and INVOLVES {role}
PROPERTY_KEYS.push('type', 'start_ts', 'end_ts', 'score', 'wallets', 'role');
// keys of the rows that pattern_hashes matches transfers by (graph/cypher.py, issue 14)
PROPERTY_KEYS.push('src', 'dst');

const VERSIONS = ['CYPHER 5', 'CYPHER 25'];

// [name, type] or [name, type, default]
function describeArgs(args) {
  return args.map(([name, type, dflt]) => ({
    name,
    type,
    description: `${name} :: ${type}`,
    isDeprecated: false,
    ...(dflt === undefined ? {} : { default: `DefaultParameterValue{value=${dflt}, type=${type}}` }),
  }));
}

function argText(args) {
  return args.map(([n, t, d]) => (d === undefined ? `${n} :: ${t}` : `${n} = ${d} :: ${t}`)).join(', ');
}

function procedure(name, mode, args, outputs, description) {
  const returns = outputs.map(([n, t]) => ({ name: n, type: t, description: `${n} :: ${t}`, isDeprecated: false }));
  return {
    name,
    description,
    mode,
    worksOnSystem: false,
    admin: false,
    option: { deprecated: false },
    signature: `${name}(${argText(args)}) :: (${outputs.map(([n, t]) => `${n} :: ${t}`).join(', ')})`,
    argumentDescription: describeArgs(args),
    returnDescription: returns,
  };
}

function fn(name, args, returns, description, aggregating = false) {
  return {
    name,
    category: '',
    description,
    isBuiltIn: false,
    isDeprecated: false,
    aggregating,
    signature: `${name}(${argText(args)}) :: ${returns}`,
    argumentDescription: describeArgs(args),
    returnDescription: returns,
  };
}

const GRAPH_PROJECTED = [
  ['nodeProjection', 'MAP'], ['relationshipProjection', 'MAP'], ['graphName', 'STRING'],
  ['nodeCount', 'INTEGER'], ['relationshipCount', 'INTEGER'], ['projectMillis', 'INTEGER'],
];
const GRAPH_INFO = [
  ['graphName', 'STRING'], ['database', 'STRING'], ['databaseLocation', 'STRING'],
  ['memoryUsage', 'STRING'], ['sizeInBytes', 'INTEGER'], ['nodeCount', 'INTEGER'],
  ['relationshipCount', 'INTEGER'], ['configuration', 'MAP'], ['density', 'FLOAT'],
  ['creationTime', 'ZONED DATETIME'], ['modificationTime', 'ZONED DATETIME'], ['schema', 'MAP'],
  ['schemaWithOrientation', 'MAP'],
];
const PAGERANK_WRITTEN = [
  ['writeMillis', 'INTEGER'], ['nodePropertiesWritten', 'INTEGER'], ['ranIterations', 'INTEGER'],
  ['didConverge', 'BOOLEAN'], ['centralityDistribution', 'MAP'], ['postProcessingMillis', 'INTEGER'],
  ['preProcessingMillis', 'INTEGER'], ['computeMillis', 'INTEGER'], ['configuration', 'MAP'],
];
const ALGO_ARGS = [['graphName', 'STRING'], ['configuration', 'MAP', '{}']];

// Personalised PageRank is gds.pageRank.* with `sourceNodes` in the configuration map.
export const PROCEDURES = [
  procedure('gds.graph.project', 'READ',
    [['graphName', 'STRING'], ['nodeProjection', 'ANY'], ['relationshipProjection', 'ANY'], ['configuration', 'MAP', '{}']],
    GRAPH_PROJECTED, 'Creates a named graph in the catalog for use by algorithms.'),
  procedure('gds.graph.drop', 'READ',
    [['graphName', 'ANY'], ['failIfMissing', 'BOOLEAN', 'true'], ['dbName', 'STRING', ''], ['username', 'STRING', '']],
    GRAPH_INFO, 'Drops a named graph from the catalog and frees up the resources it occupies.'),
  procedure('gds.graph.exists', 'READ', [['graphName', 'STRING']],
    [['graphName', 'STRING'], ['exists', 'BOOLEAN']], 'Checks if a graph exists in the catalog.'),
  procedure('gds.graph.list', 'READ', [['graphName', 'STRING', '__ALL__']], GRAPH_INFO,
    'Lists information about named graphs stored in the catalog.'),
  procedure('gds.pageRank.stream', 'READ', ALGO_ARGS, [['nodeId', 'INTEGER'], ['score', 'FLOAT']],
    'PageRank (personalised with sourceNodes) streamed as (nodeId, score).'),
  procedure('gds.pageRank.write', 'WRITE', ALGO_ARGS, PAGERANK_WRITTEN,
    'PageRank (personalised with sourceNodes) written to a node property.'),
  procedure('apoc.periodic.iterate', 'WRITE',
    [['cypherIterate', 'STRING'], ['cypherAction', 'STRING'], ['config', 'MAP']],
    [
      ['batches', 'INTEGER'], ['total', 'INTEGER'], ['timeTaken', 'INTEGER'],
      ['committedOperations', 'INTEGER'], ['failedOperations', 'INTEGER'], ['failedBatches', 'INTEGER'],
      ['retries', 'INTEGER'], ['errorMessages', 'MAP'], ['batch', 'MAP'], ['operations', 'MAP'],
      ['wasTerminated', 'BOOLEAN'], ['failedParams', 'MAP'], ['updateStatistics', 'MAP'],
    ],
    'Runs the second statement for each item returned by the first statement.'),
];

export const FUNCTIONS = [
  // Cypher projection (GDS >= 2.4): an aggregating function over (source, target) rows.
  fn('gds.graph.project',
    [['graphName', 'STRING'], ['sourceNode', 'ANY'], ['targetNode', 'ANY', 'null'], ['dataConfig', 'ANY', 'null'],
      ['configuration', 'ANY', 'null']],
    'MAP', 'Creates a named graph in the catalog from Cypher rows.', true),
  fn('gds.graph.exists', [['graphName', 'STRING']], 'BOOLEAN', 'Checks if a graph exists in the catalog.'),
  fn('gds.util.asNode', [['nodeId', 'INTEGER | FLOAT']], 'NODE', 'The node of a GDS node id.'),
  fn('gds.util.asNodes', [['nodeIds', 'LIST<INTEGER | FLOAT>']], 'LIST<NODE>', 'The nodes of GDS node ids.'),
];

const BUILT_IN_PROCEDURE = /^(db|dbms|tx)\./;

function registry(version, own, catalogue, keep) {
  const entries = Object.values(catalogue?.[version] ?? {}).filter(keep);
  if (entries.length === 0) {
    throw new Error(`no built-ins for ${version} in the language-support catalogue`);
  }
  return Object.fromEntries([...entries, ...own].map((e) => [e.name, e]));
}

/** The DbSchema for lintCypherQuery; `parameters` are the names the statements use. */
export function dbSchema(parameters) {
  const catalogue = testData.mockSchema;
  const procedures = {};
  const functions = {};
  for (const version of VERSIONS) {
    procedures[version] = registry(version, PROCEDURES, catalogue.procedures, (p) => BUILT_IN_PROCEDURE.test(p.name));
    functions[version] = registry(version, FUNCTIONS, catalogue.functions, (f) => f.isBuiltIn);
  }
  return {
    labels: LABELS,
    relationshipTypes: RELATIONSHIP_TYPES,
    propertyKeys: PROPERTY_KEYS,
    parameters: Object.fromEntries(parameters.map((name) => [name, null])),
    procedures,
    functions,
    defaultLanguage: 'CYPHER 5',
  };
}
