/**
 * The Tailscale API v2 shapes this package reads and writes, a subset of the OpenAPI document's
 * schemas (`Key`, `Device`, `VIPServiceInfo` and `VIPServiceInfoPut` as TailscaleService, `TailnetSettings`). Fields we do
 * not use are kept on the objects as returned (index signatures), so nothing is lost on a round trip.
 */

/** An auth key as the API returns it from GET (never with the secret). */
export interface Key {
  id: string;
  keyType?: "auth" | "client" | "api" | "federated";
  description?: string;
  created?: string;
  expires?: string;
  revoked?: string;
  /** True once the key is revoked or expired; GET keeps answering 200 for such keys. */
  invalid?: boolean;
  tags?: string[];
  capabilities?: {
    devices?: {
      create?: { reusable?: boolean; ephemeral?: boolean; preauthorized?: boolean; tags?: string[] };
    };
  };
  [field: string]: unknown;
}

/** What `createAuthKey` returns: the key's id, its secret (shown once, never again) and its expiry. */
export interface CreatedAuthKey {
  id: string;
  /** The `tskey-auth-…` secret. Treat as a secret: never log it or put it in an output. */
  key: string;
  expires?: string;
}

/** Arguments of `createAuthKey`. */
export interface CreateAuthKeyOptions {
  /** ACL tags of the devices the key registers; required when the caller is an OAuth client. */
  tags: string[];
  reusable?: boolean;
  ephemeral?: boolean;
  preauthorized?: boolean;
  /** Lifetime in seconds; omitted (API default: 90 days) when unset or 0. */
  expirySeconds?: number;
  /** At most 50 characters: letters, digits, hyphens and spaces. */
  description?: string;
}

/** A tailnet device (node). */
export interface Device {
  id: string;
  nodeId?: string;
  /** MagicDNS FQDN, e.g. `web.tail1234.ts.net`. */
  name?: string;
  hostname?: string;
  /** Tailnet IPs: the 100.x IPv4 first, then the fd7a:115c:a1e0:: IPv6. */
  addresses?: string[];
  tags?: string[];
  authorized?: boolean;
  isEphemeral?: boolean;
  connectedToControl?: boolean;
  lastSeen?: string;
  created?: string;
  [field: string]: unknown;
}

/**
 * A Tailscale Service (the API's "VIP service", `/vip-services/{name}`), as read, and as written by a
 * PUT (create or update). When updating an existing service, `addrs` must carry its current
 * addresses: the API rejects an update without them if they were auto-allocated.
 */
export interface TailscaleService {
  /** `svc:<dns-label>`. */
  name: string;
  /** The IPv4 followed by the IPv6; allocated by control when not requested. */
  addrs?: string[];
  comment?: string;
  /** `tcp:<port>` entries, or `do-not-validate`. */
  ports?: string[];
  tags?: string[];
  /** Not in the OpenAPI document but sent and returned by Tailscale's own clients (the operator's Go client). */
  annotations?: Record<string, string>;
  [field: string]: unknown;
}

/** The tailnet settings this package looks at. */
export interface TailnetSettings {
  /** Whether HTTPS certificates can be provisioned (needed for L7 ingress). */
  httpsEnabled?: boolean;
  [field: string]: unknown;
}
