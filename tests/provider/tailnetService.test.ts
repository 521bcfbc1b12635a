// The TailnetService lifecycle (standalone, layer 3), called as the dynamic-provider host calls it,
// against the local Kubernetes API, Tailscale API and cluster simulator.
import assert from "node:assert/strict";
import * as provider from "../../provider";
import { OWNERS_ANNOTATION, serializeOwners } from "../../provider/plan/ha";
import { UNKNOWN } from "../../provider/plan/inputs";
import { TailscaleClient } from "../../provider/tailscale";
import { type LocalWorld, startLocalWorld } from "../support/world";

describe("TailnetService (standalone) lifecycle", function () {
  this.timeout(60_000);
  let world: LocalWorld;

  before(async () => {
    world = await startLocalWorld();
  });
  after(async () => {
    await world?.stop();
  });

  function inputs(extra: Record<string, unknown> = {}) {
    return {
      ownerId: "proj/dev/postgres",
      service: { namespace: "data", name: "postgres" },
      hostname: "postgres",
      credentials: world.credentials,
      customTimeouts: { create: "30s", update: "30s", delete: "30s" },
      ...extra,
    };
  }

  async function checked(news: Record<string, unknown>, olds: Record<string, unknown> = {}) {
    const result = await provider.check("TailnetService", olds, news);
    assert.deepEqual(result.failures ?? [], []);
    return result.inputs as Record<string, any>;
  }

  it("creates the proxy, waits for the device, and leaves no valid auth key", async () => {
    const svc = await world.addService("data", "postgres", {
      selector: { app: "postgres" },
      ports: [{ name: "postgres", port: 5432 }],
    });
    const news = await checked(inputs());
    assert.equal(news.namespace, "data");
    assert.deepEqual(news.tags, ["tag:k8s"]);
    assert.ok(
      news.plannedObjects["StatefulSet/data/ts-postgres"],
      "the preview lists the StatefulSet it will write",
    );

    const { id, outs } = await provider.create("TailnetService", news);
    assert.equal(id, "data/ts-postgres");
    assert.equal(outs.hostname, "postgres");
    assert.equal(outs.fqdn, `postgres.${world.tailscale.tailnetDomain}`);
    assert.deepEqual(
      outs.tailnetIPs,
      world.tailscale
        .devices()
        .find((d: any) => d.nodeId === outs.deviceId)
        ?.addresses.filter((ip: string) => !ip.includes(":")),
      "only the device's IPv4: the proxy forwards the family of the IPv4 cluster IP only",
    );
    assert.match(outs.deviceId, /^n\w+CNTRL$/);
    assert.equal(outs.schemaVersion, 1);
    assert.deepEqual(
      outs.credentials,
      world.credentials,
      "echoed so delete can use them; the SDK marks them secret",
    );
    assert.deepEqual(outs.kubernetesObjects, [
      "ServiceAccount/data/ts-postgres",
      "Role/data/ts-postgres",
      "RoleBinding/data/ts-postgres",
      "Secret/data/ts-postgres-0",
      "Service/data/ts-postgres",
      "StatefulSet/data/ts-postgres",
    ]);

    const sts = world.kube.getObject("apps/v1", "StatefulSet", "data", "ts-postgres");
    const env = sts.spec.template.spec.containers[0].env;
    assert.equal(env.find((e: any) => e.name === "TS_DEST_IP").value, svc.clusterIP);
    const role = world.kube.getObject("rbac.authorization.k8s.io/v1", "Role", "data", "ts-postgres");
    assert.deepEqual(
      role.rules[0].resourceNames,
      ["ts-postgres-0"],
      "the proxy may touch only its own Secret",
    );

    const secret = world.kube.getObject("v1", "Secret", "data", "ts-postgres-0");
    for (const key of ["cap-95.hujson", "cap-107.hujson"]) {
      const config = JSON.parse(Buffer.from(secret.data[key], "base64").toString());
      assert.equal(config.AuthKey, undefined, `${key} no longer carries the auth key`);
    }
    assert.deepEqual(world.tailscale.validAuthKeys(), [], "the spent key is revoked");
    const devices = world.tailscale.devices();
    assert.equal(devices.length, 1);
    assert.deepEqual(devices[0].tags, ["tag:k8s"]);

    // No-op: diff reports nothing, a second read reports the same.
    const d = await provider.diff("TailnetService", id, outs, news);
    assert.equal(d.changes, false);
    const r = await provider.read("TailnetService", id, outs);
    assert.equal(r.id, id);
    assert.equal((r.props as any).fqdn, outs.fqdn);

    // Update in place: the backend Service moves to another Service (new cluster IP).
    const other = await world.addService("data", "postgres-replica", {
      selector: { app: "postgres-replica" },
      ports: [{ port: 5432 }],
    });
    const moved = await checked(inputs({ service: { namespace: "data", name: "postgres-replica" } }), news);
    const d2 = await provider.diff("TailnetService", id, outs, moved);
    assert.equal(d2.changes, true);
    assert.deepEqual(d2.replaces, []);
    const updated = await provider.update("TailnetService", id, outs, moved);
    const sts2 = world.kube.getObject("apps/v1", "StatefulSet", "data", "ts-postgres");
    assert.equal(
      sts2.spec.template.spec.containers[0].env.find((e: any) => e.name === "TS_DEST_IP").value,
      other.clusterIP,
    );
    assert.equal(
      (updated.outs as any).deviceId,
      outs.deviceId,
      "the device is kept across an in-place update",
    );

    await provider.remove("TailnetService", id, updated.outs);
    world.assertNothingLeft();
    // Deleting again is success.
    await provider.remove("TailnetService", id, updated.outs);
  });

  it("refuses bad input at check, naming the field, and tolerates unknowns", async () => {
    const bad = await provider.check("TailnetService", {}, inputs({ hostname: "-bad-", tags: ["k8s"] }));
    const props = (bad.failures ?? []).map((f) => f.property).sort();
    assert.deepEqual(props, ["hostname", "tags[0]"]);
    const preview = await provider.check(
      "TailnetService",
      {},
      inputs({ hostname: UNKNOWN, service: UNKNOWN }),
    );
    assert.deepEqual(preview.failures ?? [], []);
  });

  it("fails before creating anything when the Service is missing or headless", async () => {
    const keysBefore = world.tailscale.keys().length;
    await assert.rejects(
      provider.create(
        "TailnetService",
        await checked(inputs({ service: { namespace: "data", name: "nope" } })),
      ),
      /Service data\/nope was not found/,
    );
    await world.addService("data", "headless", {
      clusterIP: "None",
      selector: { app: "x" },
      ports: [{ port: 1 }],
    });
    await assert.rejects(
      provider.create(
        "TailnetService",
        await checked(inputs({ service: { namespace: "data", name: "headless" }, hostname: "headless" })),
      ),
      /headless/i,
    );
    assert.deepEqual(world.leftovers().kubernetesObjects, []);
    assert.equal(world.tailscale.keys().length, keysBefore, "no key was minted");
  });

  it("fails before creating anything when the credentials do not own the tags", async () => {
    await world.addService("data", "cache", { selector: { app: "cache" }, ports: [{ port: 6379 }] });
    await assert.rejects(
      provider.create(
        "TailnetService",
        await checked(
          inputs({ service: { namespace: "data", name: "cache" }, hostname: "cache", tags: ["tag:prod"] }),
        ),
      ),
      (err: Error) => {
        assert.match(err.message, /tag:prod/);
        assert.ok(!err.message.includes(world.oauth.clientSecret), "no secret in the error");
        return true;
      },
    );
    assert.deepEqual(world.leftovers().kubernetesObjects, []);
  });

  it("refuses a hostname another device holds instead of registering a -1 name", async () => {
    const taken = await world.tailscale.createApiKey();
    assert.ok(taken);
    await world.addService("data", "queue", { selector: { app: "queue" }, ports: [{ port: 5672 }] });
    const first = await provider.create(
      "TailnetService",
      await checked(
        inputs({
          ownerId: "proj/dev/queue-a",
          service: { namespace: "data", name: "queue" },
          hostname: "queue",
        }),
      ),
    );
    await assert.rejects(
      provider.create(
        "TailnetService",
        await checked(
          inputs({
            ownerId: "proj/dev/queue-b",
            service: { namespace: "data", name: "queue" },
            hostname: "queue",
            namespace: "default",
          }),
        ),
      ),
      /already used by tailnet device queue\..*-1/,
    );
    await provider.remove("TailnetService", first.id, first.outs);
  });

  // examples/database beside examples/ha (which owns svc:postgres) used to come up as `postgres-1`.
  it("refuses a hostname a Tailscale Service holds, naming the service and its owner, before writing", async () => {
    await world.addService("data", "store", { selector: { app: "store" }, ports: [{ port: 5432 }] });
    const admin = new TailscaleClient({
      baseUrl: world.tailscale.url,
      apiKey: world.tailscale.createApiKey(),
    });
    await admin.putService({
      name: "svc:store",
      ports: ["tcp:5432"],
      tags: ["tag:k8s"],
      annotations: { [OWNERS_ANNOTATION]: serializeOwners([{ id: "proj/ha/store" }]) },
    });
    const keysBefore = world.tailscale.keys().length;
    await assert.rejects(
      provider.create(
        "TailnetService",
        await checked(
          inputs({
            ownerId: "proj/dev/store",
            service: { namespace: "data", name: "store" },
            hostname: "store",
          }),
        ),
      ),
      (err: Error) => {
        assert.match(
          err.message,
          /hostname "store" is already used by Tailscale Service svc:store \(owned by pulumi-tailnet resource proj\/ha\/store\); a new proxy would be registered as "store-1"\. Delete that Tailscale Service/,
        );
        return true;
      },
    );
    assert.deepEqual(world.leftovers().kubernetesObjects, []);
    assert.equal(world.tailscale.keys().length, keysBefore, "no key was minted");
    assert.equal(await admin.deleteService("svc:store"), true);
  });

  it("reports a device deleted out of band as gone on refresh, and a new up recreates it cleanly", async () => {
    await world.addService("data", "search", { selector: { app: "search" }, ports: [{ port: 9200 }] });
    const news = await checked(
      inputs({
        ownerId: "proj/dev/search",
        service: { namespace: "data", name: "search" },
        hostname: "search",
      }),
    );
    const first = await provider.create("TailnetService", news);
    world.tailscale.deleteDeviceOutOfBand(first.outs.deviceId);
    const r = await provider.read("TailnetService", first.id, first.outs);
    assert.equal(r.id, "", "gone, not an error");
    const again = await provider.create("TailnetService", news);
    assert.equal(again.outs.fqdn, `search.${world.tailscale.tailnetDomain}`, "the same name, no -1 suffix");
    assert.notEqual(again.outs.deviceId, first.outs.deviceId);
    await provider.remove("TailnetService", again.id, again.outs);
    assert.deepEqual(world.leftovers().devices, []);
  });
  it("serves metrics through the operator's metrics Service when the ProxyClass enables them, and removes it after", async () => {
    await world.addService("data", "metrics-db", { selector: { app: "m" }, ports: [{ port: 5432 }] });
    const base = inputs({
      ownerId: "proj/dev/mdb",
      service: { namespace: "data", name: "metrics-db" },
      hostname: "mdb",
    });
    const news = await checked({ ...base, proxyClass: { enableMetrics: true } });
    const { id, outs } = await provider.create("TailnetService", news);
    const svc = world.kube.getObject("v1", "Service", "data", "ts-mdb-metrics");
    assert.deepEqual(
      svc.spec.ports.map((p: any) => [p.name, p.port]),
      [["metrics", 9002]],
    );
    assert.equal(svc.metadata.labels.ts_prom_job, "ts_ingress_service_data_metrics-db");
    assert.equal(svc.metadata.labels["tailscale.com/metrics-target"], "ts-mdb");
    const env = world.kube.getObject("apps/v1", "StatefulSet", "data", "ts-mdb").spec.template.spec
      .containers[0].env;
    assert.equal(env.find((e: any) => e.name === "TS_ENABLE_METRICS").value, "true");
    assert.ok(outs.kubernetesObjects.includes("Service/data/ts-mdb-metrics"));

    const off = await checked(base, news);
    const updated = await provider.update("TailnetService", id, outs, off);
    assert.equal(
      world.kube.getObject("v1", "Service", "data", "ts-mdb-metrics"),
      undefined,
      "turned off: removed",
    );
    await provider.remove("TailnetService", id, updated.outs);
    assert.deepEqual(world.leftovers().kubernetesObjects, []);
  });
});
