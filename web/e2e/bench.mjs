// The web app's figures in headless Chromium against a running API (bench/web.py starts one):
// first meaningful render of a wallet page from a cold load (address, score and reasons shown),
// the JavaScript shipped (gzipped), and pan/zoom frame rate of a 500-node neighbourhood.
//   node e2e/bench.mjs --url http://127.0.0.1:PORT --wallet 0x... [--hubs 0x...,0x...] [--runs 5]
// Prints one JSON line.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { chromium } from "playwright-core";

const { values: opt } = parseArgs({
  options: {
    url: { type: "string" }, wallet: { type: "string" }, hubs: { type: "string", default: "" },
    runs: { type: "string", default: "5" }, nodes: { type: "string", default: "500" },
    chromium: { type: "string", default: process.env.CHROMIUM || "/usr/bin/chromium" },
  },
});
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const out = {};

// JS shipped: every script of the build, gzipped (level 9, as a server would)
const assets = join(import.meta.dirname, "..", "dist", "assets");
const js = readdirSync(assets).filter((f) => f.endsWith(".js"));
out.jsRawBytes = js.reduce((n, f) => n + readFileSync(join(assets, f)).length, 0);
out.jsGzipBytes = js.reduce((n, f) => n + gzipSync(readFileSync(join(assets, f)), { level: 9 }).length, 0);
out.jsFiles = js.length;

const browser = await chromium.launch({ executablePath: opt.chromium, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
async function cold(path, ready) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } }); // empty cache
  const page = await context.newPage();
  await page.goto(opt.url + path, { waitUntil: "commit" });
  const t = await page.waitForFunction(ready, null, { polling: "raf", timeout: 30_000 });
  const ms = await t.jsonValue();
  const js = await page.evaluate(() => performance.getEntriesByType("resource").filter((r) => r.initiatorType === "script" || r.name.endsWith(".js")).map((r) => r.name.split("/").pop()));
  await context.close();
  return { ms, js };
}
// baseline: the wallet's own GraphQL query from a blank page of the same origin, cold
async function bareQuery() {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(opt.url + "/healthz");
  const ms = await page.evaluate(async (address) => {
    const t0 = performance.now();
    const r = await fetch("/graphql", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ query: "query($a:String!){wallet(address:$a){address labels anomaly{score explanation{factor contribution}} typology{code axes{axis value probability}} cluster{id profile} counterparties(first:25){address sent received transfers wallet{address labels name typology{code} anomaly{score flagged}}}}}", variables: { a: address } }) });
    await r.json();
    return performance.now() - t0;
  }, opt.wallet);
  await context.close();
  return ms;
}
const ready = `(() => document.querySelector('#anomaly-reasons li') && document.querySelector('#wallet-address') ? performance.now() : false)()`;
const fmr = [], bare = [];
let loadedJs = [];
for (let i = 0; i < Number(opt.runs); i++) {
  // the expression itself (a string is evaluated, not called: "() => ..." was a truthy function
  // that resolved at once and measured nothing)
  const r = await cold(`/app/wallet/${opt.wallet}`, ready);
  fmr.push(r.ms);
  loadedJs = r.js;
  bare.push(await bareQuery());
}
out.firstRenderMs = fmr.map((x) => Math.round(x));
out.firstRenderMedianMs = Math.round(median(fmr));
out.bareQueryMedianMs = Math.round(median(bare));
out.scriptsAtFirstRender = loadedJs;

// frame rate: a neighbourhood grown to >= N nodes by expanding hubs (100 neighbours each)
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
page.on("crash", () => console.error("page crashed"));
page.on("pageerror", (e) => console.error("page error", e.message));
await page.goto(`${opt.url}/app/wallet/${opt.wallet}`);
await page.waitForFunction(() => window.__aidropCy && window.__aidropCy.nodes().length > 1, null, { timeout: 30_000 });
await page.selectOption("select >> nth=0", "100");
const target = Number(opt.nodes);
const hubs = opt.hubs.split(",").filter(Boolean);
for (let i = 0; i < 40 && (await page.evaluate(() => window.__aidropCy.nodes().length)) < target; i++) {
  const next = hubs.shift() ?? (await page.evaluate(() => {
    const cy = window.__aidropCy;
    const open = cy.nodes().filter((n) => !n.hasClass("expanded") && !n.hasClass("contract"));
    return open.max((n) => n.degree()).ele?.id() ?? open[0]?.id();
  }));
  if (!next) break;
  const before = await page.evaluate(() => window.__aidropCy.nodes(".expanded").length);
  // braces: return nothing. emit() returns the collection, and Playwright serialising a Cytoscape
  // collection (core, renderer, canvases) took 3 GB of heap and killed the tab past ~100 wallets
  await page.evaluate((id) => { window.__aidropCy.getElementById(id).emit("tap"); }, next);
  await page.waitForFunction((n) => window.__aidropCy.nodes(".expanded").length > n, before, { timeout: 60_000 }).catch(() => {});
  await page.waitForTimeout(200);
}
out.graphNodes = await page.evaluate(() => window.__aidropCy.nodes().length);
out.graphEdges = await page.evaluate(() => window.__aidropCy.edges().length);
await page.locator(".graph").scrollIntoViewIfNeeded();
const box = await page.locator(".graph").boundingBox();

async function frames(interact) {
  await page.evaluate(() => {
    window.__frames = [];
    const tick = (t) => { window.__frames.push(t); if (window.__frames.length < 100000 && !window.__stop) requestAnimationFrame(tick); };
    window.__stop = false;
    requestAnimationFrame(tick);
  });
  await interact();
  return page.evaluate(() => {
    window.__stop = true;
    const f = window.__frames;
    const gaps = f.slice(1).map((t, i) => t - f[i]).sort((a, b) => a - b);
    const secs = (f[f.length - 1] - f[0]) / 1000;
    return { fps: Math.round(((f.length - 1) / secs) * 10) / 10, p95FrameMs: Math.round(gaps[Math.floor(gaps.length * 0.95)] * 10) / 10, frames: f.length };
  });
}
const cx = box.x + box.width / 2, cy = box.y + box.height / 2;
async function panZoom() {
  // drag the background from a corner (the layout keeps 20 px free), then wheel in and out
  await page.mouse.move(box.x + 6, box.y + 6);
  await page.mouse.down();
  for (let i = 0; i < 60; i++) await page.mouse.move(box.x + 6 + i * 4, box.y + 6 + i * 2);
  for (let i = 60; i > 0; i--) await page.mouse.move(box.x + 6 + i * 4, box.y + 6 + i * 2);
  await page.mouse.up();
  await page.mouse.move(cx, cy);
  for (let i = 0; i < 30; i++) await page.mouse.wheel(0, i < 15 ? -120 : 120);
  await page.waitForTimeout(100);
}
out.panZoom = await frames(panZoom);
out.idle = await frames(() => page.waitForTimeout(2000)); // the baseline: the same page, untouched
await browser.close();
console.log(JSON.stringify(out));
