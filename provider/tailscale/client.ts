/**
 * Tailscale API v2 client for the dynamic provider: OAuth client credentials or a federated identity's
 * identity token (exchanged for an API token, cached and refreshed before expiry, once more on a 401) or
 * an API key; auth keys, devices, Tailscale Services and tailnet settings. Built on Node's `fetch`; no
 * dependency.
 *
 * Workload identity federation: `POST /api/v2/oauth/token-exchange` with the form fields `client_id` (the
 * federated identity's ID) and `jwt` (the identity token), no Authorization, answered like the OAuth token
 * endpoint (tailscale/tailscale-client-go-v2@4f50555a identityfederation.go:80-132; Tailscale's CLI sends
 * the same, tailscale/tailscale@de9ec7ee feature/identityfederation/identityfederation.go:136-153).
 *
 * Retry policy (Tailscale publishes no rate limits, tailscale/tailscale#14328, and its Go client does
 * not retry, tailscale/tailscale-client-go-v2@4f50555a client.go:321-374, so the policy is ours):
 * - 429 is retried on every call, honouring Retry-After (seconds or HTTP-date), else with backoff;
 * - 500/502/503/504 and network errors (resets, timeouts) are retried for calls whose repeat is
 *   harmless: reads, deletes (a repeat of a delete whose answer was lost gets 404: already gone, which
 *   the delete methods report as success), and PUTs that carry the whole object;
 * - `createAuthKey` mints a new secret on every attempt, so a blind repeat would leave a valid,
 *   pre-authorised key nobody holds. Each attempt carries a unique marker in its description; after
 *   an ambiguous failure (no answer, 5xx) the client lists the tailnet's keys, revokes the one that
 *   attempt may have minted, and only then mints again. 429, and 503 carrying Retry-After, mean the
 *   server did not act and are repeated directly;
 * - `putService` without `addrs` (a create) cannot be repeated blindly after a lost answer: the
 *   repeat is an update without addresses, which the API refuses
 *   (tailscale/tailscale@de9ec7ee internal/client/tailscale/vip_service.go:90-93). It reads the service
 *   and repeats with the addresses it got, so they never change;
 * - the total time spent waiting is capped by `maxRetryWaitMs`.
 */
import { randomBytes } from "node:crypto";
import type { CredentialSource } from "../credentialSource";
import { backoffMs, parseRetryAfter } from "../retry";
import {
  type ErrorContext,
  hintFor,
  redactSecrets,
  TailscaleApiError,
  type TailscaleOperation,
} from "./errors";
import { pathEscape } from "./http";
import { checkIdentityToken, type IdentityClaims } from "./identityToken";
import type {
  CreateAuthKeyOptions,
  CreatedAuthKey,
  Device,
  Key,
  TailnetSettings,
  TailscaleService,
} from "./types";

/** Default API endpoint. */
export const DEFAULT_TAILSCALE_BASE_URL = "https://api.tailscale.com";

/**
 * How long one device list serves every hostname check of a client (see `sharedDeviceList`). The engine
 * starts the creates of an `up` together (up to 4 × CPUs at a time, pulumi/pulumi@a88168d8 pkg/cmd/pulumi/operations/up.go:69-90),
 * so their checks fall within seconds of each other; a device registered by someone else is seen after at
 * most this long, well under one proxy's start-up.
 */
export const DEVICE_LIST_MAX_AGE_MS = 15_000;

/** A federated identity's side of the exchange: `oauthClientId` is the federated identity's ID. */
export interface IdentityFederationOptions {
  /** Returns the identity token to exchange; called for every exchange (a token file may have been rotated). */
  identityToken: () => Promise<string>;
  /** Where the token comes from, as a user names it, for errors: `the file /var/run/… (TAILSCALE_IDENTITY_TOKEN)`. */
  origin: string;
  /** The audience the federated identity expects, checked against the token before it is sent. */
  audience?: { value: string; setting: string };
}

/**
 * Options of {@link TailscaleClient}. Give an OAuth client (id + secret), a federated identity (id +
 * `identityFederation`) or an API key.
 */
