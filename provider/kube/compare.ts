/**
 * Decides whether a live object already has what we want, comparing only the fields we set.
 *
 * The API server adds defaults, status, managedFields and so on, and never returns write-only
 * fields such as a Secret's `stringData`. Comparing whole objects would make every apply a write
 * (and every preview a diff), so the desired object is treated as a pattern the live one must
 * contain. Pure: no I/O.
 */
import type { KubeObject } from "./types";

/** Metadata fields that are ours to set; the rest (uid, resourceVersion, …) belong to the server. */
const COMPARED_METADATA = ["labels", "annotations", "ownerReferences"] as const;

/**
 * Paths (like `spec.template.spec.containers[0].image`) where `live` does not match `desired`.
 * Empty when an apply would change nothing.
 */
export function differingFields(desired: KubeObject, live: KubeObject): string[] {
  const out: string[] = [];
  for (const key of COMPARED_METADATA) {
    const d = desired.metadata?.[key];
    if (d !== undefined) compare(d, live.metadata?.[key], `metadata.${key}`, out);
  }
  const isSecret = desired.kind === "Secret" && desired.apiVersion === "v1";
  for (const [key, value] of Object.entries(desired)) {
    if (key === "apiVersion" || key === "kind" || key === "metadata" || key === "status") continue;
    if (isSecret && key === "stringData") {
      compareStringData(value as Record<string, string> | undefined, live.data, out);
      continue;
    }
    compare(value, live[key], key, out);
  }
  return out;
}

function compareStringData(
  desired: Record<string, string> | undefined,
  liveData: unknown,
  out: string[],
): void {
  const data = (liveData ?? {}) as Record<string, string | undefined>;
  for (const [k, v] of Object.entries(desired ?? {})) {
    const encoded = data[k];
    if (encoded === undefined || Buffer.from(encoded, "base64").toString("utf8") !== v)
      out.push(`stringData.${k}`);
  }
}

function isEmptyContainer(v: unknown): boolean {
  if (Array.isArray(v)) return v.length === 0;
  return typeof v === "object" && v !== null && Object.keys(v).length === 0;
}

function compare(desired: unknown, live: unknown, path: string, out: string[]): void {
  if (desired === undefined) return;
  if (desired === null) {
    // In a merge patch null means "remove": matched when the field is absent.
    if (live !== undefined && live !== null) out.push(path);
    return;
  }
  if (Array.isArray(desired)) {
    if (live === undefined && desired.length === 0) return; // empty lists are omitted on output
    if (!Array.isArray(live) || live.length !== desired.length) {
      out.push(path);
      return;
    }
    desired.forEach((d, i) => {
      compare(d, live[i], `${path}[${i}]`, out);
    });
    return;
  }
  if (typeof desired === "object") {
    if (live === undefined && isEmptyContainer(desired)) return;
    if (typeof live !== "object" || live === null || Array.isArray(live)) {
      out.push(path);
      return;
    }
    const quantities = /(^|\.)resources\.(requests|limits)$/.test(path);
    for (const [k, v] of Object.entries(desired as Record<string, unknown>)) {
      const l = (live as Record<string, unknown>)[k];
      if (quantities && typeof v === "string" && typeof l === "string" && sameQuantity(v, l)) continue;
      compare(v, l, `${path}.${k}`, out);
    }
    return;
  }
  if (desired !== live) out.push(path);
}

const SUFFIX: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** Parses a resource quantity (`100m`, `0.5`, `1Gi`, `1e3`) to a number; undefined if malformed. */
export function parseQuantity(q: string): number | undefined {
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)$/.exec(
    q.trim(),
  );
  if (!m) return undefined;
  const base = Number(m[1]);
  if (m[2]) return base * 10 ** Number(m[2].slice(1));
  return base * SUFFIX[m[3] ?? ""]!;
}

// The server canonicalises quantities (`0.1` cpu is returned as `100m`), so compare values.
function sameQuantity(a: string, b: string): boolean {
  if (a === b) return true;
  const x = parseQuantity(a);
  const y = parseQuantity(b);
  if (x === undefined || y === undefined) return false;
  return Math.abs(x - y) <= Math.abs(x) * 1e-9;
}
