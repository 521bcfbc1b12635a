// The simulator's StatefulSet controller and kubelet readiness, as a cluster runs them: OrderedReady
// creates a replica only once the one before is Ready and Parallel does not wait; a rolling update and a
// scale-down take one Pod at a time, highest ordinal first, while the others are Ready; a Pod no node can
// take stays Pending; and Ready means what the kubelet means: at container start without a readiness
// probe, and with one only while containerboot's /healthz answers 200 on the probed address.
import assert from "node:assert/strict";
import * as k8s from "@kubernetes/client-node";
import { type ClusterSim, startClusterSim, TEST_TIME_SCALE } from "../support/cluster-sim";
import { type KubeApiServer, startKubeApiServer } from "../support/kube-api";
import { startTailscaleApi, type TailscaleApiServer } from "../support/tailscale-api";
import { NS, proxyRbac, standaloneSecret, standaloneStatefulSet } from "./fixtures";

/** A StatefulSet of plain containers (no containerboot: Ready as soon as they start). */
function plain(name: string, replicas: number, spec: Partial<k8s.V1StatefulSetSpec> = {}): k8s.V1StatefulSet {
  return {
    metadata: { name, namespace: NS },
    spec: {
      replicas,
      serviceName: name,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: "app", image: "registry.example/app:1" }] },
      },
      ...spec,
    },
  };
}

