/**
 * `/openapi/v2` and `/openapi/v3` for the kinds this server serves, which `kubectl explain` reads and
 * `kubectl apply` consults (its field validation asks whether PATCH takes `fieldValidation`, and its
 * strategic merge patch reads the patch metadata; https://kubernetes.io/docs/concepts/overview/kubernetes-api/).
 *
 * Where the schemas come from: kubernetes-models (schema.ts) ships only compiled validators, not the
 * OpenAPI document they were built from, so the structure (properties, types, formats, `$ref`s) is
 * taken from @kubernetes/client-node's model attribute maps, the same Go-struct field list decoding
 * uses (schema.ts decodeCheck), and each definition's `required` list from the kubernetes-models
 * validator of that definition (the required-property errors it reports for `{}`). Descriptions are
 * absent (neither package keeps them in a machine-readable form), and the patch metadata is the
 * merge keys patch.ts applies. The layout follows the real documents: `definitions` (v2) and
 * `components.schemas` (v3) named `io.k8s.api.apps.v1.StatefulSet`, with
 * `x-kubernetes-group-version-kind`, and one path per operation carrying `x-kubernetes-action` and
 * the `fieldValidation` query parameter (https://kubernetes.io/docs/concepts/overview/kubernetes-api/#openapi-interface-definition).
 *
 * Deliberate limit: no protobuf encoding (a real server also serves both documents as protobuf); a
 * protobuf-only Accept gets 406.
 */
import { createHash } from "node:crypto";
import * as k8s from "@kubernetes/client-node";
import type { StatusError } from "./errors";
import { notAcceptable } from "./negotiation";
import { apiVersionOf, RESOURCE_TYPES, type ResourceType } from "./resources";
import { REVIEW_RESOURCES } from "./reviews";

type Attr = { name: string; baseName: string; type: string; format: string };
type Schema = Record<string, unknown>;
const models = k8s as unknown as Record<string, { getAttributeTypeMap?: () => Attr[] }>;

/** client-node class prefixes (API group and version folded into the name). */
const CLASS_PREFIX =
  /^(V1|CoreV1|AppsV1|RbacV1|DiscoveryV1|EventsV1|AuthenticationV1|AuthorizationV1|AutoscalingV1|StorageV1|ApiextensionsV1)/;

/** kubernetes-models schema module prefixes and the OpenAPI name prefixes they stand for. */
const SCHEMA_PREFIXES: [string, string, string][] = [
  ["IoK8sApiCoreV1", "io.k8s.api.core.v1", "kubernetes-models"],
  ["IoK8sApiAppsV1", "io.k8s.api.apps.v1", "kubernetes-models"],
  ["IoK8sApiRbacV1", "io.k8s.api.rbac.v1", "kubernetes-models"],
  ["IoK8sApiDiscoveryV1", "io.k8s.api.discovery.v1", "kubernetes-models"],
  ["IoK8sApiAuthorizationV1", "io.k8s.api.authorization.v1", "kubernetes-models"],
  ["IoK8sApiAuthenticationV1", "io.k8s.api.authentication.v1", "kubernetes-models"],
  ["IoK8sApiAutoscalingV1", "io.k8s.api.autoscaling.v1", "kubernetes-models"],
  ["IoK8sApiPolicyV1", "io.k8s.api.policy.v1", "kubernetes-models"],
  [
    "IoK8sApiextensionsApiserverPkgApisApiextensionsV1",
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1",
    "kubernetes-models",
  ],
  [
    "IoK8sApimachineryPkgApisMetaV1",
    "io.k8s.apimachinery.pkg.apis.meta.v1",
    "@kubernetes-models/apimachinery",
  ],
];

/** Preferred group for a bare client-node class name (`V1Subject` exists in several groups). */
function prefixesFor(cls: string): [string, string, string][] {
  const m = CLASS_PREFIX.exec(cls)?.[1] ?? "V1";
  const group = {
    RbacV1: "Rbac",
    DiscoveryV1: "Discovery",
    EventsV1: "Events",
    CoreV1: "Core",
    AppsV1: "Apps",
    AuthenticationV1: "Authentication",
    AuthorizationV1: "Authorization",
    AutoscalingV1: "Autoscaling",
    StorageV1: "Storage",
  }[m];
  if (m === "ApiextensionsV1") return SCHEMA_PREFIXES.filter((p) => p[0].startsWith("IoK8sApiextensions"));
  if (!group) return SCHEMA_PREFIXES;
  return SCHEMA_PREFIXES.filter((p) => p[0] === `IoK8sApi${group}V1`);
}

