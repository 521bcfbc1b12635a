// Many writers, one ConfigMap: 50 HA ingresses on one ProxyGroup created in parallel and 25 of them
// deleted in parallel, as Pulumi runs them (concurrent lifecycle calls in one provider process), while
// the replicas write their state too.
import assert from "node:assert/strict";
import * as provider from "../../provider";
import { kubeFor } from "../../provider/credentials";
import { type LocalWorld, startLocalWorld } from "../support/world";

const NS = "tailscale";
const N = 50;

describe("HA ingresses: many writers on one ProxyGroup", function () {
  this.timeout(120_000);
  let world: LocalWorld;

  before(async () => {
    world = await startLocalWorld();
    world.kube.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    await world.addService("web", "frontend");
  });
  after(async () => {
    await world?.stop();
  });

  function decoded(key: string): any {
    const cm = world.kube.getObject("v1", "ConfigMap", NS, "edge-ingress-config");
    return JSON.parse(Buffer.from(cm.binaryData[key], "base64").toString());
  }

  function advertisedIn(i: number): string[] {
    const s = world.kube.getObject("v1", "Secret", NS, `edge-${i}-config`);
    return JSON.parse(Buffer.from(s.data["cap-106.hujson"], "base64").toString()).AdvertiseServices ?? [];
  }

  it(`creates ${N} in parallel, all served; deletes half in parallel, exactly the other half remain`, async () => {
    const pgIn = (
      await provider.check(
        "ProxyGroup",
        {},
        {
          ownerId: "proj/dev/edge",
          name: "edge",
          namespace: NS,
          type: "ingress",
          // Staging: 50 certificates in a minute are within its limits, not production's.
          proxyClass: { useLetsEncryptStagingEnvironment: true },
          credentials: world.credentials,
          customTimeouts: { create: "60s", update: "60s", delete: "60s" },
        },
      )
    ).inputs;
    const { outs: pg } = await provider.create("ProxyGroup", pgIn);

    // Half the ingresses write through a second client (the deployer again, with a second token, so
    // another client and connection pool), as a second process would: their edits of the shared
    // objects really race, and lose with 409 Conflict.
    const second = { ...world.credentials, kubeconfig: world.deployer.kubeconfig() };
    const names = Array.from({ length: N }, (_, i) => `app-${String(i).padStart(2, "0")}`);
    const inputs = await Promise.all(
      names.map(
        async (name, i) =>
          (
            await provider.check(
              "TailnetIngress",
              {},
              {
                ownerId: `proj/dev/${name}`,
                hostname: name,
                defaultBackend: { service: { namespace: "web", name: "frontend" }, port: 80 },
                proxyGroup: { name: "edge", namespace: NS },
                credentials: i % 2 === 0 ? world.credentials : second,
                customTimeouts: { create: "90s", update: "90s", delete: "90s" },
              },
            )
          ).inputs,
      ),
    );
    const clients = [kubeFor(world.credentials), kubeFor(second)];
    const retries = () => clients.reduce((n, k) => n + k.conflictRetries, 0);
    const conflictsBefore = retries();
    const created = await Promise.all(inputs.map((i) => provider.create("TailnetIngress", i)));
    const all = names.map((n) => `svc:${n}`).sort();

    assert.deepEqual(Object.keys(decoded("serve-config.json").Services).sort(), all);
    for (const i of [0, 1]) assert.deepEqual([...advertisedIn(i)].sort(), all);
    assert.deepEqual(
      world.tailscale
        .services()
        .map((s) => s.name)
        .sort(),
      all,
    );
    for (const c of created) assert.equal(c.outs.certificate.state, "issued");
    await world.sim.waitIdle();
    for (const p of world.sim.pods()) assert.deepEqual([...p.advertisedServices].sort(), all);
    console.log(`      (${retries() - conflictsBefore} conflict retries for ${N} parallel creates)`);

    const gone = created.filter((_, i) => i % 2 === 0);
    const kept = names.filter((_, i) => i % 2 === 1).map((n) => `svc:${n}`);
    await Promise.all(gone.map((c) => provider.remove("TailnetIngress", c.id, c.outs)));

    assert.deepEqual(Object.keys(decoded("serve-config.json").Services).sort(), kept);
    for (const i of [0, 1]) assert.deepEqual([...advertisedIn(i)].sort(), kept);
    assert.deepEqual(
      world.tailscale
        .services()
        .map((s) => s.name)
        .sort(),
      kept,
    );
    const certSecrets = world.kube
      .listObjects("v1", "Secret")
      .filter((s: any) => s.type === "kubernetes.io/tls")
      .map((s: any) => s.metadata.name.split(".")[0])
      .sort();
    assert.deepEqual(
      certSecrets,
      kept.map((k) => k.slice(4)),
    );
    const owners = JSON.parse(
      world.kube.getObject("v1", "ConfigMap", NS, "edge-ingress-config").metadata.annotations[
        "tailnet.pulumi.com/service-owners"
      ],
    );
    assert.deepEqual(Object.keys(owners).sort(), kept);

    await Promise.all(
      created.filter((_, i) => i % 2 === 1).map((c) => provider.remove("TailnetIngress", c.id, c.outs)),
    );
    await provider.remove("ProxyGroup", "x", pg);
    world.assertNothingLeft();
  });
});
