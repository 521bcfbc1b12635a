/**
 * A local Kubernetes API server for tests: a real HTTPS server on 127.0.0.1 with its own cluster CA,
 * which the product reaches only through @kubernetes/client-node and a kubeconfig, with the semantics of
 * a real API server's recorded answers (README.md beside this file): authentication by bearer token,
 * ServiceAccount token or client certificate, RBAC authorization with the bootstrap roles and the
 * escalation checks, impersonation, Status bodies, defaulting, validation, resourceVersion, patch types,
 * server-side apply, finalizers, garbage collection, watch, discovery, OpenAPI.
 *
 * Deliberate simplifications (README.md): managedFields are tracked per leaf path from a hand-kept table
 * of list semantics; pods are deleted at once (no kubelet to confirm graceful termination); anonymous auth is
 * disabled, so every request without valid credentials gets 401; no protobuf (negotiation.ts).
 */
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import type { ServerResponse } from "node:http";
import { createServer as createHttpsServer, request as httpsRequest } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { Authenticator } from "./auth";
import { bootstrapClusterRoleBindings, bootstrapClusterRoles } from "./bootstrap-policy";
import { CrdControllers } from "./crd";
import { notFound as notFoundStatus } from "./errors";
import { attachExec, type ExecHandler } from "./exec";
import { FaultInjector, type FaultKind, type FaultSpec, type InjectedFault } from "./faults";
import { GarbageCollector } from "./gc";
import { connectionIds, createHandler, type Fault, type HttpState, type KubeRequestRecord } from "./http";
import { bigIntToIp, type Cidr, type IPFamily, inCidrRange, parseCidr } from "./ipfamily";
import type { StrategyContext } from "./kinds/types";
import { createOpenApi } from "./openapi";
import { clone } from "./patch";
import { createClusterPki } from "./pki";
import { Authorizer, checkRbacWrite, type PolicyRule, SYSTEM_MASTERS } from "./rbac";
import { Registry, stripTypeMeta } from "./registry";
import { RESOURCE_TYPES, typeByKind } from "./resources";
import { loadValidators } from "./schema";
import { matchLabelSelector } from "./selectors";
import { Store } from "./store";

export type { ExecHandler, ExecRequest, ExecResult } from "./exec";
export type { FaultKind, FaultSpec, InjectedFault } from "./faults";
export type { KubeRequestRecord } from "./http";
export type { UserInfo } from "./rbac";

/** How a kubeconfig authenticates. */
export interface KubeconfigOptions {
  namespace?: string;
  context?: string;
  /**
   * The user (default `admin`). Without `serviceAccount`, a user whose `groups` are not given is a
   * member of `system:masters` (a cluster admin, as `admin` is and as every identity was before this
   * server authorized requests); pass `groups` (e.g. `[]`) for an identity that has only what RBAC grants.
   */
  user?: string;
  groups?: string[];
  /** `token` (default) or a client certificate signed by the cluster CA (CN = user, O = groups). */
  auth?: "token" | "certificate";
  /** Authenticate as this ServiceAccount with a token of its own (the ServiceAccount must exist). */
  serviceAccount?: { namespace: string; name: string };
  /** `as:` in the kubeconfig: client-node sends `Impersonate-User`. */
  impersonate?: string;
}

/** A fetch-like answer of {@link KubeApiServer.fetch}. */
export interface RawResponse {
  status: number;
  headers: Headers;
  text(): Promise<string>;
  json(): Promise<any>;
}

