/**
 * HTTP helpers of the Tailscale client: Go-compatible path escaping. Retry-After parsing and backoff
 * are in provider/retry.ts, shared with the Kubernetes client and the identity token's request.
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
