// HA TailnetService and its backend's readiness: a ProxyGroup replica advertises the Tailscale Service
// only while the backend Service has a ready endpoint (its EndpointSlices), as the operator's
// svc-for-pg reconciler does. Without a controller this is decided when `up` creates or updates.
import assert from "node:assert/strict";
import * as provider from "../../provider";
import { type LocalWorld, startLocalWorld } from "../support/world";

const NS = "tailscale";

describe("HA TailnetService follows its backend's ready endpoints", function () {
  this.timeout(60_000);
  let world: LocalWorld;
  let pg: { id: string; outs: any };

  async function checked(kind: string, news: Record<string, unknown>) {
    const result = await provider.check(kind, {}, news);
    assert.deepEqual(result.failures ?? [], []);
    return result.inputs as Record<string, any>;
  }

  const service = (name: string) => ({
    ownerId: `proj/dev/${name}`,
    service: { namespace: "data", name },
    proxyGroup: { name: "edge", namespace: NS },
    credentials: world.credentials,
    customTimeouts: { create: "30s", update: "30s", delete: "30s" },
  });

  /** What each replica's tailscaled advertises now (the simulator's view, not the product's). */
  async function advertised(): Promise<string[][]> {
    await world.sim.waitIdle();
    return world.sim
      .pods()
      .filter((p) => p.namespace === NS)
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((p) => [...p.advertisedServices]);
  }

  before(async () => {
    world = await startLocalWorld();
    world.kube.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    for (const name of ["postgres", "redis"]) {
      await world.addService("data", name, {
        selector: { app: name },
        ports: [{ name: "tcp", port: 5432 }],
      });
    }
    pg = (await provider.create(
      "ProxyGroup",
      await checked("ProxyGroup", {
        ownerId: "proj/dev/edge",
        name: "edge",
        namespace: NS,
        type: "ingress",
        credentials: world.credentials,
        customTimeouts: { create: "30s", update: "30s", delete: "30s" },
      }),
    )) as { id: string; outs: any };
  });
  after(async () => {
    if (pg) await provider.remove("ProxyGroup", pg.id, pg.outs);
    await world?.stop();
  });

  it("a create against a backend with no ready endpoint fails naming it, and writes nothing", async () => {
    world.setEndpointsReady("data", "redis", false);
    await assert.rejects(
      provider.create("TailnetService", await checked("TailnetService", service("redis"))),
      (err: Error) => {
        assert.match(err.message, /Service data\/redis has no ready endpoint/);
        assert.match(err.message, /kubernetes\.io\/service-name=redis/);
        assert.match(err.message, /svc:data-redis is not advertised by ProxyGroup tailscale\/edge/);
        assert.match(err.message, /Make the Service's Pods ready.*pulumi up/s);
        return true;
      },
    );
    assert.deepEqual(world.tailscale.services(), [], "no Tailscale Service made");
    assert.deepEqual(await advertised(), [[], []]);
    world.setEndpointsReady("data", "redis", true);
  });

  it("advertised while ready, withdrawn by an update once not ready, advertised again once ready", async () => {
    const inputs = await checked("TailnetService", service("postgres"));
    const { id, outs } = await provider.create("TailnetService", inputs);
    assert.deepEqual(await advertised(), [["svc:data-postgres"], ["svc:data-postgres"]]);

    world.setEndpointsReady("data", "postgres", false);
    await assert.rejects(
      provider.update("TailnetService", id, outs, inputs),
      /Service data\/postgres has no ready endpoint.*withdrawn from edge-0, edge-1/s,
    );
    assert.deepEqual(await advertised(), [[], []], "no replica advertises a dead backend");

    world.setEndpointsReady("data", "postgres", true);
    const { outs: again } = await provider.update("TailnetService", id, outs, inputs);
    assert.deepEqual(await advertised(), [["svc:data-postgres"], ["svc:data-postgres"]]);
    await provider.remove("TailnetService", id, again);
    assert.deepEqual(world.tailscale.services(), []);
  });
});
