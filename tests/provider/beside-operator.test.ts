// Beside the operator, through the provider lifecycle (the selectors themselves: tests/unit/beside-operator.test.ts).
// Upgrading from a pulumi-tailnet that labelled its objects as the Tailscale operator labels its own
// (tailscale.com/managed, tailscale.com/parent-resource*): the first diff asks for an update, the update
// relabels every object under tailnet.pulumi.com/ without failing, replacing or restarting anything (a
// ProxyGroup's StatefulSet keeps the selector it was created with, which Kubernetes cannot change), and
// the delete still finds and removes what the earlier version made. And the README's migration steps: a
// name and a certificate taken over from a proxy that held them.
import assert from "node:assert/strict";
import * as provider from "../../provider";
import { kubeFor } from "../../provider/credentials";
import type { Kube, KubeObject } from "../../provider/kube";
import { planProxyGroup } from "../../provider/plan/ha";
import { asWrittenBefore } from "../support/legacy-labels";
import { type LocalWorld, startLocalWorld } from "../support/world";

const NS = "upgrade";
const API: Record<string, string> = {
  StatefulSet: "apps/v1",
  Role: "rbac.authorization.k8s.io/v1",
  RoleBinding: "rbac.authorization.k8s.io/v1",
  PodDisruptionBudget: "policy/v1",
  ServiceMonitor: "monitoring.coreos.com/v1",
};
const OPERATOR_KEYS = /^tailscale\.com\/(managed|parent-resource)/;

/** The live object of `Kind/namespace/name`. */
async function live(kube: Kube, path: string): Promise<KubeObject> {
  const [kind, namespace, name] = path.split("/") as [string, string, string];
  const obj = await kube.get({ apiVersion: API[kind] ?? "v1", kind, namespace, name });
  assert.ok(obj, `${path} exists`);
  return obj;
}

/**
 * Writes the objects again as the earlier version did: the same server-side apply with the same field
 * manager, of the object as it is, labelled as it labelled them. A StatefulSet is left alone (its
 * selector cannot change; the ProxyGroup's was written so from the start).
 */
async function labelAsBefore(kube: Kube, ownerId: string, paths: string[]): Promise<void> {
  for (const path of paths) {
    if (path.startsWith("StatefulSet/")) continue;
    const { metadata, status: _s, ...rest } = await live(kube, path);
    const body = {
      ...rest,
      metadata: { name: metadata.name, namespace: metadata.namespace, labels: metadata.labels ?? {} },
    };
    await kube.apply(asWrittenBefore(body), { ownerId });
  }
}

/** The operator's keys among an object's labels (its Pod template's for a StatefulSet). */
function operatorKeys(labels: Record<string, string> | undefined): string[] {
  return Object.keys(labels ?? {}).filter((k) => OPERATOR_KEYS.test(k));
}

