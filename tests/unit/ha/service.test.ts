import assert from "node:assert/strict";
import type { BackendServiceFacts } from "../../../provider/plan/backends";
import { PlanError } from "../../../provider/plan/errors";
import {
  anyReadyEndpoint,
  HA_SERVICE_PORTS,
  ingressConfigEntryFor,
  ingressConfigServiceNames,
  joinTokenFor,
  OwnershipConflictError,
  planHAService,
  removeIngressConfig,
  replicaReportsRules,
  replicaRulesRemoved,
  type TailscaleService,
  upsertIngressConfig,
  withAdvertisedService,
} from "../../../provider/plan/ha";
import type { TailnetServiceInput } from "../../../provider/plan/inputs";

function backend(
  name: string,
  clusterIP: string,
  over: Partial<BackendServiceFacts> = {},
): BackendServiceFacts {
  return {
    namespace: "default",
    name,
    type: "LoadBalancer",
    clusterIP,
    clusterIPs: [clusterIP],
    ports: [{ name: "http", port: 80, protocol: "TCP" }],
    ...over,
  };
}

/** The ProxyGroup every input here is served by. */
const PG = { name: "test-pg", namespace: "operator-ns" };

function input(name: string, over: Partial<TailnetServiceInput> = {}): TailnetServiceInput {
  return {
    ownerId: `proj/dev/${name}`,
    service: { namespace: "default", name },
    proxyGroup: PG,
    ...over,
  };
}

/** The status containerboot writes into the state Secret (the operator test's updateIngressConfigSecret). */
function status(entries: Record<string, string>, podIPv4 = "4.3.2.1"): string {
  const configs: Record<string, unknown> = {};
  for (const [svc, clusterIP] of Object.entries(entries)) {
    configs[svc] = { IPv4Mapping: { TailscaleServiceIP: "5.6.7.8", ClusterIP: clusterIP } };
  }
  return JSON.stringify({ configs, podIPv4 });
}