export interface TailscaleClientOptions {
  /** API origin, without `/api/v2`. Default `https://api.tailscale.com`. */
  baseUrl?: string;
  /** Tailnet ID or `-` (the credential's own tailnet, the default). */
  tailnet?: string;
  oauthClientId?: string;
  oauthClientSecret?: string;
  /** Workload identity federation instead of an OAuth client secret. */
  identityFederation?: IdentityFederationOptions;
  /** Scopes to request for the OAuth token; default: all scopes of the OAuth client. */
  oauthScopes?: string[];
  apiKey?: string;
  /**
   * Where the credentials were found (provider/credentials.ts), so a rejected credential's error says how
   * to rotate it: stack config is the copy recorded at the last `pulumi up`.
   */
  credentialSource?: CredentialSource;
  /** Route of Tailscale Services: `vip-services` (what Tailscale's Go clients use, default) or `services` (documented). */
  servicesPath?: "vip-services" | "services";
  userAgent?: string;
  /** Cap on the total time spent waiting between retries of one call. Default 60 000 ms. */
  maxRetryWaitMs?: number;
  /** Maximum attempts of one call (including the first). Default 6. */
  maxAttempts?: number;
  /** Per-request timeout. Default 30 000 ms. */
  requestTimeoutMs?: number;
  /** Initial backoff when no Retry-After is given. Default 500 ms. */
  initialBackoffMs?: number;
  /** Injection points for tests and benchmarks: transport, clock, sleep and jitter source. */
  fetch?: typeof globalThis.fetch;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/** Counters of what the client sent, for tests and the benchmark. */
export interface TailscaleClientStats {
  /** Every HTTP request, token requests included. */
  requests: number;
  /** Requests for an API token: OAuth client credentials or identity token exchanges. */
  tokenRequests: number;
  /** Requests repeated after 429/5xx/network errors. */
  retries: number;
  /** Token refreshes forced by a 401. */
  refreshesOn401: number;
}

interface CallOptions {
  operation: TailscaleOperation;
  method: "GET" | "POST" | "PUT" | "DELETE";
  path: string;
  query?: [string, string][];
  body?: unknown;
  /** Safe to repeat after an ambiguous failure. */
  idempotent: boolean;
  /** Statuses returned to the caller instead of thrown. */
  passStatuses?: number[];
  subject?: string;
  tags?: string[];
  /** The claims of the identity token an exchange sent, to explain a refusal. */
  identityClaims?: IdentityClaims;
}

interface CallResult {
  status: number;
  json: unknown;
}

interface CachedToken {
  token: string;
  /** Time (ms) after which the token is refreshed. */
  refreshAt: number;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Client of the Tailscale API v2 for one credential set and tailnet. */
export class TailscaleClient {
  /** Counters of requests sent so far. */
  readonly stats: TailscaleClientStats = { requests: 0, tokenRequests: 0, retries: 0, refreshesOn401: 0 };

  private readonly baseUrl: string;
  private readonly tailnet: string;
  private readonly servicesPath: string;
  private readonly opts: TailscaleClientOptions;
  private readonly fetchFn: typeof globalThis.fetch;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly maxRetryWaitMs: number;
  private readonly maxAttempts: number;
  private readonly requestTimeoutMs: number;
  private readonly initialBackoffMs: number;
  private token: CachedToken | undefined;
  /** The device list shared by hostname checks, with the time its request started. */
  private deviceList: { at: number; devices: Promise<readonly Device[]> } | undefined;
  /** The auth key list shared by revocations (see `sharedAuthKeyList`). */
  private keyList: Promise<readonly Key[]> | undefined;
  /** Keys this client minted (id and description), added to the shared key list. */
  private readonly mintedKeys: Key[] = [];
  /** Keys this client revoked or found invalid, left out of the shared key list. */
  private readonly invalidKeyIds = new Set<string>();
  /** The OAuth client's own tags from its last token response, for error hints. */
  private clientTags: string[] | undefined;
  private tokenInFlight: Promise<CachedToken> | undefined;
  /** The identity token being exchanged, only to redact it from what the server answers. */
  private identityJwt: string | undefined;

