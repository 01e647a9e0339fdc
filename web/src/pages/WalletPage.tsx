import { lazy, Suspense, useEffect, useMemo, useRef, useState } from "react";
import { gql, subscribe } from "../gql/client";
import {
  ACTIVITY, ANALYZE, JOB_UPDATES, TRANSFERS, WALLET, has,
  type ActivityData, type AnalyzeData, type JobLite, type JobUpdatesData, type TransfersData, type WalletData,
} from "../gql/queries";
import { WALLET_SECTIONS } from "../gql/schema";
import { Bar } from "../components/Bar";
import { DataView } from "../components/DataView";
import { ErrorBox, Loading } from "../components/ErrorBox";
import { LineChart } from "../components/LineChart";
import { Link } from "../components/Link";
import { dailySeries } from "../lib/activity";
import { date, dateTime, eth, num, pct, short } from "../lib/format";
import { riskColour } from "../lib/graph";
import { useQuery } from "../lib/useQuery";
import { axisWords, band, reasons, typologyWords } from "../lib/words";

const FlowGraph = lazy(() => import("../components/FlowGraph"));

const SECTION_TITLES: Record<string, string> = { exposure: "Exposure", sybil: "Sybil cluster", laundering: "Laundering patterns" };

export function WalletPage({ address }: { address: string }) {
  const q = useQuery<{ wallet: WalletData | null }>(WALLET, { address });
  const w = q.data?.wallet;
  useEffect(() => {
    document.title = `${short(address)} · aidrop`;
  }, [address]);
  if (q.error) return <ErrorBox error={q.error} onRetry={q.reload} />;
  if (!w) return <Loading what="Loading the wallet" />;
  const sections = Object.keys(WALLET_SECTIONS).filter((k) => w[k] !== undefined);
  return (
    <div className="wallet">
      <WalletHeader w={w} onAnalysed={q.reload} />
      <div className="grid">
        <AnomalyCard w={w} />
        <TypologyCard w={w} />
        <ClusterCard w={w} />
        <StatsCard w={w} />
        {sections.map((k) => (
          <section className="card" key={k} aria-labelledby={`sec-${k}`} data-section={k}>
            <h2 id={`sec-${k}`}>{SECTION_TITLES[k] ?? k}</h2>
            {w[k] === null ? <p className="muted">Nothing found for this wallet.</p> : <DataView value={w[k]} />}
          </section>
        ))}
      </div>
      {has("Wallet", "activity") && <ActivityCard address={w.address} />}
      <Suspense fallback={<Loading what="Loading the graph view" />}>
        <FlowGraph center={w.address} info={w} firstSeen={w.stats?.firstSeen ?? null} lastSeen={w.stats?.lastSeen ?? null} />
      </Suspense>
      <CounterpartiesCard w={w} />
      <TransfersCard address={w.address} />
    </div>
  );
}

function WalletHeader({ w, onAnalysed }: { w: WalletData; onAnalysed: () => void }) {
  return (
    <header className="card wallet-head">
      {w.profile?.imageUrl ? (
        <img className="avatar" src={w.profile.imageUrl} alt={`Avatar of ${short(w.address)} (${w.profile.source ?? "image"})`} width={96} height={96} />
      ) : (
        <div className="avatar placeholder" aria-hidden="true" style={{ background: riskColour(w.anomaly?.score ?? null, w.anomaly?.flagged) }} />
      )}
      <div className="who">
        <h1>
          {w.name ? `${w.name} ` : ""}
          <span className="mono address" id="wallet-address">{w.address}</span>
        </h1>
        <div className="badges">
          {(w.labels.length ? w.labels : ["Wallet"]).map((l) => (
            <span className="badge" key={l}>{l}</span>
          ))}
          {w.category && <span className="badge">{w.category}</span>}
          {w.symbol && <span className="badge">{w.symbol}</span>}
          {w.anomaly?.flagged && <span className="badge danger">flagged</span>}
          {w.typology && <span className="badge">{w.typology.code}</span>}
        </div>
        <p className="muted">
          {w.analyzedAt ? `Analysed ${dateTime(w.analyzedAt)}` : "Not analysed yet"}
          {w.ppr !== null && w.ppr !== undefined ? ` · PageRank ${num(w.ppr, 4)}` : ""}
        </p>
      </div>
      <AnalyzeButton address={w.address} onDone={onAnalysed} />
    </header>
  );
}

