/**
 * A local Kubernetes API server for tests: a real HTTP server on 127.0.0.1 that the product reaches only
 * through @kubernetes/client-node and a kubeconfig, with the semantics of a real API server's recorded answers
 * (README.md beside this file): Status bodies, defaulting, validation, resourceVersion, patch types, server-side
 * apply, finalizers, garbage collection, watch, discovery.
 *
 * Deliberate simplifications: managedFields are tracked internally for server-side apply but never
 * returned; pods are deleted at once (no kubelet to confirm graceful termination); anonymous auth is
 * disabled, so every request without the right bearer token gets 401.
 */

import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { attachExec, type ExecHandler } from "./exec";
import { FaultInjector, type FaultKind, type FaultSpec, type InjectedFault } from "./faults";
import { GarbageCollector } from "./gc";
import { createHandler, type Fault, type HttpState, type KubeRequestRecord } from "./http";
import type { StrategyContext } from "./kinds/types";
import { clone } from "./patch";
import { Registry, stripTypeMeta } from "./registry";
import { RESOURCE_TYPES, typeByKind } from "./resources";
import { loadValidators } from "./schema";
import { Store } from "./store";

export type { ExecHandler, ExecRequest, ExecResult } from "./exec";
export type { FaultKind, FaultSpec, InjectedFault } from "./faults";
export type { KubeRequestRecord } from "./http";

/** The running server and its test hooks. */
export interface KubeApiServer {
  /** http://127.0.0.1:PORT */
  url: string;
  /** The bearer token the kubeconfig carries. */
  token: string;
  /**
   * Kubeconfig YAML usable by KubeConfig.loadFromString. With `user`, it carries that user's own
   * token (made on first use), so the request log tells the identities apart (e.g. the product from
   * the cluster simulator), as a real server's audit log does.
   */
  kubeconfig(opts?: { namespace?: string; context?: string; user?: string }): string;
  /** Writes the kubeconfig into `dir` and returns the file path. */
  writeKubeconfig(dir: string): string;
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
  /** Creates as if through the API (defaults, validation); throws the StatusError on invalid input. */
  seed(obj: any): any;
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
}

function ipam(store: Store): StrategyContext {
  let nextIP = 10;
  let nextPort = 30000;
  const svc = typeByKind("v1", "Service")!;
  const used = () => new Set(store.entriesOf(svc).map((e) => e.obj.spec?.clusterIP));
  const usedPorts = () =>
    new Set(store.entriesOf(svc).flatMap((e) => (e.obj.spec?.ports ?? []).map((p: any) => p.nodePort)));
  return {
    allocateClusterIP() {
      const taken = used();
      // 10.96.0.0/12: 10.96.0.1 is the kubernetes Service; allocate upwards from there.
      for (;;) {
        const n = nextIP++;
        const ip = `10.${96 + ((n >> 16) & 15)}.${(n >> 8) & 255}.${n & 255}`;
        if ((n & 255) !== 0 && (n & 255) !== 255 && !taken.has(ip)) return ip;
      }
    },
    allocateNodePort() {
      const taken = usedPorts();
      while (taken.has(nextPort)) nextPort++;
      return nextPort++;
    },
  };
}

function bootstrap(registry: Registry): void {
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
            data: {
              "ca.crt": "-----BEGIN CERTIFICATE-----\nMIIB (test cluster CA)\n-----END CERTIFICATE-----\n",
            },
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
      spec: { clusterIP: "10.96.0.1", ports: [{ name: "https", port: 443, targetPort: 6443 }] },
    },
    opts,
  );
}

const ROOT_CA_DESCRIPTION =
  "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";

/** Starts a server on 127.0.0.1 with an ephemeral port. */
export async function startKubeApiServer(opts: KubeApiServerOptions = {}): Promise<KubeApiServer> {
  await loadValidators(RESOURCE_TYPES.map((t) => t.schema));
  const store = new Store(opts.historyWindow ?? 1000);
  const registry = new Registry(store, ipam(store));
  const gc = new GarbageCollector(registry);
  bootstrap(registry);
  await new Promise<void>((resolve) => queueMicrotask(resolve));
  const token = opts.token ?? randomBytes(16).toString("hex");
  const state: HttpState = {
    token,
    users: new Map([[token, "admin"]]),
    latencyMs: 0,
    faults: [],
    injector: new FaultInjector(opts.faults),
    requests: [],
    hostPort: "",
    bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 1000,
    openWatches: new Set<ServerResponse>(),
  };
  const server = createServer(createHandler(registry, state));
  let execHandler: ExecHandler | undefined;
  const podType = typeByKind("v1", "Pod")!;
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
  const url = `http://127.0.0.1:${port}`;

  const typeOrThrow = (apiVersion: string, kind: string) => {
    const t = typeByKind(apiVersion, kind);
    if (!t) throw new Error(`kube-api test server does not serve ${apiVersion} ${kind}`);
    return t;
  };

  const tokenOf = (user: string | undefined): string => {
    if (!user || user === "admin") return token;
    for (const [t, u] of state.users) if (u === user) return t;
    const t = randomBytes(16).toString("hex");
    state.users.set(t, user);
    return t;
  };

  const kubeconfig = (o: { namespace?: string; context?: string; user?: string } = {}) => {
    const ctx = o.context ?? "kube-api-test";
    return [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      "- name: kube-api-test",
      "  cluster:",
      `    server: ${url}`,
      // client-node refuses plain http unless TLS verification is explicitly skipped.
      "    insecure-skip-tls-verify: true",
      "users:",
      "- name: kube-api-test",
      "  user:",
      `    token: ${tokenOf(o.user)}`,
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

  const api: KubeApiServer = {
    url,
    token,
    kubeconfig,
    writeKubeconfig(dir: string) {
      const file = join(dir, "kubeconfig");
      writeFileSync(file, kubeconfig(), { mode: 0o600 });
      return file;
    },
    async stop() {
      gc.stop();
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
  };
  void stripTypeMeta;
  return api;
}
