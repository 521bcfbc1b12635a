import assert from "node:assert/strict";
import type { V1StatefulSet } from "@kubernetes/client-node";
import {
  decideAuthKey,
  planProxyGroup,
  planProxyGroupScale,
  proxyGroupObjects,
  replicaRefs,
} from "../../../provider/plan/ha";
import type { ProxyGroupInput } from "../../../provider/plan/inputs";

const OWNER = "proj/dev/pg";
/** ownerHash("proj/dev/pg"): first 20 hex digits of its SHA-256. */
const OWNER_HASH = "795b39f530041e9c791a";

const pgInput = (over: Partial<ProxyGroupInput> = {}): ProxyGroupInput => ({
  ownerId: OWNER,
  name: "ingress-pg",
  namespace: "tailscale",
  type: "ingress",
  ...over,
});

const noCtx = { authKeys: {}, existingAdvertiseServices: {} };

function labels(pg: string, extra: Record<string, string> = {}) {
  return {
    "tailnet.pulumi.com/parent-resource-type": "proxygroup",
    "tailnet.pulumi.com/parent-resource": pg,
    ...extra,
    "app.kubernetes.io/managed-by": "pulumi-tailnet",
    "tailnet.pulumi.com/owner": OWNER_HASH,
  };
}
const annotations = { "tailnet.pulumi.com/owner-id": OWNER };

function tailscaleContainer(sts: V1StatefulSet) {
  return sts.spec!.template.spec!.containers.find((c) => c.name === "tailscale")!;
}
function envNames(sts: V1StatefulSet): string[] {
  return (tailscaleContainer(sts).env ?? []).map((e) => e.name);
}
function envValue(sts: V1StatefulSet, name: string): string | undefined {
  return tailscaleContainer(sts).env?.find((e) => e.name === name)?.value;
}

