/**
 * Labels and annotations that mark the objects a proxy owns.
 *
 * The operator's controllers find their objects by the labels `tailscale.com/managed: "true"` and
 * `tailscale.com/parent-resource{,-ns,-type}` (tailscale/tailscale@de9ec7ee cmd/k8s-operator/operator.go:826-855,
 * 1195-1217, 1259-1313, 1392-1520; k8s-operator/reconciler/dnsrecords/dnsrecords.go:114-131, 545-572), in any
 * namespace for Services and EndpointSlices and in the operator's own for the rest. So that an operator in the
 * same cluster leaves our objects alone, ours carry the same parent labels under our own prefix
 * (`tailnet.pulumi.com/parent-resource{,-ns,-type}`) and no `tailscale.com/managed`. Kept from the operator,
 * because something outside the operator reads them: the operator's metrics labels of metrics Services
 * (plan/metrics.ts: Prometheus and ServiceMonitors; their `tailscale.com/managed` comes with no parent type, which
 * every operator selector on it also wants), and on HA certificate Secrets the three labels containerboot lists
 * them by (common.ts).
 * tests/unit/beside-operator.test.ts checks every planned object against every operator selector.
 *
 * Our ownership marks: `app.kubernetes.io/managed-by`, `app.kubernetes.io/name`, and
 * `tailnet.pulumi.com/owner` (a hash of the Pulumi resource identity, which a retried create uses to adopt
 * what a failed one left, and a sweep uses to find leaks).
 *
 * Objects written before the rename carry the operator's keys ({@link legacyLabels}): lookups by label list
 * both (objects.ts `Selection.legacyLabels`), and a ProxyGroup StatefulSet keeps the selector it was created
 * with, which Kubernetes does not let change (plan/ha/proxygroup.ts).
 */
import { sha256Hex } from "./gojson";

/** The operator's `tailscale.com/managed: "true"`: on our objects only where containerboot needs it. */
export const OPERATOR_LABEL_MANAGED = "tailscale.com/managed";
/** Name of the parent resource: the backend Service, the resource, or the ProxyGroup. */
export const LABEL_PARENT_NAME = "tailnet.pulumi.com/parent-resource";
/** Namespace of the parent resource. */
export const LABEL_PARENT_NAMESPACE = "tailnet.pulumi.com/parent-resource-ns";
/** `svc` (layer 3), `ingress` (layer 7) or `proxygroup`, the operator's values. */
export const LABEL_PARENT_TYPE = "tailnet.pulumi.com/parent-resource-type";
/** Secret role of a ProxyGroup's Secrets: `config` or `state`. */
export const LABEL_SECRET_TYPE = "tailnet.pulumi.com/secret-type";

/**
 * Our keys as versions before the rename wrote them: the operator's (tailscale/tailscale@de9ec7ee
 * cmd/k8s-operator/sts.go:49-51, kube/kubetypes/types.go:61-62), with `tailscale.com/managed: "true"`.
 */
const LEGACY_KEYS: Readonly<Record<string, string>> = {
  [LABEL_PARENT_NAME]: "tailscale.com/parent-resource",
  [LABEL_PARENT_NAMESPACE]: "tailscale.com/parent-resource-ns",
  [LABEL_PARENT_TYPE]: "tailscale.com/parent-resource-type",
  [LABEL_SECRET_TYPE]: "tailscale.com/secret-type",
};

/**
 * True for labels an earlier version wrote: the operator's `tailscale.com/managed` with its parent type.
 * A StatefulSet so labelled keeps its selector and Pod template labels (plan/standalone.ts,
 * plan/ha/proxygroup.ts `legacyPodLabels`): a ProxyGroup's selector cannot change, and new Pod labels
 * would restart every proxy for nothing the operator looks at.
 */
export function writtenBeforeRename(labels: Readonly<Record<string, string>> | undefined): boolean {
  return labels?.[OPERATOR_LABEL_MANAGED] === "true" && LEGACY_KEYS[LABEL_PARENT_TYPE]! in labels;
}

/**
 * The output under which create and update record how they labelled the resource's Kubernetes objects
 * (provider/index.ts). State without it was written by an earlier version, whose objects carry the
 * operator's labels: the diff then asks for an update that relabels them ({@link relabelReason}).
 */
