import assert from "node:assert/strict";
import { failure, type Harness, harness, merge, raw } from "./helpers";

describe("kube-api: create, read, update and their errors", () => {
  let h: Harness;
  before(async () => {
    h = await harness();
  });
  after(() => h.server.stop());

  it("populates uid, creationTimestamp (seconds) and a global, increasing resourceVersion", async () => {
    const a = await raw(h.server, "POST", "/api/v1/namespaces/default/secrets", {
      metadata: { name: "meta-a" },
    });
    const b = await raw(h.server, "POST", "/api/v1/namespaces/default/configmaps", {
      metadata: { name: "meta-b" },
    });
    assert.equal(a.status, 201);
    assert.match(a.json.metadata.uid, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.match(a.json.metadata.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.match(a.json.metadata.resourceVersion, /^\d+$/);
    assert.ok(Number(b.json.metadata.resourceVersion) > Number(a.json.metadata.resourceVersion));
    assert.equal(a.json.metadata.generation, undefined, "Secrets have no generation");
    // managedFields are served: the creator (an Update) owns what it wrote, defaults included.
    assert.deepEqual(
      a.json.metadata.managedFields.map((m: any) => ({ ...m, time: typeof m.time })),
      [
        {
          manager: a.json.metadata.managedFields[0].manager,
          operation: "Update",
          apiVersion: "v1",
          time: "string",
          fieldsType: "FieldsV1",
          fieldsV1: { "f:type": {} },
        },
      ],
    );
  });

  it("answers GET of a missing object with 404 NotFound naming the resource and group", async () => {
    const core = await failure(h.core.readNamespacedSecret({ name: "nope", namespace: "default" }));
    assert.equal(core.code, 404);
    assert.deepEqual(core.status, {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: 'secrets "nope" not found',
      reason: "NotFound",
      details: { name: "nope", kind: "secrets" },
      code: 404,
    });
    const apps = await failure(h.apps.readNamespacedStatefulSet({ name: "nope", namespace: "default" }));
    assert.equal(apps.status.message, 'statefulsets.apps "nope" not found');
    assert.deepEqual(apps.status.details, { name: "nope", group: "apps", kind: "statefulsets" });
    const rbac = await failure(h.rbac.readNamespacedRole({ name: "nope", namespace: "default" }));
    assert.equal(rbac.status.message, 'roles.rbac.authorization.k8s.io "nope" not found');
  });

  it("answers a duplicate create with 409 AlreadyExists", async () => {
    await h.core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "dup" } } });
    const { code, status } = await failure(
      h.core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "dup" } } }),
    );
    assert.equal(code, 409);
    assert.equal(status.reason, "AlreadyExists");
    assert.equal(status.message, 'configmaps "dup" already exists');
    assert.deepEqual(status.details, { name: "dup", kind: "configmaps" });
  });

  it("rejects PUT with a stale resourceVersion with the exact Conflict message", async () => {
    const cm = await h.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "rv" }, data: { a: "1" } },
    });
    await h.core.replaceNamespacedConfigMap({
      name: "rv",
      namespace: "default",
      body: { ...cm, data: { a: "2" } },
    });
    const { code, status } = await failure(
      h.core.replaceNamespacedConfigMap({
        name: "rv",
        namespace: "default",
        body: { ...cm, data: { a: "3" } },
      }),
    );
    assert.equal(code, 409);
    assert.equal(status.reason, "Conflict");
    assert.equal(
      status.message,
      'Operation cannot be fulfilled on configmaps "rv": the object has been modified; please apply your changes to the latest version and try again',
    );
  });

  it("allows PUT without a resourceVersion (unconditional update) on built-ins", async () => {
    await h.apps.createNamespacedStatefulSet({
      namespace: "default",
      body: {
        metadata: { name: "uncond" },
        spec: {
          selector: { matchLabels: { app: "u" } },
          serviceName: "u",
          template: {
            metadata: { labels: { app: "u" } },
            spec: { containers: [{ name: "c", image: "busybox:1" }] },
          },
        },
      },
    });
    const updated = await h.apps.replaceNamespacedStatefulSet({
      name: "uncond",
      namespace: "default",
      body: {
        metadata: { name: "uncond" },
        spec: {
          replicas: 3,
          selector: { matchLabels: { app: "u" } },
          serviceName: "u",
          template: {
            metadata: { labels: { app: "u" } },
            spec: { containers: [{ name: "c", image: "busybox:1" }] },
          },
        },
      },
    });
    assert.equal(updated.spec?.replicas, 3);
    assert.equal(updated.metadata?.generation, 2);
  });

  it("simulates a concurrent writer with touch(): same content, new resourceVersion, stale PUT conflicts", async () => {
    const cm = await h.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "touched" } },
    });
    h.server.touch("v1", "ConfigMap", "default", "touched");
    const now = h.server.getObject("v1", "ConfigMap", "default", "touched");
    assert.ok(Number(now.metadata.resourceVersion) > Number(cm.metadata?.resourceVersion));
    const { code } = await failure(
      h.core.replaceNamespacedConfigMap({
        name: "touched",
        namespace: "default",
        body: { ...cm, data: { x: "y" } },
      }),
    );
    assert.equal(code, 409);
  });

  it("answers PUT and PATCH of a missing object with 404", async () => {
    const put = await failure(
      h.core.replaceNamespacedSecret({
        name: "ghost",
        namespace: "default",
        body: { metadata: { name: "ghost" } },
      }),
    );
    assert.equal(put.code, 404);
    const patch = await failure(
      h.core.patchNamespacedSecret({ name: "ghost", namespace: "default", body: { data: {} } }, merge),
    );
    assert.equal(patch.code, 404);
    assert.equal(patch.status.message, 'secrets "ghost" not found');
  });

  it("answers POST with metadata.resourceVersion set with the recorded 500", async () => {
    const r = await raw(h.server, "POST", "/api/v1/namespaces/default/secrets", {
      metadata: { name: "preset", resourceVersion: "5" },
    });
    assert.equal(r.status, 500);
    assert.deepEqual(r.json, {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: "resourceVersion should not be set on objects to be created",
      code: 500,
    });
  });

  it("answers name, namespace and apiVersion mismatches with the recorded 400s", async () => {
    await h.core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "n1" } } });
    const name = await raw(h.server, "PUT", "/api/v1/namespaces/default/configmaps/n1", {
      metadata: { name: "other" },
    });
    assert.equal(name.status, 400);
    assert.equal(name.json.reason, "BadRequest");
    assert.equal(name.json.message, "the name of the object (other) does not match the name on the URL (n1)");
    const ns = await raw(h.server, "POST", "/api/v1/namespaces/default/configmaps", {
      metadata: { name: "n2", namespace: "kube-system" },
    });
    assert.equal(ns.status, 400);
    assert.equal(
      ns.json.message,
      "the namespace of the provided object does not match the namespace sent on the request",
    );
    const av = await raw(h.server, "POST", "/apis/apps/v1/namespaces/default/statefulsets", {
      apiVersion: "apps/v2",
      kind: "StatefulSet",
      metadata: { name: "n3" },
    });
    assert.equal(av.status, 400);
    assert.equal(
      av.json.message,
      "the API version in the data (apps/v2) does not match the expected API version (apps/v1)",
    );
  });

  it("answers create in a missing namespace with 404 namespaces not found", async () => {
    const { code, status } = await failure(
      h.core.createNamespacedSecret({ namespace: "missing", body: { metadata: { name: "s" } } }),
    );
    assert.equal(code, 404);
    assert.equal(status.message, 'namespaces "missing" not found');
    assert.deepEqual(status.details, { name: "missing", kind: "namespaces" });
  });

  it("generates names from generateName with 5 chars of the real alphabet", async () => {
    const s = await h.core.createNamespacedSecret({
      namespace: "default",
      body: { metadata: { generateName: "ts-proxy-" } },
    });
    assert.match(s.metadata?.name ?? "", /^ts-proxy-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    assert.equal(s.metadata?.generateName, "ts-proxy-");
  });

  it("lists with label selectors (=, ==, !=, in, notin, exists, !exists) and field selectors", async () => {
    const mk = (name: string, labels: Record<string, string>) =>
      h.core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name, labels } } });
    await mk("sel-a", { app: "a", tier: "web" });
    await mk("sel-b", { app: "b", tier: "db" });
    await mk("sel-c", { app: "c" });
    const names = async (labelSelector?: string, fieldSelector?: string) =>
      (await h.core.listNamespacedConfigMap({ namespace: "default", labelSelector, fieldSelector })).items
        .map((i) => i.metadata?.name)
        .filter((n) => n?.startsWith("sel-"));
    assert.deepEqual(await names("app=a"), ["sel-a"]);
    assert.deepEqual(await names("app==b"), ["sel-b"]);
    assert.deepEqual(await names("app!=a"), ["sel-b", "sel-c"]);
    assert.deepEqual(await names("app in (a,c)"), ["sel-a", "sel-c"]);
    assert.deepEqual(await names("app notin (a,c)"), ["sel-b"]);
    assert.deepEqual(await names("tier"), ["sel-a", "sel-b"]);
    assert.deepEqual(await names("!tier"), ["sel-c"]);
    assert.deepEqual(await names("app in (a,b),tier=db"), ["sel-b"]);
    assert.deepEqual(await names(undefined, "metadata.name=sel-c"), ["sel-c"]);
    assert.deepEqual(await names(undefined, "metadata.name!=sel-c,metadata.namespace=default"), [
      "sel-a",
      "sel-b",
    ]);
    const list = await h.core.listNamespacedConfigMap({ namespace: "default", labelSelector: "app=a" });
    assert.match(list.metadata?.resourceVersion ?? "", /^\d+$/);
    const bad = await failure(
      h.core.listNamespacedConfigMap({ namespace: "default", fieldSelector: "spec.x=1" }),
    );
    assert.equal(bad.code, 400);
    assert.equal(bad.status.message, "field label not supported: spec.x");
  });

  it("lists across all namespaces and pages with limit/continue", async () => {
    await h.core.createNamespacedConfigMap({
      namespace: "kube-system",
      body: { metadata: { name: "page-x", labels: { page: "1" } } },
    });
    await h.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "page-y", labels: { page: "1" } } },
    });
    const all = await h.core.listConfigMapForAllNamespaces({ labelSelector: "page=1" });
    assert.deepEqual(
      all.items.map((i) => `${i.metadata?.namespace}/${i.metadata?.name}`),
      ["default/page-y", "kube-system/page-x"],
    );
    const first = await h.core.listConfigMapForAllNamespaces({ labelSelector: "page=1", limit: 1 });
    assert.equal(first.items.length, 1);
    assert.ok(first.metadata?._continue);
    const second = await h.core.listConfigMapForAllNamespaces({
      labelSelector: "page=1",
      limit: 1,
      _continue: first.metadata?._continue,
    });
    assert.equal(second.items[0].metadata?.name, "page-x");
    assert.equal(second.metadata?._continue, undefined);
  });

  it("does not persist dryRun=All writes but runs defaulting and validation", async () => {
    const s = await h.core.createNamespacedSecret({
      namespace: "default",
      dryRun: "All",
      body: { metadata: { name: "dry" }, stringData: { k: "v" } },
    });
    assert.equal(s.type, "Opaque");
    assert.deepEqual(s.data, { k: Buffer.from("v").toString("base64") });
    assert.equal(
      (await failure(h.core.readNamespacedSecret({ name: "dry", namespace: "default" }))).code,
      404,
    );
    const invalid = await failure(
      h.core.createNamespacedSecret({
        namespace: "default",
        dryRun: "All",
        body: { metadata: { name: "Bad_Name" } },
      }),
    );
    assert.equal(invalid.code, 422);
    await h.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "dry-up" }, data: { a: "1" } },
    });
    const patched = await h.core.patchNamespacedConfigMap(
      { name: "dry-up", namespace: "default", body: { data: { a: "2" } }, dryRun: "All" },
      merge,
    );
    assert.equal(patched.data?.a, "2");
    const live = await h.core.readNamespacedConfigMap({ name: "dry-up", namespace: "default" });
    assert.equal(live.data?.a, "1");
  });

  it("seeds objects through the API path and serves them from getObject/listObjects", () => {
    const svc = h.server.seed({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "seeded", namespace: "default" },
      spec: { selector: { app: "x" }, ports: [{ port: 8080 }] },
    });
    assert.match(svc.spec.clusterIP, /^10\.(9[6-9]|10[0-9]|11[01])\./);
    assert.equal(h.server.getObject("v1", "Service", "default", "seeded").spec.ports[0].targetPort, 8080);
    assert.ok(h.server.listObjects("v1", "Service", "default").some((s) => s.metadata.name === "seeded"));
    assert.throws(
      () =>
        h.server.seed({
          apiVersion: "v1",
          kind: "Service",
          metadata: { name: "Bad", namespace: "default" },
          spec: {},
        }),
      (e: any) => e.code === 422,
    );
  });
  it("accepts Events and EndpointSlices (with their defaults and address validation)", async () => {
    const ev = await h.core.createNamespacedEvent({
      namespace: "default",
      body: {
        metadata: { generateName: "proxy." },
        involvedObject: { kind: "Service", name: "web", namespace: "default" },
        reason: "Exposed",
        message: "exposed on the tailnet",
        type: "Normal",
      },
    });
    assert.match(ev.metadata?.name ?? "", /^proxy\./);
    const es = await raw(h.server, "POST", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices", {
      metadata: { name: "web-abc", labels: { "kubernetes.io/service-name": "web" } },
      addressType: "IPv4",
      endpoints: [{ addresses: ["10.1.0.5"] }],
      ports: [{ port: 8080 }],
    });
    assert.equal(es.status, 201);
    assert.deepEqual(es.json.ports, [{ port: 8080, name: "", protocol: "TCP" }]);
    const bad = await raw(h.server, "POST", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices", {
      metadata: { name: "web-bad" },
      addressType: "IPv4",
      endpoints: [{ addresses: ["not-an-ip"] }],
    });
    assert.equal(bad.status, 422);
    assert.equal(bad.json.details.causes[0].field, "endpoints[0].addresses[0]");
  });
});
