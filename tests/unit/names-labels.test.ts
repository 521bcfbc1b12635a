import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  mergeLabelsOrAnnotations,
  ownerHash,
  proxyLabels,
  proxySelector,
  toLabelValue,
} from "../../provider/plan/labels";
import { MAX_STATEFULSET_NAME, proxyNameBase, proxyNames } from "../../provider/plan/names";

const sha8 = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 8);

describe("proxy names (our Test_statefulSetNameBase: deterministic, no generateName)", () => {
  for (let n = 1; n <= 63; n++) {
    const hostname = "a".repeat(n);
    it(`hostname of ${n} chars`, () => {
      const base = proxyNameBase(hostname);
      assert.ok(base.length <= MAX_STATEFULSET_NAME, `${base} is longer than 52`);
      // <sts>-<ordinal> and the controller-revision-hash label (<sts>-<10 chars>) must stay ≤ 63.
      assert.ok(`${base}-${"x".repeat(10)}`.length <= 63);
      if (n <= 49) assert.equal(base, `ts-${hostname}`);
      else assert.equal(base, `ts-${"a".repeat(40)}-${sha8(hostname)}`);
    });
  }
  it("lowercases the hostname (Kubernetes names are lowercase; tailnet names are case-insensitive)", () => {
    assert.equal(proxyNameBase("Reindeer-Flotilla"), "ts-reindeer-flotilla");
  });
  it("every object shares the base; the Secret is the Pod name <base>-0", () => {
    assert.deepEqual(proxyNames("default-test"), {
      base: "ts-default-test",
      statefulSet: "ts-default-test",
      headlessService: "ts-default-test",
      serviceAccount: "ts-default-test",
      role: "ts-default-test",
      roleBinding: "ts-default-test",
      secret: "ts-default-test-0",
      pod: "ts-default-test-0",
    });
  });
  it("two long hostnames with the same 40-char prefix get different names", () => {
    const a = `${"x".repeat(45)}-one`;
    const b = `${"x".repeat(45)}-two`;
    assert.notEqual(proxyNameBase(a), proxyNameBase(b));
  });
});

describe("labels", () => {
  it("the operator's parent labels under our prefix, no tailscale.com/managed, plus ours (differs: so an operator beside us ignores them; managed-by, name, owner added)", () => {
    const ownerId = "proj/dev/db";
    assert.deepEqual(
      proxyLabels({ ownerId, parentName: "test", parentNamespace: "default", parentType: "svc" }),
      {
        "tailnet.pulumi.com/parent-resource": "test",
        "tailnet.pulumi.com/parent-resource-ns": "default",
        "tailnet.pulumi.com/parent-resource-type": "svc",
        "app.kubernetes.io/managed-by": "pulumi-tailnet",
        "app.kubernetes.io/name": "tailscale",
        "tailnet.pulumi.com/owner": createHash("sha256").update(ownerId).digest("hex").slice(0, 20),
      },
    );
  });
  it("selector is app: <owner hash> (differs: the operator uses the parent UID)", () => {
    assert.deepEqual(proxySelector("proj/dev/db"), { app: ownerHash("proj/dev/db") });
    assert.match(ownerHash("proj/dev/db"), /^[0-9a-f]{20}$/);
  });
  const values: [string, string][] = [
    ["web", "web"],
    ["my_app.v2", "my_app.v2"],
    ["has space", `has-space-${sha8("has space")}`],
    ["-leading", `leading-${sha8("-leading")}`],
    ["a".repeat(70), `${"a".repeat(54)}-${sha8("a".repeat(70))}`],
    ["///", sha8("///")],
  ];
  for (const [input, want] of values) {
    it(`toLabelValue(${JSON.stringify(input.slice(0, 20))}) is a valid label value`, () => {
      const v = toLabelValue(input);
      assert.equal(v, want);
      assert.ok(v.length <= 63);
      assert.match(v, /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/);
    });
  }
});

describe("mergeLabelsOrAnnotations (parity: Test_mergeStatefulSetLabelsOrAnnots)", () => {
  const managed = ["tailscale.com/managed", "tailscale.com/parent-resource-type", "app"];
  const cases: {
    name: string;
    current?: Record<string, string>;
    custom?: Record<string, string>;
    want: Record<string, string>;
  }[] = [
    {
      name: "no custom labels specified and none present in current labels, return current labels",
      current: { "tailscale.com/managed": "true", app: "1234" },
      want: { "tailscale.com/managed": "true", app: "1234" },
    },
    {
      name: "no custom labels specified, but some present in current labels, return tailscale labels only",
      current: { "tailscale.com/managed": "true", app: "1234", foo: "bar" },
      want: { "tailscale.com/managed": "true", app: "1234" },
    },
    {
      name: "custom labels specified, current labels only contain tailscale labels, return a union",
      current: { "tailscale.com/managed": "true", app: "1234" },
      custom: { foo: "bar", something: "else" },
      want: { "tailscale.com/managed": "true", app: "1234", foo: "bar", something: "else" },
    },
    {
      name: "custom labels specified, current labels contain tailscale labels and custom labels, some of which re not present in the new custom labels, return a union of managed labels and the desired custom labels",
      current: { "tailscale.com/managed": "true", app: "1234", foo: "bar", bar: "baz" },
      custom: { foo: "bar", something: "else" },
      want: { "tailscale.com/managed": "true", app: "1234", foo: "bar", something: "else" },
    },
    {
      name: "no current labels present, return custom labels only",
      custom: { foo: "bar" },
      want: { foo: "bar" },
    },
    { name: "no current labels present, no custom labels specified, return empty map", want: {} },
    {
      name: "a custom value cannot override a managed key",
      current: { app: "1234" },
      custom: { app: "evil" },
      want: { app: "1234" },
    },
  ];
  for (const c of cases)
    it(c.name, () => assert.deepEqual(mergeLabelsOrAnnotations(c.current, c.custom, managed), c.want));
});