export const OBJECT_LABELS = "objectLabels";
/** The value of {@link OBJECT_LABELS}: our prefix. */
export const OBJECT_LABELS_NOW = "tailnet.pulumi.com";

/** Why the resource must be updated to relabel its objects, or undefined when it need not be. */
export function relabelReason(olds: Readonly<Record<string, unknown>>): string | undefined {
  const objects = olds.kubernetesObjects;
  if (!Array.isArray(objects) || objects.length === 0 || olds[OBJECT_LABELS] === OBJECT_LABELS_NOW)
    return undefined;
  return (
    "its Kubernetes objects carry the labels an earlier pulumi-tailnet gave them, the Tailscale operator's own " +
    "(tailscale.com/managed, tailscale.com/parent-resource*), which an operator in the cluster acts on: the update " +
    "relabels them under tailnet.pulumi.com/ and changes nothing else (a StatefulSet keeps its selector and its Pods' labels, so no Pod restarts)"
  );
}

/** `labels` without the keys an earlier version wrote that this one does not (for a read-modify-write merge). */
export function withoutLegacyKeys(labels: Readonly<Record<string, string>>): Record<string, string> {
  const old = new Set([...Object.values(LEGACY_KEYS), OPERATOR_LABEL_MANAGED]);
  return Object.fromEntries(Object.entries(labels).filter(([k]) => !old.has(k)));
}

/**
 * The labels an object had when a version before the rename wrote it: each renamed key under its old name,
 * plus `tailscale.com/managed: "true"` when any was renamed (every such object had it).
 */
export function legacyLabels(labels: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  let renamed = false;
  for (const [k, v] of Object.entries(labels)) {
    const old = LEGACY_KEYS[k];
    if (old) renamed = true;
    out[old ?? k] = v;
  }
  if (renamed) out[OPERATOR_LABEL_MANAGED] = "true";
  return out;
}
/** Recommended Kubernetes label naming the managing tool. */
export const LABEL_MANAGED_BY = "app.kubernetes.io/managed-by";
/** Recommended Kubernetes label naming the application. */
export const LABEL_APP_NAME = "app.kubernetes.io/name";
/** Hash of the owning Pulumi resource's identity (a valid label value). */
export const LABEL_OWNER = "tailnet.pulumi.com/owner";
/** Pod selector label; the operator puts the parent's UID here, we have none and use the owner hash. */
export const LABEL_SELECTOR = "app";
/** The full owning Pulumi resource identity `<project>/<stack>/<name>` (may exceed a label value). */
export const ANNOTATION_OWNER_ID = "tailnet.pulumi.com/owner-id";
/** Pod annotation that restarts the proxy when the L3 target IP changes (operator). */
export const ANNOTATION_LAST_SET_CLUSTER_IP = "tailscale.com/operator-last-set-cluster-ip";
/** Pod annotation that restarts the proxy when the L3 target DNS name changes (operator). */
export const ANNOTATION_LAST_SET_CLUSTER_DNS_NAME = "tailscale.com/operator-last-set-cluster-dns-name";

/** Value of {@link LABEL_MANAGED_BY}. */
export const MANAGED_BY = "pulumi-tailnet";
/** Value of {@link LABEL_APP_NAME}. */
export const APP_NAME = "tailscale";

/**
 * Label keys that identify a proxy: a ProxyClass cannot override them, and a merge of ProxyClass labels
 * keeps the current values of these keys.
 */
export const MANAGED_LABEL_KEYS: readonly string[] = [
  // Kept on the Pods of a StatefulSet an earlier version made (writtenBeforeRename).
  OPERATOR_LABEL_MANAGED,
  ...Object.values(LEGACY_KEYS),
  LABEL_PARENT_TYPE,
  LABEL_PARENT_NAME,
  LABEL_PARENT_NAMESPACE,
  LABEL_SELECTOR,
  LABEL_MANAGED_BY,
  LABEL_APP_NAME,
  LABEL_OWNER,
];

