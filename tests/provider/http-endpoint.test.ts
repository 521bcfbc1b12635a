// Plain HTTP on an HA TailnetIngress (`httpEndpoint`) where the tailnet has HTTPS certificates off: with
// `waitForCertificate: false` the create does not wait for a certificate that cannot come, every replica
// advertises at once, and port 80 answers through the tailnet while HTTPS does not.
import assert from "node:assert/strict";
import * as provider from "../../provider";
import { TailnetConnectError } from "../support/cluster-sim";
import { type LocalWorld, startLocalWorld } from "../support/world";

const NS = "tailscale";

describe("httpEndpoint on a tailnet without HTTPS", function () {
  this.timeout(60_000);
  let world: LocalWorld;

  before(async () => {
    world = await startLocalWorld();
    world.kube.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    await world.addService("web", "status");
    world.tailscale.setHttpsEnabled(false);
  });
  after(async () => {
    await world?.stop();
  });

  async function checked(kind: string, news: Record<string, unknown>) {
    const result = await provider.check(kind, {}, news);
    assert.deepEqual(result.failures ?? [], []);
    return result.inputs as Record<string, any>;
  }
  const common = () => ({
    credentials: world.credentials,
    customTimeouts: { create: "30s", update: "30s", delete: "30s" },
  });

  it("serves port 80 without a certificate, and leaves nothing after the deletes", async () => {
    const pg = await checked("ProxyGroup", {
      ownerId: "proj/dev/edge",
      name: "edge",
      namespace: NS,
      type: "ingress",
      ...common(),
    });
    const { outs: pgOuts } = await provider.create("ProxyGroup", pg);
    const ing = await checked("TailnetIngress", {
      ownerId: "proj/dev/status",
      hostname: "status",
      defaultBackend: { service: { namespace: "web", name: "status" }, port: "http" },
      proxyGroup: { name: "edge", namespace: NS },
      httpEndpoint: true,
      waitForCertificate: false,
      ...common(),
    });
    const { id, outs } = await provider.create("TailnetIngress", ing);
    assert.equal(outs.certificate.state, "pending");
    await world.sim.waitIdle();
    const fqdn = `status.${world.tailscale.tailnetDomain}`;
    for (const via of ["edge-0", "edge-1"]) {
      const r = await world.tailnetFetch(`http://${fqdn}/health`, { via });
      assert.deepEqual([r.status, r.backend?.name, r.backend?.path], [200, "status", "/health"]);
    }
    await assert.rejects(
      world.tailnetFetch(`https://${fqdn}/`),
      (err: Error) => err instanceof TailnetConnectError && /holds no certificate/.test(err.message),
    );

    await provider.remove("TailnetIngress", id, outs);
    await provider.remove("ProxyGroup", "x", pgOuts);
    world.assertNothingLeft();
  });
});
