import assert from "node:assert/strict";
import * as k8s from "@kubernetes/client-node";
import { apply, failure, type Harness, harness, merge, raw, statefulSet, strategic } from "./helpers";

describe("kube-api: patch types, server-side apply and the status subresource", () => {
  let h: Harness;
  before(async () => {
    h = await harness();
  });
  after(() => h.server.stop());

  it("merge patch: stringData merges into data; a no-op patch bumps nothing", async () => {
    await h.core.createNamespacedSecret({
      namespace: "default",
      body: { metadata: { name: "m" }, stringData: { a: "1" } },
    });
    const p = await h.core.patchNamespacedSecret(
      { name: "m", namespace: "default", body: { stringData: { b: "2" } } },
      merge,
    );
    assert.deepEqual(Object.keys(p.data ?? {}).sort(), ["a", "b"]);
    const again = await h.core.patchNamespacedSecret(
      { name: "m", namespace: "default", body: { stringData: { b: "2" } } },
      merge,
    );
    assert.equal(again.metadata?.resourceVersion, p.metadata?.resourceVersion);
    const del = await h.core.patchNamespacedSecret(
      { name: "m", namespace: "default", body: { data: { a: null } } },
      merge,
    );
    assert.deepEqual(Object.keys(del.data ?? {}), ["b"]);
  });

  it("JSON Patch: the client's default content type with an object body is the recorded 400; failed test is 422", async () => {
    await h.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "jp" }, data: { a: "1" } },
    });
    const wrong = await failure(
      h.core.patchNamespacedConfigMap({ name: "jp", namespace: "default", body: { data: { a: "2" } } }),
    );
    assert.equal(wrong.code, 400);
    assert.equal(
      wrong.status.message,
      "error decoding patch: json: cannot unmarshal object into Go value of type []handlers.jsonPatchOp",
    );
    const ok = await h.core.patchNamespacedConfigMap({
      name: "jp",
      namespace: "default",
      body: [{ op: "replace", path: "/data/a", value: "2" }],
    });
    assert.equal(ok.data?.a, "2");
    const test = await failure(
      h.core.patchNamespacedConfigMap({
        name: "jp",
        namespace: "default",
        body: [
          { op: "test", path: "/data/a", value: "nope" },
          { op: "replace", path: "/data/a", value: "3" },
        ],
      }),
    );
    assert.equal(test.code, 422);
    assert.deepEqual(test.status, {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: "the server rejected our request due to an error in our request",
      reason: "Invalid",
      details: {},
      code: 422,
    });
  });

  it("strategic merge patch merges containers, env and volumes by key and honours $patch", async () => {
    const body = statefulSet("smp");
    const c = body.spec!.template.spec!.containers[0];
    c.env = [
      { name: "A", value: "1" },
      { name: "B", value: "2" },
    ];
    body.spec!.template.spec!.volumes = [{ name: "cfg", emptyDir: {} }];
    await h.apps.createNamespacedStatefulSet({ namespace: "default", body });
    const patched = await h.apps.patchNamespacedStatefulSet(
      {
        name: "smp",
        namespace: "default",
        body: {
          spec: {
            template: {
              spec: {
                containers: [
                  {
                    name: "proxy",
                    env: [
                      { name: "B", value: "22" },
                      { name: "C", value: "3" },
                    ],
                  },
                ],
                volumes: [
                  { name: "cfg", $patch: "delete" },
                  { name: "state", emptyDir: {} },
                ],
              },
            },
          },
        },
      },
      strategic,
    );
    const pod = patched.spec!.template.spec!;
    assert.equal(pod.containers.length, 1);
    assert.equal(pod.containers[0].image, "tailscale/tailscale:v1.80.0");
    assert.deepEqual(
      pod.containers[0].env?.map((e) => `${e.name}=${e.value}`),
      ["A=1", "B=22", "C=3"],
    );
    assert.deepEqual(
      pod.volumes?.map((v) => v.name),
      ["state"],
    );
    assert.equal(patched.metadata?.generation, 2);
    const replaced = await h.apps.patchNamespacedStatefulSet(
      {
        name: "smp",
        namespace: "default",
        body: {
          spec: {
            template: {
              spec: { containers: [{ name: "other", image: "busybox:1" }, { $patch: "replace" }] },
            },
          },
        },
      },
      strategic,
    );
    assert.deepEqual(
      replaced.spec?.template.spec?.containers.map((x) => x.name),
      ["other"],
    );
  });

  it("labels-only patch bumps resourceVersion but not generation; status on the main endpoint is ignored", async () => {
    const sts = await h.apps.createNamespacedStatefulSet({ namespace: "default", body: statefulSet("gen") });
    const labelled = await h.apps.patchNamespacedStatefulSet(
      {
        name: "gen",
        namespace: "default",
        body: { metadata: { labels: { x: "y" } }, status: { replicas: 5 } },
      },
      merge,
    );
    assert.notEqual(labelled.metadata?.resourceVersion, sts.metadata?.resourceVersion);
    assert.equal(labelled.metadata?.generation, 1);
    assert.equal(labelled.status?.replicas, 0);
    const status = await h.apps.patchNamespacedStatefulSetStatus(
      {
        name: "gen",
        namespace: "default",
        body: {
          spec: { replicas: 9 },
          metadata: { labels: { z: "1" } },
          status: { replicas: 1, readyReplicas: 1, observedGeneration: 1 },
        },
      },
      merge,
    );
    assert.equal(status.status?.readyReplicas, 1);
    assert.equal(status.spec?.replicas, 1, "/status ignores spec");
    assert.equal(status.metadata?.labels?.z, undefined, "/status ignores metadata");
    assert.equal(status.metadata?.generation, 1);
  });

  it("Service status via SSA on /status, as the package writes it", async () => {
    await h.core.createNamespacedService({
      namespace: "default",
      body: { metadata: { name: "exposed" }, spec: { type: "LoadBalancer", ports: [{ port: 443 }] } },
    });
    const out = await h.core.patchNamespacedServiceStatus(
      {
        name: "exposed",
        namespace: "default",
        fieldManager: "pulumi-tailnet",
        force: true,
        body: {
          apiVersion: "v1",
          kind: "Service",
          metadata: { name: "exposed", namespace: "default" },
          status: {
            loadBalancer: { ingress: [{ hostname: "web.tailnet-1234.ts.net" }, { ip: "100.64.0.7" }] },
          },
        },
      },
      apply,
    );
    assert.equal(out.status?.loadBalancer?.ingress?.[0].hostname, "web.tailnet-1234.ts.net");
    assert.equal(out.spec?.ports?.[0].nodePort !== undefined, true, "LoadBalancer Services get node ports");
    const req = h.server.requests.at(-1)!;
    assert.equal(req.contentType, "application/apply-patch+yaml");
    assert.equal(req.query.fieldManager, "pulumi-tailnet");
  });

  it("server-side apply: fieldManager required (422), apiVersion/kind required (400), managedFields rejected", async () => {
    const noMgr = await raw(
      h.server,
      "PATCH",
      "/api/v1/namespaces/default/configmaps/ssa",
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "ssa" } },
      "application/apply-patch+yaml",
    );
    assert.equal(noMgr.status, 422);
    assert.equal(
      noMgr.json.message,
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
    );
    assert.deepEqual(
      { group: noMgr.json.details.group, kind: noMgr.json.details.kind },
      { group: "meta.k8s.io", kind: "PatchOptions" },
    );
    const noKind = await raw(
      h.server,
      "PATCH",
      "/api/v1/namespaces/default/configmaps/ssa?fieldManager=a",
      "metadata:\n  name: ssa\n",
      "application/apply-patch+yaml",
    );
    assert.equal(noKind.status, 400);
    assert.equal(noKind.json.message, "invalid object type: /, Kind=");
    const mf = await raw(
      h.server,
      "PATCH",
      "/api/v1/namespaces/default/configmaps/ssa?fieldManager=a",
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "ssa", managedFields: [] } },
      "application/apply-patch+yaml",
    );
    assert.equal(mf.json.message, "metadata.managedFields must be nil");
  });

  it("server-side apply creates, is a no-op when repeated, conflicts across managers, and force takes over", async () => {
    const spec = (replicas: number) =>
      ({
        ...statefulSet("applied"),
        apiVersion: "apps/v1",
        kind: "StatefulSet",
        metadata: { name: "applied", namespace: "default" },
        spec: { ...statefulSet("applied").spec!, replicas },
      }) as k8s.KubernetesObject;
    const created = await h.objects.patch(
      spec(1),
      undefined,
      undefined,
      "first",
      true,
      k8s.PatchStrategy.ServerSideApply,
    );
    assert.equal((created as k8s.V1StatefulSet).spec?.replicas, 1);
    const again = await h.objects.patch(
      spec(1),
      undefined,
      undefined,
      "first",
      true,
      k8s.PatchStrategy.ServerSideApply,
    );
    assert.equal(again.metadata?.resourceVersion, created.metadata?.resourceVersion);
    const { code, status } = await failure(
      h.objects.patch(spec(2), undefined, undefined, "second", false, k8s.PatchStrategy.ServerSideApply),
    );
    assert.equal(code, 409);
    assert.equal(status.reason, "Conflict");
    assert.equal(
      status.message,
      'Apply failed with 1 conflict: conflict with "first" using apps/v1: .spec.replicas',
    );
    assert.deepEqual(status.details, {
      causes: [
        {
          reason: "FieldManagerConflict",
          message: 'conflict with "first" using apps/v1',
          field: ".spec.replicas",
        },
      ],
    });
    const forced = await h.objects.patch(
      spec(2),
      undefined,
      undefined,
      "second",
      true,
      k8s.PatchStrategy.ServerSideApply,
    );
    assert.equal((forced as k8s.V1StatefulSet).spec?.replicas, 2);
  });

  it("server-side apply removes fields the manager stopped applying", async () => {
    const cm = (data: Record<string, string>) => ({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "shrinks", namespace: "default" },
      data,
    });
    await h.objects.patch(
      cm({ a: "1", b: "2" }),
      undefined,
      undefined,
      "mgr",
      true,
      k8s.PatchStrategy.ServerSideApply,
    );
    const out = (await h.objects.patch(
      cm({ a: "1" }),
      undefined,
      undefined,
      "mgr",
      true,
      k8s.PatchStrategy.ServerSideApply,
    )) as k8s.V1ConfigMap;
    assert.deepEqual(out.data, { a: "1" });
  });

  it("rejects an unknown patch content type with 415", async () => {
    await h.core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "ct" } } });
    const r = await raw(
      h.server,
      "PATCH",
      "/api/v1/namespaces/default/configmaps/ct",
      { data: {} },
      "text/plain",
    );
    assert.equal(r.status, 415);
    assert.equal(r.json.reason, "UnsupportedMediaType");
  });

  it("scales a StatefulSet through /scale", async () => {
    await h.apps.createNamespacedStatefulSet({ namespace: "default", body: statefulSet("scaled") });
    const scale = await h.apps.readNamespacedStatefulSetScale({ name: "scaled", namespace: "default" });
    assert.equal(scale.spec?.replicas, 1);
    assert.equal(scale.status?.selector, "app=scaled");
    await h.apps.patchNamespacedStatefulSetScale(
      { name: "scaled", namespace: "default", body: { spec: { replicas: 0 } } },
      merge,
    );
    const sts = await h.apps.readNamespacedStatefulSet({ name: "scaled", namespace: "default" });
    assert.equal(sts.spec?.replicas, 0);
    assert.equal(sts.metadata?.generation, 2);
  });
});
