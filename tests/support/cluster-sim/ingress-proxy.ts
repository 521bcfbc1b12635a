/**
 * containerboot's layer-3 configuration that is not the tailscaled login: POD_IPS, TS_DEST_IP and the
 * ingress proxy of TS_INGRESS_PROXIES_CONFIG_PATH (`tailscale/tailscale@de9ec7ee cmd/containerboot`).
 * Pure: the simulator (sim.ts) does the reads and writes.
 */
import { familyOf } from "../kube-api/ipfamily";
import { isIP } from "../kube-api/validation";

/**
 * One DNAT rule a layer-3 proxy installed: traffic to `tailnetIP` is sent to `destination`
 * (`tailscale/tailscale@de9ec7ee cmd/containerboot/forwarding.go` installIngressForwardingRule,
 * `util/linuxfw` EnsureDNATRuleForSvc).
 */
export interface L3Forward {
  tailnetIP: string;
  destination: string;
}

/** One family of an ingress config entry (`ingressservices.Mapping`), as parsed. */
interface Mapping {
  TailscaleServiceIP: string;
  ClusterIP: string;
}

/** `ingressservices.Config`. */
interface IngressConfig {
  IPv4Mapping?: Mapping;
  IPv6Mapping?: Mapping;
}

/**
 * POD_IPS as configFromEnv reads it: when set (even empty), a comma-separated list of at most two
 * addresses, the IPv4 and the IPv6 (`cmd/containerboot/settings.go:143-161`); otherwise none. A string
 * is the error containerboot exits with.
 */
export function podIPsFromEnv(env: Record<string, string>): { v4?: string; v6?: string } | string {
  if (!("POD_IPS" in env)) return {};
  const ips = env.POD_IPS!.split(",");
  if (ips.length > 2) {
    return `invalid configuration: POD_IPs can contain at most 2 IPs, got ${ips.length} ([${ips.join(" ")}])`;
  }
  const out: { v4?: string; v6?: string } = {};
  for (const ip of ips) {
    if (!isIP(ip))
      return `invalid configuration: error parsing IP address ${ip}: ParseAddr(${JSON.stringify(ip)})`;
    if (familyOf(ip) === "IPv4") out.v4 = ip;
    else out.v6 = ip;
  }
  return out;
}

/**
 * installIngressForwardingRule for TS_DEST_IP: one address, DNATed from the proxy's tailnet address of
 * the same family; the error text when there is none (forwarding.go:158-191). TS_DEST_IP takes exactly
 * one address (netip.ParseAddr), so a list is an error too.
 */
export function ingressForwardingRule(dest: string, tailnetIPs: readonly string[]): L3Forward | string {
  if (!isIP(dest)) return `ParseAddr(${JSON.stringify(dest)}): not a single IP address`;
  const local = tailnetIPs.find((ip) => familyOf(ip) === familyOf(dest));
  if (!local) {
    return `no tailscale IP matching family of ${dest} found in [${tailnetIPs.map((ip) => `${ip}/${familyOf(ip) === "IPv4" ? 32 : 128}`).join(" ")}]`;
  }
  return { tailnetIP: local, destination: dest };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A netip.Addr field as json.Unmarshal reads it: a string, "" the zero address. */
function addrField(v: unknown, where: string): string {
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") {
    throw new Error(`json: cannot unmarshal ${typeof v} into Go struct field ${where} of type netip.Addr`);
  }
  if (v !== "" && !isIP(v)) throw new Error(`ParseAddr(${JSON.stringify(v)}): unable to parse IP`);
  return v;
}

function mappingOf(v: unknown, where: string): Mapping | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw new Error(`json: cannot unmarshal ${typeof v} into Go struct field ${where}`);
  return {
    TailscaleServiceIP: addrField(v.TailscaleServiceIP, `${where}.TailscaleServiceIP`),
    ClusterIP: addrField(v.ClusterIP, `${where}.ClusterIP`),
  };
}

/**
 * getConfigs: the mounted file as `ingressservices.Configs`; null for a missing or empty file (or
 * JSON `null`). Throws json.Unmarshal's refusal (ingressservices.go getConfigs).
 */
