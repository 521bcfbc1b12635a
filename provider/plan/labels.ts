/**
 * Labels and annotations that mark the objects a proxy owns.
 *
 * We keep the operator's four labels (so existing dashboards, NetworkPolicies and `kubectl get -l` habits
 * keep working) and add our own ownership marks: `app.kubernetes.io/managed-by`, `app.kubernetes.io/name`,
 * and `tailnet.pulumi.com/owner` (a hash of the Pulumi resource identity, which a retried create uses to
 * adopt what a failed one left, and a sweep uses to find leaks).
 */
import { sha256Hex } from "./gojson";

/** `tailscale.com/managed: "true"` (operator). */
export const LABEL_MANAGED = "tailscale.com/managed";
/** Name of the parent resource (operator). */
export const LABEL_PARENT_NAME = "tailscale.com/parent-resource";
/** Namespace of the parent resource (operator). */
export const LABEL_PARENT_NAMESPACE = "tailscale.com/parent-resource-ns";
/** `svc` (layer 3) or `ingress` (layer 7) (operator). */
export const LABEL_PARENT_TYPE = "tailscale.com/parent-resource-type";
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
  LABEL_MANAGED,
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

/** The seven labels every object of a standalone proxy carries (the operator's four plus our three). */
export function proxyLabels(p: ProxyLabelInput): Record<string, string> {
  return {
    [LABEL_MANAGED]: "true",
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
