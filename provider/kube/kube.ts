/**
 * The Kubernetes side of the provider over `@kubernetes/client-node` 1.4: get, list, create,
 * apply (server-side apply of our field manager, sent only when a planned field differs or one we
 * applied before is no longer planned; what an earlier version wrote without applying is taken over
 * first, takeover.ts), delete (idempotent), wait (watch, never sleep-poll) and read-modify-write of
 * shared objects guarded by resourceVersion (another field manager). Every request goes through
 * the retry policy of retry.ts (client-node has none); writes check their outcome when an earlier
 * attempt's answer was lost.
 *
 * client-node is an ESM module; it is `require`d lazily inside functions (Node 20 supports
 * require(esm)) so that importing this file, e.g. during `pulumi preview`, costs nothing and
 * never fails when the package is unavailable.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import type * as K8s from "@kubernetes/client-node";
import type { CredentialSource } from "../credentialSource";
import { observedState } from "../plan/progress";
import { waiting } from "../progress";
import { differingFields } from "./compare";
import {
  type FailureContext,
  isApiException,
  KubeApiError,
  KubeOwnershipError,
  type KubeVerb,
  KubeWaitTimeoutError,
  parseStatus,
  toKubeApiError,
} from "./errors";
import {
  type AttemptContext,
  type AttemptFailure,
  DEFAULT_RETRY_POLICY,
  decideRetry,
  type HttpMethod,
  RetriesExhausted,
  type RetryEnvironment,
  type RetryPolicy,
  retrying,
} from "./retry";
import { type FieldPath, type ManagedFieldsEntry, takeOverEarlierWrites } from "./takeover";
import {
  describeRef,
  EDIT_FIELD_MANAGER,
  FIELD_MANAGER,
  type KubeObject,
  type KubeRequestCounts,
  type ObjectRef,
  OWNER_ID_KEY,
  refOf,
} from "./types";

type ClientNode = typeof K8s;

let clientNodeModule: ClientNode | undefined;

/** Loads `@kubernetes/client-node` on first use. */
export function loadClientNode(): ClientNode {
  if (!clientNodeModule) {
    // Lazy: the ESM package loads through require(esm) only when the Kubernetes side is used.
    clientNodeModule = require("@kubernetes/client-node") as ClientNode;
  }
  return clientNodeModule;
}

/** The subclass of KubernetesObjectApi we use, built once client-node is loaded. */
interface ObjectApi extends K8s.KubernetesObjectApi {
  /** URL path of the collection of a kind (discovery-backed), for watches. */
  collectionPath(apiVersion: string, kind: string, namespace: string | undefined): Promise<string>;
  /** Discovery entry of a kind. */
  resourceOf(apiVersion: string, kind: string): Promise<K8s.V1APIResource | undefined>;
  /** PATCH `application/json-patch+json` (client-node's patch() sends only object bodies). */
  jsonPatch(ref: ObjectRef, operations: object[], fieldManager: string): Promise<K8s.KubernetesObject>;
}

type ObjectApiConstructor = new (config: K8s.Configuration) => ObjectApi;
let objectApiClass: ObjectApiConstructor | undefined;

function objectApiConstructor(k8s: ClientNode): ObjectApiConstructor {
  if (objectApiClass) return objectApiClass;
  class RawObjectApi extends k8s.KubernetesObjectApi {
    // client-node deserialises responses into its generated models, which turns timestamps into
    // Dates and drops fields it does not know. We keep the server's JSON as is: it is what we
    // compare against and what a read-modify-write sends back.
    protected override async processResponse<T extends K8s.KubernetesObject>(
      response: K8s.ResponseContext,
      _type?: string,
    ): Promise<T> {
      const text = await response.body.text();
      if (response.httpStatusCode >= 200 && response.httpStatusCode <= 299) {
        return (text === "" ? {} : JSON.parse(text)) as T;
      }
      throw new k8s.ApiException(
        response.httpStatusCode,
        "Unsuccessful HTTP Request",
        text,
        response.headers,
      );
    }

    async collectionPath(apiVersion: string, kind: string, namespace: string | undefined): Promise<string> {
      return this.specUriPath({ apiVersion, kind, metadata: { namespace } }, "list");
    }

    async resourceOf(apiVersion: string, kind: string): Promise<K8s.V1APIResource | undefined> {
      return this.resource(apiVersion, kind);
    }

    async jsonPatch(
      ref: ObjectRef,
      operations: object[],
      fieldManager: string,
    ): Promise<K8s.KubernetesObject> {
      const spec = {
        apiVersion: ref.apiVersion,
        kind: ref.kind,
        metadata: { name: ref.name, namespace: ref.namespace },
      };
      const context = this.configuration.baseServer.makeRequestContext(
        await this.specUriPath(spec, "patch"),
        k8s.HttpMethod.PATCH,
      );
      context.setHeaderParam("Accept", "application/json, */*;q=0.8");
      context.setHeaderParam("Content-Type", "application/json-patch+json");
      context.setQueryParam("fieldManager", fieldManager);
      context.setBody(JSON.stringify(operations));
      return this.requestPromise(context);
    }
  }
  objectApiClass = RawObjectApi as unknown as ObjectApiConstructor;
  return objectApiClass;
}

/** Result of {@link Kube.apply}. */
export interface ApplyResult {
  /** What apply did: nothing (`unchanged`) is the common case on a second run. */
  action: "created" | "updated" | "unchanged";
  object: KubeObject;
  /** Fields that differed before an update (empty otherwise). */
  changedFields: string[];
}

/** Options of {@link Kube.apply}. */
export interface ApplyOptions {
  /** Pulumi resource identity; stamped on the object and required to match on update. */
  ownerId: string;
  /** Take over an existing object that has no owner annotation. Default false. */
  adoptUnowned?: boolean;
  /**
   * The resource's previous identity, when its `ownerId` changes in place: an object owned by it is
   * taken over (it is the same resource's). Default: none.
   */
  formerOwnerId?: string;
  /** How long to wait for a terminating object with the same name to go. Default 60 000 ms. */
  terminatingWaitMs?: number;
  /**
   * Fields of the object that other writers of this package set by read-modify-write (the entries of a
   * ProxyGroup's shared ConfigMap): never taken over from earlier versions' writes (takeover.ts), so
   * this apply leaves them alone. Default: none.
   */
  sharedFields?: readonly FieldPath[];
}

