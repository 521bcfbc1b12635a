import assert from "node:assert/strict";
import { haIngressTeardown, haServiceTeardown, proxyGroupTeardown } from "../../../provider/plan/ha";

const PG = { name: "test-pg", namespace: "tailscale" };
// Selected by our labels, and by the operator's under which versions before the rename wrote them.
const secretsOf = (type: string) => ({
  apiVersion: "v1",
  kind: "Secret",
  namespace: "tailscale",
  labels: {
    "tailnet.pulumi.com/parent-resource-type": "proxygroup",
    "tailnet.pulumi.com/parent-resource": "test-pg",
    "tailnet.pulumi.com/secret-type": type,
    "app.kubernetes.io/managed-by": "pulumi-tailnet",
  },
  legacyLabels: {
    "tailscale.com/parent-resource-type": "proxygroup",
    "tailscale.com/parent-resource": "test-pg",
    "tailscale.com/secret-type": type,
    "app.kubernetes.io/managed-by": "pulumi-tailnet",
    "tailscale.com/managed": "true",
  },
});
const configSecrets = secretsOf("config");
const stateSecrets = secretsOf("state");
const mine = (sel: ReturnType<typeof secretsOf>, hash: string) => ({
  ...sel,
  labels: { ...sel.labels, "tailnet.pulumi.com/owner": hash },
  legacyLabels: { ...sel.legacyLabels, "tailnet.pulumi.com/owner": hash },
});
const configMap = {
  apiVersion: "v1",
  kind: "ConfigMap",
  namespace: "tailscale",
  name: "test-pg-ingress-config",
};