describe("beside the operator: upgrading objects an earlier version labelled as the operator does, and migrating", function () {
  this.timeout(90_000);
  let world: LocalWorld;
  let kube: Kube;
  const timeouts = { create: "30s", update: "30s", delete: "30s" };

  before(async () => {
    world = await startLocalWorld();
    world.kube.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    await world.addService(NS, "db", { selector: { app: "db" }, ports: [{ name: "pg", port: 5432 }] });
    kube = kubeFor(world.credentials);
  });
  after(async () => {
    await world?.stop();
  });

  async function checked(kind: string, news: Record<string, unknown>): Promise<Record<string, any>> {
    const result = await provider.check(
      kind,
      {},
      { ...news, credentials: world.credentials, customTimeouts: timeouts },
    );
    assert.deepEqual(result.failures ?? [], []);
    return result.inputs as Record<string, any>;
  }

  /** The diff asks for the relabel only; the update does it and keeps the Pods; the delete leaves nothing. */
  async function upgrade(kind: string, id: string, written: Record<string, any>, news: Record<string, any>) {
    const { objectLabels: _o, ...olds } = written;
    const pods = () =>
      world.sim
        .pods()
        .filter((p) => p.namespace === NS)
        .map((p) => `${p.name} ${p.uid}`)
        .sort();
    await world.sim.waitIdle();
    const podsBefore = pods();
    const d = await provider.diff(kind, id, olds, news);
    assert.equal(d.changes, true);
    assert.deepEqual(d.replaces ?? [], []);
    assert.deepEqual(Object.keys((d as { detailedDiff: object }).detailedDiff), ["objectLabels"]);

    const { outs } = await provider.update(kind, id, olds, news);
    for (const path of outs.kubernetesObjects as string[]) {
      const obj = await live(kube, path);
      assert.deepEqual(operatorKeys(obj.metadata.labels), [], `${path}: relabelled`);
      assert.ok(obj.metadata.labels?.["tailnet.pulumi.com/parent-resource-type"], `${path}: ours`);
    }
    await world.sim.waitIdle();
    assert.deepEqual(pods(), podsBefore, "no Pod restarted");
    assert.equal((await provider.diff(kind, id, outs, news)).changes, false, "nothing more to do");
    return outs;
  }

  it("a ProxyGroup: relabelled in place, its StatefulSet keeping its selector, then deleted", async () => {
    const news = await checked("ProxyGroup", {
      ownerId: "proj/dev/edge",
      name: "edge",
      namespace: NS,
      type: "ingress",
      replicas: 2,
    });
    // The earlier version's StatefulSet: Kubernetes never lets its selector change.
    const sts = planProxyGroup(news as never, { authKeys: {}, existingAdvertiseServices: {} }).statefulSet;
    await kube.apply(asWrittenBefore(sts), { ownerId: news.ownerId });
    const { id, outs } = await provider.create("ProxyGroup", news);
    await labelAsBefore(kube, news.ownerId, outs.kubernetesObjects);

    const upgraded = await upgrade("ProxyGroup", id, outs, news);
    assert.deepEqual(
      upgraded.devices.map((d: { deviceId: string }) => d.deviceId),
      outs.devices.map((d: { deviceId: string }) => d.deviceId),
      "the same devices",
    );
    const liveSts = await live(kube, `StatefulSet/${NS}/edge`);
    assert.deepEqual((liveSts.spec as any).selector.matchLabels, {
      "tailscale.com/parent-resource-type": "proxygroup",
      "tailscale.com/parent-resource": "edge",
      "tailscale.com/managed": "true",
    });

    await provider.remove("ProxyGroup", id, upgraded);
    const left = world.leftovers();
    assert.deepEqual(left.kubernetesObjects, []);
    assert.deepEqual(left.devices, []);
  });

  it("a standalone TailnetService: relabelled in place without restarting its proxy, then deleted", async () => {
    const news = await checked("TailnetService", {
      ownerId: "proj/dev/db",
      service: { namespace: NS, name: "db" },
      hostname: "db",
    });
    const { id, outs } = await provider.create("TailnetService", news);
    await labelAsBefore(kube, news.ownerId, outs.kubernetesObjects);
    // Its Pod template too (its selector, `app: <owner hash>`, is the same in both versions).
    const sts = await live(kube, `StatefulSet/${NS}/ts-db`);
    const { metadata, status: _s, ...rest } = sts;
    await kube.apply(
      asWrittenBefore({ ...rest, metadata: { name: metadata.name, namespace: NS, labels: metadata.labels } }),
      {
        ownerId: news.ownerId,
      },
    );
    await world.sim.waitIdle();

    const upgraded = await upgrade("TailnetService", id, outs, news);
    assert.equal(upgraded.deviceId, outs.deviceId, "the same device");

    await provider.remove("TailnetService", id, upgraded);
    const left = world.leftovers();
    assert.deepEqual(left.kubernetesObjects, []);
    assert.deepEqual(left.devices, []);
  });

  it("migrating: the name of a proxy that is gone, and its certificate through a state Secret made beforehand", async () => {
    // The proxy that held the name (the operator's keeps its certificate the same way: tailscaled's
    // Kubernetes state store, keys `<domain>.crt` and `<domain>.key` of its state Secret).
    await world.addService(NS, "web", { selector: { app: "web" }, ports: [{ name: "http", port: 80 }] });
    const ingress = (ownerId: string) =>
      checked("TailnetIngress", {
        ownerId,
        hostname: "shop",
        namespace: NS,
        defaultBackend: { service: { namespace: NS, name: "web" }, port: "http" },
      });
    const before = await ingress("proj/dev/operator-stand-in");
    const held = await provider.create("TailnetIngress", before);
    const domain = `shop.${world.tailscale.tailnetDomain}`;
    const data = (await live(kube, `Secret/${NS}/ts-shop-0`)).data as Record<string, string>;
    const saved = { [`${domain}.crt`]: data[`${domain}.crt`]!, [`${domain}.key`]: data[`${domain}.key`]! };
    assert.ok(saved[`${domain}.crt`] && saved[`${domain}.key`], "the certificate is in the state Secret");
    await provider.remove("TailnetIngress", held.id, held.outs);
    const orders = world.sim.issuances().length;

    // README steps 3-4: the new proxy's state Secret, with the certificate and the resource's identity.
    const news = await ingress("proj/dev/shop");
    world.kube.seed({
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name: "ts-shop-0",
        namespace: NS,
        annotations: { "tailnet.pulumi.com/owner-id": news.ownerId },
      },
      data: saved,
    });
    const { id, outs } = await provider.create("TailnetIngress", news);
    assert.equal(outs.fqdn, domain, "the same name");
    assert.equal(outs.certificate.serialNumber, held.outs.certificate.serialNumber, "the same certificate");
    assert.equal(world.sim.issuances().length, orders, "no new order at Let's Encrypt");

    await provider.remove("TailnetIngress", id, outs);
    assert.deepEqual(world.leftovers().kubernetesObjects, []);
  });

  it("migrating on a ProxyGroup: the certificate through a TLS Secret made beforehand", async () => {
    const pgIn = await checked("ProxyGroup", {
      ownerId: "proj/dev/gate",
      name: "gate",
      namespace: NS,
      type: "ingress",
    });
    const pg = await provider.create("ProxyGroup", pgIn);
    const ingress = (ownerId: string) =>
      checked("TailnetIngress", {
        ownerId,
        hostname: "portal",
        defaultBackend: { service: { namespace: NS, name: "web" }, port: "http" },
        proxyGroup: { name: "gate", namespace: NS },
      });
    const domain = `portal.${world.tailscale.tailnetDomain}`;
    const held = await provider.create("TailnetIngress", await ingress("proj/dev/operator-stand-in"));
    const data = (await live(kube, `Secret/${NS}/${domain}`)).data as Record<string, string>;
    const saved = { "tls.crt": data["tls.crt"]!, "tls.key": data["tls.key"]! };
    await provider.remove("TailnetIngress", held.id, held.outs);
    const orders = world.sim.issuances().length;

    // README step 3: the certificate Secret, with the certificate and the resource's identity.
    const news = await ingress("proj/dev/portal");
    world.kube.seed({
      apiVersion: "v1",
      kind: "Secret",
      type: "kubernetes.io/tls",
      metadata: { name: domain, namespace: NS, annotations: { "tailnet.pulumi.com/owner-id": news.ownerId } },
      data: saved,
    });
    const { id, outs } = await provider.create("TailnetIngress", news);
    assert.equal(outs.certificate.serialNumber, held.outs.certificate.serialNumber, "the same certificate");
    assert.equal(world.sim.issuances().length, orders, "no new order at Let's Encrypt");

    await provider.remove("TailnetIngress", id, outs);
    await provider.remove("ProxyGroup", pg.id, pg.outs);
    assert.deepEqual(world.leftovers().kubernetesObjects, []);
  });
});
