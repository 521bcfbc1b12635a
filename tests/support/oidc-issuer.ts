// A test OIDC issuer: signs identity tokens (JWTs) with node:crypto keys whose public half the fake
// Tailscale API is given (`publishIssuerKeys`), as a CI system or a cluster's ServiceAccount issuer signs
// them; and a stand-in for GitHub Actions' token request endpoint (ACTIONS_ID_TOKEN_REQUEST_URL).
//
// The GitHub stand-in models what a job step sees: GET with `Authorization: Bearer
// $ACTIONS_ID_TOKEN_REQUEST_TOKEN` (anything else: 401), an optional `audience` query parameter (GitHub's
// default audience is the repository owner's URL), answered `{"count":…, "value":"<jwt>"}` with a token
// issued now. Not modelled: GitHub's real token lifetime (5 minutes here, unconfirmed), its other claims
// (only those a test gives), and its rate limits.
import { generateKeyPairSync, type KeyObject, randomBytes, sign } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { Jwks } from "./tailscale-api/types";

/** An issuer of identity tokens. */
export interface TestIssuer {
  /** The `iss` of its tokens. */
  issuer: string;
  /** Its public signing keys (what its `jwks_uri` would serve). */
  jwks(): Jwks;
  /**
   * Signs a token: `iss` is the issuer's, `iat` and `nbf` are `nowS`, `exp` is `nowS + lifetimeS`
   * (default 600 s); `claims` are added (`sub`, `aud` and any other).
   */
  sign(claims: Record<string, unknown>, o?: { nowS?: number; lifetimeS?: number }): string;
  /** Replaces its signing key; `jwks()` then lists only the new one. */
  rotateKey(): void;
}

/** An issuer signing with RS256 (as GitHub Actions and Kubernetes ServiceAccount issuers do) or ES256. */
export function createTestIssuer(
  issuer = "https://oidc.issuer.test",
  alg: "RS256" | "ES256" = "RS256",
): TestIssuer {
  let key: { kid: string; privateKey: KeyObject; publicKey: KeyObject };
  const newKey = () => {
    const pair =
      alg === "RS256"
        ? generateKeyPairSync("rsa", { modulusLength: 2048 })
        : generateKeyPairSync("ec", { namedCurve: "P-256" });
    key = { kid: randomBytes(6).toString("hex"), ...pair };
  };
  newKey();
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
  return {
    issuer,
    jwks: () => ({ keys: [{ ...key.publicKey.export({ format: "jwk" }), kid: key.kid, alg, use: "sig" }] }),
    sign(claims, o = {}) {
      const now = o.nowS ?? Math.floor(Date.now() / 1000);
      const header = b64({ alg, typ: "JWT", kid: key.kid });
      const payload = b64({ iss: issuer, iat: now, nbf: now, exp: now + (o.lifetimeS ?? 600), ...claims });
      const signature = sign("sha256", Buffer.from(`${header}.${payload}`), {
        key: key.privateKey,
        dsaEncoding: "ieee-p1363",
      }).toString("base64url");
      return `${header}.${payload}.${signature}`;
    },
    rotateKey: newKey,
  };
}

/** A running stand-in of GitHub Actions' OIDC token request endpoint. */
export interface GitHubActionsTokenEndpoint {
  /** ACTIONS_ID_TOKEN_REQUEST_URL (it carries a query, as GitHub's does). */
  requestUrl: string;
  /** ACTIONS_ID_TOKEN_REQUEST_TOKEN. */
  requestToken: string;
  /** The audience of every token request answered, in order. */
  audiences: string[];
  /** Every request that carried the request token, each answered or failed: the status sent. */
  statuses: number[];
  /**
   * Answers the next requests with these failures, in order, before serving tokens again: a status,
   * its headers (e.g. Retry-After), and a body (GitHub's JSON error by default).
   */
  failNext(...answers: { status: number; headers?: Record<string, string>; body?: unknown }[]): void;
  stop(): Promise<void>;
}

/**
 * Serves tokens of `issuer` for the job `subject` (e.g. `repo:acme/infra:ref:refs/heads/main`), issued at
 * `now()` (milliseconds; a test moving its clocks passes its own).
 */
export async function startGitHubActionsTokenEndpoint(
  issuer: TestIssuer,
  subject: string,
  claims: Record<string, unknown> = {},
  now: () => number = Date.now,
): Promise<GitHubActionsTokenEndpoint> {
  const requestToken = randomBytes(24).toString("hex");
  const audiences: string[] = [];
  const statuses: number[] = [];
  const failures: { status: number; headers?: Record<string, string>; body?: unknown }[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "Content-Type": "application/json", ...headers });
      res.end(JSON.stringify(body));
    };
    if (req.method !== "GET" || url.pathname !== "/_apis/actions/idtoken") {
      answer(404, { message: "Not Found" });
      return;
    }
    if (req.headers.authorization !== `Bearer ${requestToken}`) {
      answer(401, { message: "Unauthorized" });
      return;
    }
    const failure = failures.shift();
    if (failure) {
      statuses.push(failure.status);
      answer(failure.status, failure.body ?? { message: `status ${failure.status}` }, failure.headers);
      return;
    }
    const audience = url.searchParams.get("audience") ?? "https://github.com/acme";
    audiences.push(audience);
    statuses.push(200);
    answer(200, {
      count: 1,
      value: issuer.sign(
        { sub: subject, aud: audience, ...claims },
        { nowS: Math.floor(now() / 1000), lifetimeS: 300 },
      ),
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    requestUrl: `http://127.0.0.1:${port}/_apis/actions/idtoken?api-version=2.0`,
    requestToken,
    audiences,
    statuses,
    failNext: (...answers) => failures.push(...answers),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
