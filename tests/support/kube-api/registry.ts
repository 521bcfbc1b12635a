/**
 * The generic registry: create, update, patch, apply, delete and deletecollection with the real server's
 * order of checks (admission, decoding, defaulting, validation, preconditions, storage).
 */
import { randomUUID } from "node:crypto";
import * as yaml from "js-yaml";
import { conditionTrue, markTerminating, prune } from "./crd";
import {
  alreadyExists,
  badRequest,
  conflict,
  type FieldError,
  forbidden,
  internalNoReason,
  invalid,
  invalidField,
  notFound,
  OBJECT_MODIFIED,
  StatusError,
  unsupportedMediaType,
} from "./errors";
import type { StrategyContext } from "./kinds/types";
import {
  applyMerge,
  CUSTOM_RESOURCE_KIND,
  clone,
  deleteAtPath,
  formatPath,
  getAtPath,
  isObj,
  jsonPatch,
  leafPaths,
  mergePatch,
  type PathStep,
  strategicMergePatch,
} from "./patch";
import { admitPodSecurity } from "./podsecurity";
import type { UserInfo } from "./rbac";
import { apiVersionOf, RESOURCE_TYPES, type ResourceType, typeByKind, typeByResource } from "./resources";
import { decodeCheck, schemaCheck } from "./schema";
import {
  decodeManagedFields,
  type Entry,
  type ManagerEntry,
  managerKey,
  managerNameOf,
  ownershipKey,
  type Store,
} from "./store";
import { validateObjectMeta } from "./validation";

/** Options common to writes, taken from the query string. */
export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
  fieldValidation?: "Ignore" | "Warn" | "Strict";
  force?: boolean;
  /** Manager name derived from the User-Agent, used when fieldManager is absent. */
  defaultManager?: string;
  /** Collected `Warning` header values. */
  warnings?: string[];
  /** Who writes: RBAC objects are checked against what this user holds (rbac.ts checkRbacWrite). */
  user?: UserInfo;
  /** Duplicate keys of the JSON body (reported like unknown fields by the strict decoder). */
  duplicates?: string[];
  /**
   * Audit annotations admission adds (Pod Security's `pod-security.kubernetes.io/*`), as the audit log
   * records them, also for a refused request.
   */
  audit?: Record<string, string>;
}

/** A check run on API writes before validation, in the real server's place of the RBAC storages' checks. */
export type WriteGuard = (
  t: ResourceType,
  namespace: string,
  obj: any,
  old: any | undefined,
  user: UserInfo,
) => StatusError | undefined;

/** Options of a delete. */
export interface DeleteOptions {
  dryRun?: boolean;
  propagationPolicy?: "Background" | "Foreground" | "Orphan";
  preconditions?: { uid?: string; resourceVersion?: string };
  /** DeleteOptions.gracePeriodSeconds; only Pods delete gracefully. */
  gracePeriodSeconds?: number;
}

/**
 * The grace period a Pod delete gets, as podStrategy.CheckGracefulDelete computes it
 * (kubernetes/kubernetes@03e06024 pkg/registry/core/pod/strategy.go): the request's value, else
 * spec.terminationGracePeriodSeconds (defaulted to 30); 0 for a Pod not bound to a node or already
 * terminated; a negative value becomes 1.
 */
function podGracePeriod(pod: any, requested: number | undefined): number {
  let period = requested ?? pod.spec?.terminationGracePeriodSeconds ?? 0;
  if (!pod.spec?.nodeName) period = 0;
  if (pod.status?.phase === "Failed" || pod.status?.phase === "Succeeded") period = 0;
  if (period < 0) period = 1;
  return period;
}

/** The outcome of a write: the object (or Status) and the HTTP code. */
export interface WriteResult {
  code: number;
  body: any;
}

const GEN_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
}

function gr(t: ResourceType) {
  return { group: t.group, resource: t.plural };
}

function gk(t: ResourceType) {
  return { group: t.group, kind: t.kind };
}