/** Patch metadata of list fields, keyed `<definition>.<property>` (patch.ts's merge keys). */
const PATCH_META: Record<string, Schema> = {
  "io.k8s.api.core.v1.PodSpec.containers": {
    "x-kubernetes-patch-merge-key": "name",
    "x-kubernetes-patch-strategy": "merge",
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["name"],
  },
  "io.k8s.api.core.v1.PodSpec.initContainers": {
    "x-kubernetes-patch-merge-key": "name",
    "x-kubernetes-patch-strategy": "merge",
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["name"],
  },
  "io.k8s.api.core.v1.PodSpec.volumes": {
    "x-kubernetes-patch-merge-key": "name",
    "x-kubernetes-patch-strategy": "merge,retainKeys",
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["name"],
  },
  "io.k8s.api.core.v1.Container.env": {
    "x-kubernetes-patch-merge-key": "name",
    "x-kubernetes-patch-strategy": "merge",
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["name"],
  },
  "io.k8s.api.core.v1.Container.volumeMounts": {
    "x-kubernetes-patch-merge-key": "mountPath",
    "x-kubernetes-patch-strategy": "merge",
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["mountPath"],
  },
  "io.k8s.api.core.v1.Container.ports": {
    "x-kubernetes-patch-merge-key": "containerPort",
    "x-kubernetes-patch-strategy": "merge",
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["containerPort", "protocol"],
  },
  "io.k8s.api.core.v1.ServiceSpec.ports": {
    "x-kubernetes-patch-merge-key": "port",
    "x-kubernetes-patch-strategy": "merge",
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["port", "protocol"],
  },
  "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta.finalizers": {
    "x-kubernetes-patch-strategy": "merge",
    "x-kubernetes-list-type": "set",
  },
  "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta.ownerReferences": {
    "x-kubernetes-patch-merge-key": "uid",
    "x-kubernetes-patch-strategy": "merge",
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["uid"],
  },
};

interface Definitions {
  /** Definition name -> schema with `$ref`s as `#/definitions/...`. */
  defs: Map<string, Schema>;
  /** Definition name of each served kind's model. */
  kindDef: Map<string, string>;
}

let built: Promise<Definitions> | undefined;

async function schemaModule(prefix: [string, string, string], name: string): Promise<any | undefined> {
  try {
    return await import(`${prefix[2]}/_schemas/${prefix[0]}${name}`);
  } catch {
    return undefined;
  }
}

