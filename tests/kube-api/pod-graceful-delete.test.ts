import assert from "node:assert/strict";
import * as k8s from "@kubernetes/client-node";
import { failure, type Harness, harness, raw } from "./helpers";

/**
 * Graceful Pod deletion as the real API server does it: podStrategy.CheckGracefulDelete
 * (kubernetes/kubernetes pkg/registry/core/pod/strategy.go) and rest.BeforeDelete
 * (staging/src/k8s.io/apiserver/pkg/registry/rest/delete.go).
 */
describe("kube-api: graceful Pod deletion", () => {
  let h: Harness;
  const aborts: AbortController[] = [];
  before(async () => {
    h = await harness();
  });
  after(async () => {
    for (const a of aborts) a.abort();
    await h.server.stop();
  });

  const pod = (name: string, spec: Record<string, unknown> = {}): k8s.V1Pod => ({
    metadata: { name },
    spec: { containers: [{ name: "c", image: "busybox:1" }], ...spec },
  });
  const path = (name: string) => `/api/v1/namespaces/default/pods/${name}`;

  it("marks a bound Pod with deletionTimestamp and the spec's grace, keeps it until a delete with 0; watches see MODIFIED then DELETED", async () => {
    const created = await h.core.createNamespacedPod({
      namespace: "default",
      body: pod("bound", { nodeName: "node-1", terminationGracePeriodSeconds: 45 }),
    });
    const seen: string[] = [];
    let deleted!: () => void;
    const gone = new Promise<void>((r) => {
      deleted = r;
    });
    aborts.push(
      await new k8s.Watch(h.kc).watch(
        "/api/v1/namespaces/default/pods",
        { resourceVersion: created.metadata?.resourceVersion, fieldSelector: "metadata.name=bound" },
        (type, obj: any) => {
          seen.push(`${type} ${obj.metadata.deletionGracePeriodSeconds ?? "-"}`);
          if (type === "DELETED") deleted();
        },
        () => {},
      ),
    );
    const del = await raw(h.server, "DELETE", path("bound"));
    assert.equal(del.status, 200);
    assert.equal(del.json.kind, "Pod");
    assert.equal(del.json.metadata.deletionGracePeriodSeconds, 45);
    const ts = Date.parse(del.json.metadata.deletionTimestamp);
    const createdAt = Date.parse(created.metadata!.creationTimestamp as unknown as string);
    assert.ok(ts >= createdAt + 44_000, "deletionTimestamp is now + grace");
    const live = await h.core.readNamespacedPod({ name: "bound", namespace: "default" });
    assert.equal(live.metadata?.deletionGracePeriodSeconds, 45);
    // A second delete without a shorter grace changes nothing.
    const again = await raw(h.server, "DELETE", path("bound"));
    assert.equal(again.status, 200);
    assert.equal(again.json.metadata.resourceVersion, live.metadata?.resourceVersion);
    // The kubelet's final delete.
    const fin = await raw(h.server, "DELETE", path("bound"), { gracePeriodSeconds: 0 });
    assert.equal(fin.status, 200);
    await gone;
    assert.deepEqual(seen, ["MODIFIED 45", "DELETED 45"]);
    assert.equal(
      (await failure(h.core.readNamespacedPod({ name: "bound", namespace: "default" }))).code,
      404,
    );
  });

  it("takes the grace from the body over the spec, defaults the spec to 30, and lets a later delete shorten it", async () => {
    await h.core.createNamespacedPod({
      namespace: "default",
      body: pod("body-grace", { nodeName: "node-1" }),
    });
    const d1 = await raw(h.server, "DELETE", path("body-grace"), { gracePeriodSeconds: 20 });
    assert.equal(d1.json.metadata.deletionGracePeriodSeconds, 20);
    const d2 = await raw(h.server, "DELETE", path("body-grace"), { gracePeriodSeconds: 5 });
    assert.equal(d2.json.metadata.deletionGracePeriodSeconds, 5);
    assert.equal(
      Date.parse(d1.json.metadata.deletionTimestamp) - Date.parse(d2.json.metadata.deletionTimestamp),
      15_000,
      "shortening moves deletionTimestamp by the difference",
    );
    const longer = await raw(h.server, "DELETE", `${path("body-grace")}?gracePeriodSeconds=60`);
    assert.equal(longer.json.metadata.deletionGracePeriodSeconds, 5, "a grace can only be shortened");
    await raw(h.server, "DELETE", `${path("body-grace")}?gracePeriodSeconds=0`);
    assert.equal(
      (await failure(h.core.readNamespacedPod({ name: "body-grace", namespace: "default" }))).code,
      404,
    );

    await h.core.createNamespacedPod({
      namespace: "default",
      body: pod("default-grace", { nodeName: "node-1" }),
    });
    const d3 = await raw(h.server, "DELETE", path("default-grace"));
    assert.equal(d3.json.metadata.deletionGracePeriodSeconds, 30);
  });

  it("deletes a Pod not bound to a node, or already terminated, at once", async () => {
    await h.core.createNamespacedPod({
      namespace: "default",
      body: pod("unbound", { terminationGracePeriodSeconds: 45 }),
    });
    const del = await raw(h.server, "DELETE", path("unbound"));
    assert.equal(del.status, 200);
    assert.equal(
      (await failure(h.core.readNamespacedPod({ name: "unbound", namespace: "default" }))).code,
      404,
    );

    await h.core.createNamespacedPod({ namespace: "default", body: pod("done", { nodeName: "node-1" }) });
    await h.core.replaceNamespacedPodStatus({
      name: "done",
      namespace: "default",
      body: {
        ...(await h.core.readNamespacedPod({ name: "done", namespace: "default" })),
        status: { phase: "Succeeded" },
      },
    });
    await raw(h.server, "DELETE", path("done"));
    assert.equal((await failure(h.core.readNamespacedPod({ name: "done", namespace: "default" }))).code, 404);
  });

  it("takes the kubelet's last writes: a terminating Pod's terminal status, then its delete with the Pod's UID", async () => {
    // kubernetes/kubernetes@0033cb0a pkg/kubelet/status/status_manager.go syncPod: the status patch, then
    // (phase terminal on the server) a delete with gracePeriodSeconds 0 and the UID as precondition.
    const created = await h.core.createNamespacedPod({
      namespace: "default",
      body: pod("ending", { nodeName: "node-1" }),
    });
    const uid = created.metadata!.uid!;
    await raw(h.server, "DELETE", path("ending"));
    const live = await h.core.readNamespacedPod({ name: "ending", namespace: "default" });
    const ended = await h.core.replaceNamespacedPodStatus({
      name: "ending",
      namespace: "default",
      body: {
        ...live,
        status: {
          phase: "Failed",
          containerStatuses: [
            {
              name: "c",
              image: "busybox:1",
              imageID: "",
              ready: false,
              restartCount: 0,
              state: { terminated: { exitCode: 137, reason: "Error" } },
            },
          ],
        },
      },
    });
    assert.equal(ended.status?.phase, "Failed");
    assert.equal(ended.metadata?.deletionTimestamp?.toString(), live.metadata?.deletionTimestamp?.toString());
    assert.equal(ended.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 137);
    // A replacement of the same name (a StatefulSet's) is safe from a late final delete of the old one.
    await raw(h.server, "DELETE", path("ending"), { gracePeriodSeconds: 0, preconditions: { uid } });
    const next = await h.core.createNamespacedPod({
      namespace: "default",
      body: pod("ending", { nodeName: "node-1" }),
    });
    const late = await raw(h.server, "DELETE", path("ending"), {
      gracePeriodSeconds: 0,
      preconditions: { uid },
    });
    assert.equal(late.status, 409);
    assert.equal(
      late.json.message,
      `Operation cannot be fulfilled on pods "ending": Precondition failed: UID in precondition: ${uid}, UID in object meta: ${next.metadata?.uid}`,
    );
    await raw(h.server, "DELETE", path("ending"), { gracePeriodSeconds: 0 });
  });

  it("keeps a terminating Pod whose finalizers go while its grace runs", async () => {
    await h.core.createNamespacedPod({
      namespace: "default",
      body: {
        ...pod("held", { nodeName: "node-1" }),
        metadata: { name: "held", finalizers: ["test.io/hold"] },
      },
    });
    await raw(h.server, "DELETE", path("held"));
    await raw(
      h.server,
      "PATCH",
      path("held"),
      { metadata: { finalizers: null } },
      "application/merge-patch+json",
    );
    const live = await h.core.readNamespacedPod({ name: "held", namespace: "default" });
    assert.equal(live.metadata?.deletionGracePeriodSeconds, 30);
    await raw(h.server, "DELETE", path("held"), { gracePeriodSeconds: 0 });
    assert.equal((await failure(h.core.readNamespacedPod({ name: "held", namespace: "default" }))).code, 404);
  });
});
