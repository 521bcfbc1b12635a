/**
 * The tailscaled config files (`ipn.ConfigVAlpha`) a standalone proxy reads from its Secret.
 *
 * containerboot, started with TS_EXPERIMENTAL_VERSIONED_CONFIG_DIR, picks the highest `cap-<N>.hujson` whose
 * N is not above its own capability version and runs `tailscaled --config=<file>`. Like the operator we
 * write two files: `cap-95.hujson` (older proxies) and `cap-107.hujson` (adds `AppConnector`).
 */
import { goJsonString } from "./gojson";

/** Capability versions we write config files for. */
export const CONFIG_CAPABILITY_VERSIONS = [95, 107] as const;

/** A capability version from {@link CONFIG_CAPABILITY_VERSIONS}. */
export type ConfigCapabilityVersion = (typeof CONFIG_CAPABILITY_VERSIONS)[number];

/** What goes into a standalone proxy's tailscaled config. */
export interface TailscaledConfigOptions {
  /** Tailnet hostname requested from control. */
  hostname: string;
  /**
   * Auth key for the first login. Present only while the device does not exist yet: the lifecycle drops it
   * once the proxy has written `device_id`, as the operator does, so the key does not linger in the Secret.
   */
  authKey?: string;
  /** Control server URL (`ServerURL`); omitted when not given, so tailscaled uses its default. */
  serverUrl?: string;
  /** ProxyClass `acceptRoutes`. */
  acceptRoutes?: boolean;
}

/** The Secret key of a config file: `cap-<N>.hujson`. */
export function configFileKey(capver: number): string {
  return `cap-${capver}.hujson`;
}

/**
 * One config file, serialised exactly as the operator's Go encoder writes it: fields in the order
 * Version, Locked, ServerURL, AuthKey, Hostname, acceptDNS, acceptRoutes, AppConnector (cap ≥ 107 only),
 * NoStatefulFiltering; `ServerURL` and `AuthKey` omitted when empty.
 */
export function renderTailscaledConfig(
  opts: TailscaledConfigOptions,
  capver: ConfigCapabilityVersion,
): string {
  const parts: string[] = ['"Version":"alpha0"', '"Locked":false'];
  if (opts.serverUrl) parts.push(`"ServerURL":${goJsonString(opts.serverUrl)}`);
  if (opts.authKey) parts.push(`"AuthKey":${goJsonString(opts.authKey)}`);
  parts.push(`"Hostname":${goJsonString(opts.hostname)}`);
  parts.push('"acceptDNS":false');
  parts.push(`"acceptRoutes":${opts.acceptRoutes === true}`);
  if (capver >= 107) parts.push('"AppConnector":{"Advertise":false}');
  parts.push('"NoStatefulFiltering":true');
  return `{${parts.join(",")}}`;
}

/** Both config files, keyed by their Secret key (`cap-95.hujson`, `cap-107.hujson`). */
export function renderTailscaledConfigFiles(opts: TailscaledConfigOptions): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of CONFIG_CAPABILITY_VERSIONS) out[configFileKey(v)] = renderTailscaledConfig(opts, v);
  return out;
}
