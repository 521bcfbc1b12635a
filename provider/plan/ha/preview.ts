/**
 * What a preview lists for an HA TailnetIngress or TailnetService (`plannedObjects`, the standalone
 * proxy's objects' counterpart): every write its `up` makes, named by object and, inside a shared
 * object, by the entry it writes, each with a fingerprint of what is written (plan/fingerprint.ts).
 *
 * - `Secret|Role|RoleBinding/<pg namespace>/<hostname>.<tailnet-domain>`: the certificate Secret and
 *   the RBAC that lets the replicas use it (TailnetIngress). The tailnet's MagicDNS suffix is read from
 *   the replicas at `up`; the name stands for it, and it never changes for a tailnet.
 * - `ConfigMap/<pg namespace>/<pg>-ingress-config#serve-config.json/Services/svc:<hostname>` (the serve
 *   config entry) or `…#ingress-config.json/svc:<hostname>` (the DNAT entry): the entry this resource
 *   owns in the ProxyGroup's shared ConfigMap, planned against the backends as a standalone preview
 *   plans them (plan/backends.ts `placeholderBackends`); unknown while a backend Service is being
 *   created or replaced, since its address is then unknown.
 * - `TailscaleService/svc:<hostname>`: what the Tailscale Service is written with (its ports, tags,
 *   comment and our ownership; its addresses are allocated by the API).
 * - `Secret/<pg namespace>/<pg>-*-config#cap-106.hujson/AdvertiseServices/svc:<hostname>`: the
 *   service in every replica's `AdvertiseServices`. One entry for all replicas, not one per replica:
 *   this resource's `up` adds the service to every replica there is, and a change of the replica count
 *   is the ProxyGroup's update, which advertises the group's services on its new replicas and shows in
 *   the ProxyGroup's own preview. The count is no input of this resource, and need not be.
 *
 * So the fingerprints change exactly when an `up` would write something different, and an input an
 * HA `up` writes nowhere (`namespace`, `proxyClass`, `waitForCertificate`, `customTimeouts`) changes
 * none. Pure.
 */
import {
  ingressBackends,
  placeholderBackends,
  placeholderService,
  withoutServiceRevisions,
} from "../backends";
import { fingerprintedObjects, fingerprintObject } from "../fingerprint";
import {
  containsUnknown,
  type ProxyGroupRef,
  type ServiceRefInput,
  type TailnetIngressInput,
  type TailnetServiceInput,
  UNKNOWN,
} from "../inputs";
import { CONFIG_KEY, INGRESS_CONFIG_KEY, PROXY_GROUP_SERVE_CONFIG_KEY } from "./common";
import { planHAIngress } from "./ingress";
import type { TailscaleService } from "./ownership";
import { proxyGroupNames } from "./proxygroup";
import { ingressConfigEntryFor, planHAService } from "./service";

/** What stands for the tailnet's MagicDNS suffix in a preview (the replicas report it at `up`). */
export const PREVIEW_TAILNET_DOMAIN = "<tailnet-domain>";

/** Addresses of a Tailscale Service not created yet, one per family, for planning its DNAT entry. */
const PREVIEW_SERVICE_ADDRS: readonly string[] = ["0.0.0.0", "::"];

/** `Kind/namespace/name[#entry]` → fingerprint, or the unknown sentinel for an entry not known yet. */
export type PlannedWrites = Record<string, string>;

/**
 * Inputs with the backend Services' revisions left out while one is unknown, and whether the backends'
 * addresses are known: not while a revision is unknown, nor while one names no address (the preview
 * of the Service's own create reports its inputs, which have none yet). The caller has checked that
 * nothing else is unknown.
 */
function plannable<I>(input: I, refs: readonly ServiceRefInput[]): { known: I; backendsKnown: boolean } {
  if (containsUnknown(input)) return { known: withoutServiceRevisions(input), backendsKnown: false };
  const addressed = refs.every(
    (r) => !r.revision || r.revision.clusterIPs?.length || r.revision.externalName,
  );
  return { known: input, backendsKnown: addressed };
}

/** The key of this resource's entry in the ProxyGroup's ConfigMap. */
function configMapEntry(pg: ProxyGroupRef, key: string, path: string): string {
  return `ConfigMap/${pg.namespace}/${proxyGroupNames.configMap(pg.name)}#${key}/${path}`;
}

/** The Tailscale Service as written. */
function tailscaleServiceWrite(service: TailscaleService): PlannedWrites {
  return { [`TailscaleService/${service.name}`]: fingerprintObject(service) };
}

/** The service in every replica's config Secret (`proxyGroupNames.configSecret`), whatever their count. */
function advertiseWrite(pg: ProxyGroupRef, serviceName: string): PlannedWrites {
  const key = `Secret/${pg.namespace}/${pg.name}-*-config#${CONFIG_KEY}/AdvertiseServices/${serviceName}`;
  return { [key]: fingerprintObject({ AdvertiseServices: [serviceName] }) };
}

/** What an `up` of an HA TailnetIngress writes, in its order. Throws what planHAIngress throws. */
export function haIngressWrites(input: TailnetIngressInput): PlannedWrites {
  const { known, backendsKnown } = plannable(
    input,
    ingressBackends(input).map((e) => e.backend.service),
  );
  const backends = placeholderBackends(ingressBackends(known).map((e) => e.backend));
  const plan = planHAIngress(known, backends, { tailnetDomain: PREVIEW_TAILNET_DOMAIN });
  const pg = known.proxyGroup!;
  return {
    ...fingerprintedObjects({ objects: [plan.certSecret!, plan.certRole!, plan.certRoleBinding!] }),
    [configMapEntry(pg, PROXY_GROUP_SERVE_CONFIG_KEY, `Services/${plan.serviceName}`)]: backendsKnown
      ? fingerprintObject(plan.serveConfigEntry!)
      : UNKNOWN,
    ...tailscaleServiceWrite(plan.tailscaleService),
    ...advertiseWrite(pg, plan.serviceName),
  };
}

/** What an `up` of an HA TailnetService writes, in its order. Throws what planHAService throws. */
export function haServiceWrites(input: TailnetServiceInput): PlannedWrites {
  const { known, backendsKnown } = plannable(input, [input.service]);
  const backend = placeholderService(known.service);
  const plan = planHAService(known, backend, {});
  const pg = known.proxyGroup!;
  return {
    ...tailscaleServiceWrite(plan.tailscaleService),
    [configMapEntry(pg, INGRESS_CONFIG_KEY, plan.serviceName)]: backendsKnown
      ? fingerprintObject(ingressConfigEntryFor(backend, PREVIEW_SERVICE_ADDRS) ?? {})
      : UNKNOWN,
    ...advertiseWrite(pg, plan.serviceName),
  };
}
