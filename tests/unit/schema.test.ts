// What the kinds' declarations (provider/plan/schema/) guarantee for every field at once: check refuses
// keys no declaration knows, naming them; every declared field is compared by the diff (none is
// silently ignored) unless its effect is `none`, and those never cause a diff; `tags` means the same for
// every kind. The lifecycle side (every in-place field is applied by update) is in
// tests/provider/declared-effects.test.ts.
import assert from "node:assert/strict";
import {
  type Diff,
  diffCertificateBudget,
  diffProxyGroup,
  diffTailnetIngress,
  diffTailnetService,
} from "../../provider/plan/diff";
import { UNKNOWN } from "../../provider/plan/inputs";
import { CERTIFICATE_BUDGET } from "../../provider/plan/schema/certificateBudget";
import { argumentKeys, checkInputs, type KindSchema, withDefaults } from "../../provider/plan/schema/field";
import { PROXY_GROUP } from "../../provider/plan/schema/proxyGroup";
import { TAILNET_INGRESS } from "../../provider/plan/schema/tailnetIngress";
import { TAILNET_SERVICE } from "../../provider/plan/schema/tailnetService";

const kinds: { schema: KindSchema<any, any>; diff: Diff; valid: Record<string, unknown> }[] = [
  {
    schema: TAILNET_SERVICE,
    diff: diffTailnetService,
    valid: { ownerId: "proj/dev/db", service: { namespace: "data", name: "db" } },
  },
  {
    schema: TAILNET_INGRESS,
    diff: diffTailnetIngress,
    valid: {
      ownerId: "proj/dev/web",
      hostname: "web",
      defaultBackend: { service: { namespace: "web", name: "web" }, port: 80 },
    },
  },
  {
    schema: PROXY_GROUP,
    diff: diffProxyGroup,
    valid: { ownerId: "proj/dev/pg", name: "pg", namespace: "tailscale", type: "ingress" },
  },
  {
    schema: CERTIFICATE_BUDGET,
    diff: diffCertificateBudget,
    valid: { ownerId: "proj/dev/budget", ingresses: [], peers: {} },
  },
];

describe("declarations", () => {
  for (const { schema, diff, valid } of kinds) {
    describe(schema.kind, () => {
      it("check accepts its valid inputs, and refuses a key it does not declare, naming it and the arguments", () => {
        assert.deepEqual(checkInputs(schema, valid), []);
        const failures = checkInputs(schema, { ...valid, hostnam: "typo" });
        assert.equal(failures.length, 1);
        assert.equal(failures[0]!.property, "hostnam");
        assert.match(
          failures[0]!.reason,
          new RegExp(`^"hostnam" is not an input of ${schema.kind}, so it would be ignored`),
        );
        assert.ok(failures[0]!.reason.includes(`(inputs: ${argumentKeys(schema).join(", ")})`));
        assert.ok(argumentKeys(schema).length > 2 && !argumentKeys(schema).includes("ownerId"));
      });

      it("the diff compares every declared field whose effect is not none", () => {
        const olds = withDefaults(schema, valid);
        for (const [key, spec] of Object.entries(schema.fields)) {
          if ((spec.change as { kind?: string }).kind === "none") continue;
          const d = diff(olds, { ...olds, [key]: UNKNOWN });
          assert.equal(d.changes, true, `an unknown ${key} may differ, so it is a change`);
          assert.ok(d.detailedDiff[key], `${key} is in the detailed diff`);
        }
      });

      it("fields whose effect is none never cause a diff", () => {
        const olds = withDefaults(schema, valid);
        for (const [key, spec] of Object.entries(schema.fields)) {
          if ((spec.change as { kind?: string }).kind !== "none") continue;
          assert.equal(diff(olds, { ...olds, [key]: { changed: true } }).changes, false, key);
          assert.equal(diff(olds, { ...olds, [key]: UNKNOWN }).changes, false, key);
        }
      });
    });
  }

  it("ProxyClass and credentials refuse fields they do not have, naming them", () => {
    const failures = checkInputs(TAILNET_SERVICE, {
      ...kinds[0]!.valid,
      proxyClass: { tolerationz: [] },
      credentials: { kubeConfig: "apiVersion: v1" },
    });
    assert.deepEqual(
      failures.map((f) => f.property),
      ["proxyClass.tolerationz", "credentials.kubeConfig"],
    );
    assert.match(failures[0]!.reason, /^"tolerationz" is not a field of ProxyClass, so it would be ignored/);
    assert.match(failures[0]!.reason, /tolerations/);
    assert.match(failures[1]!.reason, /^"kubeConfig" is not a field of credentials, so it would be ignored/);
    assert.doesNotMatch(failures[1]!.reason, /apiVersion/, "a credential's value is never quoted");
  });

  it("tags mean the same for every kind: absent is the default, filled in by check; an empty list is refused", () => {
    for (const { schema, valid } of kinds.slice(0, 3)) {
      assert.deepEqual(withDefaults(schema, valid).tags, ["tag:k8s"], schema.kind);
      assert.deepEqual(checkInputs(schema, { ...valid, tags: [] }), [
        {
          property: "tags",
          reason:
            'must not be empty: devices created with an OAuth client must be tagged; omit "tags" to use the default ["tag:k8s"]',
        },
      ]);
      assert.deepEqual(
        checkInputs(schema, { ...valid, tags: ["tag:a", "tag:a"] }).map((f) => f.property),
        ["tags[1]"],
        `${schema.kind}: a duplicate tag is refused`,
      );
    }
  });
});
