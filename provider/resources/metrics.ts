/**
 * The I/O of a proxy's metrics objects (plan/metrics.ts), shared by standalone proxies and ProxyGroups:
 * the ServiceMonitor's CRD is read before any write, and what an update no longer plans is deleted.
 */
import type { Kube } from "../kube";
import type { ProxyClassInput } from "../plan/inputs";
import {
  metricsObjectRefs,
  recordedMetricsRefs,
  SERVICE_MONITOR_CRD,
  SERVICE_MONITOR_CRD_REF,
} from "../plan/metrics";
import type { PlannedServiceMonitor } from "../plan/objects";

/**
 * Refuses a planned ServiceMonitor when the cluster lacks its CRD, as the operator's ProxyClass
 * validation does (tailscale/tailscale@de9ec7ee k8s-operator/reconciler/proxyclass/proxyclass.go), before
 * anything is written. `what` names the resource whose ProxyClass asks for it.
 */
export async function requireServiceMonitorCrd(
  kube: Kube,
  plan: { serviceMonitor?: PlannedServiceMonitor },
  what: string,
): Promise<void> {
  if (!plan.serviceMonitor) return;
  if (await kube.get(SERVICE_MONITOR_CRD_REF)) return;
  throw new Error(
    `${what}: proxyClass.serviceMonitor.enable is true, but the cluster has no CustomResourceDefinition ` +
      `"${SERVICE_MONITOR_CRD}" (the Prometheus Operator's ServiceMonitor). Install the Prometheus Operator ` +
      "(or its CRDs) in the cluster, or set proxyClass.serviceMonitor.enable to false; nothing was changed.",
  );
}

/** Deletes the metrics objects the previous ProxyClass asked for and the new plan does not have. */
export async function removeUnplannedMetrics(
  kube: Kube,
  namespace: string,
  statefulSet: string,
  previous: ProxyClassInput | undefined,
  plan: { metricsService?: unknown; serviceMonitor?: unknown },
): Promise<void> {
  const refs = metricsObjectRefs(namespace, statefulSet);
  for (const ref of recordedMetricsRefs(namespace, statefulSet, previous)) {
    const planned = ref.kind === refs.service.kind ? plan.metricsService : plan.serviceMonitor;
    if (!planned) await kube.delete(ref);
  }
}
