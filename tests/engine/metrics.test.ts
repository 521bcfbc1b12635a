// Metrics of a ProxyGroup and the new ProxyClass fields through the real Pulumi language runtime and
// dynamic-provider host (tests/engine/fixtures/metrics):
// - in a cluster with the Prometheus Operator's ServiceMonitor CRD, `up` makes the operator's
//   `<pg>-metrics` Service and a ServiceMonitor selecting it; a second `up` changes the ServiceMonitor's
//   labels and sets nodeName, dnsPolicy, dnsConfig, the init container, debug off and static endpoints
//   (a NodePort Service, the node's ExternalIP in the config and in the `devices` output), all in place
//   (the same StatefulSet and ServiceMonitor objects, an update step, no replacement); destroy leaves
//   nothing;
// - in a cluster without the CRD, the same ProxyClass fails the `up` naming the field and the CRD, before
//   anything is written to the cluster or the tailnet.
import assert from "node:assert/strict";
import { SIM_NODE } from "../support/cluster-sim";
import { createBackend, type StackHarness } from "../support/engine";
import { programStack } from "../support/examples";
import { SERVICE_MONITOR_CRD } from "../support/prometheus-operator-crds";
import { type LocalWorld, startLocalWorld } from "../support/world";

const METRICS = { enableMetrics: true, serviceMonitor: { enable: true, labels: { release: "prometheus" } } };

