import assert from "node:assert/strict";
import type { V1StatefulSet } from "@kubernetes/client-node";
import type { ProxyClassInput } from "../../provider/plan/inputs";
import { applyProxyClass, firewallModeEnv } from "../../provider/plan/proxyclass";

const base = (): V1StatefulSet => ({
  apiVersion: "apps/v1",
  kind: "StatefulSet",
  metadata: {
    name: "ts-x",
    labels: { "tailnet.pulumi.com/parent-resource-type": "svc", app: "1234", stale: "x" },
    annotations: {},
  },
  spec: {
    selector: { matchLabels: { app: "1234" } },
    serviceName: "ts-x",
    template: {
      metadata: {
        labels: { "tailnet.pulumi.com/parent-resource-type": "svc", app: "1234" },
        annotations: { "tailscale.com/operator-last-set-cluster-ip": "10.0.0.1" },
      },
      spec: {
        initContainers: [{ name: "sysctler", image: "tailscale/tailscale:stable" }],
        containers: [
          {
            name: "tailscale",
            image: "tailscale/tailscale:stable",
            imagePullPolicy: "Always",
            resources: { requests: { cpu: "1m", memory: "1Mi" } },
            env: [{ name: "TS_USERSPACE", value: "false" }],
          },
        ],
      },
    },
  },
});

