/**
 * Typed errors of the Tailscale API client. Messages say which call failed, what the API said and
 * what to do about it, and never contain a secret: anything shaped like a Tailscale key and every
 * secret the client holds is redacted from text that came from the server.
 */

import { type CredentialSource, rejectedCredentialHint } from "../credentialSource";
import { describeClaims, type IdentityClaims } from "./identityToken";

/** The Tailscale API operations this client performs, used to pick a hint. */
export type TailscaleOperation =
  | "oauthToken"
  | "tokenExchange"
  | "createAuthKey"
  | "getKey"
  | "listKeys"
  | "deleteKey"
  | "getDevice"
  | "listDevices"
  | "deleteDevice"
  | "getService"
  | "putService"
  | "deleteService"
  | "listServices"
  | "getTailnetSettings";

/** Scope an OAuth client needs for each operation (KB 1623 and the OpenAPI "OAuth Scope" lines). */
const REQUIRED_SCOPE: Record<TailscaleOperation, string> = {
  oauthToken: "(any)",
  tokenExchange: "(any)",
  createAuthKey: "auth_keys",
  getKey: "auth_keys:read",
  listKeys: "auth_keys:read",
  deleteKey: "auth_keys",
  getDevice: "devices:core:read",
  listDevices: "devices:core:read",
  deleteDevice: "devices:core",
  getService: "services:read",
  putService: "services",
  deleteService: "services",
  listServices: "services:read",
  getTailnetSettings: "feature_settings:read",
};

const KEY_PATTERN = /tskey-[A-Za-z0-9_-]+/g;
/** A JWT (an identity token): base64url JSON header and claims, then a signature. */
const JWT_PATTERN = /eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;

/** Removes Tailscale key material, JWTs and the given known secrets from a text. */
export function redactSecrets(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text;
  for (const s of secrets) {
    if (s && s.length >= 4) out = out.split(s).join("[redacted]");
  }
  return out
    .replace(KEY_PATTERN, (m) => `${m.split("-").slice(0, 2).join("-")}-[redacted]`)
    .replace(JWT_PATTERN, "[redacted JWT]");
}

/** Context used to build the hint of an error. */
export interface ErrorContext {
  operation: TailscaleOperation;
  tailnet: string;
  /** Tags of the auth key being created (createAuthKey only). */
  tags?: string[];
  /** The OAuth client's own tags, as its token response listed them (unknown before the first token). */
  clientTags?: string[];
  /** Whether the client authenticates with an API token it obtains (OAuth client or federated identity; else an API key). */
  oauth: boolean;
  /** Set for a federated identity: its ID, where its identity token came from, and that token's claims (exchange only). */
  federated?: { clientId: string; origin: string; claims?: IdentityClaims };
  /** Where the credentials came from (see TailscaleClientOptions.credentialSource). */
  credentialSource?: CredentialSource;
  /** What the API said (redacted), to tell refusals that share a status apart. */
  apiMessage?: string;
  /** Set when the request was retried; included in the message. */
  attempts?: number;
}

/** What the credential is called in hints. */
function trustCredential(ctx: ErrorContext): string {
  return ctx.federated ? "the federated identity" : "the OAuth client";
}

const FEDERATED_KEYS = "tailscale:oauthClientId / tailscale:identityToken / tailscale:audience";

/**
 * The hint for a refused exchange. Tailscale answers every mismatch with the same
 * `403 {"message":"Unauthorized"}` (tailscale/github-action#227), so the hint lists what it compares
 * (KB https://tailscale.com/kb/1581/workload-identity-federation: signature, issuer, audience, expiry,
 * claim rules) next to the token's own claims.
 */
function refusedIdentityToken(ctx: ErrorContext): string {
  const f = ctx.federated!;
  const claims = f.claims ? ` (${describeClaims(f.claims)})` : "";
  return rejectedCredentialHint(ctx.credentialSource, {
    what:
      `federated identity ${f.clientId} refused the identity token from ${f.origin}${claims}. Tailscale gives no ` +
      "reason: check in the admin console (Settings → Trust credentials) that the client id is a federated " +
      "identity's (not an OAuth client's), that its issuer is the token's issuer exactly, its subject pattern matches " +
      "the token's subject, its audience is one of the token's audiences and its custom claim rules match the token, " +
      "and that the issuer's signing keys are published at its /.well-known/openid-configuration",
    configKeys: FEDERATED_KEYS,
    otherwise:
      "fix the federated identity's trust settings or the token (TAILSCALE_OAUTH_CLIENT_ID, TAILSCALE_IDENTITY_TOKEN, " +
      "TAILSCALE_AUDIENCE, or the same tailscale:* stack config)",
  });
}

