// Why a ProxyGroup's replicas carry a readiness probe: the same rolling update of a 2-replica group
// serving an HA TailnetService, watched at every change of the tailnet and the cluster
// (tests/support/serving-watch.ts), leaves moments when no replica advertises the service if the Pods have
// no readiness probe (the kubelet reports them Ready when their container starts, so the StatefulSet
// controller stops the other replica while the new one is still logging in), and none with the
// template pulumi-tailnet plans. Also the check that the watch can see a gap at all.
//
// tailscaled's login takes about a second in a real cluster, far longer than the controller takes to
// act on a Ready Pod; compressed by the test time scale it would take 2 ms, less than one API round trip,
// so the simulator is given a login of 25 s (50 ms here) to keep that order.
import assert from "node:assert/strict";
import * as k8s from "@kubernetes/client-node";
import * as provider from "../../provider";
import { watchServing } from "../support/serving-watch";
import { type LocalWorld, startLocalWorld } from "../support/world";

const NS = "tailscale";

describe("ProxyGroup rollout: a replica serves the Tailscale Service at every moment only with readiness", function () {
  this.timeout(120_000);
  let world: LocalWorld;

  before(async () => {
    world = await startLocalWorld({ sim: { delays: { loginMs: 25_000 } } });
    world.kube.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    await world.addService("data", "postgres", {
      selector: { app: "postgres" },
      ports: [{ name: "pg", port: 5432 }],
    });
  });
  after(async () => {
    await world?.stop();
  });

  async function checked(kind: string, news: Record<string, unknown>, olds: Record<string, unknown> = {}) {
    const r = await provider.check(kind, olds, news);
    assert.deepEqual(r.failures ?? [], []);
    return r.inputs as Record<string, any>;
  }

  it("without the probe a rollout leaves the service unserved; with the planned template it never does", async () => {
    const common = { credentials: world.credentials, customTimeouts: { create: "60s", update: "60s" } };
    const pgIn = (proxyClass?: Record<string, unknown>) => ({
      ownerId: "p/s/edge",
      name: "edge",
      namespace: NS,
      type: "ingress",
      replicas: 2,
      proxyClass,
      ...common,
    });
    const one = await checked("ProxyGroup", pgIn());
    const pg = await provider.create("ProxyGroup", one);
    const db = await provider.create(
      "TailnetService",
      await checked("TailnetService", {
        ownerId: "p/s/db",
        service: { namespace: "data", name: "postgres" },
        proxyGroup: { name: "edge", namespace: NS },
        ...common,
      }),
    );
    await world.sim.waitIdle();
    const watched = { namespace: NS, group: "edge", replicas: 2, services: [db.outs.serviceName] };

    // The same template without its probe, rolled by the StatefulSet controller.
    const kc = new k8s.KubeConfig();
    kc.loadFromString(world.adminKubeconfig);
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const unprobed = watchServing(world, watched);
    const sts = await apps.readNamespacedStatefulSet({ name: "edge", namespace: NS });
    const tmpl = sts.spec!.template;
    delete tmpl.spec!.containers.find((c) => c.name === "tailscale")!.readinessProbe;
    tmpl.metadata!.annotations = { ...tmpl.metadata!.annotations, "example.com/rollout": "1" };
    await apps.replaceNamespacedStatefulSet({ name: "edge", namespace: NS, body: sts });
    await world.sim.waitIdle();
    unprobed.stop();
    assert.deepEqual(
      [...unprobed.podUids.values()].map((uids) => uids.length),
      [2, 2],
      "both replicas were replaced",
    );
    assert.ok(unprobed.gaps.length > 0, "the watch saw the service unserved during the rollout");
    assert.ok(unprobed.gaps.every((g) => g.service === db.outs.serviceName));

    // pulumi-tailnet's template (a ProxyClass change rolls it back in): not one moment without a replica.
    const probed = watchServing(world, watched);
    const two = await checked("ProxyGroup", pgIn({ podAnnotations: { "example.com/rollout": "2" } }), one);
    const rolled = await provider.update("ProxyGroup", pg.id, pg.outs, two);
    await world.sim.waitIdle();
    probed.stop();
    assert.deepEqual(
      [...probed.podUids.values()].map((uids) => uids.length),
      [2, 2],
      "both replicas were replaced",
    );
    assert.ok(probed.samplesDuringReplacement > 0, "sampled while replicas were replaced");
    assert.deepEqual(probed.gaps, []);

    await provider.remove("TailnetService", db.id, db.outs);
    await provider.remove("ProxyGroup", pg.id, rolled.outs);
    world.assertNothingLeft();
  });
});