/** Options of {@link Kube.waitFor}. */
export interface WaitOptions {
  timeoutMs: number;
  /** What is awaited, for progress and the timeout message, e.g. "the StatefulSet's replicas to be ready". */
  description: string;
  /**
   * What the object shows, in words, for progress (never a secret value); default plan/progress.ts
   * `observedState`.
   */
  state?: (obj: KubeObject | undefined) => string;
}

/** Result of {@link Kube.readModifyWrite}. */
export interface ReadModifyWriteResult {
  object: KubeObject;
  /** False when the mutation asked for no change (no write was sent). */
  changed: boolean;
  attempts: number;
}

/** Options of {@link Kube}. */
export interface KubeOptions {
  /** Overrides of the retry policy (retry.ts), e.g. shorter backoffs in tests. */
  retry?: Partial<RetryPolicy>;
  /**
   * Where the kubeconfig was found (provider/credentials.ts), so a 401 says how to replace it: stack
   * config is the copy recorded at the last `pulumi up`.
   */
  credentialSource?: CredentialSource;
}

/** One logical request, for {@link Kube.request}. */
interface Call {
  verb: KubeVerb;
  ref: ObjectRef;
  method: HttpMethod;
  /** For writes: the outcome is checked when an earlier answer was lost (retry.ts). */
  repeatable?: boolean;
  /** The object sent, to keep its secret values out of messages. */
  obj?: KubeObject;
}

const NOT_SET = Symbol("not-set");
const CONFLICT = Symbol("conflict");

/** Kubernetes access for one kubeconfig (cluster + identity). */
export class Kube {
  /** Requests sent so far, by class. */
  readonly counts: KubeRequestCounts = { reads: 0, writes: 0, watches: 0 };
  /** 409 Conflicts retried by readModifyWrite. */
  conflictRetries = 0;
  /** Requests repeated after a transient failure (429, 5xx, lost connection, failed watch). */
  retries = 0;

  private readonly kc: K8s.KubeConfig;
  private readonly api: ObjectApi;
  private readonly defaultNamespace: string;
  private readonly retryEnv: RetryEnvironment;
  private readonly credentialSource?: CredentialSource;

  /** Wraps a loaded KubeConfig. Prefer the static factories. */
  constructor(kc: K8s.KubeConfig, options: KubeOptions = {}) {
    const k8s = loadClientNode();
    const cluster = kc.getCurrentCluster();
    if (!cluster) {
      throw new Error(`kubeconfig context "${kc.getCurrentContext()}" names no cluster; fix the kubeconfig`);
    }
    this.kc = kc;
    this.credentialSource = options.credentialSource;
    this.retryEnv = {
      policy: { ...DEFAULT_RETRY_POLICY, ...options.retry },
      onRetry: () => {
        this.retries++;
      },
    };
    const counts = this.counts;
    const config = k8s.createConfiguration({
      baseServer: new k8s.ServerConfiguration(cluster.server, {}),
      authMethods: { default: keepAliveAuthentication(kc) },
      promiseMiddleware: [
        {
          pre: async (ctx: K8s.RequestContext) => {
            if (ctx.getHttpMethod() === k8s.HttpMethod.GET) counts.reads++;
            else counts.writes++;
            return ctx;
          },
          post: async (rsp: K8s.ResponseContext) => rsp,
        },
      ],
    });
    this.api = new (objectApiConstructor(k8s))(config);
    const ctx = kc.getContextObject(kc.getCurrentContext());
    this.defaultNamespace = ctx?.namespace || "default";
  }

  /**
   * Loads a kubeconfig given as YAML/JSON text or as a file path, optionally selecting a context.
   * Throws a clear error when the context does not exist.
   */
  static fromKubeconfig(yamlOrPath: string, context?: string, options?: KubeOptions): Kube {
    const k8s = loadClientNode();
    const kc = new k8s.KubeConfig();
    if (looksLikeKubeconfigText(yamlOrPath)) {
      kc.loadFromString(yamlOrPath);
    } else {
      const file = expandHome(yamlOrPath.trim());
      if (!fs.existsSync(file)) {
        throw new Error(
          `kubeconfig file ${file} does not exist; set kubernetes:kubeconfig to its YAML or a valid path`,
        );
      }
      kc.loadFromFile(file);
    }
    selectContext(kc, context);
    return new Kube(kc, options);
  }

  /** Loads and merges several kubeconfig files (as `KUBECONFIG=a:b` does), optionally selecting a context. */
  static fromKubeconfigFiles(files: string[], context?: string, options?: KubeOptions): Kube {
    const k8s = loadClientNode();
    const kc = new k8s.KubeConfig();
    const [first, ...rest] = files;
    if (!first) throw new Error("no kubeconfig file given");
    kc.loadFromFile(first);
    for (const f of rest) {
      const more = new k8s.KubeConfig();
      more.loadFromFile(f);
      // kubectl's rule: the first file to define a name wins (client-node's mergeConfig throws instead).
      for (const c of more.getClusters()) if (!kc.getCluster(c.name)) kc.addCluster(c);
      for (const u of more.getUsers()) if (!kc.getUser(u.name)) kc.addUser(u);
      for (const c of more.getContexts()) if (!kc.getContextObject(c.name)) kc.addContext(c);
      if (!kc.getCurrentContext()) kc.setCurrentContext(more.getCurrentContext());
    }
    selectContext(kc, context);
    return new Kube(kc, options);
  }

  /** Uses the in-cluster service account (KUBERNETES_SERVICE_HOST and the mounted token). */
  static inCluster(options?: KubeOptions): Kube {
    const k8s = loadClientNode();
    const kc = new k8s.KubeConfig();
    kc.loadFromCluster();
    return new Kube(kc, options);
  }

  /** The API server URL (not secret), for messages. */
  get server(): string {
    return this.kc.getCurrentCluster()?.server ?? "";
  }

  // ------------------------------------------------------------------ reads

  /** Reads an object; undefined when it does not exist. */
  async get(ref: ObjectRef): Promise<KubeObject | undefined> {
    const r = this.withNamespace(ref);
    return this.request({ verb: "get", ref: r, method: "GET" }, async () => {
      try {
        const obj = await this.api.read<K8s.KubernetesObject>({
          apiVersion: r.apiVersion,
          kind: r.kind,
          metadata: { name: r.name, namespace: r.namespace },
        });
        return obj as unknown as KubeObject;
      } catch (err) {
        if (isApiException(err) && err.code === 404) return undefined;
        throw err;
      }
    });
  }

