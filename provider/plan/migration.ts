/**
 * Where a standalone↔HA migration looks for the other side of the same resource, and what it says when
 * it cannot tell (provider/resources/ha/migration.ts does the reading). Pure.
 *
 * Both directions read objects by name, in namespaces the inputs or the owners annotation give, and
 * never list across namespaces: the deployer holds namespaced Roles only (deploy/deployer-rbac.yaml).
 * A read the API server refuses never counts as "not there": it is named in the error, with the
 * permission to grant.
 */
import { proxyNamespace } from "./diff";
import { OWNERS_ANNOTATION, type ParsedOwners, serviceNameFor } from "./ha";
import type { ProxyGroupRef } from "./inputs";
import type { ProxySchema } from "./schema/proxy";

/**
 * standalone → HA: the namespaces the former standalone proxy of these HA inputs can be in, in the order
 * to look: where the same inputs without `proxyGroup` put it (`namespace`, else the default of the rule
 * `proxyNamespace`), the ProxyGroup's namespace (a common place for proxies), then the other backends'
 * namespaces (the default follows the first backend, which may have been another one).
 */
export function formerStandaloneNamespaces(
  schema: ProxySchema<any>,
  input: Record<string, unknown> & { proxyGroup?: ProxyGroupRef },
): string[] {
  const standalone = proxyNamespace(schema, { ...input, proxyGroup: undefined });
  const all = [standalone, input.proxyGroup?.namespace, ...schema.backendNamespaces(input)];
  return [...new Set(all.filter((ns): ns is string => typeof ns === "string" && ns !== "unknown"))];
}

/** A namespace whose read the API server refused, with the refusal as the server worded it. */
export interface UnreadableNamespace {
  namespace: string;
  error: string;
}

/** What a failed search for the holder of a tailnet name found. */
export interface NameHolderSearch {
  kind: string;
  hostname: string;
  device: { name: string; id: string };
  /** The state Secret the former standalone proxy would have (plan/names.ts). */
  stateSecret: string;
  /** Namespaces read, where no state Secret of this resource names the device. */
  searched: string[];
  unreadable: UnreadableNamespace[];
}

/** The error of a tailnet name held by a device that is not found to be this resource's own proxy. */
export function nameHeldMessage(s: NameHolderSearch): string {
  const head =
    `${s.kind}: the tailnet name "${s.hostname}" is held by device ${s.device.name} (id ${s.device.id}), ` +
    `so Tailscale Service ${serviceNameFor(s.hostname)} cannot be created (the API refuses a service name that a machine uses)`;
  const searched =
    s.searched.length > 0
      ? `; no state Secret ${s.stateSecret} of this resource records that device in namespace ${s.searched.join(", ")}`
      : "";
  if (s.unreadable.length > 0) {
    const refused = s.unreadable.map((u) => `${u.namespace} (${u.error})`).join("; ");
    const where = s.unreadable.map((u) => u.namespace).join(", ");
    return (
      `${head}${searched}, and the deployer may not read it in namespace ${refused}. ` +
      `If that device is this resource's former standalone proxy, grant the deployer \`get\` on secrets in namespace ${where} ` +
      "(the Role pulumi-tailnet-proxies of deploy/deployer-rbac.yaml) and run `pulumi up` again; " +
      "otherwise remove that device from the tailnet, or choose another hostname."
    );
  }
  return (
    `${head}${searched}. If that device is this resource's former standalone proxy in another namespace, ` +
    "keep the `namespace` input it had while setting proxyGroup (it is otherwise unused with proxyGroup) so that it is " +
    "looked for there; otherwise remove that device from the tailnet, or choose another hostname."
  );
}

/** A ProxyGroup an owner entry records, and whether it may be in this cluster. */
export interface RecordedProxyGroup {
  proxyGroup: ProxyGroupRef;
  /**
   * false only when the entry names another cluster than this one: a refused read of its ConfigMap
   * then means nothing here (the entry's ProxyGroup is not in this cluster).
   */
  maybeHere: boolean;
}

/** HA → standalone: what the standalone create must do with the Tailscale Service of its name. */
export type StandaloneRelease =
  /** Not this resource's alone (or not ours at all): the name check that follows decides. */
  | { action: "none" }
  /** Stop serving it on these ProxyGroups (those found here), then delete it. */
  | { action: "release"; proxyGroups: RecordedProxyGroup[] }
  /** It cannot be found where it is served; nothing is changed. */
  | { action: "refuse"; reason: string };

/**
 * Decides {@link StandaloneRelease} from the service's owners and this cluster's identity (undefined
 * when it could not be read: every entry may then be this cluster's). An entry without a ProxyGroup
 * (written by an older version) that may be this cluster's refuses: the ProxyGroup serving it cannot
 * be found by name, and deleting a Tailscale Service that replicas still advertise and route is what
 * the teardown order exists to prevent (plan/ha/teardown.ts).
 */
export function planStandaloneRelease(
  kind: string,
  serviceName: string,
  owners: ParsedOwners,
  ownerId: string,
  clusterId: string | undefined,
): StandaloneRelease {
  if (owners.kind !== "owners" || owners.owners.length === 0 || owners.owners.some((o) => o.id !== ownerId))
    return { action: "none" };
  const byRef = new Map<string, RecordedProxyGroup>();
  let unrecorded = false;
  for (const o of owners.owners) {
    const maybeHere = o.cluster === undefined || clusterId === undefined || o.cluster === clusterId;
    if (!o.proxyGroup) {
      unrecorded ||= maybeHere;
      continue;
    }
    const key = `${o.proxyGroup.namespace}/${o.proxyGroup.name}`;
    const seen = byRef.get(key);
    byRef.set(key, { proxyGroup: o.proxyGroup, maybeHere: maybeHere || (seen?.maybeHere ?? false) });
  }
  if (unrecorded) {
    return {
      action: "refuse",
      reason:
        `${kind}: Tailscale Service ${serviceName} is still served for this resource by a ProxyGroup, and its owners ` +
        `annotation (${OWNERS_ANNOTATION}) was written by an older pulumi-tailnet that did not record which ProxyGroup, ` +
        "so it cannot be found by name to stop serving the service before the standalone proxy takes the name; nothing was " +
        "changed. To move this resource to a standalone proxy, set the resource option `deleteBeforeReplace: true` on it for " +
        "this one `pulumi up` (the ProxyGroup side, whose state names its ProxyGroup, is then deleted first with its full " +
        "teardown, and the name is unreachable for the seconds until the standalone proxy registers), then remove the option.",
    };
  }
  return { action: "release", proxyGroups: [...byRef.values()] };
}

/** The error of a ProxyGroup ConfigMap that an owner entry names but the deployer may not read. */
export function configMapUnreadableMessage(
  kind: string,
  serviceName: string,
  pg: ProxyGroupRef,
  configMap: string,
  error: string,
): string {
  return (
    `${kind}: cannot read ConfigMap ${pg.namespace}/${configMap} of ProxyGroup ${pg.namespace}/${pg.name}, which serves ` +
    `Tailscale Service ${serviceName} (as its owners annotation records), to stop serving it before the standalone proxy ` +
    `takes the name: ${error}. Grant the deployer \`get\` on configmaps in namespace ${pg.namespace} (the Role ` +
    "pulumi-tailnet-proxies of deploy/deployer-rbac.yaml) and run `pulumi up` again."
  );
}
