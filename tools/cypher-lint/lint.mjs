#!/usr/bin/env node
// Lints Cypher with Neo4j's own parser and semantic analysis (@neo4j-cypher/language-support),
// offline. Reads a JSON list of {name, text[, console]} on stdin and prints
// {name: [diagnostic, ...]}; every diagnostic counts, errors and warnings (deprecations included).
// `console: true` allows Neo4j Browser commands such as `:param` (docs); driver statements
// must be one statement each. Exit code: 0 clean, 1 diagnostics, 2 bad input.
import { readFileSync } from 'node:fs';
import { lintCypherQuery, parseParameters, parseStatementsStrs } from '@neo4j-cypher/language-support';
import { dbSchema } from './schema.mjs';

// lintCypherQuery swallows any exception of the semantic analysis and then reports nothing;
// running the analysis once more, unguarded, turns such a crash into a diagnostic.
const analysis = await import(
  new URL('./syntaxValidation/semanticAnalysis.js', import.meta.resolve('@neo4j-cypher/language-support'))
);

const SEVERITY = { 1: 'error', 2: 'warning', 3: 'information', 4: 'hint' };

function fail(message) {
  process.stderr.write(`cypher-lint: ${message}\n`);
  process.exit(2);
}

function readItems() {
  let items;
  try {
    items = JSON.parse(readFileSync(0, 'utf8'));
  } catch (err) {
    fail(`stdin is not JSON: ${err.message}`);
  }
  if (!Array.isArray(items) || items.some((i) => typeof i?.name !== 'string' || typeof i?.text !== 'string')) {
    fail('stdin must be a JSON list of {name, text}');
  }
  return items;
}

function diagnostic(d) {
  return {
    severity: SEVERITY[d.severity] ?? String(d.severity),
    message: d.message,
    line: d.range.start.line + 1,
    column: d.range.start.character + 1,
    deprecated: (d.tags ?? []).includes(2) || /deprecated/i.test(d.message),
  };
}

function crashes(statements) {
  const found = [];
  for (const statement of statements) {
    if (statement.trim().startsWith(':')) continue; // a Browser command, not Cypher
    try {
      analysis.analyzeQuery(statement, 'CYPHER 5');
    } catch (err) {
      found.push({ severity: 'error', message: `Neo4j semantic analysis crashed: ${err}`, line: 1, column: 1, deprecated: false });
    }
  }
  return found;
}

function lintOne(item, schema) {
  const consoleCommandsEnabled = Boolean(item.console);
  const { diagnostics } = lintCypherQuery(item.text, schema, { consoleCommandsEnabled });
  const found = diagnostics.map(diagnostic);
  const statements = parseStatementsStrs(item.text);
  if (!consoleCommandsEnabled && statements.length > 1) {
    found.push({ severity: 'error', message: `${statements.length} statements where the driver sends one`, line: 1, column: 1, deprecated: false });
  }
  return found.concat(crashes(statements));
}

const items = readItems();
const parameters = [...new Set(items.flatMap((i) => parseParameters(i.text, Boolean(i.console))))];
const schema = dbSchema(parameters);
const result = {};
for (const item of items) {
  result[item.name] = lintOne(item, schema);
}
process.stdout.write(JSON.stringify(result, null, 1) + '\n');
process.exit(Object.values(result).some((d) => d.length > 0) ? 1 : 0);
