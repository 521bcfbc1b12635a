/**
 * HTTP routing in the kube-apiserver's filter order: authentication (401), seeded faults, impersonation,
 * authorization (403), then the handlers: discovery, OpenAPI, the review resources, and the resource
 * verbs with list and watch. Bodies over 3 MiB get 413 (`kubernetes/apiserver@v0.36.3
 * pkg/server/config.go:474`, `pkg/endpoints/handlers/rest.go:372-386`); Content-Type and Accept are
 * negotiated as negotiation.ts says.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { type Authenticator, impersonate } from "./auth";
import { JUST_ESTABLISHED_MS } from "./crd";
import {
  AGGREGATED_DISCOVERY,
  aggregatedDiscovery,
  apiGroup,
  apiGroupList,
  apiResourceList,
  apiVersions,
  servesGroupVersion,
  versionInfo,
  wantsAggregated,
} from "./discovery";
import {
  badRequest,
  expired,
  type FieldError,
  generic,
  invalid,
  methodNotSupported,
  type StatusBody,
  StatusError,
  unauthorized,
} from "./errors";
import { type FaultAction, type FaultInjector, type FaultKind, TOO_MANY_REQUESTS_TEXT } from "./faults";
import {
  bodyEncoding,
  duplicateFields,
  encode,
  negotiateOutput,
  type OutputChoice,
  parseYaml,
} from "./negotiation";
import type { OpenApi } from "./openapi";
import { clone } from "./patch";
import { decodeReviewProtobuf } from "./protobuf";
import { type Attributes, type Authorizer, requestAttributes, type UserInfo } from "./rbac";
import { type DeleteOptions, type Registry, stripTypeMeta, type WriteOptions } from "./registry";
import { apiVersionOf, type ResourceType } from "./resources";
import { answerReview, type ReviewResource, reviewResource } from "./reviews";
import { matchFields, matchRequirements, parseFieldSelector, parseLabelSelector } from "./selectors";
import { toTable } from "./tables";

/** One logged request. */
export interface KubeRequestRecord {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType?: string;
  status: number;
  class: "read" | "write" | "watch";
  /** The authenticated identity that sent the request (as an audit log records it); undefined if none. */
  user?: string;
  /** The user it acted as through impersonation headers, if any. */
  impersonatedUser?: string;
  /** The seeded fault injected into this request, if any (see faults.ts). */
  fault?: FaultKind;
  /**
   * The TLS connection the request came on (numbered in the order the server accepted them), so tests and the
   * bench can count connections, and with them full handshakes, per identity.
   */
  connection?: number;
  /** Bytes of the request body as received (0 for none), so the bench can weigh the traffic to an object. */
  requestBytes?: number;
  /** Bytes of the response body as sent (a watch's events included), headers excluded. */
  responseBytes?: number;
  /** The request's authorization attributes, as RBAC saw them (requestinfo.go), and whether they were allowed. */
  authz?: {
    verb: string;
    apiGroup: string;
    resource: string;
    subresource: string;
    namespace: string;
    name: string;
    path: string;
    allowed: boolean;
  };
  /** Audit annotations admission added (Pod Security's `pod-security.kubernetes.io/*`), as the audit log has them. */
  audit?: Record<string, string>;
  /** `pods/exec`: whether the synthetic `create` check (1.35+) allowed the upgrade. */
  execCreateAllowed?: boolean;
  /** For a server-side apply of an object that did not exist: whether its second check, `create`, allowed it. */
  applyCreateAllowed?: boolean;
  /** `pods/exec`: the WebSocket subprotocol negotiated. */
  subprotocol?: string;
  /** `pods/exec` over v5: the streams the client half-closed with the close signal. */
  closedStreams?: number[];
}

/** A queued fault. */
export interface Fault {
  method?: string;
  path: RegExp | string;
  status: number;
  times?: number;
  retryAfterSeconds?: number;
  message?: string;
}

/** Mutable server settings the HTTP layer reads on each request. */
export interface HttpState {
  authn: Authenticator;
  authz: Authorizer;
  latencyMs: number;
  faults: Fault[];
  /** Seeded faults (see faults.ts). */
  injector: FaultInjector;
  requests: KubeRequestRecord[];
  hostPort: string;
  bookmarkIntervalMs: number;
  openWatches: Set<ServerResponse>;
  openapi: OpenApi;
  /** TokenRequest for a ServiceAccount (`create serviceaccounts/token`). */
  issueToken(namespace: string, name: string, body: any): any;
}