  /** Lists objects of a kind in a namespace (all namespaces when undefined), optionally by label selector. */
  async list(
    apiVersion: string,
    kind: string,
    namespace?: string,
    labelSelector?: string,
  ): Promise<KubeObject[]> {
    return (await this.listWithVersion(apiVersion, kind, namespace, labelSelector)).items;
  }

  private async listWithVersion(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    labelSelector?: string,
    fieldSelector?: string,
  ): Promise<{ items: KubeObject[]; resourceVersion: string | undefined }> {
    const ref = { apiVersion, kind, namespace, name: labelSelector ? `(${labelSelector})` : "*" };
    return this.request({ verb: "list", ref, method: "GET" }, async () => {
      const res = await this.api.list<K8s.KubernetesObject>(
        apiVersion,
        kind,
        namespace,
        undefined,
        undefined,
        undefined,
        fieldSelector,
        labelSelector,
      );
      // List items carry no apiVersion/kind; fill them in so items are usable as objects.
      const items = (res.items ?? []).map((i) => ({ ...(i as object), apiVersion, kind }) as KubeObject);
      return { items, resourceVersion: res.metadata?.resourceVersion };
    });
  }

  // ------------------------------------------------------------------ writes

  /**
   * Creates an object; throws KubeApiError (409 AlreadyExists, 404 namespace, 422 …) on failure.
   * When an attempt's answer was lost and the retry meets 409 AlreadyExists, the object is read back:
   * if it carries everything we sent (our owner annotation included), it is the one our lost attempt
   * created and is returned. A create with generateName is not repeated after a lost answer.
   */
  async create(obj: KubeObject): Promise<KubeObject> {
    const body = this.withObjectNamespace(obj);
    const generated = body.metadata.name ? undefined : `${body.metadata.generateName ?? ""}*`;
    const ref = generated ? { ...refOf(body), name: generated } : refOf(body);
    const call: Call = {
      verb: "create",
      ref,
      method: "POST",
      repeatable: Boolean(body.metadata.name),
      obj: body,
    };
    return this.request(call, async (ctx) => {
      try {
        return (await this.api.create(
          structuredClone(body) as K8s.KubernetesObject,
          undefined,
          undefined,
          EDIT_FIELD_MANAGER,
        )) as unknown as KubeObject;
      } catch (err) {
        if (ctx.maybeApplied && isApiException(err) && err.code === 409) {
          const live = parseStatus(err.body)?.reason === "AlreadyExists" ? await this.get(ref) : undefined;
          if (live && differingFields(body, live).length === 0) return live;
        }
        throw err;
      }
    });
  }

  /**
   * Creates the object, or brings the fields we set to what `obj` says when it exists and is ours,
   * by server-side apply with our field manager: fields we applied before and no longer plan are
   * removed, unless another manager also owns them; fields only others own (the keys a proxy writes
   * into its state Secret) are kept. A second apply of the same object sends no write: it is sent only
   * when a planned field differs or our last apply owns a field no longer planned (read from the live
   * object's managedFields). An object carrying our owner annotation whose managedFields still hold an
   * earlier version's non-apply writes has them taken over by our Apply entry first (takeover.ts), so
   * that what those versions set and this one no longer plans is removed too; `sharedFields` stay with
   * their writers. Refuses (KubeOwnershipError) when the existing object belongs to another
   * owner. A Secret's `stringData` is applied as `data`, so that we own its keys (the server merges
   * stringData into data and never returns it).
   */
  async apply(obj: KubeObject, options: ApplyOptions): Promise<ApplyResult> {
    if (!obj.metadata?.name) {
      throw new Error(
        `apply of a ${obj.kind} needs metadata.name (generateName objects are created with create())`,
      );
    }
    const desired = appliedForm(stampOwner(this.withObjectNamespace(obj), options.ownerId));
    const ref = refOf(desired);
    for (let attempt = 1; ; attempt++) {
      let live = await this.get(ref);
      if (live?.metadata.deletionTimestamp) {
        // Same name, being deleted (e.g. a replace with foreground deletion): applying now would write
        // to a dying object. Wait until it is gone.
        await this.waitForDeletion(ref, options.terminatingWaitMs ?? 60_000);
        live = undefined;
      }
      let changedFields: string[] = [];
      if (live) {
        const owner = ownerOf(live);
        const ours =
          owner === options.ownerId ||
          (owner === undefined && options.adoptUnowned) ||
          (owner !== undefined && owner === options.formerOwnerId);
        if (!ours) {
          throw new KubeOwnershipError(ref, owner, options.ownerId, OWNER_ID_KEY);
        }
        if (owner !== undefined) {
          // Ours by its annotation, so the Update entry of our field manager holds what we wrote.
          const taken = await this.takeOverEarlierWrites(live, ref, options.sharedFields);
          if (taken === CONFLICT && attempt < 3) continue;
          if (taken === CONFLICT) {
            throw new Error(
              `${describeRef(ref)} kept changing between our read and our rewrite of its managedFields; check who else writes it`,
            );
          }
          live = taken ?? live;
        }
        changedFields = differingFields(desired, live);
        const unplanned = appliedButNotPlanned(live, desired);
        if (changedFields.length === 0 && unplanned.length === 0) {
          return { action: "unchanged", object: live, changedFields };
        }
        changedFields = [...changedFields, ...unplanned.map((f) => `${f} (removed)`)];
      }
      // Creating, the apply is not forced: an object someone else made since our read conflicts
      // (its owner annotation is another manager's), and the next round checks its owner.
      const updated = await this.serverSideApply(desired, ref, live !== undefined);
      if (updated === CONFLICT && attempt < 3) continue;
      if (updated === CONFLICT) {
        throw new Error(
          `${describeRef(ref)} kept appearing with other owners' fields between our read and our create; check who else creates it`,
        );
      }
      return { action: live ? "updated" : "created", object: updated, changedFields };
    }
  }