describe("ha/teardown", () => {
  it("L7: serve config → unadvertise → wait → release → cert RBAC and Secret (ours: certs outlive the advertisement, #15439)", () => {
    assert.deepEqual(
      haIngressTeardown({
        proxyGroup: PG,
        serviceName: "svc:web",
        ownerId: "proj/dev/web",
        clusterId: "c1",
        dnsName: "web.tailxyz.ts.net",
      }),
      [
        {
          step: "removeServeConfigEntry",
          description: "remove svc:web from tailscale/test-pg-ingress-config serve-config.json",
          configMap,
          key: "serve-config.json",
          serviceName: "svc:web",
        },
        {
          step: "unadvertise",
          description: "stop advertising svc:web on every replica of ProxyGroup tailscale/test-pg",
          configSecrets,
          key: "cap-106.hujson",
          serviceName: "svc:web",
        },
        {
          step: "waitUnadvertised",
          description:
            "wait until every replica of ProxyGroup tailscale/test-pg reports svc:web unadvertised",
          stateSecrets,
          serviceName: "svc:web",
        },
        {
          step: "releaseTailscaleService",
          description:
            "delete Tailscale Service svc:web, or remove this stack from its owners if others share it",
          serviceName: "svc:web",
          ownerId: "proj/dev/web",
          clusterId: "c1",
        },
        {
          step: "deleteObjects",
          description: "delete the certificate of web.tailxyz.ts.net and its RBAC",
          objects: [
            {
              apiVersion: "rbac.authorization.k8s.io/v1",
              kind: "RoleBinding",
              namespace: "tailscale",
              name: "web.tailxyz.ts.net",
            },
            {
              apiVersion: "rbac.authorization.k8s.io/v1",
              kind: "Role",
              namespace: "tailscale",
              name: "web.tailxyz.ts.net",
            },
            { apiVersion: "v1", kind: "Secret", namespace: "tailscale", name: "web.tailxyz.ts.net" },
          ],
        },
      ],
    );
  });

  it("L7 leaving a ProxyGroup without releasing (move or rename) stops after the wait", () => {
    const steps = haIngressTeardown({
      proxyGroup: PG,
      serviceName: "svc:web",
      ownerId: "proj/dev/web",
      release: false,
    });
    assert.deepEqual(
      steps.map((s) => s.step),
      ["removeServeConfigEntry", "unadvertise", "waitUnadvertised"],
    );
  });

  it("L7 without a known domain has no cert objects to delete (they are only created once it is known)", () => {
    const steps = haIngressTeardown({ proxyGroup: PG, serviceName: "svc:web", ownerId: "proj/dev/web" });
    assert.deepEqual(
      steps.map((s) => s.step),
      ["removeServeConfigEntry", "unadvertise", "waitUnadvertised", "releaseTailscaleService"],
    );
  });

  it("L7 never deletes by owner label (a create-before-delete replacement shares the owner)", () => {
    const steps = haIngressTeardown({
      proxyGroup: PG,
      serviceName: "svc:old",
      ownerId: "proj/dev/web",
      dnsName: "old.ts.net",
    });
    assert.equal(JSON.stringify(steps).includes("tailnet.pulumi.com/owner"), false);
  });

  it("L3: unadvertise → wait → DNAT entry → wait rules gone → release (ours: the operator deletes the service first)", () => {
    assert.deepEqual(haServiceTeardown({ proxyGroup: PG, serviceName: "svc:db", ownerId: "proj/dev/db" }), [
      {
        step: "unadvertise",
        description: "stop advertising svc:db on every replica of ProxyGroup tailscale/test-pg",
        configSecrets,
        key: "cap-106.hujson",
        serviceName: "svc:db",
      },
      {
        step: "waitUnadvertised",
        description: "wait until every replica of ProxyGroup tailscale/test-pg reports svc:db unadvertised",
        stateSecrets,
        serviceName: "svc:db",
      },
      {
        step: "removeIngressConfigEntry",
        description: "remove svc:db from tailscale/test-pg-ingress-config ingress-config.json",
        configMap,
        key: "ingress-config.json",
        serviceName: "svc:db",
      },
      {
        step: "waitRulesRemoved",
        description:
          "wait until every replica of ProxyGroup tailscale/test-pg removed its DNAT rules for svc:db",
        stateSecrets,
        serviceName: "svc:db",
      },
      {
        step: "releaseTailscaleService",
        description:
          "delete Tailscale Service svc:db, or remove this stack from its owners if others share it",
        serviceName: "svc:db",
        ownerId: "proj/dev/db",
        clusterId: undefined,
      },
    ]);
    assert.equal(
      haServiceTeardown({ proxyGroup: PG, serviceName: "svc:db", ownerId: "o", release: false }).some(
        (s) => s.step === "releaseTailscaleService",
      ),
      false,
    );
  });

  it("ProxyGroup: StatefulSet, pods gone, devices, this owner's Secrets, each replica's NodePort Service, then PodDisruptionBudget, ConfigMap and RBAC (ours: no ownerRef GC)", () => {
    const pgHash = "795b39f530041e9c791a";
    const steps = proxyGroupTeardown(PG, "proj/dev/pg", undefined, 2);
    assert.deepEqual(steps, [
      {
        step: "deleteObjects",
        description: "delete StatefulSet tailscale/test-pg",
        objects: [{ apiVersion: "apps/v1", kind: "StatefulSet", namespace: "tailscale", name: "test-pg" }],
      },
      {
        step: "waitPodsGone",
        description: "wait for the pods of ProxyGroup tailscale/test-pg to terminate",
        pods: {
          apiVersion: "v1",
          kind: "Pod",
          namespace: "tailscale",
          labels: {
            "tailnet.pulumi.com/parent-resource-type": "proxygroup",
            "tailnet.pulumi.com/parent-resource": "test-pg",
          },
          legacyLabels: {
            "tailscale.com/parent-resource-type": "proxygroup",
            "tailscale.com/parent-resource": "test-pg",
            "tailscale.com/managed": "true",
          },
        },
      },
      {
        step: "deleteDevices",
        description: "delete the tailnet devices of ProxyGroup tailscale/test-pg",
        stateSecrets,
      },
      {
        step: "deleteSelected",
        description: "delete the config and state Secrets of ProxyGroup tailscale/test-pg",
        selections: [mine(stateSecrets, pgHash), mine(configSecrets, pgHash)],
      },
      {
        step: "deleteObjects",
        description: "delete the NodePort Services of static endpoints of ProxyGroup tailscale/test-pg",
        objects: [0, 1].map((i) => ({
          apiVersion: "v1",
          kind: "Service",
          namespace: "tailscale",
          name: `test-pg-${i}-nodeport`,
        })),
      },
      {
        step: "deleteObjects",
        description: "delete the PodDisruptionBudget, ConfigMap and RBAC of ProxyGroup tailscale/test-pg",
        objects: [
          { apiVersion: "policy/v1", kind: "PodDisruptionBudget", namespace: "tailscale", name: "test-pg" },
          configMap,
          {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "RoleBinding",
            namespace: "tailscale",
            name: "test-pg",
          },
          {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "Role",
            namespace: "tailscale",
            name: "test-pg",
          },
          { apiVersion: "v1", kind: "ServiceAccount", namespace: "tailscale", name: "test-pg" },
        ],
      },
    ]);
  });
});