describe("ha/proxygroup: planProxyGroup", () => {
  it("builds every object of a default 2-replica ingress ProxyGroup (ours: owner labels/annotation, no ownerReferences)", () => {
    const plan = planProxyGroup(pgInput(), {
      authKeys: { 0: "tskey-auth-fake0", 1: "tskey-auth-fake1" },
      controlUrl: "https://controlplane.tailscale.com",
      existingAdvertiseServices: {},
    });
    assert.equal(plan.replicas, 2);
    assert.deepEqual(plan.tags, ["tag:k8s"]);
    assert.deepEqual(plan.hostnames, ["ingress-pg-0", "ingress-pg-1"]);

    assert.deepEqual(plan.configSecrets, [
      {
        apiVersion: "v1",
        kind: "Secret",
        metadata: {
          name: "ingress-pg-0-config",
          namespace: "tailscale",
          labels: labels("ingress-pg", { "tailnet.pulumi.com/secret-type": "config" }),
          annotations,
        },
        type: "Opaque",
        stringData: {
          "cap-106.hujson":
            '{"Version":"alpha0","Locked":false,"ServerURL":"https://controlplane.tailscale.com","AuthKey":"tskey-auth-fake0","Hostname":"ingress-pg-0","acceptDNS":false,"acceptRoutes":false}',
        },
      },
      {
        apiVersion: "v1",
        kind: "Secret",
        metadata: {
          name: "ingress-pg-1-config",
          namespace: "tailscale",
          labels: labels("ingress-pg", { "tailnet.pulumi.com/secret-type": "config" }),
          annotations,
        },
        type: "Opaque",
        stringData: {
          "cap-106.hujson":
            '{"Version":"alpha0","Locked":false,"ServerURL":"https://controlplane.tailscale.com","AuthKey":"tskey-auth-fake1","Hostname":"ingress-pg-1","acceptDNS":false,"acceptRoutes":false}',
        },
      },
    ]);
    assert.deepEqual(plan.stateSecrets, [
      {
        apiVersion: "v1",
        kind: "Secret",
        metadata: {
          name: "ingress-pg-0",
          namespace: "tailscale",
          labels: labels("ingress-pg", { "tailnet.pulumi.com/secret-type": "state" }),
          annotations,
        },
        type: "Opaque",
      },
      {
        apiVersion: "v1",
        kind: "Secret",
        metadata: {
          name: "ingress-pg-1",
          namespace: "tailscale",
          labels: labels("ingress-pg", { "tailnet.pulumi.com/secret-type": "state" }),
          annotations,
        },
        type: "Opaque",
      },
    ]);
    assert.deepEqual(plan.serviceAccount, {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "ingress-pg", namespace: "tailscale", labels: labels("ingress-pg"), annotations },
    });
    assert.deepEqual(plan.role, {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "ingress-pg", namespace: "tailscale", labels: labels("ingress-pg"), annotations },
      rules: [
        { apiGroups: [""], resources: ["secrets"], verbs: ["list"] },
        {
          apiGroups: [""],
          resources: ["secrets"],
          verbs: ["get", "patch", "update"],
          resourceNames: ["ingress-pg-0-config", "ingress-pg-0", "ingress-pg-1-config", "ingress-pg-1"],
        },
        { apiGroups: [""], resources: ["events"], verbs: ["create", "patch", "get"] },
      ],
    });
    assert.deepEqual(plan.roleBinding, {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "ingress-pg", namespace: "tailscale", labels: labels("ingress-pg"), annotations },
      subjects: [{ kind: "ServiceAccount", name: "ingress-pg", namespace: "tailscale" }],
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "ingress-pg" },
    });
    assert.deepEqual(plan.configMap, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: "ingress-pg-ingress-config",
        namespace: "tailscale",
        labels: labels("ingress-pg"),
        annotations,
      },
    });
    assert.deepEqual(plan.statefulSet, {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: "ingress-pg", namespace: "tailscale", labels: labels("ingress-pg"), annotations },
      spec: {
        replicas: 2,
        selector: {
          matchLabels: {
            "tailnet.pulumi.com/parent-resource-type": "proxygroup",
            "tailnet.pulumi.com/parent-resource": "ingress-pg",
          },
        },
        template: {
          metadata: { labels: labels("ingress-pg") },
          spec: {
            serviceAccountName: "ingress-pg",
            initContainers: [
              {
                name: "sysctler",
                image: "tailscale/tailscale:stable",
                securityContext: { privileged: true },
                command: ["/bin/sh", "-c"],
                args: [
                  "echo 1 > /proc/sys/net/ipv4/ip_forward && if [ -e /proc/sys/net/ipv6/conf/all/forwarding ]; then echo 1 > /proc/sys/net/ipv6/conf/all/forwarding; fi",
                ],
              },
            ],
            containers: [
              {
                name: "tailscale",
                image: "tailscale/tailscale:stable",
                imagePullPolicy: "Always",
                securityContext: { privileged: true },
                resources: { requests: { cpu: "1m", memory: "1Mi" } },
                env: [
                  { name: "TS_USERSPACE", value: "false" },
                  { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
                  { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                  { name: "POD_UID", valueFrom: { fieldRef: { fieldPath: "metadata.uid" } } },
                  { name: "POD_IPS", valueFrom: { fieldRef: { fieldPath: "status.podIPs" } } },
                  { name: "TS_KUBE_SECRET", value: "$(POD_NAME)" },
                  { name: "TS_EXPERIMENTAL_SERVICE_AUTO_ADVERTISEMENT", value: "false" },
                  { name: "TS_STATE", value: "kube:$(POD_NAME)" },
                  { name: "TS_EXPERIMENTAL_VERSIONED_CONFIG_DIR", value: "/etc/tsconfig/$(POD_NAME)" },
                  { name: "TS_INTERNAL_APP", value: "k8s-operator-proxygroup-ingress" },
                  { name: "TS_INGRESS_PROXIES_CONFIG_PATH", value: "/etc/proxies/ingress-config.json" },
                  { name: "TS_SERVE_CONFIG", value: "/etc/proxies/serve-config.json" },
                  { name: "TS_EXPERIMENTAL_CERT_SHARE", value: "true" },
                  { name: "TS_DEBUG_ACME_FORCE_RENEWAL", value: "true" },
                  // Ours, for the readiness probe.
                  { name: "TS_ENABLE_HEALTH_CHECK", value: "true" },
                ],
                volumeMounts: [
                  { name: "tailscaledconfig-0", mountPath: "/etc/tsconfig/ingress-pg-0", readOnly: true },
                  { name: "tailscaledconfig-1", mountPath: "/etc/tsconfig/ingress-pg-1", readOnly: true },
                  { name: "ingress-pg-ingress-config", mountPath: "/etc/proxies", readOnly: true },
                ],
                readinessProbe: { httpGet: { path: "/healthz", port: 9002 }, periodSeconds: 5 },
              },
            ],
            volumes: [
              { name: "tailscaledconfig-0", secret: { secretName: "ingress-pg-0-config" } },
              { name: "tailscaledconfig-1", secret: { secretName: "ingress-pg-1-config" } },
              { name: "ingress-pg-ingress-config", configMap: { name: "ingress-pg-ingress-config" } },
            ],
            topologySpreadConstraints: [
              {
                maxSkew: 1,
                topologyKey: "kubernetes.io/hostname",
                whenUnsatisfiable: "DoNotSchedule",
                nodeTaintsPolicy: "Honor",
                labelSelector: {
                  matchLabels: {
                    "tailnet.pulumi.com/parent-resource-type": "proxygroup",
                    "tailnet.pulumi.com/parent-resource": "ingress-pg",
                  },
                },
              },
            ],
          },
        },
        podManagementPolicy: "OrderedReady",
        updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 0 } },
      },
    });
    assert.deepEqual(plan.podDisruptionBudget, {
      apiVersion: "policy/v1",
      kind: "PodDisruptionBudget",
      metadata: { name: "ingress-pg", namespace: "tailscale", labels: labels("ingress-pg"), annotations },
      spec: {
        maxUnavailable: 1,
        selector: {
          matchLabels: {
            "tailnet.pulumi.com/parent-resource-type": "proxygroup",
            "tailnet.pulumi.com/parent-resource": "ingress-pg",
          },
        },
        unhealthyPodEvictionPolicy: "AlwaysAllow",
      },
    });
  });

  it("lists objects in the operator's create order", () => {
    const plan = planProxyGroup(pgInput(), noCtx);
    assert.deepEqual(
      proxyGroupObjects(plan).map((o) => `${o.kind}/${o.metadata!.name}`),
      [
        "Secret/ingress-pg-0-config",
        "Secret/ingress-pg-1-config",
        "Secret/ingress-pg-0",
        "Secret/ingress-pg-1",
        "ServiceAccount/ingress-pg",
        "Role/ingress-pg",
        "RoleBinding/ingress-pg",
        "ConfigMap/ingress-pg-ingress-config",
        "PodDisruptionBudget/ingress-pg",
        "StatefulSet/ingress-pg",
      ],
    );
  });

  it("a PodDisruptionBudget from 2 replicas on, the same whatever the count (none for 0 or 1: it would block drains)", () => {
    const cases: [number, boolean][] = [
      [0, false],
      [1, false],
      [2, true],
      [3, true],
      [10, true],
    ];
    const two = planProxyGroup(pgInput({ replicas: 2 }), noCtx).podDisruptionBudget;
    for (const [replicas, has] of cases) {
      const plan = planProxyGroup(pgInput({ replicas }), noCtx);
      assert.deepEqual(plan.podDisruptionBudget, has ? two : undefined, `${replicas} replicas`);
      assert.equal(
        proxyGroupObjects(plan).some((o) => o.kind === "PodDisruptionBudget"),
        has,
        `${replicas} replicas: in the planned objects`,
      );
    }
  });

  it("rollout, readiness and spread are the same for every replica count", () => {
    const shape = (replicas: number) => {
      const sts = planProxyGroup(pgInput({ replicas }), noCtx).statefulSet;
      return {
        rollout: [sts.spec!.podManagementPolicy, sts.spec!.updateStrategy],
        probe: tailscaleContainer(sts).readinessProbe,
        spread: sts.spec!.template.spec!.topologySpreadConstraints,
      };
    };
    for (const replicas of [0, 1, 3]) assert.deepEqual(shape(replicas), shape(2), `${replicas} replicas`);
  });

  it("a ProxyClass topologySpreadConstraints replaces the default spread; no labelSelector means the group's Pods; [] removes it", () => {
    const spread = (pc: ProxyGroupInput["proxyClass"]) =>
      planProxyGroup(pgInput({ proxyClass: pc }), noCtx).statefulSet.spec!.template.spec!
        .topologySpreadConstraints;
    const own = {
      matchLabels: {
        "tailnet.pulumi.com/parent-resource-type": "proxygroup",
        "tailnet.pulumi.com/parent-resource": "ingress-pg",
      },
    };
    const cases: [string, ProxyGroupInput["proxyClass"], unknown][] = [
      [
        "zone, soft, selector filled in",
        {
          topologySpreadConstraints: [
            { maxSkew: 2, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway" },
          ],
        },
        [
          {
            maxSkew: 2,
            topologyKey: "topology.kubernetes.io/zone",
            whenUnsatisfiable: "ScheduleAnyway",
            labelSelector: own,
          },
        ],
      ],
      [
        "a selector of the user's kept as given",
        {
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: "kubernetes.io/hostname",
              whenUnsatisfiable: "DoNotSchedule",
              labelSelector: { matchLabels: { app: "edge" } },
              minDomains: 2,
            },
          ],
        },
        [
          {
            maxSkew: 1,
            topologyKey: "kubernetes.io/hostname",
            whenUnsatisfiable: "DoNotSchedule",
            labelSelector: { matchLabels: { app: "edge" } },
            minDomains: 2,
          },
        ],
      ],
      ["an empty list: no constraint", { topologySpreadConstraints: [] }, []],
      ["another field only: the default", { podLabels: { team: "net" } }, spread(undefined)],
    ];
    for (const [name, pc, want] of cases) assert.deepEqual(spread(pc), want, name);
  });

  it("every object validates against the Kubernetes schema (kubernetes-models)", async () => {
    const plan = planProxyGroup(pgInput({ replicas: 3 }), noCtx);
    // kubernetes-models is ESM with types our CommonJS resolution can't see; validate() throws on a schema error.
    const load = async (spec: string, name: string) => ((await import(spec)) as Record<string, any>)[name];
    const StatefulSet = await load("kubernetes-models/apps/v1/StatefulSet", "StatefulSet");
    const Secret = await load("kubernetes-models/v1/Secret", "Secret");
    const ServiceAccount = await load("kubernetes-models/v1/ServiceAccount", "ServiceAccount");
    const ConfigMap = await load("kubernetes-models/v1/ConfigMap", "ConfigMap");
    const Role = await load("kubernetes-models/rbac.authorization.k8s.io/v1/Role", "Role");
    const RoleBinding = await load(
      "kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding",
      "RoleBinding",
    );
    new StatefulSet(plan.statefulSet).validate();
    for (const s of [...plan.configSecrets, ...plan.stateSecrets]) new Secret(s).validate();
    new ServiceAccount(plan.serviceAccount).validate();
    new ConfigMap(plan.configMap).validate();
    new Role(plan.role).validate();
    new RoleBinding(plan.roleBinding).validate();
    const PodDisruptionBudget = await load(
      "kubernetes-models/policy/v1/PodDisruptionBudget",
      "PodDisruptionBudget",
    );
    new PodDisruptionBudget(plan.podDisruptionBudget).validate();
    // The check is real: a StatefulSet without a selector is rejected.
    assert.throws(() =>
      new StatefulSet({
        ...plan.statefulSet,
        spec: { ...plan.statefulSet.spec, selector: undefined },
      }).validate(),
    );
  });

  it("TestProxyGroupTypes/ingress_type: replicas 0 with a shared ACME account", () => {
    const plan = planProxyGroup(
      pgInput({ name: "test-ingress", replicas: 0, shareAcmeAccount: true }),
      noCtx,
    );
    const sts = plan.statefulSet;
    assert.equal(envValue(sts, "TS_INTERNAL_APP"), "k8s-operator-proxygroup-ingress");
    assert.equal(envValue(sts, "TS_SERVE_CONFIG"), "/etc/proxies/serve-config.json");
    assert.equal(envValue(sts, "TS_EXPERIMENTAL_CERT_SHARE"), "true");
    assert.equal(envValue(sts, "TS_ACME_ACCOUNT_SECRET_NAME"), "tailscale-acme-accounts");
    assert.equal(envValue(sts, "TS_ACME_ACCOUNT_FIELD"), "_default.acme-account.key.pem");
    assert.equal(envNames(sts).includes("TS_DEBUG_ACME_FORCE_RENEWAL"), false);
    assert.deepEqual(sts.spec!.template.spec!.volumes, [
      { name: "test-ingress-ingress-config", configMap: { name: "test-ingress-ingress-config" } },
    ]);
    assert.deepEqual(tailscaleContainer(sts).volumeMounts, [
      { name: "test-ingress-ingress-config", mountPath: "/etc/proxies", readOnly: true },
    ]);
    assert.deepEqual(plan.role.rules![1], {
      apiGroups: [""],
      resources: ["secrets"],
      verbs: ["get", "patch", "update"],
      resourceNames: ["tailscale-acme-accounts"],
    });
    assert.deepEqual(plan.configSecrets, []);
    assert.deepEqual(plan.stateSecrets, []);
  });

  it("ingress_type_shared_acme_opt_out: no ACME env, force renewal, Role does not mention the ACME Secret", () => {
    const plan = planProxyGroup(pgInput({ name: "test-ingress", replicas: 1 }), noCtx);
    const names = envNames(plan.statefulSet);
    assert.equal(names.includes("TS_ACME_ACCOUNT_SECRET_NAME"), false);
    assert.equal(names.includes("TS_ACME_ACCOUNT_FIELD"), false);
    assert.equal(envValue(plan.statefulSet, "TS_DEBUG_ACME_FORCE_RENEWAL"), "true");
    assert.equal(JSON.stringify(plan.role).includes("tailscale-acme-accounts"), false);
  });

  it("replicas 0 without ACME sharing: no empty-resourceNames rule (ours: the operator's grants every Secret)", () => {
    const plan = planProxyGroup(pgInput({ replicas: 0 }), noCtx);
    assert.deepEqual(plan.role.rules, [
      { apiGroups: [""], resources: ["secrets"], verbs: ["list"] },
      { apiGroups: [""], resources: ["events"], verbs: ["create", "patch", "get"] },
    ]);
  });

  it("TestIngressAdvertiseServicesConfigPreserved: AdvertiseServices kept, no AuthKey, exact bytes", () => {
    const plan = planProxyGroup(pgInput({ name: "test-ingress", replicas: 1 }), {
      authKeys: {},
      existingAdvertiseServices: { 0: ["svc1", "svc2"] },
    });
    assert.equal(
      plan.configSecrets[0]!.stringData!["cap-106.hujson"],
      '{"Version":"alpha0","Locked":false,"Hostname":"test-ingress-0","acceptDNS":false,"acceptRoutes":false,"AdvertiseServices":["svc1","svc2"]}',
    );
  });

  it("hostnamePrefix names the devices; tags default only when empty; acceptRoutes from the ProxyClass", () => {
    const plan = planProxyGroup(
      pgInput({ hostnamePrefix: "edge", tags: [], proxyClass: { acceptRoutes: true } }),
      noCtx,
    );
    assert.deepEqual(plan.hostnames, ["edge-0", "edge-1"]);
    assert.deepEqual(plan.tags, ["tag:k8s"]);
    assert.equal(
      plan.configSecrets[1]!.stringData!["cap-106.hujson"],
      '{"Version":"alpha0","Locked":false,"Hostname":"edge-1","acceptDNS":false,"acceptRoutes":true}',
    );
    assert.deepEqual(planProxyGroup(pgInput({ tags: ["tag:a", "tag:b"] }), noCtx).tags, ["tag:a", "tag:b"]);
  });

  it("TestProxyGroupLetsEncryptStaging: TS_DEBUG_ACME_DIRECTORY_URL iff useLetsEncryptStagingEnvironment", () => {
    const cases: [string, boolean | undefined, boolean][] = [
      ["le-staging", true, true],
      ["le-staging-false", false, false],
      ["none", undefined, false],
    ];
    for (const [name, flag, want] of cases) {
      const pc = flag === undefined ? undefined : { useLetsEncryptStagingEnvironment: flag };
      const sts = planProxyGroup(pgInput({ replicas: 1, proxyClass: pc }), noCtx).statefulSet;
      assert.equal(
        envValue(sts, "TS_DEBUG_ACME_DIRECTORY_URL"),
        want ? "https://acme-staging-v02.api.letsencrypt.org/directory" : undefined,
        name,
      );
    }
  });

  it("ProxyClass: firewall mode in the operator's slot, metrics/debug, image on both containers, extra env last", () => {
    const sts = planProxyGroup(
      pgInput({
        replicas: 1,
        proxyClass: {
          firewallMode: "nftables",
          enableMetrics: true,
          image: "tailscale/tailscale:v1.84.0",
          env: [{ name: "EXTRA", value: "1" }],
          statefulSetLabels: { team: "net" },
        },
      }),
      noCtx,
    ).statefulSet;
    assert.deepEqual(envNames(sts), [
      "TS_USERSPACE",
      "POD_IP",
      "POD_NAME",
      "POD_UID",
      "POD_IPS",
      "TS_KUBE_SECRET",
      "TS_EXPERIMENTAL_SERVICE_AUTO_ADVERTISEMENT",
      "TS_STATE",
      "TS_EXPERIMENTAL_VERSIONED_CONFIG_DIR",
      "TS_DEBUG_FIREWALL_MODE",
      "TS_INTERNAL_APP",
      "TS_INGRESS_PROXIES_CONFIG_PATH",
      "TS_SERVE_CONFIG",
      "TS_EXPERIMENTAL_CERT_SHARE",
      "TS_DEBUG_ACME_FORCE_RENEWAL",
      "TS_ENABLE_HEALTH_CHECK",
      "TS_DEBUG_ADDR_PORT",
      "TS_TAILSCALED_EXTRA_ARGS",
      "TS_LOCAL_ADDR_PORT",
      "TS_ENABLE_METRICS",
      "EXTRA",
    ]);
    assert.equal(envValue(sts, "TS_DEBUG_FIREWALL_MODE"), "nftables");
    assert.equal(tailscaleContainer(sts).image, "tailscale/tailscale:v1.84.0");
    assert.equal(sts.spec!.template.spec!.initContainers![0]!.image, "tailscale/tailscale:v1.84.0");
    // ProxyClass labels are merged; the selector and ownership labels survive.
    assert.deepEqual(sts.metadata!.labels, { team: "net", ...labels("ingress-pg") });
  });
});

