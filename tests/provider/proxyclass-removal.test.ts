// Removing a ProxyClass field reaches the live proxy: for every field declared in
// provider/plan/schema/proxyClass.ts that changes the Pod template, the StatefulSet's own metadata or the
// ServiceMonitor, on a standalone proxy and on a ProxyGroup, an update that sets the field (with the
// fields it `requires`) changes the live StatefulSet or ServiceMonitor, and an update that removes it
// again brings them back to what a proxy without the field has (no ServiceMonitor: the world's cluster
// has the Prometheus Operator's CRD). Fields of the tailscaled config (`acceptRoutes`) change a value in
// the config Secret, not the StatefulSet, and are not removed keys; they are left to
// tests/unit/proxyclass-fields.test.ts.
import assert from "node:assert/strict";
import * as provider from "../../provider";
import type { ProxyType } from "../../provider/plan/proxyclass";
import { PROXY_CLASS, type ProxyClassField } from "../../provider/plan/schema/proxyClass";
import { SERVICE_MONITOR_CRD } from "../support/prometheus-operator-crds";
import { PROXY_CLASS_SAMPLES } from "../support/proxyclass-samples";
import { type LocalWorld, startLocalWorld } from "../support/world";

/** The declared fields that change the StatefulSet or the ServiceMonitor of a proxy of `type`. */
function liveFields(type: ProxyType): (keyof typeof PROXY_CLASS)[] {
  return (Object.keys(PROXY_CLASS) as (keyof typeof PROXY_CLASS)[]).filter((k) => {
    const d: ProxyClassField = PROXY_CLASS[k];
    return d.appliesTo !== "tailscaledConfig" && (!d.only || d.only.includes(type));
  });
}

/**
 * What a ProxyClass can change of a live proxy: its StatefulSet's labels, annotations and Pod template,
 * and its ServiceMonitor.
 */
function shapeOf(sts: any, serviceMonitor: any) {
  return {
    labels: sts.metadata.labels,
    annotations: sts.metadata.annotations,
    template: sts.spec.template,
    serviceMonitor: serviceMonitor?.spec,
  };
}

describe("ProxyClass fields removed in an update are gone from the live StatefulSet", function () {
  this.timeout(600_000);
  let world: LocalWorld;

  before(async () => {
    world = await startLocalWorld({ crds: [SERVICE_MONITOR_CRD] });
    world.kube.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: "tailscale" } });
    await world.addService("data", "postgres", {
      selector: { app: "postgres" },
      ports: [{ name: "postgres", port: 5432 }],
    });
  });
  after(async () => {
    await world?.stop();
  });

  async function checked(kind: string, news: Record<string, unknown>, olds: Record<string, unknown>) {
    const result = await provider.check(kind, olds, news);
    assert.deepEqual(result.failures ?? [], []);
    return result.inputs as Record<string, any>;
  }

  /** Sets then removes each field, checking the live StatefulSet after each update. */
  async function setThenRemoveEach(
    kind: string,
    type: ProxyType,
    base: Record<string, unknown>,
    stsRef: { namespace: string; name: string },
  ) {
    const live = () =>
      shapeOf(
        world.kube.getObject("apps/v1", "StatefulSet", stsRef.namespace, stsRef.name),
        world.kube.getObject(
          "monitoring.coreos.com/v1",
          "ServiceMonitor",
          stsRef.namespace,
          `${stsRef.name}-metrics`,
        ),
      );
    let news = await checked(kind, base, {});
    let { id, outs } = await provider.create(kind, news);
    const baseline = live();
    const fields = liveFields(type);
    assert.ok(fields.length > 10, `fields for ${type}: ${fields.join(", ")}`);
    for (const field of fields) {
      const requires = Object.fromEntries(
        (PROXY_CLASS[field] as ProxyClassField).requires?.map((r) => [r, true]) ?? [],
      );
      const withField = await checked(
        kind,
        { ...base, proxyClass: { ...requires, [field]: PROXY_CLASS_SAMPLES[field] } },
        news,
      );
      ({ outs } = await provider.update(kind, id, outs, withField));
      assert.notDeepEqual(live(), baseline, `${type}: setting ${field} changes the live proxy`);
      news = await checked(kind, base, withField);
      ({ outs } = await provider.update(kind, id, outs, news));
      assert.deepEqual(live(), baseline, `${type}: removing ${field} leaves nothing of it behind`);
    }
    await provider.remove(kind, id, outs);
    assert.deepEqual(world.leftovers().kubernetesObjects, []);
  }

  it("on a standalone proxy (TailnetService)", async () => {
    await setThenRemoveEach(
      "TailnetService",
      "ingress_service",
      {
        ownerId: "proj/dev/postgres",
        service: { namespace: "data", name: "postgres" },
        hostname: "postgres",
        credentials: world.credentials,
        customTimeouts: { create: "30s", update: "30s", delete: "30s" },
      },
      { namespace: "data", name: "ts-postgres" },
    );
  });

  it("on a ProxyGroup", async () => {
    await setThenRemoveEach(
      "ProxyGroup",
      "proxygroup_ingress",
      {
        ownerId: "proj/dev/ingress",
        name: "ingress",
        namespace: "tailscale",
        type: "ingress",
        replicas: 1,
        credentials: world.credentials,
        customTimeouts: { create: "30s", update: "30s", delete: "30s" },
      },
      { namespace: "tailscale", name: "ingress" },
    );
  });
});