/** What the request log keeps of authorization attributes. */
export function authzRecord(a: Attributes, allowed: boolean): NonNullable<KubeRequestRecord["authz"]> {
  return {
    verb: a.verb,
    apiGroup: a.apiGroup,
    resource: a.resource,
    subresource: a.subresource,
    namespace: a.namespace,
    name: a.name,
    path: a.resourceRequest ? "" : a.path,
    allowed,
  };
}

/** The limit on request bodies (MaxRequestBodyBytes). */
export const MAX_REQUEST_BODY_BYTES = 3 * 1024 * 1024;

interface Route {
  type: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
  legacyWatch: boolean;
}

function send(
  res: ServerResponse,
  code: number,
  body: unknown,
  headers: Record<string, string | string[]> = {},
  choice?: OutputChoice,
): void {
  const text = choice ? encode(body, choice) : JSON.stringify(body);
  res.writeHead(code, {
    "Content-Type": choice?.contentType ?? "application/json",
    "Cache-Control": "no-cache, private",
    ...headers,
  });
  res.end(text);
}

function sendStatus(res: ServerResponse, err: StatusError): void {
  send(res, err.code, err.status, err.headers);
}

/**
 * 429 exactly as API Priority and Fairness writes it, plain text through `http.Error` with `Retry-After`
 * (`kubernetes/apiserver@v0.36.3 pkg/server/filters/priority-and-fairness.go:377-381`).
 */
function tooManyRequests(res: ServerResponse, retryAfterSeconds: number): void {
  res.writeHead(429, {
    "Content-Type": "text/plain; charset=utf-8",
    "X-Content-Type-Options": "nosniff",
    "Retry-After": String(retryAfterSeconds),
  });
  res.end(TOO_MANY_REQUESTS_TEXT);
}

/**
 * `reset-after`: the request is served (a write is stored) but its answer never leaves; the socket is
 * destroyed instead, as when a connection drops after the server acted.
 */
function swallowAnswer(req: IncomingMessage, res: ServerResponse): void {
  res.writeHead = (() => res) as unknown as ServerResponse["writeHead"];
  res.end = (() => {
    req.socket.destroy();
    return res;
  }) as unknown as ServerResponse["end"];
}

function notFoundText(res: ServerResponse): void {
  res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff" });
  res.end("404 page not found\n");
}

const resourceNotFound: StatusBody = {
  kind: "Status",
  apiVersion: "v1",
  metadata: {},
  status: "Failure",
  message: "the server could not find the requested resource",
  reason: "NotFound",
  details: {},
  code: 404,
};

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/**
 * A review's body: JSON or YAML, or protobuf, which kubectl uses for them (protobuf.ts; the only
 * protobuf this server decodes).
 */
function parseReviewBody(body: Buffer, req: IncomingMessage): unknown {
  const mt = String(req.headers["content-type"] ?? "")
    .split(";")[0]!
    .trim()
    .toLowerCase();
  if (mt !== "application/vnd.kubernetes.protobuf") return parseBody(body.toString("utf8"), req);
  let decoded: ReturnType<typeof decodeReviewProtobuf>;
  try {
    decoded = decodeReviewProtobuf(body);
  } catch (e) {
    throw badRequest(`error decoding protobuf body: ${(e as Error).message}`);
  }
  if (!decoded)
    throw badRequest(
      "provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]",
    );
  return decoded.value ?? {};
}

/** Decodes a create or update body by its Content-Type (JSON or YAML; 415 otherwise). */
function parseBody(text: string, req: IncomingMessage): unknown {
  return bodyEncoding(req.headers["content-type"]) === "yaml" ? parseYaml(text) : parseJson(text);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw badRequest(`couldn't get version/kind; json parse error: ${(e as Error).message}`);
  }
}

/** A review resource's path. */
interface ReviewRoute {
  review: ReviewResource;
}

