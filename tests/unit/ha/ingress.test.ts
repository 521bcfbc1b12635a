import assert from "node:assert/strict";
import type { BackendServiceFacts } from "../../../provider/plan/backends";
import { PlanError } from "../../../provider/plan/errors";
import {
  buildHAIngressServiceConfig,
  certIssued,
  haIngressTeardown,
  joinTokenFor,
  OwnershipConflictError,
  planHAIngress,
  releaseOwnership,
  removeServeConfigService,
  serveConfigServiceNames,
  shouldAdvertiseIngress,
  type TailscaleService,
  tailscaleServiceNeedsPut,
  upsertServeConfigService,
  withAdvertisedService,
} from "../../../provider/plan/ha";
import type { TailnetIngressInput } from "../../../provider/plan/inputs";

const OWNER = "proj/dev/web";
/** ownerHash("proj/dev/web"). */
const OWNER_HASH = "5ebbc3d997c65923b6bd";
const COMMENT = "Managed by pulumi-tailnet; do not modify";

const backends = new Map<string, BackendServiceFacts>([
  [
    "default/test",
    { namespace: "default", name: "test", type: "ClusterIP", clusterIP: "10.0.0.1", ports: [{ port: 8080 }] },
  ],
]);

function ingress(over: Partial<TailnetIngressInput> = {}): TailnetIngressInput {
  return {
    ownerId: OWNER,
    hostname: "my-svc",
    proxyGroup: { name: "test-pg", namespace: "operator-ns" },
    defaultBackend: { service: { namespace: "default", name: "test" }, port: 8080 },
    ...over,
  };
}

const ctx = { tailnetDomain: "ts.net", clusterId: "cluster-a" };

