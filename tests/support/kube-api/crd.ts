/**
 * CustomResourceDefinitions and the custom resources they define, as kube-apiserver's
 * apiextensions-apiserver serves them (kubernetes/apiextensions-apiserver@1aa2717a):
 *
 * - the CRD kind (`apiextensions.k8s.io/v1`, cluster-scoped, status subresource): defaulting
 *   (`singular`, `listKind`, `conversion.strategy`), the validation of `pkg/apis/apiextensions/validation`
 *   that a CRD author meets first (name = `<plural>.<group>`, a group with a dot, names, scope, exactly
 *   one storage version, a schema per version) and the structural-schema rules of
 *   `pkg/apiserver/schema/validation.go` (a type everywhere, `object` at the root, `items` for arrays);
 * - the naming and establishing controllers (`pkg/controller/status`, `pkg/controller/establish`):
 *   `status.acceptedNames`, the `NamesAccepted` and `Established` conditions, a name taken by another
 *   CRD of the group refused with its condition; only then are the resources served;
 * - deletion (`pkg/registry/customresourcedefinition/etcd.go` Delete, `pkg/controller/finalizer`): a
 *   delete marks the CRD Terminating with the `customresourcecleanup.apiextensions.k8s.io` finalizer,
 *   its custom resources are deleted, then the CRD goes; creates in between are refused;
 * - custom resources (`pkg/apiserver/customresource_handler.go`): a type per CRD, answering the API's
 *   404 until the CRD is established and after it is gone; pruning of fields the schema does not
 *   specify (reported as unknown fields: a warning, or a 400 with `fieldValidation=Strict`), defaults,
 *   and validation against the schema with kube-openapi's messages (`pkg/apiserver/validation`); a
 *   status subresource when the CRD declares one; creates in the 2 seconds after the CRD became
 *   established wait out the rest of them, as the handler sleeps.
 *
 * What is not modelled is listed in README.md beside this file.
 */
import {
  type FieldError,
  forbiddenField,
  formatValue,
  invalidField,
  notSupportedField,
  requiredField,
  tooLongField,
} from "./errors";
import type { KindStrategy } from "./kinds/types";
import { clone, isObj } from "./patch";
import type { ResourceType } from "./resources";
import { dns1035LabelErrors, dns1123SubdomainErrors, invalidEach } from "./validation";