/** Splits a path into a route, or a discovery/unknown marker. */
function route(registry: Registry, segs: string[]): Route | ReviewRoute | "notfound-status" | undefined {
  let group: string;
  let version: string;
  let rest: string[];
  if (segs[0] === "api" && segs.length >= 2) {
    group = "";
    version = segs[1]!;
    rest = segs.slice(2);
  } else if (segs[0] === "apis" && segs.length >= 3) {
    group = segs[1]!;
    version = segs[2]!;
    rest = segs.slice(3);
  } else return undefined;
  if (!servesGroupVersion(registry.servedTypes(), group, version) || rest.length === 0) return undefined;
  const review = rest.length === 1 ? reviewResource(group, version, rest[0]!) : undefined;
  if (review) return { review };
  let legacyWatch = false;
  if (rest[0] === "watch") {
    legacyWatch = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  if (rest[0] === "namespaces" && rest.length >= 3 && registry.typeFor(group, version, rest[2]!)) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const type = registry.typeFor(group, version, rest[0] ?? "");
  if (!type || rest.length > 3) return "notfound-status";
  if (namespace !== undefined && !type.namespaced) return "notfound-status";
  const sub = rest[2];
  if (sub !== undefined && !(sub in type.subresources)) return "notfound-status";
  return { type, namespace, name: rest[1], subresource: sub, legacyWatch };
}

function isWatch(query: Record<string, string>): boolean {
  return query.watch === "true" || query.watch === "1";
}

function classify(
  method: string,
  query: Record<string, string>,
  r: Route | undefined,
): KubeRequestRecord["class"] {
  if (method === "GET" && r && (r.legacyWatch || isWatch(query))) return "watch";
  return method === "GET" || method === "HEAD" ? "read" : "write";
}

/** Each request's audit annotations, copied to its log entry when it finishes (only when there are any). */
const auditAnnotations = new WeakMap<IncomingMessage, Record<string, string>>();

function auditOf(req: IncomingMessage): Record<string, string> {
  let a = auditAnnotations.get(req);
  if (!a) {
    a = {};
    auditAnnotations.set(req, a);
  }
  return a;
}

function writeOptions(
  query: Record<string, string>,
  req: IncomingMessage,
  user: UserInfo,
  rawBody?: string,
): WriteOptions {
  if (query.dryRun !== undefined && query.dryRun !== "All") {
    throw badRequest(`Invalid dryRun value: ${query.dryRun}; supported values: "All"`);
  }
  const fv = query.fieldValidation;
  if (fv !== undefined && !["Ignore", "Warn", "Strict"].includes(fv)) {
    throw badRequest(`fieldValidation ${fv} is not a valid value. Must be one of: Ignore, Warn, Strict`);
  }
  const ua = String(req.headers["user-agent"] ?? "");
  // The strict JSON decoder reports duplicate keys as it reports unknown fields (sigs.k8s.io/json).
  const mt = String(req.headers["content-type"] ?? "")
    .split(";")[0]!
    .trim()
    .toLowerCase();
  const jsonBody =
    rawBody !== undefined &&
    fv !== "Ignore" &&
    [
      "",
      "application/json",
      "application/merge-patch+json",
      "application/strategic-merge-patch+json",
    ].includes(mt);
  return {
    dryRun: query.dryRun === "All",
    fieldManager: query.fieldManager,
    fieldValidation: fv as WriteOptions["fieldValidation"],
    force: query.force === "true",
    defaultManager: ua.split("/")[0] || "unknown",
    warnings: [],
    user,
    duplicates: jsonBody ? duplicateFields(rawBody) : undefined,
    audit: auditOf(req),
  };
}

function selectorsFor(r: Route, query: Record<string, string>) {
  const labels = parseLabelSelector(query.labelSelector);
  const allowed = ["metadata.name", "metadata.namespace", ...(r.type.extraFields ?? [])];
  const fields = parseFieldSelector(query.fieldSelector, r.type.kind, allowed);
  return (obj: any) => !!obj && matchRequirements(labels, obj.metadata?.labels) && matchFields(fields, obj);
}

/** 413 RequestEntityTooLarge (apierrors.NewRequestEntityTooLargeError). */
function tooLarge(): StatusError {
  return new StatusError({
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message: `Request entity too large: limit is ${MAX_REQUEST_BODY_BYTES}`,
    reason: "RequestEntityTooLarge",
    code: 413,
  });
}

/**
 * ValidateListOptions for lists (`kubernetes/apimachinery@v0.36.3
 * pkg/apis/meta/internalversion/validation/validation.go:30-48`), answered as 422 on `ListOptions`.
 */
function validateListOptions(query: Record<string, string>): void {
  const match = query.resourceVersionMatch;
  if (!match) return;
  const errs: FieldError[] = [];
  const forbidden = (detail: string): FieldError => ({
    type: "FieldValueForbidden",
    field: "resourceVersionMatch",
    body: `Forbidden: ${detail}`,
  });
  if (!query.resourceVersion)
    errs.push(forbidden("resourceVersionMatch is forbidden unless resourceVersion is provided"));
  if (query.continue) errs.push(forbidden("resourceVersionMatch is forbidden when continue is provided"));
  if (match !== "Exact" && match !== "NotOlderThan") {
    errs.push({
      type: "FieldValueNotSupported",
      field: "resourceVersionMatch",
      body: `Unsupported value: ${JSON.stringify(match)}: supported values: "Exact", "NotOlderThan", ""`,
    });
  }
  if (match === "Exact" && query.resourceVersion === "0") {
    errs.push(forbidden('resourceVersionMatch "exact" is forbidden for resourceVersion "0"'));
  }
  if (errs.length > 0) throw invalid({ group: "meta.k8s.io", kind: "ListOptions" }, "", errs);
}

/** Adds the body bytes `res` sends to `record.responseBytes`, whichever path answers. */
function countResponseBytes(res: ServerResponse, record: KubeRequestRecord): void {
  record.responseBytes = 0;
  const size = (chunk: unknown) =>
    typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk instanceof Uint8Array ? chunk.byteLength : 0;
  const write = res.write;
  const end = res.end;
  res.write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
    record.responseBytes = (record.responseBytes ?? 0) + size(chunk);
    return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as ServerResponse["write"];
  res.end = function (this: ServerResponse, chunk?: unknown, ...rest: unknown[]) {
    if (typeof chunk !== "function") record.responseBytes = (record.responseBytes ?? 0) + size(chunk);
    return (end as (...a: unknown[]) => ServerResponse).call(this, chunk, ...rest);
  } as ServerResponse["end"];
}

/** Number of each accepted TLS connection; see {@link KubeRequestRecord.connection}. */
export const connectionIds = new WeakMap<object, number>();

/** The request handler. */
export function createHandler(registry: Registry, state: HttpState) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "https://localhost");
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) query[k] = v;
    const method = (req.method ?? "GET").toUpperCase();
    const segs = url.pathname.split("/").filter(Boolean);
    const routed = route(registry, segs);
    const r = typeof routed === "object" && "type" in routed ? routed : undefined;
    const user = state.authn.authenticate(req);
    const record: KubeRequestRecord = {
      method,
      path: url.pathname,
      query,
      contentType: req.headers["content-type"],
      status: 0,
      class: classify(method, query, r),
      user: user?.name,
      connection: connectionIds.get(req.socket),
    };
    state.requests.push(record);
    countResponseBytes(res, record);
    res.on("finish", () => {
      const audit = auditAnnotations.get(req);
      if (audit && Object.keys(audit).length > 0) record.audit = audit;
      record.status = res.statusCode;
    });
    try {
      const body = await readBody(req);
      record.requestBytes = body.length;
      if (state.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, state.latencyMs));
      if (user === undefined) throw unauthorized();
      const fault = state.faults.find(
        (f) =>
          (!f.method || f.method.toUpperCase() === method) &&
          (typeof f.path === "string"
            ? url.pathname === f.path || url.pathname.startsWith(f.path)
            : f.path.test(url.pathname)),
      );
      if (fault) {
        fault.times = (fault.times ?? 1) - 1;
        if (fault.times <= 0) state.faults.splice(state.faults.indexOf(fault), 1);
        throw generic(fault.status, fault.message, fault.retryAfterSeconds);
      }
      const injected = state.injector.draw({
        method,
        path: url.pathname,
        user: record.user,
        watch: record.class === "watch",
      });
      let watchFault: FaultAction | undefined;
      if (injected) {
        record.fault = injected.kind;
        switch (injected.kind) {
          case "slow":
            await new Promise((resolve) => setTimeout(resolve, injected.delayMs));
            break;
          case "429":
            return tooManyRequests(res, injected.retryAfterSeconds);
          case "5xx":
            throw generic(injected.status, undefined, injected.retryAfterSeconds);
          case "reset-before":
            req.socket.destroy();
            return;
          case "reset-after":
            if (record.class === "watch") watchFault = injected;
            else swallowAnswer(req, res);
            break;
          default:
            watchFault = injected;
        }
      }
      const acting = impersonate(req, user, state.authz);
      if (acting instanceof StatusError) throw acting;
      if (acting !== user) record.impersonatedUser = acting.name;
      const attrs = requestAttributes(acting, method, url.pathname, url.searchParams);
      const decision = state.authz.authorize(attrs);
      record.authz = authzRecord(attrs, decision.allowed);
      if (!decision.allowed) throw state.authz.forbidden(attrs, decision.reason);
      const applying = /^application\/apply-patch\+yaml/i.test(String(req.headers["content-type"] ?? ""));
      if (method === "PATCH" && applying && r && !r.subresource && r.name) {
        const ns = r.type.namespaced ? r.namespace : undefined;
        if (!registry.store.entry(r.type, ns, r.name)) {
          // An apply that creates is authorized as a create too
          // (https://kubernetes.io/docs/reference/using-api/api-concepts/#patch-and-apply).
          const createAttrs = { ...attrs, verb: "create" };
          const created = state.authz.authorize(createAttrs);
          record.applyCreateAllowed = created.allowed;
          if (!created.allowed) throw state.authz.forbidden(createAttrs, created.reason);
        }
      }
      if (body.length > MAX_REQUEST_BODY_BYTES) throw tooLarge();
      const bodyText = body.toString("utf8");
      if (routed && typeof routed === "object" && "review" in routed) {
        if (method !== "POST")
          throw methodNotSupported(
            { group: routed.review.group, resource: routed.review.plural },
            attrs.verb,
          );
        const out = answerReview(routed.review, parseReviewBody(body, req), acting, state.authz);
        if (out instanceof StatusError) throw out;
        return send(res, 201, out);
      }
      if (!r) {
        if (routed === "notfound-status") return send(res, 404, resourceNotFound);
        return await discovery(segs, method, req, res, state, registry.servedTypes());
      }
      await serveResource(registry, state, r, method, query, bodyText, req, res, acting, watchFault);
    } catch (e) {
      record.status = e instanceof StatusError ? e.code : 500;
      if (e instanceof StatusError) return sendStatus(res, e);
      send(res, 500, {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message: `Internal error occurred: ${(e as Error).message}`,
        reason: "InternalError",
        code: 500,
      });
    } finally {
      if (res.headersSent) record.status = res.statusCode;
    }
  };
}

