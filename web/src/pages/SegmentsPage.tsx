import { useEffect, useMemo, useState } from "react";
import { Bar } from "../components/Bar";
import { DataView } from "../components/DataView";
import { ErrorBox, Loading } from "../components/ErrorBox";
import { Link } from "../components/Link";
import { gql } from "../gql/client";
import { PREVIEW, SAVE_SEGMENT, SEGMENT, SEGMENTS, type PreviewData, type SaveData, type SegmentData, type SegmentsData } from "../gql/queries";
import type { SegmentFilterInput, SegmentTypology } from "../gql/schema";
import { dateTime, num, short } from "../lib/format";
import { navigate } from "../lib/router";
import { CATEGORIES, PREDEFINED, emptyForm, membersCsv, toFilter, type MemberRow, type SegmentForm } from "../lib/segment";
import { useQuery } from "../lib/useQuery";
import { typologyWords } from "../lib/words";
import { CreateCampaign } from "./CampaignsPage";

const CSV_CAP = 10_000;

export function SegmentsPage({ id }: { id?: string }) {
  return id ? <SegmentDetail id={id} /> : <SegmentBuilder />;
}

function Breakdown({ typologies, size }: { typologies: SegmentTypology[]; size: number }) {
  if (!typologies.length) return <p className="muted">No members.</p>;
  return (
    <table className="breakdown">
      <caption className="sr-only">Members per typology</caption>
      <thead><tr><th scope="col">typology</th><th scope="col">wallets</th><th scope="col">share</th></tr></thead>
      <tbody>
        {typologies.map((t) => (
          <tr key={t.code ?? "none"}>
            <td title={typologyWords(t.code)}>{t.code ?? "none"}</td>
            <td className="num">{t.wallets}</td>
            <td><Bar value={size ? t.wallets / size : 0} label={`${t.code ?? "none"} share`} /></td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function SegmentBuilder() {
  const [form, setForm] = useState<SegmentForm>(emptyForm);
  const [name, setName] = useState("");
  const [saveError, setSaveError] = useState<unknown>(null);
  const [saving, setSaving] = useState(false);
  const { filter, errors } = useMemo(() => toFilter(form), [form]);
  const [debounced, setDebounced] = useState<SegmentFilterInput>(filter);
  const key = JSON.stringify(filter);
  useEffect(() => {
    const t = setTimeout(() => setDebounced(JSON.parse(key)), 300);
    return () => clearTimeout(t);
  }, [key]);
  const preview = useQuery<PreviewData>(PREVIEW, { filter: debounced }, errors.length > 0);
  const set = <K extends keyof SegmentForm>(k: K) => (v: SegmentForm[K]) => setForm((f) => ({ ...f, [k]: v }));
  const save = async () => {
    setSaving(true);
    setSaveError(null);
    try {
      const { saveSegment } = await gql<SaveData>(SAVE_SEGMENT, { name: name.trim(), filter });
      navigate(`/app/segments/${encodeURIComponent(saveSegment.id)}`);
    } catch (e) {
      setSaveError(e);
    } finally {
      setSaving(false);
    }
  };
  const p = preview.data?.previewSegment;
  return (
    <>
      <h1>Segments</h1>
      <div className="grid two">
        <section className="card" aria-labelledby="builder-h">
          <h2 id="builder-h">Segment builder</h2>
          <form className="form" onSubmit={(e) => e.preventDefault()}>
            <label>Base segment
              <select value={form.base} onChange={(e) => set("base")(e.target.value)}>
                {PREDEFINED.map((b) => <option key={b}>{b}</option>)}
              </select>
            </label>
            <label>Typologies (codes or patterns, e.g. D-*-A-*)
              <input value={form.typologies} onChange={(e) => set("typologies")(e.target.value)} placeholder="D-T-A-C, N-*-*-*" />
            </label>
            <label>Clusters
              <input value={form.clusters} onChange={(e) => set("clusters")(e.target.value)} placeholder="0, 3" />
            </label>
            <div className="row">
              <label>Min anomaly
                <input type="number" step="0.01" min={0} max={1} value={form.minAnomaly} onChange={(e) => set("minAnomaly")(e.target.value)} />
              </label>
              <label>Max anomaly
                <input type="number" step="0.01" min={0} max={1} value={form.maxAnomaly} onChange={(e) => set("maxAnomaly")(e.target.value)} />
              </label>
            </div>
            <div className="row">
              <label>Active since
                <input type="date" value={form.activeSince} onChange={(e) => set("activeSince")(e.target.value)} />
              </label>
              <label>Active in the last N days
                <input type="number" min={0} value={form.activeWithinDays} onChange={(e) => set("activeWithinDays")(e.target.value)} />
              </label>
              <label>Min volume (ETH)
                <input type="number" min={0} step="any" value={form.minVolume} onChange={(e) => set("minVolume")(e.target.value)} />
              </label>
            </div>
            <fieldset>
              <legend>Dealt with contracts of</legend>
              {CATEGORIES.map((c) => (
                <label key={c} className="inline">
                  <input type="checkbox" checked={form.categories.includes(c)} onChange={(e) => set("categories")(e.target.checked ? [...form.categories, c] : form.categories.filter((x) => x !== c))} /> {c}
                </label>
              ))}
            </fieldset>
            <label>Only these addresses (one per line)
              <textarea rows={3} value={form.addresses} onChange={(e) => set("addresses")(e.target.value)} spellCheck={false} />
            </label>
            <label className="inline">
              <input type="checkbox" checked={form.includeFlagged} onChange={(e) => set("includeFlagged")(e.target.checked)} /> Include wallets the anomaly model flagged
            </label>
          </form>
          {errors.length > 0 && (
            <ul className="error" role="alert">{errors.map((e) => <li key={e}>{e}</li>)}</ul>
          )}
        </section>
        <section className="card" aria-labelledby="preview-h">
          <h2 id="preview-h">Who is in it</h2>
          <ErrorBox error={preview.error} />
          <p className="big" role="status" aria-live="polite">
            <span id="segment-count">{p ? num(p.size, 0) : "…"}</span> wallets{preview.loading ? " (counting…)" : ""}
          </p>
          {p && <Breakdown typologies={p.typologies} size={p.size} />}
          <form className="form" onSubmit={(e) => { e.preventDefault(); save(); }}>
            <label>Name
              <input id="segment-name" value={name} onChange={(e) => setName(e.target.value)} required placeholder="Risky DeFi" />
            </label>
            <button type="submit" className="primary" disabled={saving || !name.trim() || errors.length > 0}>Save segment</button>
          </form>
          <ErrorBox error={saveError} />
        </section>
      </div>
      <SavedSegments />
    </>
  );
}

function SavedSegments() {
  const q = useQuery<SegmentsData>(SEGMENTS);
  return (
    <section className="card" aria-labelledby="saved-h">
      <h2 id="saved-h">Saved segments</h2>
      <ErrorBox error={q.error} onRetry={q.reload} />
      {q.data && (q.data.segments.length ? (
        <table id="segments">
          <thead><tr><th scope="col">name</th><th scope="col">wallets</th><th scope="col">saved</th></tr></thead>
          <tbody>
            {q.data.segments.map((s) => (
              <tr key={s.id}>
                <td><Link to={`/app/segments/${encodeURIComponent(s.id)}`}>{s.name}</Link> <span className="muted small">{s.id}</span></td>
                <td className="num">{s.size}</td>
                <td>{dateTime(s.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : <p className="muted">None yet.</p>)}
    </section>
  );
}

function download(name: string, text: string, type: string) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function SegmentDetail({ id }: { id: string }) {
  const [after, setAfter] = useState<(string | null)[]>([null]);
  const q = useQuery<SegmentData>(SEGMENT, { id, first: 50, after: after[after.length - 1] });
  const [exporting, setExporting] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const s = q.data?.segment;
  const exportCsv = async () => {
    if (!s) return;
    setError(null);
    const rows: MemberRow[] = [];
    let cursor: string | null = null;
    try {
      while (rows.length < Math.min(s.size, CSV_CAP)) {
        setExporting(`${rows.length} of ${s.size}`);
        const data: SegmentData = await gql<SegmentData>(SEGMENT, { id, first: 100, after: cursor });
        const page = data.segment.wallets;
        rows.push(...page);
        if (page.length < 100) break;
        cursor = page[page.length - 1].address;
      }
      download(`segment-${id}.csv`, membersCsv(rows), "text/csv");
    } catch (e) {
      setError(e);
    } finally {
      setExporting(null);
    }
  };
  if (q.error) return <ErrorBox error={q.error} onRetry={q.reload} />;
  if (!s) return <Loading />;
  return (
    <>
      <p><Link to="/app/segments">← Segments</Link></p>
      <h1>Segment {s.name}</h1>
      <div className="grid two">
        <section className="card" aria-labelledby="def-h">
          <h2 id="def-h">Definition</h2>
          <p><strong id="segment-size">{s.size}</strong> wallets, saved {dateTime(s.createdAt)} <span className="muted">({s.id})</span></p>
          <DataView value={s.definition} />
          <button type="button" onClick={exportCsv} disabled={!!exporting}>{exporting ? `Exporting ${exporting}…` : "Export CSV"}</button>
          {s.size > CSV_CAP && <p className="muted small">The CSV holds the first {CSV_CAP.toLocaleString()} members; `aidrop target {s.id} --out x.csv` writes them all.</p>}
          <ErrorBox error={error} />
        </section>
        <section className="card" aria-labelledby="bd-h">
          <h2 id="bd-h">Typologies</h2>
          <Breakdown typologies={s.typologies} size={s.size} />
        </section>
      </div>
      <CreateCampaign segment={s.id} />
      <section className="card" aria-labelledby="members-h">
        <h2 id="members-h">Members</h2>
        <table id="members">
          <thead><tr><th scope="col">wallet</th><th scope="col">typology</th><th scope="col">cluster</th><th scope="col">anomaly</th></tr></thead>
          <tbody>
            {s.wallets.map((w) => (
              <tr key={w.address}>
                <td><Link className="mono" to={`/app/wallet/${w.address}`}>{short(w.address)}</Link></td>
                <td>{w.typology?.code ?? "–"}</td>
                <td className="num">{w.cluster?.id ?? "–"}</td>
                <td className="num">{num(w.anomaly?.score, 3)}{w.anomaly?.flagged ? " (flagged)" : ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <div className="pager">
          <button type="button" disabled={after.length < 2} onClick={() => setAfter((a) => a.slice(0, -1))}>Previous</button>
          <span>page {after.length}</span>
          <button type="button" disabled={s.wallets.length < 50} onClick={() => setAfter((a) => [...a, s.wallets[s.wallets.length - 1].address])}>Next</button>
        </div>
      </section>
    </>
  );
}
