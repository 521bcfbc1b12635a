/**
 * Helpers that reproduce Go output byte for byte (`encoding/json`, and `fmt`'s `%q` in error texts),
 * plus canonical hashing and the JSON value checks the planners share.
 *
 * The operator writes its config files with Go's encoder; our files must be byte-identical for the parity
 * cases so that a proxy migrated between the operator and this package sees no config change (no reload).
 * Its error texts quote values with `%q`; ours quote them the same way, so users can search for them.
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
 * Quotes a string as Go's `%q` does for printable input: double quotes, with `"` and `\` escaped and
 * control characters written as escapes. Used so error texts match the operator's.
 */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === "\\") out += `\\${ch}`;
    else if (c === 7) out += "\\a";
    else if (c === 8) out += "\\b";
    else if (c === 12) out += "\\f";
    else if (c === 10) out += "\\n";
    else if (c === 13) out += "\\r";
    else if (c === 9) out += "\\t";
    else if (c === 11) out += "\\v";
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return `${out}"`;
}

/** Go's `%q` of a single byte (a rune literal), as in dnsname's "contains invalid character" message. */
export function goQuoteByte(b: number): string {
  if (b === 0x27) return "'\\''";
  if (b === 0x5c) return "'\\\\'";
  if (b < 0x20 || b === 0x7f) return `'\\x${b.toString(16).padStart(2, "0")}'`;
  return `'${String.fromCodePoint(b)}'`;
}

/** True for a JSON object (not null, not an array). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
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
