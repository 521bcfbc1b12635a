// A stateful, schema-validated fake of the Tailscale API v2 plus the slice of the control plane
// that tailscaled talks to (under /_control/, which is not part of the public API).
// Behaviour follows the real API where it is known (README.md beside this file); every /api/v2 request and response is validated
// against the OpenAPI document (see spec.ts for the explicit list of supplements).
import { createHash, createPublicKey, randomBytes, randomInt, verify } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { type FaultAction, FaultInjector, type FaultSpec as InjectorFaultSpec } from "../kube-api/faults";
import {
  formatAjvErrors,
  OAUTH_TOKEN_EXCHANGE_RESPONSE_SCHEMA,
  OAUTH_TOKEN_RESPONSE_SCHEMA,
  SPEC_SUPPLEMENTS,
  type SpecOperation,
  TailscaleSpec,
} from "./spec";
import type {
  DeviceRecord,
  FaultSpec,
  FederatedIdentityOptions,
  InjectedTailscaleFault,
  Jwks,
  KeyRecord,
  RequestLogEntry,
  SeededFaultSpec,
  ServiceRecord,
  SharedInDevice,
  TailnetPolicy,
  TailscaleApiServer,
  TailscaleFaultKind,
} from "./types";

type Json = any;

const DAY_S = 24 * 3600;
/** Auth keys default to, and may not exceed, 90 days. */
const MAX_AUTH_KEY_EXPIRY_S = 90 * DAY_S;
const TOKEN_LIFETIME_S = 3600;
const ADMIN_LOGIN = "admin@example.com";
const TAGGED_DEVICES_USER = "tagged-devices";
/** Reported as `tailscale_capver`-era client version on devices. */
const CLIENT_VERSION = "1.88.1-t1a2b3c4d-g5e6f7a8b9";

/** Fields returned by device endpoints without `fields=all` (SPEC /components/parameters/fields). */
const DEFAULT_DEVICE_FIELDS = [
  "addresses",
  "id",
  "nodeId",
  "user",
  "name",
  "hostname",
  "clientVersion",
  "updateAvailable",
  "os",
  "created",
  "connectedToControl",
  "lastSeen",
  "keyExpiryDisabled",
  "expires",
  "authorized",
  "isExternal",
  "machineKey",
  "nodeKey",
  "blocksIncomingConnections",
  "tailnetLockKey",
  "tailnetLockError",
  "tags",
  "isEphemeral",
];

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/**
 * Who is calling. `oauth` is a token of a trust credential (KB 1623): an OAuth client's (`via: "client"`)
 * or a federated identity's (`via: "federated"`); `clientId` is the credential's ID.
 */
type Caller =
  | { kind: "user"; userId: string; loginName: string; keyId: string }
  | {
      kind: "oauth";
      via: "client" | "federated";
      clientId: string;
      scopes: string[];
      tags: string[];
      keyId: string;
    };

interface Credential {
  caller: Caller;
  expiresAt?: number;
}

interface KeyState extends KeyRecord {
  /** Empty for federated identities, which have none. */
  secret: string;
}

/** The scope that reads (`:read`) or writes keys of a type (SPEC listTailnetKeys, createKey). */
function keyScope(keyType: KeyRecord["keyType"], read: boolean): string {
  const base = { auth: "auth_keys", client: "oauth_keys", federated: "federated_keys" }[keyType];
  return read ? `${base}:read` : base;
}