  constructor(options: TailscaleClientOptions) {
    const hasOAuth = Boolean(options.oauthClientSecret) || Boolean(options.identityFederation);
    if (!hasOAuth && !options.apiKey) {
      throw new Error(
        "TailscaleClient needs credentials: an OAuth client (oauthClientId + oauthClientSecret), a federated " +
          "identity (oauthClientId + identityFederation) or an API key",
      );
    }
    if (options.oauthClientSecret && options.identityFederation) {
      throw new Error("TailscaleClient: give oauthClientSecret or identityFederation, not both");
    }
    if (hasOAuth && !options.oauthClientId) {
      throw new Error(
        "TailscaleClient: a secret or identity token is set but oauthClientId is missing; set both",
      );
    }
    this.opts = options;
    this.baseUrl = (options.baseUrl ?? DEFAULT_TAILSCALE_BASE_URL).replace(/\/+$/, "");
    this.tailnet = options.tailnet && options.tailnet !== "" ? options.tailnet : "-";
    this.servicesPath = options.servicesPath ?? "vip-services";
    this.fetchFn = options.fetch ?? globalThis.fetch;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
    this.maxRetryWaitMs = options.maxRetryWaitMs ?? 60_000;
    this.maxAttempts = options.maxAttempts ?? 6;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.initialBackoffMs = options.initialBackoffMs ?? 500;
  }

  /** Number of HTTP requests sent so far (token requests included). */
  get requestCount(): number {
    return this.stats.requests;
  }

  /** The API base URL in use, without a trailing slash. */
  get apiBaseUrl(): string {
    return this.baseUrl;
  }

  /** The tailnet path parameter in use (`-` by default). */
  get tailnetName(): string {
    return this.tailnet;
  }

  // ---------------------------------------------------------------- auth keys

  /**
   * Mints an auth key. After an ambiguous failure, revokes what that attempt may have minted before
   * the next one; see the module comment.
   */
  async createAuthKey(options: CreateAuthKeyOptions): Promise<CreatedAuthKey> {
    validateDescription(options.description);
    const create: Record<string, unknown> = { tags: options.tags };
    if (options.reusable !== undefined) create["reusable"] = options.reusable;
    if (options.ephemeral !== undefined) create["ephemeral"] = options.ephemeral;
    if (options.preauthorized !== undefined) create["preauthorized"] = options.preauthorized;
    for (let attempt = 1; ; attempt++) {
      const description = markedDescription(options.description);
      const body: Record<string, unknown> = { capabilities: { devices: { create } }, description };
      if (options.expirySeconds) body["expirySeconds"] = options.expirySeconds;
      let res: CallResult;
      try {
        res = await this.call({
          operation: "createAuthKey",
          method: "POST",
          path: `/tailnet/${pathEscape(this.tailnet)}/keys`,
          body,
          idempotent: false,
          subject: `an auth key tagged [${options.tags.join(", ")}]`,
          tags: options.tags,
        });
      } catch (err) {
        if (!isAmbiguous(err)) throw err;
        await this.revokeUnanswered(description, err);
        if (attempt >= this.maxAttempts) throw err;
        this.stats.retries++;
        await this.sleep(backoffMs(attempt, this.initialBackoffMs, 10_000, this.random));
        continue;
      }
      const key = res.json as Key & { key?: string };
      if (!key || typeof key.id !== "string" || typeof key.key !== "string") {
        throw new Error(
          "Tailscale API createAuthKey returned no key id or secret; the API response was malformed",
        );
      }
      this.mintedKeys.push({ id: key.id, keyType: "auth", description });
      return { id: key.id, key: key.key, expires: key.expires };
    }
  }

  /**
   * Revokes the valid auth keys whose description is `description`: what one unanswered mint made.
   * If they cannot be looked up, the error says which key to revoke by hand.
   */
  private async revokeUnanswered(description: string, cause: TailscaleApiError): Promise<void> {
    try {
      for (const k of await this.listAuthKeys()) {
        if (k.description === description && !k.invalid) await this.deleteKey(k.id);
      }
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new Error(
        `Tailscale API createAuthKey got no usable answer (${cause.message}), and the key it may have minted ` +
          `could not be looked up to revoke it (${why}). Revoke the auth key described "${description}" ` +
          "(GET /api/v2/tailnet/-/keys?all=true lists it; keys minted by an OAuth client are not shown on the " +
          "admin console's Keys page), then retry the operation.",
        { cause: err },
      );
    }
  }

