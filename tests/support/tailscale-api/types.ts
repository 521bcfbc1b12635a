// Public shapes of the fake Tailscale API (what tests and the cluster simulator see).
import type { JsonWebKey } from "node:crypto";
import type { FaultKind, FaultSpec as InjectorFaultSpec } from "../kube-api/faults";

/** A Tailscale device as the fake control plane holds it. */
export interface DeviceRecord {
  /** Legacy numeric id (a string). */
  id: string;
  /** Stable node ID, e.g. `n1a2b3c4d5CNTRL`. */
  nodeId: string;
  /** Machine name requested at login. */
  hostname: string;
  /** MagicDNS FQDN without trailing dot, e.g. `web.tailnet-1234.ts.net`. */
  name: string;
  /** `[IPv4, IPv6]`. */
  addresses: string[];
  tags: string[];
  /** Login name of the owner, or `tagged-devices` for tagged devices. */
  user: string;
  authorized: boolean;
  isEphemeral: boolean;
  created: string;
  nodeKey: string;
  machineKey: string;
  /** ID of the auth key the device last logged in with. */
  keyId: string;
  connectedToControl: boolean;
  lastSeen?: string;
  /** Tailscale Services this host currently advertises (`svc:<name>`). */
  advertisedServices: string[];
  /**
   * A device of another tailnet shared into this one (SPEC `Device.isExternal`): listed, named under its own
   * tailnet's domain, holding no machine name here, and not deletable (501).
   */
  isExternal?: boolean;
}

/** A device of another tailnet to share into the fake tailnet. */
export interface SharedInDevice {
  /** OS hostname, e.g. `hello`. */
  hostname: string;
  /** MagicDNS FQDN in its own tailnet, e.g. `hello.ts.net`. */
  name: string;
  /** `[IPv4, IPv6]`. */
  addresses: string[];
  /** Login name of its owner in its own tailnet. */
  user: string;
}

/** An auth key, OAuth client or federated identity as the fake holds it, never with its secret. */
export interface KeyRecord {
  id: string;
  keyType: "auth" | "client" | "federated";
  created: string;
  /** Auth keys only. */
  expires?: string;
  expirySeconds?: number;
  revoked?: string;
  reusable: boolean;
  ephemeral: boolean;
  preauthorized: boolean;
  tags: string[];
  /** OAuth clients only. */
  scopes: string[];
  description: string;
  /** Empty for tailnet-owned keys (created through an OAuth client). */
  userId: string;
  /** How many logins used this key. */
  uses: number;
  /** False once revoked, expired or (single-use) spent. */
  valid: boolean;
  invalidReason?: "revoked" | "expired" | "spent";
  /** Federated identities only: the trust they grant tokens to (SPEC `Key`). */
  issuer?: string;
  subject?: string;
  audience?: string;
  customClaimRules?: Record<string, string>;
}

/** An issuer's signing keys, as its `jwks_uri` serves them. */
export interface Jwks {
  keys: (JsonWebKey & { kid?: string })[];
}

/** A federated identity to create (KB https://tailscale.com/kb/1581/workload-identity-federation). */
export interface FederatedIdentityOptions {
  scopes: string[];
  tags: string[];
  /** The trusted issuer, an https:// URL whose keys were published with `publishIssuerKeys`. */
  issuer: string;
  /** Pattern the token's `sub` must match; `*` matches any characters. */
  subject: string;
  /** The `aud` the token must carry; generated when omitted, as Tailscale does. */
  audience?: string;
  /** Claim name to pattern, each of which the token must match. */
  customClaimRules?: Record<string, string>;
  description?: string;
}

/** A Tailscale Service ("VIP service"). */
export interface ServiceRecord {
  name: string;
  /** `[IPv4, IPv6]`. */
  addrs: string[];
  comment: string;
  ports: string[];
  tags: string[];
  annotations: Record<string, string>;
}

/** Tailnet policy fragments the fake enforces. */
export interface TailnetPolicy {
  /** `tagOwners`: tag -> owners (other tags, users, `autogroup:admin`). A tag must be listed to be usable. */
  tagOwners?: Record<string, string[]>;
  /**
   * `autoApprovers.services`: service selector (`svc:<name>`, `tag:<service tag>` or `*`) -> device tags
   * whose hosts are approved automatically when they advertise a matching service.
   */
  autoApproverServices?: Record<string, string[]>;
}

/** A fault answered instead of (or, with `after`, in place of the response of) a matching request. */
export interface FaultSpec {
  /** HTTP method to match; any when omitted. */
  method?: string;
  /** A RegExp tested against the path, or a string equal to the path or to its route template. */
  path: RegExp | string;
  /** 429 or a 5xx status. */
  status: number;
  /** How many matching requests fail (default 1; `Infinity` for all). */
  times?: number;
  /** Sets `Retry-After` (seconds). 429 defaults to 1 when omitted. */
  retryAfterSeconds?: number;
  /**
   * Run the real handler first (state changes happen) and then answer the fault: the ambiguous
   * "did my POST succeed?" failure.
   */
  after?: boolean;
  /** Destroy the connection instead of answering (a reset; combine with `after` for a lost response). */
  reset?: boolean;
}

/** Seeded fault kinds of the Tailscale fake: the kube-api's (faults.ts) without the watch kinds. */
export type TailscaleFaultKind = Exclude<FaultKind, "watch-close" | "watch-error">;

