// The seeded fault suite: a 12-resource stack (a ProxyGroup; HA and standalone TailnetIngress and
// TailnetService) deployed and destroyed while 10% of the product's requests to both APIs fail (every
// kind each server injects: 5xx with and without Retry-After, 429, resets before and after the server
// acted, slow answers, closed and expired watches), for 3 seeds. It must converge within two runs of
// `up`, and two of `destroy` must leave nothing: no Kubernetes object, device, valid auth key or
// Tailscale Service.
//
// The stack is driven in process, as the engine drives the dynamic provider: check then create for each
// resource not yet in state, the ProxyGroup before its dependents and the others in parallel; delete in
// the reverse order; a resource whose create failed is not in state, unless the error is a partial-create
// error (`id`, `properties`: what the host reports as a resource that failed to initialise), which records
// it and makes the next up update it; one whose delete failed stays. The engine path itself is covered by tests/engine; here
// the point is the provider under faults, for seeds that can be replayed, within the CI budget.
import assert from "node:assert/strict";
import * as provider from "../../provider";
import { resetCredentials } from "../../provider/credentials";
import { faultsFromArgv, type LocalWorld, parseFaults, startLocalWorld } from "../support/world";

const NS = "tailscale";
const SEEDS = [1, 2, 3];
const RATE = 0.1;

interface Spec {
  name: string;
  kind: "ProxyGroup" | "TailnetIngress" | "TailnetService";
  inputs: Record<string, unknown>;
  /** Created after the ProxyGroup, deleted before it. */
  dependent: boolean;
}

function stack(world: LocalWorld): Spec[] {
  const common = {
    credentials: world.credentials,
    customTimeouts: { create: "60s", update: "60s", delete: "60s" },
  };
  const proxyGroup = { name: "edge", namespace: NS };
  const specs: Spec[] = [
    {
      name: "edge",
      kind: "ProxyGroup",
      inputs: { ownerId: "proj/faults/edge", name: "edge", namespace: NS, type: "ingress", ...common },
      dependent: false,
    },
  ];
  for (const app of ["grafana", "docs", "api"]) {
    specs.push({
      name: `ha-${app}`,
      kind: "TailnetIngress",
      inputs: {
        ownerId: `proj/faults/ha-${app}`,
        hostname: `ha-${app}`,
        defaultBackend: { service: { namespace: "apps", name: app }, port: "http" },
        proxyGroup,
        ...common,
      },
      dependent: true,
    });
    specs.push({
      name: `web-${app}`,
      kind: "TailnetIngress",
      inputs: {
        ownerId: `proj/faults/web-${app}`,
        hostname: `web-${app}`,
        defaultBackend: { service: { namespace: "apps", name: app }, port: "http" },
        ...common,
      },
      dependent: true,
    });
  }
  for (const db of ["pg", "redis"]) {
    specs.push({
      name: `ha-${db}`,
      kind: "TailnetService",
      inputs: {
        ownerId: `proj/faults/ha-${db}`,
        hostname: `ha-${db}`,
        service: { namespace: "data", name: db },
        proxyGroup,
        ...common,
      },
      dependent: true,
    });
  }
  for (const db of ["pg", "redis", "mq"]) {
    specs.push({
      name: `l3-${db}`,
      kind: "TailnetService",
      inputs: {
        ownerId: `proj/faults/l3-${db}`,
        hostname: `l3-${db}`,
        service: { namespace: "data", name: db },
        ...common,
      },
      dependent: true,
    });
  }
  return specs;
}

/** A resource in state; `initErrors`: recorded by a partial-create error, so the next up updates it. */
type State = Map<string, { id: string; outs: Record<string, any>; initErrors?: boolean }>;

/**
 * One `pulumi up` of the stack: what is not in state is created, what has init errors updated; returns
 * the failures.
 */
