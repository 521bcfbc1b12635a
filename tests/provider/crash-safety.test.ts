// A provider host killed between any two external writes of the create or delete of a standalone
// TailnetService (layer 3), a standalone TailnetIngress (layer 7), a ProxyGroup or an HA TailnetIngress:
// the next `up` (create again: a host killed during create leaves no state, so the engine creates
// again) or `destroy` (delete again: the resource is still in state) must finish the job, and
// nothing may be left behind: no Kubernetes object, no device, no valid auth key.
//
// How the kill is simulated: tests/support/host-killer.ts (the step stops right after its n-th write;
// only writes are boundaries, so "killed before write n" is the same world as "killed after write
// n-1"). The next run gets fresh clients (resetCredentials), as a new host process would.
import assert from "node:assert/strict";
import * as provider from "../../provider";
import { resetCredentials } from "../../provider/credentials";
import { HostKiller } from "../support/host-killer";
import { type LocalWorld, startLocalWorld } from "../support/world";

describe("crash safety: a provider host killed at any write", function () {
  this.timeout(120_000);
  let world: LocalWorld;
  let killer: HostKiller;

  before(async () => {
    world = await startLocalWorld();
    await world.addService("crash", "db", {
      selector: { app: "db" },
      ports: [{ name: "pg", port: 5432 }],
    });
    await world.addService("crash", "web");
    killer = new HostKiller();
  });
  after(async () => {
    killer?.uninstall();
    resetCredentials();
    await world?.stop();
  });

  /** The inputs of each kind under test, for a name unique to one run. */
  const KINDS: Record<string, (name: string) => Record<string, unknown>> = {
    TailnetService: (name) => ({ hostname: name, service: { namespace: "crash", name: "db" } }),
    TailnetIngress: (name) => ({
      hostname: name,
      defaultBackend: { service: { namespace: "crash", name: "web" }, port: "http" },
    }),
    ProxyGroup: (name) => ({ name, namespace: "crash", type: "ingress", replicas: 2 }),
  };

  async function inputs(name: string, kind = "TailnetService") {
    const result = await provider.check(
      kind,
      {},
      {
        ownerId: `proj/dev/${name}`,
        ...KINDS[kind]!(name),
        credentials: world.credentials,
        customTimeouts: { create: "30s", update: "30s", delete: "30s" },
      },
    );
    assert.deepEqual(result.failures ?? [], []);
    return result.inputs as Record<string, any>;
  }

  function assertNothingLeft(when: string) {
    const left = world.leftovers();
    assert.deepEqual(left.kubernetesObjects, [], `${when}: Kubernetes objects left`);
    assert.deepEqual(
      left.devices.map((d) => d.name),
      [],
      `${when}: devices left`,
    );
    assert.deepEqual(
      left.validAuthKeys.map((k) => k.description),
      [],
      `${when}: valid auth keys left`,
    );
  }

  /** Runs `step` in a host killed after its n-th write; the step must not finish first. */
  async function killedAfter(n: number, step: () => Promise<unknown>): Promise<void> {
    resetCredentials();
    const { dead } = killer.arm(n);
    const outcome = step().then(
      () => "finished",
      (e: Error) => `failed: ${e.message}`,
    );
    const first = await Promise.race([dead.then(() => "killed"), outcome]);
    assert.equal(first, "killed", `the step ran fewer than ${n} writes (${killer.writes.join(", ")})`);
    killer.arm();
    resetCredentials();
  }

  it("a create whose rollback fails too returns partial state; the next up finishes it, destroy removes it", async () => {
    killer.arm();
    resetCredentials();
    const news = await inputs("crash-partial");
    // The create fails after its first writes (403 on applying the StatefulSet, which creates it), and so does its
    // rollback (403 on deleting the ServiceAccount, its last step). Only the product makes these calls.
    const failBoth = () => {
      world.kube.injectFault({
        method: "PATCH",
        path: "/apis/apps/v1/namespaces/crash/statefulsets/ts-crash-partial",
        status: 403,
        message: "injected",
      });
      world.kube.injectFault({
        method: "DELETE",
        path: "/api/v1/namespaces/crash/serviceaccounts/ts-crash-partial",
        status: 403,
        message: "injected",
      });
    };
    failBoth();
    const err = (await provider.create("TailnetService", news).then(
      () => assert.fail("expected the create to fail"),
      (e: unknown) => e,
    )) as Error & { id?: string; properties?: Record<string, any>; reasons?: string[] };
    assert.equal(err.id, "crash/ts-crash-partial", "a partial-create error: the host records the resource");
    assert.equal(err.properties?.names?.statefulSet, "ts-crash-partial");
    assert.equal(err.properties?.deviceId, null);
    assert.match(
      String(err.reasons?.[0]),
      /the next pulumi up finishes the create, pulumi destroy removes them/,
    );
    assert.doesNotMatch(JSON.stringify(err.properties), /tskey-auth-/, "no auth key in the recorded state");

    // The engine's next up updates a resource with init errors even without a diff.
    resetCredentials();
    const { outs } = await provider.update("TailnetService", err.id!, err.properties, news);
    assert.match(String((outs as any).deviceId), /^n\w+CNTRL$/);
    assert.equal((outs as any).fqdn, `crash-partial.${world.tailscale.tailnetDomain}`);
    assert.deepEqual(world.tailscale.validAuthKeys(), []);
    await provider.remove("TailnetService", err.id!, outs);
    assertNothingLeft("after the partial create was finished and destroyed");

    // Or destroy right away: it removes what the partial create recorded.
    failBoth();
    const again = (await provider.create("TailnetService", news).catch((e: unknown) => e)) as Error & {
      id?: string;
      properties?: Record<string, any>;
    };
    assert.ok(again.id);
    resetCredentials();
    await provider.remove("TailnetService", again.id!, again.properties);
    assertNothingLeft("after the partial create was destroyed");
  });

  it("a ProxyGroup create whose rollback fails too returns partial state; the next up finishes it", async () => {
    killer.arm();
    resetCredentials();
    const news = await inputs("pgpartial", "ProxyGroup");
    const failBoth = () => {
      world.kube.injectFault({
        method: "PATCH",
        path: "/apis/apps/v1/namespaces/crash/statefulsets/pgpartial",
        status: 403,
        message: "injected",
      });
      world.kube.injectFault({
        method: "DELETE",
        path: "/api/v1/namespaces/crash/serviceaccounts/pgpartial",
        status: 403,
        message: "injected",
      });
    };
    failBoth();
    const err = (await provider.create("ProxyGroup", news).then(
      () => assert.fail("expected the create to fail"),
      (e: unknown) => e,
    )) as Error & { id?: string; properties?: Record<string, any>; reasons?: string[] };
    assert.equal(err.id, "crash/pgpartial");
    assert.deepEqual(err.properties?.devices, []);
    assert.doesNotMatch(JSON.stringify(err.properties), /tskey-auth-/, "no auth key in the recorded state");
    resetCredentials();
    const { outs } = await provider.update("ProxyGroup", err.id!, err.properties, news);
    assert.deepEqual(
      (outs as any).devices.map((d: any) => d.hostname),
      ["pgpartial-0", "pgpartial-1"],
    );
    assert.deepEqual(world.tailscale.validAuthKeys(), []);
    await provider.remove("ProxyGroup", err.id!, outs);
    assertNothingLeft("after the partial ProxyGroup was finished and destroyed");

    failBoth();
    const again = (await provider.create("ProxyGroup", news).catch((e: unknown) => e)) as Error & {
      id?: string;
      properties?: Record<string, any>;
    };
    assert.ok(again.id);
    resetCredentials();
    await provider.remove("ProxyGroup", again.id!, again.properties);
    assertNothingLeft("after the partial ProxyGroup was destroyed");
  });

  /** The name a kind's device(s) get from `name`. */
  const deviceNames = (kind: string, name: string) =>
    kind === "ProxyGroup" ? [`${name}-0`, `${name}-1`] : [name];

  for (const [kind, short] of [
    ["TailnetService", "l3"],
    ["TailnetIngress", "l7"],
    ["ProxyGroup", "pg"],
  ] as const) {
    it(`${kind} create: the next up adopts what the killed one made, and destroy leaves nothing`, async () => {
      const probe = await inputs(`c${short}-probe`, kind);
      killer.arm();
      const clean = await provider.create(kind, probe);
      const createWrites = [...killer.writes];
      killer.arm();
      await provider.remove(kind, clean.id, clean.outs);
      assertNothingLeft("after a clean create and delete");
      assert.ok(createWrites.length >= 5, `create writes: ${createWrites.join(", ")}`);

      for (let n = 1; n <= createWrites.length; n++) {
        const name = `c${short}-${n}`;
        const news = await inputs(name, kind);
        await killedAfter(n, () => provider.create(kind, news));
        const at = `${kind} killed after create write ${n} (${createWrites[n - 1]})`;
        const again = await provider.create(kind, news).catch((e: Error) => {
          assert.fail(`${at}: the next up failed: ${e.message}`);
        });
        assert.deepEqual(
          world.tailscale
            .devices()
            .map((d) => d.name.split(".")[0])
            .sort(),
          deviceNames(kind, name),
          `${at}: its devices, with no -1 suffix`,
        );
        assert.deepEqual(world.tailscale.validAuthKeys(), [], `${at}: no valid key after the up`);
        await provider.remove(kind, again.id, again.outs);
        assertNothingLeft(at);
      }
    });

    it(`${kind} delete: the next destroy finishes what the killed one started`, async () => {
      const probe = await inputs(`d${short}-probe`, kind);
      const made = await provider.create(kind, probe);
      killer.arm();
      await provider.remove(kind, made.id, made.outs);
      const deleteWrites = [...killer.writes];
      assertNothingLeft("after a clean delete");

      for (let m = 1; m <= deleteWrites.length; m++) {
        const news = await inputs(`d${short}-${m}`, kind);
        const { id, outs } = await provider.create(kind, news);
        await killedAfter(m, () => provider.remove(kind, id, outs));
        const at = `${kind} killed after delete write ${m} (${deleteWrites[m - 1]})`;
        await provider.remove(kind, id, outs).catch((e: Error) => {
          assert.fail(`${at}: the next destroy failed: ${e.message}`);
        });
        assertNothingLeft(at);
      }
    });
  }

  it("HA TailnetIngress create and delete: the next up or destroy finishes, leaving only the ProxyGroup", async () => {
    const pg = await provider.create("ProxyGroup", await inputs("hapg", "ProxyGroup"));
    const pgDevices = world.tailscale.devices().map((d) => d.nodeId);
    const ha = async (name: string) => {
      const r = await provider.check(
        "TailnetIngress",
        {},
        {
          ownerId: `proj/dev/${name}`,
          hostname: name,
          defaultBackend: { service: { namespace: "crash", name: "web" }, port: "http" },
          proxyGroup: { name: "hapg", namespace: "crash" },
          credentials: world.credentials,
          customTimeouts: { create: "30s", update: "30s", delete: "30s" },
        },
      );
      assert.deepEqual(r.failures ?? [], []);
      return r.inputs as Record<string, any>;
    };
    const onlyTheGroupLeft = (when: string) => {
      const left = world.leftovers();
      assert.deepEqual(
        left.kubernetesObjects.filter((o) => !o.split("/")[2]!.startsWith("hapg")),
        [],
        `${when}: Kubernetes objects left besides the ProxyGroup's`,
      );
      assert.deepEqual(
        left.devices.map((d) => d.nodeId).sort(),
        [...pgDevices].sort(),
        `${when}: only the ProxyGroup's devices`,
      );
      assert.deepEqual(
        left.services.map((x) => x.name),
        [],
        `${when}: Tailscale Services left`,
      );
      assert.deepEqual(
        left.validAuthKeys.map((k) => k.description),
        [],
        `${when}: valid auth keys left`,
      );
    };

    killer.arm();
    const clean = await provider.create("TailnetIngress", await ha("hachk"));
    const createWrites = [...killer.writes];
    killer.arm();
    await provider.remove("TailnetIngress", clean.id, clean.outs);
    const deleteWrites = [...killer.writes];
    onlyTheGroupLeft("after a clean create and delete");
    assert.ok(createWrites.includes("tailscale putService"), `create writes: ${createWrites.join(", ")}`);
    assert.ok(deleteWrites.includes("tailscale deleteService"), `delete writes: ${deleteWrites.join(", ")}`);

    for (let n = 1; n <= createWrites.length; n++) {
      const news = await ha(`hac${n}`);
      await killedAfter(n, () => provider.create("TailnetIngress", news));
      const at = `HA TailnetIngress killed after create write ${n} (${createWrites[n - 1]})`;
      const again = await provider.create("TailnetIngress", news).catch((e: Error) => {
        assert.fail(`${at}: the next up failed: ${e.message}`);
      });
      assert.equal((again.outs as any).certificate?.state, "issued", `${at}: certificate`);
      await provider.remove("TailnetIngress", again.id, again.outs);
      onlyTheGroupLeft(at);
    }
    for (let m = 1; m <= deleteWrites.length; m++) {
      const { id, outs } = await provider.create("TailnetIngress", await ha(`had${m}`));
      await killedAfter(m, () => provider.remove("TailnetIngress", id, outs));
      const at = `HA TailnetIngress killed after delete write ${m} (${deleteWrites[m - 1]})`;
      await provider.remove("TailnetIngress", id, outs).catch((e: Error) => {
        assert.fail(`${at}: the next destroy failed: ${e.message}`);
      });
      onlyTheGroupLeft(at);
    }
    await provider.remove("ProxyGroup", pg.id, pg.outs);
    assertNothingLeft("after the ProxyGroup was deleted");
  });
});
