// The metrics objects of every proxy type (provider/plan/metrics.ts) against the operator's
// (tailscale/tailscale@de9ec7ee cmd/k8s-operator/metrics_resources.go and its tests
// TestTailscaleIngressWithServiceMonitor, Test_metricsResourceCreation, TestProxyGroup's metrics cases):
// the `<sts>-metrics` Service, the ServiceMonitor's labels, selector and endpoints, and where they appear
// in the standalone and ProxyGroup plans.
import assert from "node:assert/strict";
import type { BackendServiceFacts } from "../../provider/plan/backends";
import { planProxyGroup, proxyGroupObjects, proxyGroupTeardown } from "../../provider/plan/ha";
import type { ProxyClassInput } from "../../provider/plan/inputs";
import {
  type MetricsTarget,
  metricsLabels,
  planMetricsObjects,
  recordedMetricsRefs,
} from "../../provider/plan/metrics";
import { planStandaloneIngress, planStandaloneService } from "../../provider/plan/standalone";

const OURS = { "app.kubernetes.io/managed-by": "pulumi-tailnet" };
const target = (over: Partial<MetricsTarget> = {}): MetricsTarget => ({
  proxyType: "ingress_resource",
  statefulSet: "ts-test",
  namespace: "default",
  parentName: "test",
  parentNamespace: "default",
  selector: { app: "abc" },
  labels: { "tailscale.com/managed": "true", ...OURS },
  annotations: { "tailnet.pulumi.com/owner-id": "p/s/test" },
  ...over,
});

/** The operator's metrics labels of TestTailscaleIngressWithServiceMonitor. */
const INGRESS_LABELS = {
  "tailscale.com/managed": "true",
  "tailscale.com/metrics-target": "ts-test",
  ts_prom_job: "ts_ingress_resource_default_test",
  ts_proxy_type: "ingress_resource",
  ts_proxy_parent_name: "test",
  ts_proxy_parent_namespace: "default",
};

describe("metrics objects (plan/metrics.ts)", () => {
  const cases: {
    name: string;
    target: MetricsTarget;
    pc: ProxyClassInput | undefined;
    service: boolean;
    monitorLabels?: Record<string, string>;
    labels?: Record<string, string>;
  }[] = [
    { name: "no ProxyClass: nothing", target: target(), pc: undefined, service: false },
    {
      name: "a ServiceMonitor without metrics: nothing (check refuses it)",
      target: target(),
      pc: { serviceMonitor: { enable: true } },
      service: false,
    },
    { name: "metrics: the Service only", target: target(), pc: { enableMetrics: true }, service: true },
    {
      name: "metrics and a disabled ServiceMonitor: the Service only",
      target: target(),
      pc: { enableMetrics: true, serviceMonitor: { enable: false, labels: { foo: "bar" } } },
      service: true,
    },
    {
      name: "metrics and a ServiceMonitor with labels: the metrics labels win",
      target: target(),
      pc: {
        enableMetrics: true,
        serviceMonitor: { enable: true, labels: { foo: "bar", ts_proxy_type: "mine" } },
      },
      service: true,
      monitorLabels: { foo: "bar" },
    },
    {
      name: "layer 3: ingress_service labels",
      target: target({ proxyType: "ingress_service", parentName: "db", parentNamespace: "data" }),
      pc: { enableMetrics: true, serviceMonitor: { enable: true } },
      service: true,
      monitorLabels: {},
      labels: {
        "tailscale.com/managed": "true",
        "tailscale.com/metrics-target": "ts-test",
        ts_prom_job: "ts_ingress_service_data_db",
        ts_proxy_type: "ingress_service",
        ts_proxy_parent_name: "db",
        ts_proxy_parent_namespace: "data",
      },
    },
    {
      name: "ProxyGroup: ts_proxy_type proxygroup, with its namespace (ours are namespaced)",
      target: target({ proxyType: "proxygroup_ingress", statefulSet: "edge", parentName: "edge" }),
      pc: { enableMetrics: true, serviceMonitor: { enable: true } },
      service: true,
      monitorLabels: {},
      labels: {
        "tailscale.com/managed": "true",
        "tailscale.com/metrics-target": "edge",
        ts_prom_job: "ts_proxygroup_default_edge",
        ts_proxy_type: "proxygroup",
        ts_proxy_parent_name: "edge",
        ts_proxy_parent_namespace: "default",
      },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = planMetricsObjects(c.target, c.pc);
      const name = `${c.target.statefulSet}-metrics`;
      const selected = c.labels ?? INGRESS_LABELS;
      assert.deepEqual(metricsLabels(c.target), selected);
      const labels = { ...c.target.labels, ...selected };
      const service = c.service
        ? {
            apiVersion: "v1",
            kind: "Service",
            metadata: { name, namespace: "default", labels, annotations: c.target.annotations },
            spec: {
              type: "ClusterIP",
              selector: c.target.selector,
              ports: [{ name: "metrics", protocol: "TCP", port: 9002, targetPort: 9002 }],
            },
          }
        : undefined;
      const serviceMonitor = c.monitorLabels
        ? {
            apiVersion: "monitoring.coreos.com/v1",
            kind: "ServiceMonitor",
            metadata: {
              name,
              namespace: "default",
              labels: { ...c.monitorLabels, ...labels },
              annotations: c.target.annotations,
            },
            spec: {
              endpoints: [{ port: "metrics" }],
              jobLabel: "ts_prom_job",
              namespaceSelector: { matchNames: ["default"] },
              selector: { matchLabels: selected },
              targetLabels: ["ts_proxy_parent_name", "ts_proxy_parent_namespace", "ts_proxy_type"],
            },
          }
        : undefined;
      assert.deepEqual(got, {
        ...(service ? { metricsService: service } : {}),
        ...(serviceMonitor ? { serviceMonitor } : {}),
      });
    });
  }

  it("truncates long parents in label values as label values must be", () => {
    const long = "x".repeat(70);
    const labels = metricsLabels(target({ parentName: long }));
    for (const v of Object.values(labels)) assert.ok(v.length <= 63, v);
    assert.notEqual(labels.ts_proxy_parent_name, long);
  });

  const recorded: { pc: ProxyClassInput | undefined; kinds: string[] }[] = [
    { pc: undefined, kinds: [] },
    { pc: { enableMetrics: true }, kinds: ["Service"] },
    { pc: { enableMetrics: true, serviceMonitor: { enable: true } }, kinds: ["ServiceMonitor", "Service"] },
  ];
  for (const r of recorded) {
    it(`deletes what ${JSON.stringify(r.pc)} made, ServiceMonitor first`, () => {
      assert.deepEqual(
        recordedMetricsRefs("ns", "ts-x", r.pc).map((o) => [o.kind, o.namespace, o.name]),
        r.kinds.map((k) => [k, "ns", "ts-x-metrics"]),
      );
    });
  }
});