async function discovery(
  segs: string[],
  method: string,
  req: IncomingMessage,
  res: ServerResponse,
  state: HttpState,
  types: readonly ResourceType[],
): Promise<void> {
  const p = `/${segs.join("/")}`;
  if (method !== "GET") return notFoundText(res);
  if (p === "/version") return send(res, 200, versionInfo());
  if (p === "/healthz" || p === "/livez" || p === "/readyz") {
    res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8" });
    res.end("ok");
    return;
  }
  const accept = req.headers.accept;
  if ((p === "/api" || p === "/apis") && wantsAggregated(accept)) {
    return send(
      res,
      200,
      aggregatedDiscovery(types, p === "/api"),
      { Vary: "Accept" },
      {
        encoding: "json",
        contentType: AGGREGATED_DISCOVERY,
      },
    );
  }
  if (p === "/api") return send(res, 200, apiVersions(state.hostPort));
  if (p === "/apis") return send(res, 200, apiGroupList(types));
  if (segs[0] === "api" && segs.length === 2) {
    const l = apiResourceList(types, "", segs[1]!);
    return l ? send(res, 200, l) : notFoundText(res);
  }
  if (segs[0] === "apis" && segs.length === 2) {
    const g = apiGroup(types, segs[1]!);
    return g ? send(res, 200, g) : notFoundText(res);
  }
  if (segs[0] === "apis" && segs.length === 3) {
    const l = apiResourceList(types, segs[1]!, segs[2]!);
    return l ? send(res, 200, l) : notFoundText(res);
  }
  if (segs[0] === "openapi") {
    const doc = await state.openapi.serve(
      p,
      new URL(req.url ?? "/", "https://localhost").searchParams,
      accept,
    );
    if (doc === undefined) return notFoundText(res);
    if (doc instanceof StatusError) return sendStatus(res, doc);
    res.writeHead(doc.status ?? 200, {
      "Content-Type": doc.contentType,
      "Cache-Control": doc.cacheControl,
      ...doc.headers,
    });
    res.end(doc.body);
    return;
  }
  return notFoundText(res);
}

