// examples/database through the real Pulumi language runtime and dynamic-provider host, against the
// local world: preview, up, no-op preview, destroy. The world is dual-stack and the Service
// PreferDualStack, so the standalone proxy forwards both families (the other examples' engine tests
// run IPv4-only worlds).
import assert from "node:assert/strict";
import type { StackHarness } from "../support/engine";
import { programStack } from "../support/examples";
import { familyOf } from "../support/kube-api/ipfamily";
import { type LocalWorld, startLocalWorld } from "../support/world";

describe("examples/database through the engine", function () {
  this.timeout(120_000);
  let world: LocalWorld;
  let stack: StackHarness;

  before(async () => {
    world = await startLocalWorld({ stack: "dual" });
    stack = programStack(world, {
      program: "examples/database",
      project: "tailnet-database",
      config: { ipFamilyPolicy: "PreferDualStack" },
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
    // Both of the device's addresses forward, each to the Service's cluster IP of its family.
    const service = world.kube.getObject("v1", "Service", "data", "postgres");
    const pod = world.sim.pods().find((p) => p.namespace === "data" && p.name === "ts-postgres-0");
    assert.deepEqual(up.outputs.tailnetIPs, pod?.deviceIps);
    assert.deepEqual(
      Object.fromEntries(
        (pod?.forwards ?? []).map((f) => [familyOf(f.tailnetIP), [f.tailnetIP, f.destination]]),
      ),
      Object.fromEntries(
        (up.outputs.tailnetIPs as string[]).map((ip) => [
          familyOf(ip),
          [ip, service.spec.clusterIPs.find((c: string) => familyOf(c) === familyOf(ip))],
        ]),
      ),
    );
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
