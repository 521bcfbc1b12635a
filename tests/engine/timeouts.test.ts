// customTimeouts through the engine (examples/database, whose config `customTimeouts` is the resource
// option). The engine parses each value with Go's time.ParseDuration at registration
// (pulumi/pulumi@a88168d8 pkg/resource/deploy/source_eval.go:2634-2664) and sends it as the `timeout` of
// Create, Update and Delete, delete taking the old state's value (step.go:663); the dynamic-provider
// host drops that field (sdk/nodejs/cmd/dynamic-provider/index.ts:247-344), so the SDK copies the
// option into the inputs. What a user sees: a value that is not a Go duration is refused, naming the
// option; a changed timeout is recorded by the next `up` with no API call; a delete waits as long as the
// delete timeout recorded by the last `up` says, and no longer.
import assert from "node:assert/strict";
import * as path from "node:path";
import { createBackend, kubernetesBuiltins, StackHarness } from "../support/engine";
import { ROOT } from "../support/examples";
import { type LocalWorld, startLocalWorld } from "../support/world";

describe("customTimeouts, through the engine", function () {
  this.timeout(240_000);
  let world: LocalWorld;

  before(async () => {
    world = await startLocalWorld();
  });
  after(async () => {
    await world?.stop();
  });

  /** Every request the product made (as the deployer, and to the Tailscale API) since `from`. */
  function productRequests(from: { kube: number; tailscale: number }): string[] {
    return [
      ...world.kube.requests
        .slice(from.kube)
        .filter((r) => r.user === world.deployer.user)
        .map((r) => `${r.method} ${r.path}`),
      ...world.tailscale.requests.slice(from.tailscale).map((r) => `${r.method} ${r.path}`),
    ];
  }

  /** Sets (or, with undefined, removes) the proxy Pod's finalizer, as a cluster admin. */
  async function holdPod(namespace: string, name: string, finalizers: string[] | null) {
    const res = await world.kube.fetch(`${world.kube.url}/api/v1/namespaces/${namespace}/pods/${name}`, {
      method: "PATCH",
      headers: {
        authorization: `Bearer ${world.kube.token}`,
        "content-type": "application/merge-patch+json",
      },
      body: JSON.stringify({ metadata: { finalizers } }),
    });
    assert.equal(res.status, 200, await res.text());
  }

  it('refuses "5min" naming the option, records a changed timeout without an API call, and a delete waits only as long as the recorded delete timeout', async () => {
    const s = new StackHarness({
      backend: createBackend(),
      stack: "timeouts",
      projectDir: path.join(ROOT, "examples/database"),
      env: world.env,
      config: {
        namespace: "timeouts",
        hostname: "pg-timeouts",
        customTimeouts: JSON.stringify({ delete: "5min" }),
      },
      builtins: kubernetesBuiltins(world.kube.kubeconfig({ user: "pulumi-kubernetes" })),
    });
    const proxy = () => s.state.find((r) => r.urn.includes(":TailnetService::"));
    try {
      const refused = await s.up();
      assert.equal(refused.failed, true);
      assert.match(
        refused.error ?? "",
        /customTimeouts\.delete: "5min" is not a duration \(unknown unit "min" in duration "5min"\); use Go duration syntax such as "5m"/,
      );
      assert.deepEqual(refused.operations, [], "refused before any provider operation");
      assert.deepEqual(world.tailscale.devices(), []);

      s.setConfig("customTimeouts", JSON.stringify({ create: "5m", delete: "20m" }));
      const up = await s.up({ skipPreview: true });
      assert.equal(up.failed, false, up.error);
      const create = up.operations.find((o) => o.kind === "create" && o.urn.includes(":TailnetService::"));
      assert.equal(create?.timeout, 300, "the engine's own timeout, which the host drops");
      assert.deepEqual(proxy()?.outputs.customTimeouts, {
        create: "5m",
        delete: "20m",
      });

      // A new delete timeout: the step is an update that only records it.
      s.setConfig("customTimeouts", JSON.stringify({ create: "5m", delete: "2s" }));
      const from = { kube: world.kube.requests.length, tailscale: world.tailscale.requests.length };
      const record = await s.up({ skipPreview: true });
      assert.equal(record.failed, false, record.error);
      const step = record.steps.find((x) => x.urn.includes(":TailnetService::"));
      assert.equal(step?.op, "update");
      assert.deepEqual(productRequests(from), [], "recording a timeout makes no API call");
      assert.deepEqual(proxy()?.outputs.customTimeouts, {
        create: "5m",
        delete: "2s",
      });

      // The proxy Pod cannot go (a finalizer): the delete gives up after the recorded 2s, not the default 10m.
      const pod = world.kube
        .listObjects("v1", "Pod", "timeouts")
        .find((p) => p.metadata.name.startsWith("ts-pg-timeouts"));
      assert.ok(pod, "the proxy Pod runs");
      await holdPod("timeouts", pod.metadata.name, ["tests.pulumi-tailnet/hold"]);
      const held = await s.destroy({ skipPreview: true });
      assert.equal(held.failed, true, "the delete must give up");
      const waited = /Timed out after ([0-9.]+)(m?s)/.exec(held.error ?? "");
      assert.ok(waited, held.error);
      assert.ok(
        Number(waited[1]) <= 2 && waited[2] === "s",
        `waited ${waited[0]}: the budget is the recorded 2s`,
      );

      await holdPod("timeouts", pod.metadata.name, null);
      const destroy = await s.destroy({ skipPreview: true });
      assert.equal(destroy.failed, false, destroy.error);
      assert.deepEqual(world.leftovers().devices, []);
    } finally {
      await s.close();
    }
  });
});
