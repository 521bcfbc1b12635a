// biome-ignore-all lint/suspicious/noTemplateCurlyInString: serve config placeholders are literal strings that tailscaled expands
import assert from "node:assert/strict";
import type { V1StatefulSet } from "@kubernetes/client-node";
import type { BackendServiceFacts } from "../../provider/plan/backends";
import { PlanError } from "../../provider/plan/errors";
import type { TailnetIngressInput, TailnetServiceInput } from "../../provider/plan/inputs";
import { ownerHash } from "../../provider/plan/labels";
import {
  dnatConfigEntry,
  forwardedTailnetIPs,
  l3TargetOf,
  planStandaloneIngress,
  planStandaloneService,
  STANDALONE_DNAT_CONFIG_KEY,
} from "../../provider/plan/standalone";

// Fixtures of the operator's tests (ingress_test.go / operator_test.go), adapted to our inputs.
const OWNER_SVC = "proj/dev/test-svc";
const OWNER_ING = "proj/dev/test";
const testSvc: BackendServiceFacts = {
  namespace: "default",
  name: "test",
  type: "ClusterIP",
  clusterIP: "10.20.30.40",
  clusterIPs: ["10.20.30.40"],
  ports: [{ name: "http", port: 8080, protocol: "TCP" }],
};
const ingSvc: BackendServiceFacts = { ...testSvc, clusterIP: "1.2.3.4", clusterIPs: ["1.2.3.4"] };

const commonLabels = (owner: string, parent: string, type: "svc" | "ingress") => ({
  "tailnet.pulumi.com/parent-resource": parent,
  "tailnet.pulumi.com/parent-resource-ns": "default",
  "tailnet.pulumi.com/parent-resource-type": type,
  "app.kubernetes.io/managed-by": "pulumi-tailnet",
  "app.kubernetes.io/name": "tailscale",
  "tailnet.pulumi.com/owner": ownerHash(owner),
});
const fieldEnv = (name: string, fieldPath: string) => ({ name, valueFrom: { fieldRef: { fieldPath } } });
const BASE_ENV = (userspace: boolean) => [
  { name: "TS_USERSPACE", value: String(userspace) },
  fieldEnv("POD_IP", "status.podIP"),
  fieldEnv("POD_NAME", "metadata.name"),
  fieldEnv("POD_UID", "metadata.uid"),
  { name: "TS_KUBE_SECRET", value: "$(POD_NAME)" },
  { name: "TS_EXPERIMENTAL_SERVICE_AUTO_ADVERTISEMENT", value: "false" },
  { name: "TS_EXPERIMENTAL_VERSIONED_CONFIG_DIR", value: "/etc/tsconfig/$(POD_NAME)" },
  { name: "TS_DEBUG_ACME_FORCE_RENEWAL", value: "true" },
];
const SYSCTL =
  "echo 1 > /proc/sys/net/ipv4/ip_forward && if [ -e /proc/sys/net/ipv6/conf/all/forwarding ]; then echo 1 > /proc/sys/net/ipv6/conf/all/forwarding; fi";
const envOf = (sts: V1StatefulSet) => sts.spec!.template.spec!.containers[0]!.env!;

