// Refresh shows what it found. The engine calls Read, then Diff with the refreshed outputs as old and
// the previous inputs as new, and the step shows `same` when that Diff finds nothing
// (pulumi/pulumi@a88168d8 pkg/resource/deploy/step.go:1536-1547, 1635-1671): a renewed certificate
// must show as an update of the refresh step, and the `up` after it must not update anything.
import assert from "node:assert/strict";
import type { StackHarness } from "../support/engine";
import { programStack } from "../support/examples";
import { type LocalWorld, startLocalWorld } from "../support/world";

const DAY = 86400_000;

describe("refresh shows a renewed certificate, through the engine", function () {
  this.timeout(180_000);
  let world: LocalWorld;
  let stack: StackHarness;
  // The simulated CA's clock: 80 days back at first, so the 90-day certificate is due for renewal when
  // the clock is set to now.
  let offset = 80 * DAY;

  before(async () => {
    world = await startLocalWorld({ sim: { now: () => new Date(Date.now() - offset) } });
    stack = programStack(world, { program: "examples/quickstart", project: "tailnet-quickstart" });
  });
  after(async () => {
    await stack?.close();
    await world?.stop();
  });

  const ingress = () => stack.state.find((r) => r.urn.includes(":TailnetIngress::"));
  const ingressStep = (r: { steps: { urn: string; op: string }[] }) =>
    r.steps.find((s) => s.urn.includes(":TailnetIngress::"))?.op;

  it("a refresh that reads a renewed certificate shows an update; the next up changes nothing", async () => {
    const up = await stack.up();
    assert.equal(up.failed, false, up.error);
    const first = ingress()?.outputs.certificate as { notAfter: string; serialNumber: string };

    const unchanged = await stack.refresh({ skipPreview: true });
    assert.equal(unchanged.failed, false, unchanged.error);
    assert.equal(ingressStep(unchanged), "same", "nothing changed: same");

    // tailscaled renews the certificate (a third of its lifetime left) on the next request for it.
    offset = 0;
    const pod = world.sim.pods().find((p) => p.name.startsWith("ts-hello"));
    assert.ok(pod, "the proxy Pod runs");
    await world.sim.requestCertificate(pod.name, pod.namespace);

    const renewed = await stack.refresh({ skipPreview: true });
    assert.equal(renewed.failed, false, renewed.error);
    assert.equal(ingressStep(renewed), "update", "the renewed certificate shows");
    const second = ingress()?.outputs.certificate as { notAfter: string; serialNumber: string };
    assert.notEqual(second.serialNumber, first.serialNumber);
    assert.ok(Date.parse(second.notAfter) > Date.parse(first.notAfter));

    const again = await stack.refresh({ skipPreview: true });
    assert.equal(ingressStep(again), "same", "already reported");
    const next = await stack.up({ skipPreview: true });
    assert.equal(next.failed, false, next.error);
    assert.equal(ingressStep(next), "same", "the up after the refresh has nothing to do");

    const destroy = await stack.destroy({ skipPreview: true });
    assert.equal(destroy.failed, false, destroy.error);
  });
});