/** The subset of apiextensions' JSONSchemaProps that is served and enforced here. */
export interface JSONSchemaProps {
  type?: string;
  properties?: Record<string, JSONSchemaProps>;
  items?: JSONSchemaProps;
  additionalProperties?: JSONSchemaProps | boolean;
  required?: string[];
  enum?: unknown[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  nullable?: boolean;
  default?: unknown;
  format?: string;
  description?: string;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-int-or-string"?: boolean;
  "x-kubernetes-embedded-resource"?: boolean;
  [key: string]: unknown;
}

/** What a custom resource type carries besides the generic facts of a ResourceType. */
export interface CustomTypeFacts {
  /** `<plural>.<group>` of the CRD that defines it. */
  crd: string;
  schema: JSONSchemaProps;
  /** When the CRD became Established (ms since the epoch): creates wait until 2 s after it. */
  establishedAt: number;
}

/** The finalizer a CRD carries while its custom resources are being deleted. */
export const CRD_CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io";

/** How long after a CRD became established a create of one of its resources is held back. */
export const JUST_ESTABLISHED_MS = 2000;

const ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

function storageVersion(crd: any): string | undefined {
  return (crd?.spec?.versions ?? []).find((v: any) => v?.storage === true)?.name;
}

/** The CustomResourceDefinition kind: defaulting, PrepareForCreate/Update and validation. */
export const crdStrategy: KindStrategy = {
  nameValidator: dns1123SubdomainErrors,
  statusSubresource: true,
  generation: true,
  defaults(obj) {
    // SetDefaults_CustomResourceDefinition (pkg/apis/apiextensions/v1/defaults.go).
    const spec = isObj(obj.spec) ? obj.spec : undefined;
    if (!spec) return;
    const names = isObj(spec.names) ? spec.names : undefined;
    if (names && typeof names.kind === "string") {
      if (!names.singular) names.singular = names.kind.toLowerCase();
      if (!names.listKind) names.listKind = `${names.kind}List`;
    }
    if (spec.conversion === undefined) spec.conversion = { strategy: "None" };
  },
  initialStatus(obj) {
    const v = storageVersion(obj);
    return { acceptedNames: { plural: "", kind: "" }, storedVersions: v ? [v] : [] };
  },
  prepareForUpdate(obj, old) {
    const v = storageVersion(obj);
    const stored: string[] = old.status?.storedVersions ?? [];
    if (v && !stored.includes(v)) obj.status = { ...(obj.status ?? {}), storedVersions: [...stored, v] };
  },
  validate(obj) {
    return validateCrd(obj);
  },
  validateUpdate(obj, old) {
    const errs: FieldError[] = [];
    // spec.group and spec.scope cannot change once resources may be stored under them.
    if (obj.spec?.group !== old.spec?.group) {
      errs.push(invalidField("spec.group", obj.spec?.group, "field is immutable"));
    }
    if (obj.spec?.scope !== old.spec?.scope) {
      errs.push(invalidField("spec.scope", obj.spec?.scope, "field is immutable"));
    }
    return errs;
  },
  specOf: (obj) => obj.spec,
};

function validateCrd(obj: any): FieldError[] {
  const errs: FieldError[] = [];
  const spec = isObj(obj.spec) ? obj.spec : {};
  const names = isObj(spec.names) ? spec.names : {};
  const group = spec.group;
  const name = obj.metadata?.name;
  if (name && name !== `${names.plural}.${group}`) {
    errs.push(invalidField("metadata.name", name, 'must be spec.names.plural+"."+spec.group'));
  }
  if (!group) errs.push(requiredField("spec.group"));
  else if (dns1123SubdomainErrors(group).length > 0) {
    errs.push(invalidField("spec.group", group, dns1123SubdomainErrors(group).join(",")));
  } else if (group.split(".").length < 2) {
    errs.push(invalidField("spec.group", group, "should be a domain with at least one dot"));
  }
  if (!spec.scope) errs.push(requiredField("spec.scope"));
  else if (spec.scope !== "Cluster" && spec.scope !== "Namespaced") {
    errs.push(notSupportedField("spec.scope", spec.scope, ["Cluster", "Namespaced"]));
  }
  const versions: any[] = Array.isArray(spec.versions) ? spec.versions : [];
  if (versions.length === 0)
    errs.push(requiredField("spec.versions", "must have exactly one version marked as storage version"));
  versions.forEach((v, i) => {
    const at = `spec.versions[${i}]`;
    if (!v?.name) errs.push(requiredField(`${at}.name`));
    else errs.push(...invalidEach(`${at}.name`, v.name, dns1035LabelErrors(v.name)));
    const schema = v?.schema?.openAPIV3Schema;
    if (!isObj(schema)) errs.push(requiredField(`${at}.schema.openAPIV3Schema`));
    else errs.push(...structuralErrors(schema, `${at}.schema.openAPIV3Schema`, "root"));
  });
  const versionNames = versions.map((v) => v?.name);
  if (new Set(versionNames).size !== versionNames.length) {
    errs.push(invalidField("spec.versions", versions, "must contain unique version names"));
  }
  if (versions.length > 0 && versions.filter((v) => v?.storage === true).length !== 1) {
    errs.push(
      invalidField("spec.versions", versions, "must have exactly one version marked as storage version"),
    );
  }
  for (const key of ["plural", "singular", "kind", "listKind"]) {
    if (!names[key]) errs.push(requiredField(`spec.names.${key}`));
  }
  for (const key of ["plural", "singular"]) {
    if (names[key])
      errs.push(...invalidEach(`spec.names.${key}`, names[key], dns1035LabelErrors(names[key])));
  }
  for (const key of ["kind", "listKind"]) {
    const e = names[key] ? dns1035LabelErrors(String(names[key]).toLowerCase()) : [];
    if (e.length > 0) {
      errs.push(
        invalidField(
          `spec.names.${key}`,
          names[key],
          `may have mixed case, but should otherwise match: ${e.join(",")}`,
        ),
      );
    }
  }
  if (names.kind && names.kind === names.listKind) {
    errs.push(invalidField("spec.names.listKind", names.listKind, "kind and listKind may not be the same"));
  }
  // API approval for the groups the Kubernetes project owns (validateAPIApproval).
  if (typeof group === "string" && (group.endsWith(".k8s.io") || group.endsWith(".kubernetes.io"))) {
    if (!obj.metadata?.annotations?.["api-approved.kubernetes.io"]) {
      errs.push(
        requiredField(
          "metadata.annotations[api-approved.kubernetes.io]",
          `protected groups must have approval annotation "api-approved.kubernetes.io", see https://github.com/kubernetes/enhancements/pull/1111`,
        ),
      );
    }
  }
  return errs;
}

type Level = "root" | "item" | "field";

/** The structural-schema invariants (pkg/apiserver/schema/validation.go validateStructuralInvariants). */
function structuralErrors(s: JSONSchemaProps, at: string, level: Level): FieldError[] {
  const errs: FieldError[] = [];
  if (s.type === "array" && !isObj(s.items)) errs.push(requiredField(`${at}.items`, "must be specified"));
  if (isObj(s.items)) errs.push(...structuralErrors(s.items, `${at}.items`, "item"));
  for (const [k, v] of Object.entries(s.properties ?? {})) {
    if (isObj(v)) errs.push(...structuralErrors(v, `${at}.properties[${k}]`, "field"));
  }
  if (s.additionalProperties !== undefined && s.additionalProperties !== false) {
    if (level === "root")
      errs.push(forbiddenField(`${at}.additionalProperties`, "must not be used at the root"));
    if (isObj(s.additionalProperties)) {
      errs.push(...structuralErrors(s.additionalProperties, `${at}.additionalProperties`, "field"));
    }
  }
  const intOrString = s["x-kubernetes-int-or-string"] === true;
  const preserve = s["x-kubernetes-preserve-unknown-fields"] === true;
  if (!s.type && !intOrString && !preserve) {
    const why = {
      root: "must not be empty at the root",
      item: "must not be empty for specified array items",
      field: "must not be empty for specified object fields",
    }[level];
    errs.push(requiredField(`${at}.type`, why));
  }
  if (level === "root" && s.type && s.type !== "object") {
    errs.push(invalidField(`${at}.type`, s.type, "must be object at the root"));
  }
  if (s.type && !["object", "array", "string", "integer", "number", "boolean"].includes(s.type)) {
    errs.push(
      notSupportedField(`${at}.type`, s.type, ["array", "boolean", "integer", "number", "object", "string"]),
    );
  }
  if (typeof s.pattern === "string") {
    try {
      new RegExp(s.pattern, "u");
    } catch (e) {
      errs.push(
        invalidField(
          `${at}.pattern`,
          s.pattern,
          `must be a valid regular expression, but isn't: ${(e as Error).message}`,
        ),
      );
    }
  }
  return errs;
}

// ------------------------------------------------------------------ custom resources

/** The ResourceType of a CRD's storage version (the one version served here). */
export function customResourceType(crd: any, establishedAt: number): ResourceType | undefined {
  const spec = crd.spec;
  const version = (spec.versions as any[]).find((v) => v.storage === true && v.served !== false);
  if (!version) return undefined;
  const names = crd.status?.acceptedNames ?? spec.names;
  const schema = version.schema.openAPIV3Schema as JSONSchemaProps;
  const statusSubresource = isObj(version.subresources?.status);
  const custom: CustomTypeFacts = { crd: crd.metadata.name, schema, establishedAt };
  return {
    group: spec.group,
    version: version.name,
    kind: names.kind,
    plural: names.plural,
    singular: names.singular,
    namespaced: spec.scope === "Namespaced",
    ...(names.shortNames?.length ? { shortNames: names.shortNames } : {}),
    ...(names.categories?.length ? { categories: names.categories } : {}),
    verbs: ALL_VERBS,
    subresources: statusSubresource ? { status: ["get", "patch", "update"] } : {},
    schema: "",
    model: "",
    custom,
    strategy: customResourceStrategy(custom, statusSubresource),
  };
}

/**
 * Updates a served type in place from its CRD (a schema or names change), so that the stored objects,
 * which the store keys by the type object, stay reachable.
 */
export function refreshCustomType(t: ResourceType, next: ResourceType): void {
  const keep = t.custom!.establishedAt;
  Object.assign(t, next);
  t.custom!.establishedAt = keep;
}

function customResourceStrategy(facts: CustomTypeFacts, statusSubresource: boolean): KindStrategy {
  return {
    nameValidator: dns1123SubdomainErrors,
    statusSubresource,
    generation: true,
    defaults(obj) {
      applyDefaults(obj, facts.schema, true);
    },
    validate(obj) {
      const errs: FieldError[] = [];
      const body = { ...obj };
      delete body.metadata;
      validateValue(
        body,
        { ...facts.schema, properties: withoutMetadata(facts.schema.properties) },
        "",
        errs,
      );
      return errs;
    },
    // Any change but metadata (and status, with the subresource) bumps the generation.
    specOf(obj) {
      const { metadata: _m, status, ...rest } = obj;
      return statusSubresource ? rest : { ...rest, status };
    },
  };
}

function withoutMetadata(props: Record<string, JSONSchemaProps> | undefined) {
  if (!props) return props;
  const { metadata: _m, ...rest } = props;
  return rest;
}

function preserves(s: JSONSchemaProps | undefined): boolean {
  return s?.["x-kubernetes-preserve-unknown-fields"] === true;
}

/**
 * Structural pruning (pkg/apiserver/schema/pruning): drops what the schema does not specify, in place,
 * and returns the dropped paths (`spec.foo`, `spec.endpoints[0].bar`). At the root, `apiVersion`, `kind`
 * and `metadata` are kept (metadata is decoded as ObjectMeta).
 */
export function prune(obj: any, schema: JSONSchemaProps): string[] {
  const dropped: string[] = [];
  const walk = (v: unknown, s: JSONSchemaProps | undefined, path: string, root: boolean) => {
    if (!s || v === null || v === undefined) return;
    if (Array.isArray(v)) {
      if (isObj(s.items)) {
        for (const [i, e] of v.entries()) walk(e, s.items, `${path}[${i}]`, false);
      }
      return;
    }
    if (!isObj(v)) return;
    const props = s.properties ?? {};
    const additional = isObj(s.additionalProperties) ? s.additionalProperties : undefined;
    for (const key of Object.keys(v)) {
      const child = path ? `${path}.${key}` : key;
      if (root && (key === "apiVersion" || key === "kind" || key === "metadata")) continue;
      if (key in props) walk(v[key], props[key], child, false);
      else if (additional) walk(v[key], additional, child, false);
      else if (s.additionalProperties === true || preserves(s)) continue;
      else {
        delete v[key];
        dropped.push(child);
      }
    }
  };
  walk(obj, schema, "", true);
  // Sorted, as pruning reports them (pkg/apiserver/schema/pruning/algorithm.go).
  return dropped.sort();
}

/** Structural defaulting: absent properties with a `default` get it (a copy), at every level. */
export function applyDefaults(v: unknown, s: JSONSchemaProps | undefined, root = false): void {
  if (!s || v === null || v === undefined) return;
  if (Array.isArray(v)) {
    if (isObj(s.items)) for (const e of v) applyDefaults(e, s.items);
    return;
  }
  if (!isObj(v)) return;
  for (const [key, ps] of Object.entries(s.properties ?? {})) {
    if (root && key === "metadata") continue;
    if (v[key] === undefined && ps.default !== undefined) v[key] = clone(ps.default);
    applyDefaults(v[key], ps);
  }
  if (isObj(s.additionalProperties)) {
    for (const key of Object.keys(v))
      if (!(key in (s.properties ?? {}))) applyDefaults(v[key], s.additionalProperties);
  }
}

function jsonType(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  if (typeof v === "boolean") return "boolean";
  if (typeof v === "string") return "string";
  return "object";
}

function typeMatches(v: unknown, s: JSONSchemaProps): boolean {
  const t = jsonType(v);
  if (s["x-kubernetes-int-or-string"] === true) return t === "integer" || t === "string";
  if (!s.type) return true;
  if (s.type === "number") return t === "number" || t === "integer";
  return s.type === t;
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A field error's path: kube-openapi's name without its leading dot (kubeOpenAPIResultToFieldErrors). */
function fieldOf(path: string): string {
  return path;
}

/**
 * Validates a value against a schema with kube-openapi's checks and messages (the `in body` form of
 * `k8s.io/kube-openapi/pkg/validation/errors`), converted to field errors as
 * pkg/apiserver/validation/validation.go kubeOpenAPIResultToFieldErrors does.
 */
export function validateValue(v: unknown, s: JSONSchemaProps, path: string, errs: FieldError[]): void {
  const name = path || ".";
  if (v === null || v === undefined) {
    if (v === null && !s.nullable && (s.type || s["x-kubernetes-int-or-string"])) {
      const types = s["x-kubernetes-int-or-string"] ? "integer,string" : s.type!;
      errs.push(typeInvalid(path, "null", `${name} in body must be of type ${types}: "null"`));
    }
    return;
  }
  if (!typeMatches(v, s)) {
    const types = s["x-kubernetes-int-or-string"] ? "integer,string" : s.type!;
    const t = jsonType(v);
    errs.push(typeInvalid(path, t, `${name} in body must be of type ${types}: ${JSON.stringify(t)}`));
    return;
  }
  if (typeof v === "string") {
    if (s.maxLength !== undefined && [...v].length > s.maxLength)
      errs.push(tooLongField(fieldOf(path), s.maxLength));
    if (s.minLength !== undefined && [...v].length < s.minLength) {
      errs.push(
        invalidField(fieldOf(path), v, `${name} in body should be at least ${s.minLength} chars long`),
      );
    }
    if (s.pattern !== undefined && !new RegExp(s.pattern, "u").test(v)) {
      errs.push(invalidField(fieldOf(path), v, `${name} in body should match '${s.pattern}'`));
    }
  }
  if (typeof v === "number") {
    if (s.maximum !== undefined && (s.exclusiveMaximum ? v >= s.maximum : v > s.maximum)) {
      const how = s.exclusiveMaximum ? "less than" : "less than or equal to";
      errs.push(invalidField(fieldOf(path), v, `${name} in body should be ${how} ${s.maximum}`));
    }
    if (s.minimum !== undefined && (s.exclusiveMinimum ? v <= s.minimum : v < s.minimum)) {
      const how = s.exclusiveMinimum ? "greater than" : "greater than or equal to";
      errs.push(invalidField(fieldOf(path), v, `${name} in body should be ${how} ${s.minimum}`));
    }
  }
  if (Array.isArray(v)) {
    if (s.maxItems !== undefined && v.length > s.maxItems) {
      errs.push({
        type: "FieldValueTooMany",
        field: fieldOf(path),
        body: `Too many: ${v.length}: must have at most ${s.maxItems} items`,
      });
    }
    if (s.minItems !== undefined && v.length < s.minItems) {
      errs.push(invalidField(fieldOf(path), v, `${name} in body should have at least ${s.minItems} items`));
    }
    if (isObj(s.items)) for (const [i, e] of v.entries()) validateValue(e, s.items, `${path}[${i}]`, errs);
  }
  if (Array.isArray(s.enum) && !s.enum.some((e) => deepEqual(e, v))) {
    errs.push(
      notSupportedField(
        fieldOf(path),
        v,
        s.enum.map((e) => (typeof e === "string" ? e : JSON.stringify(e))),
      ),
    );
  }
  if (isObj(v) && !Array.isArray(v)) {
    const keys = Object.keys(v);
    if (s.maxProperties !== undefined && keys.length > s.maxProperties) {
      errs.push({
        type: "FieldValueTooMany",
        field: fieldOf(path),
        body: `Too many: ${keys.length}: must have at most ${s.maxProperties} items`,
      });
    }
    if (s.minProperties !== undefined && keys.length < s.minProperties) {
      errs.push(
        invalidField(fieldOf(path), v, `${name} in body should have at least ${s.minProperties} properties`),
      );
    }
    for (const r of s.required ?? []) {
      if (v[r] === undefined) errs.push(requiredField(path ? `${path}.${r}` : r));
    }
    for (const [key, ps] of Object.entries(s.properties ?? {})) {
      if (key in v) validateValue(v[key], ps, path ? `${path}.${key}` : key, errs);
    }
    if (isObj(s.additionalProperties)) {
      for (const key of keys) {
        if (!(key in (s.properties ?? {}))) {
          validateValue(v[key], s.additionalProperties, path ? `${path}.${key}` : key, errs);
        }
      }
    }
  }
}

function typeInvalid(path: string, value: string, detail: string): FieldError {
  return {
    type: "FieldValueTypeInvalid",
    field: fieldOf(path),
    body: `Invalid value: ${formatValue(value)}: ${detail}`,
  };
}

// ------------------------------------------------------------------ controllers

/** A condition of a CRD's status, as the controllers write them. */
function condition(type: string, status: string, reason: string, message: string) {
  return {
    type,
    status,
    lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
    reason,
    message,
  };
}

/** The accepted names of a CRD and its NamesAccepted condition, given the other CRDs of its group. */
export function namingOf(crd: any, others: any[]): { acceptedNames: any; namesAccepted: any } {
  const requested = crd.spec.names;
  const accepted = crd.status?.acceptedNames ?? {};
  const resources = new Set<string>();
  const kinds = new Set<string>();
  for (const o of others) {
    if (o.spec?.group !== crd.spec.group || o.metadata.name === crd.metadata.name) continue;
    const a = o.status?.acceptedNames ?? {};
    for (const n of [a.plural, a.singular, ...(a.shortNames ?? [])]) if (n) resources.add(n);
    for (const n of [a.kind, a.listKind]) if (n) kinds.add(n);
  }
  const next: any = { ...accepted };
  let failed: { reason: string; message: string } | undefined;
  const take = (key: string, used: Set<string>, reason: string) => {
    const want = requested[key];
    if (want === accepted[key] || !used.has(want)) next[key] = want;
    else failed ??= { reason, message: `${JSON.stringify(want)} is already in use` };
  };
  take("plural", resources, "PluralConflict");
  take("singular", resources, "SingularConflict");
  const short = (requested.shortNames ?? []).filter(
    (n: string) => !(accepted.shortNames ?? []).includes(n) && resources.has(n),
  );
  if (short.length > 0)
    failed ??= { reason: "ShortNamesConflict", message: `${JSON.stringify(short[0])} is already in use` };
  else if (requested.shortNames) next.shortNames = requested.shortNames;
  take("kind", kinds, "KindConflict");
  take("listKind", kinds, "ListKindConflict");
  if (requested.categories) next.categories = requested.categories;
  const namesAccepted = failed
    ? condition("NamesAccepted", "False", failed.reason, failed.message)
    : condition("NamesAccepted", "True", "NoConflicts", "no conflicts found");
  return { acceptedNames: next, namesAccepted };
}

/** Whether a CRD's condition of `type` is True. */
export function conditionTrue(crd: any, type: string): boolean {
  return (crd?.status?.conditions ?? []).some((c: any) => c.type === type && c.status === "True");
}

/** Replaces (or adds) conditions by type, keeping a condition's transition time when its status stays. */
export function withConditions(existing: any[] | undefined, updates: any[]): any[] {
  const out = [...(existing ?? [])];
  for (const u of updates) {
    const i = out.findIndex((c) => c.type === u.type);
    if (i < 0) out.push(u);
    else out[i] = out[i].status === u.status ? { ...u, lastTransitionTime: out[i].lastTransitionTime } : u;
  }
  return out;
}

/** The store and registry operations the controllers use (registry.ts implements them). */
export interface CrdHost {
  crdType: ResourceType;
  store: {
    entriesOf(t: ResourceType, ns?: string): { obj: any; type: ResourceType }[];
    subscribe(l: (e: { resource: ResourceType }) => void): () => void;
  };
  customTypes: Map<string, ResourceType>;
  /** A write of the CRD's status as its controller makes it (the status subresource). */
  writeStatus(obj: any): void;
  /** A write of the CRD's main resource by a controller (finalizers). */
  writeMain(obj: any): void;
  /** Deletes an object as a controller does (Background propagation). */
  deleteObject(t: ResourceType, ns: string | undefined, name: string): void;
}

/**
 * The naming, establishing and finalizer controllers of apiextensions-apiserver, run after writes (never
 * inside a request), and the set of custom types they serve.
 */
export class CrdControllers {
  private queued = false;
  private stopped = false;

  constructor(private readonly host: CrdHost) {
    host.store.subscribe((e) => {
      if (e.resource === host.crdType || e.resource.custom) this.schedule();
    });
  }

  stop(): void {
    this.stopped = true;
  }

  private schedule(): void {
    if (this.queued || this.stopped) return;
    this.queued = true;
    setImmediate(() => {
      this.queued = false;
      if (!this.stopped) this.run();
    });
  }

  private run(): void {
    const crds = this.host.store.entriesOf(this.host.crdType).map((e) => e.obj);
    for (const crd of crds) {
      if (crd.metadata.deletionTimestamp) this.finalize(crd);
      else this.nameAndEstablish(crd, crds);
    }
    const live = new Set(crds.map((c) => c.metadata.name));
    for (const name of [...this.host.customTypes.keys()]) {
      if (!live.has(name)) this.host.customTypes.delete(name);
    }
  }

  private nameAndEstablish(crd: any, all: any[]): void {
    const { acceptedNames, namesAccepted } = namingOf(crd, all);
    const wasEstablished = conditionTrue(crd, "Established");
    const established =
      wasEstablished || namesAccepted.status === "True"
        ? condition("Established", "True", "InitialNamesAccepted", "the initial names have been accepted")
        : condition("Established", "False", "NotAccepted", "not all names are accepted");
    const conditions = withConditions(crd.status?.conditions, [namesAccepted, established]);
    const status = { ...(crd.status ?? {}), conditions, acceptedNames };
    if (JSON.stringify(status) !== JSON.stringify(crd.status)) {
      this.host.writeStatus({ ...clone(crd), status });
      return; // the write's own event brings us back with the new status
    }
    if (!conditionTrue(crd, "Established")) return;
    const at = Date.parse(conditions.find((c: any) => c.type === "Established").lastTransitionTime);
    const next = customResourceType(crd, at);
    const current = this.host.customTypes.get(crd.metadata.name);
    if (!next) this.host.customTypes.delete(crd.metadata.name);
    else if (
      current &&
      current.group === next.group &&
      current.plural === next.plural &&
      current.version === next.version
    ) {
      refreshCustomType(current, next);
    } else this.host.customTypes.set(crd.metadata.name, next);
  }

  /** Deletes the CRD's resources; once none is left, drops the cleanup finalizer (and so the CRD). */
  private finalize(crd: any): void {
    if (!(crd.metadata.finalizers ?? []).includes(CRD_CLEANUP_FINALIZER)) return;
    const t = this.host.customTypes.get(crd.metadata.name);
    const left = t ? this.host.store.entriesOf(t) : [];
    for (const e of left) {
      if (e.obj.metadata.deletionTimestamp) continue;
      try {
        this.host.deleteObject(t!, e.obj.metadata.namespace, e.obj.metadata.name);
      } catch {
        // Gone or changed meanwhile: the next run sees it.
      }
    }
    if (t && this.host.store.entriesOf(t).length > 0) return;
    this.host.customTypes.delete(crd.metadata.name);
    const next = clone(crd);
    next.metadata.finalizers = (next.metadata.finalizers ?? []).filter(
      (f: string) => f !== CRD_CLEANUP_FINALIZER,
    );
    this.host.writeMain(next);
  }
}

/** What a delete of a CRD writes instead of removing it: Terminating, with the cleanup finalizer. */
export function markTerminating(crd: any): any {
  const next = clone(crd);
  next.metadata.deletionTimestamp ??= new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
  next.metadata.deletionGracePeriodSeconds ??= 0;
  if (!(next.metadata.finalizers ?? []).includes(CRD_CLEANUP_FINALIZER)) {
    next.metadata.finalizers = [...(next.metadata.finalizers ?? []), CRD_CLEANUP_FINALIZER];
  }
  next.status = {
    ...(next.status ?? {}),
    conditions: withConditions(next.status?.conditions, [
      condition(
        "Terminating",
        "True",
        "InstanceDeletionPending",
        "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon",
      ),
    ]),
  };
  return next;
}
