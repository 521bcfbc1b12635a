// Pod Security: in namespaces whose enforced level would refuse a proxy's Pod, create and update fail before
// writing anything, naming the namespace, the label, the level and the fix; the standalone TailnetIngress
// proxy runs under `restricted`. The local kube-api enforces the levels as the real admission plugin does
// (tests/support/kube-api/podsecurity.ts), so a Pod spec the product gets wrong is refused there.
import assert from "node:assert/strict";
import * as k8s from "@kubernetes/client-node";
import * as provider from "../../provider";
import { type LocalWorld, startLocalWorld } from "../support/world";

const ENFORCE = "pod-security.kubernetes.io/enforce";

describe("Pod Security levels of the proxies", function () {
  this.timeout(60_000);
  let world: LocalWorld;

  before(async () => {
    world = await startLocalWorld();
    for (const [name, level] of [
      ["restricted-apps", "restricted"],
      ["baseline-apps", "baseline"],
      ["privileged-proxies", "privileged"],
    ] as const) {
      // audit at the same level, so the audit log shows any violation of a StatefulSet's template too.
      const labels = { [ENFORCE]: level, "pod-security.kubernetes.io/audit": level };
      world.kube.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels } });
    }
    await world.addService("restricted-apps", "hello");
    await world.addService("baseline-apps", "db", { selector: { app: "db" }, ports: [{ port: 5432 }] });
  });
  after(async () => {
    await world?.stop();
  });

  async function checked(kind: string, news: Record<string, unknown>) {
    const result = await provider.check(kind, {}, news);
    assert.deepEqual(result.failures ?? [], []);
    return result.inputs as Record<string, any>;
  }

  /** Sets a namespace's enforce label as a cluster admin would (kubectl label --overwrite). */
  async function relabel(name: string, level: string): Promise<void> {
    const kc = new k8s.KubeConfig();
    kc.loadFromString(world.adminKubeconfig);
    await kc
      .makeApiClient(k8s.CoreV1Api)
      .patchNamespace(
        { name, body: { metadata: { labels: { [ENFORCE]: level } } } },
        k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
      );
  }

  /** Requests the deployer sent that wrote something. */
  function deployerWrites(since: number): string[] {
    return world.kube.requests
      .slice(since)
      .filter((r) => r.user === world.deployer.user && r.class === "write")
      .map((r) => `${r.method} ${r.path}`);
  }

  it("a standalone TailnetIngress proxy runs in a namespace enforcing restricted, and its template passes audit", async () => {
    const news = await checked("TailnetIngress", {
      ownerId: "proj/dev/hello",
      hostname: "hello",
      defaultBackend: { service: { namespace: "restricted-apps", name: "hello" }, port: "http" },
      credentials: world.credentials,
      customTimeouts: { create: "30s", update: "30s", delete: "30s" },
      waitForCertificate: false,
    });
    const { id, outs } = await provider.create("TailnetIngress", news);
    const pod = world.kube.getObject("v1", "Pod", "restricted-apps", "ts-hello-0");
    assert.ok(pod, "the real admission admitted the controller's Pod");
    assert.equal(pod.status.conditions.find((c: any) => c.type === "Ready")?.status, "True");
    const audited = world.kube.requests.filter(
      (r) => r.audit?.["pod-security.kubernetes.io/audit-violations"],
    );
    assert.deepEqual(audited, []);
    await provider.remove("TailnetIngress", id, outs);
  });

  it("a layer-3 proxy in a baseline namespace: create fails before any write, naming namespace, label, level and fix", async () => {
    const news = await checked("TailnetService", {
      ownerId: "proj/dev/db",
      service: { namespace: "baseline-apps", name: "db" },
      hostname: "db",
      credentials: world.credentials,
      customTimeouts: { create: "30s", update: "30s", delete: "30s" },
    });
    const since = world.kube.requests.length;
    const keysBefore = world.tailscale.validAuthKeys().length;
    await assert.rejects(provider.create("TailnetService", news), (err: Error) => {
      assert.match(
        err.message,
        /^namespace "baseline-apps" enforces Pod Security level "baseline:latest" \(label pod-security\.kubernetes\.io\/enforce=baseline\)/,
      );
      assert.match(
        err.message,
        /the Pods of TailnetService proxy StatefulSet baseline-apps\/ts-db: Privileged Containers \(containers "sysctler", "tailscale" must not set securityContext\.privileged=true\)/,
      );
      assert.match(err.message, /nothing was created/);
      assert.match(
        err.message,
        /Set `namespace` to a namespace labelled pod-security\.kubernetes\.io\/enforce=privileged/,
      );
      return true;
    });
    assert.deepEqual(deployerWrites(since), []);
    assert.equal(world.tailscale.validAuthKeys().length, keysBefore, "no auth key was minted");

    // The fix the message names works: the same proxy in a privileged namespace.
    const moved = await checked("TailnetService", { ...news, namespace: "privileged-proxies" });
    const { id, outs } = await provider.create("TailnetService", moved);
    assert.equal(id, "privileged-proxies/ts-db");
    await provider.remove("TailnetService", id, outs);
  });

  it("a ProxyGroup in a restricted namespace fails before any write; a ProxyClass that breaks restricted does too", async () => {
    const pg = await checked("ProxyGroup", {
      ownerId: "proj/dev/pg",
      name: "pg",
      namespace: "restricted-apps",
      type: "ingress",
      credentials: world.credentials,
      customTimeouts: { create: "30s", update: "30s", delete: "30s" },
    });
    const since = world.kube.requests.length;
    await assert.rejects(provider.create("ProxyGroup", pg), (err: Error) => {
      assert.match(
        err.message,
        /^namespace "restricted-apps" enforces Pod Security level "restricted:latest" \(label pod-security\.kubernetes\.io\/enforce=restricted\), which would refuse the Pods of ProxyGroup StatefulSet restricted-apps\/pg: /,
      );
      assert.match(err.message, /ProxyGroup replicas need the privileged level/);
      return true;
    });
    assert.deepEqual(deployerWrites(since), []);

    const ing = await checked("TailnetIngress", {
      ownerId: "proj/dev/hello2",
      hostname: "hello2",
      defaultBackend: { service: { namespace: "restricted-apps", name: "hello" }, port: "http" },
      proxyClass: { securityContext: { runAsUser: 0 } },
      credentials: world.credentials,
      customTimeouts: { create: "30s", update: "30s", delete: "30s" },
    });
    await assert.rejects(provider.create("TailnetIngress", ing), (err: Error) => {
      assert.match(
        err.message,
        /Running as Non-root user \(container "tailscale" must not set runAsUser=0\)/,
      );
      assert.match(err.message, /remove or fix its securityContext or podSecurityContext/);
      return true;
    });
  });

  it("an update is refused before any write when the namespace was relabelled since the create", async () => {
    world.kube.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: "relabelled", labels: {} } });
    await world.addService("relabelled", "cache", { selector: { app: "cache" }, ports: [{ port: 6379 }] });
    const news = await checked("TailnetService", {
      ownerId: "proj/dev/cache",
      service: { namespace: "relabelled", name: "cache" },
      hostname: "cache",
      credentials: world.credentials,
      customTimeouts: { create: "30s", update: "30s", delete: "30s" },
    });
    const { id, outs } = await provider.create("TailnetService", news);
    await relabel("relabelled", "baseline");
    const changed = await checked("TailnetService", { ...news, tags: ["tag:k8s", "tag:cache"] });
    const since = world.kube.requests.length;
    await assert.rejects(
      provider.update("TailnetService", id, outs, changed),
      /namespace "relabelled" enforces Pod Security level "baseline:latest"/,
    );
    assert.deepEqual(deployerWrites(since), []);
    await relabel("relabelled", "privileged");
    await provider.remove("TailnetService", id, outs);
  });
});
