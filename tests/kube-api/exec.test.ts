// pods/exec over WebSocket, through client-node's Exec, as the API server (and kubelet) answer it.
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import * as k8s from "@kubernetes/client-node";
import WebSocket from "ws";
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
      const res = await server.fetch(`${server.url}/api/v1/namespaces/default/pods/${name}/status`, {
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

  it("negotiates v5.channel.k8s.io with client-node, v4 with a client that offers only v4, and takes v5's close signal", async () => {
    server.resetCounts();
    await run("running", "c", ["echo", "v5"]);
    assert.equal(server.requests.find((r) => r.path.endsWith("/exec"))?.subprotocol, "v5.channel.k8s.io");
    const raw = (protocols: string[], onOpen?: (ws: WebSocket) => void) =>
      new Promise<{ protocol: string; frames: Buffer[] }>((resolve, reject) => {
        const frames: Buffer[] = [];
        const ws = new WebSocket(
          `${server.url.replace("https", "wss")}/api/v1/namespaces/default/pods/running/exec?command=echo&command=raw&stdout=true`,
          protocols,
          { ca: server.ca, headers: { Authorization: `Bearer ${server.token}` } },
        );
        ws.on("open", () => onOpen?.(ws));
        ws.on("message", (d: Buffer) => frames.push(d));
        ws.on("close", () => resolve({ protocol: ws.protocol, frames }));
        ws.on("error", reject);
      });
    const v4 = await raw(["v4.channel.k8s.io"]);
    assert.equal(v4.protocol, "v4.channel.k8s.io");
    assert.equal(v4.frames[0]?.[0], 1);
    assert.equal(v4.frames[0]?.subarray(1).toString(), "raw\n");
    assert.deepEqual(JSON.parse(v4.frames.at(-1)!.subarray(1).toString()), {
      metadata: {},
      status: "Success",
    });
    server.resetCounts();
    // v5: the client half-closes stdin with a message on channel 255 naming stream 0.
    const v5 = await raw(["v5.channel.k8s.io", "v4.channel.k8s.io"], (ws) => ws.send(Buffer.from([255, 0])));
    assert.equal(v5.protocol, "v5.channel.k8s.io");
  });

  it("authorizes the upgrade as `get` on pods/exec and then, as a 1.35+ server, `create` too", async () => {
    const only = async (verbs: string[], user: string) => {
      server.seed({
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "Role",
        metadata: { namespace: "default", name: user },
        rules: [
          { apiGroups: [""], resources: ["pods/exec"], verbs },
          { apiGroups: [""], resources: ["pods"], verbs: ["get"] },
        ],
      });
      server.seed({
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { namespace: "default", name: user },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: user },
        subjects: [{ kind: "User", name: user }],
      });
      const ukc = new k8s.KubeConfig();
      ukc.loadFromString(server.kubeconfig({ user, groups: [] }));
      server.resetCounts();
      const sink = new Writable({ write: (_c, _e, done) => done() });
      const out = await new Promise<unknown>((resolve) => {
        new k8s.Exec(ukc)
          .exec("default", "running", "c", ["echo", "x"], sink, null, null, false, () => resolve("ran"))
          .catch(() => resolve("refused"));
      });
      return { out, record: server.requests.find((r) => r.path.endsWith("/exec"))! };
    };
    const both = await only(["get", "create"], "exec-both");
    assert.equal(both.out, "ran");
    const getOnly = await only(["get"], "exec-get");
    assert.equal(getOnly.record.status, 403);
    assert.equal(getOnly.record.authz?.allowed, true);
    assert.equal(getOnly.record.execCreateAllowed, false);
    const createOnly = await only(["create"], "exec-create");
    assert.equal(createOnly.record.status, 403);
    assert.equal(createOnly.record.authz?.verb, "get");
    assert.equal(createOnly.record.authz?.allowed, false);
    // The body of the refused upgrade, read without client-node (ws hides it): the standard 403.
    const token = /token: (\S+)/.exec(server.kubeconfig({ user: "exec-get", groups: [] }))![1]!;
    const r = await server.fetch("/api/v1/namespaces/default/pods/running/exec?command=echo&stdout=true", {
      headers: {
        Authorization: `Bearer ${token}`,
        Connection: "Upgrade",
        Upgrade: "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Protocol": "v5.channel.k8s.io",
      },
    });
    assert.equal(r.status, 403);
    assert.deepEqual(await r.json(), {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message:
        'pods "running" is forbidden: User "exec-get" cannot create resource "pods/exec" in API group "" in the namespace "default"',
      reason: "Forbidden",
      details: { name: "running", kind: "pods" },
      code: 403,
    });
  });
});
