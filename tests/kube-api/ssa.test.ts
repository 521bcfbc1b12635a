// Server-side apply as a real API server does it, for what pulumi-tailnet applies: managedFields served
// per manager and operation, removal of what a manager no longer applies (list elements whole, granular
// maps key by key, atomic lists whole), fields another manager owns kept, and conflicts with a
// manager of the same name that wrote with another operation; managedFields rewritten by a JSON patch
// (client-go's csaupgrade), reset by an empty list, kept when a write leaves them out or sends ones that
// do not decode, refused when they do not have the type's shape; a resourceVersion in the applied
// object a precondition of an update (409 when stale), ignored by a create-by-apply, and a uid there
// refused when no object exists.
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

  const JSON_PATCH = "application/json-patch+json";
  // Sorted: the server orders entries by operation, then by the second they last changed.
  const managersOf = (obj: any) =>
    (obj.metadata.managedFields ?? []).map((m: any) => `${m.manager}/${m.operation}`).sort();

  /** A StatefulSet written the way a client that never applied writes: create, then a merge patch. */
  async function writtenByUpdates(name: string) {
    const created = await raw(
      h.server,
      "POST",
      `${STS}?fieldManager=old`,
      sts(name, { nodeSelector: { disk: "ssd" }, priorityClassName: "high" }),
    );
    assert.equal(created.status, 201);
    const edited = await raw(
      h.server,
      "PATCH",
      `${STS}/${name}?fieldManager=editor`,
      { spec: { template: { metadata: { annotations: { note: "kept" } } } } },
      "application/merge-patch+json",
    );
    assert.deepEqual(managersOf(edited.json), ["editor/Update", "old/Update"]);
    return edited.json;
  }

  it("a JSON patch of managedFields moves an Update entry to an Apply entry; the next apply removes what it no longer applies", async () => {
    const live = await writtenByUpdates("upgraded");
    // As client-go's csaupgrade.UpgradeManagedFieldsPatch writes it: the entry renamed, the list
    // replaced, and the resourceVersion read "replaced" so that a concurrent write conflicts.
    const entries = live.metadata.managedFields.map((m: any) =>
      m.manager === "old" ? { ...m, manager: "me", operation: "Apply" } : m,
    );
    const patch = (rv: string) => [
      { op: "replace", path: "/metadata/managedFields", value: entries },
      { op: "replace", path: "/metadata/resourceVersion", value: rv },
    ];
    const stale = await raw(h.server, "PATCH", `${STS}/upgraded?fieldManager=me`, patch("1"), JSON_PATCH);
    assert.equal(stale.status, 409, "a resourceVersion that moved on conflicts");
    const moved = await raw(
      h.server,
      "PATCH",
      `${STS}/upgraded?fieldManager=me`,
      patch(live.metadata.resourceVersion),
      JSON_PATCH,
    );
    assert.equal(moved.status, 200);
    assert.deepEqual(managersOf(moved.json), ["editor/Update", "me/Apply"], "only ownership changed");
    assert.notEqual(moved.json.metadata.resourceVersion, live.metadata.resourceVersion);
    assert.deepEqual(moved.json.spec, live.spec);

    // priorityClassName is no longer applied: removed, since only "me" owns it now; the editor's
    // annotation stays.
    const r = await applyAs("me", sts("upgraded", { nodeSelector: { disk: "ssd" } }), "upgraded");
    assert.equal(r.status, 200);
    assert.equal(r.json.spec.template.spec.priorityClassName, undefined);
    assert.deepEqual(r.json.spec.template.spec.nodeSelector, { disk: "ssd" });
    assert.deepEqual(r.json.spec.template.metadata.annotations, { note: "kept" });
  });

  it("without the rewrite, an earlier Update entry keeps a field the apply no longer sets", async () => {
    await writtenByUpdates("not-upgraded");
    const full = sts("not-upgraded", { nodeSelector: { disk: "ssd" }, priorityClassName: "high" });
    assert.equal((await applyAs("old", full, "not-upgraded", true)).status, 200);
    const r = await applyAs("old", sts("not-upgraded", { nodeSelector: { disk: "ssd" } }), "not-upgraded");
    assert.equal(r.json.spec.template.spec.priorityClassName, "high", "still owned by old/Update");
  });

  it("an empty managedFields list, or one empty entry, resets ownership; left out or undecodable, it is kept", async () => {
    const live = await writtenByUpdates("reset");
    const patchAs = (body: unknown, type = JSON_PATCH) =>
      raw(h.server, "PATCH", `${STS}/reset?fieldManager=me`, body, type);
    const bogus = live.metadata.managedFields.map((m: any) => ({ ...m, operation: "Bogus" }));
    const ignored = await patchAs([{ op: "replace", path: "/metadata/managedFields", value: bogus }]);
    assert.equal(ignored.status, 200, "not refused: the live managedFields are kept");
    assert.deepEqual(managersOf(ignored.json), ["editor/Update", "old/Update"]);
    assert.equal(ignored.json.metadata.resourceVersion, live.metadata.resourceVersion, "nothing written");
    for (const fieldsV1 of [{ "f:spec": 5 }, { x: {} }, { 'k:["a"]': {} }]) {
      const entries = live.metadata.managedFields.map((m: any) => ({ ...m, fieldsV1 }));
      const r = await patchAs([{ op: "replace", path: "/metadata/managedFields", value: entries }]);
      assert.deepEqual(managersOf(r.json), ["editor/Update", "old/Update"], JSON.stringify(fieldsV1));
    }
    const leftOut = await raw(h.server, "PUT", `${STS}/reset?fieldManager=me`, {
      ...live,
      metadata: { ...live.metadata, managedFields: undefined },
    });
    assert.deepEqual(managersOf(leftOut.json), ["editor/Update", "old/Update"]);

    const cleared = await patchAs({ metadata: { managedFields: [{}] } }, "application/merge-patch+json");
    assert.equal(cleared.status, 200);
    assert.equal(cleared.json.metadata.managedFields, undefined, "[{}] strips every entry");
    // With no owner left, the next writer owns what it changes, and nothing else.
    const edited = await raw(
      h.server,
      "PATCH",
      `${STS}/reset?fieldManager=editor`,
      { spec: { template: { metadata: { annotations: { note: "again" } } } } },
      "application/merge-patch+json",
    );
    assert.deepEqual(managersOf(edited.json), ["editor/Update"]);
    assert.deepEqual(Object.keys(edited.json.metadata.managedFields[0].fieldsV1), ["f:spec"]);
    const emptied = await patchAs([{ op: "replace", path: "/metadata/managedFields", value: [] }]);
    assert.equal(emptied.json.metadata.managedFields, undefined, "[] resets too");
  });

  it("managedFields of the wrong shape are refused: 422 naming the patch for a JSON patch, 400 for a PUT", async () => {
    const live = await writtenByUpdates("shape");
    const entries = live.metadata.managedFields.map((m: any) => ({ ...m, manager: 5 }));
    const r = await raw(
      h.server,
      "PATCH",
      `${STS}/shape?fieldManager=me`,
      [{ op: "replace", path: "/metadata/managedFields", value: entries }],
      JSON_PATCH,
    );
    assert.equal(r.status, 422);
    const detail =
      "json: cannot unmarshal number into Go struct field ManagedFieldsEntry.metadata.managedFields.manager of type string";
    assert.equal(r.json.reason, "Invalid");
    assert.deepEqual(Object.keys(r.json.details), ["causes"], "no kind, no name");
    assert.equal(r.json.details.causes.length, 1);
    assert.equal(r.json.details.causes[0].field, "patch");
    assert.equal(r.json.details.causes[0].reason, "FieldValueInvalid");
    assert.ok(r.json.details.causes[0].message.endsWith(`: ${detail}`), r.json.details.causes[0].message);
    assert.ok(r.json.message.startsWith(' "" is invalid: patch: Invalid value: "{'), r.json.message);
    const put = await raw(h.server, "PUT", `${STS}/shape?fieldManager=me`, {
      ...live,
      metadata: { ...live.metadata, managedFields: entries },
    });
    assert.equal(put.status, 400);
    assert.equal(
      put.json.message,
      `StatefulSet in version "v1" cannot be handled as a StatefulSet: ${detail}`,
    );
    assert.deepEqual(managersOf((await raw(h.server, "GET", `${STS}/shape`)).json), [
      "editor/Update",
      "old/Update",
    ]);
  });

  it("takes a resourceVersion in the applied object as a precondition: 409 when it is not the live one", async () => {
    const created = await applyAs("me", sts("rv", {}), "rv");
    assert.equal(created.status, 201);
    const rv = created.json.metadata.resourceVersion as string;
    const at = (resourceVersion: string, pod: Record<string, unknown> = {}) => {
      const body = sts("rv", pod);
      return applyAs("me", { ...body, metadata: { ...body.metadata, resourceVersion } }, "rv");
    };
    const current = await at(rv, { nodeSelector: { disk: "ssd" } });
    assert.equal(current.status, 200, "the live version: applied");
    assert.deepEqual(current.json.spec.template.spec.nodeSelector, { disk: "ssd" });
    assert.notEqual(current.json.metadata.resourceVersion, rv);

    for (const pod of [{ nodeSelector: { disk: "hdd" } }, { nodeSelector: { disk: "ssd" } }]) {
      const stale = await at(rv, pod);
      assert.equal(stale.status, 409, "a stale version fails, a change or none");
      assert.deepEqual(stale.json, {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message:
          'Operation cannot be fulfilled on statefulsets.apps "rv": the object has been modified; please apply your changes to the latest version and try again',
        reason: "Conflict",
        details: { name: "rv", group: "apps", kind: "statefulsets" },
        code: 409,
      });
    }
    const live = (await raw(h.server, "GET", `${STS}/rv`)).json;
    assert.deepEqual(live.spec.template.spec.nodeSelector, { disk: "ssd" }, "nothing written");
    assert.equal(live.metadata.resourceVersion, current.json.metadata.resourceVersion);
    assert.equal((await applyAs("me", sts("rv", {}), "rv")).status, 200, "without one: unconditional");
  });

  it("create-by-apply ignores a resourceVersion, and refuses a uid of an object that is not there", async () => {
    const body = sts("fresh", {});
    const r = await applyAs(
      "me",
      { ...body, metadata: { ...body.metadata, resourceVersion: "12345" } },
      "fresh",
    );
    assert.equal(r.status, 201);
    assert.notEqual(r.json.metadata.resourceVersion, "12345", "the server's own");
    const uid = "3f1e2d4c-0000-4000-8000-000000000000";
    const u = await applyAs(
      "me",
      { ...body, metadata: { name: "ghost", namespace: "default", uid } },
      "ghost",
    );
    assert.equal(u.status, 409);
    assert.equal(u.json.reason, "Conflict");
    assert.equal(
      u.json.message,
      `Operation cannot be fulfilled on statefulsets.apps "ghost": uid mismatch: the provided object specified uid ${uid}, and no existing object was found`,
    );
    assert.equal((await raw(h.server, "GET", `${STS}/ghost`)).status, 404);
  });
});
