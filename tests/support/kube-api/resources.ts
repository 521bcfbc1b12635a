/** The resource types this server serves, with the discovery facts a real server reports for them. */
import { type CustomTypeFacts, crdStrategy } from "./crd";
import { statefulSetStrategy } from "./kinds/apps";
import { configMapStrategy, secretStrategy } from "./kinds/config";
import {
  endpointSliceStrategy,
  eventStrategy,
  namespaceStrategy,
  nodeStrategy,
  podStrategy,
  serviceAccountStrategy,
} from "./kinds/core";
import { podDisruptionBudgetStrategy } from "./kinds/policy";
import {
  clusterRoleBindingStrategy,
  clusterRoleStrategy,
  roleBindingStrategy,
  roleStrategy,
} from "./kinds/rbac";
import { serviceStrategy } from "./kinds/service";
import type { KindStrategy } from "./kinds/types";

/** One served resource type. */
export interface ResourceType {
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames?: string[];
  verbs: string[];
  /** Subresources and their verbs (`status`, `scale`). */
  subresources: Record<string, string[]>;
  /** kubernetes-models schema module (`IoK8sApiCoreV1Secret`). */
  schema: string;
  /** @kubernetes/client-node model class used for decoding (`V1Secret`). */
  model: string;
  /** Field selectors besides metadata.name/metadata.namespace. */
  extraFields?: string[];
  /** Discovery categories (`all` is what `kubectl get all` expands). */
  categories?: string[];
  strategy: KindStrategy;
  /** A custom resource type (crd.ts): its CRD and schema. Built-in types have none. */
  custom?: CustomTypeFacts;
}

const ALL = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
const STATUS = ["get", "patch", "update"];

