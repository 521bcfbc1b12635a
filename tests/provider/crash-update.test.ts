// A provider host killed after any write of an in-place update: a standalone proxy's ProxyClass change
// (the StatefulSet is rewritten and rolled out), a standalone TailnetIngress path change (the serve
// config), a ProxyGroup scaled up and down under an HA TailnetIngress and TailnetService (new replicas
// mint keys and advertise what the others do), and changes of those HA resources (the shared ConfigMap).
// A killed update records nothing, so the next `up` runs the same update again, from the outputs of
// before: it must converge to the new inputs, with no extra device, object or valid auth key, and the
// final destroy must leave nothing.
//
// Cost: one world, one baseline deploy per resource, and each case alternates its two directions (a→b
// killed after write n, repaired; b→a killed after write n, repaired; n+1...), so the repair of one
// crash point is the starting point of the next and only the direction with more writes needs extra
// clean updates. The crash points are found as the run goes: n grows until the update finishes before
// its n-th write. How the host is killed: tests/support/host-killer.ts.
import assert from "node:assert/strict";
import * as provider from "../../provider";
import { resetCredentials } from "../../provider/credentials";
import { HostKiller } from "../support/host-killer";
import { type LocalWorld, startLocalWorld } from "../support/world";

type Variant = "a" | "b";
const other = (v: Variant): Variant => (v === "a" ? "b" : "a");

/** One resource whose in-place update between two sets of inputs is killed at every write. */
interface UpdateCase {
  kind: string;
  /** What the update changes, for messages. */
  what: string;
  inputs: Record<Variant, Record<string, unknown>>;
  /** Asserts what the case's inputs of `variant` make in the world, beyond what every case checks. */
  converged(variant: Variant, outs: any, at: string): void;
}