function deleteOptions(query: Record<string, string>, bodyText: string): DeleteOptions {
  const body: any = bodyText.trim() ? parseJson(bodyText) : {};
  let policy = query.propagationPolicy ?? body.propagationPolicy;
  const orphan = query.orphanDependents ?? body.orphanDependents;
  if (!policy && orphan !== undefined) policy = String(orphan) === "true" ? "Orphan" : "Background";
  if (policy !== undefined && !["Background", "Foreground", "Orphan"].includes(policy)) {
    throw badRequest(
      `propagationPolicy: Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan"`,
    );
  }
  const grace = query.gracePeriodSeconds ?? body.gracePeriodSeconds;
  const dry = query.dryRun ?? (Array.isArray(body.dryRun) ? body.dryRun[0] : undefined);
  return {
    dryRun: dry === "All",
    propagationPolicy: policy as DeleteOptions["propagationPolicy"],
    preconditions: body.preconditions,
    gracePeriodSeconds: grace === undefined ? undefined : Number(grace),
  };
}

function listBody(r: Route, registry: Registry, query: Record<string, string>): any {
  const matches = selectorsFor(r, query);
  const items = registry.store
    .entriesOf(r.type, r.namespace)
    .map((e) => e.obj)
    .filter(matches);
  const rv = String(registry.store.currentRV());
  const limit = query.limit ? Number(query.limit) : 0;
  let start = 0;
  if (query.continue) {
    try {
      start = JSON.parse(Buffer.from(query.continue, "base64").toString("utf8")).start;
    } catch {
      throw badRequest(
        "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
      );
    }
  }
  const page = limit > 0 ? items.slice(start, start + limit) : items.slice(start);
  const metadata: Record<string, unknown> = { resourceVersion: rv };
  if (limit > 0 && start + limit < items.length) {
    metadata.continue = Buffer.from(JSON.stringify({ start: start + limit, rv })).toString("base64");
    metadata.remainingItemCount = items.length - start - limit;
  }
  return {
    kind: `${r.type.kind}List`,
    apiVersion: apiVersionOf(r.type),
    metadata,
    items: page.map((o) => stripTypeMeta(clone(o))),
  };
}

