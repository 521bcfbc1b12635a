// examples/ha through the real Pulumi language runtime and dynamic-provider host, against the local
// world: preview, up, scale, no-op preview, destroy. Certificates take 4 s to issue here, so the `up`
// reports its wait for them through the engine (provider/progress.ts).
import assert from "node:assert/strict";
import { TEST_TIME_SCALE } from "../support/cluster-sim";
import type { StackHarness } from "../support/engine";
import { programStack } from "../support/examples";
import { type LocalWorld, startLocalWorld } from "../support/world";

describe("examples/ha through the engine", function () {
  this.timeout(180_000);
  let world: LocalWorld;
  let stack: StackHarness;

  before(async () => {
    world = await startLocalWorld({ sim: { delays: { certMs: 4_000 / TEST_TIME_SCALE } } });
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

  const changed = (r: { steps: { op: string; urn: string }[] }) =>
    r.steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.urn.split("::").pop()}`);

  it("previews, deploys, scales, previews again with no changes, and destroys leaving nothing", async () => {
    const preview = await stack.preview();
    assert.equal(preview.failed, false, preview.error);
    const creates = (type: string) =>
      preview.steps.filter((s) => s.op === "create" && s.type.endsWith(`:${type}`)).length;
    assert.deepEqual(
      [creates("ProxyGroup"), creates("TailnetIngress"), creates("TailnetService")],
      [1, 3, 1],
      "the preview, offline, lists the ProxyGroup and every service on it",
    );

    const up = await stack.up();
    assert.equal(up.failed, false, up.error);
    const domain = world.tailscale.tailnetDomain;
    // Each ingress's wait for its certificate is told on its own line in the CLI (Engine.Log with its
    // URN, ephemeral), while it lasts and when it ends; the preview runs no step, so it tells nothing.
    for (const name of ["grafana", "docs", "api"]) {
      const urn = stack.resource(name, "pulumi-nodejs:dynamic/tailnet:TailnetIngress")?.urn;
      const what = `the proxy in Pod tailscale/ingress-0 to obtain the certificate for ${name}.${domain}`;
      const lines = up.logs.filter((l) => l.urn === urn && l.message.includes(what));
      assert.ok(lines.length >= 2, `${name}: ${JSON.stringify(up.logs.filter((l) => l.ephemeral))}`);
      assert.ok(lines.every((l) => l.source === "engine" && l.ephemeral && l.severity === "info"));
      assert.match(lines[0]!.message, /^\[\d+s\] waiting for /, "what and for how long");
      assert.match(lines.at(-1)!.message, /^\[\d+s\] done waiting for /, "and when it is over");
    }
    assert.ok(!up.logs.some((l) => /tskey-/.test(l.message)), "no key in any line");
    assert.ok(!(up.preview?.logs ?? []).some((l) => l.ephemeral), "a preview waits for nothing");
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
