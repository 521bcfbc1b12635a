/**
 * Moving a TailnetIngress or TailnetService between a standalone proxy and a ProxyGroup in one `up`.
 *
 * The tailnet name is the obstacle: the standalone device holds the MagicDNS name `<hostname>.<tailnet>`
 * and the API refuses a Tailscale Service `svc:<hostname>` whose name a machine uses (and the other way
 * round, control would register a new device as `<hostname>-1` while the service holds the name). So
 * the new path is brought up as far as it can go without the name, then the old one hands the name
 * over, then the new one takes it:
 *
 * standalone → HA (the HA create, before the old resource's delete):
 *   1. cert objects and the serve config entry are written; the standalone proxy's certificate (same
 *      domain) is copied into the HA certificate Secret, so the replicas serve it at once and nothing
 *      is issued (the operator deletes it and deadlocks instead, tailscale/tailscale PR #21350);
 *   2. the standalone StatefulSet is deleted (waiting for its Pod) and its device is deleted: the name
 *      is free;
 *   3. the Tailscale Service is created and advertised by every replica.
 *   The old resource's delete then removes the Secrets and RBAC left (device and StatefulSet already
 *   gone count as done). Clients see the name move from the device's IP to the service's: the window
 *   is steps 2-3, seconds (a Pod termination, two API calls, a config reload), plus DNS caching
 *   (MagicDNS answers change at once; clients that cached the old address retry).
 *
 * HA → standalone: {@link releaseForStandalone} (to be called by the standalone create) stops
 * advertising and deletes the Tailscale Service when this resource is its only owner, so that the new
 * device gets the plain name.
 */
import { type KubeObject, selectorOf } from "../../kube";
import {
  haIngressTeardown,
  haServiceTeardown,
  INGRESS_CONFIG_KEY,
  LABEL_OWNER,
  LABEL_PARENT_TYPE,
  PROXY_GROUP_SERVE_CONFIG_KEY,
  parseOwners,
  serviceNameFor,
} from "../../plan/ha";
import { tailnetNameOf } from "../../plan/hostnames";
import { legacyLabels, ownerHash } from "../../plan/labels";
import { proxyNames } from "../../plan/names";
import { isSharedIn } from "../devices";
import { coreRef, listSelection, secretData } from "../kubeFacts";
import { configMapText, proxyGroupOfConfigMap, serviceOwnersOf } from "./configMap";
import type { HARuntime } from "./runtime";
import { runTeardown } from "./teardown";

/** The standalone proxy of this same Pulumi resource that holds the tailnet name. */
export interface StandaloneHolder {
  namespace: string;
  statefulSet: string;
  stateSecret: string;
  deviceId: string;
}

/**
 * Who holds the tailnet name `hostname` as a machine: nobody (undefined), this resource's own standalone
 * proxy (a migration), or anything else, which fails the `up` before any change, naming the device.
 */
export async function nameHolder(
  rt: HARuntime,
  hostname: string,
  ownerId: string,
  kind: string,
): Promise<StandaloneHolder | undefined> {
  const device = (await rt.tailscale.sharedDeviceList()).find(
    (d) => !isSharedIn(d) && tailnetNameOf(d) === hostname,
  );
  if (!device) return undefined;
  const deviceId = device.nodeId ?? device.id;
  const names = proxyNames(hostname);
  const stses = await rt.kube.list(
    "apps/v1",
    "StatefulSet",
    undefined,
    selectorOf({ [LABEL_OWNER]: ownerHash(ownerId) }),
  );
  for (const sts of stses) {
    if (sts.metadata.name !== names.statefulSet) continue;
    const ns = sts.metadata.namespace ?? "";
    const state = secretData(await rt.kube.get(coreRef("Secret", ns, names.secret)));
    if (state.device_id === deviceId || state.device_id === device.id) {
      return { namespace: ns, statefulSet: names.statefulSet, stateSecret: names.secret, deviceId };
    }
  }
  throw new Error(
    `${kind}: the tailnet name "${hostname}" is held by device ${device.name ?? device.hostname} (id ${deviceId}), ` +
      `so Tailscale Service ${serviceNameFor(hostname)} cannot be created (the API refuses a service name that a machine uses). ` +
      "Remove that device from the tailnet, or choose another hostname.",
  );
}