/** The running server and its test hooks. */
export interface KubeApiServer {
  /** https://127.0.0.1:PORT */
  url: string;
  /** The cluster CA certificate (PEM) the serving certificate chains to; in every kubeconfig. */
  ca: string;
  /** The bearer token of `admin` (a member of system:masters). */
  token: string;
  /**
   * Kubeconfig YAML usable by KubeConfig.loadFromString and kubectl: the cluster CA and, per user, a
   * token (made on first use) or a client certificate, so the request log tells identities apart (e.g.
   * the product from the cluster simulator), as a real server's audit log does.
   */
  kubeconfig(opts?: KubeconfigOptions): string;
  /** Writes a kubeconfig into `dir` (file `kubeconfig`, or `name`) and returns the file path. */
  writeKubeconfig(dir: string, opts?: KubeconfigOptions & { file?: string }): string;
  /** A new token of an existing ServiceAccount (as `kubectl create token` gets one). */
  serviceAccountToken(namespace: string, name: string): string;
  /** An HTTPS request to the server that trusts its CA (for raw requests; give the Authorization header). */
  fetch(
    pathOrUrl: string,
    init?: { method?: string; headers?: Record<string, string>; body?: string | Buffer },
  ): Promise<RawResponse>;
  /** Closes watches and the listener. */
  stop(): Promise<void>;
  /** Every request, in order. */
  requests: KubeRequestRecord[];
  /** Request counts by class since the last reset. */
  counts(): { reads: number; writes: number; watches: number };
  /** Clears the request log. */
  resetCounts(): void;
  /** Next matching requests answer with this status (Status body; Retry-After header if given). */
  injectFault(f: {
    method?: string;
    path: RegExp | string;
    status: number;
    times?: number;
    retryAfterSeconds?: number;
    message?: string;
  }): void;
  /**
   * Replaces the seeded fault rules (see faults.ts; undefined: none) and restarts their PRNGs and
   * counts. By default a rule faults only the `admin` identity, never the simulator's.
   */
  setFaults(specs: FaultSpec | FaultSpec[] | undefined): void;
  /** Seeded faults injected since the rules were set, by kind. */
  faultCounts(): Record<FaultKind, number>;
  /** Seeded faults injected since the rules were set, in order. */
  injectedFaults(): InjectedFault[];
  /** Inject latency per request (for benchmarks). */
  setLatency(ms: number): void;
  /** Bumps an object's resourceVersion without changing it (simulates a concurrent writer). */
  touch(apiVersion: string, kind: string, namespace: string | undefined, name: string): void;
  /** A deep copy of a stored object as the API would serve it, or undefined. */
  getObject(apiVersion: string, kind: string, namespace: string | undefined, name: string): any | undefined;
  /** Deep copies of stored objects (as list items, with apiVersion and kind kept). */
  listObjects(apiVersion: string, kind: string, namespace?: string): any[];
  /** Creates as if through the API by a cluster admin (defaults, validation); throws the StatusError on invalid input. */
  seed(obj: any): any;
  /** Deletes as if through the API by a cluster admin; false when it did not exist. */
  remove(apiVersion: string, kind: string, namespace: string | undefined, name: string): boolean;
  /** Calls `fn` with every object written from now on (after the write; never inside a request). */
  onWrite(fn: (e: { type: "ADDED" | "MODIFIED" | "DELETED"; obj: any }) => void): () => void;
  /** What `pods/exec` runs: the stand-in for the containers' binaries (see exec.ts). */
  setExecHandler(handler: ExecHandler | undefined): void;
}

/** Options of startKubeApiServer. */
export interface KubeApiServerOptions {
  /** Bearer token to accept; random by default. */
  token?: string;
  /** Number of watch events kept for resuming from a resourceVersion (default 1000). */
  historyWindow?: number;
  /** Interval of watch BOOKMARK events when allowWatchBookmarks is set (default 1000 ms). */
  bookmarkIntervalMs?: number;
  /** Seeded fault rules from the start (see faults.ts); `setFaults` changes them at run time. */
  faults?: FaultSpec | FaultSpec[];
  /**
   * kube-apiserver `--service-cluster-ip-range`: one CIDR, or one IPv4 and one IPv6 CIDR for a
   * dual-stack cluster, the first giving the default Service IP family. Default
   * {@link DEFAULT_SERVICE_CIDRS} (IPv4 only).
   */
  serviceCIDRs?: string[];
}

/** What a kind cluster serves by default: IPv4 only. */
export const DEFAULT_SERVICE_CIDRS = ["10.96.0.0/12"];
/** The service CIDRs of an IPv6-only kind cluster. */
export const IPV6_SERVICE_CIDRS = ["fd00:10:96::/112"];
/** The service CIDRs of a dual-stack kind cluster (IPv4 primary). */
export const DUAL_STACK_SERVICE_CIDRS = ["10.96.0.0/12", "fd00:10:96::/112"];

function parseServiceCidrs(texts: string[]): Cidr[] {
  const cidrs = texts.map(parseCidr);
  // kube-apiserver refuses other shapes at start (cmd/kube-apiserver/app/options/validation.go
  // validateClusterIPFlags: at most two, and two must be of different families).
  if (cidrs.length < 1 || cidrs.length > 2 || (cidrs.length === 2 && cidrs[0]!.family === cidrs[1]!.family)) {
    throw new Error(
      `serviceCIDRs ${JSON.stringify(texts)}: give one CIDR, or one IPv4 and one IPv6 CIDR (dual-stack)`,
    );
  }
  return cidrs;
}