  /** Lists the tailnet's valid auth keys (without secrets); `all=true`, else an OAuth token lists only OAuth clients (SPEC listTailnetKeys). */
  async listAuthKeys(): Promise<Key[]> {
    const res = await this.call({
      operation: "listKeys",
      method: "GET",
      path: `/tailnet/${pathEscape(this.tailnet)}/keys`,
      query: [["all", "true"]],
      idempotent: true,
      subject: `keys of tailnet ${this.tailnet}`,
    });
    const keys = (res.json as { keys?: Key[] } | undefined)?.keys ?? [];
    return keys.filter((k) => k.keyType === undefined || k.keyType === "auth");
  }

  /** Reads an auth key (without its secret). Undefined when it does not exist. */
  async getKey(id: string): Promise<Key | undefined> {
    const res = await this.call({
      operation: "getKey",
      method: "GET",
      path: `/tailnet/${pathEscape(this.tailnet)}/keys/${pathEscape(id)}`,
      idempotent: true,
      passStatuses: [404],
      subject: `auth key ${id}`,
    });
    return res.status === 404 ? undefined : (res.json as Key);
  }

  /**
   * Revokes an auth key. False when there was nothing to revoke: the key does not exist, or it is
   * already invalid (revoked, expired or, single-use, spent). Reads the key first because the API
   * keeps answering for invalid keys and what DELETE does on them is undocumented.
   */
  async deleteKey(id: string): Promise<boolean> {
    const key = await this.getKey(id);
    if (!key || key.invalid) {
      this.invalidKeyIds.add(id);
      return false;
    }
    const res = await this.call({
      operation: "deleteKey",
      method: "DELETE",
      path: `/tailnet/${pathEscape(this.tailnet)}/keys/${pathEscape(id)}`,
      idempotent: true,
      passStatuses: [404],
      subject: `auth key ${id}`,
    });
    this.invalidKeyIds.add(id);
    return res.status !== 404;
  }

  /**
   * The tailnet's valid auth keys, from one list per client, that is per provider host and credential set
   * (provider/credentials.ts), plus the keys this client minted: what revocations search for keys that an
   * earlier host minted and never recorded (killed right after the mint). Those all predate this host, and
   * what it mints after the list is added from the mint's answer, so one list serves every resource of the
   * `up` or `destroy`, however many, instead of one download of the tailnet's keys per resource. Keys this
   * client revoked or found invalid are left out (one that was valid when listed may be spent since: the
   * revocation reads it first). A failed list is not kept.
   */
  async sharedAuthKeyList(): Promise<readonly Key[]> {
    if (!this.keyList) {
      const list = this.listAuthKeys() as Promise<readonly Key[]>;
      this.keyList = list;
      list.catch(() => {
        if (this.keyList === list) this.keyList = undefined;
      });
    }
    const listed = await this.keyList;
    const ids = new Set(listed.map((k) => k.id));
    return [...listed, ...this.mintedKeys.filter((k) => !ids.has(k.id))].filter(
      (k) => !k.invalid && !this.invalidKeyIds.has(k.id),
    );
  }

  // ---------------------------------------------------------------- devices

  /** Reads a device by node ID or legacy ID. Undefined when it does not exist. */
  async getDevice(id: string): Promise<Device | undefined> {
    const res = await this.call({
      operation: "getDevice",
      method: "GET",
      path: `/device/${pathEscape(id)}`,
      idempotent: true,
      passStatuses: [404],
      subject: `device ${id}`,
    });
    return res.status === 404 ? undefined : (res.json as Device);
  }

