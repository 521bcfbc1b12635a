// Migration between a standalone proxy and a ProxyGroup in one `up`: the lifecycle calls in the order
// the engine makes them for a create-before-delete replacement (create the new, then delete the old).
// The deployer is bound by deploy/deployer-rbac.yaml only, namespaced Roles: each side finds the
// other by name.
import assert from "node:assert/strict";
import * as provider from "../../provider";
import { tailscaleClientFor } from "../../provider/credentials";
import { OWNERS_ANNOTATION, parseOwners, serializeOwners } from "../../provider/plan/ha";
import { type LocalWorld, startLocalWorld } from "../support/world";

const NS = "tailscale";

describe("standalone ⇄ ProxyGroup migration", function () {
  this.timeout(60_000);
  let world: LocalWorld;
  let pg: Record<string, any>;
  /** The ProxyGroup's checked inputs (its outputs are not inputs: check refuses keys it does not know). */
  let pgInputs: Record<string, any>;

  before(async () => {
    world = await startLocalWorld();
    world.kube.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    await world.addService("shop", "shop");
    await world.addService("data", "postgres", {
      selector: { app: "postgres" },
      ports: [{ name: "postgres", port: 5432 }],
    });
    pgInputs = (
      await provider.check(
        "ProxyGroup",
        {},
        {
          ownerId: "proj/dev/ingress",
          name: "ingress",
          namespace: NS,
          type: "ingress",
          credentials: world.credentials,
          customTimeouts: { create: "30s", update: "30s", delete: "30s" },
        },
      )
    ).inputs as Record<string, any>;
    pg = (await provider.create("ProxyGroup", pgInputs)).outs;
  });
  after(async () => {
    await world?.stop();
  });

  async function checked(kind: string, news: Record<string, unknown>) {
    const r = await provider.check(kind, {}, news);
    assert.deepEqual(r.failures ?? [], []);
    return r.inputs as Record<string, any>;
  }

  const shop = (extra: Record<string, unknown> = {}) => ({
    ownerId: "proj/dev/shop",
    hostname: "shop",
    defaultBackend: { service: { namespace: "shop", name: "shop" }, port: "http" },
    credentials: world.credentials,
    customTimeouts: { create: "30s", update: "30s", delete: "30s" },
    ...extra,
  });
  const deviceNames = () => world.tailscale.devices().map((d) => d.name.split(".")[0]);
  const owners = (name: string) =>
    parseOwners(world.tailscale.services().find((s) => s.name === name)?.annotations);

  it("TailnetIngress standalone → HA: new path first, the certificate carried over, the old proxy gone", async () => {
    const standaloneIn = await checked("TailnetIngress", shop());
    const old = await provider.create("TailnetIngress", standaloneIn);
    assert.ok(deviceNames().includes("shop"));
    const issuances = world.sim.issuances().length;

    const haIn = await checked("TailnetIngress", shop({ proxyGroup: { name: "ingress", namespace: NS } }));
    const diff = await provider.diff("TailnetIngress", old.id, old.outs, haIn);
    assert.deepEqual(diff.replaces, ["proxyGroup"]);
    assert.equal(diff.deleteBeforeReplace, false, "create-before-delete: the new path comes up first");

    const ha = await provider.create("TailnetIngress", haIn);
    assert.equal(ha.outs.fqdn, old.outs.fqdn, "same MagicDNS name");
    assert.equal(
      ha.outs.certificate.serialNumber,
      old.outs.certificate.serialNumber,
      "certificate carried over",
    );
    assert.equal(world.sim.issuances().length, issuances, "no new Let's Encrypt issuance");
    const recorded = owners("svc:shop");
    assert.deepEqual(
      recorded.kind === "owners" && recorded.owners.map((o) => o.proxyGroup),
      [{ namespace: NS, name: "ingress" }],
      "the owners entry records the ProxyGroup, which the way back reads by name",
    );
    assert.ok(!deviceNames().includes("shop"), "the standalone device released the name");
    assert.equal(world.kube.getObject("apps/v1", "StatefulSet", "shop", "ts-shop"), undefined);
    await world.sim.waitIdle();
    for (const p of world.sim.pods().filter((p) => p.namespace === NS)) {
      assert.deepEqual(p.advertisedServices, ["svc:shop"]);
    }

    await provider.remove("TailnetIngress", old.id, old.outs);
    assert.deepEqual(
      world.leftovers().kubernetesObjects.filter((o) => o.includes("/shop/")),
      [],
      "the old proxy's Secrets and RBAC are gone",
    );
    assert.ok(
      world.tailscale.services().some((s) => s.name === "svc:shop"),
      "the new path is untouched",
    );

    // And back, as Pulumi runs the replacement: the standalone create (new side first) releases the
    // Tailscale Service, so its device gets the plain name, not `shop-1`; then the HA side is deleted.
    const backIn = await checked("TailnetIngress", shop());
    const backDiff = await provider.diff("TailnetIngress", ha.id, ha.outs, backIn);
    assert.ok(backDiff.replaces?.includes("proxyGroup"));
    const back = await provider.create("TailnetIngress", backIn);
    assert.equal(back.outs.hostname, "shop");
    assert.equal(back.outs.fqdn, old.outs.fqdn, "the plain name, not shop-1");
    assert.ok(deviceNames().includes("shop"));
    assert.ok(
      !world.tailscale.services().some((s) => s.name === "svc:shop"),
      "the Tailscale Service is gone",
    );
    await provider.remove("TailnetIngress", ha.id, ha.outs);
    assert.ok(deviceNames().includes("shop"), "deleting the old HA resource leaves the new device alone");
    await provider.remove("TailnetIngress", back.id, back.outs);
  });

  it("standalone → HA: a namespace the deployer may not read is named, nothing changes; granted, it goes through", async () => {
    const base = {
      ownerId: "proj/dev/cache",
      service: { namespace: "data", name: "postgres" },
      hostname: "cache",
      credentials: world.credentials,
      customTimeouts: { create: "30s", update: "30s", delete: "30s" },
    };
    const old = await provider.create("TailnetService", await checked("TailnetService", base));
    // The cluster admin takes back the deployer's Role binding in the standalone proxy's namespace.
    const binding = world.kube.getObject(
      "rbac.authorization.k8s.io/v1",
      "RoleBinding",
      "data",
      "pulumi-tailnet-proxies",
    );
    assert.ok(binding);
    world.kube.remove("rbac.authorization.k8s.io/v1", "RoleBinding", "data", "pulumi-tailnet-proxies");
    const haIn = await checked("TailnetService", { ...base, proxyGroup: { name: "ingress", namespace: NS } });
    await assert.rejects(provider.create("TailnetService", haIn), (err: Error) => {
      assert.match(
        err.message,
        /^TailnetService: the tailnet name "cache" is held by device cache\.[\w.-]+ \(id \w+\), so Tailscale Service svc:cache cannot be created .*; no state Secret ts-cache-0 of this resource records that device in namespace tailscale, and the deployer may not read it in namespace data \(secrets "ts-cache-0" is forbidden: User "system:serviceaccount:pulumi-tailnet:pulumi-tailnet-deployer" cannot get resource "secrets" in API group "" in the namespace "data"\)\. If that device is this resource's former standalone proxy, grant the deployer `get` on secrets in namespace data /,
      );
      return true;
    });
    assert.ok(deviceNames().includes("cache"), "the standalone proxy still serves");
    assert.ok(world.kube.getObject("apps/v1", "StatefulSet", "data", "ts-cache"));
    assert.equal(owners("svc:cache").kind, "absent", "no Tailscale Service was made");

    for (const k of ["resourceVersion", "uid", "creationTimestamp", "managedFields"])
      delete binding.metadata[k];
    world.kube.seed(binding);
    const ha = await provider.create("TailnetService", haIn);
    assert.equal(ha.outs.fqdn, old.outs.fqdn);
    assert.ok(!deviceNames().includes("cache"));
    await provider.remove("TailnetService", old.id, old.outs);
    await provider.remove("TailnetService", ha.id, ha.outs);
  });

  it("HA → standalone: the ProxyGroup is found by the owners entry; an older entry without it is refused before any change", async () => {
    const legacy = (extra: Record<string, unknown> = {}) =>
      shop({ ownerId: "proj/dev/legacy", hostname: "legacy", ...extra });
    const ha = await provider.create(
      "TailnetIngress",
      await checked("TailnetIngress", legacy({ proxyGroup: { name: "ingress", namespace: NS } })),
    );
    const recorded = owners("svc:legacy");
    assert.equal(recorded.kind, "owners");
    const entry = recorded.kind === "owners" ? recorded.owners[0] : undefined;
    assert.deepEqual(
      entry?.proxyGroup,
      { namespace: NS, name: "ingress" },
      "the owners entry records the ProxyGroup",
    );

    // What an older pulumi-tailnet wrote: the entry without its ProxyGroup.
    const ts = tailscaleClientFor(world.credentials);
    const svc = (await ts.getService("svc:legacy"))!;
    await ts.putService({
      ...svc,
      annotations: {
        ...svc.annotations,
        [OWNERS_ANNOTATION]: serializeOwners([{ id: entry!.id, cluster: entry!.cluster }]),
      },
    });
    const standaloneIn = await checked("TailnetIngress", legacy());
    await assert.rejects(
      provider.create("TailnetIngress", standaloneIn),
      /TailnetIngress: Tailscale Service svc:legacy is still served for this resource by a ProxyGroup, and its owners annotation \(tailnet\.pulumi\.com\/owners\) was written by an older pulumi-tailnet .*nothing was changed\. .*set the resource option `deleteBeforeReplace: true`/,
    );
    await world.sim.waitIdle();
    for (const p of world.sim.pods().filter((p) => p.namespace === NS)) {
      assert.deepEqual(p.advertisedServices, ["svc:legacy"], `${p.name} still advertises it`);
    }
    assert.equal(world.kube.getObject("apps/v1", "StatefulSet", "shop", "ts-legacy"), undefined);

    // With deleteBeforeReplace the engine deletes the HA side first (its state names the ProxyGroup).
    await provider.remove("TailnetIngress", ha.id, ha.outs);
    const back = await provider.create("TailnetIngress", standaloneIn);
    assert.equal(back.outs.fqdn, `legacy.${world.tailscale.tailnetDomain}`, "the plain name");
    await provider.remove("TailnetIngress", back.id, back.outs);
  });

  it("TailnetService standalone → HA", async () => {
    const base = {
      ownerId: "proj/dev/postgres",
      service: { namespace: "data", name: "postgres" },
      hostname: "postgres",
      credentials: world.credentials,
      customTimeouts: { create: "30s", update: "30s", delete: "30s" },
    };
    const old = await provider.create("TailnetService", await checked("TailnetService", base));
    const ha = await provider.create(
      "TailnetService",
      await checked("TailnetService", { ...base, proxyGroup: { name: "ingress", namespace: NS } }),
    );
    assert.equal(ha.outs.fqdn, old.outs.fqdn);
    assert.ok(!deviceNames().includes("postgres"));
    await provider.remove("TailnetService", old.id, old.outs);
    await provider.remove("TailnetService", ha.id, ha.outs);
    await provider.remove("ProxyGroup", "x", pg);
    world.assertNothingLeft();
  });

  it("refuses a name held by a device that is not this resource's, before any change", async () => {
    // (runs after the teardown above: a fresh ProxyGroup is not needed to reach the name check)
    const key = world.tailscale.createAuthKey({ tags: ["tag:k8s"] });
    await fetch(`${world.tailscale.url}/_control/login`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ authKey: key.key, hostname: "laptop" }),
    });
    const pgIn = await checked("ProxyGroup", { ...pgInputs, replicas: 1 });
    pg = (await provider.create("ProxyGroup", pgIn)).outs;
    await assert.rejects(
      provider.create(
        "TailnetIngress",
        await checked(
          "TailnetIngress",
          shop({ hostname: "laptop", proxyGroup: { name: "ingress", namespace: NS } }),
        ),
      ),
      /the tailnet name "laptop" is held by device laptop\.[\w.-]+ \(id \w+\), so Tailscale Service svc:laptop cannot be created/,
    );
    assert.equal(
      world.kube.getObject("v1", "Secret", NS, `laptop.${world.tailscale.tailnetDomain}`),
      undefined,
    );
    await provider.remove("ProxyGroup", "x", pg);
  });
});