function stable(v: unknown): string {
  return JSON.stringify(v, (_k, val) =>
    isObj(val)
      ? Object.fromEntries(Object.entries(val).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : val,
  );
}

const SYSTEM_META = [
  "resourceVersion",
  "uid",
  "creationTimestamp",
  "generation",
  "managedFields",
  "selfLink",
];

/** The registry over one store. */
export class Registry {
  /** RBAC escalation checks (set by the server). */
  guard?: WriteGuard;
  /** The custom resource types of established CRDs, by CRD name (maintained by crd.ts CrdControllers). */
  readonly customTypes = new Map<string, ResourceType>();

  constructor(
    readonly store: Store,
    private readonly ctx: StrategyContext,
  ) {}

  private runGuard(t: ResourceType, obj: any, old: any | undefined, opts: WriteOptions): void {
    if (!this.guard || !opts.user) return;
    const err = this.guard(t, t.namespaced ? (obj.metadata?.namespace ?? "") : "", obj, old, opts.user);
    if (err) throw err;
  }

  /**
   * Decodes a request body into the kind's Go type: type errors are 400, unknown fields warn or fail.
   * `refuse` turns a decoding error (the decoder's own message) into the request's error instead (a
   * patched object's, see {@link patchDecodeError}).
   */
  decode(t: ResourceType, body: unknown, opts: WriteOptions, refuse?: (detail: string) => StatusError): any {
    const fail = (detail: string) =>
      refuse?.(detail) ??
      badRequest(`${t.kind} in version "${t.version}" cannot be handled as a ${t.kind}: ${detail}`);
    if (!isObj(body)) {
      throw fail(
        `json: cannot unmarshal ${Array.isArray(body) ? "array" : typeof body} into Go value of type struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }`,
      );
    }
    const res = t.custom ? this.decodeCustom(t, body) : decodeCheck(body, t.model);
    if (res.typeError) throw fail(res.typeError);
    const mode = opts.fieldValidation ?? "Warn";
    // Duplicate keys of the request body are reported once, with the first decode of it.
    const strict = [
      ...(opts.duplicates ?? []).map((d) => `duplicate field "${d}"`),
      ...res.unknown.map((u) => `unknown field "${u}"`),
    ];
    opts.duplicates = undefined;
    if (strict.length > 0 && mode === "Strict") {
      const detail = `strict decoding error: ${strict.join(", ")}`;
      throw refuse?.(detail) ?? badRequest(detail);
    }
    if (mode === "Warn") for (const w of strict) opts.warnings?.push(w);
    const obj = clone(body);
    // Unknown fields are dropped by decoding into the Go struct (for a custom resource: by pruning).
    for (const u of res.unknown) deleteDotted(obj, u);
    return obj;
  }

  /**
   * A custom resource's decoding: metadata as ObjectMeta, the rest pruned to what the CRD's schema
   * specifies; both kinds of dropped fields are reported as unknown fields.
   */
  private decodeCustom(t: ResourceType, body: Record<string, unknown>) {
    const meta = isObj(body.metadata)
      ? decodeCheck(body.metadata, "V1ObjectMeta")
      : { unknown: [] as string[] };
    const pruned = clone(body);
    const dropped = prune(pruned, t.custom!.schema);
    return {
      unknown: [...meta.unknown.map((u) => `metadata.${u}`), ...dropped],
      typeError: meta.typeError?.replace(
        "Go struct field ObjectMeta.",
        "Go struct field ObjectMeta.metadata.",
      ),
    };
  }

  private checkTypeMeta(t: ResourceType, obj: any): void {
    const expected = apiVersionOf(t);
    if (obj.apiVersion && obj.apiVersion !== expected) {
      throw badRequest(
        `the API version in the data (${obj.apiVersion}) does not match the expected API version (${expected})`,
      );
    }
    if (obj.kind && obj.kind !== t.kind) {
      throw badRequest(`the object provided is unrecognized (must be of type ${t.kind}): ${obj.kind}`);
    }
    obj.apiVersion = expected;
    obj.kind = t.kind;
  }

  private checkNamespace(t: ResourceType, obj: any, ns: string | undefined): void {
    obj.metadata = isObj(obj.metadata) ? obj.metadata : {};
    if (!t.namespaced) return;
    if (!obj.metadata.namespace) obj.metadata.namespace = ns;
    else if (obj.metadata.namespace !== ns) {
      throw badRequest(
        "the namespace of the provided object does not match the namespace sent on the request",
      );
    }
  }

  /**
   * Validating admission, after validation and before storage as the generic store calls it
   * (createValidation/updateValidation): Pod Security (podsecurity.ts). `name` is the name the request
   * carried (empty for generateName), as the plugin's attributes hold it. Subresource writes (status,
   * scale) are not evaluated.
   */
  private validatingAdmission(
    t: ResourceType,
    operation: "create" | "update",
    obj: any,
    old: any | undefined,
    opts: WriteOptions,
    name: string,
  ): void {
    if (t.group !== "" && t.group !== "apps") return;
    const nsType = typeByKind("v1", "Namespace")!;
    const podType = typeByKind("v1", "Pod")!;
    const out = { warnings: [] as string[], audit: {} as Record<string, string> };
    try {
      admitPodSecurity(
        t.kind,
        operation,
        { ...obj, metadata: { ...obj.metadata, name } },
        old,
        (ns) => this.store.entry(nsType, undefined, ns)?.obj.metadata.labels,
        (ns) => this.store.entriesOf(podType, ns).map((e) => e.obj),
        out,
      );
    } finally {
      for (const [k, v] of Object.entries(out.audit)) {
        if (opts.audit) opts.audit[`pod-security.kubernetes.io/${k}`] = v;
      }
      opts.warnings?.push(...out.warnings);
    }
  }

  /** NamespaceLifecycle admission for creates. */
  private admitNamespace(t: ResourceType, ns: string | undefined, name: string): void {
    if (!t.namespaced || !ns) return;
    const nsType = typeByKind("v1", "Namespace")!;
    const n = this.store.entry(nsType, undefined, ns);
    if (!n) throw notFound({ group: "", resource: "namespaces" }, ns);
    if (n.obj.metadata.deletionTimestamp) {
      const err = forbidden(
        gr(t),
        name,
        `unable to create new content in namespace ${ns} because it is being terminated`,
      );
      err.status.details!.causes = [
        {
          reason: "NamespaceTerminating",
          message: `namespace ${ns} is being terminated`,
          field: "metadata.namespace",
        },
      ];
      throw err;
    }
  }

  private validate(t: ResourceType, obj: any, old: any | undefined, subresource: string | undefined): void {
    const errs: FieldError[] = [];
    errs.push(
      ...validateObjectMeta(obj.metadata, {
        namespaced: t.namespaced,
        nameValidator: t.strategy.nameValidator,
      }),
    );
    if (subresource === "status") {
      errs.push(...(t.strategy.validateStatus?.(obj, old) ?? []));
    } else {
      errs.push(...t.strategy.validate(obj));
      if (old) errs.push(...(t.strategy.validateUpdate?.(obj, old) ?? []));
      // A custom resource's schema was checked by its strategy (crd.ts validateValue).
      const schema: { decodeError?: string; errors: FieldError[] } = t.custom
        ? { errors: [] }
        : schemaCheck(t.schema, obj);
      if (schema.decodeError) {
        throw badRequest(
          `${t.kind} in version "${t.version}" cannot be handled as a ${t.kind}: ${schema.decodeError}`,
        );
      }
      for (const e of schema.errors) {
        if (
          !errs.some(
            (x) =>
              x.field === e.field || x.field.startsWith(`${e.field}.`) || e.field.startsWith(`${x.field}.`),
          )
        ) {
          errs.push(e);
        }
      }
    }
    if (errs.length > 0) throw invalid(gk(t), obj.metadata?.name || obj.metadata?.generateName || "", errs);
  }

  private manager(opts: WriteOptions): string {
    return opts.fieldManager || opts.defaultManager || "unknown";
  }

  /** Records that `manager` set the fields that differ between old and new (an Update operation). */
  private trackUpdate(
    t: ResourceType,
    managers: Map<string, ManagerEntry>,
    old: any,
    obj: any,
    manager: string,
  ): void {
    const paths = leafPaths(mergeKind(t), ownedView(obj));
    const changed = paths.filter((p) => stable(getAtPath(old, p)) !== stable(getAtPath(obj, p)));
    if (changed.length === 0) return;
    const own = managerKey(manager, "Update");
    for (const [key, m] of managers) {
      if (key === own) continue;
      for (const p of changed) m.fields.delete(formatPath(p));
      if (m.fields.size === 0) managers.delete(key);
    }
    const mine: ManagerEntry = managers.get(own) ?? {
      operation: "Update",
      apiVersion: apiVersionOf(t),
      fields: new Map(),
    };
    for (const p of changed) mine.fields.set(formatPath(p), p);
    mine.time = undefined;
    managers.set(own, mine);
  }

  /** POST: create. */
  create(t: ResourceType, ns: string | undefined, body: unknown, opts: WriteOptions): WriteResult {
    const obj = this.decode(t, body, opts);
    this.checkTypeMeta(t, obj);
    this.checkNamespace(t, obj, ns);
    this.admitNamespace(t, ns, obj.metadata.name ?? "");
    return this.createDecoded(t, obj, opts);
  }

  private createDecoded(
    t: ResourceType,
    obj: any,
    opts: WriteOptions,
    managers?: Map<string, ManagerEntry>,
  ): WriteResult {
    const presetRV = obj.metadata.resourceVersion;
    t.strategy.defaults(obj);
    // BeforeCreate: status cleared, system fields filled, generateName resolved.
    if (t.strategy.statusSubresource || t.strategy.initialStatus) {
      if (t.strategy.initialStatus) obj.status = t.strategy.initialStatus(obj);
      else delete obj.status;
    }
    t.strategy.prepareForCreate?.(obj, this.ctx);
    const meta = obj.metadata;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    delete meta.managedFields;
    delete meta.selfLink;
    meta.uid = randomUUID();
    meta.creationTimestamp = now();
    if (t.strategy.generation) meta.generation = 1;
    else delete meta.generation;
    this.runGuard(t, obj, undefined, opts);
    this.refuseWhileTerminating(t, meta.name ?? meta.generateName ?? "");
    const generated = !meta.name && !!meta.generateName;
    if (generated) meta.name = this.generateName(meta.generateName);
    this.validate(t, obj, undefined, undefined);
    const admitErrs = t.strategy.admitCreate?.(obj, this.ctx) ?? [];
    if (admitErrs.length > 0) throw invalid(gk(t), meta.name, admitErrs);
    if (presetRV) throw internalNoReason("resourceVersion should not be set on objects to be created");
    this.validatingAdmission(t, "create", obj, undefined, opts, generated ? "" : meta.name);
    for (let attempt = 0; this.store.entry(t, meta.namespace, meta.name); attempt++) {
      if (!generated || attempt >= 8) throw alreadyExists(gr(t), meta.name);
      meta.name = this.generateName(meta.generateName);
    }
    delete meta.resourceVersion;
    const ordered = orderObject(obj);
    if (opts.dryRun) return { code: 201, body: ordered };
    const m = managers ?? new Map<string, ManagerEntry>();
    if (!managers) this.trackUpdate(t, m, {}, ordered, this.manager(opts));
    return { code: 201, body: this.store.put(t, ordered, m) };
  }

  /**
   * Creates of a custom resource whose CRD is being deleted are refused, as the handler's
   * forbidCreateAdmission does (kubernetes/apiextensions-apiserver@1aa2717a pkg/apiserver/customresource_handler.go).
   */
  private refuseWhileTerminating(t: ResourceType, name: string): void {
    if (!t.custom) return;
    const crd = this.store.entry(
      typeByKind("apiextensions.k8s.io/v1", "CustomResourceDefinition")!,
      undefined,
      t.custom.crd,
    );
    if (crd?.obj.metadata.deletionTimestamp || conditionTrue(crd?.obj, "Terminating")) {
      throw forbidden(gr(t), name, "create not allowed while custom resource definition is terminating");
    }
  }

  private generateName(prefix: string): string {
    const base = prefix.length > 58 ? prefix.slice(0, 58) : prefix;
    let s = "";
    for (let i = 0; i < 5; i++) s += GEN_ALPHABET[Math.floor(Math.random() * GEN_ALPHABET.length)];
    return base + s;
  }

  private getEntry(t: ResourceType, ns: string | undefined, name: string): Entry {
    const e = this.store.entry(t, ns, name);
    if (!e) throw notFound(gr(t), name);
    return e;
  }

  /** GET of one object. */
  get(t: ResourceType, ns: string | undefined, name: string): any {
    return clone(this.getEntry(t, ns, name).obj);
  }

  /** PUT: update (unconditional when the body has no resourceVersion, as for all built-ins served here). */
  update(
    t: ResourceType,
    ns: string | undefined,
    name: string,
    body: unknown,
    opts: WriteOptions,
    subresource?: string,
  ): WriteResult {
    const obj = this.decode(t, body, opts);
    this.checkTypeMeta(t, obj);
    obj.metadata = isObj(obj.metadata) ? obj.metadata : {};
    if (obj.metadata.name !== undefined && obj.metadata.name !== name) {
      throw badRequest(
        `the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    obj.metadata.name = name;
    this.checkNamespace(t, obj, ns);
    const entry = this.getEntry(t, ns, name);
    return this.updateDecoded(t, entry, obj, opts, subresource, "Update");
  }

  private updateDecoded(
    t: ResourceType,
    entry: Entry,
    obj: any,
    opts: WriteOptions,
    subresource: string | undefined,
    operation: "Update" | "Apply",
    managersAfterApply?: Map<string, ManagerEntry>,
  ): WriteResult {
    const old = entry.obj;
    const name = old.metadata.name;
    // Taken before the metadata is reset below; a subresource write keeps the live ownership.
    const requested = subresource ? undefined : obj.metadata.managedFields;
    const rv = obj.metadata.resourceVersion;
    if (rv && rv !== old.metadata.resourceVersion) throw conflict(gr(t), name, OBJECT_MODIFIED);
    if (obj.metadata.uid && obj.metadata.uid !== old.metadata.uid) {
      throw conflict(
        gr(t),
        name,
        `Precondition failed: UID in precondition: ${obj.metadata.uid}, UID in object meta: ${old.metadata.uid}`,
      );
    }
    t.strategy.defaults(obj);
    let next: any;
    if (subresource === "status") {
      // Status updates keep everything but status (ResetObjectMetaForStatus and spec copied from old).
      next = clone(old);
      if (obj.status === undefined) delete next.status;
      else next.status = obj.status;
    } else {
      next = obj;
      if (t.strategy.statusSubresource) {
        if (old.status === undefined) delete next.status;
        else next.status = clone(old.status);
      }
      t.strategy.prepareForUpdate?.(next, old, this.ctx);
      const m = next.metadata;
      for (const k of ["uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"]) {
        if (old.metadata[k] === undefined) delete m[k];
        else m[k] = old.metadata[k];
      }
      delete m.managedFields;
      delete m.selfLink;
      if (t.strategy.generation) {
        const changed = stable(t.strategy.specOf?.(next)) !== stable(t.strategy.specOf?.(old));
        m.generation = (old.metadata.generation ?? 1) + (changed ? 1 : 0);
      } else delete m.generation;
    }
    next.metadata.resourceVersion = old.metadata.resourceVersion;
    if (old.metadata.deletionTimestamp) {
      const added = (next.metadata.finalizers ?? []).filter(
        (f: string) => !(old.metadata.finalizers ?? []).includes(f),
      );
      if (added.length > 0) {
        throw invalid(gk(t), name, [
          {
            type: "FieldValueForbidden",
            field: "metadata.finalizers",
            body: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f: string) => JSON.stringify(f)).join(", ")}}`,
          },
        ]);
      }
    }
    if (subresource !== "status") this.runGuard(t, next, old, opts);
    this.validate(t, next, old, subresource);
    if (!subresource) {
      const admitErrs = t.strategy.admitUpdate?.(next, old, this.ctx) ?? [];
      if (admitErrs.length > 0) throw invalid(gk(t), name, admitErrs);
    }
    if (!subresource) this.validatingAdmission(t, "update", next, old, opts, name);
    next = orderObject(next);
    const managers = managersAfterApply ?? requestedOwnership(requested, entry);
    if (operation === "Update") this.trackUpdate(t, managers, old, next, this.manager(opts));
    // A write that changes neither the object nor who owns which field is not persisted; a change of
    // ownership alone is (managedFields are part of the object).
    if (
      stable(withoutManagedFields(next)) === stable(withoutManagedFields(old)) &&
      ownershipKey(managers) === ownershipKey(entry.managers)
    ) {
      // No-op writes are not persisted: no new resourceVersion, no watch event.
      if (!opts.dryRun) entry.managers = managers;
      return { code: 200, body: clone(old) };
    }
    if (opts.dryRun) return { code: 200, body: next };
    // Store.Update deletes during an update only when the last finalizer goes and the grace period is
    // over (ShouldDeleteDuringUpdate, kubernetes/kubernetes
    // staging/src/k8s.io/apiserver/pkg/registry/generic/registry/store.go): a terminating Pod in its
    // grace period stays until the kubelet deletes it with gracePeriodSeconds 0.
    if (
      old.metadata.deletionTimestamp &&
      (next.metadata.finalizers ?? []).length === 0 &&
      (old.metadata.finalizers ?? []).length > 0 &&
      (next.metadata.deletionGracePeriodSeconds ?? 0) === 0
    ) {
      const gone = this.store.remove(t, old.metadata.namespace, name);
      return { code: 200, body: gone };
    }
    return { code: 200, body: this.store.put(t, next, managers) };
  }

  /** PATCH with any of the four patch types. */
  patch(
    t: ResourceType,
    ns: string | undefined,
    name: string,
    rawBody: string,
    contentType: string,
    opts: WriteOptions,
    subresource?: string,
  ): WriteResult {
    const ct = contentType.split(";")[0].trim().toLowerCase();
    // Custom resources take no strategic merge patch: they have no Go struct to carry its metadata.
    const accepted = t.custom
      ? ["application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"]
      : [
          "application/json-patch+json",
          "application/merge-patch+json",
          "application/strategic-merge-patch+json",
          "application/apply-patch+yaml",
        ];
    if (!accepted.includes(ct)) throw unsupportedMediaType(ct, accepted);
    if (ct === "application/apply-patch+yaml") return this.apply(t, ns, name, rawBody, opts, subresource);
    let patch: unknown;
    try {
      patch = JSON.parse(rawBody);
    } catch (e) {
      throw badRequest(`error decoding patch: ${(e as Error).message}`);
    }
    const entry = this.getEntry(t, ns, name);
    const current = clone(entry.obj);
    let patched: unknown;
    if (ct === "application/json-patch+json") patched = jsonPatch(current, patch);
    else if (ct === "application/merge-patch+json") {
      if (!isObj(patch)) throw badRequest("error decoding patch: json: cannot unmarshal into a JSON object");
      patched = mergePatch(current, patch);
    } else patched = strategicMergePatch(t.kind, current, patch);
    const obj = this.decode(
      t,
      patched,
      opts,
      ct === "application/strategic-merge-patch+json" ? undefined : (d) => patchDecodeError(patched, d),
    );
    this.checkTypeMeta(t, obj);
    obj.metadata = isObj(obj.metadata) ? obj.metadata : {};
    if (obj.metadata.name !== name) {
      throw badRequest(
        `the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    this.checkNamespace(t, obj, ns);
    return this.updateDecoded(t, entry, obj, opts, subresource, "Update");
  }

  /** Server-side apply with a simplified ownership model (leaf paths per manager). */
  apply(
    t: ResourceType,
    ns: string | undefined,
    name: string,
    rawBody: string,
    opts: WriteOptions,
    subresource?: string,
  ): WriteResult {
    if (!opts.fieldManager) {
      throw invalid({ group: "meta.k8s.io", kind: "PatchOptions" }, "", [
        {
          type: "FieldValueRequired",
          field: "fieldManager",
          body: "Required value: is required for apply patch",
        },
      ]);
    }
    let config: any;
    try {
      config = yaml.load(rawBody);
    } catch (e) {
      throw badRequest(`error decoding YAML: ${(e as Error).message}`);
    }
    if (!isObj(config) || !config.apiVersion || !config.kind) {
      const av = isObj(config) ? String(config.apiVersion ?? "") : "";
      const [g, v] = av.includes("/") ? av.split("/") : ["", av];
      throw badRequest(`invalid object type: ${g}/${v}, Kind=${isObj(config) ? (config.kind ?? "") : ""}`);
    }
    if (config.metadata?.managedFields !== undefined) throw badRequest("metadata.managedFields must be nil");
    this.checkTypeMeta(t, config);
    config.metadata = isObj(config.metadata) ? config.metadata : {};
    if (config.metadata.name !== undefined && config.metadata.name !== name) {
      throw badRequest(
        `the name of the object (${config.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    config.metadata.name = name;
    this.checkNamespace(t, config, ns);
    const manager = opts.fieldManager;
    const configPaths = leafPaths(mergeKind(t), ownedView(config));
    const entry = this.store.entry(t, ns, name);
    if (!entry) {
      if (subresource) throw notFound(gr(t), name);
      // Create-by-apply: a uid names an object that is not there (kubernetes/apiserver@24a394e5
      // pkg/endpoints/handlers/patch.go:612-618); a resourceVersion is no precondition, the registry's
      // create branch never compares it and storage clears it (pkg/registry/generic/registry/store.go:736-784,
      // pkg/storage/etcd3/store.go updateState, pkg/storage/api_object_versioner.go:63-71).
      if (config.metadata.uid) {
        throw conflict(
          gr(t),
          name,
          `uid mismatch: the provided object specified uid ${config.metadata.uid}, and no existing object was found`,
        );
      }
      delete config.metadata.resourceVersion;
      this.admitNamespace(t, ns, name);
      const obj = this.decode(t, config, opts);
      const managers = new Map<string, ManagerEntry>();
      managers.set(managerKey(manager, "Apply"), {
        operation: "Apply",
        apiVersion: apiVersionOf(t),
        fields: pathMap(configPaths),
      });
      return this.createDecoded(t, obj, opts, managers);
    }
    const live = withoutManagedFields(clone(entry.obj));
    const managers = cloneManagers(entry.managers);
    const own = managerKey(manager, "Apply");
    const conflicts = new Map<string, { apiVersion: string; fields: string[] }>();
    for (const p of configPaths) {
      const lv = getAtPath(live, p);
      if (lv === undefined || stable(lv) === stable(getAtPath(config, p))) continue;
      const field = formatPath(p);
      // Managers are identified by name and operation: the applier's own Update entry (its earlier
      // non-apply writes) is another manager and conflicts too
      // (kubernetes-sigs/structured-merge-diff@15d075473efece0367330fd20a7cc2aad2eeb998 merge/update.go:96-97).
      for (const [key, m] of managers) {
        if (key === own || !m.fields.has(field)) continue;
        if (opts.force) m.fields.delete(field);
        else {
          const c = conflicts.get(key) ?? { apiVersion: m.apiVersion, fields: [] };
          c.fields.push(field);
          conflicts.set(key, c);
        }
      }
    }
    if (conflicts.size > 0) throw applyConflict(conflicts);
    for (const [key, m] of managers) if (key !== own && m.fields.size === 0) managers.delete(key);
    let merged: any = applyMerge(mergeKind(t), live, config);
    const previous = managers.get(own);
    const newKeys = new Set(configPaths.map(formatPath));
    // Fields of our last apply that this one leaves out are removed unless another manager owns them
    // (kubernetes-sigs/structured-merge-diff@15d075473efece0367330fd20a7cc2aad2eeb998 merge/update.go
    // prune, addBackOwnedItems). A list element no longer applied goes whole, its key fields with it,
    // unless another manager owns part of it; an element still there keeps its keys.
    const othersOwn = (prefix: string) =>
      [...managers].some(
        ([k, m]) =>
          k !== own &&
          [...m.fields.keys()].some(
            (f) => f === prefix || f.startsWith(`${prefix}.`) || f.startsWith(`${prefix}[`),
          ),
      );
    for (const [field, p] of previous?.fields ?? []) {
      if (newKeys.has(field)) continue;
      // A node the last apply owned itself (a map taken over from an Update entry, `.` in FieldsV1) that
      // this apply sets keys of stays: the prune's addBackOwnedItems puts back what is applied now.
      if ([...newKeys].some((k) => k.startsWith(`${field}.`) || k.startsWith(`${field}[`))) continue;
      const gone = p.findIndex(
        (step, j) => !("f" in step) && getAtPath(config, p.slice(0, j + 1)) === undefined,
      );
      if (gone >= 0) {
        const element = p.slice(0, gone + 1);
        if (!othersOwn(formatPath(element))) {
          deleteAtPath(merged, element);
          continue;
        }
      }
      const last = p[p.length - 1];
      const parent = p[p.length - 2];
      if (last && parent && "f" in last && "k" in parent && last.f in parent.k) continue;
      if (!othersOwn(field)) deleteAtPath(merged, p);
    }
    managers.set(own, { operation: "Apply", apiVersion: apiVersionOf(t), fields: pathMap(configPaths) });
    merged = this.decode(t, merged, { ...opts, warnings: [] });
    // A resourceVersion in the applied object is a precondition, checked as an update's (updateDecoded:
    // 409 Conflict, OBJECT_MODIFIED) after the field conflicts, as the registry's Update compares it once
    // the patcher produced the object (kubernetes/apiserver@24a394e5 pkg/registry/generic/registry/store.go:807-809).
    merged.metadata.resourceVersion = config.metadata.resourceVersion;
    if (!merged.metadata.resourceVersion) delete merged.metadata.resourceVersion;
    return this.updateDecoded(t, entry, merged, opts, subresource, "Apply", managers);
  }

  /** DELETE of one object, with finalizers, propagation policy and preconditions. */
  delete(t: ResourceType, ns: string | undefined, name: string, opts: DeleteOptions): WriteResult {
    const entry = this.getEntry(t, ns, name);
    const old = entry.obj;
    const pre = opts.preconditions ?? {};
    if (pre.uid && pre.uid !== old.metadata.uid) {
      throw conflict(
        gr(t),
        name,
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${old.metadata.uid}`,
      );
    }
    if (pre.resourceVersion && pre.resourceVersion !== old.metadata.resourceVersion) {
      throw conflict(
        gr(t),
        name,
        `the ResourceVersion in the precondition (${pre.resourceVersion}) does not match the ResourceVersion in record (${old.metadata.resourceVersion}). The object might have been modified`,
      );
    }
    const next = clone(old);
    let finalizers: string[] = [...(next.metadata.finalizers ?? [])];
    const policy = opts.propagationPolicy;
    if (policy === "Foreground") {
      finalizers = finalizers.filter((f) => f !== "orphan");
      if (!finalizers.includes("foregroundDeletion")) finalizers.push("foregroundDeletion");
    } else if (policy === "Orphan") {
      finalizers = finalizers.filter((f) => f !== "foregroundDeletion");
      if (!finalizers.includes("orphan")) finalizers.push("orphan");
    } else if (policy === "Background") {
      finalizers = finalizers.filter((f) => f !== "orphan" && f !== "foregroundDeletion");
    }
    const current = old.metadata.deletionGracePeriodSeconds;
    if (t.kind === "Pod" && t.group === "" && !(old.metadata.deletionTimestamp && !current)) {
      // Graceful deletion (rest.BeforeDelete, kubernetes/kubernetes@02a7741e
      // staging/src/k8s.io/apiserver/pkg/registry/rest/delete.go): a first delete marks the Pod with
      // deletionTimestamp = now + grace (and bumps a set generation); on a Pod already terminating a
      // delete may only shorten the grace, moving deletionTimestamp by the difference; one whose grace
      // is already 0 is deleted as any object is.
      let grace: number;
      if (old.metadata.deletionTimestamp) {
        const requested = opts.gracePeriodSeconds;
        if (requested === undefined || requested >= current) return { code: 200, body: clone(old) };
        grace = Math.max(requested, 0);
        const moved = Date.parse(old.metadata.deletionTimestamp) + (grace - current) * 1000;
        next.metadata.deletionTimestamp = new Date(moved).toISOString().replace(/\.\d{3}Z$/, "Z");
        next.metadata.deletionGracePeriodSeconds = grace;
      } else {
        grace = podGracePeriod(old, opts.gracePeriodSeconds);
        if (grace > 0) {
          next.metadata.deletionTimestamp = new Date(Date.now() + grace * 1000)
            .toISOString()
            .replace(/\.\d{3}Z$/, "Z");
          next.metadata.deletionGracePeriodSeconds = grace;
          if (next.metadata.generation > 0) next.metadata.generation++;
        }
      }
      if (grace > 0) {
        if (finalizers.length > 0) next.metadata.finalizers = finalizers;
        else delete next.metadata.finalizers;
        if (opts.dryRun) return { code: 200, body: next };
        return { code: 200, body: this.store.put(t, orderObject(next)) };
      }
    }
    if (
      t.kind === "CustomResourceDefinition" &&
      t.group === "apiextensions.k8s.io" &&
      !old.metadata.deletionTimestamp
    ) {
      // A CRD is not removed by its delete: it turns Terminating with the cleanup finalizer, and the
      // finalizer controller removes it once its resources are gone (crd.ts), answering with the CRD.
      const marked = orderObject(markTerminating(old));
      if (opts.dryRun) return { code: 200, body: marked };
      return { code: 200, body: this.store.put(t, marked) };
    }
    if (t.kind === "Namespace") {
      next.spec = next.spec ?? {};
      next.status = { ...(next.status ?? {}), phase: "Terminating" };
    }
    const pendingSpecFinalizers = t.kind === "Namespace" && (next.spec?.finalizers ?? []).length > 0;
    if (finalizers.length > 0 || pendingSpecFinalizers) {
      if (finalizers.length > 0) next.metadata.finalizers = finalizers;
      else delete next.metadata.finalizers;
      next.metadata.deletionTimestamp ??= now();
      next.metadata.deletionGracePeriodSeconds ??= 0;
      if (stable(next) === stable(old)) return { code: 200, body: clone(old) };
      if (opts.dryRun) return { code: 200, body: next };
      return { code: 200, body: this.store.put(t, orderObject(next)) };
    }
    if (opts.dryRun) return { code: 200, body: this.deletedBody(t, old) };
    const gone = this.store.remove(t, ns, name);
    return { code: 200, body: this.deletedBody(t, gone) };
  }

  private deletedBody(t: ResourceType, obj: any): any {
    if (t.strategy.deleteReturnsObject) return obj;
    const details: Record<string, string> = { name: obj.metadata.name };
    if (t.group) details.group = t.group;
    details.kind = t.plural;
    details.uid = obj.metadata.uid;
    return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", details };
  }

  /** DELETE on a collection: deletes every match as a single delete would; answers with the list. */
  deleteCollection(t: ResourceType, ns: string | undefined, items: any[], opts: DeleteOptions): WriteResult {
    const out: any[] = [];
    for (const it of items) {
      try {
        const r = this.delete(t, ns ?? it.metadata.namespace, it.metadata.name, opts);
        out.push(r.body.kind === "Status" ? it : r.body);
      } catch (e) {
        if (!(e instanceof StatusError && e.code === 404)) throw e;
      }
    }
    return {
      code: 200,
      body: {
        kind: `${t.kind}List`,
        apiVersion: apiVersionOf(t),
        metadata: { resourceVersion: String(this.store.currentRV()) },
        items: out.map(stripTypeMeta),
      },
    };
  }

  /** Internal write used by the garbage collector and namespace controller (bypasses admission). */
  internalUpdate(t: ResourceType, obj: any): void {
    const entry = this.store.entry(t, obj.metadata.namespace, obj.metadata.name);
    if (!entry) return;
    this.updateDecoded(
      t,
      entry,
      clone(obj),
      { defaultManager: "kube-controller-manager" },
      undefined,
      "Update",
    );
  }

  /** Internal status write of a controller (the CRD controllers of crd.ts). */
  internalUpdateStatus(t: ResourceType, obj: any): void {
    const entry = this.store.entry(t, obj.metadata.namespace, obj.metadata.name);
    if (!entry) return;
    this.updateDecoded(t, entry, clone(obj), { defaultManager: "kube-apiserver" }, "status", "Update");
  }

  /** Resolves an owner reference to a live entry in the dependent's namespace, or undefined. */
  resolveOwner(ref: any, ns: string | undefined): Entry | undefined | "unknown" {
    const t = this.typeByKind(ref.apiVersion, ref.kind);
    if (!t) return "unknown";
    return this.store.entry(t, t.namespaced ? ns : undefined, ref.name);
  }

  /** Every type served now: the built-in ones and those of established CRDs. */
  servedTypes(): ResourceType[] {
    return [...RESOURCE_TYPES, ...this.customTypes.values()];
  }

  /** Looks up a type by URL parts. */
  typeFor(group: string, version: string, plural: string): ResourceType | undefined {
    return (
      typeByResource(group, version, plural) ??
      [...this.customTypes.values()].find(
        (t) => t.group === group && t.version === version && t.plural === plural,
      )
    );
  }

  /** Looks up a served type by apiVersion and kind. */
  typeByKind(apiVersion: string, kind: string): ResourceType | undefined {
    return (
      typeByKind(apiVersion, kind) ??
      [...this.customTypes.values()].find((t) => apiVersionOf(t) === apiVersion && t.kind === kind)
    );
  }
}

/**
 * The kind patch.ts merges lists by: a custom resource's lists are atomic unless its CRD's schema says
 * otherwise (`x-kubernetes-list-type`, which is not modelled), so they merge as CUSTOM_RESOURCE_KIND.
 */
function mergeKind(t: ResourceType): string {
  return t.custom ? CUSTOM_RESOURCE_KIND : t.kind;
}

function deleteDotted(obj: any, dotted: string): void {
  const parts = dotted.split(/\.|\[(\d+)\]/).filter((p) => p !== undefined && p !== "");
  let cur = obj;
  for (const p of parts.slice(0, -1)) {
    cur = cur?.[Array.isArray(cur) ? Number(p) : p];
    if (cur === undefined || cur === null) return;
  }
  if (isObj(cur)) delete cur[parts[parts.length - 1]];
}

/** List items are served without apiVersion/kind, as a real server does. */
export function stripTypeMeta(o: any): any {
  const { apiVersion: _a, kind: _k, ...rest } = o;
  return rest;
}

/** Fields ownership is tracked on: everything but server-set metadata. */
function ownedView(obj: any): any {
  const v = clone(obj) ?? {};
  delete v.apiVersion;
  delete v.kind;
  if (isObj(v.metadata)) {
    for (const k of [
      ...SYSTEM_META,
      "name",
      "namespace",
      "deletionTimestamp",
      "deletionGracePeriodSeconds",
    ]) {
      delete v.metadata[k];
    }
    if (Object.keys(v.metadata).length === 0) delete v.metadata;
  }
  return v;
}

function pathMap(paths: PathStep[][]): Map<string, PathStep[]> {
  return new Map(paths.map((p) => [formatPath(p), p]));
}

function cloneManagers(m: Map<string, ManagerEntry>): Map<string, ManagerEntry> {
  return new Map([...m].map(([k, v]) => [k, { ...v, fields: new Map(v.fields) }]));
}

/**
 * The ownership a non-apply write starts from, as `decodeLiveOrNew` decides it (kubernetes/apimachinery@eed236ce
 * pkg/util/managedfields/internal/fieldmanager.go): an empty list, or a list of one empty entry, resets
 * it; managedFields that are absent, the live ones as served, or not decodable (an entry with another
 * operation, no apiVersion, no or another fieldsType, FieldsV1 that does not parse) keep the live
 * ownership, so a client unaware of managedFields cannot drop them; any other list replaces it.
 */
function requestedOwnership(requested: unknown, entry: Entry): Map<string, ManagerEntry> {
  const live = () => cloneManagers(entry.managers);
  if (!Array.isArray(requested)) return live();
  const emptyEntry = (e: unknown) =>
    isObj(e) && Object.values(e).every((v) => v === null || v === undefined || v === "");
  if (requested.length === 0 || (requested.length === 1 && emptyEntry(requested[0]))) return new Map();
  if (stable(requested) === stable(entry.obj.metadata.managedFields)) return live();
  return decodeManagedFields(requested) ?? live();
}

function managerName(key: string): string {
  return managerNameOf(key);
}

/** The object as stored, without the managedFields the store renders from the ownership it tracks. */
function withoutManagedFields(o: any): any {
  if (!isObj(o?.metadata) || o.metadata.managedFields === undefined) return o;
  const { managedFields: _mf, ...metadata } = o.metadata;
  return { ...o, metadata };
}

/**
 * The 422 of a JSON patch or merge patch whose result does not decode into the kind's type (a wrong
 * type anywhere, managedFields included; unknown fields under fieldValidation=Strict), as
 * `jsonPatcher.applyPatchToCurrentObject` answers (kubernetes/apiserver@24a394e5
 * pkg/endpoints/handlers/patch.go:349-375): no kind, no name, one `patch` cause whose value is the
 * patched object (as this server serialises it).
 */
function patchDecodeError(patched: unknown, detail: string): StatusError {
  const err = invalid({ group: "", kind: "" }, "", [invalidField("patch", JSON.stringify(patched), detail)]);
  // StatusDetails.kind is omitempty.
  delete err.status.details!.kind;
  return err;
}

/** 409 of an apply that would change fields other managers own (reference row 20). */
function applyConflict(conflicts: Map<string, { apiVersion: string; fields: string[] }>): StatusError {
  const causes: { reason: string; message: string; field: string }[] = [];
  const total = [...conflicts.values()].reduce((n, l) => n + l.fields.length, 0);
  const blocks: string[] = [];
  for (const [key, { apiVersion, fields }] of conflicts) {
    const mgr = managerName(key);
    const using = `conflict with "${mgr}" using ${apiVersion}`;
    for (const f of fields) causes.push({ reason: "FieldManagerConflict", message: using, field: f });
    blocks.push(
      fields.length === 1
        ? `${using}: ${fields[0]}`
        : `${using.replace("conflict", "conflicts")}:\n${fields.map((f) => `- ${f}`).join("\n")}`,
    );
  }
  const head = total === 1 ? "Apply failed with 1 conflict" : `Apply failed with ${total} conflicts`;
  return new StatusError({
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message: `${head}: ${blocks.join("\n")}`,
    reason: "Conflict",
    details: { causes },
    code: 409,
  });
}

/** Serialises in Go field order: apiVersion, kind, metadata, then the rest, status last. */
function orderObject(o: any): any {
  const { apiVersion, kind, metadata, status, ...rest } = o;
  const out: any = { apiVersion, kind, metadata: orderMeta(metadata) };
  Object.assign(out, rest);
  if (status !== undefined) out.status = status;
  return out;
}

const META_ORDER = [
  "name",
  "generateName",
  "namespace",
  "selfLink",
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "labels",
  "annotations",
  "ownerReferences",
  "finalizers",
  "managedFields",
];

function orderMeta(m: any): any {
  const out: any = {};
  for (const k of META_ORDER) if (m?.[k] !== undefined) out[k] = m[k];
  for (const k of Object.keys(m ?? {})) if (!(k in out) && m[k] !== undefined) out[k] = m[k];
  return out;
}