function scaleOf(sts: any): any {
  const sel = Object.entries<string>(sts.spec?.selector?.matchLabels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  const m = sts.metadata;
  return {
    kind: "Scale",
    apiVersion: "autoscaling/v1",
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      creationTimestamp: m.creationTimestamp,
    },
    spec: { replicas: sts.spec?.replicas ?? 0 },
    status: { replicas: sts.status?.replicas ?? 0, selector: sel },
  };
}

async function serveResource(
  registry: Registry,
  state: HttpState,
  r: Route,
  method: string,
  query: Record<string, string>,
  bodyText: string,
  req: IncomingMessage,
  res: ServerResponse,
  user: UserInfo,
  watchFault?: FaultAction,
): Promise<void> {
  const t = r.type;
  const ns = t.namespaced ? r.namespace : undefined;
  const grr = { group: t.group, resource: t.plural };
  const withWarnings = (opts: WriteOptions): Record<string, string[]> =>
    opts.warnings && opts.warnings.length > 0
      ? { Warning: opts.warnings.map((w) => `299 - ${JSON.stringify(w)}`) }
      : {};
  if (r.legacyWatch || (method === "GET" && isWatch(query))) {
    if (method !== "GET") throw methodNotSupported(grr, method.toLowerCase());
    negotiateOutput(req.headers.accept, ["Table", "PartialObjectMetadata"]);
    const q = { ...query };
    if (r.name) q.fieldSelector = [q.fieldSelector, `metadata.name=${r.name}`].filter(Boolean).join(",");
    return watch(registry, state, { ...r, name: undefined }, q, req, res, watchFault);
  }
  if (!r.name) {
    switch (method) {
      case "GET": {
        const choice = negotiateOutput(req.headers.accept, ["Table", "PartialObjectMetadataList"]);
        validateListOptions(query);
        const list = listBody(r, registry, query);
        if (choice.as === "Table") {
          const table = toTable(t, list.items, list.metadata, tableVersion(choice), query.includeObject);
          return send(res, 200, table, {}, choice);
        }
        if (choice.as === "PartialObjectMetadataList") {
          return send(res, 200, partialList(list, choice), {}, choice);
        }
        return send(res, 200, list, {}, choice);
      }
      case "POST": {
        if (t.namespaced && ns === undefined) throw methodNotSupported(grr, "create");
        const choice = negotiateOutput(req.headers.accept);
        // A create right after the CRD became established waits, so that every apiserver of an HA
        // control plane serves the type by then (kubernetes/apiextensions-apiserver@1aa2717a
        // pkg/apiserver/customresource_handler.go serveResource).
        const wait = t.custom ? t.custom.establishedAt + JUST_ESTABLISHED_MS - Date.now() : 0;
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        const opts = writeOptions(query, req, user, bodyText);
        const out = registry.create(t, ns, parseBody(bodyText, req), opts);
        return send(res, out.code, out.body, withWarnings(opts), choice);
      }
      case "DELETE": {
        if (!t.verbs.includes("deletecollection")) throw methodNotSupported(grr, "deletecollection");
        const opts = deleteOptions(query, bodyText);
        const items = registry.store
          .entriesOf(t, ns)
          .map((e) => e.obj)
          .filter(selectorsFor(r, query));
        const out = registry.deleteCollection(t, ns, clone(items), opts);
        return send(res, out.code, out.body);
      }
      default:
        throw methodNotSupported(grr, method.toLowerCase());
    }
  }
  const name = r.name;
  if (r.subresource === "scale")
    return serveScale(registry, t, ns, name, method, query, bodyText, req, res, user);
  if (r.subresource === "token") {
    if (method !== "POST")
      throw methodNotSupported({ group: "", resource: "serviceaccounts/token" }, method.toLowerCase());
    registry.get(t, ns, name);
    return send(res, 201, state.issueToken(ns ?? "", name, parseBody(bodyText, req)));
  }
  if (r.subresource === "finalize") {
    if (method !== "PUT") throw methodNotSupported(grr, method.toLowerCase());
    const opts = writeOptions(query, req, user);
    const body: any = parseBody(bodyText, req);
    const cur = registry.get(t, ns, name);
    cur.spec = { ...(cur.spec ?? {}), finalizers: body?.spec?.finalizers ?? [] };
    registry.store.put(t, cur);
    return send(res, 200, registry.get(t, ns, name), withWarnings(opts));
  }
  switch (method) {
    case "GET": {
      const choice = negotiateOutput(req.headers.accept, ["Table", "PartialObjectMetadata"]);
      const obj = registry.get(t, ns, name);
      if (choice.as === "Table") {
        const table = toTable(
          t,
          [obj],
          { resourceVersion: obj.metadata.resourceVersion },
          tableVersion(choice),
          query.includeObject,
        );
        return send(res, 200, table, {}, choice);
      }
      if (choice.as === "PartialObjectMetadata") {
        return send(
          res,
          200,
          {
            kind: "PartialObjectMetadata",
            apiVersion: `meta.k8s.io/${tableVersion(choice)}`,
            metadata: obj.metadata,
          },
          {},
          choice,
        );
      }
      return send(res, 200, obj, {}, choice);
    }
    case "PUT": {
      const choice = negotiateOutput(req.headers.accept);
      const opts = writeOptions(query, req, user, bodyText);
      const out = registry.update(t, ns, name, parseBody(bodyText, req), opts, r.subresource);
      return send(res, out.code, out.body, withWarnings(opts), choice);
    }
    case "PATCH": {
      const choice = negotiateOutput(req.headers.accept);
      const opts = writeOptions(query, req, user, bodyText);
      const out = registry.patch(
        t,
        ns,
        name,
        bodyText,
        String(req.headers["content-type"] ?? ""),
        opts,
        r.subresource,
      );
      return send(res, out.code, out.body, withWarnings(opts), choice);
    }
    case "DELETE": {
      if (r.subresource) throw methodNotSupported(grr, "delete");
      const out = registry.delete(t, ns, name, deleteOptions(query, bodyText));
      return send(res, out.code, out.body);
    }
    default:
      throw methodNotSupported(grr, method.toLowerCase());
  }
}