async function build(): Promise<Definitions> {
  const defs = new Map<string, Schema>();
  const nameOf = new Map<string, string>();
  const pending: string[] = [];
  const defName = async (cls: string): Promise<string | undefined> => {
    if (nameOf.has(cls)) return nameOf.get(cls);
    const bare = cls.replace(CLASS_PREFIX, "");
    for (const p of prefixesFor(cls)) {
      const mod = await schemaModule(p, bare);
      if (!mod) continue;
      const name = `${p[1]}.${bare}`;
      nameOf.set(cls, name);
      pending.push(cls);
      // The validator's complaints about an empty object are the definition's required fields.
      const required = new Set<string>();
      const v = mod.validate as ((d: unknown) => boolean) & { errors?: any[] };
      if (!v({}))
        for (const e of v.errors ?? [])
          if (e.keyword === "required" && e.instancePath === "") required.add(e.params.missingProperty);
      defs.set(name, { required: [...required].filter((r) => r !== "apiVersion" && r !== "kind").sort() });
      return name;
    }
    return undefined;
  };
  const typeSchema = async (type: string, format: string): Promise<Schema> => {
    if (type === "string") return format === "byte" ? { type: "string", format: "byte" } : { type: "string" };
    if (type === "Date") return { type: "string", format: "date-time" };
    if (type === "number") {
      return format === "double"
        ? { type: "number", format: "double" }
        : { type: "integer", format: format || "int32" };
    }
    if (type === "boolean") return { type: "boolean" };
    if (type === "IntOrString")
      return { type: "string", format: "int-or-string", "x-kubernetes-int-or-string": true };
    if (type === "any" || type === "object") return { type: "object" };
    if (type.startsWith("Array<")) return { type: "array", items: await typeSchema(type.slice(6, -1), "") };
    if (type.startsWith("{ [key: string]: ")) {
      return { type: "object", additionalProperties: await typeSchema(type.slice(17, -3), "") };
    }
    if (!models[type]?.getAttributeTypeMap) return { type: "string", ...(format ? { format } : {}) };
    const name = await defName(type);
    return name ? { $ref: `#/definitions/${name}` } : { type: "object" };
  };
  const kindDef = new Map<string, string>();
  const roots: [string, string | undefined][] = [
    ...RESOURCE_TYPES.map((t) => [t.model, `${apiVersionOf(t)}/${t.kind}`] as [string, string]),
    ...RESOURCE_TYPES.map((t) => [`${t.model}List`, undefined] as [string, undefined]),
    ...REVIEW_RESOURCES.map((r) => [`V1${r.kind}`, `${r.group}/${r.version}/${r.kind}`] as [string, string]),
    ["V1Scale", "autoscaling/v1/Scale"],
    ["AuthenticationV1TokenRequest", "authentication.k8s.io/v1/TokenRequest"],
    ["V1Status", undefined],
    ["V1DeleteOptions", undefined],
  ];
  for (const [cls, gvk] of roots) {
    const n = await defName(cls);
    if (n && gvk) kindDef.set(gvk, n);
  }
  while (pending.length > 0) {
    const cls = pending.shift()!;
    const name = nameOf.get(cls)!;
    const def = defs.get(name)!;
    const properties: Record<string, Schema> = {};
    for (const a of models[cls]!.getAttributeTypeMap!()) {
      properties[a.baseName] = {
        ...(await typeSchema(a.type, a.format)),
        ...(PATCH_META[`${name}.${a.baseName}`] ?? {}),
      };
    }
    const required = def.required as string[];
    const out: Schema = { type: "object", properties };
    if (required.length > 0) out.required = required;
    defs.set(name, out);
  }
  for (const [gvk, name] of kindDef) {
    const parts = gvk.split("/");
    const kind = parts.pop()!;
    const version = parts.pop()!;
    const group = parts.join("/");
    defs.get(name)!["x-kubernetes-group-version-kind"] = [{ group, kind, version }];
  }
  for (const t of RESOURCE_TYPES) {
    const list = defs.get(`${kindDef.get(`${apiVersionOf(t)}/${t.kind}`)}List`);
    if (list)
      list["x-kubernetes-group-version-kind"] = [
        { group: t.group, kind: `${t.kind}List`, version: t.version },
      ];
  }
  defs.set("io.k8s.apimachinery.pkg.util.intstr.IntOrString", { type: "string", format: "int-or-string" });
  return { defs, kindDef };
}

function definitions(): Promise<Definitions> {
  built ??= build();
  return built;
}

const param = (name: string, inWhere: string, type = "string", extra: Schema = {}): Schema => ({
  name,
  in: inWhere,
  uniqueItems: true,
  type,
  ...extra,
});

function writeParams(v3: boolean): Schema[] {
  const ps = [param("dryRun", "query"), param("fieldManager", "query"), param("fieldValidation", "query")];
  return v3 ? ps.map(toV3Param) : ps;
}

function toV3Param(p: Schema): Schema {
  const { type, uniqueItems: _u, ...rest } = p;
  return { ...rest, schema: { type, uniqueItems: true } };
}