describe("ha/proxygroup: scaling", () => {
  it("TestProxyGroup 2 → 3 → 1: ordinals to create and delete", () => {
    assert.deepEqual(planProxyGroupScale(2, 3), { create: [2], delete: [] });
    assert.deepEqual(planProxyGroupScale(3, 1), { create: [], delete: [1, 2] });
    assert.deepEqual(planProxyGroupScale(2, 2), { create: [], delete: [] });
    assert.deepEqual(planProxyGroupScale(0, 2), { create: [0, 1], delete: [] });
  });

  it("replicaRefs names a replica's pod and Secrets", () => {
    assert.deepEqual(replicaRefs("test", "tailscale", 2), {
      ordinal: 2,
      pod: "test-2",
      stateSecret: { apiVersion: "v1", kind: "Secret", namespace: "tailscale", name: "test-2" },
      configSecret: { apiVersion: "v1", kind: "Secret", namespace: "tailscale", name: "test-2-config" },
    });
  });

  it("scaling changes volumes, mounts and Role resourceNames together", () => {
    const three = planProxyGroup(pgInput({ name: "test", replicas: 3 }), noCtx);
    assert.deepEqual(
      three.statefulSet.spec!.template.spec!.volumes!.map((v) => v.name),
      ["tailscaledconfig-0", "tailscaledconfig-1", "tailscaledconfig-2", "test-ingress-config"],
    );
    assert.deepEqual(three.role.rules![1]!.resourceNames, [
      "test-0-config",
      "test-0",
      "test-1-config",
      "test-1",
      "test-2-config",
      "test-2",
    ]);
  });
});

