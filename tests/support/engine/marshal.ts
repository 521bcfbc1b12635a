/**
 * Property values as the Pulumi engine holds them, in their JSON wire form: secrets are objects carrying the secret
 * signature, unknowns (preview only) are the unknown sentinel string. The harness keeps state in this form so tests
 * can see exactly which values the engine would encrypt.
 */
import { Struct } from "google-protobuf/google/protobuf/struct_pb";

/** The key that marks a special wire value (`rpc.specialSigKey` in the Node SDK). */
export const SIG_KEY = "4dabf18193072939515e22adb298388d";
/** The signature of a secret wire value. */
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
/** The string the engine sends in place of a value that is not known during preview. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** A property map in wire form. */
export type PropertyMap = Record<string, unknown>;

/** A secret wire value. */
export interface SecretValue {
  [SIG_KEY]: typeof SECRET_SIG;
  value: unknown;
}

/** Wraps a value as a secret (idempotent). */
export function makeSecret(value: unknown): SecretValue {
  if (isSecret(value)) return value;
  return { [SIG_KEY]: SECRET_SIG, value };
}

/** True when `v` is a secret wire value. */
export function isSecret(v: unknown): v is SecretValue {
  return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

/** True when `v` or anything inside it is secret. */
export function containsSecrets(v: unknown): boolean {
  if (isSecret(v)) return true;
  if (Array.isArray(v)) return v.some(containsSecrets);
  if (typeof v === "object" && v !== null) return Object.values(v).some(containsSecrets);
  return false;
}

/** True when `v` or anything inside it is the unknown sentinel. */
export function containsUnknowns(v: unknown): boolean {
  if (v === UNKNOWN) return true;
  if (Array.isArray(v)) return v.some(containsUnknowns);
  if (typeof v === "object" && v !== null) return Object.values(v).some(containsUnknowns);
  return false;
}

/**
 * Removes every secret wrapper, as the engine does before calling a provider that answered Configure with
 * `acceptSecrets=false` (the dynamic-provider host always does).
 */
export function stripSecrets<T>(v: T): T {
  if (isSecret(v)) return stripSecrets(v.value) as T;
  if (Array.isArray(v)) return v.map(stripSecrets) as T;
  if (typeof v === "object" && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = stripSecrets(x);
    return out as T;
  }
  return v;
}

/**
 * The engine's `annotateSecrets(outs, ins)` from `provider_plugin.go`: an output whose same-named input contained a
 * secret becomes secret; objects present on both sides are recursed into; anything else (arrays included) becomes
 * wholly secret. Returns a new map.
 */
export function annotateSecrets(outs: PropertyMap, ins: PropertyMap | undefined): PropertyMap {
  const result: PropertyMap = { ...outs };
  if (!ins) return result;
  for (const [key, inValue] of Object.entries(ins)) {
    if (!(key in result)) continue;
    const outValue = result[key];
    const inPlain = isSecret(inValue) ? undefined : inValue;
    if (isPlainObject(outValue) && isPlainObject(inPlain)) {
      result[key] = annotateSecrets(outValue, inPlain);
    } else if (!isSecret(outValue) && containsSecrets(inValue)) {
      result[key] = makeSecret(outValue);
    }
  }
  return result;
}

/** Marks the named top-level outputs secret (the `additionalSecretOutputs` resource option). */
export function markSecretKeys(outs: PropertyMap, keys: readonly string[] | undefined): PropertyMap {
  if (!keys?.length) return outs;
  const result = { ...outs };
  for (const k of keys) if (k in result && result[k] !== undefined) result[k] = makeSecret(result[k]);
  return result;
}

/** A plain (non-special) object. */
export function isPlainObject(v: unknown): v is PropertyMap {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(SIG_KEY in (v as object));
}

/** Normalises a value to what survives a protobuf Struct round trip (undefined dropped, no functions). */
export function jsonClean<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

/** Converts a wire property map to a protobuf Struct. */
export function toStruct(v: PropertyMap | undefined): Struct {
  return Struct.fromJavaScript(jsonClean(v ?? {}) as Record<string, never>);
}

/** Converts a protobuf Struct to a wire property map. */
export function fromStruct(s: Struct | undefined): PropertyMap {
  return s ? (s.toJavaScript() as PropertyMap) : {};
}

/** Structural equality of wire values (secret wrappers included). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => deepEqual(x, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  return ak.length === bk.length && ak.every((k) => deepEqual(ao[k], bo[k]));
}

/** Top-level keys whose values differ between two property maps (the engine's input-level diff). */
export function changedKeys(olds: PropertyMap, news: PropertyMap): string[] {
  const keys = new Set([...Object.keys(olds), ...Object.keys(news)]);
  return [...keys].filter((k) => !deepEqual(olds[k], news[k])).sort();
}

/** One step of a property path: an object key or an array index. */
type PathPart = string | number;

/**
 * Parses a Pulumi property path (`a.b`, `a[0].c`, `a["x.y"]`, `*`) into parts.
 */
export function parsePropertyPath(path: string): PathPart[] {
  const parts: PathPart[] = [];
  const re = /([^.[\]]+)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]|\[\*\]/g;
  for (const m of path.matchAll(re)) {
    if (m[1] !== undefined) parts.push(m[1]);
    else if (m[2] !== undefined) parts.push(Number(m[2]));
    else if (m[3] !== undefined) parts.push(m[3]);
    else parts.push("*");
  }
  return parts;
}