function AnalyzeButton({ address, onDone }: { address: string; onDone: () => void }) {
  const [job, setJob] = useState<JobLite | null>(null);
  const [error, setError] = useState<unknown>(null);
  const stop = useRef<(() => void) | null>(null);
  useEffect(() => () => stop.current?.(), []);
  const run = async () => {
    setError(null);
    stop.current?.();
    try {
      const { analyzeWallet } = await gql<AnalyzeData>(ANALYZE, { address, force: true });
      setJob(analyzeWallet);
      stop.current = subscribe<JobUpdatesData>(JOB_UPDATES, { id: analyzeWallet.id }, {
        next: ({ jobUpdates }) => {
          setJob(jobUpdates);
          if (jobUpdates.status === "COMPLETED") onDone();
        },
        error: setError,
      });
    } catch (e) {
      setError(e);
    }
  };
  const active = job && (job.status === "QUEUED" || job.status === "RUNNING");
  return (
    <div className="analyze">
      <button type="button" className="primary" onClick={run} disabled={!!active}>
        {active ? "Analysing…" : "Run analysis"}
      </button>
      {job && (
        <div className="job" role="status" aria-live="polite" data-status={job.status}>
          <progress max={1} value={job.progress} aria-label="analysis progress" />
          <span>
            {job.status.toLowerCase()} {pct(job.progress, 0)}
            {job.message ? ` · ${job.message}` : ""}
          </span>
          {job.status === "FAILED" && <div className="error">The analysis failed: {job.error} <code>{job.errorCode}</code></div>}
        </div>
      )}
      <ErrorBox error={error} />
    </div>
  );
}

function AnomalyCard({ w }: { w: WalletData }) {
  const a = w.anomaly;
  const top = useMemo(() => reasons(a?.explanation ?? []), [a]);
  return (
    <section className="card" aria-labelledby="anomaly-h">
      <h2 id="anomaly-h">Anomaly</h2>
      {!a ? (
        <p className="muted">No anomaly score yet: run the analysis.</p>
      ) : (
        <>
          <p className="score" style={{ color: riskColour(a.score, a.flagged, true) }}>
            <span id="anomaly-score">{num(a.score, 3)}</span> <small>{band(a.score)}{a.flagged ? ", flagged" : ""}</small>
          </p>
          <p className="muted">
            rank {a.rank ?? "–"} · model {a.model ?? "–"} {a.version ? `(${a.version})` : ""}
          </p>
          <h3>Top reasons</h3>
          {top.length ? (
            <ol className="reasons" id="anomaly-reasons">
              {top.map((r) => (
                <li key={r.factor}>{r.text}</li>
              ))}
            </ol>
          ) : (
            <p className="muted">The model gave no explanation.</p>
          )}
        </>
      )}
    </section>
  );
}