  /**
   * Moves to our Apply entry what earlier versions of this package wrote with our field manager outside
   * server-side apply (takeover.ts), so the apply after it removes what it no longer sets: a JSON patch
   * of `metadata.managedFields` guarded by the resourceVersion read, as client-go's csaupgrade sends it.
   * Undefined when there is nothing to take over; CONFLICT when the object changed since `live` was read.
   */
  private async takeOverEarlierWrites(
    live: KubeObject,
    ref: ObjectRef,
    shared: readonly FieldPath[] | undefined,
  ): Promise<KubeObject | typeof CONFLICT | undefined> {
    const managedFields = takeOverEarlierWrites(
      live.metadata.managedFields as ManagedFieldsEntry[] | undefined,
      shared,
    );
    if (!managedFields) return undefined;
    const operations = [
      { op: "replace", path: "/metadata/managedFields", value: managedFields },
      // "replace", not "test": a moved resourceVersion is then the storage's 409 Conflict
      // (kubernetes/client-go@32ce75a7 util/csaupgrade/upgrade.go:157-170).
      { op: "replace", path: "/metadata/resourceVersion", value: live.metadata.resourceVersion },
    ];
    // Repeatable: after a lost answer, the repeat meets a 409 and the next round finds nothing to do.
    const call: Call = { verb: "patch", ref, method: "PATCH", repeatable: true, obj: live };
    return this.request(call, async () => {
      try {
        return (await this.api.jsonPatch(ref, operations, FIELD_MANAGER)) as unknown as KubeObject;
      } catch (err) {
        if (isApiException(err) && err.code === 409) return CONFLICT;
        throw err;
      }
    });
  }

  /**
   * One server-side apply (PATCH `application/apply-patch+yaml` with our field manager), which
   * creates the object when absent. Repeatable: applying the same configuration again changes nothing.
   * Forced on an existing object: it is this resource's (its owner annotation was checked, or it is
   * being adopted), so a field we plan that someone else changed (a `kubectl edit`, or our own earlier
   * non-apply writes, which the server records as another manager) is set back and becomes ours, as
   * the operator's reconciler and this package's earlier merge patches did. Force only moves the fields we
   * apply: what only others set (the keys a proxy writes into its state Secret) is never touched.
   */
  private async serverSideApply(
    desired: KubeObject,
    ref: ObjectRef,
    force: boolean,
  ): Promise<KubeObject | typeof CONFLICT> {
    const body = appliedConfigOf(desired);
    const call: Call = { verb: "patch", ref, method: "PATCH", repeatable: true, obj: desired };
    return this.request(call, async () => {
      try {
        return (await this.api.patch(
          structuredClone(body) as K8s.KubernetesObject,
          undefined,
          undefined,
          FIELD_MANAGER,
          force || undefined,
          loadClientNode().PatchStrategy.ServerSideApply,
        )) as unknown as KubeObject;
      } catch (err) {
        if (!force && isApiException(err) && err.code === 409) return CONFLICT;
        throw err;
      }
    });
  }

  /**
   * Deletes an object. True when a delete was accepted, false when it was already gone: deleting
   * twice is success. `propagationPolicy` as in DeleteOptions (Foreground keeps the owner until its
   * dependents are gone). With `resourceVersion`, only that version is deleted (DeleteOptions
   * preconditions): a later write makes it fail with KubeApiError 409 Conflict, and nothing is deleted.
   */
  async delete(
    ref: ObjectRef,
    options: { propagationPolicy?: "Foreground" | "Background" | "Orphan"; resourceVersion?: string } = {},
  ): Promise<boolean> {
    const r = this.withNamespace(ref);
    const body = options.resourceVersion
      ? { preconditions: { resourceVersion: options.resourceVersion } }
      : undefined;
    return this.request({ verb: "delete", ref: r, method: "DELETE", repeatable: true }, async (ctx) => {
      try {
        await this.api.delete(
          { apiVersion: r.apiVersion, kind: r.kind, metadata: { name: r.name, namespace: r.namespace } },
          undefined,
          undefined,
          undefined,
          undefined,
          options.propagationPolicy,
          body,
        );
        return true;
      } catch (err) {
        // After an attempt whose answer was lost, a 404 means that attempt deleted it.
        if (isApiException(err) && err.code === 404) return ctx.maybeApplied;
        throw err;
      }
    });
  }

  /**
   * Changes a shared object (e.g. one key of a ConfigMap many resources write to) without losing
   * concurrent writes: GET, apply `mutate` to a copy, PUT with the read resourceVersion, and on
   * 409 Conflict start over with a fresh read. `mutate` returns the new object, or undefined for
   * "no change" (then nothing is written). Throws KubeApiError 404 when the object does not exist.
   * `options.read`: the object as the caller just read it, used instead of the first GET, so that the
   * first PUT fails with 409 if it changed since that read.
   */
  async readModifyWrite(
    ref: ObjectRef,
    mutate: (obj: KubeObject) => KubeObject | undefined,
    options: { maxAttempts?: number; read?: KubeObject } = {},
  ): Promise<ReadModifyWriteResult> {
    const r = this.withNamespace(ref);
    const maxAttempts = options.maxAttempts ?? 20;
    for (let attempt = 1; ; attempt++) {
      const live = attempt === 1 && options.read ? options.read : await this.get(r);
      if (!live) {
        throw new KubeApiError({
          code: 404,
          reason: "NotFound",
          verb: "update",
          ref: r,
          serverMessage: `${r.kind.toLowerCase()}s "${r.name}" not found`,
          hint: "the shared object is created by its owner (e.g. the ProxyGroup); create that first",
        });
      }
      const next = mutate(structuredClone(live));
      if (next === undefined || sameJson(next, live))
        return { object: live, changed: false, attempts: attempt };
      const body: KubeObject = {
        ...next,
        apiVersion: live.apiVersion,
        kind: live.kind,
        metadata: {
          ...next.metadata,
          name: live.metadata.name,
          namespace: live.metadata.namespace,
          resourceVersion: live.metadata.resourceVersion,
        },
      };
      // The PUT carries the resourceVersion read, so repeating it cannot overwrite another writer.
      const call: Call = { verb: "update", ref: r, method: "PUT", repeatable: true, obj: body };
      const outcome = await this.request(call, async (ctx: AttemptContext) => {
        try {
          const written = (await this.api.replace(
            structuredClone(body) as K8s.KubernetesObject,
            undefined,
            undefined,
            EDIT_FIELD_MANAGER,
          )) as unknown as KubeObject;
          return { written: true as const, object: written };
        } catch (err) {
          if (!(isApiException(err) && err.code === 409)) throw err;
          if (ctx.maybeApplied) {
            // Our lost attempt may have been the write that moved the resourceVersion on.
            const now = await this.get(r);
            if (now && sameContent(body, now)) return { written: true as const, object: now };
          }
          return { written: false as const, conflict: err };
        }
      });
      if (outcome.written) return { object: outcome.object, changed: true, attempts: attempt };
      if (attempt < maxAttempts) {
        this.conflictRetries++;
        // Jittered pause so that many writers racing on one object do not collide again in lockstep.
        await delay(Math.random() * Math.min(200, 5 * 2 ** Math.min(attempt, 6)));
        continue;
      }
      const e = await this.fail(outcome.conflict, "update", r, body);
      throw new KubeApiError({
        code: e.code,
        reason: e.reason,
        verb: "update",
        ref: r,
        serverMessage: e.serverMessage,
        attempts: attempt,
        hint: "other writers kept changing it between our read and our write; retry the operation",
      });
    }
  }

