import { useState } from "react";
import { DataView } from "../components/DataView";
import { ErrorBox, Loading } from "../components/ErrorBox";
import { Link } from "../components/Link";
import { JOBS, MODELS, type JobsData, type ModelsData } from "../gql/queries";
import { pct, when } from "../lib/format";
import { useQuery } from "../lib/useQuery";

const STATUSES = ["", "QUEUED", "RUNNING", "COMPLETED", "FAILED"];

export function JobsPage() {
  const [status, setStatus] = useState("");
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const q = useQuery<JobsData>(JOBS, { status: status || null, first: 25, after: cursors[cursors.length - 1] });
  const page = q.data?.jobs;
  return (
    <section className="card">
      <h1>Jobs</h1>
      <div className="toolbar">
        <label>Status{" "}
          <select value={status} onChange={(e) => { setStatus(e.target.value); setCursors([null]); }}>
            {STATUSES.map((s) => <option key={s} value={s}>{s ? s.toLowerCase() : "any"}</option>)}
          </select>
        </label>
        <button type="button" onClick={q.reload}>Refresh</button>
      </div>
      <ErrorBox error={q.error} onRetry={q.reload} />
      {!page && !q.error && <Loading />}
      {page && (
        <>
          <div className="scroll">
            <table id="jobs">
              <thead><tr><th scope="col">job</th><th scope="col">kind</th><th scope="col">status</th><th scope="col">progress</th><th scope="col">tries</th><th scope="col">created</th><th scope="col">finished</th><th scope="col">about</th></tr></thead>
              <tbody>
                {page.edges.map(({ node: j }) => {
                  const args = (j.args ?? {}) as Record<string, unknown>;
                  return (
                    <tr key={j.id}>
                      <td className="mono small">{j.id}</td>
                      <td>{j.kind}</td>
                      <td data-status={j.status}>{j.status.toLowerCase()}{j.errorCode ? ` (${j.errorCode})` : ""}</td>
                      <td className="num">{pct(j.progress, 0)}</td>
                      <td className="num">{j.attempts}</td>
                      <td>{when(j.createdAt)}</td>
                      <td>{when(j.finishedAt)}</td>
                      <td className="small">
                        {typeof args.address === "string" ? <Link className="mono" to={`/app/wallet/${args.address}`}>{args.address.slice(0, 10)}…</Link> : typeof args.campaign_id === "string" ? <Link to={`/app/campaigns/${args.campaign_id}`}>{args.campaign_id}</Link> : j.message ?? ""}
                        {j.error ? <div className="danger-text">{j.error}</div> : null}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          {!page.edges.length && <p className="muted">No jobs.</p>}
          <div className="pager">
            <button type="button" disabled={cursors.length < 2} onClick={() => setCursors((c) => c.slice(0, -1))}>Previous</button>
            <span>page {cursors.length}</span>
            <button type="button" disabled={!page.pageInfo.hasNextPage} onClick={() => setCursors((c) => [...c, page.pageInfo.endCursor])}>Next</button>
          </div>
        </>
      )}
    </section>
  );
}

export function ModelsPage() {
  const q = useQuery<ModelsData>(MODELS);
  return (
    <>
      <h1>Models</h1>
      <ErrorBox error={q.error} onRetry={q.reload} />
      {!q.data && !q.error && <Loading />}
      {q.data && !q.data.models.length && <p className="card muted">No trained models in the registry yet (aidrop train, or the first analysis trains them).</p>}
      {q.data?.models.map((m) => (
        <section className="card" key={m.name} aria-labelledby={`model-${m.name}`}>
          <h2 id={`model-${m.name}`}>{m.name}</h2>
          <p>active version <span className="mono">{m.activeVersion ?? "none"}</span></p>
          <div className="scroll">
            <table>
              <thead><tr><th scope="col">version</th><th scope="col">created</th><th scope="col">trained on</th><th scope="col">seconds</th><th scope="col">metrics</th></tr></thead>
              <tbody>
                {m.versions.map((v) => (
                  <tr key={v.version}>
                    <td className="mono small">{v.version}{v.active ? <span className="badge">active</span> : null}</td>
                    <td>{when(v.created)}</td>
                    <td className="num">{v.trainedOn ?? "–"}</td>
                    <td className="num">{v.seconds ?? "–"}</td>
                    <td>{v.metrics ? <DataView value={v.metrics} depth={1} /> : "–"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      ))}
    </>
  );
}
