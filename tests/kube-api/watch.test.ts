import assert from "node:assert/strict";
import * as k8s from "@kubernetes/client-node";
import { type Harness, harness, merge, raw } from "./helpers";

/** Collects watch events and lets a test await the n-th one. */
class Events {
  readonly seen: { type: string; obj: any }[] = [];
  private waiters: { n: number; resolve: () => void }[] = [];
  push = (type: string, obj: any) => {
    this.seen.push({ type, obj });
    this.waiters = this.waiters.filter((w) => {
      if (this.seen.length >= w.n) w.resolve();
      return this.seen.length < w.n;
    });
  };
  count(n: number): Promise<void> {
    if (this.seen.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }
  types(): string[] {
    return this.seen.map((e) => `${e.type} ${e.obj?.metadata?.name ?? ""}`.trim());
  }
}

describe("kube-api: watch", () => {
  let h: Harness;
  const aborts: AbortController[] = [];
  before(async () => {
    h = await harness({ historyWindow: 50, bookmarkIntervalMs: 20 });
  });
  after(async () => {
    for (const a of aborts) a.abort();
    await h.server.stop();
  });

  async function watch(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    ev: Events,
    done?: (e: unknown) => void,
  ) {
    const c = await new k8s.Watch(h.kc).watch(path, query, ev.push, done ?? (() => {}));
    aborts.push(c);
    return c;
  }

  it("sees ADDED then MODIFIED after a merge patch, and nothing for a no-op patch", async () => {
    const ev = new Events();
    const list = await h.core.listNamespacedSecret({ namespace: "default" });
    await watch(
      "/api/v1/namespaces/default/secrets",
      { resourceVersion: list.metadata?.resourceVersion },
      ev,
    );
    await h.core.createNamespacedSecret({
      namespace: "default",
      body: { metadata: { name: "w" }, stringData: { a: "1" } },
    });
    const patched = await h.core.patchNamespacedSecret(
      { name: "w", namespace: "default", body: { stringData: { a: "2" } } },
      merge,
    );
    await ev.count(2);
    assert.deepEqual(ev.types(), ["ADDED w", "MODIFIED w"]);
    assert.equal(ev.seen[1].obj.metadata.resourceVersion, patched.metadata?.resourceVersion);
    assert.equal(ev.seen[1].obj.data.a, Buffer.from("2").toString("base64"));
    const noop = await h.core.patchNamespacedSecret(
      { name: "w", namespace: "default", body: { stringData: { a: "2" } } },
      merge,
    );
    assert.equal(noop.metadata?.resourceVersion, patched.metadata?.resourceVersion);
    // A later real change is the next event the watch sees: the no-op produced none.
    await h.core.patchNamespacedSecret(
      { name: "w", namespace: "default", body: { metadata: { labels: { b: "1" } } } },
      merge,
    );
    await ev.count(3);
    assert.deepEqual(ev.types(), ["ADDED w", "MODIFIED w", "MODIFIED w"]);
    assert.equal(ev.seen[2].obj.metadata.labels.b, "1");
  });

  it("replays history after a resourceVersion and sends synthetic ADDED events without one", async () => {
    const start = await h.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "hist-1" } },
    });
    await h.core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "hist-2" } } });
    await h.core.deleteNamespacedConfigMap({ name: "hist-1", namespace: "default" });
    const replay = new Events();
    await watch(
      "/api/v1/namespaces/default/configmaps",
      { resourceVersion: start.metadata?.resourceVersion },
      replay,
    );
    await replay.count(2);
    assert.deepEqual(replay.types(), ["ADDED hist-2", "DELETED hist-1"]);
    const fresh = new Events();
    await watch("/api/v1/namespaces/default/configmaps", { fieldSelector: "metadata.name=hist-2" }, fresh);
    await fresh.count(1);
    assert.deepEqual(fresh.types(), ["ADDED hist-2"]);
  });

  it("filters by label selector, turning label changes into ADDED/DELETED, across all namespaces", async () => {
    const ev = new Events();
    await watch(
      "/api/v1/configmaps",
      {
        labelSelector: "app=sel",
        resourceVersion: String(
          Number((await h.core.listConfigMapForAllNamespaces()).metadata?.resourceVersion),
        ),
      },
      ev,
    );
    await h.core.createNamespacedConfigMap({
      namespace: "kube-system",
      body: { metadata: { name: "ls", labels: { app: "other" } } },
    });
    await h.core.patchNamespacedConfigMap(
      { name: "ls", namespace: "kube-system", body: { metadata: { labels: { app: "sel" } } } },
      merge,
    );
    await h.core.patchNamespacedConfigMap(
      { name: "ls", namespace: "kube-system", body: { data: { x: "1" } } },
      merge,
    );
    await h.core.patchNamespacedConfigMap(
      { name: "ls", namespace: "kube-system", body: { metadata: { labels: { app: "gone" } } } },
      merge,
    );
    await ev.count(3);
    assert.deepEqual(ev.types(), ["ADDED ls", "MODIFIED ls", "DELETED ls"]);
    assert.equal(ev.seen[0].obj.metadata.namespace, "kube-system");
  });

  it("sends an ERROR 410 Expired event for a resourceVersion older than the kept history", async () => {
    const first = await h.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "old" } },
    });
    for (let i = 0; i < 60; i++) {
      await h.core.patchNamespacedConfigMap(
        { name: "old", namespace: "default", body: { data: { i: String(i) } } },
        merge,
      );
    }
    const ev = new Events();
    const closed = new Promise<unknown>((resolve) => {
      void watch(
        "/api/v1/namespaces/default/configmaps",
        { resourceVersion: first.metadata?.resourceVersion },
        ev,
        resolve,
      );
    });
    await ev.count(1);
    assert.equal(ev.seen[0].type, "ERROR");
    assert.equal(ev.seen[0].obj.code, 410);
    assert.equal(ev.seen[0].obj.reason, "Expired");
    assert.match(ev.seen[0].obj.message, /^too old resource version: \d+ \(\d+\)$/);
    assert.equal(await closed, null, "the server closes the stream after the error");
  });

  it("sends BOOKMARK events when allowed, and closes after timeoutSeconds", async () => {
    const ev = new Events();
    const rv = (await h.core.listNamespacedPod({ namespace: "default" })).metadata?.resourceVersion;
    const closed = new Promise<unknown>((resolve) => {
      void watch(
        "/api/v1/namespaces/default/pods",
        { resourceVersion: rv, allowWatchBookmarks: true, timeoutSeconds: 1 },
        ev,
        resolve,
      );
    });
    await ev.count(1);
    assert.equal(ev.seen[0].type, "BOOKMARK");
    assert.equal(ev.seen[0].obj.kind, "Pod");
    assert.match(ev.seen[0].obj.metadata.resourceVersion, /^\d+$/);
    assert.equal(await closed, null);
  });

  it("keeps a makeInformer cache in sync", async () => {
    const listFn = () => h.core.listNamespacedService({ namespace: "default", labelSelector: "inf=yes" });
    const informer = k8s.makeInformer(h.kc, "/api/v1/namespaces/default/services", listFn, "inf=yes");
    const added: string[] = [];
    const updated: string[] = [];
    const deleted: string[] = [];
    let onDelete: () => void = () => {};
    const deletedOnce = new Promise<void>((resolve) => {
      onDelete = resolve;
    });
    let onUpdate: () => void = () => {};
    const updatedOnce = new Promise<void>((resolve) => {
      onUpdate = resolve;
    });
    informer.on("add", (o) => added.push(o.metadata!.name!));
    informer.on("update", (o) => {
      updated.push(o.metadata!.name!);
      onUpdate();
    });
    informer.on("delete", (o) => {
      deleted.push(o.metadata!.name!);
      onDelete();
    });
    await h.core.createNamespacedService({
      namespace: "default",
      body: { metadata: { name: "inf-a", labels: { inf: "yes" } }, spec: { ports: [{ port: 80 }] } },
    });
    await informer.start();
    await h.core.patchNamespacedServiceStatus(
      {
        name: "inf-a",
        namespace: "default",
        body: { status: { loadBalancer: { ingress: [{ ip: "100.64.0.9" }] } } },
      },
      merge,
    );
    await updatedOnce;
    assert.equal(informer.get("inf-a", "default")?.status?.loadBalancer?.ingress?.[0].ip, "100.64.0.9");
    await h.core.deleteNamespacedService({ name: "inf-a", namespace: "default" });
    await deletedOnce;
    await informer.stop();
    assert.deepEqual(added, ["inf-a"]);
    assert.deepEqual(updated, ["inf-a"]);
    assert.deepEqual(deleted, ["inf-a"]);
  });

  it("counts watch requests separately and accepts watch=1", async () => {
    h.server.resetCounts();
    const r = await h.server.fetch(
      `${h.server.url}/api/v1/namespaces/default/secrets?watch=1&timeoutSeconds=1`,
      {
        headers: { Authorization: `Bearer ${h.server.token}` },
      },
    );
    const text = await r.text();
    assert.ok(text.split("\n").some((l) => l.includes('"ADDED"')));
    assert.equal(h.server.counts().watches, 1);
    void raw;
  });
});
