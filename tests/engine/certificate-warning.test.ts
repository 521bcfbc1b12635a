// A certificate close to its end shows as a warning in the update (and every later preview), through
// the program: the simulated CA's clock is set 80 days back, so the 90-day certificate has 10 left.
import assert from "node:assert/strict";
import type { StackHarness } from "../support/engine";
import { programStack } from "../support/examples";
import { type LocalWorld, startLocalWorld } from "../support/world";

describe("certificate expiry warnings through the engine", function () {
  this.timeout(120_000);
  let world: LocalWorld;
  let stack: StackHarness;

  before(async () => {
    world = await startLocalWorld({ sim: { now: () => new Date(Date.now() - 80 * 86400_000) } });
    stack = programStack(world, { program: "examples/quickstart", project: "tailnet-quickstart" });
  });
  after(async () => {
    await stack?.close();
    await world?.stop();
  });

  it("warns about a certificate that expires within 14 days", async () => {
    const up = await stack.up();
    assert.equal(up.failed, false, up.error);
    const warnings = up.logs.filter((l) => l.severity === "warning").map((l) => l.message);
    assert.ok(
      warnings.some((w) => /certificate of hello\..* expires at .* \(in (9|10) days\)/.test(w)),
      `warnings: ${JSON.stringify(warnings)}`,
    );
    const destroy = await stack.destroy({ skipPreview: true });
    assert.equal(destroy.failed, false, destroy.error);
  });
});
