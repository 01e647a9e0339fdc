// Campaign figures for the dashboards: conversion curves per group, lifts with intervals, cost.

export const GROUPS = ["treatment", "control"] as const;
export type Group = (typeof GROUPS)[number];

export interface SnapshotLike {
  name: string;
  at: number;
  summary: unknown;
}

export interface CurvePoint {
  at: number;
  name?: string;
  treatment: number | null;
  control: number | null;
}

interface GroupSummary {
  targets?: number;
  converted?: number;
}

function rate(summary: unknown, group: Group): number | null {
  const s = (summary as Record<string, GroupSummary> | null)?.[group];
  if (!s || !s.targets) return null;
  return (s.converted ?? 0) / s.targets;
}

/** One point per snapshot: the share of each group converted up to it, in time order. */
export function snapshotCurve(snapshots: SnapshotLike[]): CurvePoint[] {
  return [...snapshots]
    .sort((a, b) => a.at - b.at)
    .map((s) => ({ at: s.at, name: s.name, treatment: rate(s.summary, "treatment"), control: rate(s.summary, "control") }));
}

/** The report's daily curve (report JSON `series`: times and a rate per group), if it has one. */
export function reportCurve(report: unknown): CurvePoint[] | null {
  const series = (report as { series?: { times?: number[]; curve?: Record<string, number[]> } } | null)?.series;
  if (!series?.times?.length || !series.curve) return null;
  return series.times.map((at, i) => ({ at, treatment: series.curve?.treatment?.[i] ?? null, control: series.curve?.control?.[i] ?? null }));
}

export interface LiftLike {
  diff: number;
  low: number;
  high: number;
  pValue?: number | null;
  relative?: number | null;
  treatment: number;
  control: number;
  method: string;
}

/** Is the interval clear of zero: above, below, or across. */
export function liftVerdict(l: LiftLike): "up" | "down" | "unclear" {
  if (l.low > 0) return "up";
  if (l.high < 0) return "down";
  return "unclear";
}

export interface CostInfo {
  total: number | null;
  perConverted: number | null;
  incremental: number | null;
  perIncremental: number | null;
}

/** The API's metrics.cost (JSON) read defensively. */
export function costInfo(cost: unknown): CostInfo | null {
  if (!cost || typeof cost !== "object") return null;
  const c = cost as Record<string, unknown>;
  const n = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : null);
  return { total: n(c.total), perConverted: n(c.per_converted), incremental: n(c.incremental_conversions), perIncremental: n(c.per_incremental) };
}

/** The report's JSON sits beside its HTML in the blob store. */
export function reportJsonUrl(reportUrl: string | null | undefined): string | null {
  return reportUrl && reportUrl.endsWith(".html") ? reportUrl.slice(0, -5) + ".json" : null;
}
