// One Kube keeps one TLS connection to the API server for its requests (keep-alive), instead of a
// connection and a full handshake per request as client-node 1.4 does by default. Watches and exec
// streams are long-lived connections of their own.
import assert from "node:assert/strict";
import { Kube } from "../../provider/kube";
import { type KubeApiServer, startKubeApiServer } from "../support/kube-api";

describe("Kubernetes connections", () => {
  let server: KubeApiServer;
  before(async () => {
    server = await startKubeApiServer();
    server.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: "apps" } });
  });
  after(async () => {
    await server?.stop();
  });

  it("reuses one TLS connection for sequential and concurrent requests of one Kube", async () => {
    const kube = Kube.fromKubeconfig(server.kubeconfig());
    server.resetCounts();
    for (let i = 0; i < 5; i++) {
      await kube.apply(
        {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { namespace: "apps", name: `c${i}` },
          data: { i: String(i) },
        },
        { ownerId: "test/conn/c" },
      );
    }
    await Promise.all(
      [0, 1, 2, 3, 4].map((i) =>
        kube.get({ apiVersion: "v1", kind: "ConfigMap", namespace: "apps", name: `c${i}` }),
      ),
    );
    const own = server.requests.filter((r) => r.class !== "watch");
    assert.ok(own.length >= 15, `${own.length} requests`);
    const connections = new Set(own.map((r) => r.connection));
    assert.ok(!connections.has(undefined), "every request records its connection");
    // Sequential requests share one connection; concurrent ones may open a few more, never one each.
    assert.ok(connections.size <= 5, `${connections.size} connections for ${own.length} requests`);
    const sequential = new Set(own.slice(0, 10).map((r) => r.connection));
    assert.equal(sequential.size, 1, `sequential requests used ${sequential.size} connections`);
  });
});
