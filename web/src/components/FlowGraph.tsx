// The wallet's money flows as a graph (Cytoscape.js, loaded with this module only): edge width
// by value, colour by risk, click a wallet to expand it, a time window, hover details, export.
import cytoscape, { type Core, type EventObject } from "cytoscape";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { gql } from "../gql/client";
import { NEIGHBOURHOOD, TRANSFERS, type NeighbourhoodData, type TransfersData, type TransferRow } from "../gql/queries";
import { date, eth, num, short } from "../lib/format";
import { dayRange, emptyGraph, exportJson, mergeNeighbourhood, ringLevels, toElements, windowGraph, type ElementDef, type FlowGraph as Graph, type NodeInfo } from "../lib/graph";
import { navigate } from "../lib/router";
import { typologyWords } from "../lib/words";
import { ErrorBox } from "./ErrorBox";

declare global {
  interface Window {
    __aidropCy?: Core;
  }
}

const STYLE: cytoscape.StylesheetJson = [
  { selector: "node", style: { "background-color": "data(color)", label: "data(label)", "font-size": 9, color: "#222", width: 18, height: 18, "text-valign": "bottom", "text-margin-y": 3, "min-zoomed-font-size": 7 } },
  { selector: "node.center", style: { width: 30, height: 30, "border-width": 3, "border-color": "#1a237e" } },
  { selector: "node.expanded", style: { "border-width": 2, "border-color": "#3949ab" } },
  { selector: "node.contract", style: { shape: "round-rectangle" } },
  { selector: "edge", style: { width: "data(width)", "line-color": "data(color)", "target-arrow-color": "data(color)", "target-arrow-shape": "triangle", "curve-style": "bezier", opacity: 0.75, "arrow-scale": 0.8 } },
  { selector: ":selected", style: { "overlay-color": "#3949ab", "overlay-opacity": 0.25 } },
];

interface Hover {
  kind: "node" | "edge";
  title: string;
  lines: string[];
}

function download(name: string, url: string) {
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
}

