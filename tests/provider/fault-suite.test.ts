// The seeded fault suite: a 12-resource stack (a ProxyGroup; HA and standalone TailnetIngress and
// TailnetService) deployed and destroyed while 10% of the product's requests to both APIs fail (every
// kind each server injects: 5xx with and without Retry-After, 429, resets before and after the server
// acted, slow answers, closed and expired watches), for 3 seeds. It must converge within two runs of
// `up`, and two of `destroy` must leave nothing: no Kubernetes object, device, valid auth key or
// Tailscale Service. The stack and its driver are tests/support/fault-stack.ts (bench/soak.ts runs the
// same at 50 resources and 20 seeds).
import assert from "node:assert/strict";
import { devicesOf, runFaultStack, TWELVE } from "../support/fault-stack";
import { faultsFromArgv, parseFaults, startLocalWorld } from "../support/world";

const SEEDS = [1, 2, 3];
const RATE = 0.1;

describe("seeded fault suite: 12 resources, 10% faults on both APIs", function () {
  this.timeout(120_000);

  it("parses --faults as the demo and the bench take it", () => {
    assert.deepEqual(parseFaults("0.1"), { rate: 0.1, seed: 1 });
    assert.deepEqual(parseFaults("10%:7"), { rate: 0.1, seed: 7 });
    assert.deepEqual(faultsFromArgv(["node", "demo", "--faults", "0.05:3"]), { rate: 0.05, seed: 3 });
    assert.deepEqual(faultsFromArgv(["node", "demo", "--faults=0.2"]), { rate: 0.2, seed: 1 });
    assert.equal(faultsFromArgv(["node", "demo", "--keep"]), undefined);
    assert.throws(() => parseFaults("2"), /rate within 0\.\.1/);
    assert.throws(() => faultsFromArgv(["node", "demo", "--faults"]), /needs a value/);
  });

  for (const seed of SEEDS) {
    it(`seed ${seed}: converges within two ups, and destroy leaves nothing`, async () => {
      const world = await startLocalWorld();
      try {
        const run = await runFaultStack(world, TWELVE, RATE, seed);
        const total = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);
        assert.ok(
          total(run.injected.kubernetes) > 0 && total(run.injected.tailscale) > 0,
          "faults were injected",
        );
        assert.deepEqual(run.ups[1], [], `not converged after two ups (first: ${run.ups[0].join("; ")})`);
        assert.equal(run.afterUp.inState, run.resources);
        assert.equal(run.resources, 12);
        assert.deepEqual(run.afterUp.unissued, [], "every certificate issued");
        assert.deepEqual(run.afterUp.suffixed, [], "no -N suffix");
        assert.equal(
          run.afterUp.devices,
          devicesOf(TWELVE),
          "2 replicas and one device per standalone proxy",
        );
        assert.equal(run.afterUp.validKeys, 0, "no valid key after the up");
        assert.deepEqual(
          run.destroys[1],
          [],
          `not destroyed after two destroys (first: ${run.destroys[0].join("; ")})`,
        );
        assert.deepEqual(run.left.kubernetesObjects, [], "Kubernetes objects left");
        assert.deepEqual(
          run.left.devices.map((d) => d.name),
          [],
          "devices left",
        );
        assert.deepEqual(
          run.left.validAuthKeys.map((k) => k.description),
          [],
          "valid auth keys left",
        );
        assert.deepEqual(
          run.left.services.map((s) => s.name),
          [],
          "Tailscale Services left",
        );
        assert.equal(run.converged && run.clean, true);
        assert.deepEqual(world.tailscale.schemaViolations, []);
      } finally {
        await world.stop();
      }
    });
  }
});