describe("planStandaloneService (layer 3)", () => {
  const input: TailnetServiceInput = { ownerId: OWNER_SVC, service: { namespace: "default", name: "test" } };
  const plan = planStandaloneService(input, testSvc, { authKey: "new-authkey" });
  const labels = commonLabels(OWNER_SVC, "test", "svc");
  const meta = (name: string) => ({
    name,
    namespace: "default",
    labels,
    annotations: { "tailnet.pulumi.com/owner-id": OWNER_SVC },
  });

  it("names, namespace (the backend's, differs: no operator namespace), hostname <ns>-<name>", () => {
    assert.equal(plan.mode, "L3");
    assert.equal(plan.namespace, "default");
    assert.equal(plan.hostname, "default-test");
    assert.equal(plan.names.base, "ts-default-test");
    assert.equal(plan.names.secret, "ts-default-test-0");
  });

  it("objects in apply order: ServiceAccount, Role, RoleBinding, Secret, headless Service, StatefulSet", () => {
    assert.deepEqual(
      plan.objects.map((o) => o.kind),
      ["ServiceAccount", "Role", "RoleBinding", "Secret", "Service", "StatefulSet"],
    );
    assert.equal(plan.objects[5], plan.statefulSet);
  });

  it("own ServiceAccount + least-privilege Role (differs: operator uses the shared `proxies` SA with namespace-wide Secrets)", () => {
    assert.deepEqual(plan.serviceAccount, {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: meta("ts-default-test"),
    });
    assert.deepEqual(plan.role, {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: meta("ts-default-test"),
      rules: [
        {
          apiGroups: [""],
          resources: ["secrets"],
          resourceNames: ["ts-default-test-0"],
          verbs: ["get", "update", "patch"],
        },
        { apiGroups: [""], resources: ["events"], verbs: ["create", "patch", "get"] },
      ],
    });
    assert.deepEqual(plan.roleBinding, {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: meta("ts-default-test"),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "ts-default-test" },
      subjects: [{ kind: "ServiceAccount", name: "ts-default-test", namespace: "default" }],
    });
  });

  it("config Secret: cap files with the auth key (parity: testutils_test.go)", () => {
    assert.deepEqual(plan.secret, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: meta("ts-default-test-0"),
      stringData: {
        "cap-95.hujson":
          '{"Version":"alpha0","Locked":false,"AuthKey":"new-authkey","Hostname":"default-test","acceptDNS":false,"acceptRoutes":false,"NoStatefulFiltering":true}',
        "cap-107.hujson":
          '{"Version":"alpha0","Locked":false,"AuthKey":"new-authkey","Hostname":"default-test","acceptDNS":false,"acceptRoutes":false,"AppConnector":{"Advertise":false},"NoStatefulFiltering":true}',
      },
    });
  });

  it("headless Service (differs: deterministic name instead of generateName)", () => {
    assert.deepEqual(plan.headlessService, {
      apiVersion: "v1",
      kind: "Service",
      metadata: meta("ts-default-test"),
      spec: { clusterIP: "None", selector: { app: ownerHash(OWNER_SVC) }, ipFamilyPolicy: "PreferDualStack" },
    });
  });

  it("StatefulSet: the operator's L3 template, env order exact (image differs: tailscale/tailscale:stable)", () => {
    assert.deepEqual(plan.statefulSet, {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: meta("ts-default-test"),
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: ownerHash(OWNER_SVC) } },
        serviceName: "ts-default-test",
        template: {
          metadata: {
            deletionGracePeriodSeconds: 10,
            labels: { ...labels, app: ownerHash(OWNER_SVC) },
            annotations: {
              "tailnet.pulumi.com/owner-id": OWNER_SVC,
              "tailscale.com/operator-last-set-cluster-ip": "10.20.30.40",
            },
          },
          spec: {
            serviceAccountName: "ts-default-test",
            initContainers: [
              {
                name: "sysctler",
                image: "tailscale/tailscale:stable",
                securityContext: { privileged: true },
                command: ["/bin/sh", "-c"],
                args: [SYSCTL],
              },
            ],
            containers: [
              {
                name: "tailscale",
                image: "tailscale/tailscale:stable",
                imagePullPolicy: "Always",
                resources: { requests: { cpu: "1m", memory: "1Mi" } },
                securityContext: { privileged: true },
                env: [
                  ...BASE_ENV(false),
                  { name: "TS_DEST_IP", value: "10.20.30.40" },
                  { name: "TS_INTERNAL_APP", value: "k8s-operator-ingress-proxy" },
                ],
                volumeMounts: [
                  {
                    name: "tailscaledconfig-0",
                    readOnly: true,
                    mountPath: "/etc/tsconfig/ts-default-test-0",
                  },
                ],
              },
            ],
            volumes: [{ name: "tailscaledconfig-0", secret: { secretName: "ts-default-test-0" } }],
          },
        },
      },
    });
  });

  it("auth key request: tags default tag:k8s, single-use, not ephemeral, pre-authorised", () => {
    assert.deepEqual(plan.authKeyRequest, {
      tags: ["tag:k8s"],
      reusable: false,
      ephemeral: false,
      preauthorized: true,
    });
    assert.deepEqual(plan.target, { kind: "clusterIP", ip: "10.20.30.40" });
  });

  it("TestCustomHostname: hostname reindeer-flotilla", () => {
    const p = planStandaloneService({ ...input, hostname: "reindeer-flotilla" }, testSvc, {});
    assert.match(p.tailscaledConfig["cap-107.hujson"]!, /"Hostname":"reindeer-flotilla"/);
    assert.equal(p.names.base, "ts-reindeer-flotilla");
  });

  it("TestProxyFirewallMode: TS_DEBUG_FIREWALL_MODE right before TS_DEST_IP", () => {
    const p = planStandaloneService({ ...input, proxyClass: { firewallMode: "nftables" } }, testSvc, {});
    assert.deepEqual(envOf(p.statefulSet), [
      ...BASE_ENV(false),
      { name: "TS_DEBUG_FIREWALL_MODE", value: "nftables" },
      { name: "TS_DEST_IP", value: "10.20.30.40" },
      { name: "TS_INTERNAL_APP", value: "k8s-operator-ingress-proxy" },
    ]);
  });

  it("Test_externalNameService: TS_EXPERIMENTAL_DEST_DNS_NAME and the dns-name annotation, updated on change", () => {
    for (const name of ["foo.com", "bar.com"]) {
      const p = planStandaloneService(
        input,
        {
          namespace: "default",
          name: "test",
          type: "ExternalName",
          clusterIP: "",
          externalName: name,
          ports: [],
        },
        {},
      );
      assert.deepEqual(envOf(p.statefulSet).slice(8), [
        { name: "TS_EXPERIMENTAL_DEST_DNS_NAME", value: name },
        { name: "TS_INTERNAL_APP", value: "k8s-operator-ingress-proxy" },
      ]);
      assert.deepEqual(p.statefulSet.spec!.template.metadata!.annotations, {
        "tailnet.pulumi.com/owner-id": OWNER_SVC,
        "tailscale.com/operator-last-set-cluster-dns-name": name,
      });
    }
  });

  it("Test_HeadlessService: PlanError naming the Service", () => {
    assert.throws(
      () => planStandaloneService(input, { ...testSvc, clusterIP: "None" }, {}),
      (e: unknown) => {
        assert.ok(e instanceof PlanError);
        assert.equal(e.code, "HeadlessService");
        assert.equal(
          e.message,
          'TailnetService for Service "default/test": headless Services are not supported. Expose a Service with a cluster IP (or an ExternalName Service)',
        );
        return true;
      },
    );
  });

  it("PlanError for a Service without a cluster IP, wrong facts, and HA inputs", () => {
    assert.throws(() => planStandaloneService(input, { ...testSvc, clusterIP: "" }, {}), {
      code: "NoClusterIP",
    });
    assert.throws(() => planStandaloneService(input, { ...testSvc, name: "other" }, {}), {
      code: "InvalidInput",
    });
    assert.throws(
      () =>
        planStandaloneService({ ...input, proxyGroup: { name: "pg", namespace: "tailscale" } }, testSvc, {}),
      { code: "InvalidInput" },
    );
  });

  it("namespace input, control URL, custom tags, ProxyClass image", () => {
    const p = planStandaloneService(
      {
        ...input,
        namespace: "tailscale",
        tags: ["tag:db"],
        proxyClass: { image: "tailscale/tailscale:v1.84.0" },
      },
      testSvc,
      { controlUrl: "https://controlplane.tailscale.com" },
    );
    assert.ok(p.objects.every((o) => o.metadata!.namespace === "tailscale"));
    assert.deepEqual(p.roleBinding.subjects, [
      { kind: "ServiceAccount", name: "ts-default-test", namespace: "tailscale" },
    ]);
    assert.equal(p.labels["tailnet.pulumi.com/parent-resource-ns"], "default");
    assert.deepEqual(p.authKeyRequest.tags, ["tag:db"]);
    assert.equal(
      p.tailscaledConfig["cap-95.hujson"],
      '{"Version":"alpha0","Locked":false,"ServerURL":"https://controlplane.tailscale.com","Hostname":"default-test","acceptDNS":false,"acceptRoutes":false,"NoStatefulFiltering":true}',
    );
    assert.equal(p.statefulSet.spec!.template.spec!.containers[0]!.image, "tailscale/tailscale:v1.84.0");
    assert.equal(p.statefulSet.spec!.template.spec!.initContainers![0]!.image, "tailscale/tailscale:v1.84.0");
  });

  it("TestServiceProxyClassAnnotation: imagePullPolicy from the ProxyClass; staging env never on L3", () => {
    const p = planStandaloneService(
      { ...input, proxyClass: { imagePullPolicy: "IfNotPresent", useLetsEncryptStagingEnvironment: true } },
      testSvc,
      {},
    );
    assert.equal(p.statefulSet.spec!.template.spec!.containers[0]!.imagePullPolicy, "IfNotPresent");
    assert.ok(!envOf(p.statefulSet).some((e) => e.name === "TS_DEBUG_ACME_DIRECTORY_URL"));
  });
});

