// The API key for mutations, kept in this browser tab's sessionStorage only (never localStorage,
// never a cookie): it goes when the tab closes.
export const KEY_HEADER = "X-API-Key";
const SLOT = "aidrop.apiKey";
const listeners = new Set<() => void>();

function storage(): Storage | null {
  try {
    return typeof sessionStorage === "undefined" ? null : sessionStorage;
  } catch {
    return null;
  }
}

export function apiKey(): string | null {
  return storage()?.getItem(SLOT) || null;
}

export function setApiKey(key: string | null): void {
  const s = storage();
  if (!s) return;
  if (key && key.trim()) s.setItem(SLOT, key.trim());
  else s.removeItem(SLOT);
  listeners.forEach((fn) => fn());
}

export function onApiKey(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
