// The segment builder's form: its state to the API's SegmentFilterInput, and members to CSV.
import type { SegmentFilterInput } from "../gql/schema";

export interface SegmentForm {
  base: string;
  typologies: string; // comma or space separated codes/patterns
  clusters: string; // comma separated ids
  minAnomaly: string;
  maxAnomaly: string;
  activeWithinDays: string;
  activeSince: string; // yyyy-mm-dd
  minVolume: string;
  categories: string[];
  addresses: string; // one per line
  includeFlagged: boolean;
}

export const PREDEFINED = ["all", "defi-holders", "nft-enthusiasts", "community-users", "aggressive-traders"];
export const CATEGORIES = ["DeFi", "NFT", "Gaming", "Social", "Bridge", "Exchange"];

export function emptyForm(): SegmentForm {
  return { base: "all", typologies: "", clusters: "", minAnomaly: "", maxAnomaly: "", activeWithinDays: "", activeSince: "", minVolume: "", categories: [], addresses: "", includeFlagged: false };
}

function list(text: string): string[] {
  return text.split(/[\s,;]+/).map((s) => s.trim()).filter(Boolean);
}

function number(text: string, name: string, errors: string[], min?: number, max?: number): number | null {
  if (!text.trim()) return null;
  const v = Number(text);
  if (!Number.isFinite(v)) {
    errors.push(`${name}: not a number`);
    return null;
  }
  if ((min !== undefined && v < min) || (max !== undefined && v > max)) {
    errors.push(max === undefined ? `${name}: at least ${min}` : `${name}: between ${min} and ${max}`);
    return null;
  }
  return v;
}

export const TYPOLOGY_PATTERN = /^[DNGSU*]-[TH*]-[AS*]-[CI*]$/;

/** The API filter for a form, and what is wrong with the form (checked before asking the API). */
export function toFilter(form: SegmentForm): { filter: SegmentFilterInput; errors: string[] } {
  const errors: string[] = [];
  const filter: SegmentFilterInput = { includeFlagged: form.includeFlagged };
  if (form.base && form.base !== "all") filter.base = form.base;
  const typologies = list(form.typologies).map((t) => t.toUpperCase());
  const bad = typologies.filter((t) => !TYPOLOGY_PATTERN.test(t));
  if (bad.length) errors.push(`typology: ${bad.join(", ")} is not a code like D-T-A-C or a pattern like D-*-A-*`);
  if (typologies.length) filter.typologies = typologies;
  const clusters = list(form.clusters);
  if (clusters.some((c) => !/^\d+$/.test(c))) errors.push("clusters: whole numbers, comma separated");
  else if (clusters.length) filter.clusters = clusters.map(Number);
  const minA = number(form.minAnomaly, "min anomaly", errors, 0, 1);
  const maxA = number(form.maxAnomaly, "max anomaly", errors, 0, 1);
  if (minA !== null) filter.minAnomaly = minA;
  if (maxA !== null) filter.maxAnomaly = maxA;
  if (minA !== null && maxA !== null && minA > maxA) errors.push("min anomaly is above max anomaly");
  const within = number(form.activeWithinDays, "active within days", errors, 0);
  if (within !== null) filter.activeWithinDays = within;
  if (form.activeSince.trim()) {
    const t = Date.parse(`${form.activeSince.trim()}T00:00:00Z`);
    if (Number.isNaN(t)) errors.push("active since: a date (yyyy-mm-dd)");
    else filter.activeSince = Math.floor(t / 1000);
  }
  const volume = number(form.minVolume, "min volume", errors, 0);
  if (volume !== null) filter.minVolume = volume;
  if (form.categories.length) filter.categories = [...form.categories];
  const addresses = list(form.addresses);
  const badAddr = addresses.filter((a) => !/^0x[0-9a-fA-F]{40}$/.test(a));
  if (badAddr.length) errors.push(`addresses: ${badAddr.length} not 0x + 40 hex digits (${badAddr[0]})`);
  if (addresses.length) filter.addresses = addresses;
  return { filter, errors };
}

export interface MemberRow {
  address: string;
  typology?: { code: string } | null;
  cluster?: { id: number } | null;
  anomaly?: { score: number; flagged: boolean } | null;
}

function cell(v: unknown): string {
  const s = v === null || v === undefined ? "" : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Members as CSV: the same columns as `aidrop target --out x.csv` (volume left to the CLI). */
export function membersCsv(rows: MemberRow[]): string {
  const lines = ["address,typology,cluster,anomaly_score,flagged"];
  for (const r of rows) lines.push([r.address, r.typology?.code, r.cluster?.id, r.anomaly?.score, r.anomaly?.flagged].map(cell).join(","));
  return lines.join("\n") + "\n";
}