/** A trust pattern: `*` matches any characters, everything else itself (SPEC `Key.subject`, `customClaimRules`). */
function matchesPattern(pattern: string, value: string): boolean {
  const re = pattern
    .split("*")
    .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${re}$`, "s").test(value);
}

const JWT_ALGORITHMS: Record<string, { hash: string; dsaEncoding?: "ieee-p1363" }> = {
  RS256: { hash: "sha256" },
  ES256: { hash: "sha256", dsaEncoding: "ieee-p1363" },
};

interface ServiceState extends ServiceRecord {
  /** nodeId -> manual approval. */
  manualApprovals: Map<string, boolean>;
}

interface Handled {
  status: number;
  body?: Json;
  headers?: Record<string, string>;
}

interface Ctx {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  body: Json;
  rawBody: string;
  headers: http.IncomingHttpHeaders;
  caller?: Caller;
}

interface Route {
  method: string;
  /** Template under the server root, e.g. `/api/v2/tailnet/{tailnet}/keys`. */
  template: string;
  /** Documented operation used to validate request and response; absent for supplements (G1, control). */
  spec?: { path: string; method: string };
  /** OAuth scopes all required (API keys have every permission). */
  scopes?: string[];
  /** Whether a bearer credential is needed. */
  auth: boolean;
  handler: (ctx: Ctx) => Handled | Promise<Handled>;
}

function rand(n: number): string {
  const alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  let out = "";
  for (let i = 0; i < n; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

function hex(n: number): string {
  return randomBytes(n).toString("hex");
}

/** `tailcfg.CheckTag` rules (tailscale/tailscale@de9ec7ee tailcfg/tailcfg.go `CheckTag`). */
function tagProblem(tag: string): string | undefined {
  if (!tag.startsWith("tag:")) return "tags must start with 'tag:'";
  const name = tag.slice(4);
  if (name === "") return "tag names must not be empty";
  if (!/^[A-Za-z]/.test(name)) return "tag names must start with a letter, after 'tag:'";
  if (!/^[A-Za-z0-9-]+$/.test(name)) return "tag names can only contain numbers, letters, or dashes";
  return undefined;
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Machine names as control derives them from a requested hostname. */
function sanitizeHostname(h: string): string {
  const label = h
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 63)
    .replace(/-+$/, "");
  return label;
}

function scopeGrants(granted: string, required: string): boolean {
  if (granted === required || granted === "all") return true;
  if (required.endsWith(":read")) {
    const base = required.slice(0, -":read".length);
    if (granted === base || granted === "all:read") return true;
  }
  return false;
}

function isCgnatV4(ip: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return false;
  const o = m.slice(1).map(Number);
  if (o.some((x) => x > 255)) return false;
  return o[0] === 100 && o[1]! >= 64 && o[1]! <= 127;
}

function deviceLabel(d: { name: string }): string {
  return d.name.split(".")[0]!;
}

/**
 * The API's refusal of tags a caller may not use: 400 with the message users report, Go's `%v` of the tag
 * list (tailscale/tailscale#8299, frankbria/auto-author#490).
 */
function tagsRefused(tags: string[]): ApiError {
  return new ApiError(400, `requested tags [${tags.join(" ")}] are invalid or not permitted`);
}

/** Options of {@link startTailscaleApi}. */
export interface StartTailscaleApiOptions {
  /** Tailnet ID accepted in paths besides `-` (default `T1234CNTRL`). */
  tailnetId?: string;
  /** MagicDNS suffix (default `tailnet-1234.ts.net`). */
  tailnetDomain?: string;
  /** Whether HTTPS certificates are enabled for the tailnet (default true). */
  httpsEnabled?: boolean;
  /** Initial policy; the default makes `tag:k8s` owned by `tag:k8s-operator` and auto-approves its services. */
  policy?: TailnetPolicy;
  /**
   * Devices shared into the tailnet at start. Default: Tailscale's demo device `hello.ts.net`, which new tailnets
   * has shared in (`tailscale/tailscale@de9ec7ee cmd/hello/hello.go:4`); `[]` for none.
   */
  sharedInDevices?: SharedInDevice[];
  /** Seeded fault rules from the start (see `setFaults`). */
  faults?: SeededFaultSpec | SeededFaultSpec[];
}

const TAILSCALE_FAULT_KINDS: readonly TailscaleFaultKind[] = [
  "5xx",
  "429",
  "reset-before",
  "reset-after",
  "slow",
];

/**
 * The injector's rules for the fake's seeded faults: every caller (the API has no identity the
 * injector knows), no watches. A watch kind is refused rather than silently never drawn.
 */
function injectorSpecs(specs: SeededFaultSpec | SeededFaultSpec[] | undefined): InjectorFaultSpec[] {
  const list = specs === undefined ? [] : Array.isArray(specs) ? specs : [specs];
  return list.map((s) => {
    for (const k of s.kinds) {
      if (!TAILSCALE_FAULT_KINDS.includes(k)) {
        throw new Error(`unknown Tailscale fault kind "${k}"; use one of ${TAILSCALE_FAULT_KINDS}`);
      }
    }
    return { ...s, users: "all", watch: false };
  });
}

/** Tailscale's demo device, shared into new tailnets; 100.101.102.103 is its address (`tailscale/tailscale@de9ec7ee cmd/tailscale/jsonoutput/jsonoutput.go:35`). */
export const HELLO_DEVICE: SharedInDevice = {
  hostname: "hello",
  name: "hello.ts.net",
  addresses: ["100.101.102.103", "fd7a:115c:a1e0::1:6565"],
  user: "hello@tailscale.com",
};

let sharedSpec: TailscaleSpec | undefined;

/** Starts the fake on 127.0.0.1 with an ephemeral port. */
export async function startTailscaleApi(opts: StartTailscaleApiOptions = {}): Promise<TailscaleApiServer> {
  sharedSpec ??= new TailscaleSpec();
  const fake = new FakeTailscale(sharedSpec, opts);
  await fake.listen();
  return fake.api();
}

class FakeTailscale {
  readonly tailnetId: string;
  readonly tailnetDomain: string;
  private httpsEnabled: boolean;
  private policy: Required<TailnetPolicy>;
  private clockOffsetMs = 0;
  private latencyMs = 0;
  private readonly adminUserId = `u${rand(10)}CNTRL`;
  private readonly credentials = new Map<string, Credential>();
  private readonly keyStore = new Map<string, KeyState>();
  private readonly deviceStore = new Map<string, DeviceRecord>();
  private readonly serviceStore = new Map<string, ServiceState>();
  private readonly faults: Array<FaultSpec & { remaining: number }> = [];
  private readonly injector: FaultInjector;
  private readonly sockets = new Set<Socket>();
  private readonly routes: Route[];
  private readonly tokenResponseValidator;
  private readonly exchangeResponseValidator;
  /** What the fake "fetched" from each issuer's discovery document: its signing keys. */
  private readonly issuerKeys = new Map<string, Jwks>();
  /** Why each refused token exchange was refused (the answer itself gives no reason). */
  readonly exchangeRefusals: string[] = [];
  private nextDeviceNum = 1;
  private nextServiceNum = 1;
  private nextLegacyId = 7_000_000_000_001;
  readonly requests: RequestLogEntry[] = [];
  readonly controlRequests: RequestLogEntry[] = [];
  /** Called after every request that may have changed state (onChange). */
  private readonly changeListeners = new Set<() => void>();
  readonly schemaViolations: string[] = [];
  private server?: http.Server;
  url = "";

  constructor(
    private readonly spec: TailscaleSpec,
    opts: StartTailscaleApiOptions,
  ) {
    this.tailnetId = opts.tailnetId ?? "T1234CNTRL";
    this.tailnetDomain = opts.tailnetDomain ?? "tailnet-1234.ts.net";
    this.httpsEnabled = opts.httpsEnabled ?? true;
    this.policy = {
      tagOwners: opts.policy?.tagOwners ?? {
        "tag:k8s-operator": ["autogroup:admin"],
        "tag:k8s": ["tag:k8s-operator"],
      },
      autoApproverServices: opts.policy?.autoApproverServices ?? { "tag:k8s": ["tag:k8s"] },
    };
    this.tokenResponseValidator = spec.compileSupplement(OAUTH_TOKEN_RESPONSE_SCHEMA);
    this.exchangeResponseValidator = spec.compileSupplement(OAUTH_TOKEN_EXCHANGE_RESPONSE_SCHEMA);
    this.injector = new FaultInjector(injectorSpecs(opts.faults));
    this.routes = this.buildRoutes();
    for (const d of opts.sharedInDevices ?? [HELLO_DEVICE]) this.shareIn(d);
  }

  /** Adds a shared-in device (see SharedInDevice). */
  shareIn(o: SharedInDevice): DeviceRecord {
    const nodeId = `n${rand(10)}CNTRL`;
    const d: DeviceRecord = {
      id: String(this.nextLegacyId++),
      nodeId,
      hostname: o.hostname,
      name: o.name,
      addresses: [...o.addresses],
      tags: [],
      user: o.user,
      authorized: true,
      isEphemeral: false,
      // The real API may send "" for shared-in devices (GO2 testdata/devices.json), which the document's own
      // date-time format forbids; the fake sends a date so its responses stay valid.
      created: this.iso(),
      nodeKey: `nodekey:${hex(32)}`,
      machineKey: `mkey:${hex(32)}`,
      keyId: "",
      connectedToControl: true,
      advertisedServices: [],
      isExternal: true,
    };
    this.deviceStore.set(nodeId, d);
    return structuredClone(d);
  }

  now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  iso(ms = this.now()): string {
    return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
  }

  // ---------------------------------------------------------------- lifecycle

  async listen(): Promise<void> {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((err) => {
        if (!res.headersSent) {
          res.writeHead(500, { "Content-Type": "application/json" });
          res.end(JSON.stringify({ message: `internal error in the fake: ${String(err?.message ?? err)}` }));
        }
      });
    });
    this.server.on("connection", (s) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    const port = (this.server.address() as AddressInfo).port;
    this.url = `http://127.0.0.1:${port}`;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  api(): TailscaleApiServer {
    return {
      url: this.url,
      tailnetId: this.tailnetId,
      tailnetDomain: this.tailnetDomain,
      createOAuthClient: (o) => this.createOAuthClient(o.scopes, o.tags),
      deleteOAuthClient: (clientId) => {
        const client = this.keyStore.get(clientId);
        if (client?.keyType !== "client") throw new Error(`no OAuth client ${clientId}`);
        client.revoked = this.iso();
        client.valid = false;
      },
      publishIssuerKeys: (issuer, jwks) => {
        this.issuerKeys.set(issuer, structuredClone(jwks));
      },
      createFederatedIdentity: (o) => this.createFederatedIdentity(o),
      deleteFederatedIdentity: (clientId) => {
        const k = this.keyStore.get(clientId);
        if (k?.keyType !== "federated") throw new Error(`no federated identity ${clientId}`);
        k.revoked = this.iso();
        k.valid = false;
      },
      exchangeRefusals: this.exchangeRefusals,
      createApiKey: () => this.createApiKey(),
      createAuthKey: (o = {}) => {
        const k = this.mintAuthKey({
          reusable: o.reusable ?? false,
          ephemeral: o.ephemeral ?? false,
          preauthorized: o.preauthorized ?? true,
          tags: o.tags ?? [],
          expirySeconds: o.expirySeconds ?? MAX_AUTH_KEY_EXPIRY_S,
          description: "",
          userId: this.adminUserId,
        });
        return { id: k.id, key: k.secret };
      },
      setPolicy: (p) => {
        if (p.tagOwners) this.policy.tagOwners = p.tagOwners;
        if (p.autoApproverServices) this.policy.autoApproverServices = p.autoApproverServices;
      },
      setHttpsEnabled: (v) => {
        this.httpsEnabled = v;
      },
      devices: () =>
        [...this.deviceStore.values()].filter((d) => !d.isExternal).map((d) => structuredClone(d)),
      sharedInDevices: () =>
        [...this.deviceStore.values()].filter((d) => d.isExternal).map((d) => structuredClone(d)),
      shareIn: (d) => this.shareIn(d),
      keys: () => [...this.keyStore.values()].map((k) => this.keyRecord(k)),
      services: () => [...this.serviceStore.values()].map((s) => this.serviceRecord(s)),
      validAuthKeys: () =>
        [...this.keyStore.values()]
          .map((k) => this.keyRecord(k))
          .filter((k) => k.keyType === "auth" && k.valid),
      deleteDeviceOutOfBand: (nodeId) => {
        const d = this.findDevice(nodeId);
        if (!d) throw new Error(`deleteDeviceOutOfBand: no device ${nodeId}`);
        this.deviceStore.delete(d.nodeId);
      },
      advanceTime: (ms) => {
        this.clockOffsetMs += ms;
      },
      requests: this.requests,
      controlRequests: this.controlRequests,
      onChange: (fn) => {
        this.changeListeners.add(fn);
        return () => this.changeListeners.delete(fn);
      },
      counts: () => {
        const byRoute: Record<string, number> = {};
        for (const r of this.requests) {
          const k = `${r.method} ${r.route}`;
          byRoute[k] = (byRoute[k] ?? 0) + 1;
        }
        return { total: this.requests.length, byRoute };
      },
      resetCounts: () => {
        this.requests.length = 0;
      },
      schemaViolations: this.schemaViolations,
      injectFault: (f) => {
        if (!(f.status === 429 || (f.status >= 500 && f.status <= 599) || f.reset)) {
          throw new Error(`injectFault: status must be 429 or 5xx, got ${f.status}`);
        }
        this.faults.push({ ...f, remaining: f.times ?? 1 });
      },
      clearFaults: () => {
        this.faults.length = 0;
      },
      setFaults: (specs) => {
        this.injector.set(injectorSpecs(specs));
      },
      faultCounts: () => {
        const c = this.injector.counts;
        return Object.fromEntries(TAILSCALE_FAULT_KINDS.map((k) => [k, c[k]])) as Record<
          TailscaleFaultKind,
          number
        >;
      },
      injectedFaults: () =>
        this.injector.log.map(
          (f): InjectedTailscaleFault => ({
            method: f.method,
            path: f.path,
            route: f.route ?? "<unmatched>",
            kind: f.kind as TailscaleFaultKind,
            status: f.status,
          }),
        ),
      setLatency: (ms) => {
        this.latencyMs = ms;
      },
      stop: () => this.stop(),
    };
  }

  // ---------------------------------------------------------------- credentials

  createApiKey(): string {
    const id = `k${rand(10)}CNTRL`;
    const secret = `tskey-api-${id}-${rand(30)}`;
    this.credentials.set(secret, {
      caller: { kind: "user", userId: this.adminUserId, loginName: ADMIN_LOGIN, keyId: id },
    });
    return secret;
  }

  createOAuthClient(scopes: string[], tags: string[], userId = this.adminUserId, description = "") {
    const id = `k${rand(10)}CNTRL`;
    const secret = `tskey-client-${id}-${rand(30)}`;
    const created = this.iso();
    this.keyStore.set(id, {
      id,
      secret,
      keyType: "client",
      created,
      reusable: false,
      ephemeral: false,
      preauthorized: false,
      tags: [...tags],
      scopes: [...scopes],
      description,
      userId,
      uses: 0,
      valid: true,
    });
    return { clientId: id, clientSecret: secret };
  }

  /**
   * A federated identity, as an admin creates one (KB 1581; SPEC `createKey` with `keyType: "federated"`):
   * the issuer must be an https:// URL whose keys were published, the subject a pattern; without an
   * audience the fake generates one, as Tailscale does ("a secure audience", SPEC `Key.audience`; its
   * real format is not documented).
   */
  createFederatedIdentity(o: FederatedIdentityOptions): { clientId: string; audience: string } {
    let issuerUrl: URL | undefined;
    try {
      issuerUrl = new URL(o.issuer);
    } catch {
      issuerUrl = undefined;
    }
    if (issuerUrl?.protocol !== "https:") throw new Error(`issuer ${o.issuer} must be an https:// URL`);
    if (!this.issuerKeys.has(o.issuer)) {
      throw new Error(`issuer ${o.issuer} is not reachable: publishIssuerKeys(issuer, jwks) first`);
    }
    if (o.scopes.length === 0) throw new Error("a federated identity needs at least one scope");
    if (!o.subject) throw new Error("a federated identity needs a subject pattern");
    const id = `k${rand(10)}CNTRL`;
    const audience = o.audience ?? `api.tailscale.com/${id}/${hex(8)}`;
    this.keyStore.set(id, {
      id,
      secret: "",
      keyType: "federated",
      created: this.iso(),
      reusable: false,
      ephemeral: false,
      preauthorized: false,
      tags: [...o.tags],
      scopes: [...o.scopes],
      description: o.description ?? "",
      userId: this.adminUserId,
      uses: 0,
      valid: true,
      issuer: o.issuer,
      subject: o.subject,
      audience,
      customClaimRules: { ...(o.customClaimRules ?? {}) },
    });
    return { clientId: id, audience };
  }

  private authenticate(headers: http.IncomingHttpHeaders): Caller {
    const h = headers.authorization;
    if (!h) throw new ApiError(401, "API token required: send 'Authorization: Bearer <token>'");
    let token: string | undefined;
    const [scheme, value] = h.split(/\s+/, 2);
    if (scheme?.toLowerCase() === "bearer") token = value;
    else if (scheme?.toLowerCase() === "basic" && value) {
      const decoded = Buffer.from(value, "base64").toString("utf8");
      token = decoded.split(":")[0];
    }
    const cred = token ? this.credentials.get(token) : undefined;
    if (!cred) throw new ApiError(401, "API token invalid");
    if (cred.expiresAt !== undefined && cred.expiresAt <= this.now()) {
      throw new ApiError(401, "API token expired: request a new access token from /api/v2/oauth/token");
    }
    if (cred.caller.kind === "oauth") {
      const client = this.keyStore.get(cred.caller.clientId);
      if (!client || client.revoked)
        throw new ApiError(401, "API token invalid: its trust credential was deleted");
    }
    return cred.caller;
  }

  private requireScopes(caller: Caller, scopes: string[], what: string): void {
    if (caller.kind === "user") return;
    for (const s of scopes) {
      if (!caller.scopes.some((g) => scopeGrants(g, s))) {
        throw new ApiError(403, `calling OAuth client lacks scope "${s}" required for ${what}`);
      }
    }
  }

  private hasScope(caller: Caller, scope: string): boolean {
    return caller.kind === "user" || caller.scopes.some((g) => scopeGrants(g, scope));
  }

  private resolveTailnet(t: string): void {
    if (t !== "-" && t !== this.tailnetId) throw new ApiError(404, "tailnet not found");
  }

  // ---------------------------------------------------------------- keys

  private keyRecord(k: KeyState): KeyRecord {
    const { secret: _secret, ...rest } = k;
    const rec: KeyRecord = structuredClone(rest);
    rec.valid = true;
    delete rec.invalidReason;
    if (k.revoked) {
      rec.valid = false;
      rec.invalidReason = "revoked";
    } else if (k.expires && Date.parse(k.expires) <= this.now()) {
      rec.valid = false;
      rec.invalidReason = "expired";
    } else if (k.keyType === "auth" && !k.reusable && k.uses > 0) {
      rec.valid = false;
      rec.invalidReason = "spent";
    }
    return rec;
  }

  private mintAuthKey(o: {
    reusable: boolean;
    ephemeral: boolean;
    preauthorized: boolean;
    tags: string[];
    expirySeconds: number;
    description: string;
    userId: string;
  }): KeyState {
    const id = `k${rand(10)}CNTRL`;
    const created = this.now();
    const k: KeyState = {
      id,
      secret: `tskey-auth-${id}-${rand(30)}`,
      keyType: "auth",
      created: this.iso(created),
      expires: this.iso(created + o.expirySeconds * 1000),
      expirySeconds: o.expirySeconds,
      reusable: o.reusable,
      ephemeral: o.ephemeral,
      preauthorized: o.preauthorized,
      tags: [...o.tags],
      scopes: [],
      description: o.description,
      userId: o.userId,
      uses: 0,
      valid: true,
    };
    this.keyStore.set(id, k);
    return k;
  }

  private renderKey(k: KeyState, withSecret: boolean): Json {
    const rec = this.keyRecord(k);
    const out: Json = {
      id: k.id,
      keyType: k.keyType,
      created: k.created,
      updated: k.revoked ?? k.created,
      description: k.description,
      invalid: !rec.valid,
      userId: k.userId,
    };
    if (withSecret) out.key = k.secret;
    if (k.revoked) out.revoked = k.revoked;
    if (k.keyType === "auth") {
      out.expirySeconds = k.expirySeconds;
      out.expires = k.expires;
      out.capabilities = {
        devices: {
          create: {
            reusable: k.reusable,
            ephemeral: k.ephemeral,
            preauthorized: k.preauthorized,
            tags: k.tags,
          },
        },
      };
    } else {
      out.scopes = k.scopes;
      out.tags = k.tags;
    }
    if (k.keyType === "federated") {
      out.issuer = k.issuer;
      out.subject = k.subject;
      out.audience = k.audience;
      out.customClaimRules = k.customClaimRules;
    }
    return out;
  }

  /**
   * Whether `caller` may put `tags` on a device (`POST /device/{id}/tags`, which the product never calls):
   * each tag one of an OAuth client's own tags or owned by them in `tagOwners`, else 403 (the status of this
   * refusal is unconfirmed; key minting's is 400, see checkKeyTags); for a user, a tag listed in `tagOwners`,
   * else the API's 400.
   */
  private checkTagAllowed(caller: Caller, tags: string[]): void {
    this.checkTagSyntax(tags);
    for (const t of tags) {
      if (caller.kind === "oauth") {
        if (caller.tags.includes(t) || this.ownedByClient(caller, t)) continue;
        throw new ApiError(
          403,
          `requested tag "${t}" is not permitted: it is neither one of the OAuth client's tags ` +
            `(${caller.tags.join(", ") || "none"}) nor owned by them in the policy's tagOwners`,
        );
      }
    }
    const refused = caller.kind === "oauth" ? [] : tags.filter((t) => !(t in this.policy.tagOwners));
    if (refused.length > 0) throw tagsRefused(refused);
  }

  /**
   * Whether `caller` may mint an auth key with `tags`. For an OAuth client the set must be exactly the
   * client's tags, or consist of tags owned by the client's tags (SPEC `KeyCapabilities.devices.create.tags`,
   * KB 1215); a subset of a multi-tag client's own tags is refused (3p reports: frankbria/auto-author#490,
   * tailscale/github-action#114). A mix of own and owned tags is unconfirmed and refused here, stricter. Users: every tag must be in
   * `tagOwners`. The refusal is the real 400 `requested tags [...] are invalid or not permitted`.
   */
  private checkKeyTags(caller: Caller, tags: string[]): void {
    if (caller.kind !== "oauth") {
      this.checkTagAllowed(caller, tags);
      return;
    }
    this.checkTagSyntax(tags);
    const wanted = new Set(tags);
    const exact = wanted.size === caller.tags.length && caller.tags.every((t) => wanted.has(t));
    if (exact) return;
    const refused = tags.filter((t) => !this.ownedByClient(caller, t));
    if (refused.length > 0) throw tagsRefused(refused);
  }

  private checkTagSyntax(tags: string[]): void {
    for (const t of tags) {
      const problem = tagProblem(t);
      if (problem) throw new ApiError(400, `invalid tag "${t}": ${problem}`);
    }
  }

  /** Whether `tag` is owned, in `tagOwners`, by one of the OAuth client's tags. */
  private ownedByClient(caller: Caller & { kind: "oauth" }, tag: string): boolean {
    return (this.policy.tagOwners[tag] ?? []).some((o) => caller.tags.includes(o));
  }

  private createKey(ctx: Ctx): Handled {
    const caller = ctx.caller!;
    const b = ctx.body ?? {};
    const keyType = b.keyType ?? "auth";
    if (b.description !== undefined && !/^[A-Za-z0-9 -]{0,50}$/.test(b.description)) {
      throw new ApiError(
        400,
        "description must be at most 50 characters of letters, digits, hyphens and spaces",
      );
    }
    if (keyType === "federated") {
      throw new ApiError(400, "keyType federated is not supported by this fake Tailscale API");
    }
    if (keyType === "client") {
      this.requireScopes(caller, ["oauth_keys"], "creating OAuth clients");
      const scopes: string[] = b.scopes ?? [];
      const tags: string[] = b.tags ?? [];
      if (scopes.length === 0) throw new ApiError(400, "at least one scope is required for OAuth clients");
      if (
        scopes.some((s) => s.startsWith("devices:core") || s.startsWith("auth_keys")) &&
        tags.length === 0
      ) {
        throw new ApiError(400, "tags are required for OAuth clients with scope devices:core or auth_keys");
      }
      const { clientId } = this.createOAuthClient(
        scopes,
        tags,
        caller.kind === "user" ? caller.userId : "",
        b.description ?? "",
      );
      return { status: 200, body: this.renderKey(this.keyStore.get(clientId)!, true) };
    }
    this.requireScopes(caller, ["auth_keys"], "creating auth keys");
    const create = b.capabilities?.devices?.create;
    if (!b.capabilities?.devices) {
      throw new ApiError(400, "auth keys need a capabilities.devices object (it may be empty)");
    }
    const expirySeconds: number = b.expirySeconds || MAX_AUTH_KEY_EXPIRY_S;
    if (expirySeconds < 0 || expirySeconds > MAX_AUTH_KEY_EXPIRY_S) {
      throw new ApiError(400, `expirySeconds must be between 1 and ${MAX_AUTH_KEY_EXPIRY_S} (90 days)`);
    }
    const tags: string[] = create?.tags ?? [];
    if (caller.kind === "oauth" && tags.length === 0) {
      throw new ApiError(400, "auth keys created by an OAuth client must have tags");
    }
    this.checkKeyTags(caller, tags);
    const k = this.mintAuthKey({
      reusable: Boolean(create?.reusable),
      ephemeral: Boolean(create?.ephemeral),
      preauthorized: Boolean(create?.preauthorized),
      tags,
      expirySeconds,
      description: b.description ?? "",
      userId: caller.kind === "user" ? caller.userId : "",
    });
    return { status: 200, body: this.renderKey(k, true) };
  }

  /**
   * The key `id` as `GET`/`DELETE /keys/{id}` see it: revoked and expired keys answer with `invalid: true`
   * (SPEC `getKey`), but a spent single-use key may be gone, 404 (Terraform's provider ignores that 404
   * because "Single-use keys may no longer be here", `tailscale/terraform-provider-tailscale@0a85227d
   * tailscale/resource_tailnet_key.go:209-213`). The fake always answers
   * 404 for it, the stricter of the two.
   */
  private presentKey(id: string): KeyState {
    const k = this.keyStore.get(id);
    if (!k || this.keyRecord(k).invalidReason === "spent") throw new ApiError(404, "key not found");
    return k;
  }

  private visibleKey(caller: Caller, k: KeyState): boolean {
    if (caller.kind === "user") return true;
    // Every credential may read the key it is using (KB 1623).
    if (k.id === caller.keyId || k.id === caller.clientId) return true;
    return this.hasScope(caller, keyScope(k.keyType, true));
  }

  // ---------------------------------------------------------------- devices

  findDevice(idOrNodeId: string): DeviceRecord | undefined {
    return (
      this.deviceStore.get(idOrNodeId) ?? [...this.deviceStore.values()].find((d) => d.id === idOrNodeId)
    );
  }

  private renderDevice(d: DeviceRecord, fields: string | null): Json {
    const tagged = d.tags.length > 0;
    const full: Json = {
      addresses: d.addresses,
      id: d.id,
      nodeId: d.nodeId,
      user: d.user,
      name: d.name,
      hostname: d.hostname,
      clientVersion: CLIENT_VERSION,
      updateAvailable: false,
      os: "linux",
      created: d.created,
      connectedToControl: d.connectedToControl,
      keyExpiryDisabled: tagged,
      expires: tagged ? "0001-01-01T00:00:00Z" : this.iso(Date.parse(d.created) + 180 * DAY_S * 1000),
      authorized: d.authorized,
      isExternal: d.isExternal ?? false,
      machineKey: d.machineKey,
      nodeKey: d.nodeKey,
      blocksIncomingConnections: false,
      tailnetLockKey: `nlpub:${createHash("sha256").update(d.nodeKey).digest("hex")}`,
      tailnetLockError: "",
      tags: d.tags,
      isEphemeral: d.isEphemeral,
      enabledRoutes: [],
      advertisedRoutes: [],
      clientConnectivity: {
        endpoints: [],
        mappingVariesByDestIP: false,
        latency: {},
        clientSupports: { hairPinning: null, ipv6: false, pcp: false, pmp: false, udp: true, upnp: false },
      },
      sshEnabled: false,
      postureIdentity: { disabled: true },
      distro: { name: "alpine", version: "3.22.1", codeName: "" },
      multipleConnections: false,
    };
    if (!d.connectedToControl && d.lastSeen) full.lastSeen = d.lastSeen;
    if (fields === "all") return full;
    const out: Json = {};
    for (const f of DEFAULT_DEVICE_FIELDS) if (f in full) out[f] = full[f];
    return out;
  }

  private listDevices(ctx: Ctx): Handled {
    const fields = ctx.query.get("fields");
    const filters = new Map<string, string[]>();
    for (const [k, v] of ctx.query) {
      if (k === "fields") continue;
      filters.set(k, [...(filters.get(k) ?? []), v]);
    }
    const schemaProps = this.spec.doc.components.schemas.Device.properties as Record<string, Json>;
    for (const field of filters.keys()) {
      const prop = schemaProps[field];
      if (!prop || prop.type === "object") {
        throw new ApiError(400, `unsupported device filter "${field}": use a top-level simple or list field`);
      }
    }
    const devices = [...this.deviceStore.values()].filter((d) => {
      const full = this.renderDevice(d, "all");
      for (const [field, values] of filters) {
        const actual = full[field];
        if (Array.isArray(actual)) {
          if (!values.every((v) => actual.map(String).includes(v))) return false;
        } else if (actual === undefined || !values.every((v) => String(actual) === v)) return false;
      }
      return true;
    });
    return { status: 200, body: { devices: devices.map((d) => this.renderDevice(d, fields)) } };
  }

  /**
   * Whether a machine name is held in this tailnet. Shared-in devices do not hold one: they are not members
   * (SPEC `Device.isExternal`), their MagicDNS name lives under their own tailnet's domain, and clients key
   * MagicDNS records by the full name (`tailscale/tailscale@de9ec7ee ipn/ipnlocal/node_backend.go:1509-1523`),
   * so `hello.ts.net` and `hello.<this tailnet>` do not collide. Control's own rule is
   * unpublished. A Tailscale Service name does hold one here (unconfirmed, stricter).
   */
  private machineNameTaken(label: string, exceptNodeId?: string): boolean {
    for (const d of this.deviceStore.values())
      if (!d.isExternal && d.nodeId !== exceptNodeId && deviceLabel(d) === label) return true;
    for (const s of this.serviceStore.values()) if (s.name.slice(4) === label) return true;
    return false;
  }

  private allocDeviceAddrs(): string[] {
    const n = this.nextDeviceNum++;
    // Devices take 100.64.0.0–100.99.255.255; services are allocated from 100.100.0.0/16.
    const v4 = `100.${64 + Math.floor(n / 65024)}.${Math.floor((n % 65024) / 254)}.${(n % 254) + 1}`;
    const v6 = `fd7a:115c:a1e0::d:${n.toString(16)}`;
    return [v4, v6];
  }

  // ---------------------------------------------------------------- services

  private serviceRecord(s: ServiceState): ServiceRecord {
    const { manualApprovals: _m, ...rest } = s;
    return structuredClone(rest);
  }

  private renderService(s: ServiceState): Json {
    const out: Json = { name: s.name, addrs: s.addrs, comment: s.comment, ports: s.ports, tags: s.tags };
    if (Object.keys(s.annotations).length > 0) out.annotations = s.annotations;
    return out;
  }

  private serviceNameProblem(name: string): string | undefined {
    if (!name.startsWith("svc:")) return `service name "${name}" must have the form svc:<dns-label>`;
    const label = name.slice(4);
    if (!DNS_LABEL.test(label)) {
      return `service name "${name}": "${label}" is not a valid DNS label (lowercase letters, digits and hyphens, 1-63 characters, starting and ending with a letter or digit)`;
    }
    return undefined;
  }

  private getServiceOr404(name: string): ServiceState {
    const s = this.serviceStore.get(name);
    if (!s) throw new ApiError(404, "service not found");
    return s;
  }

  private allocServiceAddrs(requestedV4?: string): string[] {
    const used = new Set<string>();
    for (const s of this.serviceStore.values()) used.add(s.addrs[0]!);
    for (const d of this.deviceStore.values()) used.add(d.addresses[0]!);
    let v4 = requestedV4;
    if (v4 === undefined) {
      do {
        const n = this.nextServiceNum++;
        v4 = `100.100.${Math.floor(n / 254) % 256}.${(n % 254) + 1}`;
      } while (used.has(v4));
    }
    const v6 = `fd7a:115c:a1e0::5:${(this.nextServiceNum++).toString(16)}`;
    return [v4, v6];
  }

  private putService(ctx: Ctx): Handled {
    const pathName = ctx.params["serviceName"]!;
    const b = ctx.body ?? {};
    const problem = this.serviceNameProblem(pathName);
    if (problem) throw new ApiError(400, problem);
    const newName: string = b.name ?? pathName;
    const nameProblem = this.serviceNameProblem(newName);
    if (nameProblem) throw new ApiError(400, nameProblem);
    const ports: string[] = b.ports ?? [];
    for (const p of ports) {
      const m = /^tcp:(\d{1,5})$/.exec(p);
      if (p !== "do-not-validate" && !(m && Number(m[1]) >= 1 && Number(m[1]) <= 65535)) {
        throw new ApiError(400, `invalid port "${p}": ports must be "tcp:<port>" or "do-not-validate"`);
      }
    }
    const tags: string[] = b.tags ?? [];
    for (const t of tags) {
      const tp = tagProblem(t);
      if (tp) throw new ApiError(400, `invalid tag "${t}": ${tp}`);
    }
    const annotations: Record<string, string> = b.annotations ?? {};
    const addrs: string[] | undefined = b.addrs;
    const existing = this.serviceStore.get(pathName);
    if (!existing) {
      if (newName !== pathName) {
        throw new ApiError(
          400,
          `creating a Service: name in body "${newName}" must match the path "${pathName}"`,
        );
      }
      if (this.machineNameTaken(pathName.slice(4))) {
        throw new ApiError(400, `service name "${pathName}" is already in use by a machine in this tailnet`);
      }
      if (addrs && addrs.length > 1) {
        throw new ApiError(
          400,
          "an IPv6 address cannot be specified when creating a Service; send at most one IPv4",
        );
      }
      let requested: string | undefined;
      if (addrs && addrs.length === 1) {
        requested = addrs[0];
        if (!isCgnatV4(requested!))
          throw new ApiError(400, `requested address "${requested}" is not in 100.64.0.0/10`);
        if (this.addrInUse(requested!))
          throw new ApiError(400, `requested address "${requested}" is already in use`);
      }
      const s: ServiceState = {
        name: pathName,
        addrs: this.allocServiceAddrs(requested),
        comment: b.comment ?? "",
        ports,
        tags,
        annotations,
        manualApprovals: new Map(),
      };
      this.serviceStore.set(pathName, s);
      return { status: 200, body: this.renderService(s) };
    }
    if (!addrs || addrs.length === 0) {
      throw new ApiError(
        400,
        `updating Service "${pathName}" without addrs: send the existing addresses (GET it first) so the allocated IPs are kept`,
      );
    }
    if (addrs.length !== 2) throw new ApiError(400, "updating a Service needs both addresses: [IPv4, IPv6]");
    if (addrs[1] !== existing.addrs[1]) {
      throw new ApiError(
        400,
        `the IPv6 address of Service "${pathName}" cannot be changed (is ${existing.addrs[1]})`,
      );
    }
    if (addrs[0] !== existing.addrs[0]) {
      if (!isCgnatV4(addrs[0]!))
        throw new ApiError(400, `requested address "${addrs[0]}" is not in 100.64.0.0/10`);
      if (this.addrInUse(addrs[0]!))
        throw new ApiError(400, `requested address "${addrs[0]}" is already in use`);
    }
    if (newName !== pathName) {
      if (this.serviceStore.has(newName))
        throw new ApiError(400, `cannot rename: Service "${newName}" already exists`);
      if (this.machineNameTaken(newName.slice(4))) {
        throw new ApiError(400, `service name "${newName}" is already in use by a machine in this tailnet`);
      }
      this.serviceStore.delete(pathName);
    }
    const s: ServiceState = {
      name: newName,
      addrs: [addrs[0]!, existing.addrs[1]!],
      comment: b.comment ?? "",
      ports,
      tags,
      annotations,
      manualApprovals: existing.manualApprovals,
    };
    this.serviceStore.set(newName, s);
    return { status: 200, body: this.renderService(s) };
  }

  private addrInUse(ip: string): boolean {
    for (const s of this.serviceStore.values()) if (s.addrs.includes(ip)) return true;
    for (const d of this.deviceStore.values()) if (d.addresses.includes(ip)) return true;
    return false;
  }

  /** `approved:auto`, `approved:manual` or `not-approved` for a host advertising a service. */
  approvalLevel(s: ServiceState, d: DeviceRecord): "approved:auto" | "approved:manual" | "not-approved" {
    if (this.autoApproved(s, d)) return "approved:auto";
    return s.manualApprovals.get(d.nodeId) ? "approved:manual" : "not-approved";
  }

  private autoApproved(s: ServiceState, d: DeviceRecord): boolean {
    for (const [selector, approvers] of Object.entries(this.policy.autoApproverServices)) {
      const matches =
        selector === "*" || selector === s.name || (selector.startsWith("tag:") && s.tags.includes(selector));
      if (matches && approvers.some((a) => d.tags.includes(a) || a === "*")) return true;
    }
    return false;
  }

  private certDomains(d: DeviceRecord): string[] {
    if (!this.httpsEnabled) return [];
    const out = [d.name];
    for (const name of d.advertisedServices) {
      const s = this.serviceStore.get(name);
      if (s && this.approvalLevel(s, d) !== "not-approved")
        out.push(`${name.slice(4)}.${this.tailnetDomain}`);
    }
    return out;
  }

  // ---------------------------------------------------------------- control plane (tailscaled side)

  private controlLogin(ctx: Ctx): Handled {
    const b = ctx.body ?? {};
    if (typeof b.authKey !== "string" || b.authKey === "") throw new ApiError(400, "authKey is required");
    if (typeof b.hostname !== "string" || b.hostname === "") throw new ApiError(400, "hostname is required");
    const k = [...this.keyStore.values()].find((x) => x.keyType === "auth" && x.secret === b.authKey);
    if (!k) throw new ApiError(401, "invalid key: unable to validate API key");
    const rec = this.keyRecord(k);
    if (!rec.valid) {
      const why = {
        revoked: "key has been revoked",
        expired: "key has expired",
        spent: "key has already been used",
      }[rec.invalidReason!];
      throw new ApiError(401, `invalid key: ${why}`);
    }
    k.uses++;
    const existing =
      typeof b.nodeKey === "string"
        ? [...this.deviceStore.values()].find((d) => d.nodeKey === b.nodeKey)
        : undefined;
    const user = k.tags.length > 0 ? TAGGED_DEVICES_USER : ADMIN_LOGIN;
    if (existing) {
      existing.tags = [...k.tags];
      existing.user = user;
      existing.keyId = k.id;
      existing.authorized = existing.authorized || k.preauthorized;
      existing.connectedToControl = true;
      return { status: 200, body: this.controlDeviceView(existing) };
    }
    const base = sanitizeHostname(b.hostname) || "localhost";
    let label = base;
    for (let i = 1; this.machineNameTaken(label); i++) label = `${base}-${i}`;
    const nodeId = `n${rand(10)}CNTRL`;
    const d: DeviceRecord = {
      id: String(this.nextLegacyId++),
      nodeId,
      hostname: b.hostname,
      name: `${label}.${this.tailnetDomain}`,
      addresses: this.allocDeviceAddrs(),
      tags: [...k.tags],
      user,
      authorized: k.preauthorized,
      isEphemeral: k.ephemeral,
      created: this.iso(),
      nodeKey: typeof b.nodeKey === "string" ? b.nodeKey : `nodekey:${hex(32)}`,
      machineKey: `mkey:${hex(32)}`,
      keyId: k.id,
      connectedToControl: true,
      advertisedServices: [],
    };
    this.deviceStore.set(nodeId, d);
    return { status: 200, body: this.controlDeviceView(d) };
  }

  private controlDeviceView(d: DeviceRecord): Json {
    return {
      nodeId: d.nodeId,
      id: d.id,
      name: d.name,
      hostname: d.hostname,
      addresses: d.addresses,
      tags: d.tags,
      user: d.user,
      authorized: d.authorized,
      nodeKey: d.nodeKey,
      certDomains: this.certDomains(d),
    };
  }

  private controlDevice(ctx: Ctx): DeviceRecord {
    const d = this.deviceStore.get(ctx.params["nodeId"]!);
    if (!d) {
      throw new ApiError(
        404,
        `node ${ctx.params["nodeId"]} not found: it was deleted from the tailnet; log in again`,
      );
    }
    return d;
  }

  // ---------------------------------------------------------------- routes

  private buildRoutes(): Route[] {
    const r: Route[] = [];
    const api = (
      method: string,
      specPath: string,
      scopes: string[],
      handler: Route["handler"],
      template = specPath,
    ): void => {
      r.push({
        method,
        template: `/api/v2${template}`,
        spec: { path: specPath, method: method.toLowerCase() },
        scopes,
        auth: true,
        handler,
      });
    };
    const control = (method: string, template: string, handler: Route["handler"]): void => {
      r.push({ method, template: `/_control${template}`, auth: false, handler });
    };

    r.push({
      method: "POST",
      template: `/api/v2${SPEC_SUPPLEMENTS.oauthTokenPath}`,
      auth: false,
      handler: (ctx) => this.oauthToken(ctx),
    });
    r.push({
      method: "POST",
      template: `/api/v2${SPEC_SUPPLEMENTS.tokenExchangePath}`,
      auth: false,
      handler: (ctx) => this.tokenExchange(ctx),
    });

    api("GET", "/tailnet/{tailnet}/keys", [], (ctx) => {
      const caller = ctx.caller!;
      if (!this.hasScope(caller, "auth_keys:read") && !this.hasScope(caller, "oauth_keys:read")) {
        this.requireScopes(caller, ["auth_keys:read"], "listing keys");
      }
      const all = ctx.query.get("all") === "true";
      const keys = [...this.keyStore.values()].filter((k) => {
        if (!this.keyRecord(k).valid) return false;
        if (caller.kind === "user") return all || k.userId === caller.userId;
        // Without `all`, an OAuth token lists "all OAuth clients for the tailnet", a federated identity's
        // token "all federated identities", and nothing else (SPEC listTailnetKeys); auth keys it minted are
        // listed only with `all=true`.
        if (!all && k.keyType !== caller.via) return false;
        return this.visibleKey(caller, k);
      });
      return { status: 200, body: { keys: keys.map((k) => this.renderKey(k, false)) } };
    });
    api("POST", "/tailnet/{tailnet}/keys", [], (ctx) => this.createKey(ctx));
    api("GET", "/tailnet/{tailnet}/keys/{keyId}", [], (ctx) => {
      const k = this.presentKey(ctx.params["keyId"]!);
      if (!this.visibleKey(ctx.caller!, k)) {
        this.requireScopes(ctx.caller!, [keyScope(k.keyType, true)], "reading keys");
      }
      return { status: 200, body: this.renderKey(k, false) };
    });
    api("DELETE", "/tailnet/{tailnet}/keys/{keyId}", [], (ctx) => {
      const k = this.presentKey(ctx.params["keyId"]!);
      this.requireScopes(ctx.caller!, [keyScope(k.keyType, false)], "deleting keys");
      k.revoked ??= this.iso();
      return { status: 200 };
    });

    api("GET", "/tailnet/{tailnet}/devices", ["devices:core:read"], (ctx) => this.listDevices(ctx));
    api("GET", "/device/{deviceId}", ["devices:core:read"], (ctx) => {
      const d = this.findDevice(ctx.params["deviceId"]!);
      if (!d) throw new ApiError(404, "device not found");
      return { status: 200, body: this.renderDevice(d, ctx.query.get("fields")) };
    });
    api("DELETE", "/device/{deviceId}", ["devices:core"], (ctx) => {
      const d = this.findDevice(ctx.params["deviceId"]!);
      if (!d) throw new ApiError(404, "device not found");
      // SPEC deleteDevice: 501 "Device not owned by tailnet."
      if (d.isExternal) throw new ApiError(501, "device not owned by tailnet: it is shared in");
      this.deviceStore.delete(d.nodeId);
      return { status: 200 };
    });
    api("POST", "/device/{deviceId}/tags", ["devices:core"], (ctx) => {
      const d = this.findDevice(ctx.params["deviceId"]!);
      if (!d) throw new ApiError(404, "device not found");
      const tags: string[] = ctx.body?.tags ?? [];
      this.checkTagAllowed(ctx.caller!, tags);
      d.tags = [...tags];
      d.user = tags.length > 0 ? TAGGED_DEVICES_USER : ADMIN_LOGIN;
      return { status: 200 };
    });

    const services = (prefix: string, specPrefix = "/tailnet/{tailnet}/services"): void => {
      api(
        "GET",
        specPrefix,
        ["services:read"],
        () => ({
          status: 200,
          body: { vipServices: [...this.serviceStore.values()].map((s) => this.renderService(s)) },
        }),
        prefix,
      );
      api(
        "GET",
        `${specPrefix}/{serviceName}`,
        ["services:read"],
        (ctx) => ({
          status: 200,
          body: this.renderService(this.getServiceOr404(ctx.params["serviceName"]!)),
        }),
        `${prefix}/{serviceName}`,
      );
      api(
        "PUT",
        `${specPrefix}/{serviceName}`,
        ["services"],
        (ctx) => this.putService(ctx),
        `${prefix}/{serviceName}`,
      );
      api(
        "DELETE",
        `${specPrefix}/{serviceName}`,
        ["services"],
        (ctx) => {
          const s = this.getServiceOr404(ctx.params["serviceName"]!);
          this.serviceStore.delete(s.name);
          return { status: 200 };
        },
        `${prefix}/{serviceName}`,
      );
    };
    services("/tailnet/{tailnet}/services");
    for (const a of SPEC_SUPPLEMENTS.pathAliases) {
      if (a.specPath === "/tailnet/{tailnet}/services") services(a.alias);
    }
    api("GET", "/tailnet/{tailnet}/services/{serviceName}/devices", ["services", "devices:core"], (ctx) => {
      const s = this.getServiceOr404(ctx.params["serviceName"]!);
      const hosts = [...this.deviceStore.values()]
        .filter((d) => d.advertisedServices.includes(s.name))
        .map((d) => ({
          stableNodeID: d.nodeId,
          approvalLevel: this.approvalLevel(s, d),
          configured: "ready",
        }));
      return { status: 200, body: { hosts } };
    });
    const approvalPath = "/tailnet/{tailnet}/services/{serviceName}/device/{deviceId}/approved";
    const approval = (ctx: Ctx) => {
      const s = this.getServiceOr404(ctx.params["serviceName"]!);
      const d = this.findDevice(ctx.params["deviceId"]!);
      if (!d) throw new ApiError(404, "device not found");
      return { s, d };
    };
    api("GET", approvalPath, ["services", "devices:core"], (ctx) => {
      const { s, d } = approval(ctx);
      const level = this.approvalLevel(s, d);
      return {
        status: 200,
        body: { approved: level !== "not-approved", autoApproved: level === "approved:auto" },
      };
    });
    api("POST", approvalPath, ["services", "devices:core"], (ctx) => {
      const { s, d } = approval(ctx);
      s.manualApprovals.set(d.nodeId, Boolean(ctx.body?.approved));
      const level = this.approvalLevel(s, d);
      return {
        status: 200,
        body: { approved: level !== "not-approved", autoApproved: level === "approved:auto" },
      };
    });

    api("GET", "/tailnet/{tailnet}/settings", [], (ctx) => {
      if (!this.hasScope(ctx.caller!, "feature_settings:read")) {
        this.requireScopes(ctx.caller!, ["networking_settings:read"], "reading tailnet settings");
      }
      return {
        status: 200,
        body: {
          aclsExternallyManagedOn: false,
          devicesApprovalOn: false,
          devicesAutoUpdatesOn: false,
          devicesKeyDurationDays: 180,
          usersApprovalOn: false,
          usersRoleAllowedToJoinExternalTailnets: "member",
          networkFlowLoggingOn: false,
          regionalRoutingOn: false,
          postureIdentityCollectionOn: false,
          httpsEnabled: this.httpsEnabled,
        },
      };
    });

    control("POST", "/login", (ctx) => this.controlLogin(ctx));
    control("POST", "/devices/{nodeId}/relogin", (ctx) => {
      const d = this.controlDevice(ctx);
      if (typeof ctx.body?.nodeKey === "string" && ctx.body.nodeKey !== d.nodeKey) {
        throw new ApiError(401, "node key does not match the registered node; log in again");
      }
      d.connectedToControl = true;
      delete d.lastSeen;
      return { status: 200, body: this.controlDeviceView(d) };
    });
    control("POST", "/devices/{nodeId}/disconnect", (ctx) => {
      const d = this.controlDevice(ctx);
      d.connectedToControl = false;
      d.lastSeen = this.iso();
      d.advertisedServices = [];
      // Ephemeral nodes are removed once they go offline (kb/1111).
      if (d.isEphemeral) this.deviceStore.delete(d.nodeId);
      return { status: 200, body: {} };
    });
    control("POST", "/devices/{nodeId}/advertise", (ctx) => {
      const d = this.controlDevice(ctx);
      const list = ctx.body?.services;
      if (!Array.isArray(list) || list.some((x) => typeof x !== "string")) {
        throw new ApiError(400, "services must be an array of svc:<name> strings");
      }
      for (const name of list) {
        const p = this.serviceNameProblem(name);
        if (p) throw new ApiError(400, p);
      }
      d.advertisedServices = [...new Set<string>(list)];
      const states = d.advertisedServices.map((name) => {
        const s = this.serviceStore.get(name);
        return { name, exists: Boolean(s), approvalLevel: s ? this.approvalLevel(s, d) : "not-approved" };
      });
      return { status: 200, body: { services: states, certDomains: this.certDomains(d) } };
    });
    // What a client's netmap says about a MagicDNS name: a Tailscale Service (its ports, and the hosts
    // that advertise it with approval, online) or a device.
    control("GET", "/resolve/{name}", (ctx) => {
      const fqdn = ctx.params["name"]!.toLowerCase().replace(/\.$/, "");
      const suffix = `.${this.tailnetDomain}`;
      const label = fqdn.endsWith(suffix) ? fqdn.slice(0, -suffix.length) : undefined;
      const s = label ? this.serviceStore.get(`svc:${label}`) : undefined;
      if (s) {
        const hosts = [...this.deviceStore.values()]
          .filter(
            (d) =>
              d.connectedToControl &&
              d.advertisedServices.includes(s.name) &&
              this.approvalLevel(s, d) !== "not-approved",
          )
          .map((d) => d.nodeId)
          .sort();
        return { status: 200, body: { kind: "service", name: s.name, ports: s.ports, hosts } };
      }
      const d = [...this.deviceStore.values()].find((x) => x.name === fqdn);
      if (d)
        return {
          status: 200,
          body: { kind: "device", name: d.name, hosts: d.connectedToControl ? [d.nodeId] : [] },
        };
      throw new ApiError(404, `${fqdn} is not a name in the tailnet`);
    });
    control("GET", "/devices/{nodeId}/cert-domains", (ctx) => {
      const d = this.controlDevice(ctx);
      return { status: 200, body: { certDomains: this.certDomains(d) } };
    });
    control("GET", "/devices/{nodeId}", (ctx) => ({
      status: 200,
      body: this.controlDeviceView(this.controlDevice(ctx)),
    }));
    return r;
  }

  private oauthToken(ctx: Ctx): Handled {
    const ct = String(ctx.headers["content-type"] ?? "");
    if (!ct.startsWith("application/x-www-form-urlencoded")) {
      throw new ApiError(400, "the token request must be application/x-www-form-urlencoded");
    }
    const form = new URLSearchParams(ctx.rawBody);
    if (form.get("grant_type") !== "client_credentials") {
      throw new ApiError(400, 'grant_type must be "client_credentials"');
    }
    let secret = form.get("client_secret") ?? undefined;
    const auth = ctx.headers.authorization;
    if (auth?.toLowerCase().startsWith("basic ")) {
      const decoded = Buffer.from(auth.slice(6).trim(), "base64").toString("utf8");
      const i = decoded.indexOf(":");
      if (i >= 0) secret = decodeURIComponent(decoded.slice(i + 1).replace(/\+/g, " "));
    }
    // The secret alone identifies the client; tailscaled sends a dummy client_id.
    const client = [...this.keyStore.values()].find((k) => k.keyType === "client" && k.secret === secret);
    if (!secret || !client || client.revoked) throw new ApiError(401, "invalid client credentials");
    const requested = (form.get("scope") ?? "").split(/\s+/).filter(Boolean);
    // A scope the client lacks is a 403 (3p: adinhodovic/tailscale-exporter#34).
    const lacking = requested.filter((s) => !client.scopes.some((g) => scopeGrants(g, s)));
    if (lacking.length > 0) {
      throw new ApiError(403, `OAuth client cannot grant scopes "${lacking.join(" ")}"`);
    }
    const scopes = requested.length > 0 ? requested : client.scopes;
    const tokenId = `k${rand(10)}CNTRL`;
    const token = `tskey-api-${tokenId}-${rand(30)}`;
    this.credentials.set(token, {
      caller: {
        kind: "oauth",
        via: "client",
        clientId: client.id,
        scopes,
        tags: client.tags,
        keyId: tokenId,
      },
      expiresAt: this.now() + TOKEN_LIFETIME_S * 1000,
    });
    return {
      status: 200,
      body: {
        access_token: token,
        token_type: "Bearer",
        expires_in: TOKEN_LIFETIME_S,
        scope: scopes.join(" "),
        // The real response carries the client's tags (3p: the response pasted in tailscale/tailscale#15456).
        tags: [...client.tags],
      },
    };
  }

  /**
   * Workload identity federation: `client_id` and `jwt` form fields, no Authorization
   * (tailscale/tailscale-client-go-v2@4f50555a identityfederation.go:95-105; Tailscale's CLI also sends
   * `grant_type=authorization_code&code=`, tailscale/tailscale@de9ec7ee
   * feature/identityfederation/identityfederation.go:136-153, which is ignored). Tailscale checks the
   * signature with the issuer's published keys, the issuer, audience and expiry, and the claim rules (KB
   * 1581). Every refusal is the same `403 {"message":"Unauthorized"}` users report (tailscale/github-action#227);
   * the reason goes to `exchangeRefusals`. That an unknown or deleted client ID gets the same answer is
   * assumed (undocumented). The access token lasts an hour, as an OAuth client's (assumed).
   */
  private tokenExchange(ctx: Ctx): Handled {
    const ct = String(ctx.headers["content-type"] ?? "");
    if (!ct.startsWith("application/x-www-form-urlencoded")) {
      throw new ApiError(400, "the token exchange request must be application/x-www-form-urlencoded");
    }
    const form = new URLSearchParams(ctx.rawBody);
    const clientId = form.get("client_id") ?? "";
    const jwt = form.get("jwt") ?? "";
    if (clientId === "" || jwt === "") throw new ApiError(400, "client_id and jwt are required");
    const refuse = (why: string): ApiError => {
      this.exchangeRefusals.push(`${clientId}: ${why}`);
      return new ApiError(403, "Unauthorized");
    };
    const identity = this.keyStore.get(clientId);
    if (identity?.keyType !== "federated") throw refuse("no federated identity has this client ID");
    if (identity.revoked) throw refuse("the federated identity was deleted");
    const claims = this.verifiedClaims(jwt, identity.issuer!, refuse);
    const now = this.now() / 1000;
    if (claims.iss !== identity.issuer)
      throw refuse(`issuer ${JSON.stringify(claims.iss)} is not the trusted one`);
    const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!aud.includes(identity.audience)) {
      throw refuse(
        `audience ${JSON.stringify(claims.aud)} does not include ${JSON.stringify(identity.audience)}`,
      );
    }
    if (typeof claims.exp !== "number" || claims.exp <= now)
      throw refuse("the token has expired or has no exp");
    if (typeof claims.nbf === "number" && claims.nbf > now) throw refuse("the token is not valid yet (nbf)");
    if (typeof claims.sub !== "string" || !matchesPattern(identity.subject!, claims.sub)) {
      throw refuse(
        `subject ${JSON.stringify(claims.sub)} does not match ${JSON.stringify(identity.subject)}`,
      );
    }
    for (const [claim, pattern] of Object.entries(identity.customClaimRules ?? {})) {
      const v = claims[claim];
      if (!(typeof v === "string" || typeof v === "number" || typeof v === "boolean")) {
        throw refuse(`claim ${claim} is missing or not a scalar`);
      }
      if (!matchesPattern(pattern, String(v))) {
        throw refuse(`claim ${claim} ${JSON.stringify(v)} does not match ${JSON.stringify(pattern)}`);
      }
    }
    const tokenId = `k${rand(10)}CNTRL`;
    const token = `tskey-api-${tokenId}-${rand(30)}`;
    this.credentials.set(token, {
      caller: {
        kind: "oauth",
        via: "federated",
        clientId,
        scopes: [...identity.scopes],
        tags: [...identity.tags],
        keyId: tokenId,
      },
      expiresAt: this.now() + TOKEN_LIFETIME_S * 1000,
    });
    return {
      status: 200,
      body: {
        access_token: token,
        token_type: "Bearer",
        expires_in: TOKEN_LIFETIME_S,
        scope: identity.scopes.join(" "),
      },
    };
  }

  /** The claims of a JWT whose signature one of `issuer`'s published keys verifies (RS256 or ES256). */
  private verifiedClaims(
    jwt: string,
    issuer: string,
    refuse: (why: string) => ApiError,
  ): Record<string, Json> {
    const parts = jwt.split(".");
    if (parts.length !== 3) throw refuse("the token is not a JWT");
    let header: Json;
    let claims: Json;
    try {
      header = JSON.parse(Buffer.from(parts[0]!, "base64url").toString("utf8"));
      claims = JSON.parse(Buffer.from(parts[1]!, "base64url").toString("utf8"));
    } catch {
      throw refuse("the token's header or claims are not JSON");
    }
    const alg = JWT_ALGORITHMS[header?.alg];
    if (!alg) throw refuse(`signature algorithm ${JSON.stringify(header?.alg)} is not accepted`);
    const keys = (this.issuerKeys.get(issuer)?.keys ?? []).filter(
      (k) => header.kid === undefined || k.kid === header.kid,
    );
    const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
    const signature = Buffer.from(parts[2]!, "base64url");
    const ok = keys.some((jwk) => {
      try {
        const key = createPublicKey({ key: jwk as Json, format: "jwk" });
        return verify(alg.hash, signed, { key, dsaEncoding: alg.dsaEncoding }, signature);
      } catch {
        return false;
      }
    });
    if (!ok) throw refuse(`no published key of ${issuer} verifies the signature`);
    if (typeof claims !== "object" || claims === null) throw refuse("the token's claims are not an object");
    return claims;
  }

  // ---------------------------------------------------------------- request pipeline

  private match(
    method: string,
    path: string,
  ): { route?: Route; params: Record<string, string>; pathKnown: boolean } {
    const segs = path.split("/");
    let pathKnown = false;
    for (const route of this.routes) {
      const t = route.template.split("/");
      if (t.length !== segs.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < t.length; i++) {
        const ts = t[i]!;
        if (ts.startsWith("{") && ts.endsWith("}")) {
          if (segs[i] === "") {
            ok = false;
            break;
          }
          try {
            params[ts.slice(1, -1)] = decodeURIComponent(segs[i]!);
          } catch {
            ok = false;
            break;
          }
        } else if (ts !== segs[i]) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      pathKnown = true;
      if (route.method === method) return { route, params, pathKnown };
    }
    return { params: {}, pathKnown };
  }

  private takeFault(
    method: string,
    path: string,
    template?: string,
  ): (FaultSpec & { remaining: number }) | undefined {
    for (const f of this.faults) {
      if (f.remaining <= 0) continue;
      if (f.method && f.method.toUpperCase() !== method) continue;
      const hit =
        f.path instanceof RegExp
          ? f.path.test(path)
          : f.path === path || (template !== undefined && f.path === template);
      if (!hit) continue;
      f.remaining--;
      return f;
    }
    return undefined;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = (req.method ?? "GET").toUpperCase();
    const url = new URL(req.url ?? "/", "http://fake");
    const path = url.pathname;
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const rawBody = Buffer.concat(chunks).toString("utf8");
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));

    const { route, params, pathKnown } = this.match(method, path);
    const routeName = route?.template ?? "<unmatched>";
    // tailscaled's control traffic is not API usage: keep it out of the API request log and counts.
    const log = (status: number) =>
      (path.startsWith("/_control/") ? this.controlRequests : this.requests).push({
        method,
        path,
        status,
        route: routeName,
      });

    const fault = this.takeFault(method, path, route?.template);
    if (fault && !fault.after) {
      log(fault.reset ? 0 : fault.status);
      this.sendFault(res, fault);
      return;
    }
    // Seeded faults hit the public API only: tailscaled's control traffic is the simulator's.
    const seeded: FaultAction | undefined =
      fault || !path.startsWith("/api/v2/")
        ? undefined
        : this.injector.draw({ method, path, route: route?.template, user: undefined, watch: false });
    const logFault = (status: number) =>
      this.requests.push({
        method,
        path,
        status,
        route: routeName,
        fault: seeded!.kind as TailscaleFaultKind,
      });
    switch (seeded?.kind) {
      case "slow":
        await new Promise((r) => setTimeout(r, seeded.delayMs));
        break;
      case "429":
        logFault(429);
        this.sendFault(res, { path, status: 429, retryAfterSeconds: seeded.retryAfterSeconds });
        return;
      case "5xx":
        logFault(seeded.status);
        this.sendFault(res, { path, status: seeded.status, retryAfterSeconds: seeded.retryAfterSeconds });
        return;
      case "reset-before":
        logFault(0);
        res.socket?.destroy();
        return;
    }

    let result: Handled;
    if (!route) {
      if (pathKnown) {
        result = { status: 405, body: "Method Not Allowed\n" };
      } else {
        result = { status: 404, body: "404 page not found\n" };
      }
      log(result.status);
      res.writeHead(result.status, { "Content-Type": "text/plain; charset=utf-8" });
      res.end(result.body);
      return;
    }

    const op = route.spec ? this.spec.operation(route.spec.path, route.spec.method) : undefined;
    try {
      const ctx: Ctx = {
        method,
        path,
        params,
        query: url.searchParams,
        body: undefined,
        rawBody,
        headers: req.headers,
      };
      if (route.auth) ctx.caller = this.authenticate(req.headers);
      if (params["tailnet"] !== undefined) this.resolveTailnet(params["tailnet"]);
      if (route.template.startsWith("/_control") || op) {
        if (rawBody.trim() !== "" && !route.template.endsWith(SPEC_SUPPLEMENTS.oauthTokenPath)) {
          try {
            ctx.body = JSON.parse(rawBody);
          } catch {
            throw new ApiError(400, "request body is not valid JSON");
          }
        }
      }
      if (op) this.validateRequest(op, ctx);
      if (route.scopes && route.scopes.length > 0) {
        this.requireScopes(ctx.caller!, route.scopes, `${method} ${route.template}`);
      }
      result = await route.handler(ctx);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      result = { status: err.status, body: { message: err.message }, headers: err.headers };
    }
    if (method !== "GET") for (const fn of this.changeListeners) fn();

    if (fault?.after) {
      log(fault.reset ? 0 : fault.status);
      this.sendFault(res, fault);
      return;
    }
    if (seeded?.kind === "reset-after") {
      // The request was acted on (a key minted, a service written); the answer is lost.
      logFault(0);
      res.socket?.destroy();
      return;
    }
    this.checkResponse(method, route, op, result);
    log(result.status);
    const headers: Record<string, string> = { ...(result.headers ?? {}) };
    if (result.body !== undefined) headers["Content-Type"] = "application/json";
    res.writeHead(result.status, headers);
    res.end(result.body === undefined ? undefined : JSON.stringify(result.body));
  }

  private sendFault(res: http.ServerResponse, f: FaultSpec): void {
    if (f.reset) {
      res.socket?.destroy();
      return;
    }
    const headers: Record<string, string> = { "Content-Type": "application/json" };
    const retryAfter = f.retryAfterSeconds ?? (f.status === 429 ? 1 : undefined);
    if (retryAfter !== undefined) headers["Retry-After"] = String(retryAfter);
    const messages: Record<number, string> = {
      429: "too many requests",
      500: "internal server error",
      502: "bad gateway",
      503: "service unavailable",
      504: "request took too long to process, please try again later",
    };
    res.writeHead(f.status, headers);
    res.end(JSON.stringify({ message: messages[f.status] ?? "server error" }));
  }

  private validateRequest(op: SpecOperation, ctx: Ctx): void {
    for (const p of op.parameters) {
      if (p.in !== "query") continue;
      const raw = ctx.query.getAll(p.name);
      if (raw.length === 0) {
        if (p.required) throw new ApiError(400, `query parameter "${p.name}" is required`);
        continue;
      }
      let value: Json = raw[0];
      if (p.schema?.type === "boolean" && (value === "true" || value === "false")) value = value === "true";
      if (p.schema?.type === "integer" && /^-?\d+$/.test(value)) value = Number(value);
      if (!p.validate(value)) {
        throw new ApiError(400, `invalid query parameter: ${formatAjvErrors(p.validate, p.name)}`);
      }
    }
    if (ctx.body === undefined) {
      if (op.bodyRequired) throw new ApiError(400, "request body is required");
      return;
    }
    if (!op.validateBody) throw new ApiError(400, "this endpoint takes no request body");
    if (!op.validateBody(ctx.body)) {
      throw new ApiError(400, `invalid request body: ${formatAjvErrors(op.validateBody, "body")}`);
    }
  }

  private checkResponse(method: string, route: Route, op: SpecOperation | undefined, result: Handled): void {
    const where = `${method} ${route.template} -> ${result.status}`;
    let problem: string | undefined;
    if (route.template.endsWith(SPEC_SUPPLEMENTS.oauthTokenPath)) {
      const v = result.status === 200 ? this.tokenResponseValidator : this.spec.errorBody();
      if (!v(result.body)) problem = formatAjvErrors(v, "body");
    } else if (route.template.endsWith(SPEC_SUPPLEMENTS.tokenExchangePath)) {
      const v = result.status === 200 ? this.exchangeResponseValidator : this.spec.errorBody();
      if (!v(result.body)) problem = formatAjvErrors(v, "body");
    } else if (op) {
      const code = String(result.status);
      if (op.responses.has(code)) {
        const v = op.responses.get(code)!;
        if (v === null) {
          if (result.body !== undefined)
            problem = "the operation declares no body for this status, but one was sent";
        } else if (!v(result.body)) problem = formatAjvErrors(v, "body");
      } else if (result.status >= 400) {
        const v = this.spec.errorBody();
        if (!v(result.body)) problem = formatAjvErrors(v, "body");
      } else {
        problem = `status ${code} is not declared by ${op.operationId}`;
      }
    }
    if (problem) {
      this.schemaViolations.push(`${where}: ${problem}`);
      result.status = 500;
      result.body = {
        message: `the fake Tailscale API produced a response that violates the OpenAPI schema: ${problem}`,
      };
    }
  }
}