  /** Lists the tailnet's devices, optionally only those carrying all of `tags` (server-side filter). */
  async listDevices(options: { tags?: string[] } = {}): Promise<Device[]> {
    const query: [string, string][] = (options.tags ?? []).map((t) => ["tags", t]);
    const res = await this.call({
      operation: "listDevices",
      method: "GET",
      path: `/tailnet/${pathEscape(this.tailnet)}/devices`,
      query,
      idempotent: true,
      subject: `devices of tailnet ${this.tailnet}`,
    });
    const devices = (res.json as { devices?: Device[] } | undefined)?.devices ?? [];
    // The filter is applied server-side; repeat it here so a server that ignores it cannot make us
    // act on someone else's devices.
    const tags = options.tags ?? [];
    return devices.filter((d) => tags.every((t) => (d.tags ?? []).includes(t)));
  }

  /**
   * Every device of the tailnet, from one list shared by all callers of this client for
   * DEVICE_LIST_MAX_AGE_MS: the API cannot page (SPEC `info.description`) and its filters match the OS
   * `hostname`, not the MagicDNS name a clash is about (devices.ts), so each hostname check would otherwise
   * download the whole tailnet. One client serves one credential set in a provider host
   * (provider/credentials.ts), so the creates of one `up` share one list. Our own writes make it stale:
   * `deleteDevice` and `forgetDeviceList` (called once a proxy of ours registered) drop it. A failed list is
   * not kept. Callers must not modify the array.
   */
  sharedDeviceList(): Promise<readonly Device[]> {
    const now = this.now();
    if (!this.deviceList || now - this.deviceList.at >= DEVICE_LIST_MAX_AGE_MS) {
      const entry = { at: now, devices: this.listDevices() as Promise<readonly Device[]> };
      this.deviceList = entry;
      entry.devices.catch(() => {
        if (this.deviceList === entry) this.deviceList = undefined;
      });
    }
    return this.deviceList.devices;
  }

  /** Drops the shared device list: a device of ours registered or went away. */
  forgetDeviceList(): void {
    this.deviceList = undefined;
  }

  /** Deletes a device. False when it was already gone (404). */
  async deleteDevice(id: string): Promise<boolean> {
    try {
      const res = await this.call({
        operation: "deleteDevice",
        method: "DELETE",
        path: `/device/${pathEscape(id)}`,
        idempotent: true,
        passStatuses: [404],
        subject: `device ${id}`,
      });
      return res.status !== 404;
    } finally {
      // Even a failed DELETE may have removed it.
      this.forgetDeviceList();
    }
  }

  // ---------------------------------------------------------------- Tailscale Services

  /** Reads a Tailscale Service (`svc:<name>`). Undefined when it does not exist. */
  async getService(name: string): Promise<TailscaleService | undefined> {
    const res = await this.call({
      operation: "getService",
      method: "GET",
      path: this.servicePath(name),
      idempotent: true,
      passStatuses: [404],
      subject: `Tailscale Service ${name}`,
    });
    return res.status === 404 ? undefined : (res.json as TailscaleService);
  }

  /**
   * Creates or updates a Tailscale Service (PUT is an upsert keyed by `body.name`). Returns the
   * service with its addresses: the PUT response when it has them, else a follow-up GET. Updating
   * an existing service requires `body.addrs` to carry its current addresses.
   */
  async putService(body: TailscaleService): Promise<TailscaleService> {
    if (!body.name?.startsWith("svc:")) {
      throw new Error(`putService: Tailscale Service name "${body.name}" must have the form svc:<dns-label>`);
    }
    let put = body;
    let res: CallResult;
    for (let attempt = 1; ; attempt++) {
      const hasAddrs = (put.addrs ?? []).length > 0;
      try {
        res = await this.call({
          operation: "putService",
          method: "PUT",
          path: this.servicePath(put.name),
          body: put,
          // With its addresses the PUT carries the whole service and can be repeated as it is.
          idempotent: hasAddrs,
          subject: `Tailscale Service ${put.name}`,
        });
        break;
      } catch (err) {
        if (hasAddrs || !isAmbiguous(err) || attempt >= this.maxAttempts) throw err;
        // The create may have happened: repeat it as the update of what exists, with its addresses.
        const existing = await this.getService(put.name);
        if (existing?.addrs?.length) put = { ...put, addrs: existing.addrs };
        this.stats.retries++;
        if (!existing) await this.sleep(backoffMs(attempt, this.initialBackoffMs, 10_000, this.random));
      }
    }
    const returned = res.json as TailscaleService | undefined;
    if (returned && Array.isArray(returned.addrs) && returned.addrs.length > 0) return returned;
    const read = await this.getService(put.name);
    if (!read) {
      throw new Error(
        `Tailscale Service ${put.name} was written but cannot be read back (404); check tailscale:tailnet and the services path`,
      );
    }
    return read;
  }

