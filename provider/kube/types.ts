/** Plain shapes of the Kubernetes side: objects as JSON, references, counters. */

/** Metadata fields this package reads or writes; anything else is kept as returned. */
export interface KubeObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  resourceVersion?: string;
  uid?: string;
  generation?: number;
  deletionTimestamp?: string;
  finalizers?: string[];
  ownerReferences?: Record<string, unknown>[];
  [field: string]: unknown;
}

/** A Kubernetes object as JSON, exactly as the API server returns it (no client-side model). */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: KubeObjectMeta;
  [field: string]: unknown;
}

/** Identifies one object. `namespace` is omitted for cluster-scoped kinds. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

/** Requests sent, by class: reads (GET, discovery included), writes (POST/PUT/PATCH/DELETE), watches. */
export interface KubeRequestCounts {
  reads: number;
  writes: number;
  watches: number;
}

/** Annotation (and accepted label) holding the Pulumi resource that owns an object. */
export const OWNER_ID_KEY = "tailnet.pulumi.com/owner-id";

/** Field manager of our server-side applies (every object we own). */
export const FIELD_MANAGER = "pulumi-tailnet";

/**
 * Field manager of our other writes: creates and read-modify-write edits of shared objects (the entries
 * of a ProxyGroup's ConfigMap, a replica's `AdvertiseServices`). Not `FIELD_MANAGER`: the server records
 * them as `Update` entries, and an `Update` entry of `FIELD_MANAGER` is what an earlier version wrote
 * before it applied (takeover.ts), which our apply takes over.
 */
export const EDIT_FIELD_MANAGER = "pulumi-tailnet-edit";

/** `Kind ns/name` (or `Kind name`) for messages. */
export function describeRef(ref: ObjectRef): string {
  return ref.namespace ? `${ref.kind} ${ref.namespace}/${ref.name}` : `${ref.kind} ${ref.name}`;
}

/** The reference of an object. */
export function refOf(obj: KubeObject): ObjectRef {
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    namespace: obj.metadata.namespace,
    name: obj.metadata.name ?? "",
  };
}

/** The label selector `k=v,k=v` matching every label of `labels`. */
export function selectorOf(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
}
