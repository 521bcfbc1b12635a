/**
 * The metrics objects of a proxy, as the operator's reconcileMetricsResources makes them
 * (tailscale/tailscale@de9ec7ee cmd/k8s-operator/metrics_resources.go): with ProxyClass `enableMetrics`,
 * the `<statefulset>-metrics` Service on port 9002 of the proxy Pods, labelled for Prometheus
 * (`ts_prom_job`, `ts_proxy_*`); with `serviceMonitor.enable` as well, a Prometheus Operator
 * ServiceMonitor of the same name selecting that Service. Shared by standalone proxies and ProxyGroups.
 * Pure.
 *
 * Differences from the operator, on purpose:
 * - a ProxyGroup's metrics labels carry `ts_proxy_parent_namespace` and its job is
 *   `ts_proxygroup_<namespace>_<name>`: ProxyGroups are namespaced here (the operator's are cluster-scoped,
 *   and it omits the namespace for them), so two of one name in two namespaces stay two jobs;
 * - the ServiceMonitor has no ownerReference to the Service (the operator's lets the garbage collector
 *   delete it): the provider deletes both itself, and a plan does not know the Service's uid;
 * - both carry our ownership labels and annotation besides the metrics labels; the ServiceMonitor's
 *   selector is the metrics labels, which is the operator's selector (its Service has no other labels);
 * - an update rewrites the whole ServiceMonitor (the operator updates only its labels).
 */
import type { ProxyClassInput } from "./inputs";
import { toLabelValue } from "./labels";
import type { ObjectRef, PlannedService, PlannedServiceMonitor } from "./objects";
import type { ProxyType } from "./proxyclass";

/** The CRD a ServiceMonitor needs: the Prometheus Operator's. */
export const SERVICE_MONITOR_CRD = "servicemonitors.monitoring.coreos.com";

/** Where the provider reads the CRD before it writes anything that needs it. */
export const SERVICE_MONITOR_CRD_REF: ObjectRef = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  name: SERVICE_MONITOR_CRD,
};

/** Port of the metrics endpoint containerboot serves with TS_ENABLE_METRICS (TS_LOCAL_ADDR_PORT). */
export const METRICS_PORT = 9002;

/** The operator's `ts_proxy_type` of a proxy's metrics: a ProxyGroup's is `proxygroup`. */
export function metricsProxyType(t: ProxyType): string {
  return t === "proxygroup_ingress" ? "proxygroup" : t;
}

/** The proxy whose metrics objects are planned. */
export interface MetricsTarget {
  proxyType: ProxyType;
  /** The proxy's StatefulSet: the objects are named `<statefulSet>-metrics`. */
  statefulSet: string;
  namespace: string;
  /** The resource the proxy serves (`ts_proxy_parent_name`): the backend Service, Ingress or ProxyGroup. */
  parentName: string;
  parentNamespace: string;
  /** The proxy Pods' selector, which the Service selects. */
  selector: Record<string, string>;
  /** Our labels and annotations of every object of the proxy. */
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** Name of a proxy's metrics Service and ServiceMonitor. */
export function metricsResourceName(statefulSet: string): string {
  return `${statefulSet}-metrics`;
}

/** The metrics Service and ServiceMonitor of a proxy, whichever exist. */
export function metricsObjectRefs(
  namespace: string,
  statefulSet: string,
): {
  service: ObjectRef;
  serviceMonitor: ObjectRef;
} {
  const name = metricsResourceName(statefulSet);
  return {
    service: { apiVersion: "v1", kind: "Service", namespace, name },
    serviceMonitor: { apiVersion: "monitoring.coreos.com/v1", kind: "ServiceMonitor", namespace, name },
  };
}

/**
 * The metrics objects a recorded ProxyClass asked for, in delete order (the ServiceMonitor first), for a
 * teardown or an update that drops them. Only those: deleting a ServiceMonitor needs a permission of
 * its own (README, deployer RBAC), which a cluster without the Prometheus Operator need not grant.
 */
export function recordedMetricsRefs(
  namespace: string,
  statefulSet: string,
  pc: ProxyClassInput | undefined,
): ObjectRef[] {
  const refs = metricsObjectRefs(namespace, statefulSet);
  return [
    ...(pc?.serviceMonitor?.enable === true ? [refs.serviceMonitor] : []),
    ...(pc?.enableMetrics === true ? [refs.service] : []),
  ];
}

/**
 * The operator's metricsResourceLabels, which the ServiceMonitor selects and Prometheus turns into
 * `job` and target labels; values truncated as label values must be.
 */
export function metricsLabels(t: MetricsTarget): Record<string, string> {
  const type = metricsProxyType(t.proxyType);
  return {
    "tailscale.com/managed": "true",
    "tailscale.com/metrics-target": t.statefulSet,
    ts_proxy_type: type,
    ts_proxy_parent_name: toLabelValue(t.parentName),
    ts_proxy_parent_namespace: toLabelValue(t.parentNamespace),
    ts_prom_job: toLabelValue(`ts_${type}_${t.parentNamespace}_${t.parentName}`),
  };
}

/** What the ServiceMonitor makes Prometheus copy from the Service onto every series. */
const TARGET_LABELS = ["ts_proxy_parent_name", "ts_proxy_parent_namespace", "ts_proxy_type"];

/** The metrics objects a ProxyClass asks for: none, the Service, or the Service and the ServiceMonitor. */
export function planMetricsObjects(
  t: MetricsTarget,
  pc: ProxyClassInput | undefined,
): { metricsService?: PlannedService; serviceMonitor?: PlannedServiceMonitor } {
  if (pc?.enableMetrics !== true) return {};
  const name = metricsResourceName(t.statefulSet);
  const selected = metricsLabels(t);
  const labels = { ...t.labels, ...selected };
  const metricsService: PlannedService = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: t.namespace, labels, annotations: { ...t.annotations } },
    spec: {
      type: "ClusterIP",
      selector: { ...t.selector },
      ports: [{ name: "metrics", protocol: "TCP", port: METRICS_PORT, targetPort: METRICS_PORT }],
    },
  };
  if (pc.serviceMonitor?.enable !== true) return { metricsService };
  const serviceMonitor: PlannedServiceMonitor = {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "ServiceMonitor",
    metadata: {
      name,
      namespace: t.namespace,
      // The Service's labels win over the ProxyClass's, as in the operator (mergeMapKeys).
      labels: { ...(pc.serviceMonitor.labels ?? {}), ...labels },
      annotations: { ...t.annotations },
    },
    spec: {
      endpoints: [{ port: "metrics" }],
      jobLabel: "ts_prom_job",
      namespaceSelector: { matchNames: [t.namespace] },
      selector: { matchLabels: selected },
      targetLabels: [...TARGET_LABELS],
    },
  };
  return { metricsService, serviceMonitor };
}
