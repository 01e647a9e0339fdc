// A small typed GraphQL client: POST to /graphql (same origin), typed errors with the API's
// extensions.code, the API key from sessionStorage, subscriptions over graphql-ws.
import type { Client } from "graphql-ws";
import { apiKey, KEY_HEADER } from "../lib/apikey";

export const ENDPOINT = "/graphql";

export interface GqlErrorItem {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string; [k: string]: unknown };
}

/** An error the API (or the network) gave, with its code (extensions.code or an HTTP-derived one). */
export class GqlError extends Error {
  readonly code: string;
  readonly errors: GqlErrorItem[];
  readonly retryAfter?: number;
  constructor(code: string, message: string, errors: GqlErrorItem[] = [], retryAfter?: number) {
    super(message);
    this.name = "GqlError";
    this.code = code;
    this.errors = errors;
    this.retryAfter = retryAfter;
  }
}

const HTTP_CODES: Record<number, string> = {
  401: "UNAUTHENTICATED",
  413: "REQUEST_TOO_LARGE",
  429: "RATE_LIMITED",
  503: "GRAPH_UNAVAILABLE",
};

/** The error of a GraphQL response body (null when it has none). */
export function errorOf(body: { errors?: GqlErrorItem[] } | null, status = 200, retryAfter?: number): GqlError | null {
  const errors = body?.errors ?? [];
  if (errors.length) {
    const code = errors[0].extensions?.code ?? HTTP_CODES[status] ?? "INTERNAL_SERVER_ERROR";
    return new GqlError(code, errors[0].message, errors, retryAfter);
  }
  if (status >= 400) return new GqlError(HTTP_CODES[status] ?? `HTTP_${status}`, `HTTP ${status}`, [], retryAfter);
  return null;
}

export async function gql<T, V extends object = Record<string, unknown>>(
  query: string,
  variables?: V,
  init: { signal?: AbortSignal } = {},
): Promise<T> {
  const headers: Record<string, string> = { "Content-Type": "application/json", Accept: "application/json" };
  const key = apiKey();
  if (key) headers[KEY_HEADER] = key;
  let response: Response;
  try {
    response = await fetch(ENDPOINT, {
      method: "POST",
      headers,
      body: JSON.stringify({ query, variables: variables ?? {} }),
      signal: init.signal,
    });
  } catch (exc) {
    if ((exc as Error).name === "AbortError") throw exc;
    throw new GqlError("NETWORK", `the API did not answer: ${(exc as Error).message}`);
  }
  let body: { data?: T; errors?: GqlErrorItem[] } | null = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  const retry = Number(response.headers.get("Retry-After")) || undefined;
  const error = errorOf(body, response.status, retry);
  if (error) throw error;
  if (!body || body.data === undefined) throw new GqlError("INTERNAL_SERVER_ERROR", "the API sent no data");
  return body.data as T;
}

let wsClient: Client | null = null;
let wsKey: string | null = null;

async function ws(): Promise<Client> {
  const key = apiKey();
  if (wsClient && wsKey === key) return wsClient;
  wsClient?.dispose();
  const { createClient } = await import("graphql-ws");
  const url = new URL(ENDPOINT, window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  wsKey = key;
  wsClient = createClient({
    url: url.toString(),
    lazy: true,
    retryAttempts: 3,
    connectionParams: () => (key ? { [KEY_HEADER]: key } : {}),
  });
  return wsClient;
}

/** Subscribe; returns a function that ends the subscription. */
export function subscribe<T>(
  query: string,
  variables: Record<string, unknown>,
  handlers: { next: (data: T) => void; error: (e: GqlError) => void; complete?: () => void },
): () => void {
  let stop: (() => void) | null = null;
  let ended = false;
  ws().then((client) => {
    if (ended) return;
    stop = client.subscribe<T>(
      { query, variables },
      {
        next: (result) => {
          const error = errorOf(result as { errors?: GqlErrorItem[] });
          if (error) handlers.error(error);
          else if (result.data) handlers.next(result.data as T);
        },
        error: (e) => {
          if (Array.isArray(e)) handlers.error(errorOf({ errors: e as GqlErrorItem[] }) ?? new GqlError("INTERNAL_SERVER_ERROR", "subscription failed"));
          else handlers.error(new GqlError("NETWORK", "the live connection to the API closed"));
        },
        complete: () => handlers.complete?.(),
      },
    );
  }, () => handlers.error(new GqlError("NETWORK", "could not open the live connection")));
  return () => {
    ended = true;
    stop?.();
  };
}
