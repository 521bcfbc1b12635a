// examples/database through the real Pulumi language runtime and dynamic-provider host, against the
// local world: preview, up, no-op preview, change, refresh, destroy.
import assert from "node:assert/strict";
import type { StackHarness } from "../support/engine";
import { programStack } from "../support/examples";
import { type LocalWorld, startLocalWorld } from "../support/world";

describe("examples/database through the engine", function () {
  this.timeout(120_000);
  let world: LocalWorld;
  let stack: StackHarness;

  before(async () => {
    world = await startLocalWorld();
    stack = programStack(world, {
      program: "examples/database",
      project: "tailnet-database",
    });
  });
  after(async () => {
    await stack?.close();
    await world?.stop();
  });

  it("previews, deploys, previews again with no changes, and destroys leaving nothing", async () => {
    const preview = await stack.preview();
    assert.equal(preview.failed, false, preview.error);
    const planned = preview.steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.type}`);
    console.log(planned);
    const up = await stack.up();
    assert.equal(up.failed, false, up.error);
    console.log(up.outputs);
    const again = await stack.preview();
    assert.deepEqual(
      again.steps.filter((s) => s.op !== "same").map((s) => s.urn),
      [],
    );
    const destroy = await stack.destroy();
    assert.equal(destroy.failed, false, destroy.error);
    world.assertNothingLeft();
  });
});
