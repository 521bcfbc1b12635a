/**
 * The ProxyGroup replicas' tailscaled config (`cap-106.hujson` in `<pg>-<i>-config`) and what the
 * replicas write back into their state Secrets (`<pg>-<i>`): the pure readers and editors the
 * lifecycle's read-modify-write loops call (docs/operator-parity.md, "ProxyGroup").
 *
 * Config text may hold an auth key: no function here ever puts config content into an error.
 */
import { CONFIG_KEY } from "./common";
import { CONFIG_VALPHA, findKey, goMarshal, parseJsonObject } from "./gostruct";

/** Inputs of one replica's config file. */
export interface ReplicaConfigInput {
  hostname: string;
  /** Written only when given (a fresh or re-issued key); omitted once the device is authed. */
  authKey?: string;
  /** Control server URL (`ServerURL`); omitted when not given, as in the operator's tests. */
  controlUrl?: string;
  acceptRoutes?: boolean;
  /** Kept from the existing file: the Ingress/Service lifecycles own this list. */
  advertiseServices?: readonly string[];
  /** `ip:port` endpoints to advertise besides the discovered ones (ProxyClass `staticEndpoints`). */
  staticEndpoints?: readonly string[];
}

/**
 * The `cap-106.hujson` text for one ProxyGroup replica, byte-identical to the operator's
 * (`{"Version":"alpha0","Locked":false,["ServerURL",]["AuthKey",]"Hostname",...}`).
 */
export function renderReplicaConfig(c: ReplicaConfigInput): string {
  return goMarshal(
    {
      Version: "alpha0",
      Locked: false,
      ServerURL: c.controlUrl || undefined,
      AuthKey: c.authKey || undefined,
      Hostname: c.hostname,
      acceptDNS: false,
      acceptRoutes: c.acceptRoutes === true,
      AdvertiseServices:
        c.advertiseServices && c.advertiseServices.length > 0 ? [...c.advertiseServices] : undefined,
      StaticEndpoints: c.staticEndpoints && c.staticEndpoints.length > 0 ? [...c.staticEndpoints] : undefined,
    },
    CONFIG_VALPHA,
  );
}

/** `AdvertiseServices` of a config file (`[]` when absent). Use it to fill `existingAdvertiseServices`. */
export function advertisedServicesFromConfig(configJson: string | undefined): string[] {
  if (configJson === undefined || configJson === "") return [];
  const o = parseJsonObject(configJson, `tailscaled config ${CONFIG_KEY}`);
  const k = findKey(o, "AdvertiseServices");
  const v = k === undefined ? undefined : o[k];
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === "string") : [];
}

/** `StaticEndpoints` of a config file (`[]` when absent): what the replica advertises now. */
export function staticEndpointsFromConfig(configJson: string | undefined): string[] {
  if (configJson === undefined || configJson === "") return [];
  const o = parseJsonObject(configJson, `tailscaled config ${CONFIG_KEY}`);
  const k = findKey(o, "StaticEndpoints");
  const v = k === undefined ? undefined : o[k];
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === "string") : [];
}

/** The `AuthKey` of a config file, or undefined. The value is secret: never log it. */
export function authKeyFromConfig(configJson: string | undefined): string | undefined {
  if (configJson === undefined || configJson === "") return undefined;
  const o = parseJsonObject(configJson, `tailscaled config ${CONFIG_KEY}`);
  const k = findKey(o, "AuthKey");
  const v = k === undefined ? undefined : o[k];
  return typeof v === "string" && v !== "" ? v : undefined;
}

/**
 * Add (`advertise: true`, appended at the end) or remove a Tailscale Service in a replica's config.
 * Returns the input unchanged when nothing changes, so the caller can skip the write by comparing
 * strings. Otherwise the whole file is re-serialised in Go's field order, as the operator does:
 * `{}` + `svc:a` → `{"Version":"","AdvertiseServices":["svc:a"]}`. Keys we don't know are kept.
 */
export function withAdvertisedService(
  configJson: string | undefined,
  serviceName: string,
  advertise: boolean,
): string {
  const text = configJson === undefined || configJson === "" ? "{}" : configJson;
  const o = parseJsonObject(text, `tailscaled config ${CONFIG_KEY}`);
  const k = findKey(o, "AdvertiseServices") ?? "AdvertiseServices";
  const current = Array.isArray(o[k])
    ? (o[k] as unknown[]).filter((s): s is string => typeof s === "string")
    : [];
  const has = current.includes(serviceName);
  if (advertise === has) return text;
  o[k] = advertise ? [...current, serviceName] : current.filter((s) => s !== serviceName);
  return goMarshal(o, CONFIG_VALPHA);
}

