/**
 * Small HTTP helpers shared by the Tailscale client: Go-compatible path escaping, Retry-After
 * parsing and capped exponential backoff.
 */

// Go's url.PathEscape leaves unreserved characters and "$&+:=@" alone. Matching it matters for
// service names: the Go clients send `svc:web` literally, and so must we.
const PATH_SAFE = /^[A-Za-z0-9\-_.~$&+:=@]$/;

/** Escapes one path segment the way Go's `url.PathEscape` does (keeps `:`, so `svc:web` stays). */
export function pathEscape(segment: string): string {
  let out = "";
  for (const ch of segment) {
    if (PATH_SAFE.test(ch)) {
      out += ch;
    } else {
      for (const byte of Buffer.from(ch, "utf8"))
        out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    }
  }
  return out;
}

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
