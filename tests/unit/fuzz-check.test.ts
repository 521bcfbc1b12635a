// A seeded fuzz of check and diff: whatever a program, an old state or a newer SDK sends, check answers with
// failures naming the property and never throws (a throw reaches the user as a stack trace instead of the
// field and the fix), and diff never throws on what check accepted. Inputs are built from each kind's
// declaration, so a new field is fuzzed as soon as it is declared.
import assert from "node:assert/strict";
import * as provider from "../../provider";
import { FUZZ_KINDS, fuzzKind } from "../support/fuzz";

// The suite runs twice in CI (two Node versions, one 15-minute budget), so it fuzzes 10,000 inputs per
// kind; `npm run bench` runs the same seeds to 100,000 per kind (bench/fuzz.ts) and records the outcome.
const INPUTS_PER_KIND = 10_000;

describe("fuzzed check and diff never throw", function () {
  this.timeout(120_000);
  for (const [n, { schema }] of FUZZ_KINDS.entries()) {
    it(`${schema.kind}: ${INPUTS_PER_KIND.toLocaleString("en")} seeded inputs`, async () => {
      const outcome = await fuzzKind(n, INPUTS_PER_KIND);
      assert.deepEqual(outcome.throws, []);
      assert.equal(outcome.inputs, INPUTS_PER_KIND);
      assert.ok(outcome.accepted > 0, "some inputs are valid, so diff is fuzzed too");
    });
  }
});

describe("check bounds what would break later", () => {
  it("refuses more replicas than a ProxyGroup may have, quickly", async () => {
    const r = await provider.check(
      "ProxyGroup",
      {},
      { ownerId: "p/s/n", name: "edge", namespace: "tailscale", type: "ingress", replicas: 100_000 },
    );
    assert.deepEqual(
      r.failures?.map((f) => f.property),
      ["replicas"],
    );
  });
  it("refuses a timeout Node's timers cannot wait for", async () => {
    const r = await provider.check(
      "TailnetService",
      {},
      { ownerId: "p/s/n", service: { namespace: "a", name: "db" }, customTimeouts: { update: "720h" } },
    );
    assert.deepEqual(
      r.failures?.map((f) => f.property),
      ["customTimeouts.update"],
    );
  });
});