  /** Deletes a Tailscale Service. False when it was already gone (404). */
  async deleteService(name: string): Promise<boolean> {
    const res = await this.call({
      operation: "deleteService",
      method: "DELETE",
      path: this.servicePath(name),
      idempotent: true,
      passStatuses: [404],
      subject: `Tailscale Service ${name}`,
    });
    return res.status !== 404;
  }

  /** Lists the tailnet's Tailscale Services. */
  async listServices(): Promise<TailscaleService[]> {
    const res = await this.call({
      operation: "listServices",
      method: "GET",
      path: `/tailnet/${pathEscape(this.tailnet)}/${this.servicesPath}`,
      idempotent: true,
      subject: `Tailscale Services of tailnet ${this.tailnet}`,
    });
    return (res.json as { vipServices?: TailscaleService[] } | undefined)?.vipServices ?? [];
  }

  // ---------------------------------------------------------------- settings

  /** Reads the tailnet settings (`httpsEnabled` tells whether certificates can be issued). */
  async getTailnetSettings(): Promise<TailnetSettings> {
    const res = await this.call({
      operation: "getTailnetSettings",
      method: "GET",
      path: `/tailnet/${pathEscape(this.tailnet)}/settings`,
      idempotent: true,
      subject: `settings of tailnet ${this.tailnet}`,
    });
    const s = (res.json ?? {}) as TailnetSettings;
    return { ...s, httpsEnabled: typeof s.httpsEnabled === "boolean" ? s.httpsEnabled : undefined };
  }

  // ---------------------------------------------------------------- internals

  private servicePath(name: string): string {
    return `/tailnet/${pathEscape(this.tailnet)}/${this.servicesPath}/${pathEscape(name)}`;
  }

  /** Whether calls carry an API token this client obtained (from an OAuth client or a federated identity). */
  private get usesOAuth(): boolean {
    return Boolean(this.opts.oauthClientSecret) || Boolean(this.opts.identityFederation);
  }

  private secrets(): (string | undefined)[] {
    return [this.opts.oauthClientSecret, this.opts.apiKey, this.token?.token, this.identityJwt];
  }

  private async authorization(): Promise<string> {
    if (!this.usesOAuth) return `Bearer ${this.opts.apiKey}`;
    const t = await this.getToken();
    return `Bearer ${t.token}`;
  }

  private async getToken(): Promise<CachedToken> {
    if (this.token && this.now() < this.token.refreshAt) return this.token;
    // One token request at a time: parallel calls wait for the same exchange.
    if (!this.tokenInFlight) {
      const next = this.opts.identityFederation ? this.exchangeIdentityToken() : this.fetchToken();
      this.tokenInFlight = next.finally(() => {
        this.tokenInFlight = undefined;
      });
    }
    return this.tokenInFlight;
  }

  private async fetchToken(): Promise<CachedToken> {
    const form = new URLSearchParams({ grant_type: "client_credentials" });
    if (this.opts.oauthScopes?.length) form.set("scope", this.opts.oauthScopes.join(" "));
    const basic = Buffer.from(`${this.opts.oauthClientId}:${this.opts.oauthClientSecret}`).toString("base64");
    const res = await this.exchange(
      {
        operation: "oauthToken",
        method: "POST",
        path: "/oauth/token",
        idempotent: true,
        subject: "an OAuth token",
      },
      {
        Authorization: `Basic ${basic}`,
        "Content-Type": "application/x-www-form-urlencoded",
        Accept: "application/json",
      },
      form.toString(),
      true,
    );
    return this.keepToken(res.json, "OAuth token");
  }

