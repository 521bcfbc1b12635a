import assert from "node:assert/strict";
import { differingFields, parseQuantity } from "../../provider/kube";

const b64 = (s: string) => Buffer.from(s).toString("base64");

describe("differingFields (what an apply would change)", () => {
  it("ignores server-added fields, status and metadata it does not own", () => {
    const desired = {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: "ts-web", namespace: "tailscale", labels: { a: "1" } },
      spec: {
        replicas: 1,
        template: { spec: { containers: [{ name: "tailscale", image: "tailscale/tailscale:v1" }] } },
      },
    };
    const live = {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: {
        ...desired.metadata,
        labels: { a: "1", extra: "x" },
        uid: "u",
        resourceVersion: "9",
        generation: 2,
      },
      spec: {
        replicas: 1,
        revisionHistoryLimit: 10,
        template: {
          spec: {
            containers: [
              { name: "tailscale", image: "tailscale/tailscale:v1", imagePullPolicy: "IfNotPresent" },
            ],
            restartPolicy: "Always",
          },
        },
      },
      status: { readyReplicas: 1 },
    };
    assert.deepEqual(differingFields(desired, live), []);
    live.spec.template.spec.containers[0]!.image = "tailscale/tailscale:v2";
    assert.deepEqual(differingFields(desired, live), ["spec.template.spec.containers[0].image"]);
  });

  it("compares Secret stringData against the decoded data, never stringData against stringData", () => {
    const desired = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "s" },
      stringData: { authkey: "tskey-auth-x", "cap-107.hujson": "{}" },
    };
    const live = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "s" },
      type: "Opaque",
      data: { authkey: b64("tskey-auth-x"), "cap-107.hujson": b64("{}"), device_id: b64("n1") },
    };
    assert.deepEqual(differingFields(desired, live), []);
    live.data["cap-107.hujson"] = b64('{"x":1}');
    assert.deepEqual(differingFields(desired, live), ["stringData.cap-107.hujson"]);
  });

  it("treats list length changes, null removals and empty containers correctly", () => {
    const base = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" } };
    assert.deepEqual(
      differingFields({ ...base, data: { a: "1" } }, { ...base, data: { a: "1", b: "2" } }),
      [],
    );
    assert.deepEqual(
      differingFields({ ...base, spec: { ports: [1, 2] } }, { ...base, spec: { ports: [1] } }),
      ["spec.ports"],
    );
    assert.deepEqual(differingFields({ ...base, data: { b: null } }, { ...base, data: { b: "2" } }), [
      "data.b",
    ]);
    assert.deepEqual(differingFields({ ...base, data: { b: null } }, { ...base, data: {} }), []);
    assert.deepEqual(
      differingFields({ ...base, spec: { tolerations: [], securityContext: {} } }, { ...base, spec: {} }),
      [],
    );
  });

  it("compares resource quantities by value", () => {
    const desired = {
      apiVersion: "v1",
      kind: "X",
      metadata: { name: "x" },
      spec: { resources: { requests: { cpu: "0.1", memory: "1024Mi" } } },
    };
    const live = { ...desired, spec: { resources: { requests: { cpu: "100m", memory: "1Gi" } } } };
    assert.deepEqual(differingFields(desired, live), []);
    assert.equal(parseQuantity("1e3"), 1000);
    assert.equal(parseQuantity("2Ki"), 2048);
    assert.equal(parseQuantity("abc"), undefined);
  });
});
