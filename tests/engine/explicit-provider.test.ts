// A TailnetService given an explicit @pulumi/kubernetes provider through the real language runtime: the
// `up` fails at construction, saying how to target a cluster, instead of silently using the ambient
// kubeconfig. The world's KUBECONFIG is in the program's environment, so a silent
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

  const failsNamingCredentials = (option: string, what: string, said: RegExp) =>
    it(`fails the up when given ${what}, naming credentials.kubeconfig, and makes no proxy`, async () => {
      stack.setConfig("option", option);
      const up = await stack.up();
      assert.equal(up.failed, true);
      assert.match(up.error ?? "", said);
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

  failsNamingCredentials(
    "provider",
    "`provider`",
    /TailnetService "db": the `provider` resource option is not used/,
  );
  failsNamingCredentials(
    "providers",
    "`providers`",
    /TailnetService "db": the `providers` resource option is not used/,
  );
  failsNamingCredentials(
    "parent",
    "a parent with `providers`",
    /TailnetService "db": its parent passes a kubernetes provider to its children, which pulumi-tailnet resources cannot use/,
  );

  it("accepts a parent with `providers` when the resource names its cluster in credentials", async () => {
    stack.setConfig("option", "parent+credentials");
    const preview = await stack.preview();
    assert.equal(preview.failed, false, preview.error);
    assert.ok(preview.steps.some((s) => s.op === "create" && s.type.endsWith(":TailnetService")));
  });
});