describe("ha/service: TestServicePGReconciler through the pure helpers", () => {
  it("four Services: do-not-validate VIPs, ingress-config entries, gated advertisement accumulating in order; then removal", () => {
    let ingressConfig: string | undefined;
    let config0 = '{"Version":""}';
    const applied: Record<string, string> = {};
    for (let i = 0; i < 4; i++) {
      const name = `test-svc-${i}`;
      const be = backend(name, `1.2.3.${i}`);
      // Before the VIP exists there are no addresses, so no DNAT entry yet.
      const first = planHAService(input(name), be, { clusterId: "c1" });
      assert.equal(first.serviceName, `svc:default-${name}`);
      assert.deepEqual(first.tailscaleService.ports, ["do-not-validate"]);
      assert.equal(first.ingressConfigEntry, undefined);
      // The fake API assigns 5.6.7.8; the re-plan with the created service yields the entry.
      const existing: TailscaleService = { ...first.tailscaleService, addrs: ["5.6.7.8"] };
      const plan = planHAService(input(name), be, { clusterId: "c1", existingService: existing });
      assert.deepEqual(plan.ingressConfigEntry, {
        IPv4Mapping: { TailscaleServiceIP: "5.6.7.8", ClusterIP: `1.2.3.${i}` },
      });
      ingressConfig = upsertIngressConfig(ingressConfig, plan.serviceName, plan.ingressConfigEntry!);
      // Not advertised until the replica reports the rules.
      assert.equal(
        replicaReportsRules(status(applied), ["4.3.2.1"], plan.serviceName, plan.ingressConfigEntry!),
        false,
      );
      applied[plan.serviceName] = `1.2.3.${i}`;
      assert.equal(
        replicaReportsRules(status(applied), ["4.3.2.1"], plan.serviceName, plan.ingressConfigEntry!),
        true,
      );
      config0 = withAdvertisedService(config0, plan.serviceName, true);
    }
    assert.equal(
      ingressConfig,
      '{"svc:default-test-svc-0":{"IPv4Mapping":{"TailscaleServiceIP":"5.6.7.8","ClusterIP":"1.2.3.0"}},"svc:default-test-svc-1":{"IPv4Mapping":{"TailscaleServiceIP":"5.6.7.8","ClusterIP":"1.2.3.1"}},"svc:default-test-svc-2":{"IPv4Mapping":{"TailscaleServiceIP":"5.6.7.8","ClusterIP":"1.2.3.2"}},"svc:default-test-svc-3":{"IPv4Mapping":{"TailscaleServiceIP":"5.6.7.8","ClusterIP":"1.2.3.3"}}}',
    );
    assert.equal(
      config0,
      '{"Version":"","AdvertiseServices":["svc:default-test-svc-0","svc:default-test-svc-1","svc:default-test-svc-2","svc:default-test-svc-3"]}',
    );
    for (let i = 0; i < 4; i++) {
      ingressConfig = removeIngressConfig(ingressConfig, `svc:default-test-svc-${i}`);
      config0 = withAdvertisedService(config0, `svc:default-test-svc-${i}`, false);
      assert.equal(ingressConfigServiceNames(ingressConfig).length, 3 - i);
    }
    assert.equal(ingressConfig, "{}");
    assert.equal(config0, '{"Version":""}');
  });

  it("UpdateHostname: hostname foobarbaz → svc:foobarbaz", () => {
    const plan = planHAService(
      input("test-service", { hostname: "foobarbaz" }),
      backend("test-service", "4.1.6.7"),
      {},
    );
    assert.equal(plan.serviceName, "svc:foobarbaz");
    assert.deepEqual(plan.tailscaleService.ports, ["do-not-validate"]);
  });

  it("the whole plan for an existing service (ours: owners annotation and comment; an older entry gains its ProxyGroup)", () => {
    const existing: TailscaleService = {
      name: "svc:db",
      addrs: ["100.80.0.1", "fd7a:115c:a1e0::9"],
      annotations: { "tailnet.pulumi.com/owners": '{"owners":[{"id":"proj/dev/db","cluster":"c1"}]}' },
    };
    const plan = planHAService(
      input("postgres", { ownerId: "proj/dev/db", hostname: "db", tags: ["tag:db"] }),
      backend("postgres", "10.0.0.5", { clusterIPs: ["10.0.0.5", "fd00::5"], ports: [{ port: 5432 }] }),
      { clusterId: "c1", existingService: existing, tailnetDomain: "tailxyz.ts.net" },
    );
    assert.deepEqual(plan, {
      hostname: "db",
      serviceName: "svc:db",
      dnsName: "db.tailxyz.ts.net",
      tailscaleService: {
        name: "svc:db",
        addrs: ["100.80.0.1", "fd7a:115c:a1e0::9"],
        comment: "Managed by pulumi-tailnet; do not modify",
        annotations: {
          "tailnet.pulumi.com/owners":
            '{"owners":[{"id":"proj/dev/db","cluster":"c1","proxyGroup":{"namespace":"operator-ns","name":"test-pg"}}]}',
        },
        ports: ["do-not-validate"],
        tags: ["tag:db"],
      },
      owners: [{ id: "proj/dev/db", cluster: "c1", proxyGroup: PG }],
      joinToken: plan.joinToken,
      ingressConfigEntry: {
        IPv4Mapping: { TailscaleServiceIP: "100.80.0.1", ClusterIP: "10.0.0.5" },
        IPv6Mapping: { TailscaleServiceIP: "fd7a:115c:a1e0::9", ClusterIP: "fd00::5" },
      },
    });
    assert.equal(
      upsertIngressConfig(undefined, plan.serviceName, plan.ingressConfigEntry!),
      '{"svc:db":{"IPv4Mapping":{"TailscaleServiceIP":"100.80.0.1","ClusterIP":"10.0.0.5"},"IPv6Mapping":{"TailscaleServiceIP":"fd7a:115c:a1e0::9","ClusterIP":"fd00::5"}}}',
    );
  });

  it("MultiCluster: another stack's service with the same name is refused (ours; the operator merges them)", () => {
    const existing: TailscaleService = {
      name: "svc:default-web",
      addrs: ["5.6.7.8"],
      annotations: { "tailnet.pulumi.com/owners": '{"owners":[{"id":"other/prod/web","cluster":"c2"}]}' },
    };
    assert.throws(
      () =>
        planHAService(input("web"), backend("web", "10.0.0.1"), {
          clusterId: "c1",
          existingService: existing,
        }),
      (e: unknown) =>
        e instanceof OwnershipConflictError && e.message.includes('owned by "other/prod/web" (cluster c2)'),
    );
  });

  it("headless and ExternalName backends are PlanErrors", () => {
    assert.throws(
      () => planHAService(input("h"), backend("h", "None"), {}),
      (e: unknown) => e instanceof PlanError && e.code === "HeadlessService",
    );
    assert.throws(
      () => planHAService(input("x"), backend("x", "", { type: "ExternalName", clusterIPs: [] }), {}),
      (e: unknown) =>
        e instanceof PlanError && e.code === "NoClusterIP" && e.message.includes("type ExternalName"),
    );
  });
});

