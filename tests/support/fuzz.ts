/**
 * The seeded fuzz of check and diff, shared by the suite (tests/unit/fuzz-check.test.ts) and the bench
 * (bench/fuzz.ts, 100,000 inputs per kind). Inputs are built from each kind's declaration, so a new field
 * is fuzzed as soon as it is declared.
 */
import * as provider from "../../provider";
import { UNKNOWN } from "../../provider/plan/inputs";
import { CERTIFICATE_BUDGET } from "../../provider/plan/schema/certificateBudget";
import { PROXY_CLASS } from "../../provider/plan/schema/proxyClass";
import { PROXY_GROUP } from "../../provider/plan/schema/proxyGroup";
import { TAILNET_INGRESS } from "../../provider/plan/schema/tailnetIngress";
import { TAILNET_SERVICE } from "../../provider/plan/schema/tailnetService";
import { mulberry32 } from "./kube-api/faults";

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

/** Each kind, with a valid base input the fuzz adds random fields to. */
export const FUZZ_KINDS = [
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

/** What one kind's fuzz found: the inputs that made check or diff throw (at most 5), and how many check accepted. */
export interface FuzzOutcome {
  kind: string;
  inputs: number;
  throws: string[];
  accepted: number;
}

/**
 * `count` seeded inputs of one kind through check, and through diff when check accepts them. Stops after
 * 5 throws. Seeds are fixed per kind, so a run is reproducible.
 */
export async function fuzzKind(index: number, count: number): Promise<FuzzOutcome> {
  const { schema, base } = FUZZ_KINDS[index]!;
  const { rnd, pick, value } = generator(1000 + index);
  const fields = Object.keys(schema.fields);
  const proxyClassFields = Object.keys(PROXY_CLASS);
  const throws: string[] = [];
  let accepted = 0;
  let i = 0;
  for (; i < count && throws.length < 5; i++) {
    const news: Record<string, unknown> = base();
    for (let j = 1 + Math.floor(rnd() * 3); j > 0; j--) {
      const f = rnd() < 0.05 ? pick(KEYS) : pick(fields);
      news[f] = f === "proxyClass" && rnd() < 0.6 ? { [pick(proxyClassFields)]: value() } : value();
    }
    // Old state may be anything an older version wrote.
    const olds = rnd() < 0.2 ? { ...base(), [pick(fields)]: value() } : {};
    try {
      const r = await provider.check(schema.kind, olds, news);
      if (!Array.isArray(r.failures ?? [])) throw new Error("failures is not a list");
      for (const f of r.failures ?? []) {
        if (typeof f.property !== "string") throw new Error(`a failure names no property: ${f.reason}`);
      }
      if ((r.failures ?? []).length === 0) {
        accepted++;
        await provider.diff(schema.kind, "id", base(), r.inputs);
      }
    } catch (e) {
      throws.push(`${JSON.stringify(news).slice(0, 300)} => ${(e as Error)?.message ?? e}`);
    }
  }
  return { kind: schema.kind, inputs: i, throws, accepted };
}
