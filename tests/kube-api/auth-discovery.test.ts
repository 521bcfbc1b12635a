import assert from "node:assert/strict";
import * as k8s from "@kubernetes/client-node";
import { failure, type Harness, harness, raw } from "./helpers";

describe("kube-api: authentication and discovery", () => {
  let h: Harness;
  before(async () => {
    h = await harness({ token: "right-token" });
  });
  after(() => h.server.stop());

  it("answers a wrong bearer token with 401 Unauthorized", async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromString(h.server.kubeconfig().replace("token: right-token", "token: wrong-token"));
    // client-node drops the body of a 401, so read the Status itself over raw HTTP too.
    const { code } = await failure(kc.makeApiClient(k8s.CoreV1Api).listNamespace());
    assert.equal(code, 401);
    const r = await raw(h.server, "GET", "/api/v1/namespaces", undefined, "application/json", "wrong-token");
    assert.deepEqual(r.json, {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: "Unauthorized",
      reason: "Unauthorized",
      code: 401,
    });
  });

  it("answers a missing token with 401, discovery included", async () => {
    const r = await raw(h.server, "GET", "/api/v1", undefined, "application/json", null);
    assert.equal(r.status, 401);
    assert.equal(r.json.reason, "Unauthorized");
  });

  it("serves the namespaces that exist at start", async () => {
    const list = await h.core.listNamespace();
    const names = list.items.map((n) => n.metadata?.name);
    assert.ok(names.includes("default") && names.includes("kube-system"));
    const ns = list.items.find((n) => n.metadata?.name === "default")!;
    assert.equal(ns.status?.phase, "Active");
    assert.deepEqual(ns.spec?.finalizers, ["kubernetes"]);
    assert.equal(ns.metadata?.labels?.["kubernetes.io/metadata.name"], "default");
  });

  it("serves /version, /api, /apis and APIResourceLists with real names, verbs and shortNames", async () => {
    const v = await raw(h.server, "GET", "/version");
    assert.equal(v.json.major, "1");
    assert.equal((await raw(h.server, "GET", "/api")).json.versions[0], "v1");
    const groups = (await raw(h.server, "GET", "/apis")).json.groups.map((g: any) => g.name);
    assert.deepEqual(groups.sort(), [
      "apiextensions.k8s.io",
      "apps",
      "authentication.k8s.io",
      "authorization.k8s.io",
      "discovery.k8s.io",
      "policy",
      "rbac.authorization.k8s.io",
    ]);
    const core = (await raw(h.server, "GET", "/api/v1")).json;
    assert.equal(core.kind, "APIResourceList");
    const svc = core.resources.find((r: any) => r.name === "services");
    assert.deepEqual(
      {
        singularName: svc.singularName,
        namespaced: svc.namespaced,
        kind: svc.kind,
        shortNames: svc.shortNames,
      },
      { singularName: "service", namespaced: true, kind: "Service", shortNames: ["svc"] },
    );
    assert.ok(core.resources.some((r: any) => r.name === "services/status"));
    const ns = core.resources.find((r: any) => r.name === "namespaces");
    assert.equal(ns.namespaced, false);
    assert.ok(!ns.verbs.includes("deletecollection"));
    const apps = (await raw(h.server, "GET", "/apis/apps/v1")).json;
    const sts = apps.resources.find((r: any) => r.name === "statefulsets");
    assert.deepEqual(sts.shortNames, ["sts"]);
    const scale = apps.resources.find((r: any) => r.name === "statefulsets/scale");
    assert.equal(scale.kind, "Scale");
    assert.equal(scale.group, "autoscaling");
    for (const path of ["/apis/rbac.authorization.k8s.io/v1", "/apis/discovery.k8s.io/v1"]) {
      assert.equal((await raw(h.server, "GET", path)).json.kind, "APIResourceList");
    }
  });

  it("answers unknown non-API paths with the plain-text 404 and unknown resources with a Status", async () => {
    const text = await raw(h.server, "GET", "/nope");
    assert.equal(text.status, 404);
    assert.equal(text.text, "404 page not found\n");
    const group = await raw(h.server, "GET", "/apis/example.test/v1");
    assert.equal(group.text, "404 page not found\n");
    const res = await raw(h.server, "GET", "/api/v1/namespaces/default/widgets");
    assert.equal(res.status, 404);
    assert.equal(res.json.message, "the server could not find the requested resource");
    assert.equal(res.json.reason, "NotFound");
  });

  it("lets KubernetesObjectApi discover, create, read, list and delete", async () => {
    const created = await h.objects.create({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "generic", namespace: "default", labels: { via: "object-api" } },
      data: { a: "1" },
    } as k8s.KubernetesObject);
    assert.equal(created.metadata?.name, "generic");
    const read = (await h.objects.read({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "generic", namespace: "default" },
    })) as k8s.V1ConfigMap;
    assert.deepEqual(read.data, { a: "1" });
    const list = await h.objects.list(
      "v1",
      "ConfigMap",
      "default",
      undefined,
      undefined,
      undefined,
      undefined,
      "via=object-api",
    );
    assert.deepEqual(
      list.items.map((i) => i.metadata?.name),
      ["generic"],
    );
    assert.ok(h.server.requests.some((r) => r.path === "/api/v1" && r.method === "GET"));
    await h.objects.delete({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "generic", namespace: "default" },
    });
    const gone = await failure(
      h.objects.read({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "generic", namespace: "default" },
      }),
    );
    assert.equal(gone.code, 404);
  });

  it("logs requests with their class and counts them", async () => {
    h.server.resetCounts();
    await h.core.readNamespace({ name: "default" });
    await h.core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "counted" } } });
    assert.deepEqual(h.server.counts(), { reads: 1, writes: 1, watches: 0 });
    const post = h.server.requests[1];
    assert.equal(post.method, "POST");
    assert.equal(post.path, "/api/v1/namespaces/default/configmaps");
    assert.equal(post.status, 201);
    assert.match(post.contentType ?? "", /application\/json/);
  });

  it("injects faults with Retry-After, then recovers", async () => {
    h.server.injectFault({
      method: "GET",
      path: /\/configmaps\/counted$/,
      status: 429,
      retryAfterSeconds: 2,
      times: 1,
    });
    const r = await raw(h.server, "GET", "/api/v1/namespaces/default/configmaps/counted");
    assert.equal(r.status, 429);
    assert.equal(r.headers.get("retry-after"), "2");
    assert.equal(r.json.reason, "TooManyRequests");
    assert.equal(r.json.details.retryAfterSeconds, 2);
    const again = await h.core.readNamespacedConfigMap({ name: "counted", namespace: "default" });
    assert.equal(again.metadata?.name, "counted");
  });
});
