// Any JSON the API gives (a cluster profile, exposure, sybil or laundering evidence) as
// definition lists and tables, so sections added to the API show up without app changes.
import type { ReactNode } from "react";
import { isAddress, num } from "../lib/format";
import { Link } from "./Link";

function label(key: string): string {
  return key.replace(/_/g, " ").replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
}

function scalar(v: unknown): ReactNode {
  if (v === null || v === undefined) return <span className="muted">–</span>;
  if (typeof v === "number") return num(v, 4);
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (typeof v === "string" && isAddress(v)) return <Link to={`/app/wallet/${v}`} className="mono">{v}</Link>;
  return String(v);
}

function isPlain(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === "object" && !Array.isArray(v);
}

export function DataView({ value, depth = 0 }: { value: unknown; depth?: number }): ReactNode {
  if (Array.isArray(value)) {
    if (!value.length) return <span className="muted">none</span>;
    if (value.every(isPlain)) {
      const cols = [...new Set(value.flatMap((r) => Object.keys(r as object)))].filter((c) => c !== "__typename");
      return (
        <div className="scroll">
          <table>
            <thead>
              <tr>{cols.map((c) => <th key={c} scope="col">{label(c)}</th>)}</tr>
            </thead>
            <tbody>
              {value.slice(0, 200).map((r, i) => (
                <tr key={i}>
                  {cols.map((c) => {
                    const v = (r as Record<string, unknown>)[c];
                    return <td key={c}>{isPlain(v) || Array.isArray(v) ? <DataView value={v} depth={depth + 1} /> : scalar(v)}</td>;
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      );
    }
    return <span>{value.map((v, i) => <span key={i}>{i ? ", " : ""}{scalar(v)}</span>)}</span>;
  }
  if (isPlain(value)) {
    const entries = Object.entries(value).filter(([k]) => k !== "__typename");
    if (!entries.length) return <span className="muted">none</span>;
    return (
      <dl className={depth ? "kv nested" : "kv"}>
        {entries.map(([k, v]) => (
          <div key={k}>
            <dt>{label(k)}</dt>
            <dd>{isPlain(v) || Array.isArray(v) ? <DataView value={v} depth={depth + 1} /> : scalar(v)}</dd>
          </div>
        ))}
      </dl>
    );
  }
  return <>{scalar(value)}</>;
}