  // ------------------------------------------------------------------ waits

  /**
   * Waits until `predicate` holds for the object (undefined = absent), using a watch from the
   * resourceVersion of an initial list narrowed to the object's name. Survives watch expiry (410 Gone: re-reads and re-watches)
   * and server-side closes (resumes from the last version seen). Rejects with
   * KubeWaitTimeoutError after `timeoutMs`, naming what was awaited and the last state seen.
   */
  async waitFor(
    ref: ObjectRef,
    predicate: (obj: KubeObject | undefined) => boolean,
    options: WaitOptions,
  ): Promise<KubeObject | undefined> {
    const r = this.withNamespace(ref);
    const seen = options.state ?? observedState;
    return waiting(options.description, (observe) =>
      this.watchUntil(r, predicate, options, (obj) => observe(`${describeRef(r)}: ${seen(obj)}`)),
    );
  }

  private async watchUntil(
    r: ObjectRef,
    predicate: (obj: KubeObject | undefined) => boolean,
    options: WaitOptions,
    observe: (obj: KubeObject | undefined) => void,
  ): Promise<KubeObject | undefined> {
    const k8s = loadClientNode();
    const watch = new k8s.Watch(this.kc);
    const watchPath = await this.collectionPathFor(r);
    let last: KubeObject | undefined | typeof NOT_SET = NOT_SET;

    return new Promise<KubeObject | undefined>((resolve, reject) => {
      let settled = false;
      let controller: AbortController | undefined;
      let restartTimer: NodeJS.Timeout | undefined;
      let watchProblem: string | undefined;
      const finish = (action: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (restartTimer) clearTimeout(restartTimer);
        controller?.abort();
        action();
      };
      const timer = setTimeout(() => {
        const seen = summarize(last) + (watchProblem ? `; the watch kept failing: ${watchProblem}` : "");
        finish(() => reject(new KubeWaitTimeoutError(r, options.description, options.timeoutMs, seen)));
      }, options.timeoutMs);

      const check = (obj: KubeObject | undefined): boolean => {
        last = obj;
        try {
          observe(obj);
          if (predicate(obj)) {
            finish(() => resolve(obj));
            return true;
          }
        } catch (err) {
          finish(() => reject(err));
          return true;
        }
        return false;
      };

      let resourceVersion: string | undefined;
      let quickEnds = 0;
      // Consecutive watch requests refused with a status (429, 5xx, ERROR events), paced and bounded
      // by the retry policy like any other GET.
      let refusals = 0;
      let refusedSince = 0;

      const startFromRead = async () => {
        if (settled) return;
        try {
          // A list narrowed to the one name gives the current state and the collection's
          // resourceVersion. The object's own resourceVersion would not do: an object unchanged
          // for longer than the server's watch history is older than the compaction point, and
          // every watch from it would end in 410 Gone.
          const listed = await this.listWithVersion(
            r.apiVersion,
            r.kind,
            r.namespace,
            undefined,
            `metadata.name=${r.name}`,
          );
          if (settled || check(listed.items.find((i) => i.metadata.name === r.name))) return;
          resourceVersion = listed.resourceVersion;
          await startWatch();
        } catch (err) {
          finish(() => reject(err));
        }
      };

      const startWatch = async () => {
        if (settled) return;
        let gone = false;
        let watchError: unknown;
        let events = 0;
        const startedAt = Date.now();
        this.counts.watches++;
        controller = await watch.watch(
          watchPath,
          {
            fieldSelector: `metadata.name=${r.name}`,
            resourceVersion,
            allowWatchBookmarks: true,
          },
          (type: string, obj: KubeObject & KubeStatusLike) => {
            if (settled) return;
            events++;
            if (type === "ERROR") {
              // 410 Expired/Gone: the version is compacted away; re-list, as informers do
              // (`kubernetes/client-go@v0.36.3 tools/cache/reflector.go:1154-1160`).
              if (obj?.code === 410) gone = true;
              else watchError = obj;
              return;
            }
            refusals = 0;
            const rv = obj?.metadata?.resourceVersion;
            if (rv) resourceVersion = rv;
            if (type === "BOOKMARK" || obj?.metadata?.name !== r.name) return;
            check(
              type === "DELETED"
                ? undefined
                : { ...obj, apiVersion: obj.apiVersion ?? r.apiVersion, kind: obj.kind ?? r.kind },
            );
          },
          (err: unknown) => {
            if (settled) return;
            const statusCode = (err as { statusCode?: number } | null)?.statusCode;
            if (gone || statusCode === 410) {
              // The version we watched from was compacted away: read the current state again.
              void startFromRead();
              return;
            }
            if (watchError || (statusCode !== undefined && statusCode !== 200)) {
              const status = parseStatus(watchError) ?? {
                code: statusCode,
                message: String((err as Error)?.message),
              };
              const code = status.code ?? statusCode ?? 0;
              refusals++;
              if (refusals === 1) refusedSince = Date.now();
              // client-node's Watch keeps no response headers, so a Retry-After is not seen here:
              // a refused watch is paced by the backoff.
              const decision = decideRetry(
                {
                  status: code || undefined,
                  method: "GET",
                  repeatable: true,
                  attempt: refusals,
                  elapsedMs: Date.now() - refusedSince,
                },
                this.retryEnv.policy,
              );
              if (decision.retry) {
                this.retries++;
                watchProblem = `${code} ${status.message ?? ""}`.trim();
                restartTimer = setTimeout(
                  () => void startWatch().catch((e) => finish(() => reject(e))),
                  decision.delayMs,
                );
                return;
              }
              finish(() =>
                reject(
                  toKubeApiError(
                    { code, body: JSON.stringify(status), message: status.message ?? "" },
                    {
                      verb: "watch",
                      ref: r,
                      server: this.server,
                      credentialSource: this.credentialSource,
                      retry: { attempts: refusals, elapsedMs: Date.now() - refusedSince, why: decision.why },
                    },
                  ),
                ),
              );
              return;
            }
            // A normal close (servers end watches after a while) or a dropped connection: resume
            // from the last version seen. Back off if the watch keeps ending at once.
            watchProblem = err instanceof Error ? err.message : undefined;
            quickEnds = events === 0 && Date.now() - startedAt < 100 ? quickEnds + 1 : 0;
            const pause = quickEnds === 0 ? 0 : Math.min(2000, 50 * 2 ** quickEnds);
            restartTimer = setTimeout(() => void startWatch().catch((e) => finish(() => reject(e))), pause);
          },
        );
        if (settled) controller.abort();
      };

      void startFromRead();
    });
  }