/** The operations of one resource type, keyed by path, in v2 or v3 form. */
function operations(t: ResourceType, defs: Definitions, v3: boolean): Record<string, Schema> {
  const ref = (n: string | undefined) => (v3 ? `#/components/schemas/${n}` : `#/definitions/${n}`);
  const kindRef = ref(defs.kindDef.get(`${apiVersionOf(t)}/${t.kind}`));
  const listRef = ref(`${defs.kindDef.get(`${apiVersionOf(t)}/${t.kind}`)}List`);
  const gvk = { group: t.group, version: t.version, kind: t.kind };
  const base = t.group ? `/apis/${t.group}/${t.version}` : `/api/${t.version}`;
  const scope = t.namespaced ? `${base}/namespaces/{namespace}/${t.plural}` : `${base}/${t.plural}`;
  const op = (action: string, id: string, schemaRef: string, extra: Schema = {}): Schema => {
    const response = v3
      ? { "200": { description: "OK", content: { "application/json": { schema: { $ref: schemaRef } } } } }
      : { "200": { description: "OK", schema: { $ref: schemaRef } } };
    return {
      operationId: id,
      consumes: v3 ? undefined : ["*/*"],
      produces: v3 ? undefined : ["application/json", "application/yaml"],
      responses: response,
      "x-kubernetes-action": action,
      "x-kubernetes-group-version-kind": gvk,
      ...extra,
    };
  };
  const body = (schemaRef: string, contentTypes: string[]): Schema =>
    v3
      ? {
          requestBody: {
            required: true,
            content: Object.fromEntries(contentTypes.map((c) => [c, { schema: { $ref: schemaRef } }])),
          },
        }
      : {};
  const v2Body = (schemaRef: string): Schema[] =>
    v3 ? [] : [{ name: "body", in: "body", required: true, schema: { $ref: schemaRef } }];
  const patchTypes = [
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
  ];
  const id = (verb: string) => `${verb}${t.namespaced ? "Namespaced" : ""}${t.kind}`;
  const pathParams = (named: boolean) =>
    [
      ...(named ? [param("name", "path", "string", { required: true })] : []),
      ...(t.namespaced ? [param("namespace", "path", "string", { required: true })] : []),
    ].map((p) => (v3 ? toV3Param(p) : p));
  const strip = (o: Schema) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  const out: Record<string, Schema> = {
    [scope]: {
      get: strip(op("list", id("list"), listRef)),
      post: strip(
        op("post", id("create"), kindRef, {
          parameters: [...writeParams(v3), ...v2Body(kindRef)],
          ...body(kindRef, ["*/*"]),
        }),
      ),
      parameters: pathParams(false),
    },
    [`${scope}/{name}`]: {
      get: strip(op("get", id("read"), kindRef)),
      put: strip(
        op("put", id("replace"), kindRef, {
          parameters: [...writeParams(v3), ...v2Body(kindRef)],
          ...body(kindRef, ["*/*"]),
        }),
      ),
      patch: strip(
        op("patch", id("patch"), kindRef, {
          parameters: [
            ...writeParams(v3),
            param("force", "query", "boolean"),
            ...(v3 ? [] : [{ name: "body", in: "body", required: true, schema: { type: "object" } }]),
          ].map((p) => (v3 && !("schema" in p) ? toV3Param(p) : p)),
          ...(v3
            ? {
                requestBody: {
                  required: true,
                  content: Object.fromEntries(patchTypes.map((c) => [c, { schema: { type: "object" } }])),
                },
              }
            : { consumes: patchTypes }),
        }),
      ),
      delete: strip(op("delete", id("delete"), ref("io.k8s.apimachinery.pkg.apis.meta.v1.Status"))),
      parameters: pathParams(true),
    },
  };
  return out;
}

function servedTypesOf(gv: string): ResourceType[] {
  return RESOURCE_TYPES.filter((t) => (t.group ? `apis/${t.group}/${t.version}` : `api/${t.version}`) === gv);
}

/** Copies the definitions reachable from `roots`, with refs rewritten for v3. */
function closure(defs: Definitions, roots: string[], v3: boolean): Record<string, Schema> {
  const out: Record<string, Schema> = {};
  const visit = (name: string) => {
    if (out[name] || !defs.defs.has(name)) return;
    const text = JSON.stringify(defs.defs.get(name));
    out[name] = JSON.parse(v3 ? text.replaceAll("#/definitions/", "#/components/schemas/") : text);
    for (const m of text.matchAll(/"#\/definitions\/([^"]+)"/g)) visit(m[1]!);
  };
  for (const r of roots) visit(r);
  return out;
}

/** One served document. */
export interface OpenApiDocument {
  body: string;
  contentType: string;
  cacheControl: string;
  headers: Record<string, string>;
  /** 200 unless set. */
  status?: number;
}

/** The OpenAPI endpoints. */
export interface OpenApi {
  serve(
    path: string,
    query: URLSearchParams,
    accept: string | undefined,
  ): Promise<OpenApiDocument | StatusError | undefined>;
}

function acceptsJson(accept: string | undefined): boolean {
  if (!accept?.trim()) return true;
  return accept.split(",").some((c) => {
    const mt = c.split(";")[0]!.trim().toLowerCase();
    return mt === "application/json" || mt === "*/*" || mt === "application/*";
  });
}