/** Every type the server serves. */
export const RESOURCE_TYPES: ResourceType[] = [
  {
    group: "",
    version: "v1",
    kind: "Namespace",
    plural: "namespaces",
    singular: "namespace",
    namespaced: false,
    shortNames: ["ns"],
    verbs: ["create", "delete", "get", "list", "patch", "update", "watch"],
    subresources: { status: STATUS, finalize: ["update"] },
    schema: "IoK8sApiCoreV1Namespace",
    model: "V1Namespace",
    extraFields: ["status.phase"],
    strategy: namespaceStrategy,
  },
  {
    group: "",
    version: "v1",
    kind: "Secret",
    plural: "secrets",
    singular: "secret",
    namespaced: true,
    verbs: ALL,
    subresources: {},
    schema: "IoK8sApiCoreV1Secret",
    model: "V1Secret",
    extraFields: ["type"],
    strategy: secretStrategy,
  },
  {
    group: "",
    version: "v1",
    kind: "ConfigMap",
    plural: "configmaps",
    singular: "configmap",
    namespaced: true,
    shortNames: ["cm"],
    verbs: ALL,
    subresources: {},
    schema: "IoK8sApiCoreV1ConfigMap",
    model: "V1ConfigMap",
    strategy: configMapStrategy,
  },
  {
    group: "",
    version: "v1",
    kind: "Service",
    plural: "services",
    singular: "service",
    namespaced: true,
    shortNames: ["svc"],
    categories: ["all"],
    verbs: ALL,
    subresources: { status: STATUS },
    schema: "IoK8sApiCoreV1Service",
    model: "V1Service",
    strategy: serviceStrategy,
  },
  {
    group: "",
    version: "v1",
    kind: "ServiceAccount",
    plural: "serviceaccounts",
    singular: "serviceaccount",
    namespaced: true,
    shortNames: ["sa"],
    verbs: ALL,
    // TokenRequest: what the kubelet asks for a Pod's projected token (authentication.k8s.io/v1).
    subresources: { token: ["create"] },
    schema: "IoK8sApiCoreV1ServiceAccount",
    model: "V1ServiceAccount",
    strategy: serviceAccountStrategy,
  },
  {
    group: "",
    version: "v1",
    kind: "Pod",
    plural: "pods",
    singular: "pod",
    namespaced: true,
    shortNames: ["po"],
    categories: ["all"],
    verbs: ALL,
    subresources: { status: STATUS },
    schema: "IoK8sApiCoreV1Pod",
    model: "V1Pod",
    extraFields: ["spec.nodeName", "spec.serviceAccountName", "status.phase", "status.podIP"],
    strategy: podStrategy,
  },
  {
    group: "",
    version: "v1",
    kind: "Event",
    plural: "events",
    singular: "event",
    namespaced: true,
    shortNames: ["ev"],
    verbs: ALL,
    subresources: {},
    schema: "IoK8sApiCoreV1Event",
    model: "CoreV1Event",
    extraFields: [
      "involvedObject.kind",
      "involvedObject.name",
      "involvedObject.namespace",
      "involvedObject.uid",
      "reason",
      "type",
    ],
    strategy: eventStrategy,
  },
  {
    group: "apps",
    version: "v1",
    kind: "StatefulSet",
    plural: "statefulsets",
    singular: "statefulset",
    namespaced: true,
    shortNames: ["sts"],
    categories: ["all"],
    verbs: ALL,
    subresources: { status: STATUS, scale: STATUS },
    schema: "IoK8sApiAppsV1StatefulSet",
    model: "V1StatefulSet",
    strategy: statefulSetStrategy,
  },
  {
    group: "policy",
    version: "v1",
    kind: "PodDisruptionBudget",
    plural: "poddisruptionbudgets",
    singular: "poddisruptionbudget",
    namespaced: true,
    shortNames: ["pdb"],
    verbs: ALL,
    subresources: { status: STATUS },
    schema: "IoK8sApiPolicyV1PodDisruptionBudget",
    model: "V1PodDisruptionBudget",
    strategy: podDisruptionBudgetStrategy,
  },
  {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    kind: "Role",
    plural: "roles",
    singular: "role",
    namespaced: true,
    verbs: ALL,
    subresources: {},
    schema: "IoK8sApiRbacV1Role",
    model: "V1Role",
    strategy: roleStrategy,
  },
  {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    kind: "RoleBinding",
    plural: "rolebindings",
    singular: "rolebinding",
    namespaced: true,
    verbs: ALL,
    subresources: {},
    schema: "IoK8sApiRbacV1RoleBinding",
    model: "V1RoleBinding",
    strategy: roleBindingStrategy,
  },
  {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    kind: "ClusterRole",
    plural: "clusterroles",
    singular: "clusterrole",
    namespaced: false,
    verbs: ALL,
    subresources: {},
    schema: "IoK8sApiRbacV1ClusterRole",
    model: "V1ClusterRole",
    strategy: clusterRoleStrategy,
  },
  {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    kind: "ClusterRoleBinding",
    plural: "clusterrolebindings",
    singular: "clusterrolebinding",
    namespaced: false,
    verbs: ALL,
    subresources: {},
    schema: "IoK8sApiRbacV1ClusterRoleBinding",
    model: "V1ClusterRoleBinding",
    strategy: clusterRoleBindingStrategy,
  },
  {
    group: "",
    version: "v1",
    kind: "Node",
    plural: "nodes",
    singular: "node",
    namespaced: false,
    shortNames: ["no"],
    verbs: ALL,
    subresources: { status: STATUS },
    schema: "IoK8sApiCoreV1Node",
    model: "V1Node",
    extraFields: ["spec.unschedulable"],
    strategy: nodeStrategy,
  },
  {
    group: "discovery.k8s.io",
    version: "v1",
    kind: "EndpointSlice",
    plural: "endpointslices",
    singular: "endpointslice",
    namespaced: true,
    verbs: ALL,
    subresources: {},
    schema: "IoK8sApiDiscoveryV1EndpointSlice",
    model: "V1EndpointSlice",
    strategy: endpointSliceStrategy,
  },
  {
    group: "apiextensions.k8s.io",
    version: "v1",
    kind: "CustomResourceDefinition",
    plural: "customresourcedefinitions",
    singular: "customresourcedefinition",
    namespaced: false,
    shortNames: ["crd", "crds"],
    categories: ["api-extensions"],
    verbs: ALL,
    subresources: { status: STATUS },
    schema: "IoK8sApiextensionsApiserverPkgApisApiextensionsV1CustomResourceDefinition",
    model: "V1CustomResourceDefinition",
    strategy: crdStrategy,
  },
];

/** `apps/v1` or `v1`. */
export function apiVersionOf(t: { group: string; version: string }): string {
  return t.group ? `${t.group}/${t.version}` : t.version;
}

/** Finds a type by apiVersion and kind. */
export function typeByKind(apiVersion: string, kind: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((t) => apiVersionOf(t) === apiVersion && t.kind === kind);
}

/** Finds a type by group, version and plural. */
export function typeByResource(group: string, version: string, plural: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((t) => t.group === group && t.version === version && t.plural === plural);
}

/** The group versions served, for /api and /apis: the built-in types' and `types`' (custom ones). */
export function groupVersions(
  types: readonly ResourceType[] = RESOURCE_TYPES,
): { group: string; version: string }[] {
  const seen = new Map<string, { group: string; version: string }>();
  for (const t of types) seen.set(apiVersionOf(t), { group: t.group, version: t.version });
  return [...seen.values()];
}
