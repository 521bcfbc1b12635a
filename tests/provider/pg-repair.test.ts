// A ProxyGroup replica whose device was deleted out of band (an admin in the console, an expired
// node): refresh reports the replica without a device, the next diff asks for an update, and the
// update logs that replica in again under the same hostname (no -1 suffix), leaving no valid key.
import assert from "node:assert/strict";
import * as provider from "../../provider";
import { type LocalWorld, startLocalWorld } from "../support/world";

const NS = "repair";

describe("ProxyGroup replica repair after its device was deleted out of band", function () {
  this.timeout(60_000);
  let world: LocalWorld;

  before(async () => {
    world = await startLocalWorld();
    world.kube.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    await world.addService(NS, "web");
  });
  after(async () => {
    await world?.stop();
  });

  it("refresh reports it, up brings it back with the same name, destroy leaves nothing", async () => {
    const checked = await provider.check(
      "ProxyGroup",
      {},
      {
        ownerId: "proj/dev/edge",
        name: "edge",
        namespace: NS,
        type: "ingress",
        replicas: 2,
        credentials: world.credentials,
        customTimeouts: { create: "30s", update: "30s", delete: "30s" },
      },
    );
    assert.deepEqual(checked.failures ?? [], []);
    const news = checked.inputs as Record<string, any>;
    const { id, outs } = await provider.create("ProxyGroup", news);
    assert.equal(outs.devices.length, 2);
    const lost = outs.devices.find((d: any) => d.ordinal === 1);
    world.tailscale.deleteDeviceOutOfBand(lost.deviceId);

    const refreshed = (await provider.read("ProxyGroup", id, outs)).props as Record<string, any>;
    assert.deepEqual(
      refreshed.devices.map((d: any) => d.ordinal),
      [0],
      "refresh reports the replica without a device",
    );
    const d = await provider.diff("ProxyGroup", id, refreshed, news);
    assert.equal(d.changes, true);
    assert.deepEqual(d.replaces, []);
    assert.match(String((d as any).detailedDiff.devices.reason), /replica 1 .*no tailnet device/);

    const { outs: repaired } = await provider.update("ProxyGroup", id, refreshed, news);
    const again = repaired.devices.find((x: any) => x.ordinal === 1);
    assert.ok(again, "replica 1 has a device again");
    assert.notEqual(again.deviceId, lost.deviceId, "a new device");
    assert.equal(again.fqdn, `edge-1.${world.tailscale.tailnetDomain}`, "the same name, no -1 suffix");
    assert.equal(world.tailscale.devices().length, 2);
    assert.deepEqual(world.tailscale.validAuthKeys(), [], "the repair's key is revoked");
    const unchanged = await provider.diff("ProxyGroup", id, repaired, news);
    assert.equal(unchanged.changes, false, "nothing left to repair");

    await provider.remove("ProxyGroup", id, repaired);
    const left = world.leftovers();
    assert.deepEqual(left.kubernetesObjects, []);
    assert.deepEqual(left.devices, []);
    assert.deepEqual(left.validAuthKeys, []);
    assert.deepEqual(world.sim.errors, []);
  });

  it("destroying an HA ingress does not wait on a replica whose device is gone", async () => {
    const pgIn = (
      await provider.check(
        "ProxyGroup",
        {},
        {
          ownerId: "proj/dev/gate",
          name: "gate",
          namespace: NS,
          type: "ingress",
          credentials: world.credentials,
          customTimeouts: { create: "30s", update: "30s", delete: "30s" },
        },
      )
    ).inputs as Record<string, any>;
    const pg = await provider.create("ProxyGroup", pgIn);
    const ingIn = (
      await provider.check(
        "TailnetIngress",
        {},
        {
          ownerId: "proj/dev/portal",
          hostname: "portal",
          defaultBackend: { service: { namespace: NS, name: "web" }, port: "http" },
          proxyGroup: { name: "gate", namespace: NS },
          credentials: world.credentials,
          customTimeouts: { create: "30s", update: "30s", delete: "30s" },
        },
      )
    ).inputs as Record<string, any>;
    const ing = await provider.create("TailnetIngress", ingIn);
    world.tailscale.deleteDeviceOutOfBand(pg.outs.devices.find((d: any) => d.ordinal === 1).deviceId);

    await provider.remove("TailnetIngress", ing.id, ing.outs);
    assert.deepEqual(
      world.tailscale.services().map((x) => x.name),
      [],
      "the Tailscale Service is gone",
    );

    const refreshed = (await provider.read("ProxyGroup", pg.id, pg.outs)).props as Record<string, any>;
    const { outs } = await provider.update("ProxyGroup", pg.id, refreshed, pgIn);
    assert.equal(outs.devices.length, 2);
    await provider.remove("ProxyGroup", pg.id, outs);
    const left = world.leftovers();
    assert.deepEqual(left.kubernetesObjects, []);
    assert.deepEqual(left.devices, []);
    assert.deepEqual(left.validAuthKeys, []);
  });
});
