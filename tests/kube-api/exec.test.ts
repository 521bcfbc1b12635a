// pods/exec over WebSocket, through client-node's Exec, as the API server (and kubelet) answer it.
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import * as k8s from "@kubernetes/client-node";
import { type KubeApiServer, startKubeApiServer } from "../support/kube-api";

describe("kube-api: pods/exec", () => {
  let server: KubeApiServer;
  let kc: k8s.KubeConfig;

  async function pod(name: string, phase?: string) {
    server.seed({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { namespace: "default", name },
      spec: { containers: [{ name: "c", image: "busybox" }] },
    });
    if (phase) {
      // Status goes through the /status subresource, as the kubelet writes it.
      const res = await fetch(`${server.url}/api/v1/namespaces/default/pods/${name}/status`, {
        method: "PATCH",
        headers: { authorization: `Bearer ${server.token}`, "content-type": "application/merge-patch+json" },
        body: JSON.stringify({ status: { phase } }),
      });
      assert.equal(res.status, 200);
    }
  }

  function run(name: string, container: string, command: string[], stdout = true) {
    let out = "";
    const sink = new Writable({
      write(chunk, _e, done) {
        out += chunk.toString();
        done();
      },
    });
    return new Promise<{ stdout: string; status: k8s.V1Status }>((resolve, reject) => {
      new k8s.Exec(kc)
        .exec("default", name, container, command, stdout ? sink : null, null, null, false, (status) =>
          resolve({ stdout: out, status }),
        )
        .catch(reject);
    });
  }

  before(async () => {
    server = await startKubeApiServer();
    kc = new k8s.KubeConfig();
    kc.loadFromString(server.kubeconfig());
    await pod("running", "Running");
    await pod("pending");
    server.setExecHandler(async ({ command }) =>
      command[0] === "echo"
        ? { stdout: `${command.slice(1).join(" ")}\n`, exitCode: 0 }
        : { stderr: "no\n", exitCode: 3 },
    );
  });
  after(async () => {
    await server?.stop();
  });

  it("runs the command and returns its output and a Success status", async () => {
    const ok = await run("running", "c", ["echo", "hi"]);
    assert.equal(ok.stdout, "hi\n");
    assert.equal(ok.status.status, "Success");
  });

  it("reports a non-zero exit as NonZeroExitCode with the code as its cause", async () => {
    const bad = await run("running", "c", ["false"]);
    assert.equal(bad.status.status, "Failure");
    assert.equal(bad.status.reason, "NonZeroExitCode");
    assert.equal(bad.status.details?.causes?.[0]?.message, "3");
  });

  it("refuses a missing Pod, an unknown container, a Pod not running, and no stream at all", async () => {
    for (const [name, container, stdout] of [
      ["nope", "c", true],
      ["running", "other", true],
      ["pending", "c", true],
      ["running", "c", false],
    ] as const) {
      await assert.rejects(run(name, container, ["echo"], stdout), `${name}/${container}/${stdout}`);
    }
    const refused = server.requests.filter((r) => r.path.endsWith("/exec")).map((r) => r.status);
    assert.deepEqual(refused.slice(-4), [404, 400, 400, 400]);
  });
});
