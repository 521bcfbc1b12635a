/**
 * Go `encoding/json`-compatible serialisation of the files the HA paths read back, edit and rewrite:
 * `cap-106.hujson` (`ipn.ConfigVAlpha`) and `ingress-config.json` (`ingressservices.Configs`). Serve
 * configs use the typed serialiser in `../serve-config`.
 *
 * Why byte-exact: the read-modify-write loops compare what they would write with what is stored,
 * and the parity tests compare with the operator's bytes. Go writes struct fields in declaration
 * order, sorts map keys as strings (so `"443"` comes before `"80"`), honours `omitempty`, and escapes
 * `<`, `>`, `&`, U+2028 and U+2029. JavaScript objects reorder integer-like keys, so maps are sorted
 * explicitly here rather than trusting insertion order.
 *
 * Difference from Go on purpose: keys that are not fields of the struct are kept (after the known
 * fields, sorted) instead of dropped, so a newer proxy's field survives our rewrite.
 *
 * String quoting and key order come from the shared `../gojson` helpers; this file adds the struct
 * layouts (field order, `omitempty`) of the types the HA paths read back, modify and rewrite.
 */
import { goJsonString, goStringCompare, isPlainObject } from "../gojson";

/** How one JSON value is laid out, enough to reproduce Go's output for the types we write. */
export type GoSchema =
  | { kind: "struct"; fields: GoField[] }
  | { kind: "map"; value: GoSchema }
  | { kind: "array"; item: GoSchema }
  | { kind: "optbool" }
  | { kind: "any" };

/** A struct field: its JSON name, schema, whether it carries `omitempty`, and its Go zero value. */
export interface GoField {
  name: string;
  schema: GoSchema;
  omitempty: boolean;
  /** Written for an absent field without omitempty (Go writes the zero value: `""` for a string). */
  zero?: unknown;
}

/** Schema for values whose layout we do not know or need: kept as given. */
export const ANY: GoSchema = { kind: "any" };

/**
 * Tailscale's `opt.Bool`: a string type that marshals as a JSON boolean, so `false` is *not* empty for
 * `omitempty` (only unset is). That is why `"Locked":false` and `"acceptDNS":false` are written.
 */
export const OPT_BOOL: GoSchema = { kind: "optbool" };

/** Shorthand for a struct field. */
export function field(name: string, schema: GoSchema = ANY, omitempty = true, zero?: unknown): GoField {
  return zero === undefined ? { name, schema, omitempty } : { name, schema, omitempty, zero };
}

/** Go's `omitempty` test: false, 0, "", nil, and empty slices/maps are omitted. */
export function isEmptyValue(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === "") return true;
  if (Array.isArray(v)) return v.length === 0;
  if (isPlainObject(v)) return Object.keys(v).length === 0;
  return false;
}

function sortedKeys(o: Record<string, unknown>): string[] {
  return Object.keys(o).sort(goStringCompare);
}

/** Serialise `value` per `schema`, as Go's `json.Marshal` would for the corresponding Go type. */
export function goMarshal(value: unknown, schema: GoSchema = ANY): string {
  if (value === undefined || value === null) return "null";
  switch (schema.kind) {
    case "struct": {
      if (!isPlainObject(value)) return goMarshal(value, ANY);
      const parts: string[] = [];
      const used = new Set<string>();
      for (const f of schema.fields) {
        const key = findKey(value, f.name);
        if (key !== undefined) used.add(key);
        const v = key === undefined ? f.zero : value[key];
        const empty =
          f.schema.kind === "optbool" ? v === undefined || v === null || v === "" : isEmptyValue(v);
        if (f.omitempty && empty) continue;
        parts.push(goJsonString(f.name) + ":" + goMarshal(v, f.schema));
      }
      for (const k of sortedKeys(value)) {
        if (!used.has(k)) parts.push(goJsonString(k) + ":" + goMarshal(value[k], ANY));
      }
      return "{" + parts.join(",") + "}";
    }
    case "map": {
      if (!isPlainObject(value)) return goMarshal(value, ANY);
      return (
        "{" +
        sortedKeys(value)
          .map((k) => goJsonString(k) + ":" + goMarshal(value[k], schema.value))
          .join(",") +
        "}"
      );
    }
    case "array": {
      if (!Array.isArray(value)) return goMarshal(value, ANY);
      return "[" + value.map((v) => goMarshal(v, schema.item)).join(",") + "]";
    }
    case "optbool":
      if (value === "true") return "true";
      if (value === "false") return "false";
      return goMarshal(value, ANY);
    case "any": {
      if (typeof value === "string") return goJsonString(value);
      if (typeof value === "number" || typeof value === "boolean") return JSON.stringify(value);
      if (Array.isArray(value)) return "[" + value.map((v) => goMarshal(v, ANY)).join(",") + "]";
      if (isPlainObject(value)) {
        return (
          "{" +
          Object.keys(value)
            .map((k) => goJsonString(k) + ":" + goMarshal(value[k], ANY))
            .join(",") +
          "}"
        );
      }
      return "null";
    }
  }
}