describe("planStandaloneIngress (layer 7)", () => {
  const input: TailnetIngressInput = {
    ownerId: OWNER_ING,
    hostname: "default-test",
    defaultBackend: { service: { namespace: "default", name: "test" }, port: 8080 },
  };
  const backends = new Map([["default/test", ingSvc]]);
  const plan = planStandaloneIngress(input, backends, { authKey: "new-authkey" });
  const labels = commonLabels(OWNER_ING, "test", "ingress");
  const meta = (name: string) => ({
    name,
    namespace: "default",
    labels,
    annotations: { "tailnet.pulumi.com/owner-id": OWNER_ING },
  });

  it("TestTailscaleIngress: Secret with serve-config and cap files", () => {
    assert.equal(plan.mode, "L7");
    assert.deepEqual(plan.secret, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: meta("ts-default-test-0"),
      stringData: {
        "cap-95.hujson":
          '{"Version":"alpha0","Locked":false,"AuthKey":"new-authkey","Hostname":"default-test","acceptDNS":false,"acceptRoutes":false,"NoStatefulFiltering":true}',
        "cap-107.hujson":
          '{"Version":"alpha0","Locked":false,"AuthKey":"new-authkey","Hostname":"default-test","acceptDNS":false,"acceptRoutes":false,"AppConnector":{"Advertise":false},"NoStatefulFiltering":true}',
        "serve-config":
          '{"TCP":{"443":{"HTTPS":true}},"Web":{"${TS_CERT_DOMAIN}:443":{"Handlers":{"/":{"Proxy":"http://1.2.3.4:8080/"}}}}}',
      },
    });
    assert.equal(plan.serveConfig, plan.secret.stringData!["serve-config"]);
    assert.deepEqual(plan.handlers, [
      {
        path: "/",
        proxy: "http://1.2.3.4:8080/",
        source: "defaultBackend",
        service: { namespace: "default", name: "test" },
        port: 8080,
        scheme: "http",
      },
    ]);
  });

  it("TestTailscaleIngress: the userspace StatefulSet, env order exact, both volumes", () => {
    assert.deepEqual(plan.statefulSet, {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: meta("ts-default-test"),
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: ownerHash(OWNER_ING) } },
        serviceName: "ts-default-test",
        template: {
          metadata: {
            deletionGracePeriodSeconds: 10,
            labels: { ...labels, app: ownerHash(OWNER_ING) },
            annotations: { "tailnet.pulumi.com/owner-id": OWNER_ING },
          },
          spec: {
            serviceAccountName: "ts-default-test",
            containers: [
              {
                name: "tailscale",
                image: "tailscale/tailscale:stable",
                imagePullPolicy: "Always",
                resources: { requests: { cpu: "1m", memory: "1Mi" } },
                // Unlike the operator's (none): the Pod Security restricted level's fields.
                securityContext: {
                  allowPrivilegeEscalation: false,
                  capabilities: { drop: ["ALL"] },
                  runAsNonRoot: true,
                  runAsUser: 1000,
                  runAsGroup: 1000,
                  seccompProfile: { type: "RuntimeDefault" },
                },
                env: [
                  ...BASE_ENV(true),
                  { name: "TS_SERVE_CONFIG", value: "/etc/tailscaled/$(POD_NAME)/serve-config" },
                  { name: "TS_INTERNAL_APP", value: "k8s-operator-ingress-resource" },
                ],
                volumeMounts: [
                  {
                    name: "tailscaledconfig-0",
                    readOnly: true,
                    mountPath: "/etc/tsconfig/ts-default-test-0",
                  },
                  { name: "serve-config-0", readOnly: true, mountPath: "/etc/tailscaled/ts-default-test-0" },
                ],
              },
            ],
            volumes: [
              { name: "tailscaledconfig-0", secret: { secretName: "ts-default-test-0" } },
              {
                name: "serve-config-0",
                secret: {
                  secretName: "ts-default-test-0",
                  items: [{ key: "serve-config", path: "serve-config" }],
                },
              },
            ],
          },
        },
      },
    });
  });

  it("TestTailscaleIngressWithHTTPRedirect", () => {
    const p = planStandaloneIngress({ ...input, httpRedirect: true }, backends, {});
    assert.equal(
      p.serveConfig,
      '{"TCP":{"443":{"HTTPS":true},"80":{"HTTP":true}},"Web":{"${TS_CERT_DOMAIN}:443":{"Handlers":{"/":{"Proxy":"http://1.2.3.4:8080/"}}},"${TS_CERT_DOMAIN}:80":{"Handlers":{"/":{"Redirect":"301:https://${HOST}${REQUEST_URI}"}}}}}',
    );
  });

  it("TestTailscaleIngressIPv6: hostname from the resource name (differs: operator uses default-test-ipv6-ingress)", () => {
    const v6: BackendServiceFacts = {
      namespace: "default",
      name: "test-ipv6",
      type: "ClusterIP",
      clusterIP: "fda9:e575:6e22:2::25",
      ports: [{ name: "http", port: 2283 }],
    };
    const p = planStandaloneIngress(
      {
        ownerId: "proj/dev/test-ipv6",
        defaultBackend: { service: { namespace: "default", name: "test-ipv6" }, port: 2283 },
      },
      new Map([["default/test-ipv6", v6]]),
      {},
    );
    assert.equal(p.hostname, "test-ipv6");
    assert.equal(p.handlers![0]!.proxy, "http://[fda9:e575:6e22:2::25]:2283/");
  });

  it("TestEmptyPath: rule host = hostname, empty path at /, hostname foo from the host", () => {
    const p = planStandaloneIngress(
      {
        ownerId: OWNER_ING,
        rules: [
          {
            host: "foo.tailnetxyz.ts.net",
            paths: [{ path: "", pathType: "Prefix", backend: input.defaultBackend! }],
          },
        ],
      },
      backends,
      {},
    );
    assert.equal(p.hostname, "foo");
    assert.match(p.tailscaledConfig["cap-95.hujson"]!, /"Hostname":"foo"/);
    assert.equal(
      p.serveConfig,
      '{"TCP":{"443":{"HTTPS":true}},"Web":{"${TS_CERT_DOMAIN}:443":{"Handlers":{"/":{"Proxy":"http://1.2.3.4:8080/"}}}}}',
    );
  });

  const staging: {
    name: string;
    proxyClass?: { useLetsEncryptStagingEnvironment?: boolean; image?: string };
    want: boolean;
  }[] = [
    { name: "le-staging", proxyClass: { useLetsEncryptStagingEnvironment: true }, want: true },
    { name: "le-staging-false", proxyClass: { useLetsEncryptStagingEnvironment: false }, want: false },
    { name: "other ProxyClass", proxyClass: { image: "tailscale/tailscale:v1" }, want: false },
    { name: "no ProxyClass", want: false },
  ];
  for (const c of staging) {
    it(`TestIngressLetsEncryptStaging: ${c.name}`, () => {
      const env = envOf(
        planStandaloneIngress({ ...input, proxyClass: c.proxyClass }, backends, {}).statefulSet,
      );
      const staged = env.filter((e) => e.name === "TS_DEBUG_ACME_DIRECTORY_URL");
      assert.deepEqual(
        staged,
        c.want
          ? [
              {
                name: "TS_DEBUG_ACME_DIRECTORY_URL",
                value: "https://acme-staging-v02.api.letsencrypt.org/directory",
              },
            ]
          : [],
      );
      if (c.want) assert.equal(env[env.length - 1]!.name, "TS_DEBUG_ACME_DIRECTORY_URL");
    });
  }

  it("TestTailscaleIngressWithProxyClass: labels, annotations, resources", () => {
    const p = planStandaloneIngress(
      {
        ...input,
        proxyClass: {
          statefulSetLabels: { foo: "bar" },
          statefulSetAnnotations: { "bar.io/foo": "some-val" },
          podAnnotations: { "foo.io/bar": "some-val" },
          resources: { requests: { cpu: "500m", memory: "28Mi" } },
        },
      },
      backends,
      {},
    );
    assert.deepEqual(p.statefulSet.metadata!.labels, { foo: "bar", ...labels });
    assert.deepEqual(p.statefulSet.metadata!.annotations, {
      "bar.io/foo": "some-val",
      "tailnet.pulumi.com/owner-id": OWNER_ING,
    });
    assert.deepEqual(p.statefulSet.spec!.template.metadata!.annotations, {
      "foo.io/bar": "some-val",
      "tailnet.pulumi.com/owner-id": OWNER_ING,
    });
    assert.deepEqual(p.statefulSet.spec!.template.spec!.containers[0]!.resources, {
      requests: { cpu: "500m", memory: "28Mi" },
    });
    // Other objects keep the plain labels.
    assert.deepEqual(p.secret.metadata!.labels, labels);
  });

  it("firewall mode is not set on the userspace proxy (differs: no firewall in userspace)", () => {
    const env = envOf(
      planStandaloneIngress({ ...input, proxyClass: { firewallMode: "iptables" } }, backends, {}).statefulSet,
    );
    assert.ok(!env.some((e) => e.name === "TS_DEBUG_FIREWALL_MODE"));
  });

  it("namespace defaults to the first backend's; parent-resource is the Pulumi resource name", () => {
    const p = planStandaloneIngress(
      {
        ownerId: "proj/dev/My Ingress",
        hostname: "web",
        rules: [
          { paths: [{ path: "/", backend: { service: { namespace: "apps", name: "web" }, port: 80 } }] },
        ],
      },
      new Map([
        [
          "apps/web",
          { namespace: "apps", name: "web", type: "ClusterIP", clusterIP: "10.0.0.9", ports: [{ port: 80 }] },
        ],
      ]),
      {},
    );
    assert.equal(p.namespace, "apps");
    assert.match(p.labels["tailnet.pulumi.com/parent-resource"]!, /^My-Ingress-[0-9a-f]{8}$/);
    assert.equal(p.labels["tailnet.pulumi.com/parent-resource-ns"], "apps");
  });

  it("PlanError for bad backends and HA inputs", () => {
    assert.throws(() => planStandaloneIngress(input, new Map(), {}), { code: "BackendNotFound" });
    assert.throws(
      () =>
        planStandaloneIngress({ ...input, proxyGroup: { name: "pg", namespace: "tailscale" } }, backends, {}),
      { code: "InvalidInput" },
    );
  });

  it("is pure: same inputs, same plan", () => {
    assert.deepEqual(planStandaloneIngress(input, backends, { authKey: "new-authkey" }), plan);
  });
});