/** True when `path` names `key` or something above it (`*` matches any part): the engine's `PropertyPath.Contains`. */
export function pathContains(path: PathPart[], key: PathPart[]): boolean {
  if (key.length < path.length) return false;
  return path.every((p, i) => p === "*" || p === key[i]);
}

function getAt(v: unknown, parts: PathPart[]): { found: boolean; value?: unknown } {
  let cur: unknown = v;
  for (const p of parts) {
    if (isSecret(cur)) cur = cur.value;
    if (typeof cur !== "object" || cur === null || !(p in (cur as object))) return { found: false };
    cur = (cur as Record<string | number, unknown>)[p];
  }
  return { found: true, value: cur };
}

/**
 * The engine's `processIgnoreChanges`: for each ignored path, the new input takes the old input's value (or loses the
 * property when the old inputs did not have it).
 */
export function applyIgnoreChanges(
  olds: PropertyMap,
  news: PropertyMap,
  ignoreChanges: readonly string[],
): PropertyMap {
  const result = structuredClone(news);
  for (const path of ignoreChanges) {
    const parts = parsePropertyPath(path);
    if (parts.length === 0) continue;
    const old = getAt(olds, parts);
    let parent: unknown = result;
    for (const p of parts.slice(0, -1)) {
      if (isSecret(parent)) parent = parent.value;
      const obj = parent as Record<string | number, unknown>;
      if (typeof obj[p] !== "object" || obj[p] === null) {
        if (!old.found) {
          parent = undefined;
          break;
        }
        obj[p] = typeof parts[parts.indexOf(p) + 1] === "number" ? [] : {};
      }
      parent = obj[p];
    }
    if (parent === undefined) continue;
    if (isSecret(parent)) parent = parent.value;
    const last = parts[parts.length - 1];
    const obj = parent as Record<string | number, unknown>;
    if (old.found) obj[last] = structuredClone(old.value);
    else delete obj[last];
  }
  return result;
}

/** Parses a Go duration (`"5m"`, `"1h30m"`, `"90s"`, `"500ms"`) into seconds, as `customTimeouts` are written. */
export function parseGoDuration(d: string | undefined): number {
  if (!d) return 0;
  const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001, us: 1e-6, µs: 1e-6, ns: 1e-9 };
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g;
  let consumed = 0;
  for (const m of d.matchAll(re)) {
    total += Number(m[1]) * units[m[2]];
    consumed += m[0].length;
  }
  if (consumed !== d.length) {
    // The engine refuses the registration with this text (pulumi/pulumi@a88168d8
    // pkg/resource/deploy/source_eval.go:3042-3049, called at 2634-2664).
    throw new Error(`unable to parse customTimeout Value ${d}`);
  }
  return total;
}