describe("applyProxyClass (parity: Test_applyProxyClassToStatefulSet)", () => {
  const allFields: ProxyClassInput = {
    statefulSetLabels: { foo: "bar" },
    statefulSetAnnotations: { "foo.io/bar": "foo" },
    podLabels: { bar: "foo" },
    podAnnotations: { "bar.io/foo": "foo" },
    podSecurityContext: { runAsUser: 0 },
    imagePullSecrets: ["docker-creds"],
    nodeSelector: { "beta.kubernetes.io/os": "linux" },
    tolerations: [{ operator: "Exists" }],
    priorityClassName: "high-priority",
    affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } } },
    securityContext: { privileged: true },
    resources: { limits: { cpu: "1000m", memory: "128Mi" }, requests: { cpu: "500m", memory: "64Mi" } },
    env: [
      { name: "foo", value: "bar" },
      { name: "TS_USERSPACE", value: "true" },
      { name: "bar", value: "" },
    ],
    image: "ghcr.io/my-repo/tailscale:v0.01testsomething",
    imagePullPolicy: "IfNotPresent",
    nodeName: "some-node",
    dnsPolicy: "ClusterFirstWithHostNet",
    dnsConfig: {
      nameservers: ["1.1.1.1", "8.8.8.8"],
      searches: ["example.com", "test.local"],
      options: [{ name: "ndots", value: "2" }, { name: "edns0" }],
    },
    initContainer: {
      image: "ghcr.io/my-repo/tailscale:init",
      imagePullPolicy: "Always",
      env: [{ name: "INIT", value: "1" }],
      resources: { requests: { cpu: "10m" } },
      securityContext: { privileged: false, capabilities: { add: ["NET_ADMIN"] } },
    },
  };

  it("all fields are copied; managed labels and annotations are kept, stale ones dropped", () => {
    const input = base();
    const got = applyProxyClass(input, allFields, { proxyType: "ingress_service", userspace: false });
    assert.deepEqual(got, {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: {
        name: "ts-x",
        labels: { foo: "bar", "tailnet.pulumi.com/parent-resource-type": "svc", app: "1234" },
        annotations: { "foo.io/bar": "foo" },
      },
      spec: {
        selector: { matchLabels: { app: "1234" } },
        serviceName: "ts-x",
        template: {
          metadata: {
            labels: { bar: "foo", "tailnet.pulumi.com/parent-resource-type": "svc", app: "1234" },
            annotations: { "bar.io/foo": "foo", "tailscale.com/operator-last-set-cluster-ip": "10.0.0.1" },
          },
          spec: {
            securityContext: { runAsUser: 0 },
            imagePullSecrets: [{ name: "docker-creds" }],
            nodeSelector: { "beta.kubernetes.io/os": "linux" },
            affinity: {
              nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } },
            },
            tolerations: [{ operator: "Exists" }],
            priorityClassName: "high-priority",
            nodeName: "some-node",
            dnsPolicy: "ClusterFirstWithHostNet",
            dnsConfig: {
              nameservers: ["1.1.1.1", "8.8.8.8"],
              searches: ["example.com", "test.local"],
              options: [{ name: "ndots", value: "2" }, { name: "edns0" }],
            },
            initContainers: [
              {
                name: "sysctler",
                // The init container's own image and pull policy win over the ProxyClass-wide ones.
                image: "ghcr.io/my-repo/tailscale:init",
                imagePullPolicy: "Always",
                securityContext: { privileged: false, capabilities: { add: ["NET_ADMIN"] } },
                resources: { requests: { cpu: "10m" } },
                env: [{ name: "INIT", value: "1" }],
              },
            ],
            containers: [
              {
                name: "tailscale",
                image: "ghcr.io/my-repo/tailscale:v0.01testsomething",
                imagePullPolicy: "IfNotPresent",
                securityContext: { privileged: true },
                resources: {
                  limits: { cpu: "1000m", memory: "128Mi" },
                  requests: { cpu: "500m", memory: "64Mi" },
                },
                env: [
                  { name: "TS_USERSPACE", value: "false" },
                  { name: "foo", value: "bar" },
                  { name: "TS_USERSPACE", value: "true" },
                  { name: "bar", value: "" },
                ],
              },
            ],
          },
        },
      },
    });
    assert.deepEqual(input, base(), "the input StatefulSet is not modified");
  });

  // The operator's cases (metrics only, debug only, both) plus the default of debug from metrics.
  const DEBUG_ENV = [
    { name: "TS_DEBUG_ADDR_PORT", value: "$(POD_IP):9001" },
    { name: "TS_TAILSCALED_EXTRA_ARGS", value: "--debug=$(TS_DEBUG_ADDR_PORT)" },
  ];
  const METRICS_ENV = [
    { name: "TS_LOCAL_ADDR_PORT", value: "$(POD_IP):9002" },
    { name: "TS_ENABLE_METRICS", value: "true" },
  ];
  const DEBUG_PORT = { name: "debug", containerPort: 9001, protocol: "TCP" };
  const METRICS_PORT = { name: "metrics", containerPort: 9002, protocol: "TCP" };
  const endpoints: { name: string; pc: ProxyClassInput; env: object[]; ports?: object[] }[] = [
    {
      name: "metrics, debug by default: debug then metrics",
      pc: { enableMetrics: true },
      env: [...DEBUG_ENV, ...METRICS_ENV],
      ports: [DEBUG_PORT, METRICS_PORT],
    },
    {
      name: "metrics only",
      pc: { enableMetrics: true, enableDebug: false },
      env: METRICS_ENV,
      ports: [METRICS_PORT],
    },
    { name: "debug only", pc: { enableDebug: true }, env: DEBUG_ENV, ports: [DEBUG_PORT] },
    {
      name: "both",
      pc: { enableMetrics: true, enableDebug: true },
      env: [...DEBUG_ENV, ...METRICS_ENV],
      ports: [DEBUG_PORT, METRICS_PORT],
    },
    { name: "neither", pc: { enableMetrics: false }, env: [] },
  ];
  for (const c of endpoints) {
    it(`debug and metrics endpoints: ${c.name}`, () => {
      const got = applyProxyClass(base(), c.pc, { proxyType: "ingress_service", userspace: false });
      const container = got.spec!.template.spec!.containers[0]!;
      assert.deepEqual(container.env, [{ name: "TS_USERSPACE", value: "false" }, ...c.env]);
      assert.deepEqual(container.ports, c.ports);
    });
  }

  const staging: {
    proxyType: "ingress_resource" | "ingress_service" | "proxygroup_ingress";
    want: boolean;
  }[] = [
    { proxyType: "ingress_resource", want: true },
    { proxyType: "proxygroup_ingress", want: true },
    { proxyType: "ingress_service", want: false },
  ];
  for (const c of staging) {
    it(`Let's Encrypt staging env for ${c.proxyType}: ${c.want}`, () => {
      const got = applyProxyClass(
        base(),
        { useLetsEncryptStagingEnvironment: true, enableMetrics: true, env: [{ name: "X", value: "1" }] },
        { proxyType: c.proxyType, userspace: false },
      );
      const names = got.spec!.template.spec!.containers[0]!.env!.map((e) => e.name);
      const want = [
        "TS_USERSPACE",
        "TS_DEBUG_ADDR_PORT",
        "TS_TAILSCALED_EXTRA_ARGS",
        "TS_LOCAL_ADDR_PORT",
        "TS_ENABLE_METRICS",
      ];
      if (c.want) want.push("TS_DEBUG_ACME_DIRECTORY_URL");
      want.push("X");
      assert.deepEqual(names, want);
    });
  }

  it("userspace: the init container is left alone; a ProxyClass cannot override the selector label", () => {
    const got = applyProxyClass(
      base(),
      { image: "repo/img:1", podLabels: { app: "evil" }, initContainer: { image: "repo/init:1" } },
      { proxyType: "ingress_resource", userspace: true },
    );
    assert.equal(got.spec!.template.spec!.initContainers![0]!.image, "tailscale/tailscale:stable");
    assert.equal(got.spec!.template.spec!.containers[0]!.image, "repo/img:1");
    assert.equal(got.spec!.template.metadata!.labels!.app, "1234");
  });

  it("no ProxyClass: an unchanged copy", () => {
    const input = base();
    const got = applyProxyClass(input, undefined, { proxyType: "ingress_service", userspace: false });
    assert.deepEqual(got, input);
    assert.notEqual(got, input);
  });

  it("firewallModeEnv", () => {
    assert.deepEqual(firewallModeEnv({ firewallMode: "auto" }), [
      { name: "TS_DEBUG_FIREWALL_MODE", value: "auto" },
    ]);
    assert.deepEqual(firewallModeEnv(undefined), []);
  });
});