function tableVersion(choice: OutputChoice): string {
  return /;v=(v1beta1|v1)/.exec(choice.contentType)?.[1] ?? "v1";
}

function partialList(list: any, choice: OutputChoice): any {
  return {
    kind: "PartialObjectMetadataList",
    apiVersion: `meta.k8s.io/${tableVersion(choice)}`,
    metadata: list.metadata,
    items: list.items.map((o: any) => ({
      kind: "PartialObjectMetadata",
      apiVersion: `meta.k8s.io/${tableVersion(choice)}`,
      metadata: o.metadata,
    })),
  };
}

async function serveScale(
  registry: Registry,
  t: ResourceType,
  ns: string | undefined,
  name: string,
  method: string,
  query: Record<string, string>,
  bodyText: string,
  req: IncomingMessage,
  res: ServerResponse,
  user: UserInfo,
): Promise<void> {
  const sts = registry.get(t, ns, name);
  if (method === "GET") return send(res, 200, scaleOf(sts));
  const opts = writeOptions(query, req, user);
  let replicas: unknown;
  if (method === "PUT") {
    const body: any = parseJson(bodyText);
    if (body?.metadata?.resourceVersion && body.metadata.resourceVersion !== sts.metadata.resourceVersion) {
      sts.metadata.resourceVersion = body.metadata.resourceVersion;
    }
    replicas = body?.spec?.replicas;
  } else if (method === "PATCH") {
    const { mergePatch, jsonPatch } = await import("./patch");
    const ct = String(req.headers["content-type"] ?? "");
    const patched: any = ct.includes("json-patch")
      ? jsonPatch(scaleOf(sts), parseJson(bodyText))
      : mergePatch(scaleOf(sts), parseJson(bodyText));
    replicas = patched?.spec?.replicas;
  } else throw methodNotSupported({ group: t.group, resource: `${t.plural}/scale` }, method.toLowerCase());
  sts.spec.replicas = replicas;
  const out = registry.update(t, ns, name, sts, opts);
  return send(res, 200, scaleOf(out.body));
}