function TypologyCard({ w }: { w: WalletData }) {
  const t = w.typology;
  return (
    <section className="card" aria-labelledby="typology-h">
      <h2 id="typology-h">Typology</h2>
      {!t ? (
        <p className="muted">No typology yet.</p>
      ) : (
        <>
          <p>
            <strong>{t.code}</strong> · {typologyWords(t.code)}
          </p>
          <table className="axes">
            <caption className="sr-only">Typology axes with probabilities</caption>
            <thead>
              <tr><th scope="col">axis</th><th scope="col">value</th><th scope="col">probability</th></tr>
            </thead>
            <tbody>
              {t.axes.map((ax) => (
                <tr key={ax.axis}>
                  <th scope="row">{ax.axis}</th>
                  <td>{axisWords(ax.axis, ax.value)} ({ax.value})</td>
                  <td>
                    <Bar value={ax.probability} label={`${ax.axis} probability`} /> {pct(ax.probability, 0)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

function ClusterCard({ w }: { w: WalletData }) {
  const c = w.cluster;
  return (
    <section className="card" aria-labelledby="cluster-h">
      <h2 id="cluster-h">Cluster</h2>
      {!c ? (
        <p className="muted">No cluster yet.</p>
      ) : (
        <>
          <p>
            <strong>Cluster {c.id}</strong> {c.version ? <span className="muted">({c.version})</span> : null}
          </p>
          {c.profile ? <DataView value={c.profile} /> : <p className="muted">No profile.</p>}
        </>
      )}
    </section>
  );
}

function StatsCard({ w }: { w: WalletData }) {
  const s = w.stats;
  if (!s) return null;
  return (
    <section className="card" aria-labelledby="stats-h">
      <h2 id="stats-h">Flows</h2>
      <dl className="kv">
        <div><dt>received</dt><dd>{eth(s.inValue)} in {s.inTx} tx from {s.fanIn} wallets</dd></div>
        <div><dt>sent</dt><dd>{eth(s.outValue)} in {s.outTx} tx to {s.fanOut} wallets</dd></div>
        <div><dt>active</dt><dd>{date(s.firstSeen)} to {date(s.lastSeen)}</dd></div>
      </dl>
    </section>
  );
}

function ActivityCard({ address }: { address: string }) {
  const q = useQuery<ActivityData>(ACTIVITY, { address });
  const series = useMemo(() => dailySeries(q.data?.wallet?.activity ?? []), [q.data]);
  const lines = useMemo(
    () => [
      { label: "value in (ETH)", values: series.valueIn, color: "#1b7f3b", bars: true },
      { label: "value out (ETH)", values: series.valueOut.map((v) => -v), color: "#b3261e", bars: true },
    ],
    [series],
  );
  return (
    <section className="card" aria-labelledby="activity-h">
      <h2 id="activity-h">Activity over time</h2>
      <ErrorBox error={q.error} />
      {q.loading ? (
        <Loading />
      ) : series.days.length ? (
        <LineChart
          x={series.days}
          lines={lines}
          title="Native value per day: in above the axis, out below"
          yLabel="ETH"
          summary={`${series.days.length} days from ${date(series.days[0])} to ${date(series.days[series.days.length - 1])}, ${eth(series.valueIn.reduce((a, b) => a + b, 0))} in, ${eth(series.valueOut.reduce((a, b) => a + b, 0))} out`}
        />
      ) : (
        <p className="muted">No transfers.</p>
      )}
    </section>
  );
}

function CounterpartiesCard({ w }: { w: WalletData }) {
  return (
    <section className="card" aria-labelledby="cp-h">
      <h2 id="cp-h">Counterparties</h2>
      {w.counterparties.length ? (
        <div className="scroll">
          <table id="counterparties">
            <thead>
              <tr>
                <th scope="col">wallet</th><th scope="col">transfers</th><th scope="col">sent to it</th><th scope="col">received from it</th><th scope="col">typology</th><th scope="col">anomaly</th>
              </tr>
            </thead>
            <tbody>
              {w.counterparties.map((c) => (
                <tr key={c.address}>
                  <td><Link to={`/app/wallet/${c.address}`} className="mono">{c.wallet?.name || short(c.address)}</Link>{c.wallet?.labels.includes("Contract") ? <span className="badge">contract</span> : null}</td>
                  <td className="num">{c.transfers}</td>
                  <td className="num">{eth(c.sent)}</td>
                  <td className="num">{eth(c.received)}</td>
                  <td>{c.wallet?.typology?.code ?? "–"}</td>
                  <td className="num" style={{ color: riskColour(c.wallet?.anomaly?.score ?? null, c.wallet?.anomaly?.flagged, true) }}>{num(c.wallet?.anomaly?.score, 3)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <p className="muted">None.</p>
      )}
    </section>
  );
}

type Direction = "BOTH" | "IN" | "OUT";

function epoch(day: string, end = false): number | null {
  if (!day) return null;
  const t = Date.parse(`${day}T00:00:00Z`);
  return Number.isNaN(t) ? null : t / 1000 + (end ? 86400 : 0);
}

function TransfersCard({ address }: { address: string }) {
  const [direction, setDirection] = useState<Direction>("BOTH");
  const [since, setSince] = useState("");
  const [until, setUntil] = useState("");
  const [first, setFirst] = useState(20);
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const after = cursors[cursors.length - 1];
  const vars = { address, direction, since: epoch(since), until: epoch(until, true), first, after };
  const q = useQuery<TransfersData>(TRANSFERS, vars);
  useEffect(() => setCursors([null]), [address, direction, since, until, first]);
  const page = q.data?.wallet?.transfers;
  return (
    <section className="card" aria-labelledby="tx-h">
      <h2 id="tx-h">Transfers</h2>
      <form className="toolbar" onSubmit={(e) => e.preventDefault()}>
        <label>
          Direction{" "}
          <select value={direction} onChange={(e) => setDirection(e.target.value as Direction)}>
            <option value="BOTH">both</option>
            <option value="IN">in</option>
            <option value="OUT">out</option>
          </select>
        </label>
        <label>
          From <input type="date" value={since} onChange={(e) => setSince(e.target.value)} />
        </label>
        <label>
          To <input type="date" value={until} onChange={(e) => setUntil(e.target.value)} />
        </label>
        <label>
          Per page{" "}
          <select value={first} onChange={(e) => setFirst(Number(e.target.value))}>
            {[10, 20, 50, 100].map((v) => <option key={v}>{v}</option>)}
          </select>
        </label>
      </form>
      <ErrorBox error={q.error} />
      {page && (
        <>
          <div className="scroll">
            <table id="transfers">
              <thead>
                <tr><th scope="col">time</th><th scope="col">from</th><th scope="col">to</th><th scope="col">value</th><th scope="col">token</th><th scope="col">status</th><th scope="col">tx</th></tr>
              </thead>
              <tbody>
                {page.edges.map(({ node: t }) => (
                  <tr key={`${t.hash}:${t.logIndex}`}>
                    <td>{dateTime(t.ts)}</td>
                    <td>{t.fromAddress === address ? <span>this wallet</span> : <Link className="mono" to={`/app/wallet/${t.fromAddress}`}>{short(t.fromAddress)}</Link>}</td>
                    <td>{t.toAddress === address ? <span>this wallet</span> : <Link className="mono" to={`/app/wallet/${t.toAddress}`}>{short(t.toAddress)}</Link>}</td>
                    <td className="num">{t.token === "ETH" ? eth(t.value) : num(t.value, 4)}</td>
                    <td className="mono">{t.token === "ETH" ? "ETH" : short(t.token)}</td>
                    <td>{t.status === 1 ? "ok" : "failed"}</td>
                    <td className="mono small" title={t.hash}>{short(t.hash)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {!page.edges.length && <p className="muted">No transfers match.</p>}
          <div className="pager">
            <button type="button" disabled={cursors.length < 2} onClick={() => setCursors((c) => c.slice(0, -1))}>Previous</button>
            <span>page {cursors.length}</span>
            <button type="button" disabled={!page.pageInfo.hasNextPage} onClick={() => setCursors((c) => [...c, page.pageInfo.endCursor])}>Next</button>
          </div>
        </>
      )}
      {q.loading && !page && <Loading />}
    </section>
  );
}
