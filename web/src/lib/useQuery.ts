import { useCallback, useEffect, useRef, useState } from "react";
import { gql } from "../gql/client";

export interface QueryState<T> {
  data: T | null;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

const early = new Map<string, Promise<unknown>>();

/** Starts a query before the app renders (a deep link's page query, while React mounts); the
 * first useQuery with the same query and variables takes its answer instead of asking again. */
export function prefetch(query: string, variables: Record<string, unknown>): void {
  const p = gql(query, variables);
  p.catch(() => {}); // a failure is seen (and shown) by the useQuery that takes it
  early.set(query + JSON.stringify(variables), p);
}

/** The prefetched answer of a query, once (later runs ask the API again). */
export function takePrefetched<T>(query: string, key: string): Promise<T> | undefined {
  const p = early.get(query + key);
  early.delete(query + key);
  return p as Promise<T> | undefined;
}

/** Runs a query when its variables change (skipped while `skip`); the last answer wins. */
export function useQuery<T>(query: string, variables: Record<string, unknown> = {}, skip = false): QueryState<T> {
  const [state, setState] = useState<{ data: T | null; error: unknown; loading: boolean }>({ data: null, error: null, loading: !skip });
  const [tick, setTick] = useState(0);
  const key = JSON.stringify(variables);
  const seq = useRef(0);
  useEffect(() => {
    if (skip) return;
    const n = ++seq.current;
    const controller = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    (takePrefetched<T>(query, key) ?? gql<T>(query, JSON.parse(key), { signal: controller.signal })).then(
      (data) => n === seq.current && setState({ data, error: null, loading: false }),
      (error) => n === seq.current && (error as Error).name !== "AbortError" && setState({ data: null, error, loading: false }),
    );
    return () => controller.abort();
  }, [query, key, skip, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}
