// ProxyClass `staticEndpoints` of a ProxyGroup through the provider lifecycle, against the local world
// (its nodes carry ExternalIPs; the kube-api refuses a node port another Service holds, as a real API
// server does): a create gives each replica a NodePort Service, skipping a port another Service holds,
// lists the selected nodes' addresses in each config and in the outputs; an update of the ranges moves
// the Services in place without restarting the replicas; too few free ports fail naming the field before
// anything changes; removing the field deletes the Services, and so does a scale-down the removed
// replica's; a delete leaves nothing.
import assert from "node:assert/strict";
import * as provider from "../../provider";
import { type LocalWorld, startLocalWorld } from "../support/world";

const NS = "tailscale";

describe("ProxyClass staticEndpoints of a ProxyGroup", function () {
  this.timeout(120_000);
  let world: LocalWorld;

  before(async () => {
    world = await startLocalWorld({
      sim: {
        nodes: [
          { name: "edge-a", labels: { edge: "true" } },
          { name: "edge-b", labels: { edge: "true" }, externalIP: "2001:db8::7" },
          { name: "inner", externalIP: null },
        ],
      },
    });
    world.kube.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    // Another Service of the cluster holds the first port of the ranges.
    world.kube.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: "other" } });
    world.kube.seed({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "game", namespace: "other" },
      spec: { type: "NodePort", ports: [{ port: 7777, protocol: "UDP", nodePort: 30200 }] },
    });
  });
  after(async () => {
    await world?.stop();
  });

  async function checked(news: Record<string, unknown>, olds: Record<string, unknown> = {}) {
    const r = await provider.check("ProxyGroup", olds, news);
    assert.deepEqual(r.failures ?? [], []);
    return r.inputs as Record<string, any>;
  }
  const inputs = (proxyClass?: object, replicas = 2) => ({
    ownerId: "p/s/edge",
    name: "edge",
    namespace: NS,
    type: "ingress",
    replicas,
    ...(proxyClass ? { proxyClass } : {}),
    credentials: world.credentials,
    customTimeouts: { create: "30s", update: "30s", delete: "30s" },
  });
  const withPorts = (ports: object[]) => ({
    staticEndpoints: { nodePort: { ports, selector: { edge: "true" } } },
  });
  const nodePort = (i: number) =>
    world.kube.getObject("v1", "Service", NS, `edge-${i}-nodeport`)?.spec.ports[0].nodePort;
  const config = (i: number) =>
    JSON.parse(
      Buffer.from(
        world.kube.getObject("v1", "Secret", NS, `edge-${i}-config`).data["cap-106.hujson"],
        "base64",
      ).toString(),
    );
  const env = () =>
    world.kube.getObject("apps/v1", "StatefulSet", NS, "edge").spec.template.spec.containers[0].env as {
      name: string;
      value?: string;
    }[];

  it("is made, moved in place, refused when too few ports are free, removed, scaled down, and leaves nothing", async () => {
    const first = await checked(inputs(withPorts([{ port: 30200, endPort: 30202 }])));
    const made = await provider.create("ProxyGroup", first);
    assert.deepEqual([nodePort(0), nodePort(1)], [30201, 30202], "30200 is another Service's");
    const svc = world.kube.getObject("v1", "Service", NS, "edge-1-nodeport");
    assert.deepEqual(svc.spec.selector, { "statefulset.kubernetes.io/pod-name": "edge-1" });
    assert.deepEqual(
      { type: svc.spec.type, port: svc.spec.ports[0].port, protocol: svc.spec.ports[0].protocol },
      { type: "NodePort", port: 41641, protocol: "UDP" },
    );
    assert.deepEqual(config(1).StaticEndpoints, ["203.0.113.2:30202", "[2001:db8::7]:30202"]);
    assert.equal(env().find((e) => e.name === "PORT")?.value, "41641");
    assert.deepEqual(
      made.outs.devices.map((d: any) => d.staticEndpoints),
      [
        ["203.0.113.2:30201", "[2001:db8::7]:30201"],
        ["203.0.113.2:30202", "[2001:db8::7]:30202"],
      ],
    );
    assert.ok(made.outs.kubernetesObjects.includes(`Service/${NS}/edge-0-nodeport`));

    // Other ranges: the Services move, the replicas keep running (the Pod template is unchanged).
    const generation = world.kube.getObject("apps/v1", "StatefulSet", NS, "edge").metadata.generation;
    const moved = await checked(inputs(withPorts([{ port: 30300 }, { port: 30310, endPort: 30311 }])), first);
    let outs = (await provider.update("ProxyGroup", made.id, made.outs, moved)).outs;
    assert.deepEqual([nodePort(0), nodePort(1)], [30300, 30310]);
    assert.deepEqual(config(0).StaticEndpoints, ["203.0.113.2:30300", "[2001:db8::7]:30300"]);
    assert.equal(world.kube.getObject("apps/v1", "StatefulSet", NS, "edge").metadata.generation, generation);

    // Two ports, one of them another Service's: refused at up, naming the field, before any write.
    const crowded = await checked(inputs(withPorts([{ port: 30200 }, { port: 30201 }])), moved);
    await assert.rejects(
      provider.update("ProxyGroup", made.id, outs, crowded),
      (err: Error) =>
        err.message.includes("proxyClass.staticEndpoints.nodePort.ports") &&
        err.message.includes("1 of them held by other Services"),
    );
    assert.deepEqual([nodePort(0), nodePort(1)], [30300, 30310], "nothing changed");

    const off = await checked(inputs(), moved);
    outs = (await provider.update("ProxyGroup", made.id, outs, off)).outs;
    assert.deepEqual([nodePort(0), nodePort(1)], [undefined, undefined], "the Services are gone");
    assert.equal(config(0).StaticEndpoints, undefined);
    assert.ok(!env().some((e) => e.name === "PORT"));
    assert.ok(outs.devices.every((d: any) => d.staticEndpoints === undefined));

    const again = await checked(inputs(withPorts([{ port: 30300, endPort: 30301 }])), off);
    outs = (await provider.update("ProxyGroup", made.id, outs, again)).outs;
    assert.deepEqual([nodePort(0), nodePort(1)], [30300, 30301]);
    // Scaled down: the removed replica's Service goes with its Secrets.
    const one = await checked(inputs(withPorts([{ port: 30300, endPort: 30301 }]), 1), again);
    outs = (await provider.update("ProxyGroup", made.id, outs, one)).outs;
    assert.deepEqual([nodePort(0), nodePort(1)], [30300, undefined]);
    await provider.remove("ProxyGroup", made.id, outs);
    world.assertNothingLeft();
  });
});