describe("ha/ingress: TestIngressPGReconciler, step by step through the pure helpers", () => {
  // The fixture's shared files: ConfigMap serve-config.json and replica 0's cap-106.hujson.
  let serveConfig: string | undefined = '{"Services":{}}';
  let config0 = "{}";

  it("1-2: first ingress → serve config entry (HTTPS only), VIP tcp:443, advertised once the cert exists", () => {
    const plan = planHAIngress(ingress(), backends, ctx);
    assert.equal(plan.serviceName, "svc:my-svc");
    assert.equal(plan.dnsName, "my-svc.ts.net");
    serveConfig = upsertServeConfigService(serveConfig, plan.serviceName, plan.serveConfigEntry!);
    assert.equal(
      serveConfig,
      '{"Services":{"svc:my-svc":{"TCP":{"443":{"HTTPS":true}},"Web":{"my-svc.ts.net:443":{"Handlers":{"/":{"Proxy":"http://10.0.0.1:8080/"}}}}}}}',
    );
    assert.deepEqual(plan.tailscaleService, {
      name: "svc:my-svc",
      comment: COMMENT,
      annotations: {
        "tailnet.pulumi.com/owners":
          '{"owners":[{"id":"proj/dev/web","cluster":"cluster-a","proxyGroup":{"namespace":"operator-ns","name":"test-pg"}}]}',
      },
      ports: ["tcp:443"],
      tags: ["tag:k8s"],
    });
    // HTTPS only: not advertised until replica 0 wrote the certificate.
    assert.equal(shouldAdvertiseIngress(plan.http, certIssued({ "tls.crt": "", "tls.key": "" })), false);
    assert.equal(
      shouldAdvertiseIngress(plan.http, certIssued({ "tls.crt": "fake-cert", "tls.key": "fake-key" })),
      true,
    );
    config0 = withAdvertisedService(config0, plan.serviceName, true);
    assert.equal(config0, '{"Version":"","AdvertiseServices":["svc:my-svc"]}');
  });

  it("2: cert Secret, Role and RoleBinding named after the domain (ours: owner labels instead of Ingress parent labels, ours under our prefix; the Secret keeps the three containerboot lists it by)", () => {
    const plan = planHAIngress(ingress(), backends, ctx);
    const certLabels = {
      "tailnet.pulumi.com/proxy-group": "test-pg",
      "tailnet.pulumi.com/domain": "my-svc.ts.net",
      "app.kubernetes.io/managed-by": "pulumi-tailnet",
      "tailnet.pulumi.com/owner": OWNER_HASH,
    };
    const annotations = { "tailnet.pulumi.com/owner-id": OWNER };
    assert.deepEqual(plan.certSecret, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name: "my-svc.ts.net",
        namespace: "operator-ns",
        labels: {
          ...certLabels,
          "tailscale.com/secret-type": "certs",
          "tailscale.com/managed": "true",
          "tailscale.com/proxy-group": "test-pg",
        },
        annotations,
      },
      type: "kubernetes.io/tls",
      data: { "tls.crt": "", "tls.key": "" },
    });
    assert.deepEqual(plan.certRole, {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "my-svc.ts.net", namespace: "operator-ns", labels: certLabels, annotations },
      rules: [
        {
          apiGroups: [""],
          resources: ["secrets"],
          resourceNames: ["my-svc.ts.net"],
          verbs: ["get", "list", "patch", "update"],
        },
      ],
    });
    assert.deepEqual(plan.certRoleBinding, {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "my-svc.ts.net", namespace: "operator-ns", labels: certLabels, annotations },
      subjects: [{ kind: "ServiceAccount", name: "test-pg", namespace: "operator-ns" }],
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "my-svc.ts.net" },
    });
  });

  it("3: custom tags become exactly the VIP tags, and the existing service is PUT again", () => {
    const first = planHAIngress(ingress(), backends, ctx).tailscaleService;
    const existing: TailscaleService = { ...first, addrs: ["5.6.7.8"] };
    const plan = planHAIngress(ingress({ tags: ["tag:custom", "tag:test"] }), backends, {
      ...ctx,
      existingService: existing,
    });
    assert.deepEqual(plan.tailscaleService.tags, ["tag:custom", "tag:test"]);
    assert.deepEqual(plan.tailscaleService.addrs, ["5.6.7.8"], "existing addrs are carried in the PUT");
    assert.equal(tailscaleServiceNeedsPut(existing, plan.tailscaleService), true);
    assert.equal(
      tailscaleServiceNeedsPut(
        existing,
        planHAIngress(ingress(), backends, { ...ctx, existingService: existing }).tailscaleService,
      ),
      false,
    );
  });

  it("4: second ingress (TLS-style host with another domain uses its first label) → both advertised in order", () => {
    const plan = planHAIngress(
      ingress({ ownerId: "proj/dev/other", hostname: "my-other-svc.tailnetxyz.ts.net" }),
      backends,
      ctx,
    );
    assert.equal(plan.serviceName, "svc:my-other-svc");
    assert.equal(plan.dnsName, "my-other-svc.ts.net");
    assert.deepEqual(plan.tailscaleService.ports, ["tcp:443"]);
    assert.equal(plan.certRole!.metadata!.name, "my-other-svc.ts.net");
    serveConfig = upsertServeConfigService(serveConfig, plan.serviceName, plan.serveConfigEntry!);
    assert.deepEqual(serveConfigServiceNames(serveConfig), ["svc:my-other-svc", "svc:my-svc"]);
    config0 = withAdvertisedService(config0, plan.serviceName, true);
    assert.equal(config0, '{"Version":"","AdvertiseServices":["svc:my-svc","svc:my-other-svc"]}');
  });

  it("5: deleting the second ingress keeps the first and deletes its cert objects", () => {
    const steps = haIngressTeardown({
      proxyGroup: { name: "test-pg", namespace: "operator-ns" },
      serviceName: "svc:my-other-svc",
      ownerId: "proj/dev/other",
      dnsName: "my-other-svc.ts.net",
    });
    assert.deepEqual(
      steps.map((s) => s.step),
      [
        "removeServeConfigEntry",
        "unadvertise",
        "waitUnadvertised",
        "releaseTailscaleService",
        "deleteObjects",
      ],
    );
    serveConfig = removeServeConfigService(serveConfig, "svc:my-other-svc");
    assert.equal(
      serveConfig,
      '{"Services":{"svc:my-svc":{"TCP":{"443":{"HTTPS":true}},"Web":{"my-svc.ts.net:443":{"Handlers":{"/":{"Proxy":"http://10.0.0.1:8080/"}}}}}}}',
    );
    config0 = withAdvertisedService(config0, "svc:my-other-svc", false);
    assert.equal(config0, '{"Version":"","AdvertiseServices":["svc:my-svc"]}');
    const del = steps.find((s) => s.step === "deleteObjects");
    assert.deepEqual(del, {
      step: "deleteObjects",
      description: "delete the certificate of my-other-svc.ts.net and its RBAC",
      objects: [
        {
          apiVersion: "rbac.authorization.k8s.io/v1",
          kind: "RoleBinding",
          namespace: "operator-ns",
          name: "my-other-svc.ts.net",
        },
        {
          apiVersion: "rbac.authorization.k8s.io/v1",
          kind: "Role",
          namespace: "operator-ns",
          name: "my-other-svc.ts.net",
        },
        { apiVersion: "v1", kind: "Secret", namespace: "operator-ns", name: "my-other-svc.ts.net" },
      ],
    });
  });

  it("6: repointing to test-pg-second relabels the cert Role and rebinds the SA", () => {
    const plan = planHAIngress(
      ingress({ proxyGroup: { name: "test-pg-second", namespace: "operator-ns" } }),
      backends,
      ctx,
    );
    assert.equal(plan.certRole!.metadata!.labels!["tailnet.pulumi.com/proxy-group"], "test-pg-second");
    assert.deepEqual(plan.certRoleBinding!.subjects, [
      { kind: "ServiceAccount", name: "test-pg-second", namespace: "operator-ns" },
    ]);
  });

  it('7: deleting the last ingress of a ProxyGroup leaves {} and {"Version":""}', () => {
    serveConfig = removeServeConfigService(serveConfig, "svc:my-svc");
    assert.equal(serveConfig, "{}");
    config0 = withAdvertisedService(config0, "svc:my-svc", false);
    assert.equal(config0, '{"Version":""}');
  });

  it("8: deleting when the Tailscale Service was wiped out of band succeeds (nothing to release)", () => {
    assert.deepEqual(releaseOwnership(undefined, { ownerId: OWNER, clusterId: "cluster-a" }), {
      action: "none",
      reason: "the Tailscale Service is already gone",
    });
    // Removing an absent entry is a no-op that returns the input unchanged (no write).
    assert.equal(removeServeConfigService("{}", "svc:third"), "{}");
    assert.equal(removeServeConfigService(undefined, "svc:third"), undefined);
    assert.equal(withAdvertisedService('{"Version":""}', "svc:third", false), '{"Version":""}');
  });
});

