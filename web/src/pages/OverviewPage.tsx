import { Bar } from "../components/Bar";
import { DataView } from "../components/DataView";
import { ErrorBox, Loading } from "../components/ErrorBox";
import { OVERVIEW, type OverviewData } from "../gql/queries";
import type { ClusterMap } from "../gql/schema";
import { num, pct } from "../lib/format";
import { useQuery } from "../lib/useQuery";
import { typologyWords } from "../lib/words";

const PALETTE = ["#3949ab", "#e65100", "#2e7d32", "#ad1457", "#00838f", "#6d4c41", "#5e35b1", "#9e9d24", "#455a64", "#c62828"];

function MapView({ map }: { map: ClusterMap }) {
  const W = 520, H = 360, pad = 20;
  const [x0, x1] = [Math.min(...map.x), Math.max(...map.x)];
  const [y0, y1] = [Math.min(...map.y), Math.max(...map.y)];
  const sx = (v: number) => pad + ((v - x0) / (x1 - x0 || 1)) * (W - 2 * pad);
  const sy = (v: number) => H - pad - ((v - y0) / (y1 - y0 || 1)) * (H - 2 * pad);
  const ids = [...new Set(map.cluster)].sort((a, b) => a - b);
  return (
    <figure className="chart">
      <figcaption>Clusters on a 2-D map (PCA of the features, a sample of {map.x.length} wallets)</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} width="100%" role="img" aria-label={`Scatter of ${map.x.length} wallets in ${ids.length} clusters`}>
        <rect x={0} y={0} width={W} height={H} fill="#fafafa" />
        {map.x.map((x, i) => (
          <circle key={i} cx={sx(x)} cy={sy(map.y[i])} r={2.5} fill={PALETTE[map.cluster[i] % PALETTE.length]} fillOpacity={0.7} />
        ))}
      </svg>
      <ul className="legend">
        {ids.map((id) => (
          <li key={id}><span className="swatch" style={{ background: PALETTE[id % PALETTE.length] }} aria-hidden="true" /> cluster {id}</li>
        ))}
      </ul>
    </figure>
  );
}

export function OverviewPage() {
  const q = useQuery<OverviewData>(OVERVIEW);
  if (q.error) return <ErrorBox error={q.error} onRetry={q.reload} />;
  if (!q.data) return <Loading />;
  const { typologies, clusters, clusterMap } = q.data;
  return (
    <>
      <h1>Typologies and clusters</h1>
      <div className="grid">
        <section className="card" aria-labelledby="typ-h">
          <h2 id="typ-h">Typologies</h2>
          {typologies.length ? (
            <table id="typologies">
              <thead><tr><th scope="col">code</th><th scope="col">meaning</th><th scope="col">wallets</th><th scope="col">share</th></tr></thead>
              <tbody>
                {typologies.map((t) => (
                  <tr key={t.code}>
                    <td className="mono">{t.code}</td>
                    <td>{typologyWords(t.code)}</td>
                    <td className="num">{t.wallets}</td>
                    <td><Bar value={t.share} label={`${t.code} share`} /> {pct(t.share)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p className="muted">No typologies yet.</p>
          )}
        </section>
        <section className="card" aria-labelledby="map-h">
          <h2 id="map-h">Cluster map</h2>
          {clusterMap ? <MapView map={clusterMap} /> : <p className="muted">No cluster model with a map in the registry (train the models: aidrop train).</p>}
        </section>
      </div>
      <section className="card" aria-labelledby="cl-h">
        <h2 id="cl-h">Clusters</h2>
        {clusters.length ? (
          <div className="scroll">
            <table id="clusters">
              <thead><tr><th scope="col">cluster</th><th scope="col">wallets</th><th scope="col">flagged</th><th scope="col">mean anomaly</th><th scope="col">profile</th></tr></thead>
              <tbody>
                {clusters.map((c) => (
                  <tr key={c.id}>
                    <td className="num">{c.id}</td>
                    <td className="num">{c.wallets}</td>
                    <td className="num">{c.flagged}</td>
                    <td className="num">{num(c.meanAnomaly, 3)}</td>
                    <td>{c.profile ? <DataView value={c.profile} depth={1} /> : "–"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : (
          <p className="muted">No clusters yet.</p>
        )}
      </section>
    </>
  );
}
