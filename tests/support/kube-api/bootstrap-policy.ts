/**
 * The default ClusterRoles and ClusterRoleBindings a kube-apiserver creates at start (the RBAC
 * bootstrap policy), with the rules of `plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go`
 * ClusterRoles() and ClusterRoleBindings() as on kubernetes master in 2025 (read at the fork
 * `ahmedtd/kubernetes@9e044796`, the newest copy of the file stored here; the user-facing roles have
 * been stable since kubernetes/kubernetes#102858, v1.22, gave `edit` write access to `events`).
 * Only the roles a test cluster's users meet are served: cluster-admin, the discovery and
 * self-review roles bound to every authenticated user, and the aggregated admin/edit/view with the
 * `system:aggregate-to-*` roles they aggregate (the aggregation controller in gc.ts fills their rules).
 */
import type { PolicyRule } from "./rbac";

const Write = ["create", "update", "patch", "delete", "deletecollection"];
const ReadWrite = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"];
const Read = ["get", "list", "watch"];

const rule = (verbs: string[], apiGroups: string[], resources: string[]): PolicyRule => ({
  verbs,
  apiGroups,
  resources,
});
const urls = (verbs: string[], nonResourceURLs: string[]): PolicyRule => ({ verbs, nonResourceURLs });

const LABELS = { "kubernetes.io/bootstrapping": "rbac-defaults" };
const ANNOTATIONS = { "rbac.authorization.kubernetes.io/autoupdate": "true" };
const AGG = "rbac.authorization.k8s.io/aggregate-to-";

interface ClusterRoleSpec {
  name: string;
  labels?: Record<string, string>;
  rules?: PolicyRule[];
  aggregateFrom?: string;
}

