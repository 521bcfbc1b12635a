// Pod Security admission as the built-in plugin runs it (kubernetes/pod-security-admission@8f84a87c
// admission/admission.go, policy/check_*.go): enforce refuses Pods, warn gives Warning headers, audit annotates
// the audit log, pod templates are only warned about, and the refusal reads as the real server's.
import assert from "node:assert/strict";
import { failure, type Harness, harness, merge, raw, statefulSet } from "./helpers";

const PRIVILEGED_POD = {
  metadata: { name: "proxy-0" },
  spec: {
    initContainers: [{ name: "sysctler", image: "busybox", securityContext: { privileged: true } }],
    containers: [{ name: "tailscale", image: "tailscale/tailscale", securityContext: { privileged: true } }],
  },
};

/** A Pod the restricted level admits. */
const RESTRICTED_POD = {
  metadata: { name: "ok" },
  spec: {
    securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
    containers: [
      {
        name: "app",
        image: "app",
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
      },
    ],
  },
};

function warnings(headers: Headers): string[] {
  const w = headers.get("warning");
  if (!w) return [];
  // Each value is `299 - "<text>"`; fetch joins several with ", ".
  return [...w.matchAll(/299 - "((?:[^"\\]|\\.)*)"/g)].map((m) => JSON.parse(`"${m[1]}"`));
}

