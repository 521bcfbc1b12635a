/**
 * Schema checks. Decoding (types, unknown fields) follows the Go structs, using @kubernetes/client-node's
 * model type maps as the field list; structural rules (required, enums, formats) come from the
 * kubernetes-models validators, which are built from the official OpenAPI document.
 */
import * as k8s from "@kubernetes/client-node";
import { type FieldError, invalidField, notSupportedField, requiredField } from "./errors";

type Attr = { name: string; baseName: string; type: string; format: string };

const models = k8s as unknown as Record<string, { getAttributeTypeMap?: () => Attr[] }>;

/** What decoding the JSON body into the Go type found. */
export interface DecodeResult {
  /** Unknown field paths (`spec.bogus`, `spec.template.spec.containers[0].x`). */
  unknown: string[];
  /** First type mismatch, rendered as Go's json error. */
  typeError?: string;
}

function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return "array";
  if (v === null) return "null";
  if (typeof v === "boolean") return "bool";
  return typeof v;
}

function goType(t: string, format: string): string {
  if (t === "number") return format === "int64" ? "int64" : format === "double" ? "float64" : "int32";
  if (t === "boolean") return "bool";
  if (t === "string" || t === "Date") return "string";
  if (t.startsWith("Array<")) return `[]${goType(t.slice(6, -1), "")}`;
  if (t.startsWith("{ [key: string]: ")) return `map[string]${goType(t.slice(17, -3), "")}`;
  return `v1.${t.replace(/^(V1|CoreV1|AppsV1|RbacV1|DiscoveryV1|EventsV1|ApiextensionsV1)/, "")}`;
}

function structName(cls: string): string {
  return cls.replace(/^(V1|CoreV1|AppsV1|RbacV1|DiscoveryV1|EventsV1|ApiextensionsV1)/, "");
}

/** Walks a body against the Go type tree rooted at a client-node model class. */
export function decodeCheck(body: unknown, rootClass: string): DecodeResult {
  const res: DecodeResult = { unknown: [] };
  const walk = (
    v: unknown,
    type: string,
    format: string,
    shown: string,
    goPath: string,
    struct: string,
    quantity: boolean,
  ) => {
    if (v === null || v === undefined || res.typeError) return;
    const fail = () => {
      res.typeError ??= `json: cannot unmarshal ${jsonKind(v)} into Go struct field ${struct}.${goPath} of type ${goType(type, format)}`;
    };
    if (type === "any" || type === "object") return;
    if (type === "IntOrString") {
      if (typeof v !== "string" && typeof v !== "number") fail();
      return;
    }
    if (type === "number") {
      if (typeof v !== "number" || (format !== "double" && !Number.isInteger(v))) fail();
      return;
    }
    if (type === "string" || type === "Date") {
      if (typeof v !== "string" && !(quantity && typeof v === "number")) fail();
      return;
    }
    if (type === "boolean") {
      if (typeof v !== "boolean") fail();
      return;
    }
    if (type.startsWith("Array<")) {
      if (!Array.isArray(v)) return fail();
      const inner = type.slice(6, -1);
      for (const [i, e] of v.entries()) walk(e, inner, "", `${shown}[${i}]`, goPath, struct, quantity);
      return;
    }
    if (type.startsWith("{ [key: string]: ")) {
      if (typeof v !== "object" || Array.isArray(v)) return fail();
      const inner = type.slice(17, -3);
      for (const [k, x] of Object.entries(v as object))
        walk(x, inner, "", `${shown}.${k}`, goPath, struct, quantity);
      return;
    }
    const cls = models[type];
    if (!cls?.getAttributeTypeMap) return;
    if (typeof v !== "object" || Array.isArray(v)) return fail();
    const attrs = cls.getAttributeTypeMap();
    for (const [k, x] of Object.entries(v as object)) {
      const a = attrs.find((at) => at.baseName === k);
      const childShown = shown ? `${shown}.${k}` : k;
      if (!a) {
        res.unknown.push(childShown);
        continue;
      }
      const isQuantity = type === "V1ResourceRequirements" || quantity;
      walk(x, a.type, a.format, childShown, goPath ? `${goPath}.${k}` : k, structName(type), isQuantity);
    }
  };
  walk(body, rootClass, "", "", "", structName(rootClass), false);
  return res;
}

type Validator = ((data: unknown) => boolean) & { errors?: AjvError[] | null };
interface AjvError {
  instancePath: string;
  keyword: string;
  params: Record<string, any>;
  message?: string;
}

const validators = new Map<string, Validator>();

/** Loads the kubernetes-models validators for the given schema names (once per process). */
export async function loadValidators(names: string[]): Promise<void> {
  for (const n of names) {
    if (validators.has(n)) continue;
    const spec = `kubernetes-models/_schemas/${n}`;
    const mod: any = await import(spec);
    validators.set(n, mod.validate as Validator);
  }
}

function toField(instancePath: string): string {
  return instancePath
    .split("/")
    .filter(Boolean)
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce((acc, s) => (/^\d+$/.test(s) ? `${acc}[${s}]` : acc ? `${acc}.${s}` : s), "");
}

/** Schema-level outcome: a decode failure (400) or field errors (422). */
export interface SchemaResult {
  decodeError?: string;
  errors: FieldError[];
}

/** Runs the kubernetes-models validator for `schema` on a defaulted object. */
export function schemaCheck(schema: string, obj: unknown): SchemaResult {
  const v = validators.get(schema);
  if (!v) throw new Error(`schema ${schema} was not loaded; call loadValidators first`);
  const result: SchemaResult = { errors: [] };
  if (v(obj)) return result;
  for (const e of v.errors ?? []) {
    const field = toField(e.instancePath);
    if (e.keyword === "required") {
      result.errors.push(
        requiredField(field ? `${field}.${e.params.missingProperty}` : e.params.missingProperty),
      );
    } else if (e.keyword === "enum") {
      result.errors.push(
        notSupportedField(field, valueAt(obj, e.instancePath), (e.params.allowedValues ?? []).map(String)),
      );
    } else if (e.keyword === "format" && e.params.format === "byte") {
      const bad = String(valueAt(obj, e.instancePath));
      const at = firstBadBase64(bad);
      result.decodeError ??= `illegal base64 data at input byte ${at}`;
    } else if (e.keyword === "type" || e.keyword === "format") {
      // Decoding already rejects type mismatches with Go's message; anything left is a format rule.
      result.errors.push(invalidField(field, valueAt(obj, e.instancePath), e.message ?? "invalid format"));
    } else if (e.keyword !== "anyOf" && e.keyword !== "oneOf" && e.keyword !== "if") {
      result.errors.push(invalidField(field, valueAt(obj, e.instancePath), e.message ?? e.keyword));
    }
  }
  return result;
}

function valueAt(obj: any, instancePath: string): unknown {
  let cur = obj;
  for (const s of instancePath.split("/").filter(Boolean))
    cur = cur?.[s.replace(/~1/g, "/").replace(/~0/g, "~")];
  return cur;
}

function firstBadBase64(s: string): number {
  const i = s.search(/[^A-Za-z0-9+/=]/);
  return i >= 0 ? i : Math.max(0, s.length - (s.length % 4));
}
