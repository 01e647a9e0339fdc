// The analysis in words: anomaly reasons from ml/'s feature descriptions, typology letters.
import { FEATURE_WORDS } from "../gql/schema";
import type { AnomalyFactor } from "../gql/schema";

const CATEGORY_WORDS: Record<string, string> = {
  defi: "DeFi", nft: "NFT", gaming: "gaming", social: "social", bridge: "bridge", exchange: "exchange",
};

/** What a feature measures ("distinct receivers from the wallet (fan-out)"). */
export function featureWords(factor: string): string {
  if (FEATURE_WORDS[factor]) return FEATURE_WORDS[factor];
  const cat = /^(cat|mix)_([a-z]+)$/.exec(factor);
  if (cat) {
    const name = CATEGORY_WORDS[cat[2]] ?? cat[2];
    return cat[1] === "cat" ? `share of transfers with ${name} contracts or their tokens` : `${name} share of the wallet's app transfers`;
  }
  return factor.replace(/_/g, " ");
}

export interface Reason {
  factor: string;
  contribution: number;
  text: string;
}

/** The top reasons, largest effect first, each as a sentence. */
export function reasons(factors: AnomalyFactor[], top = 3): Reason[] {
  return [...factors]
    .filter((f) => Number.isFinite(f.contribution) && f.contribution !== 0)
    .sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution))
    .slice(0, top)
    .map((f) => {
      const what = featureWords(f.factor);
      const how = f.contribution > 0 ? "raised the score" : "lowered the score";
      const text = `${what[0].toUpperCase()}${what.slice(1)} ${how} by ${Math.abs(f.contribution).toFixed(3)}.`;
      return { factor: f.factor, contribution: f.contribution, text };
    });
}

export const AXIS_WORDS: Record<string, Record<string, string>> = {
  focus: { D: "DeFi", N: "NFT", G: "gaming", S: "social", U: "unfocused" },
  pattern: { T: "trader", H: "holder" },
  risk: { A: "aggressive", S: "safe" },
  community: { C: "community", I: "individual" },
};

export function axisWords(axis: string, value: string): string {
  return AXIS_WORDS[axis]?.[value] ?? value;
}

/** "D-T-A-C" -> "DeFi trader, aggressive, community". */
export function typologyWords(code: string | null | undefined): string {
  if (!code) return "no typology yet";
  const [focus, pattern, risk, community] = code.split("-");
  const parts = [
    `${axisWords("focus", focus)} ${axisWords("pattern", pattern ?? "")}`.trim(),
    risk ? axisWords("risk", risk) : "",
    community ? axisWords("community", community) : "",
  ].filter(Boolean);
  return parts.join(", ");
}

/** Anomaly band as the profile image uses it. */
export function band(score: number | null | undefined): "low" | "elevated" | "high" | "unknown" {
  if (score === null || score === undefined) return "unknown";
  return score >= 0.8 ? "high" : score >= 0.5 ? "elevated" : "low";
}
