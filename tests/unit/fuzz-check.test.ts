// A seeded fuzz of check and diff: whatever a program, an old state or a newer SDK sends, check answers with
// failures naming the property and never throws (a throw reaches the user as a stack trace instead of the
// field and the fix), and diff never throws on what check accepted. Inputs are built from each kind's
// declaration, so a new field is fuzzed as soon as it is declared.
import assert from "node:assert/strict";
import * as provider from "../../provider";
import { UNKNOWN } from "../../provider/plan/inputs";
import { CERTIFICATE_BUDGET } from "../../provider/plan/schema/certificateBudget";
import { PROXY_CLASS } from "../../provider/plan/schema/proxyClass";
import { PROXY_GROUP } from "../../provider/plan/schema/proxyGroup";
import { TAILNET_INGRESS } from "../../provider/plan/schema/tailnetIngress";
import { TAILNET_SERVICE } from "../../provider/plan/schema/tailnetService";
import { mulberry32 } from "../support/kube-api/faults";

// 20,000 per kind keeps this under 5 s of the suite (CI runs it twice, on two Node versions, in a
// 15-minute budget); 100,000 per kind pass too (measured once, 25 s).
const INPUTS_PER_KIND = 20_000;

const SCALARS: unknown[] = [
  null,
  undefined,
  0,
  -1,
  1.5,
  2 ** 53,
  1e12,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  "",
  " ",
  "web",
  "Web.Example",
  "a".repeat(300),
  "tag:k8s",
  "tag:",
  "https",
  "80",
  "-",
  "/api",
  "2026-01-01T00:00:00Z",
  UNKNOWN,
  true,
  false,
];
const KEYS = [
  "name",
  "namespace",
  "port",
  "service",
  "paths",
  "path",
  "pathType",
  "backend",
  "host",
  "key",
  "operator",
  "value",
  "effect",
  "requests",
  "limits",
  "memory",
  "production",
  "staging",
  "perDomain",
  "resource",
  "hostname",
  "ledger",
  "__proto__",
  "constructor",
];

function generator(seed: number) {
  const rnd = mulberry32(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;
  const value = (depth = 0): unknown => {
    const r = rnd();
    if (depth > 3 || r < 0.45) return pick(SCALARS);
    if (r < 0.7) return Array.from({ length: Math.floor(rnd() * 4) }, () => value(depth + 1));
    const o: Record<string, unknown> = {};
    for (let i = Math.floor(rnd() * 4); i > 0; i--) o[pick(KEYS)] = value(depth + 1);
    return o;
  };
  return { rnd, pick, value };
}

const KINDS = [
  {
    schema: TAILNET_INGRESS,
    base: () => ({
      ownerId: "p/s/n",
      hostname: "web",
      defaultBackend: { service: { namespace: "apps", name: "web" }, port: 80 },
    }),
  },
  { schema: TAILNET_SERVICE, base: () => ({ ownerId: "p/s/n", service: { namespace: "apps", name: "db" } }) },
  {
    schema: PROXY_GROUP,
    base: () => ({ ownerId: "p/s/n", name: "edge", namespace: "tailscale", type: "ingress" }),
  },
  { schema: CERTIFICATE_BUDGET, base: () => ({ ownerId: "p/s/n", ingresses: [] }) },
];

describe("fuzzed check and diff never throw", function () {
  this.timeout(120_000);
  for (const [n, { schema, base }] of KINDS.entries()) {
    it(`${schema.kind}: ${INPUTS_PER_KIND.toLocaleString("en")} seeded inputs`, async () => {
      const { rnd, pick, value } = generator(1000 + n);
      const fields = Object.keys(schema.fields);
      const proxyClassFields = Object.keys(PROXY_CLASS);
      const throws: string[] = [];
      let accepted = 0;
      for (let i = 0; i < INPUTS_PER_KIND && throws.length < 5; i++) {
        const news: Record<string, unknown> = base();
        for (let j = 1 + Math.floor(rnd() * 3); j > 0; j--) {
          const f = rnd() < 0.05 ? pick(KEYS) : pick(fields);
          news[f] = f === "proxyClass" && rnd() < 0.6 ? { [pick(proxyClassFields)]: value() } : value();
        }
        // Old state may be anything an older version wrote.
        const olds = rnd() < 0.2 ? { ...base(), [pick(fields)]: value() } : {};
        try {
          const r = await provider.check(schema.kind, olds, news);
          assert.ok(Array.isArray(r.failures ?? []));
          for (const f of r.failures ?? []) assert.equal(typeof f.property, "string");
          if ((r.failures ?? []).length === 0) {
            accepted++;
            await provider.diff(schema.kind, "id", base(), r.inputs);
          }
        } catch (e) {
          throws.push(`${JSON.stringify(news).slice(0, 300)} => ${(e as Error)?.message ?? e}`);
        }
      }
      assert.deepEqual(throws, []);
      assert.ok(accepted > 0, "some inputs are valid, so diff is fuzzed too");
    });
  }
});

describe("check bounds what would break later", () => {
  it("refuses more replicas than a ProxyGroup may have, quickly", async () => {
    const r = await provider.check(
      "ProxyGroup",
      {},
      { ownerId: "p/s/n", name: "edge", namespace: "tailscale", type: "ingress", replicas: 100_000 },
    );
    assert.deepEqual(
      r.failures?.map((f) => f.property),
      ["replicas"],
    );
  });
  it("refuses a timeout Node's timers cannot wait for", async () => {
    const r = await provider.check(
      "TailnetService",
      {},
      { ownerId: "p/s/n", service: { namespace: "a", name: "db" }, customTimeouts: { update: "720h" } },
    );
    assert.deepEqual(
      r.failures?.map((f) => f.property),
      ["customTimeouts.update"],
    );
  });
});
