// Beside the operator: every object we plan, for every proxy type (and what the cluster derives from
// them: the Pods of a StatefulSet, the EndpointSlices of a Service), against every label selector and
// predicate by which the Tailscale operator's controllers pick the objects they act on, at
// tailscale/tailscale@de9ec7ee. A selector's parent name or namespace is taken as matching any value:
// the operator's own Services, Ingresses and ProxyGroups may have the names ours have. The namespace is
// taken as matching too: ours may be in the operator's namespace (the default `tailscale`).
import assert from "node:assert/strict";
import type { BackendServiceFacts } from "../../provider/plan/backends";
import { diffProxyGroup, diffTailnetService } from "../../provider/plan/diff";
import { planHAIngress, planProxyGroup, proxyGroupObjects } from "../../provider/plan/ha";
import type {
  ProxyClassInput,
  ProxyGroupInput,
  TailnetIngressInput,
  TailnetServiceInput,
} from "../../provider/plan/inputs";
import { planStandaloneIngress, planStandaloneService } from "../../provider/plan/standalone";
import { asWrittenBefore } from "../support/legacy-labels";

/** Any value of the label (present). */
const ANY: unique symbol = Symbol("any");

interface OperatorSelector {
  /** The operator source that selects so, and what it does with what it finds. */
  where: string;
  kinds: string[];
  labels: Record<string, string | typeof ANY>;
  /** What else of the object it requires (a type, an annotation). */
  also?: (o: Obj) => boolean;
}