export function parseIngressConfigs(text: string | undefined): Record<string, IngressConfig> | null {
  if (text === undefined || text.length === 0) return null;
  const raw = JSON.parse(text) as unknown;
  if (raw === null) return null;
  if (!isObject(raw)) {
    throw new Error(
      `json: cannot unmarshal ${Array.isArray(raw) ? "array" : typeof raw} into Go value of type ingressservices.Configs`,
    );
  }
  const out: Record<string, IngressConfig> = {};
  for (const [name, v] of Object.entries(raw)) {
    if (v !== null && !isObject(v)) {
      throw new Error(`json: cannot unmarshal ${typeof v} into Go value of type ingressservices.Config`);
    }
    const entry: IngressConfig = {};
    const v4 = mappingOf(v?.IPv4Mapping, "Config.IPv4Mapping");
    const v6 = mappingOf(v?.IPv6Mapping, "Config.IPv6Mapping");
    if (v4) entry.IPv4Mapping = v4;
    if (v6) entry.IPv6Mapping = v6;
    out[name] = entry;
  }
  return out;
}

/**
 * ensureIngressRulesAdded: one DNAT rule per mapping. EnsureDNATRuleForSvc fails for the zero address
 * and for two families (the rule goes to the table of one family), which fails the sync.
 */
export function ingressRules(configs: Record<string, IngressConfig> | null): L3Forward[] {
  const out: L3Forward[] = [];
  for (const [name, cfg] of Object.entries(configs ?? {})) {
    for (const m of [cfg.IPv4Mapping, cfg.IPv6Mapping]) {
      if (!m) continue;
      if (
        m.TailscaleServiceIP === "" ||
        m.ClusterIP === "" ||
        familyOf(m.TailscaleServiceIP) !== familyOf(m.ClusterIP)
      ) {
        throw new Error(
          `error adding ingress rule for ${name}: cannot DNAT ${m.TailscaleServiceIP || "invalid IP"} to ${m.ClusterIP || "invalid IP"}`,
        );
      }
      out.push({ tailnetIP: m.TailscaleServiceIP, destination: m.ClusterIP });
    }
  }
  return out;
}

function goMapping(m: Mapping): string {
  return `{"TailscaleServiceIP":${JSON.stringify(m.TailscaleServiceIP)},"ClusterIP":${JSON.stringify(m.ClusterIP)}}`;
}

/**
 * The status recordStatus writes (`ingressservices.Status`), as Go marshals it: `configs` (map keys
 * sorted, omitted when empty), then `podIPv4` and `podIPv6` (omitted when empty).
 */
export function ingressStatusJson(
  configs: Record<string, IngressConfig> | null,
  pod: { v4?: string; v6?: string },
): string {
  const parts: string[] = [];
  const names = Object.keys(configs ?? {}).sort();
  if (names.length > 0) {
    const entries = names.map((n) => {
      const c = configs![n]!;
      const fields = [
        c.IPv4Mapping ? `"IPv4Mapping":${goMapping(c.IPv4Mapping)}` : "",
        c.IPv6Mapping ? `"IPv6Mapping":${goMapping(c.IPv6Mapping)}` : "",
      ].filter(Boolean);
      return `${JSON.stringify(n)}:{${fields.join(",")}}`;
    });
    parts.push(`"configs":{${entries.join(",")}}`);
  }
  if (pod.v4) parts.push(`"podIPv4":${JSON.stringify(pod.v4)}`);
  if (pod.v6) parts.push(`"podIPv6":${JSON.stringify(pod.v6)}`);
  return `{${parts.join(",")}}`;
}

/**
 * Whether sync records a status: unless the desired configs equal the recorded ones and the recorded
 * status is this Pod's (same POD_IPS). No config and no status records nothing (ingressservices.go:89-123).
 */
export function statusToRecord(
  configs: Record<string, IngressConfig> | null,
  pod: { v4?: string; v6?: string },
  recorded: string | undefined,
): string | undefined {
  if (configs === null && recorded === undefined) return undefined;
  const next = ingressStatusJson(configs, pod);
  return next === recorded ? undefined : next;
}