describe("ha/service: ports, entries and gates", () => {
  it("ports: do-not-validate, as the operator sends", () => {
    assert.deepEqual(HA_SERVICE_PORTS, ["do-not-validate"]);
  });

  it("entries map only the families the VIP has", () => {
    const dual = backend("a", "10.0.0.1", { clusterIPs: ["10.0.0.1", "fd00::1"] });
    assert.deepEqual(ingressConfigEntryFor(dual, ["100.64.0.1"]), {
      IPv4Mapping: { TailscaleServiceIP: "100.64.0.1", ClusterIP: "10.0.0.1" },
    });
    assert.equal(ingressConfigEntryFor(dual, []), undefined);
  });

  it("upsert returns the input unchanged when the entry is equal", () => {
    const e = { IPv4Mapping: { TailscaleServiceIP: "5.6.7.8", ClusterIP: "1.2.3.0" } };
    const once = upsertIngressConfig("{}", "svc:a", e);
    assert.equal(upsertIngressConfig(once, "svc:a", e), once);
    assert.equal(removeIngressConfig(once, "svc:b"), once);
    assert.equal(removeIngressConfig(undefined, "svc:b"), undefined);
  });

  it("replicaReportsRules requires the running pod's IPs and the exact entry", () => {
    const e = { IPv4Mapping: { TailscaleServiceIP: "5.6.7.8", ClusterIP: "1.2.3.0" } };
    const s = status({ "svc:a": "1.2.3.0" });
    assert.equal(replicaReportsRules(s, ["4.3.2.1"], "svc:a", e), true);
    assert.equal(replicaReportsRules(s, ["4.3.2.9"], "svc:a", e), false, "status from an earlier pod");
    assert.equal(
      replicaReportsRules(s, ["4.3.2.1", "fd00::7"], "svc:a", e),
      false,
      "pod has an IPv6 the status lacks",
    );
    assert.equal(
      replicaReportsRules(s, ["4.3.2.1"], "svc:a", {
        IPv4Mapping: { TailscaleServiceIP: "5.6.7.8", ClusterIP: "1.2.3.1" },
      }),
      false,
      "stale cluster IP",
    );
    assert.equal(replicaReportsRules(undefined, ["4.3.2.1"], "svc:a", e), false);
    assert.equal(replicaReportsRules("{garbage", ["4.3.2.1"], "svc:a", e), false);
  });

  it("replicaRulesRemoved: current status without the entry, or a stale/missing status", () => {
    assert.equal(replicaRulesRemoved(status({ "svc:a": "1.2.3.0" }), ["4.3.2.1"], "svc:a"), false);
    assert.equal(replicaRulesRemoved(status({}), ["4.3.2.1"], "svc:a"), true);
    assert.equal(replicaRulesRemoved(status({ "svc:a": "1.2.3.0" }), ["9.9.9.9"], "svc:a"), true);
    assert.equal(replicaRulesRemoved(undefined, ["4.3.2.1"], "svc:a"), true);
  });
});

describe("ha/service: joining through the joinToken input", () => {
  it("input.joinToken joins another stack's service (multi-cluster HA made explicit)", () => {
    const existing: TailscaleService = {
      name: "svc:db",
      addrs: ["100.80.0.1"],
      annotations: { "tailnet.pulumi.com/owners": '{"owners":[{"id":"other/prod/db","cluster":"c2"}]}' },
    };
    const be = backend("postgres", "10.0.0.5");
    const joinToken = joinTokenFor("svc:db", "other/prod/db");
    const plan = planHAService(input("postgres", { hostname: "db", joinToken }), be, {
      clusterId: "c1",
      existingService: existing,
    });
    assert.deepEqual(plan.owners, [
      { id: "other/prod/db", cluster: "c2" },
      { id: "proj/dev/postgres", cluster: "c1", proxyGroup: PG },
    ]);
    assert.equal(plan.joinToken, joinTokenFor("svc:db", "proj/dev/postgres"));
  });
});

describe("HA TailnetService backend readiness (anyReadyEndpoint)", () => {
  it("needs one ready endpoint in any of the Service's EndpointSlices", () => {
    assert.equal(anyReadyEndpoint([]), false, "no EndpointSlice yet");
    assert.equal(anyReadyEndpoint([{ endpoints: [] }, { endpoints: null }]), false, "no endpoints");
    assert.equal(
      anyReadyEndpoint([{ endpoints: [{ conditions: { ready: false } }, { conditions: { ready: false } }] }]),
      false,
    );
    assert.equal(
      anyReadyEndpoint([
        { endpoints: [{ conditions: { ready: false } }] },
        { endpoints: [{ conditions: { ready: true } }] },
      ]),
      true,
    );
  });

  it("an unset ready condition counts as ready, as the EndpointSlice API defines it", () => {
    assert.equal(anyReadyEndpoint([{ endpoints: [{ conditions: {} }] }]), true);
    assert.equal(anyReadyEndpoint([{ endpoints: [{ conditions: { ready: null } }] }]), true);
    assert.equal(anyReadyEndpoint([{ endpoints: [{}] }]), true);
  });
});