interface Obj {
  kind: string;
  metadata: { name?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  type?: string;
  spec?: Record<string, unknown>;
}

const M = "tailscale.com/managed";
const PT = "tailscale.com/parent-resource-type";
const PN = "tailscale.com/parent-resource";
const PNS = "tailscale.com/parent-resource-ns";
const ST = "tailscale.com/secret-type";
const PG = "tailscale.com/proxy-group";
const OP = "cmd/k8s-operator/";

const SELECTORS: OperatorSelector[] = [
  ...["svc", "ingress", "connector"].map(
    (type): OperatorSelector => ({
      where: `${OP}operator.go:826-855 managedResourceHandlerForType("${type}"): enqueues the parent named by the labels (service-, ingress-, connector-reconciler)`,
      kinds: ["StatefulSet", "Secret"],
      labels: { [M]: "true", [PT]: type },
    }),
  ),
  ...["svc", "ingress"].map(
    (type): OperatorSelector => ({
      where: `${OP}sts.go:268-321, 483, 536 Provision/Cleanup by childResourceLabels (svc.go:80-93): adopts, rewrites, deletes (type ${type})`,
      kinds: ["StatefulSet", "Secret", "Service"],
      labels: { [M]: "true", [PN]: ANY, [PNS]: ANY, [PT]: type },
    }),
  ),
  {
    where: `${OP}operator.go:1195-1217 serviceHandler: a managed Service of type svc enqueues its parent`,
    kinds: ["Service"],
    labels: { [M]: "true", [PT]: "svc" },
  },
  {
    where: `${OP}operator.go:1195-1217, svc.go:95-100, 116-123: an unmanaged Service is reconciled as a user's, and exposed when annotated or of loadBalancerClass tailscale`,
    kinds: ["Service"],
    labels: {},
    also: (o) =>
      o.metadata.annotations?.["tailscale.com/expose"] === "true" ||
      o.spec?.loadBalancerClass === "tailscale" ||
      o.metadata.annotations?.["tailscale.com/tailnet-fqdn"] !== undefined ||
      o.metadata.annotations?.["tailscale.com/tailnet-ip"] !== undefined ||
      o.metadata.annotations?.["tailscale.com/proxy-group"] !== undefined,
  },
  ...["svc", "ingress"].map(
    (type): OperatorSelector => ({
      where: `k8s-operator/reconciler/dnsrecords/dnsrecords.go:114-131, 545-572, 599-620: adds a finalizer and DNS records for proxies of type ${type}`,
      kinds: ["Service", "EndpointSlice"],
      labels: { [M]: "true", [PT]: type },
    }),
  ),
  {
    where: `${OP}operator.go:1259-1272 egressPodsHandler (egress-pods-readiness-reconciler)`,
    kinds: ["Pod"],
    labels: { [PT]: "proxygroup" },
  },
  {
    where: `${OP}operator.go:1275-1293 egressEpsFromPGPods; egress-eps.go:104 (the ProxyGroup's Pods, in every namespace)`,
    kinds: ["Pod"],
    labels: { [M]: "true", [PT]: "proxygroup", [PN]: ANY },
  },
  ...["state", "config"].map(
    (type): OperatorSelector => ({
      where: `${OP}operator.go:1295-1312, 1400-1406 (isPGStateSecret); proxygroup.go:1193, ingress-for-pg.go:784, 848, svc-for-pg.go:642, 709, api-server-proxy-pg.go:345 (pgSecretLabels, ${type})`,
      kinds: ["Secret"],
      labels: { [M]: "true", [PT]: "proxygroup", [PN]: ANY, [ST]: type },
    }),
  ),
  {
    where: `${OP}operator.go:1489-1503 kubeAPIServerPGsFromSecret`,
    kinds: ["Secret"],
    labels: { [M]: "true", [PT]: "proxygroup" },
  },
  {
    where: `${OP}operator.go:1392-1398 isTLSSecret (HAIngressesFromSecret enqueues the Ingress its labels name)`,
    kinds: ["Secret"],
    labels: { [M]: "true", [ST]: "certs", "tailscale.com/domain": ANY, [PG]: ANY },
    also: (o) => o.type === "kubernetes.io/tls",
  },
  {
    where: `${OP}ingress-for-pg.go:1005-1011, 1106-1112 certResourceLabels: deletes a domain's cert Secret, Role and RoleBinding`,
    kinds: ["Secret", "Role", "RoleBinding"],
    labels: { [M]: "true", [PG]: ANY, "tailscale.com/domain": ANY },
  },
  {
    where: `${OP}proxygroup.go:536-540 getServicePortsForProxyGroups (static endpoints' NodePorts)`,
    kinds: ["Service"],
    labels: { [PT]: "proxygroup" },
  },
  {
    where: `${OP}proxygroup.go:698-707: deletes a ProxyGroup's static-endpoint Services`,
    kinds: ["Service"],
    labels: { [M]: "true", [PT]: "proxygroup", [PN]: ANY },
  },
  ...["ingress_service", "ingress_resource", "proxygroup"].map(
    (type): OperatorSelector => ({
      where: `${OP}metrics_resources.go:162-167, 262-272 maybeCleanupMetricsResources: deletes the metrics Service of a ${type} proxy of the same parent, in the operator's namespace`,
      kinds: ["Service"],
      labels: { ts_proxy_type: type, ts_proxy_parent_name: ANY },
    }),
  ),
  {
    where: `${OP}operator.go:1245-1257, 1348-1371 egressEpsHandler / egressSvcFromEps; dnsrecords.go:402-408`,
    kinds: ["EndpointSlice", "Service"],
    labels: { "tailscale.com/svc-type": "egress" },
  },
  {
    where: `${OP}operator.go:1373-1390 reconcileRequestsForPG; egress-services.go:473 (a ProxyGroup's egress objects)`,
    kinds: ["EndpointSlice", "Service"],
    labels: { [PG]: ANY },
  },
  {
    where: `${OP}operator.go:885-955 proxyClassHandlerForSvc / ForIngress (objects of a ProxyClass)`,
    kinds: ["Service", "Ingress"],
    labels: { "tailscale.com/proxy-class": ANY },
  },
  {
    where:
      "k8s-operator/reconciler/reconciler.go:93-143 Labels / IsManagedByType / SelectorForType (peer relays, the generic child lookups)",
    kinds: ["StatefulSet", "Secret", "Service", "ServiceAccount", "Role", "RoleBinding", "ConfigMap", "Pod"],
    labels: { [M]: "true", [PT]: ANY },
  },
  {
    where: `${OP}tsrecorder.go:300, 329, tsrecorder_specs.go:314-324 tsrLabels (Recorders)`,
    kinds: ["StatefulSet", "Secret", "ServiceAccount", "Role", "RoleBinding"],
    labels: { "app.kubernetes.io/name": "recorder", "app.kubernetes.io/managed-by": "tailscale-operator" },
  },
];

/**
 * The one selector our objects must match: containerboot's, for a ProxyGroup's certificate Secrets
 * (tailscale/tailscale@de9ec7ee ipn/store/kubestore/store_kube.go:688-706 `certSecretSelector`).
 */
const CONTAINERBOOT_CERTS: OperatorSelector = {
  where: "ipn/store/kubestore/store_kube.go:688-706 certSecretSelector",
  kinds: ["Secret"],
  labels: { [ST]: "certs", [M]: "true", [PG]: ANY },
};

/**
 * The overlap we keep, and why: Prometheus and ServiceMonitors read the `ts_*` labels of a metrics
 * Service (README, "Beside the operator"). The operator deletes one only for its own proxy of the same
 * type and parent name, in its own namespace.
 */
const KEPT = /^cmd\/k8s-operator\/metrics_resources\.go/;

function matches(sel: OperatorSelector, o: Obj): boolean {
  if (!sel.kinds.includes(o.kind)) return false;
  const labels = o.metadata.labels ?? {};
  for (const [k, v] of Object.entries(sel.labels)) {
    if (!(k in labels)) return false;
    if (v !== ANY && labels[k] !== v) return false;
  }
  return sel.also ? sel.also(o) : true;
}

/** What the cluster makes of an object: a StatefulSet's Pods carry its template's labels, a Service's EndpointSlices its labels. */
function withDerived(objects: Obj[]): Obj[] {
  const out = [...objects];
  for (const o of objects) {
    const template = (o.spec?.template as { metadata?: Obj["metadata"] } | undefined)?.metadata;
    if (o.kind === "StatefulSet" && template) out.push({ kind: "Pod", metadata: { ...template } });
    if (o.kind === "Service")
      out.push({
        kind: "EndpointSlice",
        metadata: {
          labels: { ...o.metadata.labels, "kubernetes.io/service-name": o.metadata.name ?? "" },
        },
      });
  }
  return out;
}

const OWNER = "proj/dev/web";
const backend: BackendServiceFacts = {
  namespace: "tailscale",
  name: "web",
  type: "ClusterIP",
  clusterIP: "10.0.0.1",
  clusterIPs: ["10.0.0.1"],
  ports: [{ name: "http", port: 80, protocol: "TCP" }],
};
const metrics: ProxyClassInput = { enableMetrics: true, serviceMonitor: { enable: true } };
const service = (over: Partial<TailnetServiceInput> = {}): TailnetServiceInput => ({
  ownerId: OWNER,
  service: { namespace: "tailscale", name: "web" },
  proxyClass: metrics,
  ...over,
});
const ingress = (over: Partial<TailnetIngressInput> = {}): TailnetIngressInput => ({
  ownerId: OWNER,
  defaultBackend: { service: { namespace: "tailscale", name: "web" }, port: 80 },
  proxyClass: metrics,
  ...over,
});
const group: ProxyGroupInput = {
  ownerId: "proj/dev/pg",
  name: "ingress",
  namespace: "tailscale",
  type: "ingress",
  replicas: 1,
  // With its NodePort Services, which the operator's static-endpoint selectors look for.
  proxyClass: { ...metrics, staticEndpoints: { nodePort: { ports: [{ port: 30001 }] } } },
};

/** Every object we plan, by proxy type (and the HA certificate objects, which belong to no proxy). */
const PLANNED: Record<string, Obj[]> = {
  ingress_service: planStandaloneService(service(), backend, {}).objects as Obj[],
  ingress_resource: planStandaloneIngress(ingress(), new Map([["tailscale/web", backend]]), {})
    .objects as Obj[],
  proxygroup_ingress: proxyGroupObjects(
    planProxyGroup(group, {
      authKeys: {},
      existingAdvertiseServices: {},
      staticEndpoints: { 0: { nodePort: 30001, endpoints: ["203.0.113.2:30001"] } },
    }),
  ) as Obj[],
  "HA TailnetIngress certificate objects": (() => {
    const p = planHAIngress(
      ingress({ proxyGroup: { name: "ingress", namespace: "tailscale" } }),
      new Map([["tailscale/web", backend]]),
      { tailnetDomain: "tailnet-1234.ts.net", clusterId: "c" },
    );
    return [p.certSecret, p.certRole, p.certRoleBinding] as Obj[];
  })(),
};

function describeObj(o: Obj): string {
  return `${o.kind} ${o.metadata.name ?? "(of a planned object)"}`;
}

describe("beside the operator: no controller of the operator selects our objects", () => {
  for (const [proxyType, planned] of Object.entries(PLANNED)) {
    it(`${proxyType}: ${planned.length} planned objects and what the cluster derives from them`, () => {
      const objects = withDerived(planned);
      const kinds = new Set(objects.map((o) => o.kind));
      assert.ok(kinds.size >= 3 || proxyType.startsWith("HA"), [...kinds].join(", "));
      const hits: string[] = [];
      for (const o of objects)
        for (const sel of SELECTORS)
          if (matches(sel, o) && !KEPT.test(sel.where)) hits.push(`${describeObj(o)} ← ${sel.where}`);
      assert.deepEqual(hits, []);
    });
  }

  it("the one overlap kept: a metrics Service's ts_* labels, which Prometheus reads", () => {
    const kept = Object.values(PLANNED)
      .flatMap(withDerived)
      .flatMap((o) =>
        SELECTORS.filter((s) => KEPT.test(s.where) && matches(s, o)).map(
          (s) => `${describeObj(o)} ${s.labels.ts_proxy_type as string}`,
        ),
      );
    assert.deepEqual(kept, [
      "Service ts-tailscale-web-metrics ingress_service",
      "Service ts-web-metrics ingress_resource",
      "Service ingress-metrics proxygroup",
    ]);
  });

  it("tailscale.com/managed is on HA certificate Secrets and metrics objects only", () => {
    const carrying = Object.values(PLANNED)
      .flatMap(withDerived)
      .filter((o) => o.metadata.labels?.[M] === "true")
      .map(describeObj);
    assert.deepEqual(carrying.sort(), [
      "EndpointSlice (of a planned object)",
      "EndpointSlice (of a planned object)",
      "EndpointSlice (of a planned object)",
      "Secret web.tailnet-1234.ts.net",
      "Service ingress-metrics",
      "Service ts-tailscale-web-metrics",
      "Service ts-web-metrics",
      "ServiceMonitor ingress-metrics",
      "ServiceMonitor ts-tailscale-web-metrics",
      "ServiceMonitor ts-web-metrics",
    ]);
  });

  it("every HA certificate Secret still matches containerboot's selector, and only it among ours", () => {
    const all = Object.values(PLANNED).flatMap(withDerived);
    assert.deepEqual(all.filter((o) => matches(CONTAINERBOOT_CERTS, o)).map(describeObj), [
      "Secret web.tailnet-1234.ts.net",
    ]);
  });

  it("what versions before the rename wrote is what the operator selected (so the test would see it)", () => {
    const old = Object.values(PLANNED).flatMap((objs) => withDerived(objs.map(asWrittenBefore)));
    const selected = new Set(
      old.filter((o) => SELECTORS.some((s) => !KEPT.test(s.where) && matches(s, o))).map((o) => o.kind),
    );
    assert.deepEqual([...selected].sort(), [
      "ConfigMap",
      "EndpointSlice",
      "Pod",
      "Role",
      "RoleBinding",
      "Secret",
      "Service",
      "ServiceAccount",
      "StatefulSet",
    ]);
  });
});

describe("beside the operator: objects an earlier version labelled as the operator does", () => {
  const template = (o: Obj) =>
    (o.spec!.template as { metadata: { labels: Record<string, string> } }).metadata.labels;

  it("a ProxyGroup StatefulSet keeps its selector and Pod labels; its own labels are ours", () => {
    const now = planProxyGroup(group, { authKeys: {}, existingAdvertiseServices: {} }).statefulSet as Obj;
    const kept = planProxyGroup(group, { authKeys: {}, existingAdvertiseServices: {}, legacyPodLabels: true })
      .statefulSet as Obj;
    const before = asWrittenBefore(now);
    assert.deepEqual(kept.spec?.selector, before.spec?.selector, "Kubernetes refuses a new selector");
    assert.deepEqual(kept.spec?.selector, {
      matchLabels: { [PT]: "proxygroup", [PN]: "ingress", [M]: "true" },
    });
    assert.deepEqual(template(kept), template(before), "no Pod restarts");
    assert.deepEqual(kept.metadata.labels, now.metadata.labels);
    assert.deepEqual(
      { ...kept, spec: { ...kept.spec, selector: 0, template: 0 } },
      {
        ...now,
        spec: { ...now.spec, selector: 0, template: 0 },
      },
    );
  });

  it("a standalone StatefulSet keeps its Pod labels (its selector is ours in both: app: <owner hash>)", () => {
    const now = planStandaloneService(service(), backend, {}).statefulSet as Obj;
    const kept = planStandaloneService(service(), backend, { legacyPodLabels: true }).statefulSet as Obj;
    assert.deepEqual(template(kept), template(asWrittenBefore(now)));
    assert.deepEqual(kept.spec?.selector, now.spec?.selector);
    assert.deepEqual(kept.metadata.labels, now.metadata.labels);
  });

  it("the diff of state an earlier version wrote is an in-place update that relabels; of ours, no change", () => {
    const news = service() as unknown as Record<string, unknown>;
    const olds = { ...news, kubernetesObjects: ["StatefulSet/tailscale/ts-tailscale-web"] };
    const d = diffTailnetService(olds, news);
    assert.equal(d.changes, true);
    assert.deepEqual(d.replaces, []);
    assert.match(d.detailedDiff.objectLabels!.reason, /relabels them under tailnet\.pulumi\.com\//);
    assert.equal(diffTailnetService({ ...olds, objectLabels: "tailnet.pulumi.com" }, news).changes, false);
    const pg = group as unknown as Record<string, unknown>;
    const recorded = { ...pg, kubernetesObjects: ["StatefulSet/tailscale/ingress"] };
    assert.deepEqual(Object.keys(diffProxyGroup(recorded, pg).detailedDiff), ["objectLabels"]);
  });
});
