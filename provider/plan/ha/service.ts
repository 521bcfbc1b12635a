/**
 * HA TailnetService: a Tailscale Service `svc:<hostname>` whose traffic every ProxyGroup replica DNATs
 * to the backend Service's cluster IP (docs/operator-parity.md, "HA TailnetService").
 *
 * Provision order the lifecycle follows: Tailscale Service (PUT) → its addresses → the entry in the
 * ConfigMap's `ingress-config.json` → per replica, once {@link replicaReportsRules} holds,
 * `AdvertiseServices` in that replica's config.
 *
 * Ports: the Tailscale Service gets `["do-not-validate"]`, as the operator always sends. The DNAT
 * forwards every port and protocol of the service's addresses, the API can only express `tcp:<n>` (UDP
 * ports would be unlisted), and the hosts have no serve config for the service that control could
 * validate the ports against.
 */
import type { BackendServiceFacts } from "../backends";
import { PlanError } from "../errors";
import { goJsonString } from "../gojson";
import { serviceHostname } from "../hostnames";
import type { TailnetServiceInput } from "../inputs";
import { effectiveTags } from "../tags";
import { INGRESS_CONFIG_KEY, serviceNameFor } from "./common";
import { goMarshal, INGRESS_CONFIGS, INGRESS_SERVICE_CONFIG, jsonEqual, parseJsonObject } from "./gostruct";
import {
  buildTailscaleService,
  checkOwnership,
  joinTokenFor,
  OwnershipConflictError,
  type ServiceOwner,
  serviceAddresses,
  type TailscaleService,
} from "./ownership";

/** One address family of an L3 entry: VIP → cluster IP. */
export interface IngressMapping {
  TailscaleServiceIP: string;
  ClusterIP: string;
}

/** One entry of `ingress-config.json` (`ingressservices.Config`). */
export interface IngressServiceConfig {
  IPv4Mapping?: IngressMapping;
  IPv6Mapping?: IngressMapping;
}

/** Facts and identity an HA service plan needs beyond its inputs. */
export interface HAServiceContext {
  clusterId?: string;
  /** The Tailscale Service as it exists now; undefined when it does not exist. */
  existingService?: TailscaleService;
  /** Join token exported by an owner of an existing service; defaults to `input.joinToken`. */
  joinToken?: string;
  /** MagicDNS suffix, to report `<hostname>.<domain>`. */
  tailnetDomain?: string;
}

/** Everything the lifecycle writes for one HA service. */
export interface HAServicePlan {
  hostname: string;
  serviceName: string;
  dnsName?: string;
  tailscaleService: TailscaleService;
  owners: ServiceOwner[];
  joinToken: string;
  /**
   * `Configs["svc:<hostname>"]` of `ingress-config.json`; undefined until the Tailscale Service has
   * addresses (right after creation: GET it, then plan again).
   */
  ingressConfigEntry?: IngressServiceConfig;
}

/** The Tailscale Service ports of an HA TailnetService (see the module comment). */
export const HA_SERVICE_PORTS: readonly string[] = ["do-not-validate"];

/**
 * The DNAT entry for `backend` given the Tailscale Service's addresses: one mapping per cluster IP
 * family for which the VIP has an address (the last IPv4 and last IPv6 of `addrs`, as the operator).
 * Undefined when no family can be mapped.
 */
export function ingressConfigEntryFor(
  backend: BackendServiceFacts,
  vipAddrs: readonly string[] | undefined,
): IngressServiceConfig | undefined {
  const vip = serviceAddresses(vipAddrs);
  const clusterIPs =
    backend.clusterIPs && backend.clusterIPs.length > 0 ? backend.clusterIPs : [backend.clusterIP ?? ""];
  const entry: IngressServiceConfig = {};
  for (const ip of clusterIPs) {
    if (!ip || ip === "None") continue;
    if (ip.includes(":")) {
      if (vip.ipv6) entry.IPv6Mapping = { TailscaleServiceIP: vip.ipv6, ClusterIP: ip };
    } else if (vip.ipv4) entry.IPv4Mapping = { TailscaleServiceIP: vip.ipv4, ClusterIP: ip };
  }
  return entry.IPv4Mapping || entry.IPv6Mapping ? entry : undefined;
}