/**
 * Annotation keys kept through a ProxyClass merge. Unlike the operator we keep
 * `…-cluster-dns-name` too: the operator drops it when a ProxyClass sets pod annotations, which loses the
 * restart trigger of ExternalName targets.
 */
export const MANAGED_ANNOTATION_KEYS: readonly string[] = [
  ANNOTATION_LAST_SET_CLUSTER_IP,
  ANNOTATION_LAST_SET_CLUSTER_DNS_NAME,
  "tailscale.com/operator-last-set-ts-tailnet-target-ip",
  "tailscale.com/operator-last-set-ts-tailnet-target-fqdn",
  ANNOTATION_OWNER_ID,
];

/**
 * A label value identifying `ownerId`: the first 20 hex characters (80 bits) of its SHA-256. Pulumi
 * resource identities contain `/` and may be long, so they cannot be label values themselves.
 */
export function ownerHash(ownerId: string): string {
  return sha256Hex(ownerId).slice(0, 20);
}

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/**
 * Makes any string a valid label value. Valid values are kept; others get their invalid characters
 * replaced by `-`, are trimmed to start and end alphanumeric, shortened, and suffixed with `-<8 hex of
 * sha256(original)>` so that two different inputs do not collide (the operator's TruncateLabelValue idea).
 */
export function toLabelValue(s: string): string {
  if (s.length <= 63 && LABEL_VALUE.test(s)) return s;
  const hash = sha256Hex(s).slice(0, 8);
  let cleaned = s.replace(/[^-A-Za-z0-9_.]/g, "-").slice(0, 54);
  cleaned = cleaned.replace(/^[^A-Za-z0-9]+/, "").replace(/[^A-Za-z0-9]+$/, "");
  return cleaned === "" ? hash : `${cleaned}-${hash}`;
}

/** What a proxy's labels describe. */
export interface ProxyLabelInput {
  /** The Pulumi resource identity `<project>/<stack>/<name>`. */
  ownerId: string;
  /** Backend Service name (TailnetService) or Pulumi resource name (TailnetIngress). */
  parentName: string;
  /** Backend Service namespace (TailnetService) or the proxy namespace (TailnetIngress). */
  parentNamespace: string;
  parentType: "svc" | "ingress";
}

/** The six labels every object of a standalone proxy carries (the operator's parent labels under our prefix, and ours). */
export function proxyLabels(p: ProxyLabelInput): Record<string, string> {
  return {
    [LABEL_PARENT_NAME]: toLabelValue(p.parentName),
    [LABEL_PARENT_NAMESPACE]: toLabelValue(p.parentNamespace),
    [LABEL_PARENT_TYPE]: p.parentType,
    [LABEL_MANAGED_BY]: MANAGED_BY,
    [LABEL_APP_NAME]: APP_NAME,
    [LABEL_OWNER]: ownerHash(p.ownerId),
  };
}

/**
 * The Pod selector of a proxy: `app: <owner hash>`. Two proxies of one resource can briefly coexist during
 * a create-before-delete replacement; their StatefulSets then have overlapping selectors, which Kubernetes
 * tolerates because each StatefulSet only claims Pods it owns (ownerReferences).
 */
export function proxySelector(ownerId: string): Record<string, string> {
  return { [LABEL_SELECTOR]: ownerHash(ownerId) };
}

/** The annotations every object of a proxy carries. */
export function ownerAnnotations(ownerId: string): Record<string, string> {
  return { [ANNOTATION_OWNER_ID]: ownerId };
}

/**
 * Merges custom (ProxyClass) labels or annotations over the current ones the way the operator does
 * (mergeStatefulSetLabelsOrAnnots): the result is the custom map, plus the current values of the `managed`
 * keys. Current keys that are not managed are dropped, so removing a key from the ProxyClass removes it
 * from the object.
 */
export function mergeLabelsOrAnnotations(
  current: Record<string, string> | undefined,
  custom: Record<string, string> | undefined,
  managed: readonly string[],
): Record<string, string> {
  const out: Record<string, string> = { ...(custom ?? {}) };
  if (!current) return out;
  for (const [k, v] of Object.entries(current)) {
    if (managed.includes(k)) out[k] = v;
  }
  return out;
}
