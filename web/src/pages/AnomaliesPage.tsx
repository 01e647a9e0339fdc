import { useState } from "react";
import { ErrorBox, Loading } from "../components/ErrorBox";
import { Link } from "../components/Link";
import { TOP_ANOMALIES, type TopData } from "../gql/queries";
import { eth, num, short } from "../lib/format";
import { riskColour } from "../lib/graph";
import { useQuery } from "../lib/useQuery";
import { reasons, typologyWords } from "../lib/words";

export function AnomalyTable({ first }: { first: number }) {
  const q = useQuery<TopData>(TOP_ANOMALIES, { first });
  if (q.error) return <ErrorBox error={q.error} onRetry={q.reload} />;
  if (!q.data) return <Loading />;
  if (!q.data.topAnomalies.length) return <p className="muted">No wallet has an anomaly score yet: run `aidrop score` or analyse wallets.</p>;
  return (
    <div className="scroll">
      <table id="top-anomalies">
        <thead>
          <tr><th scope="col">rank</th><th scope="col">wallet</th><th scope="col">score</th><th scope="col">why</th><th scope="col">typology</th><th scope="col">cluster</th><th scope="col">in / out</th></tr>
        </thead>
        <tbody>
          {q.data.topAnomalies.map((w) => (
            <tr key={w.address}>
              <td className="num">{w.anomaly?.rank ?? "–"}</td>
              <td><Link className="mono" to={`/app/wallet/${w.address}`}>{w.name || short(w.address)}</Link>{w.anomaly?.flagged && <span className="badge danger">flagged</span>}</td>
              <td className="num" style={{ color: riskColour(w.anomaly?.score, w.anomaly?.flagged, true) }}>{num(w.anomaly?.score, 3)}</td>
              <td className="small">{reasons(w.anomaly?.explanation ?? [], 1)[0]?.text ?? "–"}</td>
              <td title={typologyWords(w.typology?.code)}>{w.typology?.code ?? "–"}</td>
              <td className="num">{w.cluster?.id ?? "–"}</td>
              <td className="small">{eth(w.stats?.inValue, 2)} / {eth(w.stats?.outValue, 2)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function AnomaliesPage() {
  const [first, setFirst] = useState(50);
  return (
    <section className="card">
      <h1>Top anomalies</h1>
      <label>
        Show{" "}
        <select value={first} onChange={(e) => setFirst(Number(e.target.value))}>
          {[20, 50, 100].map((v) => <option key={v}>{v}</option>)}
        </select>
      </label>
      <AnomalyTable first={first} />
    </section>
  );
}