/** kube-apiserver's default --service-node-port-range. */
const NODE_PORT_RANGE = { min: 30000, max: 32767 };

function ipam(store: Store, serviceCIDRs: Cidr[]): StrategyContext {
  const nextIP = new Map<IPFamily, bigint>();
  let nextPort = 30000;
  const svc = typeByKind("v1", "Service")!;
  const used = () =>
    new Set(
      store
        .entriesOf(svc)
        .flatMap((e) => [e.obj.spec?.clusterIP, ...(e.obj.spec?.clusterIPs ?? [])].filter(Boolean)),
    );
  const portsOf = (o: any): number[] => (o.spec?.ports ?? []).map((p: any) => p.nodePort).filter(Boolean);
  const usedPorts = () => new Set(store.entriesOf(svc).flatMap((e) => portsOf(e.obj)));
  return {
    serviceCIDRs,
    clusterIPInUse: (ip) => used().has(ip),
    allocateClusterIP(family) {
      const cidr = serviceCIDRs.find((c) => c.family === family);
      if (!cidr) throw new Error(`no ${family} service CIDR is configured (serviceCIDRs)`);
      const taken = used();
      // The first address is the kubernetes Service's; allocate upwards from base+10, skipping IPv4
      // addresses that end in .0 or .255 (as this allocator always did, so IPv4 tests keep their IPs).
      for (;;) {
        const offset = nextIP.get(family) ?? 10n;
        nextIP.set(family, offset + 1n);
        const ip = bigIntToIp(cidr.base + offset, family);
        if (!inCidrRange(ip, cidr)) throw new Error(`the service CIDR ${cidr.text} is exhausted`);
        const last = (cidr.base + offset) & 255n;
        if (family === "IPv4" && (last === 0n || last === 255n)) continue;
        if (!taken.has(ip)) return ip;
      }
    },
    nodePortRange: NODE_PORT_RANGE,
    nodePortInUse: (port, self) =>
      store
        .entriesOf(svc)
        .some(
          (e) =>
            `${e.obj.metadata.namespace}/${e.obj.metadata.name}` !== self && portsOf(e.obj).includes(port),
        ),
    allocateNodePort() {
      const taken = usedPorts();
      while (taken.has(nextPort)) nextPort++;
      return nextPort++;
    },
  };
}

function bootstrap(registry: Registry, caPem: string, primaryServiceCidr: Cidr): void {
  const ns = typeByKind("v1", "Namespace")!;
  const sa = typeByKind("v1", "ServiceAccount")!;
  const cm = typeByKind("v1", "ConfigMap")!;
  const opts = { defaultManager: "kube-apiserver" };
  // The service-account and root-CA publisher controllers fill every new namespace.
  registry.store.subscribe((e) => {
    if (e.resource !== ns || e.type !== "ADDED") return;
    const name = e.obj.metadata.name;
    queueMicrotask(() => {
      if (!registry.store.entry(ns, undefined, name)) return;
      if (!registry.store.entry(sa, name, "default")) {
        registry.create(
          sa,
          name,
          { metadata: { name: "default" } },
          { defaultManager: "kube-controller-manager" },
        );
      }
      if (!registry.store.entry(cm, name, "kube-root-ca.crt")) {
        registry.create(
          cm,
          name,
          {
            metadata: {
              name: "kube-root-ca.crt",
              annotations: { "kubernetes.io/description": ROOT_CA_DESCRIPTION },
            },
            data: { "ca.crt": caPem },
          },
          { defaultManager: "kube-controller-manager" },
        );
      }
    });
  });
  for (const n of ["default", "kube-system", "kube-public", "kube-node-lease"]) {
    registry.create(ns, undefined, { metadata: { name: n } }, opts);
  }
  const svc = typeByKind("v1", "Service")!;
  registry.create(
    svc,
    "default",
    {
      metadata: { name: "kubernetes", labels: { component: "apiserver", provider: "kubernetes" } },
      // The first address of the primary service CIDR, single-stack
      // (`kubernetes/kubernetes pkg/controlplane/controller/kubernetesservice/controller.go`).
      spec: {
        clusterIP: bigIntToIp(primaryServiceCidr.base + 1n, primaryServiceCidr.family),
        ports: [{ name: "https", port: 443, targetPort: 6443 }],
      },
    },
    opts,
  );
  // The RBAC bootstrap policy the apiserver's post-start hook reconciles (bootstrap-policy.ts).
  const cr = typeByKind("rbac.authorization.k8s.io/v1", "ClusterRole")!;
  const crb = typeByKind("rbac.authorization.k8s.io/v1", "ClusterRoleBinding")!;
  for (const r of bootstrapClusterRoles()) registry.create(cr, undefined, r, opts);
  for (const b of bootstrapClusterRoleBindings()) registry.create(crb, undefined, b, opts);
}