describe("crash safety: a provider host killed at any write of an update", function () {
  this.timeout(300_000);
  let world: LocalWorld;
  let killer: HostKiller;
  /** The recorded outputs of every resource alive, by id (what the engine's state holds). */
  const live = new Map<string, { kind: string; outs: any }>();

  before(async () => {
    world = await startLocalWorld();
    await world.addService("crash", "db", { selector: { app: "db" }, ports: [{ name: "pg", port: 5432 }] });
    await world.addService("crash", "db2", { selector: { app: "db2" }, ports: [{ name: "pg", port: 5432 }] });
    await world.addService("crash", "web");
    killer = new HostKiller();
  });
  after(async () => {
    killer?.uninstall();
    resetCredentials();
    await world?.stop();
  });

  async function checked(kind: string, name: string, given: Record<string, unknown>) {
    const result = await provider.check(
      kind,
      {},
      {
        ownerId: `proj/dev/${name}`,
        ...given,
        credentials: world.credentials,
        customTimeouts: { create: "30s", update: "30s", delete: "30s" },
      },
    );
    assert.deepEqual(result.failures ?? [], []);
    return result.inputs as Record<string, any>;
  }

  async function create(kind: string, news: Record<string, any>): Promise<{ id: string; outs: any }> {
    resetCredentials();
    const { id, outs } = await provider.create(kind, news);
    live.set(id, { kind, outs });
    return { id, outs };
  }

  async function destroy(id: string): Promise<void> {
    resetCredentials();
    const r = live.get(id)!;
    await provider.remove(r.kind, id, r.outs);
    live.delete(id);
  }

  const secretText = (namespace: string, name: string, key: string) => {
    const data = world.kube.getObject("v1", "Secret", namespace, name)?.data ?? {};
    return data[key] === undefined ? undefined : Buffer.from(data[key], "base64").toString();
  };
  const configMapText = (namespace: string, name: string, key: string) => {
    const cm = world.kube.getObject("v1", "ConfigMap", namespace, name);
    const bin = cm?.binaryData?.[key];
    return bin === undefined ? cm?.data?.[key] : Buffer.from(bin, "base64").toString();
  };

  /**
   * What every case checks once an update returned: the objects, devices and Pods are exactly those
   * of the resources alive, every StatefulSet rolled out, no valid auth key.
   */
  async function assertExactlyLive(at: string): Promise<void> {
    // Rolled out when the update returns, not only once the cluster settles: an update waits for it.
    for (const sts of world.kube.listObjects("apps/v1", "StatefulSet", "crash")) {
      const s = sts.status ?? {};
      assert.ok(
        s.observedGeneration === sts.metadata.generation &&
          s.updatedReplicas === sts.spec.replicas &&
          s.readyReplicas === sts.spec.replicas &&
          s.currentRevision === s.updateRevision,
        `${at}: StatefulSet ${sts.metadata.name} rolled out (${JSON.stringify(s)})`,
      );
    }
    await world.sim.waitIdle();
    const objects = new Set<string>();
    const devices: string[] = [];
    const pods: string[] = [];
    for (const { outs } of live.values()) {
      for (const o of outs.kubernetesObjects as string[]) if (!o.includes("#")) objects.add(o);
      if (outs.devices) {
        for (const d of outs.devices) devices.push(d.hostname);
        for (let i = 0; i < outs.replicas; i++)
          pods.push(`Pod/${outs.namespace}/${outs.statefulSetName}-${i}`);
      } else if (outs.deviceId) {
        devices.push(outs.hostname);
        pods.push(`Pod/${outs.namespace}/${outs.names.pod}`);
      }
    }
    const left = world.leftovers();
    assert.deepEqual(
      left.kubernetesObjects.filter((o) => !o.startsWith("Pod/")).sort(),
      [...objects].sort(),
      `${at}: the Kubernetes objects are those of the resources`,
    );
    assert.deepEqual(
      left.kubernetesObjects.filter((o) => o.startsWith("Pod/")).sort(),
      pods.sort(),
      `${at}: the Pods`,
    );
    assert.deepEqual(
      left.devices.map((d) => d.name.split(".")[0]).sort(),
      devices.sort(),
      `${at}: the devices, none with a -1 suffix`,
    );
    assert.deepEqual(
      left.validAuthKeys.map((k) => k.description),
      [],
      `${at}: valid auth keys left`,
    );
    for (const p of world.sim.pods()) assert.ok(p.ready, `${at}: Pod ${p.name} ready`);
    assert.deepEqual(world.sim.errors, [], `${at}: simulator errors`);
  }

  /**
   * Kills the update of `c`'s resource `id` (now at variant a) after every one of its writes, in both
   * directions, each followed by the repairing update; leaves it at either variant.
   */
  async function crashEveryWrite(c: UpdateCase, id: string): Promise<void> {
    let at: Variant = "a";
    const done: Record<Variant, boolean> = { a: false, b: false };
    const update = (to: Variant) => provider.update(c.kind, id, live.get(id)!.outs, c.inputs[to]);
    const arrived = async (to: Variant, outs: any, label: string) => {
      live.set(id, { kind: c.kind, outs });
      at = to;
      await assertExactlyLive(label);
      c.converged(to, outs, label);
    };
    for (let n = 1; !(done.a && done.b); n++) {
      for (const to of ["b", "a"] as const) {
        if (done[to]) continue;
        if (at === to) {
          resetCredentials();
          await arrived(
            other(to),
            (await update(other(to))).outs,
            `${c.what}: a clean update to ${other(to)}`,
          );
        }
        const run = await killer.runUntilWrite(n, () => update(to));
        if (!run.killed) {
          done[to] = true;
          await arrived(
            to,
            run.result.outs,
            `${c.what} to ${to}: a clean update (${run.writes.length} writes)`,
          );
          continue;
        }
        const label = `${c.what} to ${to}, killed after write ${n} (${run.writes[n - 1]})`;
        const repaired = await update(to).catch((e: Error) =>
          assert.fail(`${label}: the next up failed: ${e.message}`),
        );
        await arrived(to, repaired.outs, label);
      }
    }
  }

  it("standalone TailnetService: a ProxyClass change rewrites the StatefulSet and waits for its rollout", async () => {
    const inputs = {
      a: await checked("TailnetService", "l3", {
        hostname: "l3",
        service: { namespace: "crash", name: "db" },
        proxyClass: { podLabels: { variant: "a" } },
      }),
      b: await checked("TailnetService", "l3", {
        hostname: "l3",
        service: { namespace: "crash", name: "db" },
        proxyClass: { podLabels: { variant: "b" } },
      }),
    };
    const { id, outs } = await create("TailnetService", inputs.a);
    const device = outs.deviceId;
    await crashEveryWrite(
      {
        kind: "TailnetService",
        what: "the ProxyClass change",
        inputs,
        converged(variant, o, at) {
          assert.equal(o.proxyClass.podLabels.variant, variant, `${at}: outputs`);
          assert.equal(o.deviceId, device, `${at}: the same device`);
          const pod = world.kube.getObject("v1", "Pod", "crash", o.names.pod);
          assert.equal(pod?.metadata.labels.variant, variant, `${at}: the Pod runs the new template`);
        },
      },
      id,
    );
    await destroy(id);
    world.assertNothingLeft();
  });

  it("standalone TailnetIngress: a path change rewrites the serve config", async () => {
    const at = (path: string) => ({
      hostname: "l7",
      rules: [{ paths: [{ path, backend: { service: { namespace: "crash", name: "web" }, port: "http" } }] }],
    });
    const inputs = {
      a: await checked("TailnetIngress", "l7", at("/a")),
      b: await checked("TailnetIngress", "l7", at("/b")),
    };
    const { id, outs } = await create("TailnetIngress", inputs.a);
    await crashEveryWrite(
      {
        kind: "TailnetIngress",
        what: "the path change",
        inputs,
        converged(variant, o, label) {
          const web = JSON.parse(secretText("crash", outs.names.secret, "serve-config")!).Web;
          const handlers = Object.values(web).flatMap((w: any) => Object.keys(w.Handlers));
          assert.deepEqual(handlers, [`/${variant}`], `${label}: the serve config`);
          assert.equal(o.certificate?.state, "issued", `${label}: certificate`);
        },
      },
      id,
    );
    await destroy(id);
    world.assertNothingLeft();
  });

  describe("a ProxyGroup with an HA TailnetIngress and an HA TailnetService on it", () => {
    const pgRef = { name: "pg", namespace: "crash" };
    const ingress = (path: string) => ({
      hostname: "hai",
      proxyGroup: pgRef,
      rules: [{ paths: [{ path, backend: { service: { namespace: "crash", name: "web" }, port: "http" } }] }],
    });
    const service = (backend: string) => ({
      hostname: "has",
      proxyGroup: pgRef,
      service: { namespace: "crash", name: backend },
    });
    let pg: string;
    let haIngress: string;
    let haService: string;
    before(async () => {
      pg = (
        await create(
          "ProxyGroup",
          await checked("ProxyGroup", "pg", { ...pgRef, type: "ingress", replicas: 1 }),
        )
      ).id;
      haIngress = (await create("TailnetIngress", await checked("TailnetIngress", "hai", ingress("/a")))).id;
      haService = (await create("TailnetService", await checked("TailnetService", "has", service("db")))).id;
      await assertExactlyLive("after the baseline deploy");
    });
    after(async () => {
      for (const id of [haIngress, haService, pg]) if (id && live.has(id)) await destroy(id);
    });

    /** Every replica serves both HA resources: advertised, and the DNAT rule for the layer-3 one. */
    const replicasServeBoth = (label: string) => {
      const pods = world.sim.pods().filter((p) => p.name.startsWith("pg-"));
      const db = (name: string) => world.kube.getObject("v1", "Service", "crash", name).spec.clusterIP;
      for (const p of pods) {
        assert.deepEqual(
          [...p.advertisedServices].sort(),
          ["svc:hai", "svc:has"],
          `${label}: ${p.name} advertises`,
        );
        assert.deepEqual(
          (p.forwards ?? []).map((f) => f.destination),
          [db(live.get(haService)!.outs.service.name)],
          `${label}: ${p.name} forwards to the backend`,
        );
      }
      return pods;
    };

    it("ProxyGroup: scaled up (new replicas mint keys) and down (their devices go)", async () => {
      const pgInputs = (replicas: number) =>
        checked("ProxyGroup", "pg", { ...pgRef, type: "ingress", replicas });
      await crashEveryWrite(
        {
          kind: "ProxyGroup",
          what: "the replica count change",
          inputs: { a: await pgInputs(1), b: await pgInputs(2) },
          converged(variant, o, label) {
            const replicas = variant === "a" ? 1 : 2;
            assert.equal(o.devices.length, replicas, `${label}: devices in the outputs`);
            assert.equal(replicasServeBoth(label).length, replicas, `${label}: replicas`);
            for (let i = 0; i < replicas; i++)
              assert.doesNotMatch(
                secretText("crash", `pg-${i}-config`, "cap-106.hujson")!,
                /AuthKey/,
                `${label}: no key left in pg-${i}'s config`,
              );
          },
        },
        pg,
      );
    });

    it("HA TailnetIngress: a path change rewrites its entry in the shared ConfigMap", async () => {
      await crashEveryWrite(
        {
          kind: "TailnetIngress",
          what: "the HA path change",
          inputs: {
            a: await checked("TailnetIngress", "hai", ingress("/a")),
            b: await checked("TailnetIngress", "hai", ingress("/b")),
          },
          converged(variant, o, label) {
            const serve = JSON.parse(configMapText("crash", "pg-ingress-config", "serve-config.json")!);
            const web = Object.values(serve.Services["svc:hai"].Web) as { Handlers: object }[];
            assert.deepEqual(
              web.flatMap((w) => Object.keys(w.Handlers)),
              [`/${variant}`],
              `${label}: the serve config`,
            );
            assert.equal(o.certificate?.state, "issued", `${label}: certificate`);
            replicasServeBoth(label);
          },
        },
        haIngress,
      );
    });

    it("HA TailnetService: a backend change rewrites its DNAT entry and every replica's rules", async () => {
      await crashEveryWrite(
        {
          kind: "TailnetService",
          what: "the HA backend change",
          inputs: {
            a: await checked("TailnetService", "has", service("db")),
            b: await checked("TailnetService", "has", service("db2")),
          },
          converged(variant, o, label) {
            assert.equal(o.service.name, variant === "a" ? "db" : "db2", `${label}: outputs`);
            const entry = JSON.parse(configMapText("crash", "pg-ingress-config", "ingress-config.json")!)[
              "svc:has"
            ];
            const ip = world.kube.getObject("v1", "Service", "crash", o.service.name).spec.clusterIP;
            assert.equal(entry.IPv4Mapping.ClusterIP, ip, `${label}: the DNAT entry`);
            replicasServeBoth(label);
          },
        },
        haService,
      );
    });

    it("destroy after scale-ups killed after their mint and their config Secret leaves nothing", async () => {
      const { outs } = live.get(pg)!;
      const more = await checked("ProxyGroup", "pg", {
        ...pgRef,
        type: "ingress",
        replicas: outs.replicas + 1,
      });
      // Two runs killed before anything recorded their keys: after the mint, then after the config Secret.
      for (const n of [1, 2])
        await killer.killedAfter(n, () => provider.update("ProxyGroup", pg, outs, more));
      assert.equal(world.tailscale.validAuthKeys().length, 2, "the killed runs left two valid keys");
      for (const id of [haIngress, haService, pg]) await destroy(id);
      world.assertNothingLeft();
    });
  });
});
