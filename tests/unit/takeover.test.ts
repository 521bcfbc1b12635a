// The managedFields rewrite that lets our server-side apply take over what earlier versions wrote
// without it (provider/kube/takeover.ts), table by table against expected entry lists.
import assert from "node:assert/strict";
import { takeOverEarlierWrites } from "../../provider/kube";

const T1 = "2026-01-01T00:00:00Z";
const T2 = "2026-01-02T00:00:00Z";

const entry = (manager: string, operation: "Apply" | "Update", fieldsV1: object, extra: object = {}) => ({
  manager,
  operation,
  apiVersion: "apps/v1",
  time: T1,
  fieldsType: "FieldsV1",
  fieldsV1,
  ...extra,
});

const labels = { "f:metadata": { "f:labels": { "f:app": {}, "f:team": {} } } };
const selector = { "f:spec": { "f:template": { "f:spec": { "f:nodeSelector": { "f:disk": {} } } } } };

describe("takeOverEarlierWrites", () => {
  const cases: {
    name: string;
    entries: object[] | undefined;
    shared?: string[][];
    expected: object[] | undefined;
  }[] = [
    { name: "no managedFields: nothing to do", entries: undefined, expected: undefined },
    {
      name: "only our Apply entry and others' entries: nothing to do",
      entries: [entry("pulumi-tailnet", "Apply", labels), entry("kubectl-edit", "Update", selector)],
      expected: undefined,
    },
    {
      name: "our edits' manager is not an earlier version's: nothing to do",
      entries: [entry("pulumi-tailnet-edit", "Update", labels)],
      expected: undefined,
    },
    {
      name: "never applied: the earlier Update entry becomes our Apply entry, others stay as they are",
      entries: [entry("kubectl-edit", "Update", labels), entry("pulumi-tailnet", "Update", selector)],
      expected: [entry("kubectl-edit", "Update", labels), entry("pulumi-tailnet", "Apply", selector)],
    },
    {
      name: "applied since: the Update entry's fields join the Apply entry, which keeps its time",
      entries: [
        entry("pulumi-tailnet", "Apply", labels, { time: T2 }),
        entry("pulumi-tailnet", "Update", selector),
      ],
      expected: [entry("pulumi-tailnet", "Apply", { ...labels, ...selector }, { time: T2 })],
    },
    {
      name: "a subresource's entry is not taken",
      entries: [entry("pulumi-tailnet", "Update", { "f:status": { "f:x": {} } }, { subresource: "status" })],
      expected: undefined,
    },
    {
      name: "shared fields stay with the Update entry; a parent left empty goes, one that owns itself stays",
      entries: [
        entry("pulumi-tailnet", "Update", {
          "f:binaryData": { ".": {}, "f:serve-config.json": {} },
          "f:metadata": {
            "f:annotations": { ".": {}, "f:owner": {}, "f:service-owners": {} },
            "f:labels": { "f:app": {} },
          },
        }),
      ],
      shared: [["binaryData"], ["metadata", "annotations", "service-owners"], ["data"]],
      expected: [
        entry("pulumi-tailnet", "Apply", {
          "f:metadata": { "f:annotations": { ".": {}, "f:owner": {} }, "f:labels": { "f:app": {} } },
        }),
        entry("pulumi-tailnet", "Update", {
          "f:binaryData": { ".": {}, "f:serve-config.json": {} },
          "f:metadata": { "f:annotations": { "f:service-owners": {} } },
        }),
      ],
    },
    {
      name: "an entry of shared fields only: nothing to take over",
      entries: [
        entry("pulumi-tailnet", "Apply", labels),
        entry("pulumi-tailnet", "Update", { "f:metadata": { "f:annotations": { "f:service-owners": {} } } }),
      ],
      shared: [["metadata", "annotations", "service-owners"]],
      expected: undefined,
    },
    {
      name: "a node owned whole on one side and through children on the other is owned both ways",
      entries: [
        entry("pulumi-tailnet", "Apply", { "f:spec": { "f:selector": {} } }),
        entry("pulumi-tailnet", "Update", { "f:spec": { "f:selector": { "f:matchLabels": {} } } }),
      ],
      expected: [
        entry("pulumi-tailnet", "Apply", { "f:spec": { "f:selector": { ".": {}, "f:matchLabels": {} } } }),
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const before = structuredClone(c.entries);
      assert.deepEqual(takeOverEarlierWrites(c.entries, c.shared), c.expected);
      assert.deepEqual(c.entries, before, "the input is not changed");
    });
  }
});
