// A backend Service replaced through @pulumi/kubernetes with a new cluster IP, through the real Pulumi
// language runtime and dynamic-provider host: the proxy's input carries the Service's uid and cluster IPs
// (sdk/types.ts `serviceRefInput`), so the same `up` that replaces the Service updates the proxy in place
// and its TS_DEST_IP follows. The Service is deleteBeforeReplace (it keeps its name), so the engine first
// asks the proxy's Diff whether it must go too (calculateDependentReplacements): with `hostname` set, it
// need not. A Service named by `{ namespace, name }` and changed outside Pulumi is seen by a refresh, which
// reports the drift; the `up` after it rewrites the proxy (provider/plan/refresh.ts `backendDrift`).
import assert from "node:assert/strict";
import type { StackHarness } from "../support/engine";
import { programStack } from "../support/examples";
import { type LocalWorld, startLocalWorld } from "../support/world";

const webService = (clusterIP: string) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { namespace: "default", name: "web" },
  spec: { clusterIP, ports: [{ name: "http", port: 80 }] },
});

describe("a replaced backend Service is followed by the proxy, through the engine", function () {
  this.timeout(180_000);
  let world: LocalWorld;
  let stack: StackHarness;

  before(async () => {
    world = await startLocalWorld();
    world.kube.seed(webService("10.96.0.20"));
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

  const destIP = (proxy = "db"): string | undefined => {
    const sets = world.kube.listObjects("apps/v1", "StatefulSet", "default") as any[];
    const sts = sets.find((s) => s.metadata.name === `ts-${proxy}`);
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

    const next = await stack.up({ skipPreview: true });
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
  });

  it("a refresh reports a `{ namespace, name }` backend changed in the cluster; the up after it follows", async () => {
    assert.equal(destIP("web"), "10.96.0.20");
    const unchanged = await stack.refresh({ skipPreview: true });
    assert.equal(unchanged.failed, false, unchanged.error);
    assert.equal(step(unchanged, ":TailnetService::web"), "same", "nothing changed: same");

    // Someone recreates the Service with another cluster IP, outside Pulumi.
    world.kube.remove("v1", "Service", "default", "web");
    world.kube.seed(webService("10.96.0.21"));
    const quiet = await stack.preview();
    assert.equal(
      step(quiet, ":TailnetService::web"),
      "same",
      "preview makes no API call, so it cannot see it",
    );

    const refreshed = await stack.refresh({ skipPreview: true });
    assert.equal(refreshed.failed, false, refreshed.error);
    assert.equal(step(refreshed, ":TailnetService::web"), "update", "the refresh reports the drift");
    assert.equal(step(refreshed, ":TailnetService::db"), "same");
    assert.equal(destIP("web"), "10.96.0.20", "a refresh changes nothing in the cluster");

    const up = await stack.up({ skipPreview: true });
    assert.equal(up.failed, false, up.error);
    assert.equal(step(up, ":TailnetService::web"), "update");
    assert.equal(destIP("web"), "10.96.0.21", "TS_DEST_IP follows the Service as it is now");
    const next = await stack.preview();
    assert.deepEqual(
      next.steps.filter((s) => s.op !== "same").map((s) => s.urn),
      [],
      "nothing left to do",
    );
    const again = await stack.refresh({ skipPreview: true });
    assert.equal(step(again, ":TailnetService::web"), "same", "the proxy matches the Service again");

    const destroy = await stack.destroy({ skipPreview: true });
    assert.equal(destroy.failed, false, destroy.error);
    world.assertNothingLeft();
  });
});
