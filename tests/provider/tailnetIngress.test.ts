// The TailnetIngress lifecycle (standalone, layer 7), called as the dynamic-provider host calls it,
// against the local Kubernetes API, Tailscale API and cluster simulator.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import * as provider from "../../provider";
import { UNKNOWN } from "../../provider/plan/inputs";
import { type LocalWorld, startLocalWorld } from "../support/world";

describe("TailnetIngress (standalone) lifecycle", function () {
  this.timeout(60_000);
  let world: LocalWorld;
  let web: { clusterIP?: string };
  let api: { clusterIP?: string };

  before(async () => {
    world = await startLocalWorld();
    web = await world.addService("web", "hello", {
      selector: { app: "hello" },
      ports: [{ name: "http", port: 80, targetPort: 8080 }],
    });
    api = await world.addService("web", "api", {
      selector: { app: "api" },
      ports: [{ name: "https", port: 8443 }],
    });
  });
  after(async () => {
    await world?.stop();
  });

  function inputs(extra: Record<string, unknown> = {}) {
    return {
      ownerId: "proj/dev/hello",
      hostname: "hello",
      defaultBackend: { service: { namespace: "web", name: "hello" }, port: "http" },
      credentials: world.credentials,
      customTimeouts: { create: "30s", update: "30s", delete: "30s" },
      ...extra,
    };
  }

  async function checked(news: Record<string, unknown>, olds: Record<string, unknown> = {}) {
    const result = await provider.check("TailnetIngress", olds, news);
    assert.deepEqual(result.failures ?? [], []);
    return result.inputs as Record<string, any>;
  }

  function serveConfig(namespace: string, secret: string): string {
    const s = world.kube.getObject("v1", "Secret", namespace, secret);
    return Buffer.from(s.data["serve-config"], "base64").toString();
  }

  it("serves HTTPS with a certificate obtained during create, and updates paths without a restart", async () => {
    const news = await checked(inputs());
    assert.equal(news.namespace, "web");
    const { id, outs } = await provider.create("TailnetIngress", news);
    // Tailscale's shared-in hello.ts.net holds no name in this tailnet (provider/resources/devices.ts).
    assert.deepEqual(
      world.tailscale.sharedInDevices().map((d) => d.name),
      ["hello.ts.net"],
    );
    const fqdn = `hello.${world.tailscale.tailnetDomain}`;
    assert.equal(id, "web/ts-hello");
    assert.equal(outs.fqdn, fqdn);
    assert.equal(outs.url, `https://${fqdn}/`);
    assert.equal(
      serveConfig("web", "ts-hello-0"),
      `{"TCP":{"443":{"HTTPS":true}},"Web":{"\${TS_CERT_DOMAIN}:443":{"Handlers":{"/":{"Proxy":"http://${web.clusterIP}:80/"}}}}}`,
    );

    // The certificate was obtained during create (through the proxy's own tailscaled), not on first use.
    assert.equal(outs.certificate.state, "issued");
    assert.equal(outs.certificate.domain, fqdn);
    assert.equal(outs.certificate.staging, false);
    assert.match(outs.certificate.issuer, /Let's Encrypt/);
    const state = world.kube.getObject("v1", "Secret", "web", "ts-hello-0");
    const pem = Buffer.from(state.data[`${fqdn}.crt`], "base64").toString();
    const x509 = new X509Certificate(pem);
    assert.equal(outs.certificate.sha256Fingerprint, x509.fingerprint256);
    assert.equal(outs.certificate.notAfter, new Date(x509.validTo).toISOString());
    assert.deepEqual(outs.certificateIssuances, [outs.certificate.notBefore]);
    assert.ok(!JSON.stringify(outs).includes("PRIVATE KEY"), "the private key never reaches the outputs");
    assert.deepEqual(world.tailscale.validAuthKeys(), []);

    // Paths change: only the serve config is rewritten; the proxy keeps running (same Pod).
    const podBefore = world.kube.getObject("v1", "Pod", "web", "ts-hello-0");
    const stsBefore = world.kube.getObject("apps/v1", "StatefulSet", "web", "ts-hello");
    const withApi = await checked(
      inputs({
        rules: [
          { paths: [{ path: "/api", backend: { service: { namespace: "web", name: "api" }, port: 8443 } }] },
        ],
      }),
      news,
    );
    const d = await provider.diff("TailnetIngress", id, outs, withApi);
    assert.equal(d.changes, true);
    assert.deepEqual(d.replaces, []);
    world.kube.resetCounts();
    const updated = await provider.update("TailnetIngress", id, outs, withApi);
    const objectWrites = world.kube.requests.filter(
      (r) => r.user === world.deployer.user && r.class === "write" && !r.path.endsWith("/exec"),
    );
    assert.deepEqual(
      objectWrites.map((r) => `${r.method} ${r.path}`),
      ["PATCH /api/v1/namespaces/web/secrets/ts-hello-0"],
      "one write: the serve config",
    );
    assert.equal(
      serveConfig("web", "ts-hello-0"),
      `{"TCP":{"443":{"HTTPS":true}},"Web":{"\${TS_CERT_DOMAIN}:443":{"Handlers":{"/":{"Proxy":"http://${web.clusterIP}:80/"},"/api":{"Proxy":"https+insecure://${api.clusterIP}:8443/api"}}}}}`,
      "a port named https is reached over https+insecure",
    );
    assert.equal(world.kube.getObject("v1", "Pod", "web", "ts-hello-0").metadata.uid, podBefore.metadata.uid);
    assert.equal(
      world.kube.getObject("apps/v1", "StatefulSet", "web", "ts-hello").metadata.resourceVersion,
      stsBefore.metadata.resourceVersion,
    );
    const u = updated.outs as any;
    assert.equal(
      u.certificate.serialNumber,
      outs.certificate.serialNumber,
      "no new certificate for an update",
    );
    assert.deepEqual(u.certificateIssuances, outs.certificateIssuances);

    // Refresh reads the certificate state again.
    const r = await provider.read("TailnetIngress", id, u);
    assert.equal((r.props as any).certificate.serialNumber, outs.certificate.serialNumber);

    await provider.remove("TailnetIngress", id, u);
    assert.deepEqual(world.leftovers().kubernetesObjects, []);
    assert.deepEqual(world.leftovers().devices, []);
  });

  it("reports a staging certificate as staging", async () => {
    const news = await checked(
      inputs({
        ownerId: "proj/dev/stage",
        hostname: "stage",
        proxyClass: { useLetsEncryptStagingEnvironment: true },
      }),
    );
    const { id, outs } = await provider.create("TailnetIngress", news);
    assert.equal(outs.certificate.state, "issued");
    assert.equal(outs.certificate.staging, true);
    assert.match(outs.certificate.issuer, /^\(STAGING\)/);
    const sts = world.kube.getObject("apps/v1", "StatefulSet", "web", "ts-stage");
    const env = sts.spec.template.spec.containers[0].env;
    assert.equal(
      env.find((e: any) => e.name === "TS_DEBUG_ACME_DIRECTORY_URL").value,
      "https://acme-staging-v02.api.letsencrypt.org/directory",
    );
    await provider.remove("TailnetIngress", id, outs);
  });

  it("waitForCertificate: false leaves the certificate pending until first use", async () => {
    const news = await checked(
      inputs({ ownerId: "proj/dev/lazy", hostname: "lazy", waitForCertificate: false }),
    );
    const { id, outs } = await provider.create("TailnetIngress", news);
    assert.equal(outs.certificate.state, "pending");
    assert.deepEqual(outs.certificateIssuances, []);
    await world.sim.requestCertificate("ts-lazy-0", "web");
    const r = await provider.read("TailnetIngress", id, outs);
    assert.equal((r.props as any).certificate.state, "issued", "refresh picks up the certificate");
    assert.equal((r.props as any).certificateIssuances.length, 1);
    await provider.remove("TailnetIngress", id, r.props);
  });

  it("fails the up with the reason when Let's Encrypt rate-limits, and leaves nothing behind", async () => {
    world.sim.setFault({ cert: { kind: "rate-limited" } });
    const news = await checked(inputs({ ownerId: "proj/dev/limited", hostname: "limited" }));
    await assert.rejects(
      provider.create("TailnetIngress", news),
      /rate limited.*useLetsEncryptStagingEnvironment/s,
    );
    assert.deepEqual(world.leftovers().kubernetesObjects, []);
    assert.deepEqual(world.leftovers().devices, []);
    assert.deepEqual(world.tailscale.validAuthKeys(), []);
  });

  it("fails the up when HTTPS is disabled on the tailnet", async () => {
    world.tailscale.setHttpsEnabled(false);
    try {
      const news = await checked(inputs({ ownerId: "proj/dev/nohttps", hostname: "nohttps" }));
      await assert.rejects(
        provider.create("TailnetIngress", news),
        /HTTPS certificates disabled.*admin console/,
      );
    } finally {
      world.tailscale.setHttpsEnabled(true);
    }
    assert.deepEqual(world.leftovers().kubernetesObjects, []);
  });

  it("refuses what the cluster tells is wrong before creating anything: missing Service, unknown port name", async () => {
    await assert.rejects(
      provider.create(
        "TailnetIngress",
        await checked(
          inputs({
            ownerId: "proj/dev/x",
            hostname: "x",
            defaultBackend: { service: { namespace: "web", name: "nope" }, port: 80 },
          }),
        ),
      ),
      /defaultBackend\.service: Service web\/nope was not found/,
    );
    await assert.rejects(
      provider.create(
        "TailnetIngress",
        await checked(
          inputs({
            ownerId: "proj/dev/y",
            hostname: "y",
            defaultBackend: { service: { namespace: "web", name: "hello" }, port: "grpc" },
          }),
        ),
      ),
      /grpc/,
    );
    assert.deepEqual(world.leftovers().kubernetesObjects, []);
  });

  it("refuses bad input at check, naming the field", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ defaultBackend: undefined }, "rules"],
      [{ hostname: "bad_host.example.ts.net" }, "hostname"],
      [
        {
          rules: [
            {
              host: "a.tailnet-1234.ts.net",
              paths: [{ path: "/a", backend: { service: { namespace: "web", name: "hello" }, port: 80 } }],
            },
            {
              host: "b.tailnet-1234.ts.net",
              paths: [{ path: "/b", backend: { service: { namespace: "web", name: "hello" }, port: 80 } }],
            },
          ],
          hostname: undefined,
        },
        "rules[1].host",
      ],
      [
        {
          rules: [
            { paths: [{ path: "api", backend: { service: { namespace: "web", name: "hello" }, port: 80 } }] },
          ],
        },
        "rules[0].paths[0].path",
      ],
      [
        { defaultBackend: { service: { namespace: "web", name: "hello" }, port: 70000 } },
        "defaultBackend.port",
      ],
    ];
    for (const [extra, property] of cases) {
      const result = await provider.check("TailnetIngress", {}, inputs(extra));
      const props = (result.failures ?? []).map((f) => f.property);
      assert.ok(
        props.includes(property),
        `${JSON.stringify(extra)} should fail on ${property}, got ${JSON.stringify(result.failures)}`,
      );
    }
    const preview = await provider.check("TailnetIngress", {}, inputs({ defaultBackend: UNKNOWN }));
    assert.deepEqual(preview.failures ?? [], []);
  });

  it("classifies changes: hostname and tags replace, backends update in place", async () => {
    const olds = { ...(await checked(inputs())), fqdn: "hello.x", schemaVersion: 1 };
    const rename = await provider.diff(
      "TailnetIngress",
      "id",
      olds,
      await checked(inputs({ hostname: "hi" })),
    );
    assert.deepEqual(rename.replaces, ["hostname"]);
    assert.equal(rename.deleteBeforeReplace, false, "a new name can come up before the old one goes");
    const retag = await provider.diff(
      "TailnetIngress",
      "id",
      olds,
      await checked(inputs({ tags: ["tag:web"] })),
    );
    assert.deepEqual(retag.replaces, ["tags"]);
    assert.equal(
      retag.deleteBeforeReplace,
      true,
      "the same name must be free first, or control would add -1",
    );
    const redirect = await provider.diff(
      "TailnetIngress",
      "id",
      olds,
      await checked(inputs({ httpRedirect: true })),
    );
    assert.deepEqual(redirect.replaces, []);
    assert.equal(redirect.changes, true);
  });
});