function watch(
  registry: Registry,
  state: HttpState,
  r: Route,
  query: Record<string, string>,
  req: IncomingMessage,
  res: ServerResponse,
  fault?: FaultAction,
): void {
  const matches = selectorsFor(r, query);
  const store = registry.store;
  const inScope = (o: any) =>
    !r.type.namespaced || r.namespace === undefined || o?.metadata?.namespace === r.namespace;
  const rvParam = query.resourceVersion;
  const fromRV = rvParam && rvParam !== "0" ? Number(rvParam) : undefined;
  if (rvParam && (fromRV === undefined ? rvParam !== "0" : !Number.isInteger(fromRV))) {
    throw badRequest(`resourceVersion: Invalid value: "${rvParam}": must be a non-negative integer`);
  }
  res.writeHead(200, {
    "Content-Type": "application/json",
    "Cache-Control": "no-cache, private",
    "Transfer-Encoding": "chunked",
  });
  // Clients wait for the response headers before reading events; send them even when no event is due.
  res.flushHeaders();
  const write = (type: string, object: unknown) => {
    if (!res.writableEnded) res.write(`${JSON.stringify({ type, object })}\n`);
  };
  if (fromRV !== undefined && fromRV < store.compactedRV) {
    const err = expired(`too old resource version: ${fromRV} (${store.compactedRV + 1})`);
    write("ERROR", err.status);
    res.end();
    return;
  }
  const bookmark = (annotations?: Record<string, string>) => {
    const metadata: Record<string, unknown> = { resourceVersion: String(store.currentRV()) };
    if (annotations) metadata.annotations = annotations;
    write("BOOKMARK", { kind: r.type.kind, apiVersion: apiVersionOf(r.type), metadata });
  };
  const sendInitial = query.sendInitialEvents === "true" || fromRV === undefined;
  if (sendInitial) {
    for (const e of store.entriesOf(r.type, r.namespace)) if (matches(e.obj)) write("ADDED", e.obj);
    if (query.sendInitialEvents === "true" && query.allowWatchBookmarks === "true") {
      bookmark({ "k8s.io/initial-events-end": "true" });
    }
  } else {
    for (const ev of store.eventsSince(fromRV)) deliver(ev);
  }
  function deliver(ev: { type: string; resource: ResourceType; obj: any; prev?: any }): void {
    if (ev.resource !== r.type || !inScope(ev.obj)) return;
    const now = ev.type !== "DELETED" && matches(ev.obj);
    const before = ev.type !== "ADDED" && matches(ev.prev);
    if (ev.type === "DELETED") {
      if (before) write("DELETED", ev.obj);
    } else if (now && before) write("MODIFIED", ev.obj);
    else if (now) write("ADDED", ev.obj);
    else if (before) write("DELETED", ev.obj);
  }
  const unsubscribe = store.subscribe(deliver);
  const timers: NodeJS.Timeout[] = [];
  if (query.allowWatchBookmarks === "true")
    timers.push(setInterval(() => bookmark(), state.bookmarkIntervalMs));
  const timeout = Number(query.timeoutSeconds ?? 0);
  const finish = () => {
    unsubscribe();
    for (const tm of timers) clearInterval(tm);
    state.openWatches.delete(res);
    if (!res.writableEnded) res.end();
  };
  if (timeout > 0) timers.push(setTimeout(finish, timeout * 1000));
  state.openWatches.add(res);
  req.on("close", finish);
  res.on("close", finish);
  if (fault?.kind === "watch-close") timers.push(setTimeout(finish, fault.afterMs));
  else if (fault?.kind === "reset-after") setImmediate(() => req.socket.destroy());
  else if (fault?.kind === "watch-error") {
    // What a real server sends when the watch cache no longer holds the version: an ERROR event with
    // a 410 Expired Status, then the end of the stream.
    const rv = store.currentRV();
    write("ERROR", expired(`too old resource version: ${query.resourceVersion ?? rv} (${rv + 1})`).status);
    finish();
  }
}