  /**
   * Runs a command in a Pod's container (`pods/exec`, over WebSocket) and returns what it printed
   * and its exit code. Used to ask a proxy's tailscaled for its certificate during `up`; needs the
   * `get` and `create` verbs on `pods/exec` in the proxy's namespace (the WebSocket upgrade is a GET,
   * and from Kubernetes 1.35 the API server also checks `create`, kubernetes/kubernetes#134577;
   * kubernetes/kubernetes#134577, #78741). Retried (retry.ts) when the WebSocket never opened, so the
   * command cannot have started; once it runs, a dropped connection is an error, since the command may
   * have acted, unless `o.idempotent` says running it again is harmless.
   */
  async exec(
    namespace: string,
    pod: string,
    container: string,
    command: string[],
    timeoutMs: number,
    o: { idempotent?: boolean } = {},
  ): Promise<{ stdout: string; stderr: string; exitCode: number }> {
    const started = Date.now();
    const where = `Pod ${namespace}/${pod}`;
    for (let attempt = 1; ; attempt++) {
      const remaining = timeoutMs - (Date.now() - started);
      const outcome = await this.execOnce(namespace, pod, container, command, Math.max(1, remaining));
      if ("broken" in outcome && !o.idempotent) {
        throw new Error(
          `${outcome.broken}; not retried because the command may have run: run the deployment again`,
        );
      }
      if (!("notStarted" in outcome) && !("broken" in outcome)) return outcome;
      const { failure, message } =
        "notStarted" in outcome
          ? outcome.notStarted
          : { failure: { errorCode: "ECONNRESET" }, message: outcome.broken };
      const elapsedMs = Date.now() - started;
      // The upgrade failed before the command ran, or the command may run again: like a request never sent.
      const decision = decideRetry(
        { ...failure, method: "POST", repeatable: true, attempt, elapsedMs },
        this.retryEnv.policy,
      );
      if (decision.retry && elapsedMs + decision.delayMs < timeoutMs) {
        this.retries++;
        await delay(decision.delayMs);
        continue;
      }
      const tries = attempt > 1 ? ` (after ${attempt} attempts: ${decision.why})` : "";
      throw new Error(
        `cannot run a command in ${where}${tries}` +
          (failure.status === 403
            ? `: the kubeconfig's identity lacks \`get\` or \`create\` on \`pods/exec\` in this namespace (${message}); grant both (deploy/deployer-rbac.yaml), or set waitForCertificate: false`
            : `: ${message}`),
      );
    }
  }

  /** One exec attempt; `notStarted` when the WebSocket could not be opened. */
  private async execOnce(
    namespace: string,
    pod: string,
    container: string,
    command: string[],
    timeoutMs: number,
  ): Promise<
    | { stdout: string; stderr: string; exitCode: number }
    | { notStarted: { failure: AttemptFailure; message: string } }
    | { broken: string }
  > {
    const k8s = loadClientNode();
    const { Writable } = await import("node:stream");
    let stdout = "";
    let stderr = "";
    const sink = (append: (s: string) => void) =>
      new Writable({
        write(chunk, _enc, done) {
          append(chunk.toString("utf8"));
          done();
        },
      });
    this.counts.writes++;
    const running = `\`${command.join(" ")}\` in Pod ${namespace}/${pod}`;
    return new Promise((resolve, reject) => {
      let done = false;
      const settle = (action: () => void) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        action();
      };
      const timer = setTimeout(() => {
        settle(() => reject(new Error(`running ${running} did not finish within ${timeoutMs} ms`)));
      }, timeoutMs);
      new k8s.Exec(this.kc)
        .exec(
          namespace,
          pod,
          container,
          command,
          sink((s) => {
            stdout += s;
          }),
          sink((s) => {
            stderr += s;
          }),
          null,
          false,
          (status: K8s.V1Status) => {
            const code = status.status === "Success" ? 0 : Number(status.details?.causes?.[0]?.message ?? 1);
            settle(() => resolve({ stdout, stderr, exitCode: Number.isFinite(code) ? code : 1 }));
          },
        )
        .then((ws) => {
          // The exit status arrives before the close; a close without it means the connection broke
          // while the command ran.
          ws.on("close", () =>
            settle(() =>
              resolve({
                broken: `the connection closed while running ${running}, before its exit status arrived`,
              }),
            ),
          );
        })
        .catch((err: unknown) => {
          settle(() => resolve({ notStarted: upgradeFailure(err) }));
        });
    });
  }

  /** Waits until the object no longer exists. */
  async waitForDeletion(ref: ObjectRef, timeoutMs: number): Promise<void> {
    await this.waitFor(ref, (o) => o === undefined, { timeoutMs, description: "its deletion to finish" });
  }

  // ------------------------------------------------------------------ internals

  private withNamespace(ref: ObjectRef): ObjectRef {
    return ref.namespace || !isLikelyNamespaced(ref.kind)
      ? ref
      : { ...ref, namespace: this.defaultNamespace };
  }

  private withObjectNamespace(obj: KubeObject): KubeObject {
    const clone = structuredClone(obj);
    if (!clone.metadata.namespace && isLikelyNamespaced(clone.kind))
      clone.metadata.namespace = this.defaultNamespace;
    return clone;
  }

  private async collectionPathFor(ref: ObjectRef): Promise<string> {
    // Discovery (a GET, cached by client-node after the first success).
    return this.request({ verb: "watch", ref, method: "GET" }, () =>
      this.api.collectionPath(ref.apiVersion, ref.kind, ref.namespace),
    );
  }

  /**
   * Sends one logical request through the retry policy (retry.ts) and turns its failure into a
   * KubeApiError saying how many attempts were made. `send` handles the answers that are results
   * (a 404 on get) and checks a 409/404 when `maybeApplied`; every Kube request goes through here.
   */
  private async request<T>(call: Call, send: (ctx: AttemptContext) => Promise<T>): Promise<T> {
    try {
      return await retrying(
        { method: call.method, repeatable: call.repeatable ?? call.method === "GET" },
        send,
        this.retryEnv,
      );
    } catch (err) {
      if (err instanceof RetriesExhausted) {
        throw await this.fail(err.lastError, call.verb, call.ref, call.obj, {
          attempts: err.attempts,
          elapsedMs: err.elapsedMs,
          why: err.why,
          ambiguous: err.ambiguous,
        });
      }
      if (err instanceof KubeOwnershipError || err instanceof KubeWaitTimeoutError) throw err;
      throw await this.fail(err, call.verb, call.ref, call.obj);
    }
  }

  private async fail(
    err: unknown,
    verb: KubeVerb,
    ref: ObjectRef,
    obj?: KubeObject,
    retry?: FailureContext["retry"],
  ): Promise<KubeApiError> {
    let resource: string | undefined;
    let group: string | undefined;
    if (isApiException(err) && err.code === 403) {
      try {
        resource = (await this.api.resourceOf(ref.apiVersion, ref.kind))?.name;
      } catch {
        resource = undefined;
      }
      group = ref.apiVersion.includes("/") ? ref.apiVersion.split("/")[0] : "";
    }
    return toKubeApiError(err, {
      verb,
      ref,
      resource,
      group,
      server: this.server,
      credentialSource: this.credentialSource,
      secrets: secretValuesOf(obj),
      retry,
    });
  }
}

