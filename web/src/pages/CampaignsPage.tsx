import { useEffect, useMemo, useRef, useState } from "react";
import { ErrorBox, Loading } from "../components/ErrorBox";
import { LiftChart } from "../components/LiftChart";
import { LineChart } from "../components/LineChart";
import { Link } from "../components/Link";
import { gql, subscribe } from "../gql/client";
import {
  CAMPAIGN, CAMPAIGNS, CREATE_CAMPAIGN, JOB_UPDATES, SNAPSHOT,
  type CampaignData, type CampaignsData, type CreateCampaignData, type JobLite, type JobUpdatesData, type SnapshotData,
} from "../gql/queries";
import { costInfo, reportCurve, reportJsonUrl, snapshotCurve, type CurvePoint } from "../lib/campaign";
import { date, dateTime, num, pct, short } from "../lib/format";
import { navigate } from "../lib/router";
import { CATEGORIES } from "../lib/segment";
import { useQuery } from "../lib/useQuery";

export function CampaignsPage({ id }: { id?: string }) {
  return id ? <CampaignDetail id={id} /> : <CampaignList />;
}

function CampaignList() {
  const q = useQuery<CampaignsData>(CAMPAIGNS);
  return (
    <section className="card">
      <h1>Campaigns</h1>
      <ErrorBox error={q.error} onRetry={q.reload} />
      {!q.data && !q.error && <Loading />}
      {q.data && (q.data.campaigns.length ? (
        <table id="campaigns">
          <thead><tr><th scope="col">campaign</th><th scope="col">segment</th><th scope="col">start</th><th scope="col">end</th><th scope="col">targets</th><th scope="col">treatment / control</th></tr></thead>
          <tbody>
            {q.data.campaigns.map((c) => (
              <tr key={c.id}>
                <td><Link to={`/app/campaigns/${encodeURIComponent(c.id)}`}>{c.name}</Link></td>
                <td>{c.segmentId ? <Link to={`/app/segments/${encodeURIComponent(c.segmentId)}`}>{c.segmentId}</Link> : "–"}</td>
                <td>{date(c.start)}</td>
                <td>{date(c.end)}</td>
                <td className="num">{c.targets}</td>
                <td className="num">{c.treatment} / {c.control}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : <p className="muted">No campaigns yet: save a segment and create one from its page.</p>)}
    </section>
  );
}

export function CreateCampaign({ segment }: { segment: string }) {
  const [name, setName] = useState("");
  const [categories, setCategories] = useState<string[]>([]);
  const [contracts, setContracts] = useState("");
  const [holdout, setHoldout] = useState("0.5");
  const [cost, setCost] = useState("");
  const [start, setStart] = useState("");
  const [error, setError] = useState<unknown>(null);
  const submit = async () => {
    setError(null);
    const goalContracts = contracts.split(/[\s,]+/).filter(Boolean);
    const input: Record<string, unknown> = { name: name.trim(), segment, holdout: Number(holdout) };
    if (categories.length) input.goalCategories = categories;
    if (goalContracts.length) input.goalContracts = goalContracts;
    if (cost.trim()) input.cost = Number(cost);
    if (start) input.start = Math.floor(Date.parse(`${start}T00:00:00Z`) / 1000);
    try {
      const { createCampaign } = await gql<CreateCampaignData>(CREATE_CAMPAIGN, { input });
      navigate(`/app/campaigns/${encodeURIComponent(createCampaign.id)}`);
    } catch (e) {
      setError(e);
    }
  };
  return (
    <section className="card" aria-labelledby="create-h">
      <h2 id="create-h">Create a campaign on this segment</h2>
      <form className="form" onSubmit={(e) => { e.preventDefault(); submit(); }}>
        <div className="row">
          <label>Name<input value={name} onChange={(e) => setName(e.target.value)} required /></label>
          <label>Start<input type="date" value={start} onChange={(e) => setStart(e.target.value)} /></label>
          <label>Holdout share<input type="number" min={0.01} max={0.99} step={0.01} value={holdout} onChange={(e) => setHoldout(e.target.value)} /></label>
          <label>Cost<input type="number" min={0} step="any" value={cost} onChange={(e) => setCost(e.target.value)} /></label>
        </div>
        <fieldset>
          <legend>Goal: a transaction to contracts of</legend>
          {CATEGORIES.map((c) => (
            <label key={c} className="inline"><input type="checkbox" checked={categories.includes(c)} onChange={(e) => setCategories(e.target.checked ? [...categories, c] : categories.filter((x) => x !== c))} /> {c}</label>
          ))}
        </fieldset>
        <label>or to these contracts<input value={contracts} onChange={(e) => setContracts(e.target.value)} placeholder="0x…, 0x…" /></label>
        <button type="submit" disabled={!name.trim()}>Create campaign</button>
      </form>
      <ErrorBox error={error} />
    </section>
  );
}

function useReport(url: string | null | undefined): unknown {
  const [report, setReport] = useState<unknown>(null);
  useEffect(() => {
    const json = reportJsonUrl(url);
    if (!json) return;
    let live = true;
    fetch(json).then((r) => (r.ok ? r.json() : null)).then((d) => live && setReport(d), () => undefined);
    return () => { live = false; };
  }, [url]);
  return report;
}

function CurveChart({ points, daily }: { points: CurvePoint[]; daily: boolean }) {
  const x = useMemo(() => points.map((p) => p.at), [points]);
  const lines = useMemo(
    () => [
      { label: "treatment", values: points.map((p) => (p.treatment === null ? null : p.treatment * 100)), color: "#1565c0", points: !daily },
      { label: "control", values: points.map((p) => (p.control === null ? null : p.control * 100)), color: "#e65100", points: !daily },
    ],
    [points, daily],
  );
  const last = points[points.length - 1];
  return (
    <LineChart x={x} lines={lines} yLabel="% converted" title={daily ? "Conversion over time (share of each group converted, daily)" : "Conversion at each snapshot"} summary={`at ${date(last.at)}: treatment ${pct(last.treatment)}, control ${pct(last.control)}`} />
  );
}

function CampaignDetail({ id }: { id: string }) {
  const [range, setRange] = useState<{ from?: string; to?: string }>({});
  const q = useQuery<CampaignData>(CAMPAIGN, { id, from: range.from ?? null, to: range.to ?? null });
  const c = q.data?.campaign;
  const report = useReport(c?.reportUrl);
  const [job, setJob] = useState<JobLite | null>(null);
  const [error, setError] = useState<unknown>(null);
  const stop = useRef<(() => void) | null>(null);
  useEffect(() => () => stop.current?.(), []);
  const reload = q.reload;
  const snapshot = async () => {
    setError(null);
    try {
      const { snapshotCampaign } = await gql<SnapshotData>(SNAPSHOT, { id });
      setJob(snapshotCampaign);
      stop.current?.();
      stop.current = subscribe<JobUpdatesData>(JOB_UPDATES, { id: snapshotCampaign.id }, {
        next: ({ jobUpdates }) => { setJob(jobUpdates); if (jobUpdates.status === "COMPLETED") reload(); },
        error: setError,
      });
    } catch (e) {
      setError(e);
    }
  };
  if (q.error) return <ErrorBox error={q.error} onRetry={q.reload} />;
  if (!c) return <Loading />;
  const m = c.metrics;
  const daily = reportCurve(report);
  const curve = daily ?? snapshotCurve(c.snapshots);
  const cost = costInfo(m?.cost);
  const groups = (m?.groups ?? {}) as Record<string, Record<string, number | null>>;
  return (
    <>
      <p><Link to="/app/campaigns">← Campaigns</Link></p>
      <h1>Campaign {c.name}</h1>
      <div className="grid two">
        <section className="card" aria-labelledby="setup-h">
          <h2 id="setup-h">Set-up</h2>
          <dl className="kv">
            <div><dt>segment</dt><dd>{c.segmentId ? <Link to={`/app/segments/${encodeURIComponent(c.segmentId)}`}>{c.segmentId}</Link> : "–"}</dd></div>
            <div><dt>goal</dt><dd>{[...c.goalCategories, ...c.goalContracts.map(short)].join(", ") || "–"}</dd></div>
            <div><dt>runs</dt><dd>{date(c.start)} to {c.end ? date(c.end) : "open"}</dd></div>
            <div><dt>targets</dt><dd>{c.targets}: {c.treatment} treatment, {c.control} control (holdout {pct(c.holdout, 0)})</dd></div>
            <div><dt>cost</dt><dd>{c.cost === null ? "–" : num(c.cost)}</dd></div>
            <div><dt>report</dt><dd>{c.reportUrl ? <a href={c.reportUrl}>HTML report</a> : "none yet"}</dd></div>
          </dl>
          <button type="button" onClick={snapshot} disabled={!!job && (job.status === "QUEUED" || job.status === "RUNNING")}>Take a snapshot now</button>
          {job && <p role="status" className="muted">snapshot job {job.status.toLowerCase()} {pct(job.progress, 0)}{job.error ? `: ${job.error}` : ""}</p>}
          <ErrorBox error={error} />
        </section>
        <section className="card" aria-labelledby="cost-h">
          <h2 id="cost-h">Cost</h2>
          {cost ? (
            <dl className="kv" id="campaign-cost">
              <div><dt>total</dt><dd>{num(cost.total)}</dd></div>
              <div><dt>per converted treatment wallet</dt><dd>{num(cost.perConverted)}</dd></div>
              <div><dt>incremental conversions</dt><dd>{num(cost.incremental, 1)}</dd></div>
              <div><dt>per incremental conversion</dt><dd id="cost-per-incremental">{cost.perIncremental === null ? "no lift: not defined" : num(cost.perIncremental)}</dd></div>
            </dl>
          ) : (
            <p className="muted">{c.cost === null ? "The campaign has no cost." : "Needs metrics (two snapshots)."}</p>
          )}
        </section>
      </div>
      <section className="card" aria-labelledby="conv-h">
        <h2 id="conv-h">Conversion</h2>
        {curve.length ? <CurveChart points={curve} daily={!!daily} /> : <p className="muted">No snapshots yet.</p>}
      </section>
      <section className="card" aria-labelledby="lift-h">
        <h2 id="lift-h">Lift</h2>
        {c.snapshots.length > 1 && (
          <div className="toolbar">
            <label>From snapshot{" "}
              <select value={range.from ?? m?.fromSnapshot ?? ""} onChange={(e) => setRange((r) => ({ ...r, from: e.target.value }))}>
                {c.snapshots.map((s) => <option key={s.name}>{s.name}</option>)}
              </select>
            </label>
            <label>to{" "}
              <select value={range.to ?? m?.toSnapshot ?? ""} onChange={(e) => setRange((r) => ({ ...r, to: e.target.value }))}>
                {c.snapshots.map((s) => <option key={s.name}>{s.name}</option>)}
              </select>
            </label>
          </div>
        )}
        {m ? (
          <>
            <LiftChart confidence={m.confidence} lifts={[
              { name: "conversion", lift: m.conversion, rate: true },
              { name: "engagement", lift: m.engagement, rate: true },
              { name: "retention", lift: m.retention, rate: true },
              { name: "volume change", lift: m.volumeChange, rate: false },
            ]} />
            <table id="groups">
              <caption className="sr-only">Groups between {m.fromSnapshot} and {m.toSnapshot}</caption>
              <thead><tr><th scope="col">group</th><th scope="col">targets</th><th scope="col">converted</th><th scope="col">conversion</th><th scope="col">engagement</th><th scope="col">retention</th><th scope="col">volume change</th></tr></thead>
              <tbody>
                {["treatment", "control"].map((g) => (
                  <tr key={g}>
                    <th scope="row">{g}</th>
                    <td className="num">{groups[g]?.targets ?? "–"}</td>
                    <td className="num">{groups[g]?.converted ?? "–"}</td>
                    <td className="num">{pct(groups[g]?.conversion_rate)}</td>
                    <td className="num">{pct(groups[g]?.engagement_rate)}</td>
                    <td className="num">{pct(groups[g]?.retention_rate)}</td>
                    <td className="num">{num(groups[g]?.volume_change, 3)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <p className="muted small">Between snapshots {m.fromSnapshot} and {m.toSnapshot}; rates with Newcombe intervals, volume with a bootstrap; p-value of the conversion lift {num(m.conversion?.pValue, 4)}.</p>
          </>
        ) : (
          <p className="muted">No metrics yet: they need a snapshot.</p>
        )}
      </section>
      <section className="card" aria-labelledby="snaps-h">
        <h2 id="snaps-h">Snapshots</h2>
        {c.snapshots.length ? (
          <table>
            <thead><tr><th scope="col">name</th><th scope="col">up to</th><th scope="col">taken</th><th scope="col">targets</th><th scope="col">treatment converted</th><th scope="col">control converted</th></tr></thead>
            <tbody>
              {snapshotCurve(c.snapshots).map((s) => (
                <tr key={s.name}><td>{s.name}</td><td>{dateTime(s.at)}</td><td>{dateTime(c.snapshots.find((x) => x.name === s.name)?.takenAt)}</td><td className="num">{c.snapshots.find((x) => x.name === s.name)?.targets}</td><td className="num">{pct(s.treatment)}</td><td className="num">{pct(s.control)}</td></tr>
              ))}
            </tbody>
          </table>
        ) : <p className="muted">None.</p>}
      </section>
    </>
  );
}
