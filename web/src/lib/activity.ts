// A wallet's activity per day as chart series: every day between the first and last active one
// (days without transfers as 0), value in and out.

export interface DayFlow {
  day: number;
  valueIn: number;
  valueOut: number;
  transfersIn: number;
  transfersOut: number;
}

export interface Series {
  days: number[];
  valueIn: number[];
  valueOut: number[];
  transfers: number[];
}

export const DAY = 86400;

export function dailySeries(flows: DayFlow[], maxDays = 730): Series {
  const out: Series = { days: [], valueIn: [], valueOut: [], transfers: [] };
  if (!flows.length) return out;
  const sorted = [...flows].sort((a, b) => a.day - b.day);
  const byDay = new Map(sorted.map((f) => [f.day, f]));
  const last = sorted[sorted.length - 1].day;
  const first = Math.max(sorted[0].day, last - (maxDays - 1) * DAY);
  for (let d = first; d <= last; d += DAY) {
    const f = byDay.get(d);
    out.days.push(d);
    out.valueIn.push(f?.valueIn ?? 0);
    out.valueOut.push(f?.valueOut ?? 0);
    out.transfers.push((f?.transfersIn ?? 0) + (f?.transfersOut ?? 0));
  }
  return out;
}