/** The hint for a 401: which credential was rejected, and how to replace it where it came from. */
function rejectedCredential(ctx: ErrorContext): string {
  if (ctx.operation === "tokenExchange") return refusedIdentityToken(ctx);
  if (ctx.federated) {
    return rejectedCredentialHint(ctx.credentialSource, {
      what:
        `the API token obtained for federated identity ${ctx.federated.clientId} was rejected even after a new ` +
        "exchange (the federated identity may have been deleted)",
      configKeys: FEDERATED_KEYS,
      otherwise:
        "check TAILSCALE_OAUTH_CLIENT_ID (the federated identity's ID) and that the federated identity exists",
    });
  }
  return rejectedCredentialHint(
    ctx.credentialSource,
    ctx.oauth
      ? {
          what: "the OAuth client credentials were rejected (the client may have been deleted)",
          configKeys: "tailscale:oauthClientId / tailscale:oauthClientSecret",
          otherwise:
            "check TAILSCALE_OAUTH_CLIENT_ID / TAILSCALE_OAUTH_CLIENT_SECRET (or tailscale:oauthClientId and tailscale:oauthClientSecret)",
        }
      : {
          what: "the API key was rejected (it may have expired or been revoked)",
          configKeys: "tailscale:apiKey",
          otherwise:
            "create a new one and set TAILSCALE_API_KEY (or tailscale:apiKey), or use an OAuth client",
        },
  );
}

/**
 * The hint for the API's 400 on an auth key: it refuses tags the credential may not use, and for an OAuth
 * client the key's tags must be exactly the client's own tags or tags they own, not a subset of them
 * (SPEC `KeyCapabilities.devices.create.tags`, KB https://tailscale.com/kb/1215/oauth-clients).
 */
function tagRefusalHint(ctx: ErrorContext): string {
  const tags = `[${(ctx.tags ?? []).join(", ")}]`;
  if (!ctx.oauth) {
    return (
      `the API key cannot create auth keys tagged ${tags}: list each tag in the tailnet policy's tagOwners, ` +
      "and check the description (max 50 letters, digits, hyphens and spaces)"
    );
  }
  const own = ctx.clientTags ? ` (its tags: [${ctx.clientTags.join(", ")}])` : "";
  return (
    `${trustCredential(ctx)}${own} cannot create auth keys tagged ${tags}: an OAuth client or federated identity mints keys only with exactly ` +
    "its own tags, or with tags its tags own in the tailnet policy. Make the proxies' tags owned by the client's " +
    'tag in tagOwners (e.g. "tag:k8s": ["tag:k8s-operator"]), or set the tags to exactly the client\'s tags'
  );
}