describe("ha/ingress: ports, HTTP and redirect", () => {
  it("HTTPEndpoint: tcp:443 + tcp:80, same proxy handlers on port 80", () => {
    const plan = planHAIngress(ingress({ httpEndpoint: true }), backends, {
      ...ctx,
      tailnetDomain: "tailxyz.ts.net",
    });
    assert.deepEqual(plan.tailscaleService.ports, ["tcp:443", "tcp:80"]);
    assert.equal(
      upsertServeConfigService(undefined, plan.serviceName, plan.serveConfigEntry!),
      '{"Services":{"svc:my-svc":{"TCP":{"443":{"HTTPS":true},"80":{"HTTP":true}},"Web":{"my-svc.tailxyz.ts.net:443":{"Handlers":{"/":{"Proxy":"http://10.0.0.1:8080/"}}},"my-svc.tailxyz.ts.net:80":{"Handlers":{"/":{"Proxy":"http://10.0.0.1:8080/"}}}}}}}',
    );
    // HTTP is served, so it is advertised without waiting for the certificate.
    assert.equal(shouldAdvertiseIngress(plan.http, false), true);
    const off = planHAIngress(ingress(), backends, { ...ctx, tailnetDomain: "tailxyz.ts.net" });
    assert.deepEqual(off.tailscaleService.ports, ["tcp:443"]);
  });

  it("HTTPRedirect: port 80 redirects every mount point", () => {
    const plan = planHAIngress(ingress({ httpRedirect: true }), backends, {
      ...ctx,
      tailnetDomain: "tailxyz.ts.net",
    });
    assert.deepEqual(plan.tailscaleService.ports, ["tcp:443", "tcp:80"]);
    assert.equal(
      upsertServeConfigService(undefined, plan.serviceName, plan.serveConfigEntry!),
      '{"Services":{"svc:my-svc":{"TCP":{"443":{"HTTPS":true},"80":{"HTTP":true}},"Web":{"my-svc.tailxyz.ts.net:443":{"Handlers":{"/":{"Proxy":"http://10.0.0.1:8080/"}}},"my-svc.tailxyz.ts.net:80":{"Handlers":{"/":{"Redirect":"301:https://$' +
        "{HOST}$" +
        '{REQUEST_URI}"}}}}}}}', // "${HOST}${REQUEST_URI}" literally
    );
  });

  it("HTTPEndpointAndRedirectConflict: refused (ours; the operator serves HTTP and ignores the redirect)", () => {
    assert.throws(
      () => planHAIngress(ingress({ httpRedirect: true, httpEndpoint: true }), backends, ctx),
      /httpEndpoint and httpRedirect cannot both be set/,
    );
    // The operator's bytes for both, should a caller build the entry itself: the endpoint wins.
    assert.deepEqual(
      buildHAIngressServiceConfig("my-svc.ts.net", [{ path: "/", proxy: "http://10.0.0.1:8080/" }], {
        httpEndpoint: true,
        httpRedirect: true,
      }).Web!["my-svc.ts.net:80"],
      { Handlers: { "/": { Proxy: "http://10.0.0.1:8080/" } } },
    );
  });

  it("without the tailnet domain, no serve entry or cert objects yet (they are keyed by the FQDN)", () => {
    const plan = planHAIngress(ingress(), backends, { clusterId: "cluster-a" });
    assert.equal(plan.dnsName, undefined);
    assert.equal(plan.serveConfigEntry, undefined);
    assert.equal(plan.certSecret, undefined);
    assert.equal(plan.tailscaleService.name, "svc:my-svc");
    assert.equal(plan.joinToken, joinTokenFor("svc:my-svc", OWNER));
  });

  it("upsert keeps other services and returns the input unchanged when the entry is equal", () => {
    const plan = planHAIngress(ingress(), backends, ctx);
    const other = '{"Services":{"svc:zzz":{"TCP":{"443":{"HTTPS":true}}}}}';
    const once = upsertServeConfigService(other, plan.serviceName, plan.serveConfigEntry!);
    assert.deepEqual(serveConfigServiceNames(once), ["svc:my-svc", "svc:zzz"]);
    assert.equal(upsertServeConfigService(once, plan.serviceName, plan.serveConfigEntry!), once);
  });

  it("rules with paths and an https backend port", () => {
    const be = new Map(backends);
    be.set("default/api", {
      namespace: "default",
      name: "api",
      type: "ClusterIP",
      clusterIP: "fd00::10",
      ports: [{ name: "https", port: 8443 }],
    });
    const plan = planHAIngress(
      ingress({
        defaultBackend: undefined,
        rules: [
          {
            paths: [
              { path: "/", backend: { service: { namespace: "default", name: "test" }, port: 8080 } },
              { path: "/api", backend: { service: { namespace: "default", name: "api" }, port: "https" } },
            ],
          },
        ],
      }),
      be,
      ctx,
    );
    assert.deepEqual(plan.serveConfigEntry, {
      TCP: { "443": { HTTPS: true } },
      Web: {
        "my-svc.ts.net:443": {
          Handlers: {
            "/": { Proxy: "http://10.0.0.1:8080/" },
            "/api": { Proxy: "https+insecure://[fd00::10]:8443/api" },
          },
        },
      },
    });
  });
});