describe("planStandaloneService on a dual-stack backend: the secondary family through the DNAT config", () => {
  const input: TailnetServiceInput = {
    ownerId: OWNER_SVC,
    service: { namespace: "default", name: "test" },
    hostname: "db",
  };
  const device = ["100.64.0.7", "fd7a:115c:a1e0::7"];
  const dnatEnv = [
    fieldEnv("POD_IPS", "status.podIPs"),
    { name: "TS_INGRESS_PROXIES_CONFIG_PATH", value: "/etc/tsconfig/$(POD_NAME)/dnat-config.json" },
  ];
  const cases: {
    what: string;
    clusterIPs: string[];
    deviceIPs?: string[];
    env: object[];
    config?: string;
  }[] = [
    {
      what: "single-stack: TS_DEST_IP only, no DNAT config, whatever the device has",
      clusterIPs: ["10.20.30.40"],
      deviceIPs: device,
      env: [],
    },
    {
      what: "dual-stack, before the device registers: the ingress proxy's env, the config not yet",
      clusterIPs: ["10.20.30.40", "fd00:10:96::28"],
      env: dnatEnv,
    },
    {
      what: "dual-stack, IPv4 primary: the device's IPv6 to the IPv6 cluster IP",
      clusterIPs: ["10.20.30.40", "fd00:10:96::28"],
      deviceIPs: device,
      env: dnatEnv,
      config:
        '{"db":{"IPv6Mapping":{"TailscaleServiceIP":"fd7a:115c:a1e0::7","ClusterIP":"fd00:10:96::28"}}}',
    },
    {
      what: "dual-stack, IPv6 primary: the device's IPv4 to the IPv4 cluster IP",
      clusterIPs: ["fd00:10:96::28", "10.20.30.40"],
      deviceIPs: device,
      env: dnatEnv,
      config: '{"db":{"IPv4Mapping":{"TailscaleServiceIP":"100.64.0.7","ClusterIP":"10.20.30.40"}}}',
    },
    {
      what: "dual-stack, a device without an IPv6 address: nothing to map",
      clusterIPs: ["10.20.30.40", "fd00:10:96::28"],
      deviceIPs: ["100.64.0.7"],
      env: dnatEnv,
    },
  ];
  for (const c of cases) {
    it(c.what, () => {
      const backend = { ...testSvc, clusterIP: c.clusterIPs[0], clusterIPs: c.clusterIPs };
      const p = planStandaloneService(input, backend, { deviceIPs: c.deviceIPs });
      assert.deepEqual(envOf(p.statefulSet).slice(BASE_ENV(false).length), [
        { name: "TS_DEST_IP", value: c.clusterIPs[0] },
        ...c.env,
        { name: "TS_INTERNAL_APP", value: "k8s-operator-ingress-proxy" },
      ]);
      assert.equal(p.secret.stringData?.[STANDALONE_DNAT_CONFIG_KEY], c.config);
      assert.equal(p.dnatConfig === undefined, c.config === undefined);
      if (p.dnatConfig) assert.deepEqual({ [p.dnatConfig.name]: p.dnatConfig.entry }, JSON.parse(c.config!));
      assert.deepEqual(l3TargetOf(p.statefulSet), { kind: "clusterIP", ip: c.clusterIPs[0] });
      // The config is read from the Secret's mount, which is the whole Secret: no volume of its own.
      assert.deepEqual(p.statefulSet.spec!.template.spec!.volumes, [
        { name: "tailscaledconfig-0", secret: { secretName: "ts-db-0" } },
      ]);
    });
  }

  it("dnatConfigEntry: nothing for a DNS name or a single-stack cluster IP", () => {
    assert.equal(dnatConfigEntry({ kind: "dnsName", name: "db.example.com" }, device), undefined);
    assert.equal(dnatConfigEntry({ kind: "clusterIP", ip: "10.20.30.40" }, device), undefined);
  });

  it("l3TargetOf: the DNS name of an ExternalName proxy; nothing for a layer-7 proxy", () => {
    const ext = planStandaloneService(
      input,
      { ...testSvc, type: "ExternalName", clusterIP: "", clusterIPs: [], externalName: "db.example.com" },
      {},
    );
    assert.deepEqual(l3TargetOf(ext.statefulSet), { kind: "dnsName", name: "db.example.com" });
    const l7 = planStandaloneIngress(
      { ownerId: OWNER_ING, defaultBackend: { service: { namespace: "default", name: "test" }, port: 8080 } },
      new Map([["default/test", testSvc]]),
      {},
    );
    assert.equal(l3TargetOf(l7.statefulSet), undefined);
  });
});

