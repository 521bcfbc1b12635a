/**
 * The ConfigMap `<pg>-ingress-config` of a ProxyGroup, which every HA resource on it shares: the serve
 * config of the HA TailnetIngresses (`serve-config.json`) and the DNAT config of the HA
 * TailnetServices (`ingress-config.json`), each an entry per Tailscale Service, edited by many writers
 * at once (kube/sharedEdit.ts), and an annotation recording which Pulumi resource wrote each entry.
 */
import {
  type FieldPath,
  type Kube,
  KubeApiError,
  type KubeObject,
  type ObjectRef,
  sharedEdit,
} from "../../kube";
import { proxyGroupNames } from "../../plan/ha";
import type { ProxyGroupRef } from "../../plan/inputs";
import { coreRef } from "../kubeFacts";

/**
 * ConfigMap annotation recording which Pulumi resource wrote each entry of `serve-config.json` and
 * `ingress-config.json` (`{"svc:web":"proj/stack/web"}`). A ProxyGroup delete names them, and a second
 * resource in the same cluster cannot overwrite another's entry.
 */
export const SERVICE_OWNERS_ANNOTATION = "tailnet.pulumi.com/service-owners";

/**
 * What the HA resources write into the ConfigMap (read-modify-write, with our field manager): its data
 * keys and the owners annotation. The ProxyGroup's apply of the ConfigMap (labels and annotations)
 * leaves them to those writers.
 */
export const CONFIG_MAP_SHARED_FIELDS: readonly FieldPath[] = [
  ["binaryData"],
  ["data"],
  ["metadata", "annotations", SERVICE_OWNERS_ANNOTATION],
];

/** The ConfigMap `<pg>-ingress-config`. */
export function configMapRef(pg: ProxyGroupRef): ObjectRef {
  return coreRef("ConfigMap", pg.namespace, proxyGroupNames.configMap(pg.name));
}

/** The text of a ConfigMap key (`binaryData`, else `data`); undefined when absent. */
export function configMapText(cm: KubeObject | undefined, key: string): string | undefined {
  const bin = (cm?.binaryData as Record<string, string> | undefined)?.[key];
  if (bin !== undefined) return Buffer.from(bin, "base64").toString("utf8");
  return (cm?.data as Record<string, string> | undefined)?.[key];
}

/** The owners annotation of the shared ConfigMap: service name → ownerId. */
export function serviceOwnersOf(cm: KubeObject | undefined): Record<string, string> {
  const raw = cm?.metadata.annotations?.[SERVICE_OWNERS_ANNOTATION];
  if (!raw) return {};
  try {
    const v = JSON.parse(raw);
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, string>) : {};
  } catch {
    return {};
  }
}

/**
 * Refuses when `serviceName` in this ProxyGroup's ConfigMap belongs to another Pulumi resource: two
 * resources of one cluster must not overwrite each other's serve or DNAT config.
 */
export function refuseForeignEntry(cm: KubeObject | undefined, serviceName: string, ownerId: string): void {
  const owner = serviceOwnersOf(cm)[serviceName];
  if (owner !== undefined && owner !== ownerId) {
    throw new Error(
      `Tailscale Service ${serviceName} is already configured on ProxyGroup ${cm?.metadata.namespace}/${cm?.metadata.name} ` +
        `by Pulumi resource "${owner}"; one service name can be served by one resource per cluster. ` +
        "Choose another hostname, or remove that resource first.",
    );
  }
}

/**
 * Edits one key of the shared ConfigMap (`edit` gets the current text, returns the new text, or the same
 * text for no change) and records (`owner` a string) or forgets (`owner` null) who wrote `serviceName`.
 * Tolerates a missing ConfigMap when `missingOk` (a teardown after the ProxyGroup is gone).
 */
export async function editConfigMapKey(
  kube: Kube,
  pg: ProxyGroupRef,
  key: string,
  serviceName: string,
  owner: string | null,
  edit: (text: string | undefined) => string | undefined,
  missingOk = false,
): Promise<void> {
  try {
    await sharedEdit(kube, configMapRef(pg), (cm) => {
      if (owner !== null) refuseForeignEntry(cm, serviceName, owner);
      const before = configMapText(cm, key);
      const after = edit(before);
      const owners = serviceOwnersOf(cm);
      const ownersBefore = JSON.stringify(owners);
      if (owner === null) delete owners[serviceName];
      else owners[serviceName] = owner;
      const ownersChanged = JSON.stringify(owners) !== ownersBefore;
      if (after === before && !ownersChanged) return undefined;
      if (after !== before && after !== undefined) {
        cm.binaryData = {
          ...((cm.binaryData as Record<string, string>) ?? {}),
          [key]: Buffer.from(after, "utf8").toString("base64"),
        };
        const data = cm.data as Record<string, string> | undefined;
        if (data && key in data) delete data[key];
      }
      const annotations = { ...(cm.metadata.annotations ?? {}) };
      if (Object.keys(owners).length === 0) delete annotations[SERVICE_OWNERS_ANNOTATION];
      else annotations[SERVICE_OWNERS_ANNOTATION] = JSON.stringify(owners);
      cm.metadata.annotations = annotations;
      return cm;
    });
  } catch (err) {
    if (missingOk && err instanceof KubeApiError && err.code === 404) return;
    throw err;
  }
}

/** The ProxyGroup whose ConfigMap `ref` is. */
export function proxyGroupOfConfigMap(ref: { namespace?: string; name?: string }): ProxyGroupRef {
  return { namespace: ref.namespace ?? "", name: (ref.name ?? "").replace(/-ingress-config$/, "") };
}
