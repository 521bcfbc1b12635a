// Server-side apply as a real API server does it, for what pulumi-tailnet applies: managedFields served
// per manager and operation, removal of what a manager no longer applies (list elements whole, granular
// maps key by key, atomic lists whole), fields another manager owns kept, and conflicts with a
// manager of the same name that wrote with another operation.
import assert from "node:assert/strict";
import { type Harness, harness, raw } from "./helpers";

const STS = "/apis/apps/v1/namespaces/default/statefulsets";
const APPLY = "application/apply-patch+yaml";

function sts(name: string, pod: Record<string, unknown>, template: Record<string, unknown> = {}) {
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name, namespace: "default" },
    spec: {
      serviceName: name,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name }, ...template },
        spec: { containers: [{ name: "proxy", image: "tailscale/tailscale:v1.80.0" }], ...pod },
      },
    },
  };
}

describe("kube-api: server-side apply ownership and removal", () => {
  let h: Harness;
  before(async () => {
    h = await harness();
  });
  after(() => h.server.stop());

  const applyAs = (manager: string, body: unknown, name: string, force = false) =>
    raw(
      h.server,
      "PATCH",
      `${STS}/${name}?fieldManager=${manager}${force ? "&force=true" : ""}`,
      body,
      APPLY,
    );

  it("serves managedFields: one entry per manager and operation, FieldsV1 with list-map elements by key", async () => {
    const r = await applyAs("me", sts("mf", { nodeSelector: { disk: "ssd" } }), "mf");
    assert.equal(r.status, 201);
    const entries = r.json.metadata.managedFields;
    assert.equal(entries.length, 1);
    assert.deepEqual(
      { ...entries[0], time: typeof entries[0].time, fieldsV1: undefined },
      {
        manager: "me",
        operation: "Apply",
        apiVersion: "apps/v1",
        time: "string",
        fieldsType: "FieldsV1",
        fieldsV1: undefined,
      },
    );
    const pod = entries[0].fieldsV1["f:spec"]["f:template"]["f:spec"];
    assert.deepEqual(pod["f:nodeSelector"], { "f:disk": {} });
    assert.deepEqual(pod["f:containers"]['k:{"name":"proxy"}'], { ".": {}, "f:image": {}, "f:name": {} });
    const edited = await raw(
      h.server,
      "PATCH",
      `${STS}/mf?fieldManager=editor`,
      { spec: { template: { metadata: { annotations: { note: "x" } } } } },
      "application/merge-patch+json",
    );
    const managers = edited.json.metadata.managedFields.map((m: any) => `${m.manager}/${m.operation}`);
    assert.deepEqual(managers, ["me/Apply", "editor/Update"]);
  });

  it("removes what the manager stopped applying: map keys, atomic lists, list elements whole, a whole container's field", async () => {
    const full = sts(
      "shrink",
      {
        nodeSelector: { disk: "ssd", zone: "a" },
        tolerations: [{ key: "k", operator: "Exists" }],
        priorityClassName: "high",
        containers: [
          {
            name: "proxy",
            image: "tailscale/tailscale:v1.80.0",
            env: [
              { name: "A", value: "1" },
              { name: "B", value: "2" },
            ],
            resources: { limits: { cpu: "1" } },
          },
        ],
      },
      { annotations: { a: "1" } },
    );
    assert.equal((await applyAs("me", full, "shrink")).status, 201);
    const less = sts("shrink", {
      nodeSelector: { disk: "ssd" },
      containers: [{ name: "proxy", image: "tailscale/tailscale:v1.80.0", env: [{ name: "B", value: "2" }] }],
    });
    const r = await applyAs("me", less, "shrink");
    assert.equal(r.status, 200);
    const pod = r.json.spec.template.spec;
    assert.deepEqual(pod.nodeSelector, { disk: "ssd" });
    assert.equal(pod.tolerations, undefined);
    assert.equal(pod.priorityClassName, undefined);
    assert.equal(r.json.spec.template.metadata.annotations, undefined);
    assert.deepEqual(pod.containers[0].env, [{ name: "B", value: "2" }]);
    assert.deepEqual(pod.containers[0].resources ?? {}, {});
    const again = await applyAs("me", less, "shrink");
    assert.equal(again.json.metadata.resourceVersion, r.json.metadata.resourceVersion, "a no-op apply");
  });

  it("keeps a field the manager stopped applying when another manager owns it too", async () => {
    const withSel = sts("shared-field", { nodeSelector: { disk: "ssd" } });
    assert.equal((await applyAs("me", withSel, "shared-field")).status, 201);
    // Another applier sets the same value: both own it.
    assert.equal((await applyAs("other", withSel, "shared-field")).status, 200);
    const r = await applyAs("me", sts("shared-field", {}), "shared-field");
    assert.deepEqual(r.json.spec.template.spec.nodeSelector, { disk: "ssd" });
    // A key only a non-apply writer set is never touched by our apply.
    await raw(
      h.server,
      "PATCH",
      `${STS}/shared-field?fieldManager=containerboot`,
      { metadata: { annotations: { written: "by-proxy" } } },
      "application/merge-patch+json",
    );
    const after = await applyAs("me", sts("shared-field", {}), "shared-field");
    assert.equal(after.json.metadata.annotations.written, "by-proxy");
  });

  it("a manager's own earlier non-apply write is another manager: changing that field conflicts", async () => {
    // The same name, operation Update (kubernetes/kubernetes#80916).
    const created = await raw(h.server, "POST", `${STS}?fieldManager=me`, sts("self", {}));
    assert.equal(created.status, 201);
    const moved = sts("self", {});
    moved.spec.template.spec.containers[0]!.image = "tailscale/tailscale:v1.82.0";
    const refused = await applyAs("me", moved, "self");
    const status = refused.json;
    assert.equal(refused.status, 409);
    assert.equal(status.reason, "Conflict");
    assert.deepEqual(status.details.causes, [
      {
        reason: "FieldManagerConflict",
        message: 'conflict with "me" using apps/v1',
        field: '.spec.template.spec.containers[name="proxy"].image',
      },
    ]);
    const forced = await applyAs("me", moved, "self", true);
    assert.equal(forced.status, 200);
    const image = forced.json.metadata.managedFields.find((m: any) => m.operation === "Apply").fieldsV1[
      "f:spec"
    ]["f:template"]["f:spec"]["f:containers"]['k:{"name":"proxy"}'];
    assert.ok(image["f:image"], "force moved the field to the Apply entry");
  });
});
