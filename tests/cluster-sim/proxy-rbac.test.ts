// The proxies' Roles, as the product writes them (provider/plan/standalone.ts, provider/plan/ha/proxygroup.ts),
// against containerboot's calls as the Pod's ServiceAccount (cluster-sim/containerboot.ts): with each
// verb removed in turn and the Pod restarted, the proxy fails as containerboot does (the permission
// check at start, or a refused write), degrades as it does (no Events), or, for the verbs containerboot
// never uses, carries on.
import assert from "node:assert/strict";
import * as provider from "../../provider";
import { type LocalWorld, startLocalWorld } from "../support/world";

const RBAC = "rbac.authorization.k8s.io/v1";

describe("proxy Roles against containerboot", function () {
  this.timeout(120_000);
  let world: LocalWorld;

  before(async () => {
    world = await startLocalWorld();
  });
  after(async () => {
    await world?.stop();
  });

  async function checked(kind: string, news: Record<string, unknown>) {
    const r = await provider.check(kind, {}, news);
    assert.deepEqual(r.failures ?? [], []);
    return r.inputs as Record<string, any>;
  }

  /** Replaces a Role's rules (as an admin would edit it), restarts the Pod, and reports how it came up. */
  async function restartWith(namespace: string, role: string, pod: string, rules: any[]) {
    const r = world.kube.getObject(RBAC, "Role", namespace, role);
    world.kube.remove(RBAC, "Role", namespace, role);
    world.kube.seed({
      apiVersion: RBAC,
      kind: "Role",
      metadata: { namespace, name: role, labels: r.metadata.labels, annotations: r.metadata.annotations },
      rules,
    });
    world.kube.remove("v1", "Pod", namespace, pod);
    await world.sim.waitIdle();
    const view = world.sim.pods().find((p) => p.namespace === namespace && p.name === pod)!;
    const uid = world.kube.getObject("v1", "Pod", namespace, pod).metadata.uid;
    const events = world.kube
      .listObjects("v1", "Event", namespace)
      .filter((e) => e.involvedObject?.uid === uid);
    return { view, events, original: r.rules as any[] };
  }

  const without = (rules: any[], i: number, verb: string) =>
    rules
      .map((r, j) => (j === i ? { ...r, verbs: r.verbs.filter((v: string) => v !== verb) } : r))
      .filter((r) => r.verbs.length > 0);

  it("standalone: get and update on the state Secret are checked at start, patch is used, events are optional", async () => {
    await world.addService("data", "postgres", {
      selector: { app: "pg" },
      ports: [{ name: "pg", port: 5432 }],
    });
    const made = await provider.create(
      "TailnetService",
      await checked("TailnetService", {
        ownerId: "p/s/pg",
        service: { namespace: "data", name: "postgres" },
        hostname: "pg",
        credentials: world.credentials,
        customTimeouts: { create: "20s", update: "20s", delete: "20s" },
      }),
    );
    const ns = "data";
    const full = world.kube.getObject(RBAC, "Role", ns, "ts-pg").rules;
    assert.deepEqual(full, [
      {
        apiGroups: [""],
        resources: ["secrets"],
        resourceNames: ["ts-pg-0"],
        verbs: ["get", "update", "patch"],
      },
      { apiGroups: [""], resources: ["events"], verbs: ["create", "patch", "get"] },
    ]);
    // With the product's Role: Ready, and containerboot's Events on the Pod.
    const ok = await restartWith(ns, "ts-pg", "ts-pg-0", full);
    assert.equal(ok.view.ready, true);
    assert.ok(
      ok.events.some(
        (e) => e.reason === "TailscaleStateLoaded" && e.source?.component === "tailscale-container",
      ),
    );

    for (const verb of ["get", "update"]) {
      const r = await restartWith(ns, "ts-pg", "ts-pg-0", without(full, 0, verb));
      assert.equal(r.view.ready, false, `without ${verb}`);
      assert.equal(r.view.waitingReason, "CrashLoopBackOff");
      assert.equal(
        r.view.loginError,
        `some Kubernetes permissions are missing, please check your RBAC configuration: missing ${verb} permission on secret "ts-pg-0"`,
      );
    }
    const noPatch = await restartWith(ns, "ts-pg", "ts-pg-0", without(full, 0, "patch"));
    assert.equal(noPatch.view.waitingReason, "CrashLoopBackOff");
    assert.match(
      noPatch.view.loginError ?? "",
      /^secrets "ts-pg-0" is forbidden: User "system:serviceaccount:data:ts-pg" cannot patch resource "secrets" in API group "" in the namespace "data"$/,
    );
    for (const verb of ["create", "patch", "get"]) {
      const r = await restartWith(ns, "ts-pg", "ts-pg-0", without(full, 1, verb));
      assert.equal(r.view.ready, true, `without ${verb} on events the proxy runs`);
      assert.deepEqual(r.events, [], `without ${verb} on events containerboot writes none`);
    }
    await restartWith(ns, "ts-pg", "ts-pg-0", full);
    await provider.remove("TailnetService", made.id, made.outs);
  });

  it("ProxyGroup: its replicas need get, patch and update on their Secrets; list is used (refused, a read replica logs and goes on), watch never", async () => {
    world.kube.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: "tailscale" } });
    const pg = await provider.create(
      "ProxyGroup",
      await checked("ProxyGroup", {
        ownerId: "p/s/edge",
        name: "edge",
        namespace: "tailscale",
        type: "ingress",
        replicas: 2,
        credentials: world.credentials,
        customTimeouts: { create: "20s", update: "20s", delete: "20s" },
      }),
    );
    const ns = "tailscale";
    const full = world.kube.getObject(RBAC, "Role", ns, "edge").rules as any[];
    const named = full.findIndex((r) => r.resourceNames);
    const listWatch = full.findIndex((r) => r.verbs.includes("list"));
    for (const verb of ["get", "update"]) {
      const r = await restartWith(ns, "edge", "edge-1", without(full, named, verb));
      assert.equal(r.view.waitingReason, "CrashLoopBackOff", `without ${verb}`);
      assert.match(r.view.loginError ?? "", new RegExp(`missing ${verb} permission on secret "edge-1"`));
    }
    const noPatch = await restartWith(ns, "edge", "edge-1", without(full, named, "patch"));
    assert.equal(noPatch.view.waitingReason, "CrashLoopBackOff");
    assert.match(noPatch.view.loginError ?? "", /cannot patch resource "secrets"/);
    // A read replica lists the certificate Secrets at start; refused, it logs and goes on.
    const noList = await restartWith(ns, "edge", "edge-1", without(full, listWatch, "list"));
    assert.equal(noList.view.ready, true);
    assert.ok(
      noList.view.logs.some((l) => l.includes("error listing TLS Secrets")),
      noList.view.logs.join("\n"),
    );
    // No `watch`: containerboot's client never watches, and the Role grants it none (the operator's does).
    assert.deepEqual(
      full.filter((r) => r.verbs.includes("watch")),
      [],
    );
    await restartWith(ns, "edge", "edge-1", full);
    await provider.remove("ProxyGroup", pg.id, pg.outs);
  });
});
