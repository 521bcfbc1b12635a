// examples/ha through the real Pulumi language runtime and dynamic-provider host, against the local
// world: preview, an up whose HA creates fail after writing (recorded as partial creates), the up that
// finishes them, scale, no-op preview, destroy.
import assert from "node:assert/strict";
import type { StackHarness } from "../support/engine";
import { programStack } from "../support/examples";
import { type LocalWorld, startLocalWorld } from "../support/world";

describe("examples/ha through the engine", function () {
  this.timeout(180_000);
  let world: LocalWorld;
  let stack: StackHarness;

  before(async () => {
    world = await startLocalWorld();
    // The example leaves out the applications' Deployments; an HA TailnetService is advertised only
    // while its backend has a ready endpoint, so postgres's ready Pods are stood in for.
    world.readyPodsOnCreate("apps", "postgres");
    stack = programStack(world, {
      program: "examples/ha",
      project: "tailnet-ha",
      config: { staging: "true" },
    });
  });
  after(async () => {
    await stack?.close();
    await world?.stop();
  });

  const INGRESS = "pulumi-nodejs:dynamic/tailnet:TailnetIngress";
  const changed = (r: { steps: { op: string; urn: string }[] }) =>
    r.steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.urn.split("::").pop()}`);

  it("previews, deploys (HA creates that fail after writing are recorded, and finished by the next up), scales, previews again with no changes, and destroys leaving nothing", async () => {
    const preview = await stack.preview();
    assert.equal(preview.failed, false, preview.error);
    const creates = (type: string) =>
      preview.steps.filter((s) => s.op === "create" && s.type.endsWith(`:${type}`)).length;
    assert.deepEqual(
      [creates("ProxyGroup"), creates("TailnetIngress"), creates("TailnetService")],
      [1, 3, 1],
      "the preview, offline, lists the ProxyGroup and every service on it",
    );

    // Let's Encrypt refuses every order: the HA ingresses fail after writing their objects and Tailscale
    // Services. The dynamic-provider host reports each as a resource that failed to initialise, so the
    // engine records it with what it wrote instead of forgetting it.
    world.sim.setFault({ cert: { kind: "rate-limited", times: Number.POSITIVE_INFINITY } });
    const limited = await stack.up();
    assert.equal(limited.failed, true, "the first up fails");
    assert.match(limited.error ?? "", /rate limited/);
    const partial = ["grafana", "docs", "api"].filter(
      (n) => (stack.resource(n, INGRESS)?.initErrors?.length ?? 0) > 0,
    );
    assert.ok(partial.length > 0, "the failed creates are in state");
    for (const n of partial) {
      const r = stack.resource(n, INGRESS)!;
      assert.equal(r.id, `tailscale/ingress/svc:${n}`);
      assert.match(r.initErrors![0]!, /the next pulumi up finishes the create, pulumi destroy removes it/);
    }

    // The limit lifts: the next up updates each recorded one, which finishes its create.
    world.sim.setFault({ cert: undefined });
    const up = await stack.up();
    assert.equal(up.failed, false, up.error);
    for (const n of partial) assert.ok(changed(up).includes(`update ${n}`), `${n} is finished by an update`);
    const domain = world.tailscale.tailnetDomain;
    assert.deepEqual(up.outputs.urls, [
      `https://grafana.${domain}/`,
      `https://docs.${domain}/`,
      `https://api.${domain}/`,
    ]);
    assert.deepEqual(up.outputs.serviceNames, ["svc:grafana", "svc:docs", "svc:api", "svc:postgres"]);
    assert.deepEqual(up.outputs.certificates, ["issued", "issued", "issued"]);
    assert.equal((up.outputs.devices as unknown[]).length, 2);
    assert.deepEqual(
      world.tailscale
        .services()
        .map((s) => s.name)
        .sort(),
      ["svc:api", "svc:docs", "svc:grafana", "svc:postgres"],
    );
    await world.sim.waitIdle();
    for (const p of world.sim.pods().filter((p) => p.namespace === "tailscale")) {
      assert.deepEqual([...p.advertisedServices].sort(), [
        "svc:api",
        "svc:docs",
        "svc:grafana",
        "svc:postgres",
      ]);
    }

    const again = await stack.preview();
    assert.equal(again.failed, false, again.error);
    assert.deepEqual(changed(again), [], "a second preview shows no change");

    // examples/database beside it wants the hostname svc:postgres holds: its `up` fails naming the service
    // and its owner, instead of registering the device as postgres-1.
    const database = programStack(world, { program: "examples/database", project: "tailnet-database" });
    try {
      const clash = await database.up();
      assert.equal(clash.failed, true);
      assert.match(
        clash.error ?? "",
        /hostname "postgres" is already used by Tailscale Service svc:postgres \(owned by pulumi-tailnet resource tailnet-ha\/dev\/postgres\)/,
      );
      assert.ok(
        !world.tailscale.devices().some((d) => d.name.startsWith("postgres")),
        "no device took the name, suffixed or not",
      );
      assert.equal((await database.destroy()).failed, false);
    } finally {
      await database.close();
    }

    stack.setConfig("replicas", "3");
    const scaled = await stack.up();
    assert.equal(scaled.failed, false, scaled.error);
    assert.deepEqual(changed(scaled), ["update ingress"], "scaling touches only the ProxyGroup");
    assert.equal((scaled.outputs.devices as unknown[]).length, 3);
    await world.sim.waitIdle();
    const pods = world.sim.pods().filter((p) => p.namespace === "tailscale");
    assert.equal(pods.length, 3);
    for (const p of pods) assert.equal(p.advertisedServices.length, 4, `${p.name} serves every service`);

    const noop = await stack.preview();
    assert.deepEqual(changed(noop), []);

    const destroy = await stack.destroy();
    assert.equal(destroy.failed, false, destroy.error);
    world.assertNothingLeft();
  });
});