async function up(specs: Spec[], state: State): Promise<string[]> {
  resetCredentials(); // a new provider host per deployment, as the engine starts one
  const failures: string[] = [];
  const createOne = async (s: Spec) => {
    const recorded = state.get(s.name);
    if (recorded && !recorded.initErrors) return;
    try {
      const checked = await provider.check(s.kind, recorded?.outs ?? {}, s.inputs);
      assert.deepEqual(checked.failures ?? [], [], `${s.name}: check failures`);
      if (recorded) {
        const { outs } = await provider.update(s.kind, recorded.id, recorded.outs, checked.inputs);
        state.set(s.name, { id: recorded.id, outs: outs as Record<string, any> });
      } else {
        const { id, outs } = await provider.create(s.kind, checked.inputs);
        state.set(s.name, { id, outs });
      }
    } catch (e) {
      const partial = e as { id?: string; properties?: Record<string, any> };
      if (!recorded && partial.id && partial.properties)
        state.set(s.name, { id: partial.id, outs: partial.properties, initErrors: true });
      failures.push(`${s.name}: ${(e as Error).message}`);
    }
  };
  for (const s of specs.filter((x) => !x.dependent)) await createOne(s);
  if (failures.length > 0) return failures; // dependents wait for the ProxyGroup, as the engine does
  await Promise.all(specs.filter((x) => x.dependent).map(createOne));
  return failures;
}

/** One `pulumi destroy`: everything in state deleted, dependents first; returns the failures. */
async function destroy(specs: Spec[], state: State): Promise<string[]> {
  resetCredentials();
  const failures: string[] = [];
  const deleteOne = async (s: Spec) => {
    const recorded = state.get(s.name);
    if (!recorded) return;
    try {
      await provider.remove(s.kind, recorded.id, recorded.outs);
      state.delete(s.name);
    } catch (e) {
      failures.push(`${s.name}: ${(e as Error).message}`);
    }
  };
  await Promise.all(specs.filter((x) => x.dependent).map(deleteOne));
  if (failures.length > 0) return failures;
  for (const s of specs.filter((x) => !x.dependent)) await deleteOne(s);
  return failures;
}

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
        world.kube.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
        for (const app of ["grafana", "docs", "api"]) await world.addService("apps", app);
        for (const db of ["pg", "redis", "mq"]) {
          await world.addService("data", db, { selector: { app: db }, ports: [{ name: "tcp", port: 5432 }] });
        }
        const specs = stack(world);
        const state: State = new Map();
        world.setFaults({ rate: RATE, seed });

        const first = await up(specs, state);
        const second = first.length > 0 ? await up(specs, state) : [];
        const injected = world.faultCounts();
        const total = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);
        assert.ok(total(injected.kubernetes) > 0 && total(injected.tailscale) > 0, "faults were injected");
        assert.deepEqual(second, [], `not converged after two ups (first: ${first.join("; ")})`);
        assert.equal(state.size, specs.length);
        for (const [name, { outs }] of state) {
          if (outs.certificate) assert.equal(outs.certificate.state, "issued", `${name}: certificate`);
          const label = String(outs.fqdn).split(".")[0];
          if (name !== "edge") assert.ok(!/-\d+$/.test(label), `${name}: no -N suffix (${outs.fqdn})`);
        }
        assert.equal(world.tailscale.devices().length, 2 + 6, "2 replicas and 6 standalone proxies");
        assert.deepEqual(world.tailscale.validAuthKeys(), [], "no valid key after the up");

        const d1 = await destroy(specs, state);
        const d2 = d1.length > 0 ? await destroy(specs, state) : [];
        assert.deepEqual(d2, [], `not destroyed after two destroys (first: ${d1.join("; ")})`);
        const left = world.leftovers();
        assert.deepEqual(left.kubernetesObjects, [], "Kubernetes objects left");
        assert.deepEqual(
          left.devices.map((d) => d.name),
          [],
          "devices left",
        );
        assert.deepEqual(
          left.validAuthKeys.map((k) => k.description),
          [],
          "valid auth keys left",
        );
        assert.deepEqual(
          left.services.map((s) => s.name),
          [],
          "Tailscale Services left",
        );
        assert.deepEqual(world.tailscale.schemaViolations, []);
      } finally {
        world.setFaults(undefined);
        resetCredentials();
        await world.stop();
      }
    });
  }
});