describe("ha/proxygroup: TestProxyGroupGetAuthKey decisions", () => {
  const cases: [string, Parameters<typeof decideAuthKey>[0], ReturnType<typeof decideAuthKey>][] = [
    ["no_secrets_needs_new", { configExists: false }, { action: "mint" }],
    ["no_config_secret_state_authed_ok", { configExists: false, deviceId: "nodeid-0" }, { action: "mint" }],
    [
      "config_secret_without_key_state_authed_with_reissue_needs_new",
      { configExists: true, deviceId: "nodeid-0", reissueAuthKey: "" },
      { action: "mint", deleteDeviceId: "nodeid-0" },
    ],
    [
      "config_secret_with_key_state_with_reissue_stale_ok",
      { configExists: true, configAuthKey: "existing-auth-key", reissueAuthKey: "some-older-authkey" },
      { action: "keep", authKey: "existing-auth-key" },
    ],
    [
      "config_secret_with_key_state_with_reissue_existing_key_needs_new",
      {
        configExists: true,
        configAuthKey: "existing-auth-key",
        deviceId: "nodeid-0",
        reissueAuthKey: "existing-auth-key",
      },
      { action: "mint", deleteDeviceId: "nodeid-0" },
    ],
    ["config_secret_without_key_no_state_ok", { configExists: true }, { action: "omit" }],
    [
      "config_secret_without_key_state_authed_ok",
      { configExists: true, deviceId: "nodeid-0" },
      { action: "omit" },
    ],
    [
      "config_secret_with_key_state_authed_ok",
      { configExists: true, configAuthKey: "existing-auth-key", deviceId: "nodeid-0" },
      { action: "omit" },
    ],
    [
      "config_secret_with_key_no_state_keeps_existing",
      { configExists: true, configAuthKey: "existing-auth-key" },
      { action: "keep", authKey: "existing-auth-key" },
    ],
    [
      "reissue requested before any device exists: mint without deleting a device (ours: no Delete with an empty ID)",
      { configExists: true, reissueAuthKey: "" },
      { action: "mint" },
    ],
    [
      "device deleted out of band, config without key: mint, nothing to delete (ours: replica repair)",
      { configExists: true, deviceId: "nodeid-0", deviceGone: true },
      { action: "mint" },
    ],
  ];
  for (const [name, facts, want] of cases) {
    it(name, () => assert.deepEqual(decideAuthKey(facts), want));
  }
});