describe("ProxyGroup metrics, ServiceMonitor and ProxyClass fields through the engine", function () {
  this.timeout(120_000);
  const worlds: LocalWorld[] = [];
  const stacks: StackHarness[] = [];
  const backend = createBackend();

  async function world(crds: object[]): Promise<LocalWorld> {
    const w = await startLocalWorld({ crds });
    worlds.push(w);
    w.kube.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: "tailscale" } });
    return w;
  }

  function stack(w: LocalWorld, name: string, proxyClass: object): StackHarness {
    const s = programStack(w, {
      backend,
      program: "tests/engine/fixtures/metrics",
      project: "metrics",
      stack: name,
      config: { proxyClass: JSON.stringify(proxyClass) },
    });
    stacks.push(s);
    return s;
  }

  after(async () => {
    for (const s of stacks) await s.close();
    for (const w of worlds) await w.stop();
  });

  const changed = (r: { steps: { op: string; urn: string }[] }) =>
    r.steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.urn.split("::").pop()}`);

  it("makes the metrics Service and ServiceMonitor, updates them and the StatefulSet in place, destroys them", async () => {
    const w = await world([SERVICE_MONITOR_CRD]);
    const s = stack(w, "with-crd", METRICS);
    const up = await s.up();
    assert.equal(up.failed, false, up.error);

    const svc = w.kube.getObject("v1", "Service", "tailscale", "edge-metrics");
    const sm = w.kube.getObject("monitoring.coreos.com/v1", "ServiceMonitor", "tailscale", "edge-metrics");
    assert.ok(svc && sm, "the metrics Service and the ServiceMonitor exist");
    assert.deepEqual(
      svc.spec.ports.map((p: any) => [p.name, p.protocol, p.port, p.targetPort]),
      [["metrics", "TCP", 9002, 9002]],
    );
    const sts = w.kube.getObject("apps/v1", "StatefulSet", "tailscale", "edge");
    assert.deepEqual(svc.spec.selector, sts.spec.selector.matchLabels, "the Service selects every replica");
    assert.deepEqual(sm.spec, {
      endpoints: [{ port: "metrics" }],
      jobLabel: "ts_prom_job",
      namespaceSelector: { matchNames: ["tailscale"] },
      selector: {
        matchLabels: {
          "tailscale.com/managed": "true",
          "tailscale.com/metrics-target": "edge",
          ts_prom_job: "ts_proxygroup_tailscale_edge",
          ts_proxy_type: "proxygroup",
          ts_proxy_parent_name: "edge",
          ts_proxy_parent_namespace: "tailscale",
        },
      },
      targetLabels: ["ts_proxy_parent_name", "ts_proxy_parent_namespace", "ts_proxy_type"],
    });
    for (const [k, v] of Object.entries(sm.spec.selector.matchLabels)) {
      assert.equal(svc.metadata.labels[k], v, `the ServiceMonitor selects the Service by ${k}`);
    }
    assert.equal(sm.metadata.labels.release, "prometheus");
    const ports = (c: any) => (c.ports ?? []).map((p: any) => `${p.name}:${p.containerPort}`);
    const container = (o: any) => o.spec.template.spec.containers.find((c: any) => c.name === "tailscale");
    assert.deepEqual(ports(container(sts)), ["debug:9001", "metrics:9002"]);

    s.setConfig(
      "proxyClass",
      JSON.stringify({
        ...METRICS,
        serviceMonitor: { enable: true, labels: { release: "prometheus-2" } },
        enableDebug: false,
        nodeName: SIM_NODE,
        dnsPolicy: "None",
        dnsConfig: {
          nameservers: ["10.96.0.10"],
          searches: ["tailscale.svc.cluster.local"],
          options: [{ name: "ndots", value: "2" }],
        },
        initContainer: { image: "tailscale/tailscale:v1.84.0", resources: { requests: { cpu: "5m" } } },
        staticEndpoints: { nodePort: { ports: [{ port: 30400, endPort: 30401 }] } },
      }),
    );
    // Later commands run as `--skip-preview` does: the first `up` covered the preview.
    const update = await s.up({ skipPreview: true });
    assert.equal(update.failed, false, update.error);
    assert.deepEqual(changed(update), ["update edge"], "an update, no replacement");
    const sts2 = w.kube.getObject("apps/v1", "StatefulSet", "tailscale", "edge");
    const sm2 = w.kube.getObject("monitoring.coreos.com/v1", "ServiceMonitor", "tailscale", "edge-metrics");
    assert.equal(sts2.metadata.uid, sts.metadata.uid, "the same StatefulSet, updated in place");
    assert.equal(sm2.metadata.uid, sm.metadata.uid, "the same ServiceMonitor, updated in place");
    assert.equal(sm2.metadata.labels.release, "prometheus-2");
    const pod = sts2.spec.template.spec;
    assert.equal(pod.nodeName, SIM_NODE);
    assert.equal(pod.dnsPolicy, "None");
    assert.deepEqual(pod.dnsConfig.nameservers, ["10.96.0.10"]);
    const init = pod.initContainers.find((c: any) => c.name === "sysctler");
    assert.equal(init.image, "tailscale/tailscale:v1.84.0");
    assert.deepEqual(init.resources, { requests: { cpu: "5m" } });
    assert.deepEqual(ports(container(sts2)), ["metrics:9002"], "debug off: its port is gone");
    // Static endpoints: the replica's NodePort Service, and the node's ExternalIP with it in the output.
    const nodePort = w.kube.getObject("v1", "Service", "tailscale", "edge-0-nodeport");
    assert.equal(nodePort?.spec.ports[0].nodePort, 30400);
    assert.deepEqual(
      (update.outputs.devices as { staticEndpoints?: string[] }[]).map((d) => d.staticEndpoints),
      [["203.0.113.2:30400"]],
    );
    // The replica was rolled to the new template, on the node it names.
    const replica = w.kube.getObject("v1", "Pod", "tailscale", "edge-0");
    assert.equal(replica.spec.nodeName, SIM_NODE);
    assert.equal(replica.spec.dnsPolicy, "None");

    const destroy = await s.destroy({ skipPreview: true });
    assert.equal(destroy.failed, false, destroy.error);
    w.assertNothingLeft();
  });

  it("fails the `up` naming the field and the missing CRD, before writing anything", async () => {
    const w = await world([]);
    const s = stack(w, "without-crd", METRICS);
    // As `--skip-preview`: the preview of this program is the first case's, and a preview is offline.
    const up = await s.up({ skipPreview: true });
    assert.equal(up.failed, true);
    const message = [up.error ?? "", ...up.logs.map((l) => l.message)].join("\n");
    assert.match(
      message,
      /ProxyGroup tailscale\/edge: proxyClass\.serviceMonitor\.enable is true, but the cluster has no CustomResourceDefinition "servicemonitors\.monitoring\.coreos\.com"/,
    );
    const writes = w.kube.requests.filter((r) => r.user === w.deployer.user && r.class === "write");
    assert.deepEqual(writes, [], "nothing was written to the cluster");
    assert.deepEqual(w.tailscale.validAuthKeys(), [], "no auth key was minted");
    // The failed create recorded nothing in the stack, so there is nothing to destroy either.
    w.assertNothingLeft();
  });
});