/**
 * The ClusterRole aggregation controller of kube-controller-manager: a ClusterRole with an
 * aggregationRule gets the rules of every ClusterRole its selectors match, deduplicated, in name order
 * (https://kubernetes.io/docs/reference/access-authn-authz/rbac/#aggregated-clusterroles).
 */
function aggregateClusterRoles(registry: Registry): void {
  const cr = typeByKind("rbac.authorization.k8s.io/v1", "ClusterRole")!;
  const run = () => {
    for (let pass = 0; pass < 5; pass++) {
      let changed = false;
      const all = registry.store.entriesOf(cr);
      for (const e of all) {
        const selectors: any[] = e.obj.aggregationRule?.clusterRoleSelectors ?? [];
        if (selectors.length === 0) continue;
        const rules: PolicyRule[] = [];
        const seen = new Set<string>();
        for (const other of all) {
          if (other.obj.metadata.name === e.obj.metadata.name) continue;
          if (!selectors.some((sel) => matchLabelSelector(sel, other.obj.metadata.labels))) continue;
          for (const rule of other.obj.rules ?? []) {
            const key = JSON.stringify(rule);
            if (seen.has(key)) continue;
            seen.add(key);
            rules.push(rule);
          }
        }
        if (JSON.stringify(rules) === JSON.stringify(e.obj.rules ?? [])) continue;
        registry.internalUpdate(cr, { ...clone(e.obj), rules });
        changed = true;
      }
      if (!changed) return;
    }
  };
  run();
  let queued = false;
  registry.store.subscribe((e) => {
    if (e.resource !== cr || queued) return;
    queued = true;
    queueMicrotask(() => {
      queued = false;
      run();
    });
  });
}

const ROOT_CA_DESCRIPTION =
  "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";

/** Names the serving certificate covers: the loopback address clients use and the in-cluster names. */
const SERVING_NAMES = [
  "127.0.0.1",
  "localhost",
  "kubernetes",
  "kubernetes.default",
  "kubernetes.default.svc",
  "kubernetes.default.svc.cluster.local",
  "10.96.0.1",
];

