import assert from "node:assert/strict";
import { failure, type Harness, harness, merge, raw, statefulSet, waitGone } from "./helpers";

describe("kube-api: deletion, finalizers, propagation and garbage collection", () => {
  let h: Harness;
  before(async () => {
    h = await harness();
  });
  after(() => h.server.stop());

  const exists = (kind: string, ns: string, name: string) => () =>
    h.server.getObject(kind === "StatefulSet" ? "apps/v1" : "v1", kind, ns || undefined, name) !== undefined;

  it("deletes an object without finalizers at once with a Success Status", async () => {
    const cm = await h.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "plain" } },
    });
    const r = await raw(h.server, "DELETE", "/api/v1/namespaces/default/configmaps/plain");
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Success",
      details: { name: "plain", kind: "configmaps", uid: cm.metadata?.uid },
    });
    assert.equal(
      (await failure(h.core.readNamespacedConfigMap({ name: "plain", namespace: "default" }))).code,
      404,
    );
  });

  it("keeps an object with finalizers readable, forbids new finalizers, deletes on removal of the last", async () => {
    await h.core.createNamespacedService({
      namespace: "default",
      body: {
        metadata: { name: "fin", finalizers: ["tailscale.com/finalizer"] },
        spec: { ports: [{ port: 80 }] },
      },
    });
    const del = await raw(h.server, "DELETE", "/api/v1/namespaces/default/services/fin");
    assert.equal(del.status, 200);
    assert.equal(del.json.kind, "Service");
    assert.match(del.json.metadata.deletionTimestamp, /Z$/);
    assert.equal(del.json.metadata.deletionGracePeriodSeconds, 0);
    assert.deepEqual(del.json.metadata.finalizers, ["tailscale.com/finalizer"]);
    const live = await h.core.readNamespacedService({ name: "fin", namespace: "default" });
    assert.ok(live.metadata?.deletionTimestamp);
    const added = await failure(
      h.core.patchNamespacedService(
        {
          name: "fin",
          namespace: "default",
          body: { metadata: { finalizers: ["tailscale.com/finalizer", "other.io/x"] } },
        },
        merge,
      ),
    );
    assert.equal(added.code, 422);
    assert.equal(
      added.status.details.causes[0].message,
      'Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"other.io/x"}',
    );
    await h.core.patchNamespacedService(
      { name: "fin", namespace: "default", body: { metadata: { finalizers: null } } },
      merge,
    );
    assert.equal(
      (await failure(h.core.readNamespacedService({ name: "fin", namespace: "default" }))).code,
      404,
    );
  });

  it("answers a stale delete precondition with 409 and the recorded message", async () => {
    const cm = await h.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "pre" } },
    });
    await h.core.patchNamespacedConfigMap(
      { name: "pre", namespace: "default", body: { data: { a: "1" } } },
      merge,
    );
    const { code, status } = await failure(
      h.core.deleteNamespacedConfigMap({
        name: "pre",
        namespace: "default",
        body: { preconditions: { resourceVersion: cm.metadata?.resourceVersion } },
      }),
    );
    assert.equal(code, 409);
    const now = h.server.getObject("v1", "ConfigMap", "default", "pre").metadata.resourceVersion;
    assert.equal(
      status.message,
      `Operation cannot be fulfilled on configmaps "pre": the ResourceVersion in the precondition (${cm.metadata?.resourceVersion}) does not match the ResourceVersion in record (${now}). The object might have been modified`,
    );
  });

  it("Background (default): dependents are garbage-collected after the owner is gone", async () => {
    const sts = await h.apps.createNamespacedStatefulSet({
      namespace: "default",
      body: statefulSet("owner-bg"),
    });
    const ownerRef = {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      name: "owner-bg",
      uid: sts.metadata!.uid!,
    };
    await h.core.createNamespacedSecret({
      namespace: "default",
      body: { metadata: { name: "dep-bg", ownerReferences: [ownerRef] } },
    });
    await h.apps.deleteNamespacedStatefulSet({ name: "owner-bg", namespace: "default" });
    await waitGone(h, "/api/v1/namespaces/default/secrets", "dep-bg", exists("Secret", "default", "dep-bg"));
    assert.equal(h.server.getObject("v1", "Secret", "default", "dep-bg"), undefined);
  });

  it("accepts ownerReferences to an absent owner and collects the dependent later", async () => {
    await h.core.createNamespacedConfigMap({
      namespace: "default",
      body: {
        metadata: {
          name: "orphaned-at-birth",
          ownerReferences: [
            {
              apiVersion: "v1",
              kind: "ConfigMap",
              name: "ghost",
              uid: "00000000-0000-0000-0000-000000000000",
            },
          ],
        },
      },
    });
    await waitGone(
      h,
      "/api/v1/namespaces/default/configmaps",
      "orphaned-at-birth",
      exists("ConfigMap", "default", "orphaned-at-birth"),
    );
  });

  it("Foreground: the owner gets foregroundDeletion and goes after its blocking dependents", async () => {
    const sts = await h.apps.createNamespacedStatefulSet({
      namespace: "default",
      body: statefulSet("owner-fg"),
    });
    const ownerRef = {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      name: "owner-fg",
      uid: sts.metadata!.uid!,
      controller: true,
      blockOwnerDeletion: true,
    };
    await h.core.createNamespacedPod({
      namespace: "default",
      body: {
        metadata: { name: "owner-fg-0", ownerReferences: [ownerRef], finalizers: ["test.io/hold"] },
        spec: { containers: [{ name: "c", image: "busybox:1" }] },
      },
    });
    const del = await raw(h.server, "DELETE", "/apis/apps/v1/namespaces/default/statefulsets/owner-fg", {
      propagationPolicy: "Foreground",
    });
    assert.equal(del.status, 200);
    assert.deepEqual(del.json.metadata.finalizers, ["foregroundDeletion"]);
    assert.ok(del.json.metadata.deletionTimestamp);
    // The pod is held by its own finalizer, so the owner waits: release it and both go.
    const podGone = waitGone(
      h,
      "/api/v1/namespaces/default/pods",
      "owner-fg-0",
      exists("Pod", "default", "owner-fg-0"),
    );
    const stsGone = waitGone(
      h,
      "/apis/apps/v1/namespaces/default/statefulsets",
      "owner-fg",
      exists("StatefulSet", "default", "owner-fg"),
    );
    const held = await h.apps.readNamespacedStatefulSet({ name: "owner-fg", namespace: "default" });
    assert.deepEqual(held.metadata?.finalizers, ["foregroundDeletion"]);
    const pod = await h.core.readNamespacedPod({ name: "owner-fg-0", namespace: "default" });
    assert.ok(pod.metadata?.deletionTimestamp, "the GC deleted the blocking dependent");
    await h.core.patchNamespacedPod(
      { name: "owner-fg-0", namespace: "default", body: { metadata: { finalizers: null } } },
      merge,
    );
    await podGone;
    await stsGone;
  });

  it("Orphan: dependents lose their ownerReference and stay", async () => {
    const owner = await h.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "owner-or" } },
    });
    await h.core.createNamespacedSecret({
      namespace: "default",
      body: {
        metadata: {
          name: "dep-or",
          ownerReferences: [
            { apiVersion: "v1", kind: "ConfigMap", name: "owner-or", uid: owner.metadata!.uid! },
          ],
        },
      },
    });
    const del = await raw(
      h.server,
      "DELETE",
      "/api/v1/namespaces/default/configmaps/owner-or?propagationPolicy=Orphan",
    );
    assert.deepEqual(del.json.metadata.finalizers, ["orphan"]);
    await waitGone(
      h,
      "/api/v1/namespaces/default/configmaps",
      "owner-or",
      exists("ConfigMap", "default", "owner-or"),
    );
    const dep = await h.core.readNamespacedSecret({ name: "dep-or", namespace: "default" });
    assert.equal(dep.metadata?.ownerReferences, undefined);
  });

  it("deletecollection honours labelSelector and propagationPolicy", async () => {
    for (const n of ["dc-a", "dc-b"]) {
      const body = statefulSet(n);
      body.metadata!.labels = { "tailscale.com/parent": "pg" };
      await h.apps.createNamespacedStatefulSet({ namespace: "default", body });
    }
    await h.apps.createNamespacedStatefulSet({ namespace: "default", body: statefulSet("dc-keep") });
    const out = await h.apps.deleteCollectionNamespacedStatefulSet({
      namespace: "default",
      labelSelector: "tailscale.com/parent=pg",
      propagationPolicy: "Foreground",
    });
    assert.equal(out.status, undefined);
    await Promise.all(
      ["dc-a", "dc-b"].map((n) =>
        waitGone(h, "/apis/apps/v1/namespaces/default/statefulsets", n, exists("StatefulSet", "default", n)),
      ),
    );
    assert.ok(h.server.getObject("apps/v1", "StatefulSet", "default", "dc-keep"));
  });

  it("namespace lifecycle: default ServiceAccount appears; deletion terminates and empties the namespace", async () => {
    await h.core.createNamespace({ body: { metadata: { name: "tailscale" } } });
    const sa = await h.core.readNamespacedServiceAccount({ name: "default", namespace: "tailscale" });
    assert.equal(sa.metadata?.name, "default");
    await h.core.createNamespacedSecret({
      namespace: "tailscale",
      body: { metadata: { name: "held", finalizers: ["x.io/y"] } },
    });
    const del = await h.core.deleteNamespace({ name: "tailscale" });
    assert.equal((del as any).status?.phase, "Terminating");
    const blocked = await failure(
      h.core.createNamespacedConfigMap({ namespace: "tailscale", body: { metadata: { name: "late" } } }),
    );
    assert.equal(blocked.code, 403);
    assert.equal(
      blocked.status.message,
      'configmaps "late" is forbidden: unable to create new content in namespace tailscale because it is being terminated',
    );
    const nsGone = waitGone(h, "/api/v1/namespaces", "tailscale", exists("Namespace", "", "tailscale"));
    await h.core.patchNamespacedSecret(
      { name: "held", namespace: "tailscale", body: { metadata: { finalizers: null } } },
      merge,
    );
    await nsGone;
  });
});
