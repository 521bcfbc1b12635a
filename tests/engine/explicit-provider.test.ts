// A TailnetService given an explicit @pulumi/kubernetes provider through the real language runtime: the
// `up` fails at construction, saying how to target a cluster, instead of silently using the ambient
// kubeconfig (issue 13, point 9). The world's KUBECONFIG is in the program's environment, so a silent
// fallback would have succeeded against it.
import assert from "node:assert/strict";
import type { StackHarness } from "../support/engine";
import { programStack } from "../support/examples";
import { type LocalWorld, startLocalWorld } from "../support/world";

describe("an explicit Kubernetes provider on a pulumi-tailnet resource", function () {
  this.timeout(120_000);
  let world: LocalWorld;
  let stack: StackHarness;

  before(async () => {
    world = await startLocalWorld();
    stack = programStack(world, {
      program: "tests/engine/fixtures/explicit-provider",
      project: "explicit-provider",
      config: { kubeconfig: { secret: world.kubeconfig } },
    });
  });
  after(async () => {
    await stack?.close();
    await world?.stop();
  });

  for (const option of ["provider", "providers"]) {
    it(`fails the up when given \`${option}\`, naming credentials.kubeconfig, and makes no proxy`, async () => {
      stack.setConfig("option", option);
      const up = await stack.up();
      assert.equal(up.failed, true);
      assert.match(
        up.error ?? "",
        new RegExp(
          `TailnetService "db": the \`${option}\` resource option is not used by pulumi-tailnet resources`,
        ),
      );
      assert.match(up.error ?? "", /credentials: \{ kubeconfig: /);
      assert.ok(!(up.error ?? "").includes(world.kubeconfig), "the kubeconfig is not in the error");
      assert.equal(
        stack.state.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic")).length,
        0,
        "no pulumi-tailnet resource was registered",
      );
      assert.deepEqual(world.tailscale.devices(), []);
      assert.deepEqual(world.tailscale.validAuthKeys(), []);
    });
  }
});