/** Starts a server on 127.0.0.1 with an ephemeral port. */
export async function startKubeApiServer(opts: KubeApiServerOptions = {}): Promise<KubeApiServer> {
  await loadValidators(RESOURCE_TYPES.map((t) => t.schema));
  const { ca, serving } = createClusterPki(SERVING_NAMES);
  const store = new Store(opts.historyWindow ?? 1000);
  const serviceCidrs = parseServiceCidrs(opts.serviceCIDRs ?? DEFAULT_SERVICE_CIDRS);
  const registry = new Registry(store, ipam(store, serviceCidrs));
  const gc = new GarbageCollector(registry);
  const crdType = typeByKind("apiextensions.k8s.io/v1", "CustomResourceDefinition")!;
  const crds = new CrdControllers({
    crdType,
    store,
    customTypes: registry.customTypes,
    writeStatus: (obj) => registry.internalUpdateStatus(crdType, obj),
    writeMain: (obj) => registry.internalUpdate(crdType, obj),
    deleteObject: (t, ns, name) => registry.delete(t, ns, name, { propagationPolicy: "Background" }),
  });
  bootstrap(registry, ca.certPem, serviceCidrs[0]!);
  aggregateClusterRoles(registry);
  await new Promise<void>((resolve) => queueMicrotask(resolve));
  const authn = new Authenticator(store);
  const authz = new Authorizer(store);
  registry.guard = (t, namespace, obj, old, user) =>
    t.group === "rbac.authorization.k8s.io"
      ? checkRbacWrite(authz, t.kind, namespace, obj, old, user)
      : undefined;
  const token = opts.token ?? randomBytes(16).toString("hex");
  authn.tokens.set(token, { kind: "user", name: "admin", groups: [SYSTEM_MASTERS] });
  const saType = typeByKind("v1", "ServiceAccount")!;
  const podType = typeByKind("v1", "Pod")!;

  const newServiceAccountToken = (
    namespace: string,
    name: string,
    pod?: { name: string; uid: string },
  ): string => {
    const sa = store.entry(saType, namespace, name);
    if (!sa) throw new Error(`serviceaccounts "${name}" not found in namespace "${namespace}"`);
    const t = randomBytes(24).toString("base64url");
    authn.tokens.set(t, { kind: "serviceaccount", namespace, name, uid: sa.obj.metadata.uid, pod });
    return t;
  };

  const state: HttpState = {
    authn,
    authz,
    latencyMs: 0,
    faults: [],
    injector: new FaultInjector(opts.faults),
    requests: [],
    hostPort: "",
    bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 1000,
    openWatches: new Set<ServerResponse>(),
    openapi: createOpenApi(),
    issueToken(namespace, name, body) {
      // TokenRequest (authentication.k8s.io/v1): bound to a Pod when boundObjectRef names one.
      const spec = body?.spec ?? {};
      const ref = spec.boundObjectRef;
      let pod: { name: string; uid: string } | undefined;
      if (ref?.kind === "Pod") {
        const p = store.entry(podType, namespace, ref.name);
        if (!p || (ref.uid && ref.uid !== p.obj.metadata.uid)) {
          throw notFoundStatus({ group: "", resource: "pods" }, ref.name);
        }
        pod = { name: ref.name, uid: p.obj.metadata.uid };
      }
      const seconds = Number(spec.expirationSeconds ?? 3600);
      const now = new Date();
      return {
        kind: "TokenRequest",
        apiVersion: "authentication.k8s.io/v1",
        metadata: { name, namespace, creationTimestamp: now.toISOString().replace(/\.\d{3}Z$/, "Z") },
        spec: {
          audiences: spec.audiences ?? ["https://kubernetes.default.svc.cluster.local"],
          expirationSeconds: seconds,
          ...(ref ? { boundObjectRef: { ...ref, uid: pod?.uid ?? ref.uid } } : {}),
        },
        status: {
          token: newServiceAccountToken(namespace, name, pod),
          expirationTimestamp: new Date(now.getTime() + seconds * 1000)
            .toISOString()
            .replace(/\.\d{3}Z$/, "Z"),
        },
      };
    },
  };
  const server = createHttpsServer(
    {
      key: serving.keyPem,
      cert: serving.certPem,
      ca: [ca.certPem],
      // Client certificates are verified against the cluster CA; requests without one authenticate by token.
      requestCert: true,
      rejectUnauthorized: false,
    },
    createHandler(registry, state),
  );
  let connections = 0;
  server.on("secureConnection", (socket) => {
    connectionIds.set(socket, ++connections);
  });
  let execHandler: ExecHandler | undefined;
  server.on(
    "upgrade",
    attachExec(
      state,
      (namespace, name) => store.get(podType, namespace, name),
      () => execHandler,
    ),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  state.hostPort = `127.0.0.1:${port}`;
  const url = `https://127.0.0.1:${port}`;

  const typeOrThrow = (apiVersion: string, kind: string) => {
    const t = registry.typeByKind(apiVersion, kind);
    if (!t) throw new Error(`kube-api test server does not serve ${apiVersion} ${kind}`);
    return t;
  };

  const tokenOf = (user: string, groups: string[]): string => {
    for (const [t, s] of authn.tokens) {
      if (s.kind !== "user" || s.name !== user) continue;
      if (JSON.stringify(s.groups) !== JSON.stringify(groups)) {
        throw new Error(
          `kubeconfig: user ${user} already has a token with groups ${JSON.stringify(s.groups)}; ask for the same groups or use another user name`,
        );
      }
      return t;
    }
    const t = randomBytes(16).toString("hex");
    authn.tokens.set(t, { kind: "user", name: user, groups });
    return t;
  };

  const indent = (pem: string) => Buffer.from(pem).toString("base64");
  const kubeconfig = (o: KubeconfigOptions = {}) => {
    const ctx = o.context ?? "kube-api-test";
    const userLines: string[] = [];
    if (o.serviceAccount) {
      userLines.push(
        `    token: ${newServiceAccountToken(o.serviceAccount.namespace, o.serviceAccount.name)}`,
      );
    } else {
      const user = o.user ?? "admin";
      const groups = o.groups ?? [SYSTEM_MASTERS];
      if (o.auth === "certificate") {
        const c = ca.issueClient(user, groups);
        userLines.push(
          `    client-certificate-data: ${indent(c.certPem)}`,
          `    client-key-data: ${indent(c.keyPem)}`,
        );
      } else
        userLines.push(
          `    token: ${user === "admin" && o.groups === undefined ? token : tokenOf(user, groups)}`,
        );
    }
    if (o.impersonate) userLines.push(`    as: ${JSON.stringify(o.impersonate)}`);
    return [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      "- name: kube-api-test",
      "  cluster:",
      `    server: ${url}`,
      `    certificate-authority-data: ${indent(ca.certPem)}`,
      "users:",
      "- name: kube-api-test",
      "  user:",
      ...userLines,
      "contexts:",
      `- name: ${ctx}`,
      "  context:",
      "    cluster: kube-api-test",
      "    user: kube-api-test",
      ...(o.namespace ? [`    namespace: ${o.namespace}`] : []),
      `current-context: ${ctx}`,
      "",
    ].join("\n");
  };

  const rawFetch: KubeApiServer["fetch"] = (pathOrUrl, init = {}) =>
    new Promise((resolve, reject) => {
      const target = new URL(pathOrUrl, url);
      const headers: Record<string, string | number> = { ...(init.headers ?? {}) };
      // Node sends a DELETE's body without framing unless told its length.
      if (init.body !== undefined) headers["Content-Length"] = Buffer.byteLength(init.body);
      const r = httpsRequest(target, { method: init.method ?? "GET", headers, ca: ca.certPem }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const headers = new Headers();
          for (const [k, v] of Object.entries(res.headers)) {
            for (const one of Array.isArray(v) ? v : v === undefined ? [] : [v]) headers.append(k, one);
          }
          resolve({
            status: res.statusCode ?? 0,
            headers,
            text: async () => text,
            json: async () => JSON.parse(text),
          });
        });
        res.on("error", reject);
      });
      r.on("error", reject);
      r.end(init.body);
    });

  const api: KubeApiServer = {
    url,
    ca: ca.certPem,
    token,
    kubeconfig,
    writeKubeconfig(dir, o = {}) {
      const file = join(dir, o.file ?? "kubeconfig");
      writeFileSync(file, kubeconfig(o), { mode: 0o600 });
      return file;
    },
    serviceAccountToken: (namespace, name) => newServiceAccountToken(namespace, name),
    fetch: rawFetch,
    async stop() {
      gc.stop();
      crds.stop();
      for (const w of state.openWatches) w.end();
      state.openWatches.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    requests: state.requests,
    counts() {
      let reads = 0;
      let writes = 0;
      let watches = 0;
      for (const r of state.requests) {
        if (r.class === "read") reads++;
        else if (r.class === "write") writes++;
        else watches++;
      }
      return { reads, writes, watches };
    },
    resetCounts() {
      state.requests.length = 0;
    },
    injectFault(f: Fault) {
      state.faults.push({ ...f, times: f.times ?? 1 });
    },
    setFaults(specs) {
      state.injector.set(specs);
    },
    faultCounts() {
      return { ...state.injector.counts };
    },
    injectedFaults() {
      return [...state.injector.log];
    },
    setLatency(ms: number) {
      state.latencyMs = ms;
    },
    touch(apiVersion, kind, namespace, name) {
      const t = typeOrThrow(apiVersion, kind);
      const e = store.entry(t, namespace, name);
      if (!e) throw new Error(`touch: ${kind} ${namespace ?? ""}/${name} does not exist`);
      store.put(t, e.obj, e.managers);
    },
    getObject(apiVersion, kind, namespace, name) {
      return store.get(typeOrThrow(apiVersion, kind), namespace, name);
    },
    listObjects(apiVersion, kind, namespace) {
      return store.entriesOf(typeOrThrow(apiVersion, kind), namespace).map((e) => clone(e.obj));
    },
    setExecHandler(handler) {
      execHandler = handler;
    },
    seed(obj: any) {
      const t = typeOrThrow(obj?.apiVersion, obj?.kind);
      const out = registry.create(t, t.namespaced ? obj.metadata?.namespace : undefined, obj, {
        defaultManager: "seed",
      });
      return out.body;
    },
    remove(apiVersion, kind, namespace, name) {
      const t = typeOrThrow(apiVersion, kind);
      if (!store.entry(t, namespace, name)) return false;
      registry.delete(t, t.namespaced ? namespace : undefined, name, {});
      return true;
    },
    onWrite(fn) {
      return store.subscribe((e) => queueMicrotask(() => fn({ type: e.type, obj: clone(e.obj) })));
    },
  };
  void stripTypeMeta;
  return api;
}
