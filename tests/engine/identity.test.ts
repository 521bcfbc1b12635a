// The identity a resource records at create survives what renames its Pulumi URN: `aliases` after a
// resource rename, and `pulumi stack rename`. The SDK derives `ownerId` from project/stack/name, which
// both change; before, that replaced the TailnetService and TailnetIngress delete-first (downtime, a new
// device, a new certificate) and failed the ProxyGroup's update with an ownership error.
import assert from "node:assert/strict";
import type { StackHarness } from "../support/engine";
import type { StepResult } from "../support/engine/types";
import { programStack } from "../support/examples";
import { type LocalWorld, startLocalWorld } from "../support/world";

const OURS = /tailnet:(ProxyGroup|TailnetIngress|TailnetService)$/;

/** The operation of each of our resources in a result, by resource name. */
function ours(r: StepResult): Record<string, string> {
  return Object.fromEntries(r.steps.filter((s) => OURS.test(s.type)).map((s) => [s.name, s.op]));
}

describe("identity across renames, through the engine", function () {
  this.timeout(240_000);
  let world: LocalWorld;
  let stack: StackHarness;

  before(async () => {
    world = await startLocalWorld();
    world.kube.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: "tailscale" } });
    await world.addService("apps", "web");
    await world.addService("apps", "db", {
      selector: { app: "db" },
      ports: [{ name: "pg", port: 5432, targetPort: 5432 }],
    });
    stack = programStack(world, { program: "tests/engine/fixtures/rename", project: "rename" });
  });
  after(async () => {
    await stack?.close();
    await world?.stop();
  });

  it("keeps every proxy, device and object through an aliased rename and a stack rename", async () => {
    const up = await stack.up();
    assert.equal(up.failed, false, up.error);
    const devices = world.tailscale
      .devices()
      .map((d) => d.id)
      .sort();
    const objects = world.leftovers().kubernetesObjects.sort();
    const services = world.tailscale.services().map((s) => s.name);
    assert.equal(devices.length, 2, "one ProxyGroup replica and the standalone proxy");

    stack.setConfig("suffix", "-renamed");
    const renamed = await stack.up();
    assert.equal(renamed.failed, false, renamed.error);
    assert.deepEqual(ours(renamed.preview!), {
      "edge-renamed": "same",
      "web-renamed": "same",
      "db-renamed": "same",
    });
    assert.deepEqual(ours(renamed), { "edge-renamed": "same", "web-renamed": "same", "db-renamed": "same" });

    stack.renameStack("prod");
    const moved = await stack.up({ skipPreview: true });
    assert.equal(moved.failed, false, moved.error);
    assert.deepEqual(ours(moved), { "edge-renamed": "same", "web-renamed": "same", "db-renamed": "same" });

    assert.deepEqual(
      world.tailscale
        .devices()
        .map((d) => d.id)
        .sort(),
      devices,
    );
    assert.deepEqual(world.leftovers().kubernetesObjects.sort(), objects);
    assert.deepEqual(
      world.tailscale.services().map((s) => s.name),
      services,
    );

    const destroy = await stack.destroy({ skipPreview: true });
    assert.equal(destroy.failed, false, destroy.error);
    world.assertNothingLeft();
  });
});