/**
 * Plan an HA TailnetService. Requires resolved inputs. Throws a PlanError when the backend has no
 * cluster IP (headless, ExternalName), and {@link OwnershipConflictError} when the Tailscale Service
 * belongs to someone else.
 */
export function planHAService(
  input: TailnetServiceInput,
  backend: BackendServiceFacts,
  ctx: HAServiceContext,
): HAServicePlan {
  const ref = `Service ${goJsonString(`${backend.namespace}/${backend.name}`)}`;
  if (backend.clusterIP === "None") {
    throw new PlanError(
      "HeadlessService",
      `${ref}: headless Services are not supported; expose a Service with a cluster IP`,
    );
  }
  if (!backend.clusterIP) {
    throw new PlanError(
      "NoClusterIP",
      `${ref} has no cluster IP (type ${backend.type}): an HA TailnetService forwards to a cluster IP; use a ClusterIP or LoadBalancer Service`,
    );
  }
  const h = serviceHostname(input);
  if (!h)
    throw new PlanError(
      "InvalidInput",
      "the service hostname is not known yet; resolve hostname before planning",
    );
  const hostname = h.hostname.toLowerCase();
  const serviceName = serviceNameFor(hostname);
  const ownerId = input.ownerId;
  const check = checkOwnership(
    serviceName,
    ctx.existingService,
    { ownerId, clusterId: ctx.clusterId, proxyGroup: input.proxyGroup },
    ctx.joinToken ?? input.joinToken,
  );
  if (!check.ok) throw new OwnershipConflictError(check.reason);
  const tailscaleService = buildTailscaleService(
    serviceName,
    ctx.existingService,
    check.owners,
    HA_SERVICE_PORTS,
    effectiveTags(input.tags),
  );
  return {
    hostname,
    serviceName,
    dnsName: ctx.tailnetDomain ? `${hostname}.${ctx.tailnetDomain}` : undefined,
    tailscaleService,
    owners: check.owners,
    joinToken: joinTokenFor(serviceName, ownerId),
    ingressConfigEntry: ingressConfigEntryFor(backend, ctx.existingService?.addrs),
  };
}

function parseConfigs(json: string | undefined, what: string): Record<string, unknown> {
  if (json === undefined || json === "") return {};
  return parseJsonObject(json, what);
}

/**
 * Set `name` in a ProxyGroup's `ingress-config.json` (undefined = no such key yet). Returns
 * `existingJson` itself when it already holds an equal entry; otherwise Go-formatted JSON.
 */
export function upsertIngressConfig(
  existingJson: string | undefined,
  name: string,
  entry: IngressServiceConfig,
): string {
  const cfgs = parseConfigs(existingJson, `ConfigMap key ${INGRESS_CONFIG_KEY}`);
  if (existingJson !== undefined && jsonEqual(cfgs[name], entry)) return existingJson;
  return goMarshal({ ...cfgs, [name]: entry }, INGRESS_CONFIGS);
}

/** Remove `name` from `ingress-config.json`; `existingJson` unchanged when absent. */
export function removeIngressConfig(existingJson: string | undefined, name: string): string | undefined {
  const cfgs = parseConfigs(existingJson, `ConfigMap key ${INGRESS_CONFIG_KEY}`);
  if (!(name in cfgs)) return existingJson;
  const next = { ...cfgs };
  delete next[name];
  return goMarshal(next, INGRESS_CONFIGS);
}

/** The service names in an `ingress-config.json`. */
export function ingressConfigServiceNames(existingJson: string | undefined): string[] {
  return Object.keys(parseConfigs(existingJson, `ConfigMap key ${INGRESS_CONFIG_KEY}`));
}

/** A replica's applied L3 status (state Secret key `ingress-config.json`), parsed. */
interface ReplicaIngressStatus {
  configs: Record<string, unknown>;
  podIPv4?: string;
  podIPv6?: string;
}

