import { liftVerdict, type LiftLike } from "../lib/campaign";
import { num, pp } from "../lib/format";

/** Lifts with their intervals: a dot for the difference, a bar for the interval, zero marked. */
export function LiftChart({ lifts, confidence }: { lifts: { name: string; lift: LiftLike | null; rate: boolean }[]; confidence: number }) {
  const shown = lifts.filter((l) => l.lift) as { name: string; lift: LiftLike; rate: boolean }[];
  if (!shown.length) return <p className="muted">No lift yet: it needs two snapshots with targets in both groups.</p>;
  const W = 640, row = 44, left = 150, right = 20, H = shown.length * row + 36;
  const rates = shown.filter((l) => l.rate);
  const span = Math.max(0.01, ...rates.flatMap((l) => [Math.abs(l.lift.low), Math.abs(l.lift.high)]));
  return (
    <figure className="chart" id="lift-chart">
      <figcaption>Lift, treatment − control, with {Math.round(confidence * 100)}% intervals</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} width="100%" role="img" aria-label={shown.map((l) => `${l.name}: ${l.rate ? pp(l.lift.diff) : num(l.lift.diff)} (${l.rate ? pp(l.lift.low) : num(l.lift.low)} to ${l.rate ? pp(l.lift.high) : num(l.lift.high)})`).join("; ")}>
        {shown.map((l, i) => {
          const s = l.rate ? span : Math.max(1e-9, Math.abs(l.lift.low), Math.abs(l.lift.high));
          const x = (v: number) => left + ((v + s) / (2 * s)) * (W - left - right);
          const y = 20 + i * row;
          const verdict = liftVerdict(l.lift);
          const colour = verdict === "up" ? "#1b7f3b" : verdict === "down" ? "#b3261e" : "#616161";
          const fmt = (v: number) => (l.rate ? pp(v) : num(v, 3));
          return (
            <g key={l.name} data-metric={l.name}>
              <text x={8} y={y + 5} fontSize="13" fill="#222">{l.name}</text>
              <line x1={x(0)} x2={x(0)} y1={y - 14} y2={y + 14} stroke="#999" strokeDasharray="3 3" />
              <line x1={x(l.lift.low)} x2={x(l.lift.high)} y1={y} y2={y} stroke={colour} strokeWidth={4} strokeLinecap="round" />
              <circle cx={x(l.lift.diff)} cy={y} r={6} fill={colour} />
              <text x={x(l.lift.diff)} y={y - 10} fontSize="11" textAnchor="middle" fill="#222">{fmt(l.lift.diff)} [{fmt(l.lift.low)}, {fmt(l.lift.high)}]</text>
            </g>
          );
        })}
      </svg>
    </figure>
  );
}