describe("forwardedTailnetIPs: the tailnet IPs a standalone layer-3 proxy forwards (containerboot forwarding.go, ingressservices.go)", () => {
  const device = ["100.64.0.7", "fd7a:115c:a1e0::7"];
  const v6Config =
    '{"db":{"IPv6Mapping":{"TailscaleServiceIP":"fd7a:115c:a1e0::7","ClusterIP":"fd00:10:96::28"}}}';
  const cases: [string, Parameters<typeof forwardedTailnetIPs>[0], string | undefined, string[]][] = [
    ["IPv4 cluster IP: the IPv4", { kind: "clusterIP", ip: "10.96.0.10" }, undefined, ["100.64.0.7"]],
    [
      "IPv6 cluster IP: the IPv6",
      { kind: "clusterIP", ip: "fd00:10:96::a" },
      undefined,
      ["fd7a:115c:a1e0::7"],
    ],
    [
      "DNS name: the IPv4 (the IPv6 rule is never installed)",
      { kind: "dnsName", name: "db.example.com" },
      undefined,
      ["100.64.0.7"],
    ],
    [
      "IPv4 cluster IP and the DNAT config's IPv6: both, in the device's order",
      { kind: "clusterIP", ip: "10.96.0.10" },
      v6Config,
      device,
    ],
    [
      "a mapping of an address the device no longer has: not forwarded",
      { kind: "clusterIP", ip: "10.96.0.10" },
      v6Config.replace("::7", "::8"),
      ["100.64.0.7"],
    ],
    [
      "a mapping across families: containerboot cannot install it",
      { kind: "clusterIP", ip: "10.96.0.10" },
      v6Config.replace("fd00:10:96::28", "10.96.0.11"),
      ["100.64.0.7"],
    ],
    [
      "a DNAT config that is not JSON: only TS_DEST_IP's family",
      { kind: "clusterIP", ip: "10.96.0.10" },
      "{",
      ["100.64.0.7"],
    ],
    [
      "no target (TS_DEST_IP removed by hand): only the DNAT config's",
      undefined,
      v6Config,
      ["fd7a:115c:a1e0::7"],
    ],
  ];
  for (const [what, target, config, want] of cases) {
    it(what, () => {
      assert.deepEqual(forwardedTailnetIPs(target, device, config), want);
    });
  }
});
