// The flow graph's data: a wallet's neighbourhood, grown by expanding nodes, optionally cut to a
// time window (then its edges come from the transfers in that window). Pure functions, tested.

export interface NodeInfo {
  address: string;
  labels?: string[];
  name?: string | null;
  typology?: { code: string } | null;
  anomaly?: { score: number; flagged: boolean } | null;
}

export interface GraphNode {
  id: string;
  score: number | null;
  flagged: boolean;
  labels: string[];
  name: string | null;
  typology: string | null;
  expanded: boolean;
  center: boolean;
}

export interface GraphEdge {
  id: string;
  source: string;
  target: string;
  value: number;
  transfers: number;
  first?: number;
  last?: number;
}

export interface FlowGraph {
  center: string;
  nodes: Record<string, GraphNode>;
  edges: Record<string, GraphEdge>;
}

export interface NeighbourhoodData {
  center: string;
  addresses?: string[];
  edges: { fromAddress: string; toAddress: string; transfers: number; value: number }[];
  nodes: NodeInfo[];
}

export interface TransferLike {
  hash: string;
  logIndex: number;
  fromAddress: string;
  toAddress: string;
  value: number;
  token: string;
  ts: number;
}

export const NATIVE = "ETH";

/** A graph of the centre wallet alone (its own details, when known, colour it). */
export function emptyGraph(center: string, info?: NodeInfo): FlowGraph {
  return { center, nodes: { [center]: { ...node(info, center), center: true } }, edges: {} };
}

function node(info: NodeInfo | undefined, id: string, old?: GraphNode): GraphNode {
  return {
    id,
    score: info?.anomaly?.score ?? old?.score ?? null,
    flagged: info?.anomaly?.flagged ?? old?.flagged ?? false,
    labels: info?.labels ?? old?.labels ?? [],
    name: info?.name ?? old?.name ?? null,
    typology: info?.typology?.code ?? old?.typology ?? null,
    expanded: old?.expanded ?? false,
    center: old?.center ?? false,
  };
}

export function edgeId(source: string, target: string): string {
  return `${source}>${target}`;
}

/** The graph with a node's neighbourhood added; the node is marked expanded. */
export function mergeNeighbourhood(g: FlowGraph, n: NeighbourhoodData): FlowGraph {
  const nodes = { ...g.nodes };
  const edges = { ...g.edges };
  const infos = new Map(n.nodes.map((w) => [w.address, w]));
  const ids = new Set<string>([n.center, ...(n.addresses ?? []), ...n.nodes.map((w) => w.address)]);
  for (const e of n.edges) ids.add(e.fromAddress).add(e.toAddress);
  for (const id of ids) nodes[id] = node(infos.get(id), id, nodes[id]);
  nodes[n.center] = { ...nodes[n.center], expanded: true, center: n.center === g.center || nodes[n.center].center };
  for (const e of n.edges) {
    const id = edgeId(e.fromAddress, e.toAddress);
    edges[id] = { ...edges[id], id, source: e.fromAddress, target: e.toAddress, value: e.value, transfers: e.transfers };
  }
  return { center: g.center, nodes, edges };
}