/**
 * A seeded fault rule (tests/support/kube-api/faults.ts): `rate`, `seed`, `kinds`, and filters by
 * `method`, `path` (exact, prefix or RegExp) or `route` (the template, e.g.
 * `/api/v2/tailnet/{tailnet}/keys`). Applies to every caller of the public API (`/api/v2`), never to
 * the control plane (`/_control`, tailscaled's traffic).
 */
export type SeededFaultSpec = Omit<InjectorFaultSpec, "kinds" | "users" | "watch" | "watchCloseAfterMs"> & {
  kinds: readonly TailscaleFaultKind[];
};

/** One seeded fault the fake injected. */
export interface InjectedTailscaleFault {
  method: string;
  path: string;
  route: string;
  kind: TailscaleFaultKind;
  status?: number;
}

/** One request the fake answered. */
export interface RequestLogEntry {
  method: string;
  /** Path without query string. */
  path: string;
  status: number;
  /** Route template, e.g. `/api/v2/tailnet/{tailnet}/keys`, or `<unmatched>`. */
  route: string;
  /** The seeded fault injected into this request, if any (status 0 for resets). */
  fault?: TailscaleFaultKind;
}

/** A running fake Tailscale API + control plane. */
export interface TailscaleApiServer {
  /** Base URL, e.g. `http://127.0.0.1:PORT` (clients append `/api/v2/...`). */
  url: string;
  tailnetId: string;
  tailnetDomain: string;
  /** Registers an OAuth client (trust credential) with these scopes and tags. */
  createOAuthClient(o: { scopes: string[]; tags: string[] }): { clientId: string; clientSecret: string };
  /**
   * Deletes an OAuth client as an admin does in the console (no API request logged): its secret no longer
   * gets tokens, and the tokens it got stop working.
   */
  deleteOAuthClient(clientId: string): void;
  /**
   * Publishes an issuer's signing keys: what Tailscale would fetch from `<issuer>/.well-known/openid-configuration`
   * and its `jwks_uri`. Publishing again replaces them (an issuer's key rotation).
   */
  publishIssuerKeys(issuer: string, jwks: Jwks): void;
  /** Creates a federated identity as an admin does in the console (no API request logged). */
  createFederatedIdentity(o: FederatedIdentityOptions): { clientId: string; audience: string };
  /** Deletes a federated identity: it exchanges no more tokens, and the tokens it got stop working. */
  deleteFederatedIdentity(clientId: string): void;
  /** Why each refused token exchange was refused, `<client_id>: <reason>` (the answer says only "Unauthorized"). */
  exchangeRefusals: string[];
  /** Creates a user-owned API access token for the tailnet admin user (all permissions). */
  createApiKey(): string;
  /** Mints an auth key directly (test setup shortcut; same rules as login expects). */
  createAuthKey(o?: {
    reusable?: boolean;
    ephemeral?: boolean;
    preauthorized?: boolean;
    tags?: string[];
    expirySeconds?: number;
  }): { id: string; key: string };
  setPolicy(p: TailnetPolicy): void;
  setHttpsEnabled(v: boolean): void;
  /** The tailnet's own devices (shared-in devices excluded; see `sharedInDevices`). */
  devices(): DeviceRecord[];
  /** Devices of other tailnets shared into this one (by default Tailscale's `hello.ts.net`). */
  sharedInDevices(): DeviceRecord[];
  /** Shares a device of another tailnet into this one, as its owner does with a share invite. */
  shareIn(d: SharedInDevice): DeviceRecord;
  keys(): KeyRecord[];
  services(): ServiceRecord[];
  validAuthKeys(): KeyRecord[];
  /** Deletes a device as an admin would in the console (no API request logged). */
  deleteDeviceOutOfBand(nodeId: string): void;
  /** Moves the fake's clock forward (key expiry, token lifetime). */
  advanceTime(ms: number): void;
  /** Public API (/api/v2) requests, in order. */
  requests: RequestLogEntry[];
  /** tailscaled-side (/_control) requests, kept apart so API call counts stay meaningful. */
  controlRequests: RequestLogEntry[];
  /**
   * Calls `fn` synchronously after each request other than a GET was handled, API or control (a
   * device's login, advertisement or disconnection): a test can observe every state the fake goes
   * through. Returns the unsubscribe function.
   */
  onChange(fn: () => void): () => void;
  counts(): { total: number; byRoute: Record<string, number> };
  /** Clears the API request log and counts. */
  resetCounts(): void;
  /** Responses of the fake that failed the OpenAPI schema (a bug in the fake): tests assert this stays empty. */
  schemaViolations: string[];
  injectFault(f: FaultSpec): void;
  clearFaults(): void;
  /**
   * Replaces the seeded fault rules (undefined: none), restarting their PRNGs and counts. Kinds:
   * `5xx` (500/503 unless `status` is fixed, with or without `Retry-After`), `429` (`Retry-After: 1`),
   * `reset-before` (connection dropped before the request is acted on), `reset-after` (acted on, then
   * dropped without an answer), `slow` (answered after `slowMs`).
   */
  setFaults(specs: SeededFaultSpec | SeededFaultSpec[] | undefined): void;
  /** Seeded faults injected since the rules were set, by kind. */
  faultCounts(): Record<TailscaleFaultKind, number>;
  /** Seeded faults injected since the rules were set, in order. */
  injectedFaults(): InjectedTailscaleFault[];
  setLatency(ms: number): void;
  stop(): Promise<void>;
}