const INFO = { title: "Kubernetes", version: "v1.36.0" };

/** The OpenAPI handler over the served kinds. */
export function createOpenApi(): OpenApi {
  const v3Docs = new Map<string, string>();
  const v3Doc = async (gv: string): Promise<string | undefined> => {
    if (v3Docs.has(gv)) return v3Docs.get(gv);
    const types = servedTypesOf(gv);
    const reviews = REVIEW_RESOURCES.filter((r) => `apis/${r.group}/${r.version}` === gv);
    if (types.length === 0 && reviews.length === 0) return undefined;
    const defs = await definitions();
    const paths: Record<string, Schema> = {};
    for (const t of types) Object.assign(paths, operations(t, defs, true));
    const roots = [
      ...types.flatMap((t) => {
        const n = defs.kindDef.get(`${apiVersionOf(t)}/${t.kind}`)!;
        return [n, `${n}List`];
      }),
      ...reviews.map((r) => defs.kindDef.get(`${r.group}/${r.version}/${r.kind}`)!),
      "io.k8s.apimachinery.pkg.apis.meta.v1.Status",
      "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions",
    ];
    const doc = {
      openapi: "3.0.0",
      info: INFO,
      paths,
      components: {
        schemas: closure(defs, roots, true),
        securitySchemes: {
          BearerToken: {
            type: "apiKey",
            description: "Bearer Token authentication",
            name: "authorization",
            in: "header",
          },
        },
      },
    };
    const text = JSON.stringify(doc);
    v3Docs.set(gv, text);
    return text;
  };
  const hashOf = (text: string) =>
    createHash("sha512").update(text).digest("hex").slice(0, 128).toUpperCase();
  let v2: string | undefined;
  return {
    async serve(path, query, accept): Promise<OpenApiDocument | StatusError | undefined> {
      if (path === "/openapi/v2") {
        if (!acceptsJson(accept)) return notAcceptable();
        if (!v2) {
          const defs = await definitions();
          const paths: Record<string, Schema> = {};
          for (const t of RESOURCE_TYPES) Object.assign(paths, operations(t, defs, false));
          v2 = JSON.stringify({
            swagger: "2.0",
            info: INFO,
            paths,
            definitions: Object.fromEntries(defs.defs),
            securityDefinitions: {
              BearerToken: {
                type: "apiKey",
                description: "Bearer Token authentication",
                name: "authorization",
                in: "header",
              },
            },
            security: [{ BearerToken: [] }],
          });
        }
        return { body: v2, contentType: "application/json", cacheControl: "no-cache, private", headers: {} };
      }
      if (path === "/openapi/v3") {
        if (!acceptsJson(accept)) return notAcceptable();
        const gvs = [
          ...new Set([
            ...RESOURCE_TYPES.map((t) => (t.group ? `apis/${t.group}/${t.version}` : `api/${t.version}`)),
            ...REVIEW_RESOURCES.map((r) => `apis/${r.group}/${r.version}`),
          ]),
        ].sort();
        const paths: Record<string, { serverRelativeURL: string }> = {};
        for (const gv of gvs) {
          const text = (await v3Doc(gv))!;
          paths[gv] = { serverRelativeURL: `/openapi/v3/${gv}?hash=${hashOf(text)}` };
        }
        return {
          body: JSON.stringify({ paths }),
          contentType: "application/json",
          cacheControl: "no-cache, private",
          headers: {},
        };
      }
      if (path.startsWith("/openapi/v3/")) {
        const gv = path.slice("/openapi/v3/".length);
        const text = await v3Doc(gv);
        if (text === undefined) return undefined;
        if (!acceptsJson(accept)) return notAcceptable();
        const hash = hashOf(text);
        const asked = query.get("hash");
        if (asked && asked !== hash) {
          // kube-openapi's handler3 redirects a stale hash to the current document.
          return {
            body: "",
            contentType: "text/plain",
            cacheControl: "no-cache, private",
            headers: { Location: `/openapi/v3/${gv}?hash=${hash}` },
            status: 301,
          };
        }
        return {
          body: text,
          contentType: "application/json",
          cacheControl: asked ? "public, immutable" : "no-cache, private",
          headers: { Etag: `"${hash}"` },
        };
      }
      return undefined;
    },
  };
}