/** Copies the standalone proxy's certificate for `dnsName` into the HA certificate Secret, if it has none. */
export async function copyStandaloneCertificate(
  rt: HARuntime,
  holder: StandaloneHolder,
  certNamespace: string,
  dnsName: string,
): Promise<void> {
  const state = secretData(await rt.kube.get(coreRef("Secret", holder.namespace, holder.stateSecret)));
  const crt = state[`${dnsName}.crt`];
  const key = state[`${dnsName}.key`];
  if (!crt || !key) return;
  await rt.kube.readModifyWrite(coreRef("Secret", certNamespace, dnsName), (secret: KubeObject) => {
    const data = secretData(secret);
    if (data["tls.crt"]) return undefined;
    secret.data = {
      ...((secret.data as Record<string, string>) ?? {}),
      "tls.crt": Buffer.from(crt).toString("base64"),
      "tls.key": Buffer.from(key).toString("base64"),
    };
    return secret;
  });
}

/** Stops the standalone proxy (waiting for its Pod) and deletes its device: the tailnet name is free. */
export async function retireStandalone(rt: HARuntime, holder: StandaloneHolder): Promise<void> {
  const sts = {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    namespace: holder.namespace,
    name: holder.statefulSet,
  };
  if (await rt.kube.delete(sts, { propagationPolicy: "Foreground" }))
    await rt.kube.waitForDeletion(sts, rt.remainingMs());
  await rt.tailscale.deleteDevice(holder.deviceId);
}

/**
 * HA → standalone: when this resource (`ownerId`) alone owns the Tailscale Service `svc:<hostname>`,
 * runs its HA teardown (stop advertising, wait, remove the config entry, delete the service; the cert
 * objects stay for the HA resource's own delete) so that the standalone device registers with the plain
 * name. Returns whether it released a service. Meant to be called by the standalone create before it
 * checks the name; a no-op for anything that is not such a migration.
 */
export async function releaseForStandalone(
  rt: HARuntime,
  hostname: string,
  ownerId: string,
): Promise<boolean> {
  const serviceName = serviceNameFor(hostname);
  const svc = await rt.tailscale.getService(serviceName);
  if (!svc) return false;
  const owners = parseOwners(svc.annotations);
  if (owners.kind !== "owners" || owners.owners.length === 0 || owners.owners.some((o) => o.id !== ownerId))
    return false;
  const byType = { [LABEL_PARENT_TYPE]: "proxygroup" };
  const cms = await listSelection(rt.kube, {
    apiVersion: "v1",
    kind: "ConfigMap",
    labels: byType,
    legacyLabels: legacyLabels(byType),
  });
  for (const cm of cms) {
    if (serviceOwnersOf(cm)[serviceName] !== ownerId) continue;
    const pg = proxyGroupOfConfigMap(cm.metadata);
    const l7 = configMapText(cm, PROXY_GROUP_SERVE_CONFIG_KEY)?.includes(`"${serviceName}"`) ?? false;
    const l3 = configMapText(cm, INGRESS_CONFIG_KEY)?.includes(`"${serviceName}"`) ?? false;
    const teardown = l7
      ? haIngressTeardown({ proxyGroup: pg, serviceName, ownerId })
      : l3
        ? haServiceTeardown({ proxyGroup: pg, serviceName, ownerId })
        : [];
    await runTeardown(rt, teardown);
  }
  // Whatever the ProxyGroups still had, the name must be free for the device.
  await runTeardown(rt, [
    {
      step: "releaseTailscaleService",
      description: `delete Tailscale Service ${serviceName}`,
      serviceName,
      ownerId,
    },
  ]);
  return true;
}
