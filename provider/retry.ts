/**
 * Pacing of retries, shared by every client that retries (provider/tailscale/client.ts,
 * provider/kube/retry.ts, provider/credentialValues.ts): the server's Retry-After, else capped
 * exponential backoff with jitter, so that many callers failing together do not retry in lockstep.
 */

/**
 * Parses a Retry-After header: delta-seconds or an HTTP-date. Returns milliseconds to wait (never
 * negative), or undefined when absent or unparseable.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  if (v === "") return undefined;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const date = Date.parse(v);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

/**
 * Exponential backoff with full jitter: a random wait in [base/2, base] where base = initial·2^(n-1),
 * capped. `random` is injectable for determinism.
 */
export function backoffMs(attempt: number, initialMs: number, capMs: number, random: () => number): number {
  const base = Math.min(capMs, initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(base / 2 + (random() * base) / 2);
}