/** Builds the "what to do" part of an error message from the status and the operation. */
export function hintFor(status: number, ctx: ErrorContext): string {
  const op = ctx.operation;
  if (status === 0) {
    if (op === "createAuthKey") {
      return (
        "every key an unanswered attempt may have minted was looked up and revoked; check connectivity to the " +
        "Tailscale API (tailscale:baseUrl / TAILSCALE_BASE_URL) and retry the operation"
      );
    }
    return "check network connectivity to the Tailscale API (tailscale:baseUrl / TAILSCALE_BASE_URL) and retry";
  }
  if (op === "tokenExchange" && status === 404) {
    return (
      "the token exchange endpoint was not found: check tailscale:baseUrl / TAILSCALE_BASE_URL (a control server " +
      "without workload identity federation has none)"
    );
  }
  if (status === 401 || (op === "tokenExchange" && (status === 400 || status === 403))) {
    return rejectedCredential(ctx);
  }
  if (status === 403) {
    // A missing scope is the API's 403 (tailscale/github-action#301); a refused tag is a 400 (tailscale/tailscale#8299).
    if (op === "createAuthKey") {
      return ctx.oauth
        ? `${trustCredential(ctx)} lacks the "auth_keys" scope: give it the scopes "auth_keys", ` +
            '"devices:core" and "services"'
        : "the API key's user may not create auth keys: use an admin's key or an OAuth client with the " +
            '"auth_keys" scope; an OAuth client secret (tskey-client-…) used as tailscale:apiKey gets this ' +
            "answer too (tailscale/tailscale#15969): set it as tailscale:oauthClientSecret instead";
    }
    if (op === "oauthToken") {
      return "the OAuth client was asked for a scope it does not have: create it with the scopes it needs";
    }
    return ctx.oauth
      ? `${trustCredential(ctx)} lacks the "${REQUIRED_SCOPE[op]}" scope (or the tags) needed for ${op}: give ` +
          'it the scopes "auth_keys", "devices:core" and "services" and tags that own the proxies\' tags'
      : `the API key's user is not allowed to perform ${op}: use an admin's key or an OAuth client with the ` +
          `"${REQUIRED_SCOPE[op]}" scope`;
  }
  if (status === 404) {
    if (op === "listServices" || op === "putService") {
      return (
        `tailnet "${ctx.tailnet}" or its Tailscale Services API was not found: check tailscale:tailnet ` +
        '("-" means the credential\'s own tailnet) and that Tailscale Services are enabled for the tailnet'
      );
    }
    return `tailnet "${ctx.tailnet}" was not found: set tailscale:tailnet to "-" (the credential's own tailnet) or the tailnet ID`;
  }
  if (status === 400 && op === "putService") {
    return "the Tailscale Service body was rejected: when updating an existing service send its current addrs, and check name (svc:<dns-label>), ports (tcp:<port>) and tags";
  }
  if (status === 400 && op === "createAuthKey") {
    // The tag refusal's message, as users report it (tailscale/tailscale#8299, frankbria/auto-author#490).
    if (/are invalid or not permitted/.test(ctx.apiMessage ?? "")) return tagRefusalHint(ctx);
    return "the auth key request was rejected: check the tags (tag:<name>) and the description (max 50 letters, digits, hyphens and spaces)";
  }
  if (status === 409) return "the object was changed concurrently; retry the operation";
  if (status === 429) {
    return (
      `the Tailscale API rate limit was hit${ctx.attempts ? ` (after ${ctx.attempts} attempts)` : ""}; ` +
      "wait and retry, or lower pulumi up --parallel"
    );
  }
  if (status === 501 && op === "deleteDevice") {
    return "the device is not owned by this tailnet (shared in); remove it from its own tailnet";
  }
  if (status >= 500) {
    return `the Tailscale API failed${ctx.attempts ? ` (after ${ctx.attempts} attempts)` : ""}; retry later`;
  }
  return "check the inputs of the resource";
}

/** Constructor arguments of {@link TailscaleApiError}. */
export interface TailscaleApiErrorInit {
  status: number;
  method: string;
  path: string;
  operation: TailscaleOperation;
  apiMessage?: string;
  hint: string;
  /** Short description of the object, e.g. `auth key k123` or `Tailscale Service svc:web`. */
  subject?: string;
  cause?: unknown;
}

/**
 * A failed Tailscale API call. `status` is 0 when no HTTP response arrived (network error or
 * timeout). The message has the form `<operation> of <subject> failed: <METHOD> <path> returned
 * <status>: <api message>. <hint>`.
 */
export class TailscaleApiError extends Error {
  readonly status: number;
  readonly method: string;
  readonly path: string;
  readonly operation: TailscaleOperation;
  readonly apiMessage: string | undefined;
  readonly hint: string;

  constructor(init: TailscaleApiErrorInit) {
    const what = init.subject ? `${init.operation} of ${init.subject}` : init.operation;
    const got =
      init.status === 0
        ? `got no response${init.apiMessage ? ` (${init.apiMessage})` : ""}`
        : `returned ${init.status}${init.apiMessage ? `: ${init.apiMessage}` : ""}`;
    super(`Tailscale API ${what} failed: ${init.method} ${init.path} ${got}. What to do: ${init.hint}`, {
      cause: init.cause,
    });
    this.name = "TailscaleApiError";
    this.status = init.status;
    this.method = init.method;
    this.path = init.path;
    this.operation = init.operation;
    this.apiMessage = init.apiMessage;
    this.hint = init.hint;
  }
}