describe("kube-api: Pod Security admission", function () {
  this.timeout(30_000);
  let h: Harness;
  before(async () => {
    h = await harness();
  });
  after(() => h.server.stop());

  async function namespace(name: string, labels: Record<string, string>): Promise<void> {
    await h.core.createNamespace({ body: { metadata: { name, labels } } });
  }

  it("enforce=baseline refuses a privileged Pod with the real 403 body, listing every container", async () => {
    await namespace("psa-baseline", { "pod-security.kubernetes.io/enforce": "baseline" });
    const r = await raw(h.server, "POST", "/api/v1/namespaces/psa-baseline/pods", PRIVILEGED_POD);
    assert.equal(r.status, 403);
    assert.deepEqual(r.json, {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message:
        'pods "proxy-0" is forbidden: violates PodSecurity "baseline:latest": privileged (containers "sysctler", "tailscale" must not set securityContext.privileged=true)',
      reason: "Forbidden",
      details: { name: "proxy-0", kind: "pods" },
      code: 403,
    });
    // Audit annotations are recorded on the refused request too.
    const rec = h.server.requests.filter((q) => q.path.endsWith("/psa-baseline/pods")).at(-1);
    assert.equal(rec?.audit?.["pod-security.kubernetes.io/enforce-policy"], "baseline:latest");
  });

  it("enforce=restricted names every failed check in the registry's order, with the label's version", async () => {
    await namespace("psa-restricted", {
      "pod-security.kubernetes.io/enforce": "restricted",
      "pod-security.kubernetes.io/enforce-version": "v1.30",
    });
    const pod = {
      metadata: { name: "l3" },
      spec: {
        hostNetwork: true,
        securityContext: { sysctls: [{ name: "net.ipv4.ip_forward", value: "1" }] },
        volumes: [{ name: "host", hostPath: { path: "/dev/net/tun" } }],
        containers: [
          {
            name: "tailscale",
            image: "tailscale/tailscale",
            ports: [{ containerPort: 41641, hostPort: 41641 }],
            securityContext: { capabilities: { add: ["NET_ADMIN", "NET_RAW"] } },
          },
        ],
      },
    };
    const { code, status } = await failure(
      h.core.createNamespacedPod({ namespace: "psa-restricted", body: pod }),
    );
    assert.equal(code, 403);
    assert.equal(
      status.message,
      'pods "l3" is forbidden: violates PodSecurity "restricted:v1.30": ' +
        [
          "host namespaces (hostNetwork=true)",
          'hostPort (container "tailscale" uses hostPort 41641)',
          "forbidden sysctls (net.ipv4.ip_forward)",
          'allowPrivilegeEscalation != false (container "tailscale" must set securityContext.allowPrivilegeEscalation=false)',
          'unrestricted capabilities (container "tailscale" must set securityContext.capabilities.drop=["ALL"]; container "tailscale" must not include "NET_ADMIN", "NET_RAW" in securityContext.capabilities.add)',
          'restricted volume types (volume "host" uses restricted volume type "hostPath")',
          'runAsNonRoot != true (pod or container "tailscale" must set securityContext.runAsNonRoot=true)',
          'seccompProfile (pod or container "tailscale" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
        ].join(", "),
    );
    const ok = await h.core.createNamespacedPod({ namespace: "psa-restricted", body: RESTRICTED_POD });
    assert.equal(ok.metadata?.name, "ok");
  });

  it("baseline admits what only restricted forbids; a restricted Pod passes both", async () => {
    await namespace("psa-b2", { "pod-security.kubernetes.io/enforce": "baseline" });
    const plain = { metadata: { name: "plain" }, spec: { containers: [{ name: "c", image: "i" }] } };
    await h.core.createNamespacedPod({ namespace: "psa-b2", body: plain });
    const netAdmin = {
      metadata: { name: "netadmin" },
      spec: {
        containers: [{ name: "c", image: "i", securityContext: { capabilities: { add: ["NET_ADMIN"] } } }],
      },
    };
    const { status } = await failure(h.core.createNamespacedPod({ namespace: "psa-b2", body: netAdmin }));
    assert.equal(
      status.message,
      'pods "netadmin" is forbidden: violates PodSecurity "baseline:latest": non-default capabilities (container "c" must not include "NET_ADMIN" in securityContext.capabilities.add)',
    );
  });

  it("warn gives a Warning header and admits", async () => {
    await namespace("psa-warn", { "pod-security.kubernetes.io/warn": "restricted" });
    const r = await raw(h.server, "POST", "/api/v1/namespaces/psa-warn/pods", {
      metadata: { name: "p" },
      spec: { containers: [{ name: "c", image: "i" }] },
    });
    assert.equal(r.status, 201);
    assert.deepEqual(warnings(r.headers), [
      'would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
    ]);
  });

  it("audit annotates the audit log and admits", async () => {
    await namespace("psa-audit", { "pod-security.kubernetes.io/audit": "baseline" });
    const r = await raw(h.server, "POST", "/api/v1/namespaces/psa-audit/pods", PRIVILEGED_POD);
    assert.equal(r.status, 201);
    assert.deepEqual(warnings(r.headers), []);
    const rec = h.server.requests.filter((q) => q.path.endsWith("/psa-audit/pods")).at(-1);
    assert.deepEqual(rec?.audit, {
      "pod-security.kubernetes.io/enforce-policy": "privileged:latest",
      "pod-security.kubernetes.io/audit-violations":
        'would violate PodSecurity "baseline:latest": privileged (containers "sysctler", "tailscale" must not set securityContext.privileged=true)',
    });
  });

  it("a StatefulSet's template is only warned about (warn follows an enforce label when unset): the StatefulSet is created", async () => {
    await namespace("psa-sts", { "pod-security.kubernetes.io/enforce": "baseline" });
    const sts = statefulSet("proxy");
    sts.spec!.template.spec = PRIVILEGED_POD.spec as any;
    const r = await raw(h.server, "POST", "/apis/apps/v1/namespaces/psa-sts/statefulsets", sts);
    assert.equal(r.status, 201);
    assert.deepEqual(warnings(r.headers), [
      'would violate PodSecurity "baseline:latest": privileged (containers "sysctler", "tailscale" must not set securityContext.privileged=true)',
    ]);
    // An update of the template is warned about again; its status subresource is not evaluated.
    const u = await raw(h.server, "PUT", "/apis/apps/v1/namespaces/psa-sts/statefulsets/proxy", {
      ...r.json,
      spec: { ...r.json.spec, replicas: 2 },
    });
    assert.equal(u.status, 200);
    assert.equal(warnings(u.headers).length, 1);
  });

  it("Pod updates are evaluated only when an image or the container count changes", async () => {
    await namespace("psa-upd", {});
    await h.core.createNamespacedPod({ namespace: "psa-upd", body: PRIVILEGED_POD });
    await h.core.patchNamespace(
      {
        name: "psa-upd",
        body: { metadata: { labels: { "pod-security.kubernetes.io/enforce": "baseline" } } },
      },
      merge,
    );
    const label = await raw(
      h.server,
      "PATCH",
      "/api/v1/namespaces/psa-upd/pods/proxy-0",
      { metadata: { labels: { a: "b" } } },
      "application/merge-patch+json",
    );
    assert.equal(label.status, 200);
    const image = await raw(
      h.server,
      "PATCH",
      "/api/v1/namespaces/psa-upd/pods/proxy-0",
      { spec: { containers: [{ name: "tailscale", image: "tailscale/tailscale:v2" }] } },
      "application/strategic-merge-patch+json",
    );
    assert.equal(image.status, 403);
    assert.match(
      image.json.message,
      /^pods "proxy-0" is forbidden: violates PodSecurity "baseline:latest": privileged/,
    );
  });

  it("raising enforce warns about the Pods already there; invalid label values are 422", async () => {
    await namespace("psa-raise", {});
    await h.core.createNamespacedPod({ namespace: "psa-raise", body: PRIVILEGED_POD });
    const r = await raw(
      h.server,
      "PATCH",
      "/api/v1/namespaces/psa-raise",
      { metadata: { labels: { "pod-security.kubernetes.io/enforce": "baseline" } } },
      "application/merge-patch+json",
    );
    assert.equal(r.status, 200);
    assert.deepEqual(warnings(r.headers), [
      'existing pods in namespace "psa-raise" violate the new PodSecurity enforce level "baseline:latest"',
      "proxy-0: privileged",
    ]);
    const bad = await raw(h.server, "POST", "/api/v1/namespaces", {
      metadata: { name: "psa-bad", labels: { "pod-security.kubernetes.io/enforce": "strict" } },
    });
    assert.equal(bad.status, 422);
    assert.equal(
      bad.json.message,
      'Namespace "psa-bad" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": must be one of privileged, baseline, restricted',
    );
    const badVersion = await raw(h.server, "POST", "/api/v1/namespaces", {
      metadata: { name: "psa-bad2", labels: { "pod-security.kubernetes.io/warn-version": "1.30" } },
    });
    assert.equal(badVersion.status, 422);
    assert.match(
      badVersion.json.message,
      /warn-version\]: Invalid value: "1\.30": must be "latest" or "v1\.x"$/,
    );
  });

  it("no labels: everything is admitted without warnings (the default policy is privileged)", async () => {
    await namespace("psa-none", {});
    const r = await raw(h.server, "POST", "/api/v1/namespaces/psa-none/pods", PRIVILEGED_POD);
    assert.equal(r.status, 201);
    assert.equal(r.headers.get("warning"), null);
  });
});
