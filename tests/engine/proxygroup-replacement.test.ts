// A ProxyGroup replaced under the engine's delete-before-replace cascade: before deleting the group, the
// engine probes its dependents' Diff with the inputs that depend on it unknown and deletes first those
// that would be replaced, then re-creates them (pulumi/pulumi@a88168d8
// pkg/resource/deploy/step_generator.go:3009-3140, in preview too at 1946). Its cost must be visible
// before it happens: the preview names every ingress and service on the group as replaced, and the
// CertificateBudget counts the certificate each re-created ingress obtains.
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

describe("ProxyGroup replacement, through the engine", function () {
  this.timeout(240_000);
  let world: LocalWorld;
  let stack: StackHarness;

  before(async () => {
    world = await startLocalWorld();
    for (const name of ["tailscale", "edge"])
      world.kube.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
    await world.addService("apps", "web");
    await world.addService("apps", "db", {
      selector: { app: "db" },
      ports: [{ name: "pg", port: 5432, targetPort: 5432 }],
    });
    stack = programStack(world, {
      program: "tests/engine/fixtures/rename",
      project: "rename",
      config: { budgetLimits: JSON.stringify({ staging: { perHostname: 1 } }) },
    });
  });
  after(async () => {
    await stack?.close();
    await world?.stop();
  });

  it("the preview names the HA ingress re-created with the group, the budget counts its new certificate, and the replacement runs", async () => {
    const up = await stack.up();
    assert.equal(up.failed, false, up.error);

    stack.setConfig("groupNamespace", "edge");
    const preview = await stack.preview();
    assert.deepEqual(ours(preview), { edge: "replace", web: "replace", db: "same" });
    const web = preview.steps.find((s) => s.name === "web" && OURS.test(s.type));
    assert.equal(web?.deleteBeforeReplace, true, "deleted before the group, re-created after it");
    assert.equal(preview.failed, true, "one certificate for web already issued, and the limit is 1");
    const why = [preview.error ?? "", ...preview.logs.map((l) => l.message)].join("\n");
    assert.match(
      why,
      /certificates for the name "web" per 168 h: 1 used .* \+ 1 planned by this update \(web\) = 2 > 1/,
    );
    assert.equal(world.tailscale.services().length, 1, "nothing changed");

    // Within the limits, the replacement runs: the ingress is deleted before the group and re-created on
    // the new one, with a new certificate; the standalone service is untouched.
    stack.setConfig("budgetLimits", JSON.stringify({ staging: { perHostname: 2 } }));
    const replaced = await stack.up({ skipPreview: true });
    assert.equal(replaced.failed, false, replaced.error);
    assert.deepEqual(ours(replaced), { edge: "replace", web: "replace", db: "same" });
    const served = world.sim.pods().filter((p) => p.advertisedServices.includes("svc:web"));
    assert.deepEqual(
      served.map((p) => p.namespace),
      ["edge"],
      "advertised by the new group's replica",
    );

    const destroy = await stack.destroy({ skipPreview: true });
    assert.equal(destroy.failed, false, destroy.error);
    assert.deepEqual(world.leftovers().devices, []);
  });
});
