// examples/multi-cluster through the engine: two stacks, two clusters (two Kubernetes API servers, two
// cluster simulators), one tailnet. The second stack joins the first's Tailscale Service only with the
// first's joinToken, read through a StackReference.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type ClusterSim, startClusterSim, TEST_TIME_SCALE } from "../support/cluster-sim";
import { createBackend, kubernetesBuiltins, StackHarness } from "../support/engine";
import { type KubeApiServer, startKubeApiServer } from "../support/kube-api";
import { startTailscaleApi } from "../support/tailscale-api";
import type { TailscaleApiServer } from "../support/tailscale-api/types";
import { tailscaleCli } from "../support/tailscale-cli";

const ROOT = path.resolve(__dirname, "../..");

interface Cluster {
  kube: KubeApiServer;
  sim: ClusterSim;
  stack: StackHarness;
}

describe("examples/multi-cluster through the engine (two stacks, two clusters)", function () {
  this.timeout(120_000);
  let tailscale: TailscaleApiServer;
  let dir: string;
  const clusters: Cluster[] = [];

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tailnet-mc-"));
    tailscale = await startTailscaleApi({});
    const oauth = tailscale.createOAuthClient({
      scopes: ["auth_keys", "devices:core", "services"],
      tags: ["tag:k8s-operator"],
    });
    const backend = createBackend();
    for (const name of ["a", "b"]) {
      const kube = await startKubeApiServer();
      const sim = await startClusterSim({
        kubeconfig: kube.kubeconfig({ user: "cluster-sim" }),
        tailscaleUrl: tailscale.url,
        timeScale: TEST_TIME_SCALE,
      });
      kube.setExecHandler(tailscaleCli(sim, kube));
      fs.mkdirSync(path.join(dir, name));
      const stack = new StackHarness({
        backend,
        project: "tailnet-multi-cluster",
        stack: `cluster-${name}`,
        projectDir: path.join(ROOT, "examples/multi-cluster"),
        config: { cluster: name, staging: "true" },
        env: {
          KUBECONFIG: kube.writeKubeconfig(path.join(dir, name)),
          TAILSCALE_OAUTH_CLIENT_ID: oauth.clientId,
          TAILSCALE_OAUTH_CLIENT_SECRET: oauth.clientSecret,
          TAILSCALE_BASE_URL: tailscale.url,
        },
        builtins: kubernetesBuiltins(kube.kubeconfig()),
      });
      clusters.push({ kube, sim, stack });
    }
  });
  after(async () => {
    for (const c of clusters) {
      await c.stack.close();
      await c.sim.stop();
      await c.kube.stop();
    }
    await tailscale?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const owners = () =>
    JSON.parse(
      tailscale.services().find((s) => s.name === "svc:web")!.annotations["tailnet.pulumi.com/owners"]!,
    ).owners.map((o: { id: string }) => o.id);

  async function advertising(c: Cluster): Promise<string[][]> {
    await c.sim.waitIdle();
    return c.sim
      .pods()
      .filter((p) => p.namespace === "tailscale")
      .map((p) => p.advertisedServices);
  }

  it("serves one Tailscale Service from two clusters, joined only by token, and survives losing one", async () => {
    const [a, b] = clusters as [Cluster, Cluster];
    const upA = await a.stack.up();
    assert.equal(upA.failed, false, upA.error);
    assert.equal(upA.outputs.serviceName, "svc:web");

    // Same hostname, no token: refused before the Tailscale Service is touched, naming it and its owner.
    const refused = await b.stack.up({ skipPreview: true });
    assert.equal(refused.failed, true);
    assert.match(
      JSON.stringify(refused.logs) + String(refused.error),
      /Tailscale Service svc:web is owned by \\"tailnet-multi-cluster\/cluster-a\/web\\"/,
    );
    assert.deepEqual(owners(), ["tailnet-multi-cluster/cluster-a/web"]);

    b.stack.setConfig("joinFrom", "cluster-a");
    const upB = await b.stack.up({ skipPreview: true });
    assert.equal(upB.failed, false, upB.error);
    assert.deepEqual(upB.outputs.addresses, upA.outputs.addresses, "one service, one set of addresses");
    assert.deepEqual(owners(), [
      "tailnet-multi-cluster/cluster-a/web",
      "tailnet-multi-cluster/cluster-b/web",
    ]);
    assert.deepEqual(await advertising(a), [["svc:web"], ["svc:web"]]);
    assert.deepEqual(await advertising(b), [["svc:web"], ["svc:web"]]);
    assert.deepEqual(
      tailscale
        .devices()
        .map((d) => d.hostname)
        .sort(),
      ["a-ingress-0", "a-ingress-1", "b-ingress-0", "b-ingress-1"],
    );

    const again = await b.stack.preview();
    assert.deepEqual(
      again.steps.filter((s) => s.op !== "same" && s.op !== "read").map((s) => s.urn),
      [],
    );

    // Deleting one cluster's share leaves the other serving.
    const downB = await b.stack.destroy({ skipPreview: true });
    assert.equal(downB.failed, false, downB.error);
    assert.deepEqual(owners(), ["tailnet-multi-cluster/cluster-a/web"]);
    assert.deepEqual(await advertising(a), [["svc:web"], ["svc:web"]]);

    const downA = await a.stack.destroy({ skipPreview: true });
    assert.equal(downA.failed, false, downA.error);
    assert.deepEqual(tailscale.services(), []);
    assert.deepEqual(tailscale.devices(), []);
    assert.deepEqual(tailscale.validAuthKeys(), []);
    for (const c of clusters) {
      const ours = ["Secret", "ConfigMap", "StatefulSet", "Role", "RoleBinding", "ServiceAccount"].flatMap(
        (k) =>
          c.kube
            .listObjects(
              k === "StatefulSet" ? "apps/v1" : k.startsWith("Role") ? "rbac.authorization.k8s.io/v1" : "v1",
              k,
            )
            .filter((o: any) => o.metadata?.labels?.["app.kubernetes.io/managed-by"] === "pulumi-tailnet"),
      );
      assert.deepEqual(ours, []);
      assert.deepEqual(c.sim.errors, []);
    }
  });
});