/** Status or error code of a failed WebSocket upgrade (client-node rejects with ws's error event). */
function upgradeFailure(err: unknown): { failure: AttemptFailure; message: string } {
  const e = err as { message?: string; error?: { code?: unknown; message?: string }; code?: unknown };
  const message = e?.error?.message ?? e?.message ?? String(err);
  // ws: "Unexpected server response: 403" when the server answered without upgrading.
  const status = /Unexpected server response: (\d{3})/.exec(message)?.[1];
  if (status) return { failure: { status: Number(status) }, message };
  const code = e?.error?.code ?? e?.code;
  return { failure: typeof code === "string" ? { errorCode: code } : {}, message };
}

/** Whether the live object holds what we wrote, ignoring what the server changes on every write. */
function sameContent(written: KubeObject, live: KubeObject): boolean {
  const strip = (o: KubeObject) => {
    const { resourceVersion: _rv, managedFields: _mf, generation: _g, ...metadata } = o.metadata;
    const { status: _s, ...rest } = o;
    return { ...rest, metadata };
  };
  return sameJson(strip(written), strip(live));
}

interface KubeStatusLike {
  code?: number;
}

// Cluster-scoped kinds we might touch; everything else is namespaced. Only used to fill in the
// context's default namespace, so an unknown cluster-scoped kind still works when given no namespace.
const CLUSTER_SCOPED = new Set([
  "Namespace",
  "ClusterRole",
  "ClusterRoleBinding",
  "Node",
  "PersistentVolume",
]);

function isLikelyNamespaced(kind: string): boolean {
  return !CLUSTER_SCOPED.has(kind);
}

