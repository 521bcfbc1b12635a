// Three stacks (three clusters) issuing certificates on one tailnet share a CertificateBudget through
// stack references: the third stack's preview fails with the numbers; a replacement counts as a
// duplicate of its name. Limits are lowered by the program so a handful of certificates shows it.
import assert from "node:assert/strict";
import { createBackend, type StackHarness } from "../support/engine";
import { programStack } from "../support/examples";
import { type LocalWorld, startLocalWorld } from "../support/world";

describe("CertificateBudget across three stacks through the engine", function () {
  this.timeout(180_000);
  let world: LocalWorld;
  const stacks: StackHarness[] = [];
  const backend = createBackend();
  const limits = JSON.stringify({ production: { perDomain: 4, perHostname: 1 } });

  function stack(name: string, namespace: string, hostnames: string[], peers: string[]): StackHarness {
    const s = programStack(world, {
      backend,
      program: "tests/engine/fixtures/budget",
      project: "budget",
      stack: name,
      config: { namespace, hostnames: JSON.stringify(hostnames), peers: JSON.stringify(peers), limits },
    });
    stacks.push(s);
    return s;
  }

  before(async () => {
    world = await startLocalWorld();
    for (const ns of ["cluster-a", "cluster-b", "cluster-c"]) {
      await world.addService(ns, "web", { selector: { app: "web" }, ports: [{ port: 80 }] });
    }
  });
  after(async () => {
    for (const s of stacks) await s.close();
    await world?.stop();
  });

  it("counts peers' issuances, fails the over-limit preview, warns near it, and counts a replacement as a duplicate", async () => {
    const a = stack("a", "cluster-a", ["a1", "a2"], []);
    const upA = await a.up();
    assert.equal(upA.failed, false, upA.error);
    assert.equal((upA.outputs.certificateLedger as unknown[]).length, 2);

    const b = stack("b", "cluster-b", ["b1"], ["organization/budget/a"]);
    const upB = await b.up({ skipPreview: true });
    assert.equal(upB.failed, false, upB.error);

    // Stack c wants two more: 3 used (a: 2, b: 1) + 2 planned = 5 > 4. The preview fails, nothing is created.
    const c = stack("c", "cluster-c", ["c1", "c2"], ["organization/budget/a", "organization/budget/b"]);
    const preview = await c.preview();
    assert.equal(preview.failed, true);
    const message = [preview.error ?? "", ...preview.logs.map((l) => l.message)].join("\n");
    assert.match(
      message,
      /limit of 4 new certificates for the tailnet per 168 h: 3 used \(budget\/a: 2, budget\/b: 1\) \+ 2 planned by this update \(c1, c2\) = 5 > 4/,
    );
    assert.equal(world.tailscale.devices().length, 3, "stack c created nothing");

    // One more fits (4 of 4): the preview passes with a warning.
    c.setConfig("hostnames", JSON.stringify(["c1"]));
    const ok = await c.preview();
    assert.equal(ok.failed, false, ok.error);
    const warnings = ok.logs.filter((l) => l.severity === "warning").map((l) => l.message);
    assert.ok(
      warnings.some((w) => /3 used .* \+ 1 planned by this update \(c1\) = 4: 0 left/.test(w)),
      `warnings: ${JSON.stringify(warnings)}`,
    );

    // Replacing a1 (new tags: a new device with fresh state) re-issues its certificate: a duplicate of
    // "a1.<tailnet>" beyond the lowered per-name limit of 1, and the preview says so.
    a.setConfig("tags", JSON.stringify({ a1: ["tag:k8s", "tag:web"] }));
    world.tailscale.setPolicy({
      tagOwners: { "tag:k8s": ["tag:k8s-operator"], "tag:web": ["tag:k8s-operator"] },
    });
    const replace = await a.preview();
    assert.equal(replace.failed, true);
    const why = [replace.error ?? "", ...replace.logs.map((l) => l.message)].join("\n");
    assert.match(
      why,
      /certificates for the name "a1" per 168 h: 1 used \(budget\/a: 1\) \+ 1 planned by this update \(a1\) = 2 > 1/,
    );

    for (const s of [b, a]) {
      const d = await s.destroy({ skipPreview: true });
      assert.equal(d.failed, false, d.error);
    }
    assert.deepEqual(world.leftovers().devices, []);
  });
});
