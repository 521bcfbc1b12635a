import assert from "node:assert/strict";
import { type ProxyGroupInput, UNKNOWN } from "../../../provider/plan/inputs";
import { checkProxyGroup } from "../../../provider/plan/schema/proxyGroup";

const ok: ProxyGroupInput = {
  ownerId: "p/s/pg",
  name: "ingress-pg",
  namespace: "tailscale",
  type: "ingress",
};
const check = (over: Record<string, unknown>) => checkProxyGroup({ ...ok, ...over } as ProxyGroupInput);

describe("ha/validate: checkProxyGroup", () => {
  it("accepts the defaults and a full valid input", () => {
    assert.deepEqual(checkProxyGroup(ok), []);
    assert.deepEqual(
      check({
        replicas: 0,
        tags: ["tag:k8s", "tag:edge-1"],
        hostnamePrefix: "edge",
        proxyClass: { image: "tailscale/tailscale:v1.84.0" },
      }),
      [],
    );
  });

  it("name: DNS label, at most 52 characters", () => {
    assert.deepEqual(check({ name: "Bad_Name" }), [
      {
        property: "name",
        reason:
          "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
      },
    ]);
    assert.deepEqual(check({ name: "a".repeat(53) }), [
      {
        property: "name",
        reason:
          'must be no more than 52 characters: it names the StatefulSet, whose pods carry a controller-revision-hash label "<name>-<hash>" limited to 63 characters',
      },
    ]);
    assert.deepEqual(check({ name: undefined }), [
      {
        property: "name",
        reason: "is required: the ProxyGroup's name, which names its StatefulSet and Secrets",
      },
    ]);
  });

  it("proxyClass.env may not move or turn off the /healthz the readiness probe reads", () => {
    const reason = (name: string) =>
      `${name} is set by pulumi-tailnet on ProxyGroup replicas: their readiness probe reads containerboot's ` +
      "/healthz on port 9002 of the Pod IP, which this would move or turn off; remove it";
    assert.deepEqual(
      check({
        proxyClass: {
          env: [
            { name: "EXTRA", value: "1" },
            { name: "TS_LOCAL_ADDR_PORT", value: "127.0.0.1:9002" },
            { name: "TS_ENABLE_HEALTH_CHECK", value: "false" },
            { name: "TS_HEALTHCHECK_ADDR_PORT", value: "[::]:8080" },
          ],
        },
      }),
      [
        { property: "proxyClass.env[1].name", reason: reason("TS_LOCAL_ADDR_PORT") },
        { property: "proxyClass.env[2].name", reason: reason("TS_ENABLE_HEALTH_CHECK") },
        { property: "proxyClass.env[3].name", reason: reason("TS_HEALTHCHECK_ADDR_PORT") },
      ],
    );
  });

  it("replicas: whole number ≥ 0", () => {
    assert.deepEqual(check({ replicas: -1 }), [
      { property: "replicas", reason: "should be greater than or equal to 0, got -1" },
    ]);
    assert.deepEqual(check({ replicas: 1.5 }), [
      { property: "replicas", reason: "must be a whole number, got 1.5" },
    ]);
    assert.deepEqual(check({ replicas: "2" }), [
      { property: "replicas", reason: 'must be a whole number, got "2"' },
    ]);
  });

  it("hostnamePrefix: the CRD pattern, and every device hostname stays a DNS label", () => {
    assert.deepEqual(check({ hostnamePrefix: "-edge" }), [
      {
        property: "hostnamePrefix",
        reason:
          "should match '^[a-z0-9][a-z0-9-]{0,61}$': lowercase letters, digits and '-', starting with a letter or digit, at most 62 characters (got \"-edge\")",
      },
    ]);
    assert.deepEqual(check({ hostnamePrefix: "a".repeat(62), replicas: 1 }), [
      {
        property: "hostnamePrefix",
        reason: `the device hostname of replica 0 would be invalid: "${"a".repeat(62)}-0" is too long, max length is 63 bytes; use a shorter hostnamePrefix`,
      },
    ]);
    // 61 + "-10" is 64 bytes; 61 + "-9" is exactly 63.
    assert.deepEqual(
      check({ hostnamePrefix: "a".repeat(61), replicas: 11 }).map((f) => f.property),
      ["hostnamePrefix"],
    );
    assert.deepEqual(check({ hostnamePrefix: "a".repeat(61), replicas: 10 }), []);
  });

  it("tags: Tailscale's CheckTag messages, by index; duplicates", () => {
    assert.deepEqual(check({ tags: ["tag:invalid!", "k8s", "tag:", "tag:1a", "tag:ok", "tag:ok"] }), [
      {
        property: "tags[0]",
        reason: 'invalid tag "tag:invalid!": tag names can only contain numbers, letters, or dashes',
      },
      { property: "tags[1]", reason: "invalid tag \"k8s\": tags must start with 'tag:'" },
      { property: "tags[2]", reason: 'invalid tag "tag:": tag names must not be empty' },
      {
        property: "tags[3]",
        reason: "invalid tag \"tag:1a\": tag names must start with a letter, after 'tag:'",
      },
      { property: "tags[5]", reason: 'duplicate tag "tag:ok"' },
    ]);
  });

  it("type: only ingress", () => {
    assert.deepEqual(check({ type: "egress" }), [
      { property: "type", reason: 'Unsupported value: "egress": supported values: "ingress"' },
    ]);
  });

  it("TestValidateProxyGroup: a k8s-proxy image on an ingress ProxyGroup is refused", () => {
    assert.deepEqual(check({ proxyClass: { image: "example.com/k8s-proxy" } }), [
      {
        property: "proxyClass.image",
        reason:
          'the configured ProxyClass specifies to use image "example.com/k8s-proxy" but expected a "tailscale" image for ProxyGroup of type "ingress"',
      },
    ]);
  });

  it("shareAcmeAccount: a boolean", () => {
    assert.deepEqual(check({ shareAcmeAccount: true }), []);
    assert.deepEqual(check({ shareAcmeAccount: false }), []);
    assert.deepEqual(check({ shareAcmeAccount: "true" }), [
      { property: "shareAcmeAccount", reason: 'must be a boolean (true or false), got "true"' },
    ]);
  });

  it("missing ownerId and namespace are named", () => {
    assert.deepEqual(
      check({ ownerId: "", namespace: undefined }).map((f) => f.property),
      ["ownerId", "namespace"],
    );
  });

  it("tolerates the unknown sentinel anywhere", () => {
    assert.deepEqual(
      check({
        name: UNKNOWN,
        namespace: UNKNOWN,
        replicas: UNKNOWN,
        hostnamePrefix: UNKNOWN,
        tags: [UNKNOWN, "tag:ok"],
        proxyClass: { image: UNKNOWN },
        customTimeouts: UNKNOWN,
      }),
      [],
    );
    assert.deepEqual(check({ tags: UNKNOWN, type: UNKNOWN, ownerId: UNKNOWN, proxyClass: UNKNOWN }), []);
  });
});