function parseStatus(json: string | undefined): ReplicaIngressStatus | undefined {
  if (!json) return undefined;
  try {
    const o = JSON.parse(json) as Record<string, unknown>;
    if (typeof o !== "object" || o === null) return undefined;
    const configs =
      typeof o.configs === "object" && o.configs !== null ? (o.configs as Record<string, unknown>) : {};
    return {
      configs,
      podIPv4: typeof o.podIPv4 === "string" && o.podIPv4 !== "" ? o.podIPv4 : undefined,
      podIPv6: typeof o.podIPv6 === "string" && o.podIPv6 !== "" ? o.podIPv6 : undefined,
    };
  } catch {
    return undefined;
  }
}

function podFamilies(podIPs: readonly string[]): { v4?: string; v6?: string } {
  return { v4: podIPs.find((ip) => !ip.includes(":")), v6: podIPs.find((ip) => ip.includes(":")) };
}

/** Whether the status was written by the pod that runs now (its IPs match the pod's `status.podIPs`). */
function statusIsCurrent(s: ReplicaIngressStatus, podIPs: readonly string[]): boolean {
  const pod = podFamilies(podIPs);
  return s.podIPv4 === pod.v4 && s.podIPv6 === pod.v6;
}

/**
 * The layer-3 advertise gate per replica (docs/operator-parity.md, "HA TailnetService"): the replica's
 * own status (state Secret `ingress-config.json`) was written by the running pod (IPs equal `podIPs`)
 * and holds exactly `expectedEntry` for `serviceName`, i.e. its DNAT rules are in place. The lifecycle
 * also requires the pod to exist and the backend to have a ready endpoint ({@link anyReadyEndpoint}).
 */
export function replicaReportsRules(
  stateSecretIngressConfigJson: string | undefined,
  podIPs: readonly string[],
  serviceName: string,
  expectedEntry: IngressServiceConfig,
): boolean {
  const s = parseStatus(stateSecretIngressConfigJson);
  if (!s || !statusIsCurrent(s, podIPs)) return false;
  return jsonEqual(s.configs[serviceName], JSON.parse(goMarshal(expectedEntry, INGRESS_SERVICE_CONFIG)));
}

/**
 * Teardown wait: the running pod no longer has DNAT rules for `serviceName`. A missing or stale status
 * (written by an earlier pod; rules live in the pod's network namespace) counts as removed.
 */
export function replicaRulesRemoved(
  stateSecretIngressConfigJson: string | undefined,
  podIPs: readonly string[],
  serviceName: string,
): boolean {
  const s = parseStatus(stateSecretIngressConfigJson);
  if (!s || !statusIsCurrent(s, podIPs)) return true;
  return !(serviceName in s.configs);
}

/** The label the EndpointSlice controller puts on a Service's EndpointSlices: the Service's name. */
export const ENDPOINT_SLICE_SERVICE_LABEL = "kubernetes.io/service-name";

/** An EndpointSlice, reduced to what readiness needs. */
export interface EndpointSliceFacts {
  /** The slice's endpoints; `conditions.ready` as the EndpointSlice controller reports it. */
  endpoints?: { conditions?: { ready?: boolean | null } | null }[] | null;
}

/**
 * Whether a backend Service can take traffic: one of its EndpointSlices lists a ready endpoint, the
 * operator's gate before it advertises a layer-3 Tailscale Service on any replica
 * (tailscale/tailscale@de9ec7ee cmd/k8s-operator/svc-for-pg.go, `checkEndpointsReady`). No slice, or
 * slices with no ready endpoint, is not ready. An unset `ready` counts as ready, as the EndpointSlice
 * API defines it ("a nil value should be interpreted as true", k8s.io/api discovery/v1
 * EndpointConditions); the operator dereferences it unchecked.
 */
export function anyReadyEndpoint(slices: readonly EndpointSliceFacts[]): boolean {
  return slices.some((s) => (s.endpoints ?? []).some((e) => (e.conditions?.ready ?? true) === true));
}