const CLUSTER_ROLES: ClusterRoleSpec[] = [
  {
    name: "cluster-admin",
    rules: [rule(["*"], ["*"], ["*"]), urls(["*"], ["*"])],
  },
  {
    name: "system:discovery",
    rules: [
      urls(
        ["get"],
        [
          "/livez",
          "/readyz",
          "/healthz",
          "/version",
          "/version/",
          "/openapi",
          "/openapi/*",
          "/api",
          "/api/*",
          "/apis",
          "/apis/*",
        ],
      ),
    ],
  },
  {
    name: "system:monitoring",
    rules: [
      urls(
        ["get"],
        ["/metrics", "/metrics/slis", "/livez", "/readyz", "/healthz", "/livez/*", "/readyz/*", "/healthz/*"],
      ),
    ],
  },
  {
    name: "system:basic-user",
    rules: [
      rule(["create"], ["authorization.k8s.io"], ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]),
      // APISelfSubjectReview is GA (on) since 1.28.
      rule(["create"], ["authentication.k8s.io"], ["selfsubjectreviews"]),
    ],
  },
  {
    name: "system:public-info-viewer",
    rules: [urls(["get"], ["/livez", "/readyz", "/healthz", "/version", "/version/"])],
  },
  { name: "admin", aggregateFrom: "admin" },
  { name: "edit", labels: { [`${AGG}admin`]: "true" }, aggregateFrom: "edit" },
  { name: "view", labels: { [`${AGG}edit`]: "true" }, aggregateFrom: "view" },
  {
    name: "system:aggregate-to-admin",
    labels: { [`${AGG}admin`]: "true" },
    rules: [
      rule(["create"], ["authorization.k8s.io"], ["localsubjectaccessreviews"]),
      rule(ReadWrite, ["rbac.authorization.k8s.io"], ["roles", "rolebindings"]),
    ],
  },
  {
    name: "system:aggregate-to-edit",
    labels: { [`${AGG}edit`]: "true" },
    rules: [
      rule(
        Read,
        [""],
        ["pods/attach", "pods/proxy", "pods/exec", "pods/portforward", "secrets", "services/proxy"],
      ),
      rule(["impersonate"], [""], ["serviceaccounts"]),
      rule(Write, [""], ["pods", "pods/attach", "pods/proxy", "pods/exec", "pods/portforward"]),
      rule(["create"], [""], ["pods/eviction"]),
      rule(
        Write,
        [""],
        [
          "replicationcontrollers",
          "replicationcontrollers/scale",
          "serviceaccounts",
          "services",
          "services/proxy",
          "persistentvolumeclaims",
          "configmaps",
          "secrets",
          "events",
        ],
      ),
      rule(["create"], [""], ["serviceaccounts/token"]),
      rule(
        Write,
        ["apps"],
        [
          "statefulsets",
          "statefulsets/scale",
          "daemonsets",
          "deployments",
          "deployments/scale",
          "deployments/rollback",
          "replicasets",
          "replicasets/scale",
        ],
      ),
      rule(Write, ["autoscaling"], ["horizontalpodautoscalers"]),
      rule(Write, ["batch"], ["jobs", "cronjobs"]),
      rule(
        Write,
        ["extensions"],
        [
          "daemonsets",
          "deployments",
          "deployments/scale",
          "deployments/rollback",
          "ingresses",
          "replicasets",
          "replicasets/scale",
          "replicationcontrollers/scale",
          "networkpolicies",
        ],
      ),
      rule(Write, ["policy"], ["poddisruptionbudgets"]),
      rule(Write, ["networking.k8s.io"], ["networkpolicies", "ingresses"]),
      rule(ReadWrite, ["coordination.k8s.io"], ["leases"]),
    ],
  },
  {
    name: "system:aggregate-to-view",
    labels: { [`${AGG}view`]: "true" },
    rules: [
      rule(
        Read,
        [""],
        [
          "pods",
          "replicationcontrollers",
          "replicationcontrollers/scale",
          "serviceaccounts",
          "services",
          "services/status",
          "endpoints",
          "persistentvolumeclaims",
          "persistentvolumeclaims/status",
          "configmaps",
        ],
      ),
      rule(
        Read,
        [""],
        [
          "limitranges",
          "resourcequotas",
          "bindings",
          "events",
          "pods/status",
          "resourcequotas/status",
          "namespaces/status",
          "replicationcontrollers/status",
          "pods/log",
        ],
      ),
      rule(Read, [""], ["namespaces"]),
      rule(Read, ["discovery.k8s.io"], ["endpointslices"]),
      rule(
        Read,
        ["apps"],
        [
          "controllerrevisions",
          "statefulsets",
          "statefulsets/status",
          "statefulsets/scale",
          "daemonsets",
          "daemonsets/status",
          "deployments",
          "deployments/status",
          "deployments/scale",
          "replicasets",
          "replicasets/status",
          "replicasets/scale",
        ],
      ),
      rule(Read, ["autoscaling"], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"]),
      rule(Read, ["batch"], ["jobs", "cronjobs", "cronjobs/status", "jobs/status"]),
      rule(
        Read,
        ["extensions"],
        [
          "daemonsets",
          "daemonsets/status",
          "deployments",
          "deployments/scale",
          "deployments/status",
          "ingresses",
          "ingresses/status",
          "replicasets",
          "replicasets/scale",
          "replicasets/status",
          "replicationcontrollers/scale",
          "networkpolicies",
        ],
      ),
      rule(Read, ["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"]),
      rule(Read, ["networking.k8s.io"], ["networkpolicies", "ingresses", "ingresses/status"]),
    ],
  },
];

const CLUSTER_ROLE_BINDINGS: { name: string; groups: string[] }[] = [
  { name: "cluster-admin", groups: ["system:masters"] },
  { name: "system:monitoring", groups: ["system:monitoring"] },
  { name: "system:discovery", groups: ["system:authenticated"] },
  { name: "system:basic-user", groups: ["system:authenticated"] },
  { name: "system:public-info-viewer", groups: ["system:authenticated", "system:unauthenticated"] },
];

/** The ClusterRole objects, as the API serves them before aggregation fills admin/edit/view. */
export function bootstrapClusterRoles(): any[] {
  return CLUSTER_ROLES.map((r) => {
    const obj: any = {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: r.name, labels: { ...LABELS, ...(r.labels ?? {}) }, annotations: { ...ANNOTATIONS } },
    };
    if (r.aggregateFrom) {
      obj.aggregationRule = {
        clusterRoleSelectors: [{ matchLabels: { [`${AGG}${r.aggregateFrom}`]: "true" } }],
      };
      obj.rules = [];
    } else obj.rules = r.rules;
    return obj;
  });
}

/** The ClusterRoleBinding objects. */
export function bootstrapClusterRoleBindings(): any[] {
  return CLUSTER_ROLE_BINDINGS.map((b) => ({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: b.name, labels: { ...LABELS }, annotations: { ...ANNOTATIONS } },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: b.name },
    subjects: b.groups.map((g) => ({ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: g })),
  }));
}
