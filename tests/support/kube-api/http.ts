/** HTTP routing: authentication, faults, discovery, resource verbs, list and watch. */
import type { IncomingMessage, ServerResponse } from "node:http";
import { apiGroup, apiGroupList, apiResourceList, apiVersions, versionInfo } from "./discovery";
import {
  badRequest,
  expired,
  generic,
  methodNotSupported,
  type StatusBody,
  StatusError,
  unauthorized,
} from "./errors";
import { type FaultAction, type FaultInjector, type FaultKind, TOO_MANY_REQUESTS_TEXT } from "./faults";
import { clone } from "./patch";
import { type DeleteOptions, type Registry, stripTypeMeta, type WriteOptions } from "./registry";
import { apiVersionOf, type ResourceType } from "./resources";
import { matchFields, matchRequirements, parseFieldSelector, parseLabelSelector } from "./selectors";

/** One logged request. */
export interface KubeRequestRecord {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType?: string;
  status: number;
  class: "read" | "write" | "watch";
  /** The identity whose bearer token sent the request (as an audit log records it); undefined if none matched. */
  user?: string;
  /** The seeded fault injected into this request, if any (see faults.ts). */
  fault?: FaultKind;
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
  token: string;
  /** Bearer token -> user name. The default token belongs to user `admin`. */
  users: Map<string, string>;
  latencyMs: number;
  faults: Fault[];
  /** Seeded faults (see faults.ts). */
  injector: FaultInjector;
  requests: KubeRequestRecord[];
  hostPort: string;
  bookmarkIntervalMs: number;
  openWatches: Set<ServerResponse>;
}

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
): void {
  const text = JSON.stringify(body);
  res.writeHead(code, {
    "Content-Type": "application/json",
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

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw badRequest(`couldn't get version/kind; json parse error: ${(e as Error).message}`);
  }
}

/** Splits a path into a route, or a discovery/unknown marker. */
function route(registry: Registry, segs: string[]): Route | "notfound-status" | undefined {
  let group: string;
  let version: string;
  let rest: string[];
  if (segs[0] === "api" && segs.length >= 2) {
    group = "";
    version = segs[1];
    rest = segs.slice(2);
  } else if (segs[0] === "apis" && segs.length >= 3) {
    group = segs[1];
    version = segs[2];
    rest = segs.slice(3);
  } else return undefined;
  if (!apiResourceList(group, version) || rest.length === 0) return undefined;
  let legacyWatch = false;
  if (rest[0] === "watch") {
    legacyWatch = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  if (rest[0] === "namespaces" && rest.length >= 3 && registry.typeFor(group, version, rest[2])) {
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

function classify(
  method: string,
  query: Record<string, string>,
  r: Route | undefined,
): KubeRequestRecord["class"] {
  if (method === "GET" && r && (r.legacyWatch || query.watch === "true" || query.watch === "1"))
    return "watch";
  return method === "GET" || method === "HEAD" ? "read" : "write";
}

function writeOptions(query: Record<string, string>, req: IncomingMessage): WriteOptions {
  if (query.dryRun !== undefined && query.dryRun !== "All") {
    throw badRequest(`Invalid dryRun value: ${query.dryRun}; supported values: "All"`);
  }
  const fv = query.fieldValidation;
  if (fv !== undefined && !["Ignore", "Warn", "Strict"].includes(fv)) {
    throw badRequest(`fieldValidation ${fv} is not a valid value. Must be one of: Ignore, Warn, Strict`);
  }
  const ua = String(req.headers["user-agent"] ?? "");
  return {
    dryRun: query.dryRun === "All",
    fieldManager: query.fieldManager,
    fieldValidation: fv as WriteOptions["fieldValidation"],
    force: query.force === "true",
    defaultManager: ua.split("/")[0] || "unknown",
    warnings: [],
  };
}

function selectorsFor(r: Route, query: Record<string, string>) {
  const labels = parseLabelSelector(query.labelSelector);
  const allowed = ["metadata.name", "metadata.namespace", ...(r.type.extraFields ?? [])];
  const fields = parseFieldSelector(query.fieldSelector, r.type.kind, allowed);
  return (obj: any) => !!obj && matchRequirements(labels, obj.metadata?.labels) && matchFields(fields, obj);
}

/** The request handler. */
export function createHandler(registry: Registry, state: HttpState) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) query[k] = v;
    const method = (req.method ?? "GET").toUpperCase();
    const segs = url.pathname.split("/").filter(Boolean);
    const routed = route(registry, segs);
    const r = typeof routed === "object" ? routed : undefined;
    const record: KubeRequestRecord = {
      method,
      path: url.pathname,
      query,
      contentType: req.headers["content-type"],
      status: 0,
      class: classify(method, query, r),
      user: state.users.get((req.headers.authorization ?? "").replace(/^Bearer /, "")),
    };
    state.requests.push(record);
    res.on("finish", () => {
      record.status = res.statusCode;
    });
    try {
      const bodyText = await readBody(req);
      if (state.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, state.latencyMs));
      if (record.user === undefined) throw unauthorized();
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
      if (!r) {
        if (routed === "notfound-status") return send(res, 404, resourceNotFound);
        return discovery(segs, method, res, state);
      }
      await serveResource(registry, state, r, method, query, bodyText, req, res, watchFault);
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

function discovery(segs: string[], method: string, res: ServerResponse, state: HttpState) {
  const p = `/${segs.join("/")}`;
  if (method !== "GET") return notFoundText(res);
  if (p === "/version") return send(res, 200, versionInfo());
  if (p === "/healthz" || p === "/livez" || p === "/readyz") {
    res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8" });
    res.end("ok");
    return;
  }
  if (p === "/api") return send(res, 200, apiVersions(state.hostPort));
  if (p === "/apis") return send(res, 200, apiGroupList());
  if (segs[0] === "api" && segs.length === 2) {
    const l = apiResourceList("", segs[1]);
    return l ? send(res, 200, l) : notFoundText(res);
  }
  if (segs[0] === "apis" && segs.length === 2) {
    const g = apiGroup(segs[1]);
    return g ? send(res, 200, g) : notFoundText(res);
  }
  if (segs[0] === "apis" && segs.length === 3) {
    const l = apiResourceList(segs[1], segs[2]);
    return l ? send(res, 200, l) : notFoundText(res);
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
  const dry = query.dryRun ?? (Array.isArray(body.dryRun) ? body.dryRun[0] : undefined);
  return {
    dryRun: dry === "All",
    propagationPolicy: policy as DeleteOptions["propagationPolicy"],
    preconditions: body.preconditions,
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
  watchFault?: FaultAction,
): Promise<void> {
  const t = r.type;
  const ns = t.namespaced ? r.namespace : undefined;
  const grr = { group: t.group, resource: t.plural };
  const withWarnings = (opts: WriteOptions): Record<string, string[]> =>
    opts.warnings && opts.warnings.length > 0
      ? { Warning: opts.warnings.map((w) => `299 - ${JSON.stringify(w)}`) }
      : {};
  if (r.legacyWatch || (method === "GET" && (query.watch === "true" || query.watch === "1"))) {
    if (method !== "GET") throw methodNotSupported(grr, method.toLowerCase());
    const q = { ...query };
    if (r.name) q.fieldSelector = [q.fieldSelector, `metadata.name=${r.name}`].filter(Boolean).join(",");
    return watch(registry, state, { ...r, name: undefined }, q, req, res, watchFault);
  }
  if (!r.name) {
    switch (method) {
      case "GET":
        return send(res, 200, listBody(r, registry, query));
      case "POST": {
        if (t.namespaced && ns === undefined) throw methodNotSupported(grr, "create");
        const opts = writeOptions(query, req);
        const out = registry.create(t, ns, parseJson(bodyText), opts);
        return send(res, out.code, out.body, withWarnings(opts));
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
  if (r.subresource === "scale") return serveScale(registry, t, ns, name, method, query, bodyText, req, res);
  if (r.subresource === "finalize") {
    if (method !== "PUT") throw methodNotSupported(grr, method.toLowerCase());
    const opts = writeOptions(query, req);
    const body: any = parseJson(bodyText);
    const cur = registry.get(t, ns, name);
    cur.spec = { ...(cur.spec ?? {}), finalizers: body?.spec?.finalizers ?? [] };
    registry.store.put(t, cur);
    return send(res, 200, registry.get(t, ns, name), withWarnings(opts));
  }
  switch (method) {
    case "GET":
      return send(res, 200, registry.get(t, ns, name));
    case "PUT": {
      const opts = writeOptions(query, req);
      const out = registry.update(t, ns, name, parseJson(bodyText), opts, r.subresource);
      return send(res, out.code, out.body, withWarnings(opts));
    }
    case "PATCH": {
      const opts = writeOptions(query, req);
      const out = registry.patch(
        t,
        ns,
        name,
        bodyText,
        String(req.headers["content-type"] ?? ""),
        opts,
        r.subresource,
      );
      return send(res, out.code, out.body, withWarnings(opts));
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
): Promise<void> {
  const sts = registry.get(t, ns, name);
  if (method === "GET") return send(res, 200, scaleOf(sts));
  const opts = writeOptions(query, req);
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