/** Edges aggregated from transfers (native value summed, every transfer counted), by direction. */
export function edgesFromTransfers(transfers: TransferLike[]): Record<string, GraphEdge> {
  const seen = new Set<string>();
  const edges: Record<string, GraphEdge> = {};
  for (const t of transfers) {
    const key = `${t.hash}:${t.logIndex}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const id = edgeId(t.fromAddress, t.toAddress);
    const e = (edges[id] ??= { id, source: t.fromAddress, target: t.toAddress, value: 0, transfers: 0 });
    e.transfers += 1;
    if (t.token === NATIVE) e.value += t.value;
    e.first = e.first === undefined ? t.ts : Math.min(e.first, t.ts);
    e.last = e.last === undefined ? t.ts : Math.max(e.last, t.ts);
  }
  return edges;
}

/** The graph cut to the transfers of a time window: its edges from those transfers only, its
 * nodes the expanded ones and those the window's edges reach. */
export function windowGraph(g: FlowGraph, transfers: TransferLike[]): FlowGraph {
  const edges = edgesFromTransfers(transfers);
  const nodes: Record<string, GraphNode> = {};
  for (const n of Object.values(g.nodes)) if (n.expanded || n.center) nodes[n.id] = n;
  for (const e of Object.values(edges)) {
    for (const id of [e.source, e.target]) nodes[id] ??= g.nodes[id] ?? node(undefined, id);
  }
  return { center: g.center, nodes, edges };
}

/** Edge width in px from its value relative to the largest (square root: areas, not lengths). */
export function edgeWidth(value: number, max: number): number {
  if (!(max > 0) || !(value > 0)) return 1;
  return 1 + 9 * Math.sqrt(Math.min(value, max) / max);
}

/** Colour of a risk score: green (low) through amber to red (high); grey when unknown. For text
 * on white (`text`), darker shades that keep a 4.5:1 contrast. */
export function riskColour(score: number | null | undefined, flagged = false, text = false): string {
  if (flagged) return text ? "#a51d1d" : "#c62828";
  if (score === null || score === undefined || Number.isNaN(score)) return text ? "#5f6368" : "#9e9e9e";
  const s = Math.max(0, Math.min(1, score));
  const hue = Math.round(120 * (1 - s)); // 120 green -> 0 red
  return `hsl(${hue}, 70%, ${text ? 26 : 40}%)`;
}

/** An edge's risk: the riskier of its two wallets. */
export function edgeRisk(g: FlowGraph, e: GraphEdge): { score: number | null; flagged: boolean } {
  const a = g.nodes[e.source];
  const b = g.nodes[e.target];
  const scores = [a?.score, b?.score].filter((s): s is number => s !== null && s !== undefined);
  return { score: scores.length ? Math.max(...scores) : null, flagged: !!(a?.flagged || b?.flagged) };
}

export interface ElementDef {
  group: "nodes" | "edges";
  data: Record<string, unknown>;
  classes?: string;
}

/** Cytoscape elements with their drawing data (colour, width, label). */
export function toElements(g: FlowGraph): ElementDef[] {
  const edges = Object.values(g.edges).filter((e) => g.nodes[e.source] && g.nodes[e.target]);
  const max = Math.max(0, ...edges.map((e) => e.value));
  const out: ElementDef[] = [];
  for (const n of Object.values(g.nodes)) {
    const classes = [n.center ? "center" : "", n.expanded ? "expanded" : "", n.labels.includes("Contract") ? "contract" : ""]
      .filter(Boolean)
      .join(" ");
    out.push({
      group: "nodes",
      data: { id: n.id, label: n.name || `${n.id.slice(0, 6)}…${n.id.slice(-4)}`, color: riskColour(n.score, n.flagged), score: n.score },
      classes,
    });
  }
  for (const e of edges) {
    const risk = edgeRisk(g, e);
    out.push({
      group: "edges",
      data: { id: e.id, source: e.source, target: e.target, value: e.value, transfers: e.transfers, width: edgeWidth(e.value, max), color: riskColour(risk.score, risk.flagged) },
    });
  }
  return out;
}

/** The graph as JSON for export (what is drawn, with the window if one is set). */
export function exportJson(g: FlowGraph, window?: { since: number; until: number } | null): string {
  return JSON.stringify(
    {
      center: g.center,
      window: window ?? null,
      nodes: Object.values(g.nodes).map((n) => ({ address: n.id, name: n.name, labels: n.labels, typology: n.typology, anomalyScore: n.score, flagged: n.flagged, expanded: n.expanded })),
      edges: Object.values(g.edges).map((e) => ({ from: e.source, to: e.target, value: e.value, transfers: e.transfers, first: e.first ?? null, last: e.last ?? null })),
    },
    null,
    2,
  );
}

/** Whole UTC days between two times, for the window slider. */
export function dayRange(first: number | null | undefined, last: number | null | undefined): { start: number; days: number } | null {
  if (first === null || first === undefined || last === null || last === undefined) return null;
  const start = Math.floor(first / 86400) * 86400;
  return { start, days: Math.max(1, Math.ceil((last + 1 - start) / 86400)) };
}

/** Rings for a big graph's concentric layout (value per node: higher sits nearer the middle).
 * The centre alone, then the expanded wallets, then the rest by degree, ring k holding about 6k
 * wallets so every ring is as full as its circumference allows. One ring for all the unexpanded
 * wallets (as before) made 500 wallets a circle 8,000 px wide, drawn at 6 % zoom. */
export function ringLevels(nodes: { id: string; center: boolean; expanded: boolean; degree: number }[]): Map<string, number> {
  const order = [...nodes].sort((a, b) => Number(b.center) - Number(a.center) || Number(b.expanded) - Number(a.expanded) || b.degree - a.degree || (a.id < b.id ? -1 : 1));
  const out = new Map<string, number>();
  let ring = 0;
  let room = 1;
  let wasExpanded = true;
  for (const n of order) {
    // the expanded wallets never share a ring with the rest
    if (room === 0 || (ring > 0 && wasExpanded && !n.expanded && !n.center)) {
      ring += 1;
      room = 6 * ring;
    }
    wasExpanded = n.expanded || n.center;
    out.set(n.id, ring === 0 ? 0 : -ring);
    room -= 1;
  }
  return out;
}