describe("cluster-sim: StatefulSet controller and readiness", function () {
  this.timeout(30_000);
  let kube: KubeApiServer;
  let ts: TailscaleApiServer;
  let sim: ClusterSim;
  let apps: k8s.AppsV1Api;
  let core: k8s.CoreV1Api;

  async function start(opts: Partial<Parameters<typeof startClusterSim>[0]> = {}): Promise<void> {
    sim = await startClusterSim({
      kubeconfig: kube.kubeconfig(),
      tailscaleUrl: ts.url,
      timeScale: TEST_TIME_SCALE,
      ...opts,
    });
  }

  beforeEach(async () => {
    kube = await startKubeApiServer();
    ts = await startTailscaleApi();
    const kc = new k8s.KubeConfig();
    kc.loadFromString(kube.kubeconfig());
    apps = kc.makeApiClient(k8s.AppsV1Api);
    core = kc.makeApiClient(k8s.CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: NS } } });
    for (const o of proxyRbac("proxies")) kube.seed(o);
  });
  afterEach(async () => {
    const errors = sim ? [...sim.errors] : [];
    await sim?.stop();
    await ts.stop();
    await kube.stop();
    assert.deepEqual(errors, []);
  });

  /** Each Pod deletion's start (deletionTimestamp set), with which other Pods were Ready then. */
  function deletions(): { pod: string; othersReady: string[] }[] {
    const seen: { pod: string; othersReady: string[] }[] = [];
    const marked = new Set<string>();
    kube.onWrite((e) => {
      const m = e.obj?.metadata;
      if (e.obj?.kind !== "Pod" || !m?.deletionTimestamp || marked.has(m.uid)) return;
      marked.add(m.uid);
      const others = kube
        .listObjects("v1", "Pod", NS)
        .filter((p) => p.metadata.name !== m.name && !p.metadata.deletionTimestamp)
        .filter((p) => p.status?.conditions?.some((c: any) => c.type === "Ready" && c.status === "True"))
        .map((p) => p.metadata.name)
        .sort();
      seen.push({ pod: m.name, othersReady: others });
    });
    return seen;
  }

  it("OrderedReady waits for each Pod to be Ready before the next; Parallel creates them all", async () => {
    await start({ faults: { podStart: { podName: /^(ordered|parallel)-1$/, reason: "ImagePullBackOff" } } });
    await apps.createNamespacedStatefulSet({ namespace: NS, body: plain("ordered", 3) });
    await apps.createNamespacedStatefulSet({
      namespace: NS,
      body: plain("parallel", 3, { podManagementPolicy: "Parallel" }),
    });
    await sim.waitIdle();
    const pods = sim.pods().map((p) => [p.name, p.ready]);
    assert.deepEqual(pods, [
      ["ordered-0", true],
      ["ordered-1", false],
      ["parallel-0", true],
      ["parallel-1", false],
      ["parallel-2", true],
    ]);
  });

  it("a rolling update and a scale-down take one Pod at a time, highest first, while the others are Ready", async () => {
    await start();
    await apps.createNamespacedStatefulSet({ namespace: NS, body: plain("web", 3) });
    await sim.waitIdle();
    const seen = deletions();
    const sts = await apps.readNamespacedStatefulSet({ name: "web", namespace: NS });
    sts.spec!.template.spec!.containers[0]!.image = "registry.example/app:2";
    await apps.replaceNamespacedStatefulSet({ name: "web", namespace: NS, body: sts });
    await sim.waitIdle();
    assert.deepEqual(seen, [
      { pod: "web-2", othersReady: ["web-0", "web-1"] },
      { pod: "web-1", othersReady: ["web-0", "web-2"] },
      { pod: "web-0", othersReady: ["web-1", "web-2"] },
    ]);
    seen.length = 0;
    const rolled = await apps.readNamespacedStatefulSet({ name: "web", namespace: NS });
    rolled.spec!.replicas = 1;
    await apps.replaceNamespacedStatefulSet({ name: "web", namespace: NS, body: rolled });
    await sim.waitIdle();
    assert.deepEqual(seen, [
      { pod: "web-2", othersReady: ["web-0", "web-1"] },
      { pod: "web-1", othersReady: ["web-0"] },
    ]);
    const status = (await apps.readNamespacedStatefulSet({ name: "web", namespace: NS })).status;
    assert.deepEqual([status?.replicas, status?.readyReplicas, status?.updatedReplicas], [1, 1, 1]);
  });

  it("a Pod no node can take stays Pending, PodScheduled False with the scheduler's reasons; the others are spread", async () => {
    await start({
      nodes: [
        { name: "n1" },
        { name: "n2", taints: [{ key: "dedicated", value: "db", effect: "NoSchedule" }] },
      ],
    });
    const spread = plain("spread", 2, { podManagementPolicy: "Parallel" });
    spread.spec!.template.spec!.tolerations = [{ key: "dedicated", operator: "Exists" }];
    spread.spec!.template.spec!.topologySpreadConstraints = [
      {
        maxSkew: 1,
        topologyKey: "kubernetes.io/hostname",
        whenUnsatisfiable: "DoNotSchedule",
        labelSelector: { matchLabels: { app: "spread" } },
      },
    ];
    await apps.createNamespacedStatefulSet({ namespace: NS, body: spread });
    const stuck = plain("stuck", 1);
    stuck.spec!.template.spec!.nodeSelector = { disk: "ssd" };
    await apps.createNamespacedStatefulSet({ namespace: NS, body: stuck });
    await sim.waitIdle();
    assert.deepEqual(
      sim.pods().map((p) => [p.name, p.nodeName, p.ready]),
      [
        ["spread-0", "n1", true],
        ["spread-1", "n2", true],
        ["stuck-0", undefined, false],
      ],
    );
    const pending = await core.readNamespacedPod({ name: "stuck-0", namespace: NS });
    assert.equal(pending.status?.phase, "Pending");
    const scheduled = pending.status?.conditions?.find((c) => c.type === "PodScheduled");
    assert.deepEqual(
      [scheduled?.status, scheduled?.reason, scheduled?.message],
      [
        "False",
        "Unschedulable",
        "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated taint {dedicated: db}.",
      ],
    );
    const running = await core.readNamespacedPod({ name: "spread-1", namespace: NS });
    assert.equal(running.status?.hostIP, "172.18.0.3");
  });

  it("Ready: at container start without a probe; with a /healthz probe only once logged in; never on an address containerboot does not serve", async () => {
    // A login slower than the kubelet's start, so the Pods run a while without a tailnet address.
    await start({ delays: { loginMs: 25_000 } });
    const health = [{ name: "TS_ENABLE_HEALTH_CHECK", value: "true" }];
    const probe = { httpGet: { path: "/healthz", port: 9002 }, periodSeconds: 1 };
    const variants: [string, Record<string, string>[], k8s.V1Probe | undefined][] = [
      ["plain", [], undefined],
      ["probed", health, probe],
      ["loopback", [...health, { name: "TS_LOCAL_ADDR_PORT", value: "127.0.0.1:9002" }], probe],
    ];
    // Every Pod status written: was the Pod Ready while its containerboot had no tailnet address?
    const readyUnhealthy = new Set<string>();
    const readyEver = new Set<string>();
    kube.onWrite((e) => {
      if (e.obj?.kind !== "Pod") return;
      const ready = e.obj.status?.conditions?.some((c: any) => c.type === "Ready" && c.status === "True");
      if (!ready) return;
      readyEver.add(e.obj.metadata.name);
      if (!sim.pods().find((p) => p.name === e.obj.metadata.name)?.healthy)
        readyUnhealthy.add(e.obj.metadata.name);
    });
    for (const [name, env, readinessProbe] of variants) {
      await core.createNamespacedSecret({
        namespace: NS,
        body: standaloneSecret(`${name}-0`, {
          authKey: ts.createAuthKey({ tags: ["tag:k8s"] }).key,
          hostname: name,
        }),
      });
      const sts = standaloneStatefulSet(name, { extraEnv: env });
      sts.spec!.template.spec!.containers[0]!.readinessProbe = readinessProbe;
      await apps.createNamespacedStatefulSet({ namespace: NS, body: sts });
    }
    await sim.waitIdle();
    assert.deepEqual(
      sim.pods().map((p) => [p.name, p.healthy, p.ready]),
      [
        ["loopback-0", true, false],
        ["plain-0", true, true],
        ["probed-0", true, true],
      ],
    );
    assert.deepEqual([...readyUnhealthy], ["plain-0"], "only the Pod without a probe was Ready before login");
    assert.deepEqual([...readyEver].sort(), ["plain-0", "probed-0"]);
  });
});