function looksLikeKubeconfigText(s: string): boolean {
  return s.includes("\n") || /^\s*[{]/.test(s) || /^\s*apiVersion\s*:/.test(s);
}

function expandHome(p: string): string {
  return p === "~" || p.startsWith(`~${path.sep}`) || p.startsWith("~/")
    ? path.join(os.homedir(), p.slice(1))
    : p;
}

/**
 * The kubeconfig's authentication, with one keep-alive agent per Kube instead of the fresh agent
 * client-node 1.4 makes for every request (`kubernetes-client/javascript@1.4.0 src/config.ts:231-270`):
 * a fresh agent has its own socket pool, so every request paid a TCP connection and a full TLS
 * handshake (about three round trips instead of one). The agent is built from the first fresh agent's
 * own options (CA, client certificate, server name, verification), which are the same for every
 * request of one kubeconfig; credentials that change per request (tokens, exec plugins) travel in
 * headers, which client-node still sets each time. Proxy agents (`proxy-url`) are left as they come.
 * Idle sockets do not keep the process alive (Node unrefs a kept-alive free socket).
 */
function keepAliveAuthentication(kc: K8s.KubeConfig): K8s.SecurityAuthentication {
  let shared: http.Agent | undefined;
  const proxied = Boolean(kc.getCurrentCluster()?.proxyUrl);
  return {
    getName: () => kc.getName(),
    async applySecurityAuthentication(ctx: K8s.RequestContext) {
      await kc.applySecurityAuthentication(ctx);
      const fresh = ctx.getAgent();
      if (proxied || !fresh) return;
      if (!shared) {
        const options = { ...(fresh as http.Agent & { options: object }).options, keepAlive: true };
        shared = fresh instanceof https.Agent ? new https.Agent(options) : new http.Agent(options);
      }
      ctx.setAgent(shared);
      fresh.destroy();
    },
  };
}

function selectContext(kc: K8s.KubeConfig, context: string | undefined): void {
  if (!context) return;
  if (!kc.getContextObject(context)) {
    const available = kc
      .getContexts()
      .map((c) => c.name)
      .join(", ");
    throw new Error(
      `kubeconfig has no context "${context}" (available: ${available || "none"}); fix kubernetes:context or the resource's kubeContext`,
    );
  }
  kc.setCurrentContext(context);
}

/** The owner recorded on an object: annotation first, then a label of the same key. */
export function ownerOf(obj: KubeObject): string | undefined {
  return obj.metadata.annotations?.[OWNER_ID_KEY] ?? obj.metadata.labels?.[OWNER_ID_KEY];
}

function stampOwner(obj: KubeObject, ownerId: string): KubeObject {
  const current = obj.metadata.annotations?.[OWNER_ID_KEY];
  if (current !== undefined && current !== ownerId) {
    throw new Error(
      `${describeRef(refOf(obj))}: the desired object carries owner "${current}" but is applied for "${ownerId}"; this is a bug in pulumi-tailnet`,
    );
  }
  obj.metadata.annotations = { ...(obj.metadata.annotations ?? {}), [OWNER_ID_KEY]: ownerId };
  return obj;
}

/** The apply configuration: the desired object without server-owned metadata and status. */
function appliedConfigOf(desired: KubeObject): KubeObject {
  const { resourceVersion: _rv, uid: _uid, generateName: _g, ...metadata } = desired.metadata;
  const config: KubeObject = { ...desired, metadata };
  delete config["status"];
  return config;
}

/**
 * The object as we apply it: a Secret's `stringData` moved into `data` (base64), since the server
 * merges stringData into data on write and never returns it; applied as data, the keys are ours in
 * managedFields and a key we stop planning is removed.
 */
function appliedForm(obj: KubeObject): KubeObject {
  if (obj.kind !== "Secret" || obj.apiVersion !== "v1" || obj["stringData"] === undefined) return obj;
  const { stringData, ...rest } = obj as KubeObject & { stringData?: Record<string, string> };
  const data: Record<string, string> = { ...((obj["data"] as Record<string, string> | undefined) ?? {}) };
  for (const [k, v] of Object.entries(stringData ?? {})) data[k] = Buffer.from(v, "utf8").toString("base64");
  return { ...rest, data };
}

/**
 * Fields our last server-side apply owns (the live object's managedFields entry of our manager with
 * operation Apply) that `desired` no longer sets, as `.path` strings. With no such entry (an object
 * created by create, or adopted, never applied by us) every field counts as possibly unplanned: the
 * result is `["(no apply recorded)"]`, so the next apply takes ownership. FieldsV1 (`f:` field, `k:`
 * list-map element by its keys, `v:` set member, `.` the node itself) is the format of
 * kubernetes-sigs/structured-merge-diff@15d075473efece0367330fd20a7cc2aad2eeb998 fieldpath/serialize.go.
 */
export function appliedButNotPlanned(live: KubeObject, desired: KubeObject): string[] {
  const entries = (live.metadata.managedFields ?? []) as {
    manager?: string;
    operation?: string;
    subresource?: string;
    fieldsV1?: Record<string, unknown>;
  }[];
  const ours = entries.find((e) => e.manager === FIELD_MANAGER && e.operation === "Apply" && !e.subresource);
  if (!ours) return ["(no apply recorded)"];
  const out: string[] = [];
  walkOwned(ours.fieldsV1 ?? {}, desired, "", out);
  return out;
}

function walkOwned(fields: Record<string, unknown>, desired: unknown, at: string, out: string[]): void {
  for (const [key, sub] of Object.entries(fields)) {
    if (key === ".") continue;
    const children = (sub ?? {}) as Record<string, unknown>;
    const tag = key.slice(0, 2);
    const rest = key.slice(2);
    if (tag === "f:") {
      const present =
        typeof desired === "object" && desired !== null && !Array.isArray(desired) && rest in desired;
      const value = present ? (desired as Record<string, unknown>)[rest] : undefined;
      if (!present || value === null) out.push(`${at}.${rest}`);
      else walkOwned(children, value, `${at}.${rest}`, out);
    } else if (tag === "k:" || tag === "v:") {
      const wanted = JSON.parse(rest) as unknown;
      const list = Array.isArray(desired) ? desired : [];
      const el =
        tag === "v:"
          ? list.find((e) => sameJson(e, wanted))
          : list.find((e) => matchesKeys(e, wanted as Record<string, unknown>));
      if (el === undefined) out.push(`${at}[${rest}]`);
      else if (tag === "k:") walkOwned(children, el, `${at}[${rest}]`, out);
    }
    // `i:` (a list element by index) is not produced for the kinds we write: lists are atomic or maps.
  }
}

/** Whether a list element has the key values of a `k:` entry; a key we left out is the server's default. */
function matchesKeys(el: unknown, keys: Record<string, unknown>): boolean {
  if (typeof el !== "object" || el === null) return false;
  return Object.entries(keys).every(([k, v]) => {
    const mine = (el as Record<string, unknown>)[k];
    return mine === undefined || sameJson(mine, v);
  });
}

function secretValuesOf(obj: KubeObject | undefined): string[] {
  if (obj?.kind !== "Secret") return [];
  const out: string[] = [];
  for (const [field, decode] of [
    ["data", true],
    ["stringData", false],
  ] as const) {
    const map = obj[field] as Record<string, string> | undefined;
    for (const v of Object.values(map ?? {})) {
      if (typeof v !== "string") continue;
      out.push(v);
      if (decode) out.push(Buffer.from(v, "base64").toString("utf8"));
    }
  }
  return out;
}

function summarize(obj: KubeObject | undefined | typeof NOT_SET): string {
  if (obj === NOT_SET) return "nothing (the object could not be read yet)";
  if (obj === undefined) return "the object does not exist";
  const parts = [`resourceVersion ${obj.metadata.resourceVersion ?? "?"}`];
  if (obj.metadata.generation !== undefined) parts.push(`generation ${obj.metadata.generation}`);
  if (obj.metadata.deletionTimestamp) parts.push(`being deleted since ${obj.metadata.deletionTimestamp}`);
  // Data of Secrets and ConfigMaps may be sensitive: show key names only.
  for (const field of ["data", "stringData"]) {
    const map = obj[field];
    if (map && typeof map === "object") parts.push(`${field} keys [${Object.keys(map).join(", ")}]`);
  }
  if (obj["status"] !== undefined) {
    const status = JSON.stringify(obj["status"]);
    parts.push(`status ${status.length > 400 ? `${status.slice(0, 400)}…` : status}`);
  }
  return parts.join(", ");
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === "object") {
    return Object.fromEntries(
      Object.keys(v as object)
        .sort()
        .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
