import * as assert from "node:assert/strict";
import * as path from "node:path";
import { kubernetesBuiltins, StackHarness } from "../support/engine";
import { type KubeApiServer, startKubeApiServer } from "../support/kube-api";

describe("engine harness: kubernetesBuiltins against the local Kubernetes API", () => {
  let kube: KubeApiServer;
  let h: StackHarness;

  before(async () => {
    kube = await startKubeApiServer();
    h = new StackHarness({
      project: "kube",
      stack: "dev",
      projectDir: path.join(__dirname, "fixtures", "kube"),
      prestartProviderHost: false,
      builtins: kubernetesBuiltins(kube.kubeconfig()),
      config: { kubeconfig: { secret: kube.kubeconfig() } },
    });
  });

  after(async () => {
    await h?.close();
    await kube?.stop();
  });

  it("up creates the objects through default and explicit providers; outputs are the objects as read back", async () => {
    const r = await h.up();
    assert.equal(r.failed, false, r.error);
    assert.equal(kube.getObject("v1", "Namespace", undefined, "apps")?.metadata.name, "apps");
    const svc = kube.getObject("v1", "Service", "apps", "hello");
    assert.ok(svc?.spec.clusterIP);
    assert.equal(r.outputs.clusterIP, svc.spec.clusterIP);
    const backend = h.resource("backend", "kubernetes:core/v1:Service");
    assert.ok(backend);
    const backendName = String((backend.inputs.metadata as { name?: string }).name);
    assert.match(
      backendName,
      /^backend-[a-z0-9]{8}$/,
      "an unnamed object gets an auto-name like pulumi-kubernetes",
    );
    assert.equal(r.outputs.backendName, backendName);
    assert.equal(backend.id, `apps/${backendName}`);
    assert.ok((backend.outputs.metadata as { uid?: string }).uid, "outputs are the object as read back");
    assert.ok(backend.outputs.status !== undefined);
    assert.equal(h.resource("cluster")?.type, "pulumi:providers:kubernetes");
    assert.equal(backend.provider?.split("::").slice(0, -1).join("::"), h.resource("cluster")?.urn);
    assert.match(h.resource("apps")?.provider ?? "", /::pulumi:providers:kubernetes::default_4_34_2::/);
  });

  it("a config change patches the live objects in place; destroy removes them", async () => {
    h.setConfig("tier", "api");
    const up = await h.up();
    assert.equal(up.failed, false, up.error);
    assert.equal(up.steps.find((s) => s.name === "hello")?.op, "update");
    assert.equal(up.steps.find((s) => s.name === "backend")?.op, "same");
    assert.equal(kube.getObject("v1", "Service", "apps", "hello")?.metadata.labels.tier, "api");

    const d = await h.destroy();
    assert.equal(d.failed, false, d.error);
    assert.equal(kube.getObject("v1", "Service", "apps", "hello"), undefined);
    assert.equal(kube.getObject("v1", "Namespace", undefined, "apps"), undefined);
    assert.equal(h.state.length, 0);
  });
});
