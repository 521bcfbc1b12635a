/**
 * Tailnet hostnames: how each kind derives its name from its inputs when `hostname` is not set, and
 * the wording of a failure for each source. Pure; an input the name depends on that is the preview
 * unknown sentinel makes the name unknown (undefined).
 */
import { goQuote } from "./gojson";
import {
  isUnknown,
  type ServiceRefInput,
  type TailnetIngressInput,
  type TailnetServiceInput,
} from "./inputs";

/** The first DNS label of a hostname or FQDN (`foo.tailnet.ts.net` → `foo`, `foo` → `foo`). */
export function firstLabel(hostOrFqdn: string): string {
  const dot = hostOrFqdn.indexOf(".");
  return dot < 0 ? hostOrFqdn : hostOrFqdn.slice(0, dot);
}

/** Where a proxy's tailnet hostname came from; decides the wording of a validation failure. */
export type HostnameSource = "hostname" | "rule-host" | "service" | "resource-name";

/** A tailnet hostname together with where it came from. */
export interface DerivedHostname {
  /** The DNS label (as the user spelled it; control lowercases it). */
  hostname: string;
  source: HostnameSource;
}

/**
 * The hostname of a TailnetService: the first label of `hostname` when set, else `<namespace>-<name>` of
 * the backend Service, as the operator derives it. Undefined when an input it depends on is unknown.
 */
export function serviceHostname(
  input: Partial<Pick<TailnetServiceInput, "hostname" | "service">>,
): DerivedHostname | undefined {
  if (input.hostname !== undefined) {
    if (isUnknown(input.hostname)) return undefined;
    return { hostname: firstLabel(input.hostname), source: "hostname" };
  }
  const svc = input.service as ServiceRefInput | undefined;
  if (!svc || isUnknown(svc) || isUnknown(svc.namespace) || isUnknown(svc.name)) return undefined;
  return { hostname: `${svc.namespace}-${svc.name}`, source: "service" };
}

/** The Pulumi resource name: the last `/`-separated segment of an ownerId `<project>/<stack>/<name>`. */
export function resourceNameOf(ownerId: string): string {
  const i = ownerId.lastIndexOf("/");
  return i < 0 ? ownerId : ownerId.slice(i + 1);
}

/**
 * The hostname of a TailnetIngress: the first label of `hostname`; else of the first rule `host`; else the
 * Pulumi resource name. The operator uses `<namespace>-<name>-ingress`, which silently exceeds 63 bytes for
 * long names; we derive from the resource name and refuse an invalid result at check time instead.
 * Undefined when an input it depends on is unknown.
 */
export function ingressHostname(
  input: Partial<Pick<TailnetIngressInput, "hostname" | "rules" | "ownerId">>,
): DerivedHostname | undefined {
  if (input.hostname !== undefined) {
    if (isUnknown(input.hostname)) return undefined;
    return { hostname: firstLabel(input.hostname), source: "hostname" };
  }
  if (isUnknown(input.rules)) return undefined;
  // Malformed rules are reported by their own validator; here they name no host.
  for (const rule of Array.isArray(input.rules) ? input.rules : []) {
    if (isUnknown(rule) || isUnknown(rule?.host)) return undefined;
    if (typeof rule?.host === "string" && rule.host)
      return { hostname: firstLabel(rule.host), source: "rule-host" };
  }
  if (isUnknown(input.ownerId) || typeof input.ownerId !== "string") return undefined;
  return { hostname: resourceNameOf(input.ownerId), source: "resource-name" };
}

/** The operator-style failure text for an invalid hostname, adapted to our inputs. */
export function hostnameFailure(h: DerivedHostname, err: string): string {
  switch (h.source) {
    case "hostname":
      return `invalid Tailscale hostname specified ${goQuote(h.hostname)}: ${err}`;
    case "service":
      return `invalid Tailscale hostname ${goQuote(h.hostname)}, use "hostname" to override: ${err}`;
    case "rule-host":
      return `invalid Tailscale hostname ${goQuote(h.hostname)} taken from the first rule host, use "hostname" to override: ${err}`;
    case "resource-name":
      return `invalid Tailscale hostname ${goQuote(h.hostname)} derived from the resource name, use "hostname" to override: ${err}`;
  }
}

/**
 * The tailnet name a device holds: the first label of its MagicDNS name (or of its hostname when it has
 * none), lowercased, since control compares names case-insensitively.
 */
export function tailnetNameOf(device: { name?: string; hostname?: string }): string {
  return firstLabel(device.name ?? device.hostname ?? "").toLowerCase();
}
