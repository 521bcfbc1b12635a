// HA TailnetIngress certificates: obtained during create through the ProxyGroup's writer replica, and a
// failure to issue is the create's error with its reason, leaving the service unadvertised and removed.
import assert from "node:assert/strict";
import * as provider from "../../provider";
import { type LocalWorld, startLocalWorld } from "../support/world";

const NS = "tailscale";

describe("HA TailnetIngress certificate during up", function () {
  this.timeout(60_000);
  let world: LocalWorld;
  let pg: { id: string; outs: any };

  async function checked(kind: string, news: Record<string, unknown>) {
    const result = await provider.check(kind, {}, news);
    assert.deepEqual(result.failures ?? [], []);
    return result.inputs as Record<string, any>;
  }

  const ingress = (name: string) => ({
    ownerId: `proj/dev/${name}`,
    hostname: name,
    defaultBackend: { service: { namespace: "web", name: "frontend" }, port: "http" },
    proxyGroup: { name: "edge", namespace: NS },
    credentials: world.credentials,
    customTimeouts: { create: "30s", update: "30s", delete: "30s" },
  });

  before(async () => {
    world = await startLocalWorld();
    world.kube.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    await world.addService("web", "frontend");
    const inputs = await checked("ProxyGroup", {
      ownerId: "proj/dev/edge",
      name: "edge",
      namespace: NS,
      type: "ingress",
      credentials: world.credentials,
      customTimeouts: { create: "30s", update: "30s", delete: "30s" },
    });
    pg = (await provider.create("ProxyGroup", inputs)) as { id: string; outs: any };
  });
  after(async () => {
    if (pg) await provider.remove("ProxyGroup", pg.id, pg.outs);
    await world?.stop();
  });

  it("issues exactly one certificate, from the writer replica, during create", async () => {
    const before = world.sim.issuances().length;
    const { id, outs } = await provider.create(
      "TailnetIngress",
      await checked("TailnetIngress", ingress("docs")),
    );
    assert.equal(outs.certificate.state, "issued");
    const issued = world.sim.issuances().slice(before);
    assert.deepEqual(
      issued.map((i) => [i.podName, i.domains[0], i.ok]),
      [["edge-0", `docs.${world.tailscale.tailnetDomain}`, true]],
    );
    await provider.remove("TailnetIngress", id, outs);
  });

  it("waitForCertificate: false: replica 1 advertises only once replica 0 stored the certificate", async () => {
    world.kube.resetCounts();
    const { id, outs } = await provider.create(
      "TailnetIngress",
      await checked("TailnetIngress", { ...ingress("lazy"), waitForCertificate: false }),
    );
    const domain = `lazy.${world.tailscale.tailnetDomain}`;
    const writes = world.kube.requests.filter((r) => r.class === "write");
    // The certificate as the writer replica (its ServiceAccount, not the deployer) stores it, and the
    // deployer adding the service to replica 1's config.
    const stored = writes.findIndex(
      (r) => r.user !== world.deployer.user && r.path === `/api/v1/namespaces/${NS}/secrets/${domain}`,
    );
    const advertised1 = writes.findIndex(
      (r) => r.user === world.deployer.user && r.path === `/api/v1/namespaces/${NS}/secrets/edge-1-config`,
    );
    assert.ok(stored >= 0, "replica 0 stored the certificate");
    assert.ok(advertised1 >= 0, "replica 1 was told to advertise the service");
    assert.ok(stored < advertised1, "replica 1 advertised before the certificate it serves existed");
    assert.equal(outs.certificate.state, "issued");
    assert.ok(
      !world.kube.requests.some((r) => r.path.endsWith("/exec")),
      "waitForCertificate: false asks nothing through pods/exec",
    );
    await provider.remove("TailnetIngress", id, outs);
  });

  it("fails with the rate limit as the reason, recorded as a partial create the next up finishes", async () => {
    // A rate limit lasts (unlike a one-off fault): the writer's own attempt and the one `up` asks for
    // both fail, whichever comes first.
    world.sim.setFault({ cert: { kind: "rate-limited", times: Number.POSITIVE_INFINITY } });
    const news = await checked("TailnetIngress", ingress("limited"));
    const err = (await provider.create("TailnetIngress", news).then(
      () => assert.fail("expected the create to fail"),
      (e: unknown) => e,
    )) as Error & { id?: string; properties?: Record<string, any>; reasons?: string[] };
    assert.match(err.message, /rate limited.*useLetsEncryptStagingEnvironment/s);
    // What it wrote is recorded (the host reports a resource that failed to initialise), not torn down:
    // the certificate Secret and the Tailscale Service are kept for the next up.
    assert.equal(err.id, `${NS}/edge/svc:limited`);
    assert.equal(err.properties?.serviceName, "svc:limited");
    assert.equal(err.properties?.addresses, undefined, "no addresses: an unfinished create");
    assert.match(
      String(err.reasons?.[0]),
      /the next pulumi up finishes the create, pulumi destroy removes it/,
    );

    // The limit lifts; the engine's next up updates a resource with init errors: it finishes the create.
    world.sim.setFault({ cert: undefined });
    const { outs } = await provider.update("TailnetIngress", err.id!, err.properties, news);
    assert.equal((outs as any).certificate.state, "issued");
    assert.deepEqual(
      world.tailscale
        .services()
        .map((s) => s.name)
        .filter((n) => n === "svc:limited"),
      ["svc:limited"],
    );
    await provider.remove("TailnetIngress", err.id!, outs);
    assert.ok(!world.tailscale.services().some((s) => s.name === "svc:limited"), "destroy removes it");
    const cm = world.kube.getObject("v1", "ConfigMap", NS, "edge-ingress-config");
    const serve = cm.binaryData?.["serve-config.json"];
    assert.ok(!serve || !Buffer.from(serve, "base64").toString().includes("svc:limited"));
  });
});