export default function FlowGraph({ center, info, firstSeen, lastSeen }: { center: string; info?: NodeInfo; firstSeen: number | null; lastSeen: number | null }) {
  const box = useRef<HTMLDivElement>(null);
  const cy = useRef<Core | null>(null);
  const [graph, setGraph] = useState<Graph>(() => emptyGraph(center, info));
  const [limit, setLimit] = useState(25);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [hover, setHover] = useState<Hover | null>(null);
  const range = useMemo(() => dayRange(firstSeen, lastSeen), [firstSeen, lastSeen]);
  const [win, setWin] = useState<[number, number] | null>(null); // day offsets, inclusive
  const [windowed, setWindowed] = useState<TransferRow[] | null>(null);
  const [expandTarget, setExpandTarget] = useState("");

  const expand = useCallback(
    async (address: string) => {
      setBusy(address);
      setError(null);
      try {
        const data = await gql<NeighbourhoodData>(NEIGHBOURHOOD, { address, limit });
        if (data.wallet) setGraph((g) => mergeNeighbourhood(g, data.wallet!.neighbourhood));
      } catch (e) {
        setError(e);
      } finally {
        setBusy(null);
      }
    },
    [limit],
  );

  useEffect(() => {
    setGraph(emptyGraph(center, info));
    setWin(null);
    expand(center);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [center]);

  const windowSpan = useMemo(() => {
    if (!range || !win) return null;
    const full = win[0] === 0 && win[1] === range.days - 1;
    return full ? null : { since: range.start + win[0] * 86400, until: range.start + (win[1] + 1) * 86400 };
  }, [range, win]);

  const expandedKey = Object.values(graph.nodes).filter((n) => n.expanded).map((n) => n.id).sort().join(",");
  useEffect(() => {
    if (!windowSpan) {
      setWindowed(null);
      return;
    }
    let live = true;
    const timer = setTimeout(async () => {
      try {
        const pages = await Promise.all(
          expandedKey.split(",").filter(Boolean).map((address) =>
            gql<TransfersData>(TRANSFERS, { address, direction: "BOTH", since: windowSpan.since, until: windowSpan.until, first: 100 }),
          ),
        );
        if (live) setWindowed(pages.flatMap((p) => p.wallet?.transfers.edges.map((e) => e.node) ?? []));
      } catch (e) {
        if (live) setError(e);
      }
    }, 250);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [windowSpan, expandedKey]);

  const shown = useMemo(() => (windowed ? windowGraph(graph, windowed) : graph), [graph, windowed]);

  // the Cytoscape instance lives as long as the panel
  useEffect(() => {
    if (!box.current) return;
    const instance = cytoscape({
      container: box.current,
      style: STYLE,
      wheelSensitivity: 0.3,
      textureOnViewport: true,
      hideLabelsOnViewport: true,
      minZoom: 0.05,
      maxZoom: 6,
    });
    cy.current = instance;
    window.__aidropCy = instance;
    return () => {
      instance.destroy();
      if (window.__aidropCy === instance) delete window.__aidropCy;
      cy.current = null;
    };
  }, []);

  const graphRef = useRef(shown);
  graphRef.current = shown;
  useEffect(() => {
    const c = cy.current;
    if (!c) return;
    const onTap = (e: EventObject) => {
      const id = e.target.id() as string;
      const n = graphRef.current.nodes[id];
      if (n && !n.expanded) expand(id);
    };
    const onOver = (e: EventObject) => {
      const el = e.target;
      if (el.isNode()) {
        const n = graphRef.current.nodes[el.id()];
        if (!n) return;
        setHover({ kind: "node", title: n.name || short(n.id), lines: [n.id, `anomaly ${n.score === null ? "not scored" : num(n.score, 3)}${n.flagged ? " (flagged)" : ""}`, typologyWords(n.typology), n.labels.join(", ") || "wallet", n.expanded ? "expanded" : "click to expand"] });
      } else {
        const d = el.data();
        setHover({ kind: "edge", title: `${short(d.source)} → ${short(d.target)}`, lines: [`${eth(d.value)} native value`, `${d.transfers} transfers`] });
      }
    };
    c.on("tap", "node", onTap);
    c.on("mouseover", "node, edge", onOver);
    return () => {
      c.off("tap", "node", onTap);
      c.off("mouseover", "node, edge", onOver);
    };
  }, [expand]);

  useEffect(() => {
    const c = cy.current;
    if (!c) return;
    const elements = toElements(shown);
    const before = new Map(c.nodes().map((n) => [n.id(), { ...n.position() }]));
    const wanted = new Set(elements.map((e) => e.data.id as string));
    c.batch(() => {
      // only what changed: removing and re-adding every element on each expansion made a 500-wallet
      // graph (4,000 flows) restyle everything, several seconds per click
      c.elements().filter((el) => !wanted.has(el.id())).remove();
      const added: ElementDef[] = [];
      for (const e of elements) {
        const el = c.getElementById(e.data.id as string);
        if (el.empty()) {
          added.push(e);
          continue;
        }
        const old = el.data();
        if (Object.entries(e.data).some(([k, v]) => old[k] !== v)) el.data(e.data);
        if ((el.classes() as string[]).join(" ") !== (e.classes ?? "").split(" ").filter(Boolean).join(" ")) el.classes(e.classes ?? "");
      }
      // known wallets stay put; new ones start around a known neighbour (never all on one point)
      c.add(added).nodes().forEach((n) => {
        const anchor = n.neighborhood("node").filter((m) => before.has(m.id()))[0];
        const base = anchor ? before.get(anchor.id())! : { x: 0, y: 0 };
        const angle = Math.random() * 2 * Math.PI;
        const r = 60 + Math.random() * 120;
        n.position({ x: base.x + r * Math.cos(angle), y: base.y + r * Math.sin(angle) });
      });
    });
    const fresh = elements.some((e) => e.group === "nodes" && !before.has(e.data.id as string));
    if (fresh || before.size === 0) {
      const big = c.nodes().length > 150;
      if (big) {
        const rings = ringLevels(c.nodes().map((n) => ({ id: n.id(), center: n.hasClass("center"), expanded: n.hasClass("expanded"), degree: n.degree(false) })));
        c.layout({ name: "concentric", concentric: (n) => rings.get(n.id()) ?? 0, levelWidth: () => 1, minNodeSpacing: 14, animate: false }).run();
      } else c.layout({ name: "cose", animate: false, randomize: false, numIter: 400, nodeRepulsion: () => 8000 }).run();
      c.fit(undefined, 20);
    }
  }, [shown]);

  const nodes = Object.values(shown.nodes);
  const unexpanded = nodes.filter((n) => !n.expanded).map((n) => n.id);
  const exportPng = () => {
    const c = cy.current;
    if (c) download(`aidrop-flows-${center}.png`, c.png({ full: true, scale: 2, maxWidth: 4096, maxHeight: 4096, bg: "#ffffff" }));
  };
  const exportJsonFile = () => {
    const url = URL.createObjectURL(new Blob([exportJson(shown, windowSpan)], { type: "application/json" }));
    download(`aidrop-flows-${center}.json`, url);
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };

  return (
    <section className="card" aria-labelledby="flows-h">
      <h2 id="flows-h">Flow graph</h2>
      <div className="toolbar">
        <label>
          Neighbours per expansion{" "}
          <select value={limit} onChange={(e) => setLimit(Number(e.target.value))}>
            {[10, 25, 50, 100].map((v) => (
              <option key={v}>{v}</option>
            ))}
          </select>
        </label>
        <label>
          Expand wallet{" "}
          <select value={expandTarget} onChange={(e) => setExpandTarget(e.target.value)}>
            <option value="">choose…</option>
            {unexpanded.map((id) => (
              <option key={id} value={id}>
                {short(id)}
              </option>
            ))}
          </select>
        </label>
        <button type="button" disabled={!expandTarget || !!busy} onClick={() => expandTarget && expand(expandTarget).then(() => setExpandTarget(""))}>
          Expand
        </button>
        <button type="button" onClick={exportPng}>Export PNG</button>
        <button type="button" onClick={exportJsonFile}>Export JSON</button>
        <span className="muted" id="graph-count" role="status">
          {busy ? `expanding ${short(busy)}…` : `${nodes.length} wallets, ${Object.keys(shown.edges).length} flows${windowed ? " in the window" : ""}`}
        </span>
      </div>
      {range && range.days > 1 && (
        <fieldset className="window">
          <legend>Time window</legend>
          <label>
            from {date(range.start + (win?.[0] ?? 0) * 86400)}
            <input type="range" min={0} max={range.days - 1} value={win?.[0] ?? 0} onChange={(e) => { const v = Number(e.target.value); setWin((w) => { const b = w ? w[1] : range.days - 1; return [Math.min(v, b), b]; }); }} />
          </label>
          <label>
            to {date(range.start + (win?.[1] ?? range.days - 1) * 86400)}
            <input type="range" min={0} max={range.days - 1} value={win?.[1] ?? range.days - 1} onChange={(e) => { const v = Number(e.target.value); setWin((w) => { const a = w ? w[0] : 0; return [a, Math.max(v, a)]; }); }} />
          </label>
          {windowSpan && <span className="muted">edges from up to 100 transfers of each expanded wallet in the window</span>}
        </fieldset>
      )}
      <ErrorBox error={error} />
      <div className="graph-wrap">
        <div ref={box} className="graph" role="img" aria-label={`Flow graph of ${center}: ${nodes.length} wallets; edge width is value, colour is risk (green low, red high). Click a wallet to expand it.`} />
        <aside className="hover" aria-live="polite">
          {hover ? (
            <>
              <strong>{hover.title}</strong>
              {hover.lines.map((l, i) => (
                <div key={i} className={i === 0 && hover.kind === "node" ? "mono small" : ""}>{l}</div>
              ))}
              {hover.kind === "node" && (
                <button type="button" onClick={() => navigate(`/app/wallet/${hover.lines[0]}`)}>Open wallet</button>
              )}
            </>
          ) : (
            <span className="muted">Hover a wallet or a flow for details; click a wallet to expand it.</span>
          )}
        </aside>
      </div>
    </section>
  );
}
