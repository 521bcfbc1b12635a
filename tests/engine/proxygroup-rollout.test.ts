// A ProxyGroup's zero-downtime defaults through the engine (tests/engine/fixtures/rollout): the preview
// plans its PodDisruptionBudget, the up creates it and spreads the replicas over nodes; then a ProxyClass
// change of the Pod template (topologySpreadConstraints over zones, replacing the default spread over
// nodes) rolls both replicas while, at every change of the tailnet and of the cluster, a Ready replica
// advertises the HA ingress and the HA service (tests/support/serving-watch.ts); destroy removes the
// budget with the rest.
//
// The simulator's login takes 25 s before the time scale (50 ms), so that the StatefulSet controller
// acts on a Ready Pod sooner than a new replica logs in, as in a real cluster
// (tests/provider/proxygroup-rollout.test.ts shows the same rollout without the probe failing this watch).
import assert from "node:assert/strict";
import type { StackHarness } from "../support/engine";
import { programStack } from "../support/examples";
import { watchServing } from "../support/serving-watch";
import { type LocalWorld, startLocalWorld } from "../support/world";

const ZONE = "topology.kubernetes.io/zone";

describe("ProxyGroup rollout through the engine", function () {
  this.timeout(180_000);
  let world: LocalWorld;
  let stack: StackHarness;

  before(async () => {
    world = await startLocalWorld({
      sim: {
        delays: { loginMs: 25_000 },
        nodes: [
          { name: "node-a1", labels: { [ZONE]: "a" } },
          { name: "node-a2", labels: { [ZONE]: "a" } },
          { name: "node-b1", labels: { [ZONE]: "b" } },
        ],
      },
    });
    world.kube.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: "tailscale" } });
    await world.addService("apps", "web");
    await world.addService("apps", "db", {
      selector: { app: "db" },
      ports: [{ name: "pg", port: 5432, targetPort: 5432 }],
    });
    stack = programStack(world, {
      program: "tests/engine/fixtures/rollout",
      project: "rollout",
      config: { proxyClass: JSON.stringify({ useLetsEncryptStagingEnvironment: true }) },
    });
  });
  after(async () => {
    await stack?.close();
    await world?.stop();
  });

  const replicas = () =>
    world.sim
      .pods()
      .filter((p) => p.namespace === "tailscale")
      .map((p) => ({ name: p.name, node: p.nodeName, ready: p.ready, advertises: p.advertisedServices }));
  const zoneOf = (node: string | undefined) =>
    ({ "node-a1": "a", "node-a2": "a", "node-b1": "b" })[node ?? ""];

  it("plans and creates the budget, spreads the replicas, rolls a ProxyClass change with a replica always serving, and destroys it all", async () => {
    const up = await stack.up();
    assert.equal(up.failed, false, up.error);
    const planned = up.preview?.steps.find((s) => s.type.endsWith(":ProxyGroup"))?.inputs?.plannedObjects as
      | Record<string, string>
      | undefined;
    assert.ok(planned?.["PodDisruptionBudget/tailscale/edge"], "the preview lists the PodDisruptionBudget");
    const pdb = world.kube.getObject("policy/v1", "PodDisruptionBudget", "tailscale", "edge");
    assert.equal(pdb?.spec?.maxUnavailable, 1);
    assert.equal(pdb?.spec?.unhealthyPodEvictionPolicy, "AlwaysAllow");
    const services = up.outputs.serviceNames as string[];
    assert.deepEqual(services, ["svc:web", "svc:db"]);
    await world.sim.waitIdle();
    const before = replicas();
    assert.deepEqual(
      before.map((r) => [r.name, r.ready, [...r.advertises].sort()]),
      [
        ["edge-0", true, ["svc:db", "svc:web"]],
        ["edge-1", true, ["svc:db", "svc:web"]],
      ],
    );
    assert.equal(new Set(before.map((r) => r.node)).size, 2, "one replica per node (the default spread)");

    // The ProxyClass change: spread over zones instead of nodes, a new Pod template.
    stack.setConfig(
      "proxyClass",
      JSON.stringify({
        useLetsEncryptStagingEnvironment: true,
        topologySpreadConstraints: [{ maxSkew: 1, topologyKey: ZONE, whenUnsatisfiable: "DoNotSchedule" }],
      }),
    );
    const watch = watchServing(world, { namespace: "tailscale", group: "edge", replicas: 2, services });
    // Its preview is the one already checked above: skipped, to keep the test short.
    const rolled = await stack.up({ skipPreview: true });
    await world.sim.waitIdle();
    watch.stop();
    assert.equal(rolled.failed, false, rolled.error);
    assert.deepEqual(
      rolled.steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.name}`),
      ["update edge"],
      "only the ProxyGroup changes",
    );
    assert.deepEqual(
      [...watch.podUids.entries()].map(([name, uids]) => [name, uids.length]),
      [
        ["edge-0", 2],
        ["edge-1", 2],
      ],
      "the rollout replaced both replicas",
    );
    assert.ok(watch.samplesDuringReplacement > 0, "states were checked while replicas were replaced");
    assert.deepEqual(watch.gaps, [], "at every moment a Ready replica advertised every service");
    const after = replicas();
    assert.ok(
      after.every((r) => r.ready && r.advertises.length === 2),
      JSON.stringify(after),
    );
    assert.deepEqual(after.map((r) => zoneOf(r.node)).sort(), ["a", "b"], "one replica per zone now");

    const destroy = await stack.destroy({ skipPreview: true });
    assert.equal(destroy.failed, false, destroy.error);
    world.assertNothingLeft();
  });
});
