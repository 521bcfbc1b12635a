// A backend Service replaced through @pulumi/kubernetes with a new cluster IP, through the real Pulumi
// language runtime and dynamic-provider host: the proxy's input carries the Service's uid and cluster IPs
// (sdk/types.ts `serviceRefInput`), so the same `up` that replaces the Service updates the proxy in place
// and its TS_DEST_IP follows. The Service is deleteBeforeReplace (it keeps its name), so the engine first
// asks the proxy's Diff whether it must go too (calculateDependentReplacements): with `hostname` set, it
// need not.
import assert from "node:assert/strict";
import type { StackHarness } from "../support/engine";
import { programStack } from "../support/examples";
import { type LocalWorld, startLocalWorld } from "../support/world";

describe("a replaced backend Service is followed by the proxy, through the engine", function () {
  this.timeout(180_000);
  let world: LocalWorld;
  let stack: StackHarness;

  before(async () => {
    world = await startLocalWorld();
    stack = programStack(world, {
      program: "tests/engine/fixtures/backend",
      project: "backend",
      config: { clusterIP: "10.96.0.10" },
    });
  });
  after(async () => {
    await stack?.close();
    await world?.stop();
  });

  const destIP = (): string | undefined => {
    const sets = world.kube.listObjects("apps/v1", "StatefulSet", "default") as any[];
    const sts = sets.find((s) => s.metadata.name.startsWith("ts-db"));
    assert.ok(sts, "the proxy's StatefulSet exists");
    return sts.spec.template.spec.containers[0].env.find((e: any) => e.name === "TS_DEST_IP")?.value;
  };
  const step = (r: { steps: { urn: string; op: string }[] }, kind: string) =>
    r.steps.find((s) => s.urn.includes(kind))?.op;

  it("the up that replaces the Service with a new cluster IP updates the proxy's TS_DEST_IP", async () => {
    const up = await stack.up();
    assert.equal(up.failed, false, up.error);
    assert.equal(destIP(), "10.96.0.10");
    const device = world.tailscale.devices().map((d) => d.id);

    stack.setConfig("clusterIP", "10.96.0.11");
    const preview = await stack.preview();
    assert.equal(preview.failed, false, preview.error);
    assert.equal(step(preview, ":Service::db"), "replace");
    assert.equal(step(preview, ":TailnetService::db"), "update", "the proxy follows in place");

    const next = await stack.up();
    assert.equal(next.failed, false, next.error);
    assert.equal(step(next, ":Service::db"), "replace");
    assert.equal(step(next, ":TailnetService::db"), "update");
    assert.equal(destIP(), "10.96.0.11", "TS_DEST_IP follows the new cluster IP");
    assert.deepEqual(
      world.tailscale.devices().map((d) => d.id),
      device,
      "the same device: the proxy was updated, not replaced",
    );

    const again = await stack.preview();
    assert.deepEqual(
      again.steps.filter((s) => s.op !== "same").map((s) => s.urn),
      [],
      "nothing left to do",
    );
    const destroy = await stack.destroy();
    assert.equal(destroy.failed, false, destroy.error);
    world.assertNothingLeft();
  });
});
