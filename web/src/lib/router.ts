// Routes of the app under /app/ (deep links: /app/wallet/ADDRESS, /app/segments/ID, ...).
import { useSyncExternalStore } from "react";

export const BASE = "/app";

export type Route =
  | { page: "home" }
  | { page: "wallet"; address: string }
  | { page: "anomalies" }
  | { page: "overview" }
  | { page: "segments"; id?: string }
  | { page: "campaigns"; id?: string }
  | { page: "jobs" }
  | { page: "models" }
  | { page: "notfound"; path: string };

export function parse(pathname: string): Route {
  let path = pathname.startsWith(BASE) ? pathname.slice(BASE.length) : pathname;
  path = path.replace(/\/+$/, "");
  const [, head = "", arg, ...rest] = path.split("/");
  const id = arg ? decodeURIComponent(arg) : undefined;
  if (rest.length) return { page: "notfound", path: pathname };
  switch (head) {
    case "":
      return { page: "home" };
    case "wallet":
      return id ? { page: "wallet", address: id } : { page: "home" };
    case "segments":
      return { page: "segments", id };
    case "campaigns":
      return { page: "campaigns", id };
    case "anomalies":
    case "overview":
    case "jobs":
    case "models":
      return id ? { page: "notfound", path: pathname } : { page: head };
    default:
      return { page: "notfound", path: pathname };
  }
}

export function href(route: Route): string {
  switch (route.page) {
    case "home":
      return `${BASE}/`;
    case "wallet":
      return `${BASE}/wallet/${encodeURIComponent(route.address)}`;
    case "segments":
    case "campaigns":
      return route.id ? `${BASE}/${route.page}/${encodeURIComponent(route.id)}` : `${BASE}/${route.page}`;
    case "notfound":
      return route.path;
    default:
      return `${BASE}/${route.page}`;
  }
}

const listeners = new Set<() => void>();
function notify() {
  listeners.forEach((fn) => fn());
}
if (typeof window !== "undefined") window.addEventListener("popstate", notify);

export function navigate(to: string | Route, replace = false): void {
  const url = typeof to === "string" ? to : href(to);
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  window.scrollTo?.(0, 0);
  notify();
}

function subscribe(fn: () => void) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function useLocation(): string {
  return useSyncExternalStore(subscribe, () => window.location.pathname + window.location.search);
}
