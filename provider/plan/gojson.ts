/**
 * Helpers that reproduce Go `encoding/json` output byte for byte, plus canonical hashing.
 *
 * The operator writes its config files with Go's encoder; our files must be byte-identical for the parity
 * cases so that a proxy migrated between the operator and this package sees no config change (no reload).
 */
import { createHash } from "node:crypto";

/**
 * A JSON string literal exactly as Go's `encoding/json` writes it (HTML-safe escaping on):
 * `<`, `>`, `&`, U+2028 and U+2029 are escaped as `\u003c`, `\u003e`, `\u0026`, `\u2028`, `\u2029`.
 * Other escapes match `JSON.stringify` (both use `\b \f \n \r \t` and lowercase `\u00XX`).
 */
export function goJsonString(s: string): string {
  return JSON.stringify(s)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/**
 * Compares strings the way Go's `sort.Strings` does (bytewise on UTF-8). For code points below U+10000
 * that is the same as comparing UTF-16 code units, which is what the default JS comparison does; astral
 * characters are compared by code point to keep the UTF-8 order.
 */
export function goStringCompare(a: string, b: string): number {
  const ca = Array.from(a, (c) => c.codePointAt(0)!);
  const cb = Array.from(b, (c) => c.codePointAt(0)!);
  const n = Math.min(ca.length, cb.length);
  for (let i = 0; i < n; i++) {
    if (ca[i] !== cb[i]) return ca[i]! < cb[i]! ? -1 : 1;
  }
  return ca.length - cb.length;
}

/**
 * Serialises a Go map (`map[string]T`) as `encoding/json` does: keys sorted as strings, no whitespace.
 * `value` renders one element.
 */
export function goJsonMap<T>(m: Record<string, T>, value: (v: T) => string): string {
  const keys = Object.keys(m).sort(goStringCompare);
  return `{${keys.map((k) => `${goJsonString(k)}:${value(m[k] as T)}`).join(",")}}`;
}

/**
 * JSON with object keys sorted recursively and `undefined` members dropped: a stable text for hashing and
 * deep comparison, independent of the order in which objects were built.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") {
    return value === undefined ? "null" : JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    return `[${value.map((v) => (v === undefined ? "null" : canonicalJson(v))).join(",")}]`;
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(",")}}`;
}

/** Lowercase hex SHA-256 of a UTF-8 string. */
export function sha256Hex(s: string): string {
  return createHash("sha256").update(s, "utf8").digest("hex");
}
