import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { fingerprintObject, summarizePlan } from "../../provider/plan/fingerprint";
import { canonicalJson } from "../../provider/plan/gojson";
import { planStandaloneService } from "../../provider/plan/standalone";

const backend = {
  namespace: "default",
  name: "test",
  type: "ClusterIP",
  clusterIP: "10.20.30.40",
  ports: [{ name: "http", port: 8080 }],
};
const input = { ownerId: "proj/dev/db", service: { namespace: "default", name: "test" } };

describe("fingerprints", () => {
  it("12 hex of sha256 over canonical JSON, independent of key order", () => {
    const a = { kind: "Service", metadata: { name: "x", namespace: "y" }, spec: { a: 1, b: [1, 2] } };
    const b = { spec: { b: [1, 2], a: 1 }, metadata: { namespace: "y", name: "x" }, kind: "Service" };
    assert.equal(fingerprintObject(a), fingerprintObject(b));
    assert.equal(
      fingerprintObject(a),
      createHash("sha256").update(canonicalJson(a)).digest("hex").slice(0, 12),
    );
    assert.match(fingerprintObject(a), /^[0-9a-f]{12}$/);
  });

  it("summarizePlan lists every object in apply order", () => {
    const s = summarizePlan(planStandaloneService(input, backend, {}));
    assert.deepEqual(
      s.map(({ kind, namespace, name }) => ({ kind, namespace, name })),
      [
        { kind: "ServiceAccount", namespace: "default", name: "ts-default-test" },
        { kind: "Role", namespace: "default", name: "ts-default-test" },
        { kind: "RoleBinding", namespace: "default", name: "ts-default-test" },
        { kind: "Secret", namespace: "default", name: "ts-default-test-0" },
        { kind: "Service", namespace: "default", name: "ts-default-test" },
        { kind: "StatefulSet", namespace: "default", name: "ts-default-test" },
      ],
    );
  });

  it("the auth key does not change the Secret's fingerprint (preview has none, up has one)", () => {
    const preview = summarizePlan(planStandaloneService(input, backend, {}));
    const up = summarizePlan(planStandaloneService(input, backend, { authKey: "tskey-auth-secret" }));
    assert.deepEqual(up, preview);
    assert.ok(!JSON.stringify(up).includes("tskey"));
  });

  it("a real change changes exactly the affected fingerprints", () => {
    const before = summarizePlan(planStandaloneService(input, backend, {}));
    const after = summarizePlan(planStandaloneService(input, { ...backend, clusterIP: "10.20.30.41" }, {}));
    const changed = after.filter((o, i) => o.fingerprint !== before[i]!.fingerprint).map((o) => o.kind);
    assert.deepEqual(changed, ["StatefulSet"]);
  });
});
