/**
 * Kubernetes objects as the planners write them, and the references the step lists carry.
 *
 * The bodies are client-node's types (their fields are the API's), with what a planned object always
 * has made required: `apiVersion`, a literal `kind`, and metadata with a name and a namespace. Planned
 * objects are therefore `KubeObject`s (kube/types.ts) as they are: the lifecycles hand them to
 * `Kube.apply` unchanged. The types of kube/types.ts are plain shapes (no I/O), imported as types only.
 */
import type {
  V1ConfigMap,
  V1PodDisruptionBudget,
  V1Role,
  V1RoleBinding,
  V1Secret,
  V1Service,
  V1ServiceAccount,
  V1StatefulSet,
} from "@kubernetes/client-node";

export type { ObjectRef } from "../kube/types";

/**
 * What a planner sets in an object's metadata. A type rather than an interface, so that it is a
 * `KubeObjectMeta` (whose index signature an interface would not satisfy).
 */
export type PlannedMetadata = {
  name: string;
  namespace: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
};

/** A client-node object type with `apiVersion`, `kind` and metadata as a planned object has them. */
type Planned<T, Kind extends string> = Omit<T, "apiVersion" | "kind" | "metadata"> & {
  apiVersion: string;
  kind: Kind;
  metadata: PlannedMetadata;
};

export type PlannedSecret = Planned<V1Secret, "Secret">;
export type PlannedService = Planned<V1Service, "Service">;
export type PlannedServiceAccount = Planned<V1ServiceAccount, "ServiceAccount">;
export type PlannedRole = Planned<V1Role, "Role">;
export type PlannedRoleBinding = Planned<V1RoleBinding, "RoleBinding">;
export type PlannedConfigMap = Planned<V1ConfigMap, "ConfigMap">;
export type PlannedStatefulSet = Planned<V1StatefulSet, "StatefulSet">;
export type PlannedPodDisruptionBudget = Planned<V1PodDisruptionBudget, "PodDisruptionBudget">;

/**
 * A Prometheus Operator ServiceMonitor (`monitoring.coreos.com/v1`), with the fields the operator sets
 * (tailscale/tailscale@de9ec7ee cmd/k8s-operator/metrics_resources.go ServiceMonitorSpec). No client-node
 * type exists for a custom resource. A type rather than an interface, to be a `KubeObject`.
 */
export type PlannedServiceMonitor = {
  apiVersion: "monitoring.coreos.com/v1";
  kind: "ServiceMonitor";
  metadata: PlannedMetadata;
  spec: {
    endpoints: { port: string }[];
    jobLabel: string;
    namespaceSelector: { matchNames: string[] };
    selector: { matchLabels: Record<string, string> };
    targetLabels: string[];
  };
};

/** Any object a plan writes. */
export type PlannedObject =
  | PlannedSecret
  | PlannedService
  | PlannedServiceAccount
  | PlannedRole
  | PlannedRoleBinding
  | PlannedConfigMap
  | PlannedStatefulSet
  | PlannedServiceMonitor
  | PlannedPodDisruptionBudget;

/** Objects of one kind in one namespace matching all `labels`, or all `legacyLabels`. */
export interface Selection {
  apiVersion: string;
  kind: string;
  namespace: string;
  labels: Record<string, string>;
  /** The same objects as versions before our labels were renamed labelled them (labels.ts `legacyLabels`). */
  legacyLabels?: Record<string, string>;
}