  /**
   * Exchanges the federated identity's current identity token for an API token. The token is read anew
   * and checked first (identityToken.ts); it is held only while the request runs, to redact it.
   */
  private async exchangeIdentityToken(): Promise<CachedToken> {
    const fed = this.opts.identityFederation!;
    const jwt = (await fed.identityToken()).trim();
    const claims = checkIdentityToken(jwt, { origin: fed.origin, nowMs: this.now(), audience: fed.audience });
    const form = new URLSearchParams({ client_id: this.opts.oauthClientId!, jwt });
    this.identityJwt = jwt;
    try {
      const res = await this.exchange(
        {
          operation: "tokenExchange",
          method: "POST",
          path: "/oauth/token-exchange",
          idempotent: true,
          subject: `an API token for federated identity ${this.opts.oauthClientId}`,
          identityClaims: claims,
        },
        { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
        form.toString(),
        true,
      );
      return this.keepToken(res.json, "token exchange");
    } finally {
      this.identityJwt = undefined;
    }
  }

  /** Caches a token response's access token until shortly before it expires. */
  private keepToken(json: unknown, what: string): CachedToken {
    const body = json as { access_token?: string; expires_in?: number; tags?: unknown } | undefined;
    if (!body?.access_token) {
      throw new Error(`Tailscale ${what} response had no access_token; check tailscale:baseUrl`);
    }
    const lifetimeMs =
      (typeof body.expires_in === "number" && body.expires_in > 0 ? body.expires_in : 3600) * 1000;
    // Refresh ahead of expiry (5 min for the usual 1 h token, a tenth of shorter lifetimes).
    const margin = Math.min(5 * 60_000, lifetimeMs / 10);
    this.token = { token: body.access_token, refreshAt: this.now() + lifetimeMs - margin };
    // The response lists the client's tags (the response pasted in tailscale/tailscale#15456), used to explain a
    // tag refusal.
    if (Array.isArray(body.tags)) this.clientTags = body.tags.filter((t) => typeof t === "string");
    return this.token;
  }

  private async call(c: CallOptions): Promise<CallResult> {
    let refreshed = false;
    for (;;) {
      const usedToken = this.usesOAuth ? (await this.getToken()).token : undefined;
      const headers: Record<string, string> = {
        Authorization: usedToken ? `Bearer ${usedToken}` : await this.authorization(),
        Accept: "application/json",
      };
      let body: string | undefined;
      if (c.body !== undefined) {
        headers["Content-Type"] = "application/json";
        body = JSON.stringify(c.body);
      }
      const res = await this.exchange(c, headers, body, false);
      if (res.status === 401 && this.usesOAuth && !refreshed) {
        // The token may have been revoked or expired early; the server did not act, so one retry
        // with a fresh token is safe even for createAuthKey.
        refreshed = true;
        this.stats.refreshesOn401++;
        if (this.token?.token === usedToken) this.token = undefined;
        continue;
      }
      if (res.status >= 200 && res.status < 300) return res;
      if (c.passStatuses?.includes(res.status)) return res;
      throw this.makeError(c, res.status, messageOf(res.json), res.attempts);
    }
  }

  /**
   * Sends one logical request with the retry policy. Returns any HTTP response that is final
   * (success or non-retryable error); throws only on network failures that are not retried.
   */
  private async exchange(
    c: CallOptions,
    headers: Record<string, string>,
    body: string | undefined,
    throwOnError: boolean,
  ): Promise<CallResult & { attempts: number }> {
    const url = new URL(`${this.baseUrl}/api/v2${c.path}`);
    for (const [k, v] of c.query ?? []) url.searchParams.append(k, v);
    if (this.opts.userAgent) headers["User-Agent"] = this.opts.userAgent;
    let waited = 0;
    for (let attempt = 1; ; attempt++) {
      let response: Response;
      this.stats.requests++;
      if (c.operation === "oauthToken" || c.operation === "tokenExchange") this.stats.tokenRequests++;
      try {
        response = await this.fetchFn(url, {
          method: c.method,
          headers,
          body,
          signal: AbortSignal.timeout(this.requestTimeoutMs),
        });
      } catch (err) {
        const wait = backoffMs(attempt, this.initialBackoffMs, 10_000, this.random);
        if (c.idempotent && attempt < this.maxAttempts && waited + wait <= this.maxRetryWaitMs) {
          waited += wait;
          this.stats.retries++;
          await this.sleep(wait);
          continue;
        }
        const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
        throw this.makeError(c, 0, reason, attempt, err);
      }
      const text = await response.text();
      const json = parseBody(text);
      const retryAfter = parseRetryAfter(response.headers.get("retry-after"), this.now());
      const status = response.status;
      const retryable =
        status === 429 ||
        (c.idempotent && (status === 500 || status === 502 || status === 503 || status === 504)) ||
        (!c.idempotent && status === 503 && retryAfter !== undefined);
      if (retryable && attempt < this.maxAttempts) {
        const wait = retryAfter ?? backoffMs(attempt, this.initialBackoffMs, 10_000, this.random);
        if (waited + wait <= this.maxRetryWaitMs) {
          waited += wait;
          this.stats.retries++;
          await this.sleep(wait);
          continue;
        }
      }
      if (throwOnError && (status < 200 || status >= 300)) {
        throw this.makeError(c, status, messageOf(json ?? text), attempt);
      }
      return { status, json: json ?? (text === "" ? undefined : text), attempts: attempt };
    }
  }

  private makeError(
    c: CallOptions,
    status: number,
    apiMessage: string | undefined,
    attempts?: number,
    cause?: unknown,
  ): TailscaleApiError {
    const message =
      apiMessage === undefined ? undefined : redactSecrets(apiMessage, this.secrets()).slice(0, 500);
    const ctx: ErrorContext = {
      operation: c.operation,
      tailnet: this.tailnet,
      tags: c.tags,
      clientTags: this.clientTags,
      oauth: this.usesOAuth,
      federated: this.opts.identityFederation
        ? {
            clientId: this.opts.oauthClientId!,
            origin: this.opts.identityFederation.origin,
            claims: c.identityClaims,
          }
        : undefined,
      credentialSource: this.opts.credentialSource,
      apiMessage: message,
      attempts: attempts && attempts > 1 ? attempts : undefined,
    };
    return new TailscaleApiError({
      status,
      method: c.method,
      path: `/api/v2${c.path}`,
      operation: c.operation,
      apiMessage: message,
      hint: hintFor(status, ctx),
      subject: c.subject,
      cause,
    });
  }
}

/** No answer, or a 5xx: the server may or may not have acted. */
function isAmbiguous(err: unknown): err is TailscaleApiError {
  return err instanceof TailscaleApiError && (err.status === 0 || err.status >= 500);
}

/** Length of the marker that makes each mint attempt's description unique. */
const MARKER_LENGTH = 8;

/**
 * The caller's description with a random marker, within the API's 50 characters, so the key one
 * unanswered attempt minted can be told from every other key. Random, not from the jitter source, which
 * tests fix.
 */
function markedDescription(description: string | undefined): string {
  const marker = `m${randomBytes(5)
    .readUIntBE(0, 5)
    .toString(36)
    .padStart(MARKER_LENGTH - 1, "0")
    .slice(0, MARKER_LENGTH - 1)}`;
  const base = (description ?? "").slice(0, 50 - MARKER_LENGTH - 1).trimEnd();
  return base === "" ? marker : `${base} ${marker}`;
}

function parseBody(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function messageOf(body: unknown): string | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === "string") return body.trim() === "" ? undefined : body.trim();
  if (typeof body === "object") {
    const b = body as { message?: unknown; error?: unknown; error_description?: unknown };
    if (typeof b.message === "string") return b.message;
    if (typeof b.error_description === "string") return b.error_description;
    if (typeof b.error === "string") return b.error;
  }
  return undefined;
}

function validateDescription(description: string | undefined): void {
  if (description === undefined) return;
  if (description.length > 50 || !/^[A-Za-z0-9\- ]*$/.test(description)) {
    throw new Error(
      `createAuthKey: description "${description}" is invalid: the Tailscale API allows at most 50 letters, digits, hyphens and spaces`,
    );
  }
}
