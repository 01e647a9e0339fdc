import { describe, expect, it } from "vitest";
import { dayRange, edgeWidth, edgesFromTransfers, emptyGraph, exportJson, mergeNeighbourhood, riskColour, ringLevels, toElements, windowGraph } from "../src/lib/graph";

const A = "0xa", B = "0xb", C = "0xc", D = "0xd";
const hood = (center: string, edges: [string, string, number, number][], nodes: { address: string; score?: number; flagged?: boolean }[]) => ({
  center,
  edges: edges.map(([fromAddress, toAddress, value, transfers]) => ({ fromAddress, toAddress, value, transfers })),
  nodes: nodes.map((n) => ({ address: n.address, labels: [], anomaly: n.score === undefined ? null : { score: n.score, flagged: !!n.flagged } })),
});

describe("the flow graph", () => {
  it("grows by expansions, keeping what it knew", () => {
    let g = emptyGraph(A, { address: A, anomaly: { score: 0.2, flagged: false } });
    g = mergeNeighbourhood(g, hood(A, [[A, B, 2, 1], [C, A, 1, 3]], [{ address: B, score: 0.9 }, { address: C }]));
    expect(Object.keys(g.nodes).sort()).toEqual([A, B, C]);
    expect(g.nodes[A]).toMatchObject({ center: true, expanded: true, score: 0.2 });
    expect(g.nodes[B]).toMatchObject({ expanded: false, score: 0.9 });
    g = mergeNeighbourhood(g, hood(B, [[A, B, 2, 1], [B, D, 5, 2]], [{ address: A }, { address: D, score: 0.1 }]));
    expect(Object.keys(g.nodes).sort()).toEqual([A, B, C, D]);
    expect(g.nodes[B].expanded).toBe(true);
    expect(g.nodes[A].score).toBe(0.2); // a neighbour without a score does not erase the centre's
    expect(Object.keys(g.edges).sort()).toEqual(["0xa>0xb", "0xb>0xd", "0xc>0xa"]);
  });

  it("draws width by value and colour by the riskier wallet", () => {
    let g = emptyGraph(A);
    g = mergeNeighbourhood(g, hood(A, [[A, B, 4, 1], [A, C, 1, 1]], [{ address: B, score: 1, flagged: true }, { address: C, score: 0 }]));
    const els = toElements(g);
    const edge = (id: string) => els.find((e) => e.data.id === id)!.data;
    expect(edge("0xa>0xb").width).toBe(10);
    expect(edge("0xa>0xc").width).toBeCloseTo(1 + 9 * 0.5);
    expect(edge("0xa>0xb").color).toBe(riskColour(1, true));
    expect(edge("0xa>0xc").color).toBe(riskColour(0)); // the centre has no score: the other decides
    expect(els.filter((e) => e.group === "nodes")).toHaveLength(3);
  });

  it("cuts to a time window from the window's transfers", () => {
    let g = emptyGraph(A);
    g = mergeNeighbourhood(g, hood(A, [[A, B, 4, 1], [A, C, 1, 1]], [{ address: B }, { address: C }]));
    const t = (hash: string, from: string, to: string, value: number, ts: number, token = "ETH") => ({ hash, logIndex: -1, fromAddress: from, toAddress: to, value, token, ts });
    const w = windowGraph(g, [t("h1", A, B, 1.5, 100), t("h2", A, B, 0.5, 200), t("h2", A, B, 0.5, 200), t("h3", D, A, 7, 150, "0xtoken")]);
    expect(Object.keys(w.nodes).sort()).toEqual([A, B, D]); // C has no transfer in the window
    expect(w.edges["0xa>0xb"]).toMatchObject({ value: 2, transfers: 2, first: 100, last: 200 }); // h2 once
    expect(w.edges["0xd>0xa"]).toMatchObject({ value: 0, transfers: 1 }); // tokens counted, not valued
    expect(edgesFromTransfers([])).toEqual({});
  });

  it("exports what is drawn as JSON", () => {
    const g = mergeNeighbourhood(emptyGraph(A), hood(A, [[A, B, 4, 2]], [{ address: B, score: 0.5 }]));
    const out = JSON.parse(exportJson(g, { since: 1, until: 2 }));
    expect(out.center).toBe(A);
    expect(out.window).toEqual({ since: 1, until: 2 });
    expect(out.edges).toEqual([{ from: A, to: B, value: 4, transfers: 2, first: null, last: null }]);
    expect(out.nodes.map((n: { address: string }) => n.address).sort()).toEqual([A, B]);
  });

  it("scales and colours safely", () => {
    expect(edgeWidth(0, 0)).toBe(1);
    expect(edgeWidth(5, 0)).toBe(1);
    expect(edgeWidth(50, 10)).toBe(10);
    expect(riskColour(null)).toBe("#9e9e9e");
    expect(riskColour(0)).toBe("hsl(120, 70%, 40%)");
    expect(riskColour(1)).toBe("hsl(0, 70%, 40%)");
    expect(riskColour(0.5, false, true)).toBe("hsl(60, 70%, 26%)");
    expect(dayRange(86400 * 10 + 5, 86400 * 12 + 3)).toEqual({ start: 864000, days: 3 });
    expect(dayRange(null, 5)).toBeNull();
  });

  it("lays a big graph out in rings that fill up from the centre", () => {
    const nodes = [
      { id: "c", center: true, expanded: true, degree: 300 },
      { id: "x1", center: false, expanded: true, degree: 40 },
      { id: "x2", center: false, expanded: true, degree: 90 },
      ...Array.from({ length: 500 }, (_, i) => ({ id: `n${i}`, center: false, expanded: false, degree: (i % 7) + 1 })),
    ];
    const rings = ringLevels(nodes);
    expect(rings.get("c")).toBe(0);
    expect([rings.get("x1"), rings.get("x2")]).toEqual([-1, -1]); // the expanded wallets, a ring of their own
    const sizes = new Map<number, number>();
    for (const [id, r] of rings) if (id.startsWith("n")) sizes.set(-r, (sizes.get(-r) ?? 0) + 1);
    expect(Math.min(...sizes.keys())).toBe(2);
    for (const [k, n] of sizes) expect(n).toBeLessThanOrEqual(6 * k);
    expect(sizes.size).toBeLessThan(14); // about sqrt(500 / 3) rings, not one of 500
    expect(rings.get("n6")! >= rings.get("n0")!).toBe(true); // busier wallets nearer the middle
  });
});
