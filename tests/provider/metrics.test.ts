// A standalone proxy's ServiceMonitor through the provider lifecycle (ProxyGroups: tests/engine/metrics.test.ts):
// made beside the metrics Service when the ProxyClass asks and the cluster has the Prometheus Operator's
// CRD, its labels updated in place, removed when no longer asked for; once the CRD is uninstalled, an
// update or a create that asks for one fails naming the field and the CRD before writing anything, and
// a delete of the proxy still succeeds.
import assert from "node:assert/strict";
import * as provider from "../../provider";
import { SERVICE_MONITOR_CRD } from "../support/prometheus-operator-crds";
import { type LocalWorld, startLocalWorld } from "../support/world";

const SM = ["monitoring.coreos.com/v1", "ServiceMonitor", "data", "ts-pg-metrics"] as const;

describe("a standalone proxy's ServiceMonitor", function () {
  this.timeout(120_000);
  let world: LocalWorld;

  before(async () => {
    world = await startLocalWorld({ crds: [SERVICE_MONITOR_CRD] });
    await world.addService("data", "postgres", { selector: { app: "pg" }, ports: [{ port: 5432 }] });
  });
  after(async () => {
    await world?.stop();
  });

  async function checked(news: Record<string, unknown>, olds: Record<string, unknown> = {}) {
    const r = await provider.check("TailnetService", olds, news);
    assert.deepEqual(r.failures ?? [], []);
    return r.inputs as Record<string, any>;
  }
  const inputs = (hostname: string, serviceMonitor?: object) => ({
    ownerId: `p/s/${hostname}`,
    service: { namespace: "data", name: "postgres" },
    hostname,
    proxyClass: { enableMetrics: true, ...(serviceMonitor ? { serviceMonitor } : {}) },
    credentials: world.credentials,
    customTimeouts: { create: "30s", update: "30s", delete: "30s" },
  });
  const deployerWrites = () =>
    world.kube.requests.filter((r) => r.user === world.deployer.user && r.class === "write").length;

  it("is made, updated in place, removed, and refused once the CRD is gone", async () => {
    const first = await checked(inputs("pg", { enable: true, labels: { release: "a" } }));
    const made = await provider.create("TailnetService", first);
    const sm = world.kube.getObject(...SM);
    const svc = world.kube.getObject("v1", "Service", "data", "ts-pg-metrics");
    assert.equal(sm.metadata.labels.release, "a");
    for (const [k, v] of Object.entries<string>(sm.spec.selector.matchLabels)) {
      assert.equal(svc.metadata.labels[k], v, `selects the metrics Service by ${k}`);
    }
    assert.equal(sm.spec.selector.matchLabels.ts_prom_job, "ts_ingress_service_data_postgres");
    assert.ok(made.outs.kubernetesObjects.includes("ServiceMonitor/data/ts-pg-metrics"));

    const relabelled = await checked(inputs("pg", { enable: true, labels: { release: "b" } }), first);
    let outs = (await provider.update("TailnetService", made.id, made.outs, relabelled)).outs;
    const sm2 = world.kube.getObject(...SM);
    assert.equal(sm2.metadata.uid, sm.metadata.uid, "in place");
    assert.equal(sm2.metadata.labels.release, "b");

    const off = await checked(inputs("pg", { enable: false }), relabelled);
    outs = (await provider.update("TailnetService", made.id, outs, off)).outs;
    assert.equal(world.kube.getObject(...SM), undefined, "no longer asked for: deleted");
    assert.ok(world.kube.getObject("v1", "Service", "data", "ts-pg-metrics"), "the metrics Service stays");
    const on = await checked(inputs("pg", { enable: true }), off);
    outs = (await provider.update("TailnetService", made.id, outs, on)).outs;
    assert.ok(world.kube.getObject(...SM));

    // The Prometheus Operator is uninstalled: its CRD goes, and the ServiceMonitors with it.
    world.kube.remove(
      "apiextensions.k8s.io/v1",
      "CustomResourceDefinition",
      undefined,
      SERVICE_MONITOR_CRD.metadata.name,
    );
    for (let i = 0; i < 500; i++) {
      const crd = world.kube.getObject(
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        undefined,
        SERVICE_MONITOR_CRD.metadata.name,
      );
      if (!crd) break;
      await new Promise((r) => setImmediate(r));
    }
    const before = deployerWrites();
    const refused =
      /proxyClass\.serviceMonitor\.enable is true, but the cluster has no CustomResourceDefinition "servicemonitors\.monitoring\.coreos\.com".*set proxyClass\.serviceMonitor\.enable to false/;
    const again = await checked(inputs("pg", { enable: true, labels: { release: "c" } }), on);
    await assert.rejects(provider.update("TailnetService", made.id, outs, again), refused);
    await assert.rejects(
      provider.create("TailnetService", await checked(inputs("pg2", { enable: true }))),
      refused,
    );
    assert.equal(deployerWrites(), before, "nothing was written");
    assert.deepEqual(world.tailscale.validAuthKeys(), [], "no key was minted");

    await provider.remove("TailnetService", made.id, outs);
    assert.deepEqual(world.leftovers(), {
      kubernetesObjects: [],
      devices: [],
      validAuthKeys: [],
      services: [],
    });
  });
});
