// The product's Pod Security pre-check (provider/plan/podSecurity.ts) agrees with the local API server's
// admission (tests/support/kube-api/podsecurity.ts, the real plugin's checks) on every proxy template the
// planners make, with and without ProxyClass security settings, at every level: a template the pre-check
// passes is admitted, one it refuses is refused.
import assert from "node:assert/strict";
import type { V1PodTemplateSpec } from "@kubernetes/client-node";
import type { BackendServiceFacts } from "../../provider/plan/backends";
import { planProxyGroup } from "../../provider/plan/ha/proxygroup";
import type { ProxyClassInput } from "../../provider/plan/inputs";
import {
  enforcedPodSecurity,
  type PodSecurityLevel,
  podSecurityRefusal,
  podSecurityViolations,
} from "../../provider/plan/podSecurity";
import { planStandaloneIngress, planStandaloneService } from "../../provider/plan/standalone";
import { evaluatePod } from "../support/kube-api/podsecurity";

const svc: BackendServiceFacts = {
  namespace: "apps",
  name: "web",
  type: "ClusterIP",
  clusterIP: "10.96.0.20",
  clusterIPs: ["10.96.0.20"],
  ports: [{ name: "http", port: 80, protocol: "TCP" }],
};

const PROXY_CLASSES: Record<string, ProxyClassInput | undefined> = {
  none: undefined,
  "root user": { securityContext: { runAsUser: 0 } },
  "NET_ADMIN only": { securityContext: { capabilities: { add: ["NET_ADMIN"] } } },
  "restricted, set by the user": {
    securityContext: {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
      runAsNonRoot: true,
      runAsUser: 1000,
    },
    podSecurityContext: { seccompProfile: { type: "RuntimeDefault" } },
  },
  "unconfined seccomp": { podSecurityContext: { seccompProfile: { type: "Unconfined" } } },
  "forbidden sysctl": { podSecurityContext: { sysctls: [{ name: "net.ipv4.ip_forward", value: "1" }] } },
  "allowed sysctl": {
    podSecurityContext: { sysctls: [{ name: "net.ipv4.ping_group_range", value: "0 1" }] },
  },
  "runAsNonRoot false on the pod": { podSecurityContext: { runAsNonRoot: false } },
  "SELinux user": { podSecurityContext: { seLinuxOptions: { user: "root" } } },
  "unconfined AppArmor": { securityContext: { appArmorProfile: { type: "Unconfined" } } },
  privileged: { securityContext: { privileged: true } },
  "AppArmor annotation": {
    podAnnotations: { "container.apparmor.security.beta.kubernetes.io/tailscale": "unconfined" },
  },
  "seccomp annotation": { podAnnotations: { "seccomp.security.alpha.kubernetes.io/pod": "unconfined" } },
  // The init container (layer 3 and ProxyGroups only) is checked as any container is.
  "unprivileged containers, NET_ADMIN init container": {
    securityContext: { privileged: false, capabilities: { add: ["NET_ADMIN"] } },
    initContainer: { securityContext: { privileged: false, capabilities: { add: ["NET_ADMIN"] } } },
  },
  "unprivileged containers, baseline init container": {
    securityContext: { privileged: false },
    initContainer: { securityContext: { privileged: false, capabilities: { drop: ["ALL"] } } },
  },
  "debug and metrics ports (no host port), nodeName, DNS": {
    enableMetrics: true,
    enableDebug: true,
    nodeName: "node-a",
    dnsPolicy: "None",
    dnsConfig: { nameservers: ["1.1.1.1"] },
  },
};

function templates(): Array<[string, V1PodTemplateSpec]> {
  const out: Array<[string, V1PodTemplateSpec]> = [];
  for (const [pcName, proxyClass] of Object.entries(PROXY_CLASSES)) {
    const l3 = planStandaloneService(
      { ownerId: "p/s/db", service: { namespace: "apps", name: "web" }, proxyClass },
      svc,
      {},
    );
    const l7 = planStandaloneIngress(
      {
        ownerId: "p/s/web",
        hostname: "web",
        defaultBackend: { service: { namespace: "apps", name: "web" }, port: "http" },
        proxyClass,
      },
      new Map([["apps/web", svc]]),
      {},
    );
    const pg = planProxyGroup(
      { ownerId: "p/s/pg", name: "pg", namespace: "apps", type: "ingress", proxyClass } as any,
      { authKeys: {}, existingAdvertiseServices: {} },
    );
    out.push([`L3 / ${pcName}`, l3.statefulSet.spec!.template]);
    out.push([`L7 / ${pcName}`, l7.statefulSet.spec!.template]);
    out.push([`ProxyGroup / ${pcName}`, pg.statefulSet.spec!.template]);
  }
  return out;
}

describe("Pod Security pre-check", () => {
  it("agrees with the admission plugin's checks on every proxy template, at every level", () => {
    const levels: PodSecurityLevel[] = ["privileged", "baseline", "restricted"];
    let refused = 0;
    for (const [name, template] of templates()) {
      for (const level of levels) {
        const ours = podSecurityViolations(level, template).length === 0;
        const server = evaluatePod({ level, version: "latest" }, template.metadata, template.spec);
        assert.equal(
          ours,
          server.allowed,
          `${name} at ${level}: the server says ${server.detail || "allowed"}`,
        );
        if (!ours) refused++;
      }
    }
    assert.ok(refused > 0);
  });

  it("the default standalone TailnetIngress proxy meets restricted; layer-3 and ProxyGroup proxies need privileged", () => {
    const byName = new Map(templates());
    assert.deepEqual(podSecurityViolations("restricted", byName.get("L7 / none")!), []);
    assert.deepEqual(
      podSecurityViolations("baseline", byName.get("L3 / none")!).map((v) => v.control),
      ["Privileged Containers"],
    );
    assert.deepEqual(
      podSecurityViolations("baseline", byName.get("ProxyGroup / none")!).map((v) => v.control),
      ["Privileged Containers"],
    );
  });

  it("an init container ProxyClass can make a layer-3 or ProxyGroup proxy fit baseline, or keep it from fitting", () => {
    const byName = new Map(templates());
    for (const kind of ["L3", "ProxyGroup"]) {
      assert.deepEqual(
        podSecurityViolations(
          "baseline",
          byName.get(`${kind} / unprivileged containers, baseline init container`)!,
        ),
        [],
      );
      assert.deepEqual(
        podSecurityViolations(
          "baseline",
          byName.get(`${kind} / unprivileged containers, NET_ADMIN init container`)!,
        ).map((v) => [v.control, v.detail]),
        [
          [
            "Capabilities",
            'containers "sysctler", "tailscale" must not add capabilities beyond the default set',
          ],
        ],
      );
    }
  });

  it("reads the enforce label as the plugin does: none is privileged, an invalid value is restricted", () => {
    assert.deepEqual(enforcedPodSecurity(undefined), { level: "privileged", version: "latest" });
    assert.deepEqual(enforcedPodSecurity({ "pod-security.kubernetes.io/enforce": "strict" }), {
      level: "restricted",
      version: "latest",
      label: "pod-security.kubernetes.io/enforce=strict",
    });
    assert.equal(
      podSecurityRefusal({
        namespace: "apps",
        labels: { "pod-security.kubernetes.io/warn": "restricted" },
        template: templates()[0]![1],
        what: "x",
        fix: "y",
      }),
      undefined,
      "warn and audit never refuse",
    );
  });
});
