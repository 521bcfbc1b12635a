/**
 * What the client checks of an identity token before it exchanges it for an API token (workload identity
 * federation), and how it names the token's claims in errors. Pure: no I/O, no clock (the caller passes
 * the time).
 *
 * The token is a JWT whose signature only Tailscale can check (it fetches the issuer's keys). The client
 * reads its claims unverified, for two reasons: Tailscale's client refuses an expired or malformed token
 * before sending it (tailscale/tailscale-client-go-v2@4f50555a identityfederation.go:80-92, 135-162),
 * and Tailscale's refusal says only `{"message":"Unauthorized"}` (the answer users report,
 * tailscale/github-action#227), so the claims it compared (issuer, subject, audience, expiry) are what
 * tells a user which trust setting does not match. Claims are not secret; the token is, and no
 * function here returns or quotes it.
 */

/** The registered claims a federated identity's trust settings are compared with. */
export interface IdentityClaims {
  iss?: string;
  sub?: string;
  /** `aud` as a list (a JWT may carry one string or several). */
  aud: string[];
  /** Seconds since the epoch. */
  exp?: number;
  nbf?: number;
}

/** An identity token that cannot be used: what is wrong and what to do, without the token. */
export class IdentityTokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "IdentityTokenError";
  }
}

/** What the checks need to know besides the token. */
export interface IdentityTokenContext {
  /** Where the token came from, as a user names it: `the file /var/run/… (TAILSCALE_IDENTITY_TOKEN)`. */
  origin: string;
  /** Now, in milliseconds since the epoch. */
  nowMs: number;
  /** The audience the federated identity expects, when the user set one, and the setting it came from. */
  audience?: { value: string; setting: string };
}

function base64urlJson(part: string): unknown {
  if (!/^[A-Za-z0-9_-]+$/.test(part)) return undefined;
  try {
    return JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
}

/** The claims of a JWT, or why it is not one. Never quotes the token. */
export function decodeIdentityToken(jwt: string): { claims: IdentityClaims } | { problem: string } {
  const parts = jwt.split(".");
  if (parts.length !== 3) {
    return { problem: `is not a JWT: it has ${parts.length} part(s), a JWT has three separated by "."` };
  }
  const header = base64urlJson(parts[0]!);
  const payload = base64urlJson(parts[1]!);
  if (typeof header !== "object" || header === null || typeof payload !== "object" || payload === null) {
    return { problem: "is not a JWT: its header or claims are not base64url-encoded JSON objects" };
  }
  const p = payload as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === "string" ? v : undefined);
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
  const aud = Array.isArray(p.aud) ? p.aud.filter((a) => typeof a === "string") : str(p.aud) ? [p.aud] : [];
  return {
    claims: { iss: str(p.iss), sub: str(p.sub), aud: aud as string[], exp: num(p.exp), nbf: num(p.nbf) },
  };
}

function iso(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The claims a federated identity's trust settings are compared with, for a message. */
export function describeClaims(c: IdentityClaims): string {
  const parts = [
    `issuer ${JSON.stringify(c.iss ?? "(none)")}`,
    `subject ${JSON.stringify(c.sub ?? "(none)")}`,
    `audience ${JSON.stringify(c.aud)}`,
  ];
  if (c.exp !== undefined) parts.push(`expiring ${iso(c.exp)}`);
  return parts.join(", ");
}

/**
 * Checks what can be checked without the issuer's keys: the token is a JWT, has not expired, is already
 * valid, and (when the user named the audience the federated identity expects) is for that audience.
 * Returns its claims; throws {@link IdentityTokenError} naming the origin and the fix.
 */
export function checkIdentityToken(jwt: string, ctx: IdentityTokenContext): IdentityClaims {
  const decoded = decodeIdentityToken(jwt);
  if ("problem" in decoded) {
    throw new IdentityTokenError(
      `The identity token from ${ctx.origin} ${decoded.problem}. It must hold the OIDC token itself ` +
        "(for a GitHub Actions token: the `value` field of the token request's JSON answer; for Kubernetes: a " +
        "projected ServiceAccount token file), with nothing around it",
    );
  }
  const c = decoded.claims;
  const now = ctx.nowMs / 1000;
  if (c.exp === undefined) {
    throw new IdentityTokenError(
      `The identity token from ${ctx.origin} has no exp (expiry) claim (${describeClaims(c)}), and Tailscale ` +
        "accepts only tokens that expire: use a token from your platform's OIDC issuer",
    );
  }
  if (c.exp <= now) {
    throw new IdentityTokenError(
      `The identity token from ${ctx.origin} expired at ${iso(c.exp)} (${describeClaims(c)}). Tokens live for ` +
        "minutes to hours and must be fetched again: point the setting at a file that is kept fresh (a " +
        "Kubernetes projected ServiceAccount token is rewritten by the kubelet before it expires), write a new " +
        "token before each pulumi command, or, in GitHub Actions, set only the audience so the provider requests " +
        "a fresh token itself",
    );
  }
  if (c.nbf !== undefined && c.nbf > now) {
    throw new IdentityTokenError(
      `The identity token from ${ctx.origin} is not valid before ${iso(c.nbf)} (${describeClaims(c)}): check ` +
        "this machine's clock",
    );
  }
  const want = ctx.audience;
  if (want && !c.aud.includes(want.value)) {
    throw new IdentityTokenError(
      `The identity token from ${ctx.origin} is for audience ${JSON.stringify(c.aud)}, but ${want.setting} ` +
        `expects ${JSON.stringify(want.value)}: request the token for that audience (a projected ServiceAccount ` +
        "token's `audience`, GitHub's `audience` parameter), or set the audience to the federated identity's " +
        "(admin console: Settings → Trust credentials)",
    );
  }
  return c;
}