/**
 * Find the key of `o` that Go's decoder would bind to struct field `name`: an exact match first,
 * then a case-insensitive one (the operator's tests rely on this, e.g. `ownerrefs`).
 */
export function findKey(o: Record<string, unknown>, name: string): string | undefined {
  if (Object.hasOwn(o, name)) return name;
  const lower = name.toLowerCase();
  return Object.keys(o).find((k) => k.toLowerCase() === lower);
}

/** Parse a JSON object; throws an error naming `what` (never quoting the content, which may hold keys). */
export function parseJsonObject(text: string, what: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(
      `${what} is not valid JSON (${(e as Error).message}); fix or delete it so it can be rewritten`,
    );
  }
  if (!isPlainObject(parsed)) {
    throw new Error(
      `${what} must hold a JSON object, found ${Array.isArray(parsed) ? "an array" : typeof parsed}`,
    );
  }
  return parsed;
}

/** Structural equality of two JSON values (object key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => jsonEqual(a[k], b[k]));
  }
  return false;
}

// ----- Schemas of the Tailscale types we write -----

/** `ipn.ConfigVAlpha`, the tailscaled config file. `Version` has no omitempty. */
export const CONFIG_VALPHA: GoSchema = {
  kind: "struct",
  fields: [
    field("Version", ANY, false, ""),
    field("Locked", OPT_BOOL),
    field("ServerURL"),
    field("AuthKey"),
    field("Enabled", OPT_BOOL),
    field("OperatorUser"),
    field("Hostname"),
    field("acceptDNS", OPT_BOOL),
    field("acceptRoutes", OPT_BOOL),
    field("exitNode"),
    field("allowLANWhileUsingExitNode", OPT_BOOL),
    field("AdvertiseRoutes"),
    field("DisableSNAT", OPT_BOOL),
    field("AdvertiseServices"),
    field("AppConnector"),
    field("NetfilterMode"),
    field("NoStatefulFiltering", OPT_BOOL),
    field("PostureChecking", OPT_BOOL),
    field("RunSSHServer", OPT_BOOL),
    field("RunWebClient", OPT_BOOL),
    field("ShieldsUp", OPT_BOOL),
    field("AutoUpdate"),
    field("ServeConfigTemp"),
    field("StaticEndpoints"),
    field("RelayServerPort"),
    field("RelayServerStaticEndpoints"),
  ],
};

/** `ingressservices.Mapping`: one address family of an L3 entry. */
export const INGRESS_MAPPING: GoSchema = {
  kind: "struct",
  fields: [field("TailscaleServiceIP", ANY, false, ""), field("ClusterIP", ANY, false, "")],
};

/** `ingressservices.Config`: one entry of `ingress-config.json`. */
export const INGRESS_SERVICE_CONFIG: GoSchema = {
  kind: "struct",
  fields: [field("IPv4Mapping", INGRESS_MAPPING), field("IPv6Mapping", INGRESS_MAPPING)],
};

/** `ingressservices.Configs`: the whole `ingress-config.json`. */
export const INGRESS_CONFIGS: GoSchema = { kind: "map", value: INGRESS_SERVICE_CONFIG };