/** What the lifecycle knows about a replica before minting keys (all values decoded from base64). */
export interface AuthKeyFacts {
  /** Whether `<pg>-<i>-config` exists. */
  configExists: boolean;
  /** `AuthKey` in its config file (see {@link authKeyFromConfig}). */
  configAuthKey?: string;
  /** State Secret `device_id`, if any. */
  deviceId?: string;
  /** State Secret `reissue_authkey`, if the key is present (even empty). */
  reissueAuthKey?: string;
  /**
   * The device `deviceId` names is not in the tailnet (deleted out of band): the replica is logged out
   * and waits for a key (containerboot asks for none, it just cannot log in).
   */
  deviceGone?: boolean;
}

/** What to put in a replica's config: a fresh key, the existing key, or none. */
export type AuthKeyDecision =
  | { action: "mint"; deleteDeviceId?: string }
  | { action: "keep"; authKey: string }
  | { action: "omit" };

/**
 * The operator's per-replica auth key decision (docs/operator-parity.md, "ProxyGroup"; its test
 * `TestProxyGroupGetAuthKey`):
 * - no config Secret → mint;
 * - containerboot asked for a reissue (`reissue_authkey` present) and the config holds no key or the
 *   broken one → mint, after deleting the stale device (`deleteDeviceId`, only if there is one; the
 *   operator also calls Delete with an empty ID, which we skip);
 * - the device the state Secret names is gone from the tailnet → mint (ours; see below);
 * - otherwise keep the existing key while the device has not authed (no `device_id`); once authed the
 *   key is dropped from the config.
 * The operator also rate-limits reissues and keeps a key while a reissue it started is in flight; a
 * lifecycle here mints, waits for the login and retires the key within one `up`, so it has neither.
 */
export function decideAuthKey(f: AuthKeyFacts): AuthKeyDecision {
  if (!f.configExists) return { action: "mint" };
  const wantsReissue =
    f.reissueAuthKey !== undefined && (!f.configAuthKey || f.configAuthKey === f.reissueAuthKey);
  if (wantsReissue) return f.deviceId ? { action: "mint", deleteDeviceId: f.deviceId } : { action: "mint" };
  // Our repair, beyond the operator's decision: a replica whose device is gone gets a key and logs in
  // again under the same hostname (free again, so without a -1 suffix).
  if (f.deviceId && f.deviceGone) return { action: "mint" };
  if (f.configAuthKey && !f.deviceId) return { action: "keep", authKey: f.configAuthKey };
  return { action: "omit" };
}

/** The profile prefs a replica's tailscaled wrote (the part of it we read). */
export interface ReplicaProfile {
  nodeId?: string;
  loginName?: string;
  /** What tailscaled actually applied, not what we wrote. */
  advertiseServices: string[];
}

/**
 * Read the current profile from a state Secret's decoded data: `_current-profile` names the key that
 * holds `{"Config":{"NodeID","UserProfile":{"LoginName"}},"AdvertiseServices":[...]}`. Undefined when
 * the replica has not written one yet or it does not parse (a replica mid-write is not an error).
 */
export function readReplicaProfile(state: Record<string, string> | undefined): ReplicaProfile | undefined {
  const key = state?.["_current-profile"];
  const raw = key ? state?.[key] : undefined;
  if (!raw) return undefined;
  let o: unknown;
  try {
    o = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof o !== "object" || o === null) return undefined;
  const p = o as {
    Config?: { NodeID?: unknown; UserProfile?: { LoginName?: unknown } };
    AdvertiseServices?: unknown;
  };
  return {
    nodeId: typeof p.Config?.NodeID === "string" && p.Config.NodeID !== "" ? p.Config.NodeID : undefined,
    loginName:
      typeof p.Config?.UserProfile?.LoginName === "string" && p.Config.UserProfile.LoginName !== ""
        ? p.Config.UserProfile.LoginName
        : undefined,
    advertiseServices: Array.isArray(p.AdvertiseServices)
      ? p.AdvertiseServices.filter((s): s is string => typeof s === "string")
      : [],
  };
}

/** Whether the replica reports (in its applied prefs) that it advertises `serviceName`. */
export function replicaAdvertises(state: Record<string, string> | undefined, serviceName: string): boolean {
  return readReplicaProfile(state)?.advertiseServices.includes(serviceName) ?? false;
}

/**
 * The tailnet's MagicDNS suffix, from the replicas' state Secrets in ordinal order: everything after
 * the first `.` of the first `device_fqdn` or profile LoginName that has one (`pg-0.tailxyz.ts.net`
 * → `tailxyz.ts.net`). Undefined when no replica has authed yet. The operator reads only the
 * LoginName; `device_fqdn` (written by containerboot) is accepted first because it is the node's own
 * MagicDNS name, trailing dot trimmed.
 */
export function tailnetDomainFromStates(
  states: readonly (Record<string, string> | undefined)[],
): string | undefined {
  for (const s of states) {
    const candidates = [s?.device_fqdn?.replace(/\.$/, ""), readReplicaProfile(s)?.loginName];
    for (const c of candidates) {
      if (c === undefined) continue;
      const i = c.indexOf(".");
      if (i > 0 && i < c.length - 1) return c.slice(i + 1);
    }
  }
  return undefined;
}