describe("ha/ingress: errors", () => {
  it("funnel is refused with proxyGroup", () => {
    assert.throws(
      () => planHAIngress(ingress({ funnel: true }), backends, ctx),
      (e: unknown) => e instanceof PlanError && /funnel is not supported with proxyGroup/.test(e.message),
    );
  });

  it("a missing backend Service is a PlanError naming it", () => {
    assert.throws(
      () => planHAIngress(ingress(), new Map(), ctx),
      (e: unknown) =>
        e instanceof PlanError && e.code === "BackendNotFound" && e.message.includes('"default/test"'),
    );
  });

  it("an existing service without our marker is never taken over", () => {
    const existing: TailscaleService = {
      name: "svc:my-svc",
      addrs: ["100.100.1.1"],
      annotations: { "tailscale.com/owner-references": '{"ownerRefs":[{"operatorID":"op-1"}]}' },
    };
    assert.throws(
      () => planHAIngress(ingress(), backends, { ...ctx, existingService: existing }),
      (e: unknown) =>
        e instanceof OwnershipConflictError &&
        e.message ===
          "Tailscale Service svc:my-svc already exists and is not managed by pulumi-tailnet (it is managed by the Tailscale Kubernetes Operator); it was not modified. Choose a different hostname, or delete that Tailscale Service in the admin console if nothing uses it, then run `pulumi up` again.",
    );
  });
});