describe("metrics objects in the plans", () => {
  const pc: ProxyClassInput = { enableMetrics: true, serviceMonitor: { enable: true } };
  const db: BackendServiceFacts = {
    namespace: "data",
    name: "db",
    type: "ClusterIP",
    clusterIP: "10.0.0.1",
    ports: [{ name: "http", port: 80 }],
  };

  it("standalone layer 3: after the StatefulSet, selecting its Pod", () => {
    const plan = planStandaloneService({ ownerId: "p/s/db", service: db, proxyClass: pc }, db, {});
    assert.deepEqual(plan.objects.map((o) => `${o.kind}/${o.metadata.name}`).slice(-3), [
      "StatefulSet/ts-data-db",
      "Service/ts-data-db-metrics",
      "ServiceMonitor/ts-data-db-metrics",
    ]);
    assert.deepEqual(plan.metricsService!.spec!.selector, plan.selector);
    assert.equal(plan.serviceMonitor!.metadata.labels!.ts_prom_job, "ts_ingress_service_data_db");
  });

  it("standalone layer 7: the parent is the TailnetIngress resource", () => {
    const plan = planStandaloneIngress(
      { ownerId: "p/s/web", defaultBackend: { service: db, port: "http" }, proxyClass: pc },
      new Map([["data/db", db]]),
      {},
    );
    assert.equal(plan.serviceMonitor!.metadata.labels!.ts_prom_job, "ts_ingress_resource_data_web");
  });

  it("ProxyGroup: `<pg>-metrics` selecting every replica, last in the create order", () => {
    const plan = planProxyGroup(
      {
        ownerId: "p/s/edge",
        name: "edge",
        namespace: "tailscale",
        type: "ingress",
        replicas: 2,
        proxyClass: pc,
      },
      { authKeys: {}, existingAdvertiseServices: {} },
    );
    assert.deepEqual(
      proxyGroupObjects(plan)
        .map((o) => `${o.kind}/${o.metadata.name}`)
        .slice(-3),
      ["StatefulSet/edge", "Service/edge-metrics", "ServiceMonitor/edge-metrics"],
    );
    assert.deepEqual(plan.metricsService!.spec!.selector, plan.statefulSet.spec!.selector.matchLabels);
    assert.deepEqual(plan.serviceMonitor!.spec.selector.matchLabels, {
      "tailscale.com/managed": "true",
      "tailscale.com/metrics-target": "edge",
      ts_prom_job: "ts_proxygroup_tailscale_edge",
      ts_proxy_type: "proxygroup",
      ts_proxy_parent_name: "edge",
      ts_proxy_parent_namespace: "tailscale",
    });
    const steps = proxyGroupTeardown({ name: "edge", namespace: "tailscale" }, "p/s/edge", pc, 1);
    const metrics = steps.find((s) => s.description.includes("metrics"));
    assert.deepEqual(metrics && "objects" in metrics ? metrics.objects.map((o) => o.kind) : [], [
      "ServiceMonitor",
      "Service",
    ]);
    assert.ok(
      !proxyGroupTeardown({ name: "edge", namespace: "tailscale" }, "p/s/edge", undefined, 1).some((s) =>
        s.description.includes("metrics"),
      ),
      "nothing of metrics when none was asked for",
    );
  });
});
