// Plays kubelet + the StatefulSet controller + containerboot/tailscaled for proxy pods.
// It only talks to the Kubernetes API through @kubernetes/client-node (informers and typed calls)
// and to the fake Tailscale control plane over HTTP (/_control/*), as the real components would.
// kubelet and the controller act with the simulator's own identity; each proxy container acts as its
// Pod's ServiceAccount with a token from a TokenRequest (containerboot.ts), so the proxies' Roles
// are exercised as a real cluster exercises them.
import { createHash } from "node:crypto";
import * as k8s from "@kubernetes/client-node";
import { mulberry32 } from "../kube-api/faults";
import { bigIntToIp, type Cidr, parseCidr } from "../kube-api/ipfamily";
import {
  AcmeSim,
  certStillGood,
  environmentFromEnv,
  type Issuance,
  newAccountKeyPem,
  type RateLimits,
} from "./acme";
import { ApiClients } from "./clients";
import { ContainerKube } from "./containerboot";
import {
  ingressForwardingRule,
  ingressRules,
  type L3Forward,
  parseIngressConfigs,
  podIPsFromEnv,
  statusToRecord,
} from "./ingress-proxy";
import {
  listMountedKeys,
  type ObjectLookup,
  parseHuJson,
  pickConfigKey,
  readMountedFile,
  resolveEnv,
  resolveMount,
  SIM_CAPVER,
  secretValue,
} from "./pod-files";
import {
  DEFAULT_NODES,
  type PlacedPod,
  type SimNode,
  type SimNodeSpec,
  schedule,
  simNodes,
} from "./scheduler";
import { answer, findHandler, listener, TailnetConnectError } from "./tailnet";
import {
  type ContainerTermination,
  containerbootExitMs,
  NOT_RUNNING_AT_TERMINATION,
  planContainerTermination,
  preStopMs,
  type TerminatedState,
  terminalPhase,
  terminalReadyReason,
} from "./termination";

type Json = any;

export { SIM_NODE } from "./scheduler";

/** How a pod's certificate gets requested. */
export type CertIssuance = "on-serve-config" | "on-demand";

/** Faults the simulator can inject. */
export interface SimFaults {
  /** The next `times` (default 1; Infinity for all) certificate orders fail like this. */
  cert?: { kind: "rate-limited" | "https-disabled"; times?: number };
  /** Pods whose name matches never start: their container waits with this reason (e.g. ImagePullBackOff). */
  podStart?: { podName: RegExp | string; reason: string };
}

/** Options of {@link startClusterSim}. */
export interface ClusterSimOptions {
  /** Kubeconfig YAML for the (fake) cluster. */
  kubeconfig: string;
  /** Base URL of the fake Tailscale server (its /_control endpoints). */
  tailscaleUrl: string;
  /**
   * How long a Pod takes to start (image pull with pullPolicy Always, container start), tailscaled to log
   * in, and a certificate to be issued, in real milliseconds before `timeScale`. Defaults: 2000, 1000 and
   * 5000: estimates, not measured figures (a certificate is an ACME order with a DNS-01 or TLS-ALPN-01
   * challenge, tailscale/tailscale@de9ec7ee feature/acme/cert.go:40-43, 253-273). On termination
   * (termination.ts): `shutdownMs`, how long a process takes to exit once signalled (tailscaled after
   * containerboot's own shutdown steps, or any other container after SIGTERM; default 1000, an
   * estimate), and `preStopMs`, how long an `exec` or `httpGet` preStop hook runs (default 0; the
   * simulator does not run it; a `sleep` hook takes its seconds).
   */
  delays?: {
    podStartMs?: number;
    loginMs?: number;
    certMs?: number;
    shutdownMs?: number;
    preStopMs?: number;
  };
  /** The kubelet's periodic Pod sync, which is when mounted Secret and ConfigMap contents change. */
  kubelet?: KubeletTiming;
  /**
   * Multiplies every simulated duration (the kubelet's sync period, `delays`): 1 (the default) is real
   * time; tests compress it (e.g. 0.002: a 60 s sync period becomes 120 ms). Only durations shrink: the
   * order of events and their relative timing stay as in a real cluster.
   */
  timeScale?: number;
  faults?: SimFaults;
  /**
   * Standalone proxies: `on-demand` (what tailscaled does: a certificate is fetched on the first TLS
   * handshake or `tailscale cert`) or `on-serve-config` (as soon as a serve config with HTTPS is
   * applied). Default `on-serve-config`. HA cert-share writers always issue proactively.
   */
  certIssuance?: CertIssuance;
  /** Let's Encrypt limits per environment (default: LE production numbers, generous staging). */
  rateLimits?: Record<"production" | "staging", RateLimits>;
  /** Clock for certificate validity and issuance history (default: real time). */
  now?: () => Date;
  /**
   * The Pod network's CIDRs (kube-controller-manager `--cluster-cidr`): one, or one IPv4 and one IPv6
   * for a dual-stack cluster. Each Pod gets one IP from each, in this order: `status.podIPs`, the
   * first also `status.podIP` (`kubernetes/kubernetes pkg/kubelet/kubelet_pods.go` generateAPIPodStatus).
   * Default {@link DEFAULT_POD_CIDRS}.
   */
  podCIDRs?: string[];
  /**
   * The cluster's nodes, which the scheduler places Pods on (scheduler.ts). Default: one node,
   * `sim-node-1`.
   */
  nodes?: SimNodeSpec[];
}

/** The Pod CIDR of a kind cluster: IPv4 only. */
export const DEFAULT_POD_CIDRS = ["10.244.0.0/16"];
/** The Pod CIDR of an IPv6-only kind cluster. */
export const IPV6_POD_CIDRS = ["fd00:10:244::/56"];
/** The Pod CIDRs of a dual-stack kind cluster (IPv4 primary). */
export const DUAL_STACK_POD_CIDRS = ["10.244.0.0/16", "fd00:10:244::/56"];

export type { L3Forward } from "./ingress-proxy";

/**
 * The kubelet's sync timing. A running Pod is synced every `syncFrequency` plus a jitter of up to half of
 * it (`wait.Jitter(resyncInterval, workerResyncIntervalJitterFactor = 0.5)`,
 * kubernetes/kubernetes pkg/kubelet/pod_workers.go wrapUp), and when its spec or metadata changes (a Pod
 * update from the API source dispatches a sync). Each sync re-mounts its Secret and ConfigMap volumes
 * (the volume manager's ReprocessPod marks them for remount; the reconciler rewrites them through the
 * `..data` symlink), so a changed Secret or ConfigMap reaches a running container only then: 60-90 s after
 * the change at worst with the defaults, as observed on real clusters
 * (https://kubernetes.io/docs/concepts/configuration/secret/#mounted-secrets-are-updated-automatically).
 * The change detection strategy `Watch` (the default) keeps the kubelet's copy current, so no cache TTL
 * adds to that (`kubernetes/kubelet@v0.36.3 config/v1beta1/types.go:139-142, 705-708`).
 */
export interface KubeletTiming {
  /** `syncFrequency` in real milliseconds before `timeScale` (default 60 000, the kubelet's `1m`). */
  syncPeriodMs?: number;
  /** Seed of the jitter (mulberry32; default 1), so a run is reproducible. */
  seed?: number;
}

/**
 * The `timeScale` the tests run the simulator at: a 60 s kubelet sync becomes 120-180 ms, a Pod start
 * 4 ms. The demo and the bench run at 1 (real time).
 */
export const TEST_TIME_SCALE = 0.002;

/** What the simulator knows about one pod. */
export interface SimPod {
  namespace: string;
  name: string;
  uid: string;
  podIP: string;
  /** The node it was scheduled to; undefined while Pending (`unschedulable` says why). */
  nodeName?: string;
  /** The scheduler's message for a Pod no node could take. */
  unschedulable?: string;
  ready: boolean;
  /** Deletion started (SIGTERM sent or about to be). */
  terminating: boolean;
  /** containerboot's `/healthz` answers 200 (the node has a tailnet address). */
  healthy: boolean;
  /** Container waiting reason while not ready (CrashLoopBackOff, ContainerCreating, NeedsLogin, ...). */
  waitingReason?: string;
  /** Login failure message from control. */
  loginError?: string;
  deviceId?: string;
  /** MagicDNS name with trailing dot. */
  deviceFqdn?: string;
  deviceIps?: string[];
  /** L3 standalone: TS_DEST_IP or TS_EXPERIMENTAL_DEST_DNS_NAME. */
  dnatTarget?: string;
  /**
   * L3: the DNAT rules containerboot installed: for TS_DEST_IP one, for its family (DNS-name targets
   * are not resolved by the simulator, so they install none here), then one per `IPv4Mapping` /
   * `IPv6Mapping` of the config its ingress proxy applied (TS_INGRESS_PROXIES_CONFIG_PATH: a
   * ProxyGroup's ingress-config.json, a standalone proxy's dnat-config.json;
   * `tailscale/tailscale@de9ec7ee cmd/containerboot/ingressservices.go` ensureIngressRulesAdded).
   */
  forwards?: L3Forward[];
  /** L3: the ingress proxy config this pod applied (undefined: none, or no such file). */
  ingressConfigs?: Record<string, Json>;
  /** Tailscale Services this pod currently advertises. */
  advertisedServices: string[];
  httpsEndpoint?: string;
  certDomains: string[];
  /** Domains this pod holds a certificate for (state Secret, or cert Secrets for HA). */
  certificates: string[];
  /** HA cert sharing mode: `rw` on replica 0, `ro` elsewhere. */
  certShareMode?: "rw" | "ro";
  certError?: string;
  /** What containerboot and tailscaled logged (non-fatal problems, e.g. a refused list). */
  logs: string[];
  /**
   * The resourceVersion of each Secret and ConfigMap the Pod has mounted (`secret:<name>`,
   * `configMap:<name>`), as of the kubelet's last sync of the Pod: what its containers read.
   */
  mounted: Record<string, string>;
}

/** One Pod termination as the kubelet planned it (termination.ts), in model milliseconds. */
export interface PodTermination {
  namespace: string;
  name: string;
  uid: string;
  /** The Pod's deletionGracePeriodSeconds. */
  graceSeconds: number;
  /** The containers that were running, each with its preStop, SIGTERM and exit. */
  containers: ContainerTermination[];
}

/** A running simulator. */
export interface ClusterSim {
  stop(): Promise<void>;
  pods(): SimPod[];
  setFault(f: SimFaults): void;
  /** Resolves when every watch event has been processed and nothing changes any more. */
  waitIdle(): Promise<void>;
  /**
   * Resolves once the simulator's watch caches hold every Secret and ConfigMap at the version the API
   * serves now (client-go's WaitForCacheSync, for a test that must not wait for a kubelet sync).
   */
  watchesSynced(): Promise<void>;
  /** Certificate orders so far (successful and failed), oldest first. */
  issuances(): Issuance[];
  /** The Pod terminations the kubelet ran (or runs), oldest first: each container's timeline. */
  terminations(): PodTermination[];
  /** Asks the pod's tailscaled for its certificate now (the on-demand path: a TLS handshake / `tailscale cert`). */
  requestCertificate(podName: string, namespace?: string, domain?: string): Promise<void>;
  /**
   * One HTTP request from a tailnet client to `url` (`http://` or `https://`, a MagicDNS name of a
   * Tailscale Service or a device): control resolves the name (a service only carries the ports it
   * lists), one host that serves it answers from the serve config its tailscaled applied (`via`: that
   * Pod, by name). Throws {@link TailnetConnectError} when no connection is made.
   */
  tailnetRequest(url: string, opts?: { via?: string }): Promise<TailnetResponse>;
  /** Errors the simulator hit while reconciling (unexpected API failures): tests can assert it is empty. */
  errors: string[];
}

/** What a proxy answered a tailnet request (see {@link ClusterSim.tailnetRequest}). */
export interface TailnetResponse {
  /** `namespace/name` of the Pod whose tailscaled answered. */
  servedBy: string;
  /** The status it answered itself; absent when it proxied the request (the backend answers). */
  status?: number;
  /** A redirect's Location. */
  location?: string;
  /** What it answered itself (a text handler, an error page). */
  body?: string;
  /** The URL its reverse proxy requested from the backend. */
  proxiedTo?: string;
}

/** Starts the simulator; resolves once its watches have synced. */
export async function startClusterSim(opts: ClusterSimOptions): Promise<ClusterSim> {
  const sim = new Sim(opts);
  await sim.start();
  return {
    stop: () => sim.stop(),
    pods: () => sim.podViews(),
    setFault: (f) => sim.setFault(f),
    waitIdle: () => sim.waitIdle(),
    watchesSynced: () => sim.watchesSynced(),
    issuances: () => sim.acme.history.map((i) => ({ ...i, domains: [...i.domains] })),
    terminations: () =>
      sim.terminations.map((t) => ({ ...t, containers: t.containers.map((c) => ({ ...c })) })),
    requestCertificate: (podName, namespace, domain) => sim.requestCertificate(podName, namespace, domain),
    tailnetRequest: (url, opts) => sim.tailnetRequest(url, opts),
    errors: sim.errors,
  };
}

/** Per pod incarnation (uid) memory of the simulated tailscaled. */
interface PodMemory {
  uid: string;
  namespace: string;
  name: string;
  started: boolean;
  device?: { nodeId: string; name: string; addresses: string[]; nodeKey: string };
  failedKey?: string;
  loginError?: string;
  waitingReason?: string;
  advertised: string[];
  dnatTarget?: string;
  forwards?: L3Forward[];
  ingressConfigs?: Record<string, Json>;
  httpsEndpoint?: string;
  certDomains: string[];
  certificates: Set<string>;
  certShareMode?: "rw" | "ro";
  certError?: string;
  /** The serve config tailscaled applied last (`${TS_CERT_DOMAIN}` expanded); what tailnet requests meet. */
  serveConfig?: Json;
  ready: boolean;
  /** The container's Kubernetes client (as the Pod's ServiceAccount), once it started. */
  kube?: ContainerKube;
  logs: string[];
  /**
   * What the Pod's Secret and ConfigMap volumes hold (`secret:<name>` / `configMap:<name>`), as of the
   * kubelet's last sync of the Pod: containers read their files from here, not from the API.
   */
  mounted: Map<string, Json>;
  /** The next periodic sync. */
  syncTimer?: NodeJS.Timeout;
  /** SIGTERM was sent: the containers are shutting down. */
  terminating?: boolean;
  /**
   * containerboot's `/healthz` state: true once tailscaled logged in with a tailnet address and
   * advertises its config's Tailscale Services (kube/health/healthz.go; cmd/containerboot/main.go:882-902).
   */
  healthy: boolean;
  /** The readiness prober of the `tailscale` container, when it has a readinessProbe. */
  prober?: { timer?: NodeJS.Timeout; successes: number; failures: number; ready: boolean };
  /** Spec and metadata as last synced (a change triggers a sync). */
  syncedShape?: string;
}

/** containerboot substitutes this in serve configs with the node's first cert domain. */
const CERT_DOMAIN_PLACEHOLDER = "$" + "{TS_CERT_DOMAIN}";
const CONFLICT_RETRIES = 8;

/** How `Sim.updateStatus` reads an object and writes its status. */
interface StatusIo<T> {
  read(): Promise<T>;
  write(obj: T): Promise<unknown>;
}

/** What `request` resolves to, or undefined when the object is gone (404). */
async function orGone<T>(request: Promise<T>): Promise<T | undefined> {
  try {
    return await request;
  } catch (err) {
    if (apiCode(err) === 404) return undefined;
    throw err;
  }
}

function apiCode(err: unknown): number | undefined {
  const e = err as { code?: number; statusCode?: number };
  return e?.code ?? e?.statusCode;
}

/** The message of an API error's Status body (what a Go client's error prints), else the error's own. */
function apiMessage(err: unknown): string {
  const body = (err as { body?: unknown })?.body;
  try {
    const parsed = typeof body === "string" ? JSON.parse(body) : body;
    if (parsed && typeof parsed.message === "string") return parsed.message;
  } catch {
    // not JSON: fall through
  }
  return (err as Error)?.message ?? String(err);
}

/** What of a Pod the kubelet's config source compares to decide that the Pod was updated. */
function podShape(pod: k8s.V1Pod): string {
  return JSON.stringify([pod.metadata?.labels, pod.metadata?.annotations, pod.spec]);
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && [...a].sort().join("\n") === [...b].sort().join("\n");
}

function hashTemplate(template: Json): string {
  const stable = (v: Json): Json =>
    Array.isArray(v)
      ? v.map(stable)
      : v && typeof v === "object" && !(v instanceof Date)
        ? Object.fromEntries(
            Object.keys(v)
              .filter((k) => v[k] !== undefined)
              .sort()
              .map((k) => [k, stable(v[k])]),
          )
        : v;
  return createHash("sha256")
    .update(JSON.stringify(stable(template)))
    .digest("hex")
    .slice(0, 10);
}

class Sim implements ObjectLookup {
  readonly acme: AcmeSim;
  readonly errors: string[] = [];
  readonly terminations: PodTermination[] = [];
  private readonly kc = new k8s.KubeConfig();
  private readonly clients: ApiClients;
  private readonly core: k8s.CoreV1Api;
  private readonly apps: k8s.AppsV1Api;
  private readonly informers: {
    sts: k8s.Informer<k8s.V1StatefulSet> & k8s.ObjectCache<k8s.V1StatefulSet>;
    pods: k8s.Informer<k8s.V1Pod> & k8s.ObjectCache<k8s.V1Pod>;
    secrets: k8s.Informer<k8s.V1Secret> & k8s.ObjectCache<k8s.V1Secret>;
    configMaps: k8s.Informer<k8s.V1ConfigMap> & k8s.ObjectCache<k8s.V1ConfigMap>;
  };
  private readonly memory = new Map<string, PodMemory>();
  /** Pods (by UID) whose termination the kubelet started, until the API deletes them. */
  private readonly terminated = new Set<string>();
  private readonly running = new Set<string>();
  private readonly dirty = new Set<string>();
  private idleWaiters: Array<() => void> = [];
  private faults: SimFaults;
  private stopped = false;
  private nextPodIp = 10;
  private writes = 0;
  private readonly delays: Required<NonNullable<ClusterSimOptions["delays"]>>;
  private readonly timeScale: number;
  private readonly syncPeriodMs: number;
  private readonly jitter: () => number;
  /** Resolvers waiting for the next kubelet sync of any Pod (waitIdle). */
  private syncWaiters: Array<() => void> = [];
  private readonly certIssuance: CertIssuance;
  private readonly now: () => Date;
  private readonly tailscaleUrl: string;
  private readonly podCidrs: Cidr[];
  private readonly nodes: SimNode[];
  /**
   * Pods this scheduler placed that the watch cache may not show yet (the scheduler's assumed Pods),
   * by `namespace/name`.
   */
  private readonly assumed = new Map<string, PlacedPod>();
  /** The scheduler's message for each Pod it could not place, by uid. */
  private readonly unschedulable = new Map<string, string>();
  /** Resolvers waiting for the next readiness probe of any Pod (waitIdle). */
  private probeWaiters: Array<() => void> = [];

  constructor(opts: ClusterSimOptions) {
    this.podCidrs = (opts.podCIDRs ?? DEFAULT_POD_CIDRS).map(parseCidr);
    this.nodes = simNodes(opts.nodes ?? DEFAULT_NODES);
    this.kc.loadFromString(opts.kubeconfig);
    this.clients = new ApiClients(this.kc);
    this.core = this.clients.api(k8s.CoreV1Api);
    this.apps = this.clients.api(k8s.AppsV1Api);
    this.tailscaleUrl = opts.tailscaleUrl.replace(/\/+$/, "");
    this.timeScale = opts.timeScale ?? 1;
    const d = {
      podStartMs: 2000,
      loginMs: 1000,
      certMs: 5000,
      shutdownMs: 1000,
      preStopMs: 0,
      ...(opts.delays ?? {}),
    };
    this.delays = {
      podStartMs: d.podStartMs * this.timeScale,
      loginMs: d.loginMs * this.timeScale,
      certMs: d.certMs * this.timeScale,
      // The termination timeline is planned in model time (whole seconds of grace), then scaled.
      shutdownMs: d.shutdownMs,
      preStopMs: d.preStopMs,
    };
    this.syncPeriodMs = (opts.kubelet?.syncPeriodMs ?? 60_000) * this.timeScale;
    this.jitter = mulberry32(opts.kubelet?.seed ?? 1);
    this.faults = opts.faults ?? {};
    this.certIssuance = opts.certIssuance ?? "on-serve-config";
    this.now = opts.now ?? (() => new Date());
    this.acme = new AcmeSim(opts.rateLimits);
    this.informers = {
      sts: k8s.makeInformer(this.kc, "/apis/apps/v1/statefulsets", () =>
        this.apps.listStatefulSetForAllNamespaces(),
      ),
      pods: k8s.makeInformer(this.kc, "/api/v1/pods", () => this.core.listPodForAllNamespaces()),
      secrets: k8s.makeInformer(this.kc, "/api/v1/secrets", () => this.core.listSecretForAllNamespaces()),
      configMaps: k8s.makeInformer(this.kc, "/api/v1/configmaps", () =>
        this.core.listConfigMapForAllNamespaces(),
      ),
    };
  }

  // ------------------------------------------------------------------ lifecycle and queue

  async start(): Promise<void> {
    await this.registerNodes();
    const { sts, pods, secrets, configMaps } = this.informers;
    const onSts = (o: k8s.V1StatefulSet) => this.enqueue(`sts:${o.metadata!.namespace}/${o.metadata!.name}`);
    sts.on("add", onSts);
    sts.on("update", onSts);
    sts.on("delete", onSts);
    const onPod = (o: k8s.V1Pod) => {
      this.enqueue(`pod:${o.metadata!.namespace}/${o.metadata!.name}`);
      const owner = o.metadata?.ownerReferences?.find((r) => r.kind === "StatefulSet");
      if (owner) this.enqueue(`sts:${o.metadata!.namespace}/${owner.name}`);
    };
    pods.on("add", onPod);
    pods.on("update", onPod);
    pods.on("delete", (o) => {
      this.podGone(o);
      this.terminated.delete(o.metadata?.uid ?? "");
      onPod(o);
    });
    const onSecret = (o: k8s.V1Secret) => this.podsReferencing(o.metadata!.namespace!, "secret", o);
    secrets.on("add", onSecret);
    secrets.on("update", onSecret);
    secrets.on("delete", onSecret);
    const onCm = (o: k8s.V1ConfigMap) => this.podsReferencing(o.metadata!.namespace!, "configMap", o);
    configMaps.on("add", onCm);
    configMaps.on("update", onCm);
    configMaps.on("delete", onCm);
    for (const inf of Object.values(this.informers)) {
      // A dropped watch is reconnected (the informer itself stops on errors).
      inf.on("error", () => {
        if (!this.stopped) setTimeout(() => !this.stopped && inf.start().catch(() => undefined), 50);
      });
    }
    await Promise.all(Object.values(this.informers).map((i) => i.start()));
  }

  /**
   * The Node objects, as each kubelet registers its node (labels, taints, `spec.unschedulable`, and
   * `status.addresses`: InternalIP, ExternalIP when it has one, Hostname). A Node that exists is kept.
   */
  private async registerNodes(): Promise<void> {
    for (const n of this.nodes) {
      const addresses = [
        { type: "InternalIP", address: n.hostIP },
        ...(n.externalIP ? [{ type: "ExternalIP", address: n.externalIP }] : []),
        { type: "Hostname", address: n.name },
      ];
      try {
        await this.core.createNode({
          body: {
            metadata: { name: n.name, labels: n.labels },
            spec: { taints: n.taints, ...(n.unschedulable ? { unschedulable: true } : {}) },
            status: { addresses },
          },
        });
      } catch (err) {
        if ((err as { code?: number }).code !== 409) throw err;
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(Object.values(this.informers).map((i) => i.stop()));
    await this.drain();
    this.clients.close();
    for (const m of this.memory.values()) {
      clearTimeout(m.syncTimer);
      clearTimeout(m.prober?.timer);
      m.kube?.close();
    }
    for (const w of [...this.syncWaiters, ...this.probeWaiters]) w();
    this.syncWaiters = [];
    this.probeWaiters = [];
  }

  setFault(f: SimFaults): void {
    this.faults = { ...this.faults, ...f };
  }

  private enqueue(key: string): void {
    if (this.stopped) return;
    if (this.running.has(key)) {
      this.dirty.add(key);
      return;
    }
    this.running.add(key);
    void (async () => {
      do {
        this.dirty.delete(key);
        try {
          await this.reconcile(key);
        } catch (err) {
          if (!this.stopped) this.errors.push(`${key}: ${(err as Error)?.message ?? String(err)}`);
        }
      } while (this.dirty.has(key) && !this.stopped);
      this.running.delete(key);
      if (this.running.size === 0) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const w of waiters) w();
      }
    })();
  }

  private drain(): Promise<void> {
    if (this.running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Drains the queue, then re-lists everything (so events still in flight are not missed) and
   * reconciles every object again, until a full pass writes nothing.
   */
  async waitIdle(): Promise<void> {
    for (let pass = 0; pass < 20; pass++) {
      await this.drain();
      // Changes still on their way to a mounted volume land at a kubelet sync: wait for it, as a test
      // waiting for the effect in a real cluster would.
      while (!this.stopped && (await this.staleMounts())) {
        await new Promise<void>((resolve) => this.syncWaiters.push(resolve));
        await this.drain();
      }
      // A readiness probe whose next result changes the Pod's Ready condition: wait for it, too.
      while (!this.stopped && [...this.memory.values()].some((m) => this.probePending(m))) {
        await new Promise<void>((resolve) => this.probeWaiters.push(resolve));
        await this.drain();
      }
      const before = this.writes;
      const [stsList, podList] = await Promise.all([
        this.apps.listStatefulSetForAllNamespaces(),
        this.core.listPodForAllNamespaces(),
      ]);
      for (const s of stsList.items) this.enqueue(`sts:${s.metadata!.namespace}/${s.metadata!.name}`);
      for (const p of podList.items) this.enqueue(`pod:${p.metadata!.namespace}/${p.metadata!.name}`);
      await this.drain();
      if (this.writes === before) return;
    }
    throw new Error("cluster-sim did not settle after 20 passes: something keeps changing");
  }

  private podsReferencing(namespace: string, kind: "secret" | "configMap", obj: Json): void {
    const name = obj.metadata.name as string;
    const isCertSecret = kind === "secret" && obj.metadata?.labels?.["tailscale.com/secret-type"] === "certs";
    for (const pod of this.informers.pods.list(namespace)) {
      const vols = pod.spec?.volumes ?? [];
      const mounts =
        kind === "secret"
          ? vols.some((v) => v.secret?.secretName === name)
          : vols.some((v) => v.configMap?.name === name);
      const isState = kind === "secret" && pod.metadata?.name === name;
      // A mounted copy changes only at the Pod's next kubelet sync (KubeletTiming), but a volume still
      // waiting for its object is mounted as soon as it exists (the volume manager retries), and what
      // the containers read through the API (their state Secret, the HA certificate Secrets) is current.
      const mem = this.memory.get(pod.metadata!.uid!);
      const unmounted = mounts && !mem?.mounted.has(`${kind}:${name}`);
      if (unmounted || isState || isCertSecret) this.enqueue(`pod:${namespace}/${pod.metadata!.name}`);
    }
  }

  private async reconcile(key: string): Promise<void> {
    const [kind, rest] = key.split(/:(.*)/s) as [string, string];
    const [namespace, name] = rest.split("/") as [string, string];
    if (kind === "sts") await this.reconcileStatefulSet(namespace, name);
    else if (kind === "pod") await this.reconcilePod(namespace, name);
  }

  // ------------------------------------------------------------------ lookups

  /**
   * What a Pod's containers see under their Secret and ConfigMap mounts: the copy of its last kubelet
   * sync. An object read for the first time is mounted as it is now (a missing one stays unmounted, so the
   * container waits in ContainerCreating until it exists, as the volume manager retries).
   */
  private mountedView(mem: PodMemory): ObjectLookup {
    const view = (kind: "secret" | "configMap", namespace: string, name: string): Json | undefined => {
      const key = `${kind}:${name}`;
      if (mem.mounted.has(key)) return mem.mounted.get(key);
      const live = kind === "secret" ? this.secret(namespace, name) : this.configMap(namespace, name);
      if (live) mem.mounted.set(key, live);
      return live;
    };
    return {
      secret: (namespace, name) => view("secret", namespace, name),
      configMap: (namespace, name) => view("configMap", namespace, name),
    };
  }

  /** The kubelet syncs a Pod: its mounted copies become current; a changed one wakes its containers. */
  private kubeletSync(mem: PodMemory): void {
    let changed = false;
    for (const [key, old] of mem.mounted) {
      const [kind, name] = key.split(/:(.*)/s) as ["secret" | "configMap", string];
      const live = kind === "secret" ? this.secret(mem.namespace, name) : this.configMap(mem.namespace, name);
      if (!live) continue; // a deleted object stays mounted as it was
      if (live.metadata?.resourceVersion !== old?.metadata?.resourceVersion) {
        mem.mounted.set(key, live);
        changed = true;
      }
    }
    // containerboot reacts to the `..data` rotation (cmd/containerboot/tailscaled.go:200-265).
    if (changed) this.enqueue(`pod:${mem.namespace}/${mem.name}`);
    const waiters = this.syncWaiters;
    this.syncWaiters = [];
    for (const w of waiters) w();
  }

  /** Schedules the Pod's next periodic sync: `syncFrequency` plus up to half of it again. */
  private schedulePeriodicSync(mem: PodMemory): void {
    if (this.stopped) return;
    clearTimeout(mem.syncTimer);
    const delay = this.syncPeriodMs * (1 + 0.5 * this.jitter());
    mem.syncTimer = setTimeout(() => {
      if (this.stopped || this.memory.get(mem.uid) !== mem) return;
      this.kubeletSync(mem);
      this.schedulePeriodicSync(mem);
    }, delay);
  }

  /** Until the watch caches have caught up with the API (ClusterSim.watchesSynced). */
  async watchesSynced(): Promise<void> {
    for (;;) {
      const [secrets, configMaps] = await Promise.all([
        this.core.listSecretForAllNamespaces(),
        this.core.listConfigMapForAllNamespaces(),
      ]);
      const behind =
        secrets.items.some(
          (o) =>
            this.secret(o.metadata!.namespace!, o.metadata!.name!)?.metadata?.resourceVersion !==
            o.metadata!.resourceVersion,
        ) ||
        configMaps.items.some(
          (o) =>
            this.configMap(o.metadata!.namespace!, o.metadata!.name!)?.metadata?.resourceVersion !==
            o.metadata!.resourceVersion,
        );
      if (!behind || this.stopped) return;
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /**
   * Whether some Pod's mounted copy is older than the object the API serves now (its next sync will change
   * it). Asks the API, not the watch caches, which may not have seen the latest write yet.
   */
  private async staleMounts(): Promise<boolean> {
    if (![...this.memory.values()].some((m) => m.mounted.size > 0)) return false;
    const [secrets, configMaps] = await Promise.all([
      this.core.listSecretForAllNamespaces(),
      this.core.listConfigMapForAllNamespaces(),
    ]);
    const current = new Map<string, string | undefined>();
    for (const o of secrets.items) {
      current.set(`${o.metadata!.namespace}/secret:${o.metadata!.name}`, o.metadata!.resourceVersion);
    }
    for (const o of configMaps.items) {
      current.set(`${o.metadata!.namespace}/configMap:${o.metadata!.name}`, o.metadata!.resourceVersion);
    }
    for (const mem of this.memory.values()) {
      for (const [key, old] of mem.mounted) {
        const rv = current.get(`${mem.namespace}/${key}`);
        if (rv !== undefined && rv !== old?.metadata?.resourceVersion) return true;
      }
    }
    return false;
  }

  secret(namespace: string, name: string): Json | undefined {
    return this.informers.secrets.get(name, namespace);
  }

  configMap(namespace: string, name: string): Json | undefined {
    return this.informers.configMaps.get(name, namespace);
  }

  // ------------------------------------------------------------------ StatefulSet controller + kubelet

  /**
   * The StatefulSet controller's sync (kubernetes/kubernetes@0004b149
   * pkg/controller/statefulset/stateful_set_control.go updateStatefulSet, processReplica,
   * processCondemned), as it runs without the MaxUnavailableStatefulSet gate:
   * - each ordinal below `replicas` in order: a missing Pod is created; with `OrderedReady` (monotonic)
   *   the pass stops there, and at a Pod that is terminating or not Running and Ready, so a Pod is only
   *   created once its predecessors are Ready; `Parallel` creates them all and waits for none;
   * - then the condemned Pods (ordinals ≥ `replicas`), highest first: monotonic, one at a time, each once
   *   the previous one is gone and the others are Ready;
   * - then, unless `OnDelete`, the rolling update, from the highest ordinal down to `partition`: the first
   *   Pod of an old revision that is not terminating is deleted and the pass ends; an updated Pod that is
   *   not available (here: terminating or not Ready) also ends it. So one replica at a time is replaced,
   *   and the next only once its replacement is Ready, in both policies.
   */
  private async reconcileStatefulSet(namespace: string, name: string): Promise<void> {
    const sts = this.informers.sts.get(name, namespace);
    const owned = this.informers.pods
      .list(namespace)
      .filter((p) => p.metadata?.ownerReferences?.some((r) => r.kind === "StatefulSet" && r.name === name));
    if (!sts) {
      for (const p of owned) await this.deletePod(namespace, p.metadata!.name!);
      return;
    }
    const replicas = sts.spec?.replicas ?? 1;
    const revision = `${name}-${hashTemplate(sts.spec?.template)}`;
    const monotonic = sts.spec?.podManagementPolicy !== "Parallel";
    const ordinalOf = (p: k8s.V1Pod) => Number(p.metadata!.name!.slice(name.length + 1));
    const byOrdinal = new Map(owned.map((p) => [ordinalOf(p), p]));
    const condemned = owned
      .filter((p) => !(ordinalOf(p) < replicas))
      .sort((x, y) => ordinalOf(y) - ordinalOf(x));
    const terminating = (p: k8s.V1Pod) => !!p.metadata?.deletionTimestamp;
    // isRunningAndReady; minReadySeconds is not modelled, so a Ready Pod is available at once.
    const ready = (p: k8s.V1Pod) =>
      p.status?.phase === "Running" &&
      (p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false);
    const unavailable = (p: k8s.V1Pod | undefined) => !p || terminating(p) || !ready(p);
    const firstUnhealthy =
      [...Array.from({ length: replicas }, (_, i) => byOrdinal.get(i)), ...[...condemned].reverse()].find(
        unavailable,
      ) ?? null;

    // A StatefulSet being deleted only has its status updated: no Pod is created, deleted or replaced
    // (kubernetes/kubernetes@3e4a7900 pkg/controller/statefulset/stateful_set_control.go
    // updateStatefulSet), so a late event of its last Pod cannot bring one back.
    const deleting = !!sts.metadata?.deletionTimestamp;
    const done =
      deleting ||
      (await (async () => {
        for (let i = 0; i < replicas; i++) {
          const pod = byOrdinal.get(i);
          if (!pod) {
            await this.createPod(sts, i, revision);
            if (monotonic) return true;
            continue;
          }
          if (monotonic && (terminating(pod) || !ready(pod))) return true;
        }
        for (const pod of condemned) {
          if (terminating(pod)) {
            if (monotonic) return true;
            continue;
          }
          if (monotonic && !ready(pod) && pod !== firstUnhealthy) return true;
          await this.deletePod(namespace, pod.metadata!.name!);
          if (monotonic) return true;
        }
        return false;
      })());
    const strategy = sts.spec?.updateStrategy;
    if (!done && strategy?.type !== "OnDelete") {
      const partition = strategy?.rollingUpdate?.partition ?? 0;
      if (partition > 0) {
        // Pods below the partition would be recreated from the current revision, which needs the
        // ControllerRevisions this simulator does not keep.
        this.errors.push(`StatefulSet ${namespace}/${name}: a rollingUpdate partition is not modelled`);
      }
      for (let t = replicas - 1; t >= partition; t--) {
        const pod = byOrdinal.get(t);
        if (pod && pod.metadata?.labels?.["controller-revision-hash"] !== revision && !terminating(pod)) {
          // Its delete event brings us back to recreate it with the new template.
          await this.deletePod(namespace, pod.metadata!.name!);
          break;
        }
        if (unavailable(pod)) break;
      }
    }
    await this.updateStatefulSetStatus(namespace, name, revision);
  }

  /** What the scheduler's cache holds: every bound Pod, and those it placed that the watch has not shown yet. */
  private placedPods(): PlacedPod[] {
    const out = new Map<string, PlacedPod>();
    for (const p of this.informers.pods.list()) {
      if (!p.spec?.nodeName) continue;
      const key = `${p.metadata!.namespace}/${p.metadata!.name}`;
      this.assumed.delete(key);
      const owner = p.metadata?.ownerReferences?.find((r) => r.controller);
      out.set(key, {
        namespace: p.metadata!.namespace!,
        labels: p.metadata?.labels ?? {},
        nodeName: p.spec.nodeName,
        terminating: !!p.metadata?.deletionTimestamp,
        owner: owner ? `${owner.kind}/${owner.name}` : undefined,
      });
    }
    for (const [key, p] of this.assumed) if (!out.has(key)) out.set(key, p);
    return [...out.values()];
  }

  /**
   * Creates the Pod of `ordinal`, bound at once to the node the scheduler picks (the real Pod is created
   * unbound and then bound through `pods/binding`; the order of events is the same). A Pod no node can
   * take is created unbound and reported Pending and Unschedulable, and stays so: the scheduler's retry
   * on later cluster changes is not modelled.
   */
  private async createPod(sts: k8s.V1StatefulSet, ordinal: number, revision: string): Promise<void> {
    const ns = sts.metadata!.namespace!;
    const name = `${sts.metadata!.name}-${ordinal}`;
    const template = sts.spec!.template;
    const labels = {
      ...(template.metadata?.labels ?? {}),
      "controller-revision-hash": revision,
      "statefulset.kubernetes.io/pod-name": name,
      "apps.kubernetes.io/pod-index": String(ordinal),
    };
    const owner = `StatefulSet/${sts.metadata!.name}`;
    // A template's nodeName binds the Pod there, bypassing the scheduler, as the real scheduler skips
    // Pods that have one.
    const bound = template.spec?.nodeName;
    const placement = bound
      ? undefined
      : schedule({ namespace: ns, labels, spec: template.spec, owner }, this.nodes, this.placedPods());
    if (placement && "notModelled" in placement)
      this.errors.push(`pod ${ns}/${name}: ${placement.notModelled}`);
    const nodeName = bound || (placement && "node" in placement ? placement.node : undefined);
    const body: k8s.V1Pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name,
        namespace: ns,
        labels,
        annotations: template.metadata?.annotations,
        ownerReferences: [
          {
            apiVersion: "apps/v1",
            kind: "StatefulSet",
            name: sts.metadata!.name!,
            uid: sts.metadata!.uid!,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: {
        ...structuredClone(template.spec!),
        hostname: name,
        subdomain: sts.spec?.serviceName || undefined,
        nodeName,
      },
    };
    let created: k8s.V1Pod;
    try {
      created = await this.core.createNamespacedPod({ namespace: ns, body });
      this.writes++;
      if (nodeName)
        this.assumed.set(`${ns}/${name}`, { namespace: ns, labels, nodeName, terminating: false, owner });
    } catch (err) {
      if (apiCode(err) === 409) return; // created by an earlier pass whose event is still on the way
      const status = apiCode(err);
      if (status === 403 || status === 422) {
        // The StatefulSet controller records a refused Pod create as a Warning event on the StatefulSet,
        // reason FailedCreate, message "create Pod <pod> in StatefulSet <sts> failed error: <API error>",
        // and retries later (kubernetes/kubernetes@00bdb3fa pkg/controller/statefulset/stateful_pod_control.go,
        // CreateStatefulPod and recordPodEvent). The StatefulSet's status gets no condition for it.
        await this.recordStatefulSetEvent(
          sts,
          "Warning",
          "FailedCreate",
          `create Pod ${name} in StatefulSet ${sts.metadata!.name} failed error: ${apiMessage(err)}`,
        );
        return;
      }
      throw err;
    }
    if (placement && "unschedulable" in placement) {
      this.unschedulable.set(created.metadata!.uid!, placement.unschedulable);
      await this.markUnschedulable(ns, name, placement.unschedulable);
    }
  }

  /** The scheduler's status for a Pod no node can take: Pending, PodScheduled False, reason Unschedulable. */
  private async markUnschedulable(namespace: string, name: string, message: string): Promise<void> {
    await this.updateStatus(this.podStatus(namespace, name), (pod) => {
      pod.status = {
        phase: "Pending",
        qosClass: pod.status?.qosClass,
        conditions: [
          {
            type: "PodScheduled",
            status: "False",
            reason: "Unschedulable",
            message,
            lastTransitionTime: new Date(),
          },
        ] as k8s.V1PodCondition[],
      };
      return true;
    });
  }

  /** Repeats of one event are one Event whose count grows, as client-go's event recorder aggregates them. */
  private readonly recordedEvents = new Map<string, string>();

  /** Writes (or bumps) an Event about a StatefulSet as `statefulset-controller`. */
  private async recordStatefulSetEvent(
    sts: k8s.V1StatefulSet,
    type: string,
    reason: string,
    message: string,
  ): Promise<void> {
    const ns = sts.metadata!.namespace!;
    const key = `${ns}/${sts.metadata!.uid}/${reason}/${message}`;
    const now = new Date();
    const existing = this.recordedEvents.get(key);
    try {
      if (existing) {
        const ev = await this.core.readNamespacedEvent({ name: existing, namespace: ns });
        ev.count = (ev.count ?? 1) + 1;
        ev.lastTimestamp = now;
        await this.core.replaceNamespacedEvent({ name: existing, namespace: ns, body: ev });
        return;
      }
      const name = `${sts.metadata!.name}.${(now.getTime() * 1e6 + Math.floor(Math.random() * 1e6)).toString(16)}`;
      await this.core.createNamespacedEvent({
        namespace: ns,
        body: {
          metadata: { name, namespace: ns },
          involvedObject: {
            apiVersion: "apps/v1",
            kind: "StatefulSet",
            name: sts.metadata!.name,
            namespace: ns,
            uid: sts.metadata!.uid,
            resourceVersion: sts.metadata!.resourceVersion,
          },
          type,
          reason,
          message,
          source: { component: "statefulset-controller" },
          reportingComponent: "statefulset-controller",
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
      this.recordedEvents.set(key, name);
    } catch (err) {
      // An event that cannot be written is dropped, as the recorder drops it; the controller goes on.
      if (apiCode(err) === 404) this.recordedEvents.delete(key);
    }
  }

  private async deletePod(namespace: string, name: string): Promise<void> {
    try {
      // The StatefulSet controller deletes with the Pod's own grace period (no gracePeriodSeconds);
      // the kubelet ends the Pod once its containers stopped.
      await this.core.deleteNamespacedPod({ namespace, name });
      this.writes++;
    } catch (err) {
      if (apiCode(err) !== 404) throw err;
    }
  }

  private async updateStatefulSetStatus(namespace: string, name: string, revision: string): Promise<void> {
    const io: StatusIo<k8s.V1StatefulSet> = {
      read: () => this.apps.readNamespacedStatefulSet({ name, namespace }),
      write: (body) => this.apps.replaceNamespacedStatefulSetStatus({ name, namespace, body }),
    };
    await this.updateStatus(io, (sts) => {
      const pods = this.informers.pods
        .list(namespace)
        .filter(
          (p) =>
            !p.metadata?.deletionTimestamp &&
            p.metadata?.ownerReferences?.some((r) => r.kind === "StatefulSet" && r.uid === sts.metadata?.uid),
        );
      const current = pods.filter((p) => p.metadata?.labels?.["controller-revision-hash"] === revision);
      const ready = current.filter((p) =>
        p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
      );
      const status: k8s.V1StatefulSetStatus = {
        observedGeneration: sts.metadata?.generation,
        replicas: pods.length,
        readyReplicas: ready.length,
        availableReplicas: ready.length,
        currentReplicas: current.length,
        updatedReplicas: current.length,
        currentRevision: revision,
        updateRevision: revision,
        collisionCount: 0,
      };
      const old = sts.status ?? ({} as k8s.V1StatefulSetStatus);
      const same = (Object.keys(status) as Array<keyof k8s.V1StatefulSetStatus>).every(
        (k) => old[k] === status[k],
      );
      if (same) return false;
      sts.status = status;
      return true;
    });
  }

  private async setPodStatus(
    namespace: string,
    name: string,
    o: { ready: boolean; waitingReason?: string; message?: string },
  ): Promise<void> {
    await this.updateStatus(this.podStatus(namespace, name), (pod) => {
      const podIPs = pod.status?.podIPs?.length ? pod.status.podIPs.map((p) => p.ip) : this.allocPodIps();
      const podIP = podIPs[0]!;
      const hostIP = this.nodes.find((n) => n.name === pod.spec?.nodeName)?.hostIP ?? "";
      const started = pod.status?.startTime ?? new Date();
      const containers = (pod.spec?.containers ?? []).map((c) => ({
        name: c.name,
        image: c.image ?? "",
        imageID: "",
        ready: o.ready,
        restartCount: o.waitingReason === "CrashLoopBackOff" ? 1 : 0,
        started: !o.waitingReason,
        state: o.waitingReason
          ? { waiting: { reason: o.waitingReason, message: o.message } }
          : { running: { startedAt: started } },
      }));
      const cond = (type: string, status: boolean) => ({ type, status: status ? "True" : "False" });
      const desired = {
        phase: "Running",
        podIP,
        podIPs: podIPs.map((ip) => ({ ip })),
        hostIP,
        ready: o.ready,
        reason: o.waitingReason ?? "",
      };
      const prevReady = pod.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";
      const prevReason = pod.status?.containerStatuses?.[0]?.state?.waiting?.reason ?? "";
      if (
        pod.status?.phase === "Running" &&
        pod.status.podIP === podIP &&
        prevReady === o.ready &&
        prevReason === desired.reason
      ) {
        return false;
      }
      pod.status = {
        phase: "Running",
        podIP,
        podIPs: podIPs.map((ip) => ({ ip })),
        hostIP,
        startTime: started,
        qosClass: pod.status?.qosClass,
        conditions: [
          cond("PodScheduled", true),
          cond("Initialized", true),
          cond("ContainersReady", o.ready),
          cond("Ready", o.ready),
        ] as k8s.V1PodCondition[],
        containerStatuses: containers as k8s.V1ContainerStatus[],
      };
      return true;
    });
  }

  /**
   * The Pod status the kubelet reports for what the containers do now: the container waiting (not
   * started, crash-looping) or running, and Ready by {@link podReady}.
   */
  private writeStatus(mem: PodMemory, message?: string): Promise<void> {
    const pod = this.informers.pods.get(mem.name, mem.namespace);
    return this.setPodStatus(mem.namespace, mem.name, {
      ready: this.podReady(pod, mem),
      waitingReason: containerWaiting(mem),
      message,
    });
  }

  /**
   * Ready as the kubelet decides it (pkg/kubelet/prober, status/generate.go): a running container without a
   * readinessProbe is Ready as soon as it started, whatever containerboot and tailscaled are doing; with
   * one, once the probe succeeded `successThreshold` times in a row, until it failed `failureThreshold`
   * times in a row.
   */
  private podReady(pod: k8s.V1Pod | undefined, mem: PodMemory): boolean {
    if (!mem.started || containerWaiting(mem)) return false;
    if (!tailscaleContainer(pod)?.readinessProbe) return true;
    return mem.prober?.ready === true;
  }

  /**
   * The kubelet's readiness prober of the `tailscale` container: a probe at the container's start (none
   * before `initialDelaySeconds`), then every `periodSeconds` (pkg/kubelet/prober/worker.go), evaluated
   * against what the simulated containerboot serves ({@link probeSucceeds}). A change of the result
   * re-reconciles the Pod, which writes its Ready condition.
   */
  private startProber(pod: k8s.V1Pod, env: Record<string, string>, mem: PodMemory): void {
    const container = tailscaleContainer(pod);
    const probe = container?.readinessProbe;
    if (!probe || mem.prober) return;
    const prober: NonNullable<PodMemory["prober"]> = { successes: 0, failures: 0, ready: false };
    mem.prober = prober;
    const startedAt = Date.now();
    const period = (probe.periodSeconds ?? 10) * 1000 * this.timeScale;
    const tick = () => {
      if (this.stopped || this.memory.get(mem.uid) !== mem || mem.terminating) return;
      if (Date.now() - startedAt >= (probe.initialDelaySeconds ?? 0) * 1000 * this.timeScale) {
        const ok = this.probeSucceeds(pod, container!, env, mem);
        const before = prober.ready;
        if (ok) {
          prober.failures = 0;
          prober.successes++;
          if (prober.successes >= (probe.successThreshold ?? 1)) prober.ready = true;
        } else {
          prober.successes = 0;
          prober.failures++;
          if (prober.failures >= (probe.failureThreshold ?? 3)) prober.ready = false;
        }
        if (prober.ready !== before) this.enqueue(`pod:${mem.namespace}/${mem.name}`);
      }
      const waiters = this.probeWaiters;
      this.probeWaiters = [];
      for (const w of waiters) w();
      prober.timer = setTimeout(tick, period);
    };
    tick();
  }

  /** Whether the Pod's next probe will change its Ready condition (waitIdle waits for it). */
  private probePending(mem: PodMemory): boolean {
    if (!mem.prober || mem.terminating) return false;
    const pod = this.informers.pods.get(mem.name, mem.namespace);
    const container = tailscaleContainer(pod);
    if (!pod || !container) return false;
    return this.probeSucceeds(pod, container, resolveEnv(pod, container, this), mem) !== mem.prober.ready;
  }

  /**
   * One readiness probe of the `tailscale` container against containerboot's local HTTP server
   * (tailscale/tailscale@de9ec7ee cmd/containerboot/main.go:436-457): it runs while containerboot
   * does, when `TS_ENABLE_METRICS` or `TS_ENABLE_HEALTH_CHECK` is true, on `TS_LOCAL_ADDR_PORT` (default
   * `[::]:9002`, settings.go:133), and serves `/metrics` (always 200 here) and `/healthz` (200 once the
   * node has a tailnet address, else 503: kube/health/healthz.go:33-50). The kubelet connects to the
   * Pod IP (or `host`): a server bound to another address or port refuses the connection.
   */
  private probeSucceeds(
    pod: k8s.V1Pod,
    container: k8s.V1Container,
    env: Record<string, string>,
    mem: PodMemory,
  ): boolean {
    const probe = container.readinessProbe!;
    if (!mem.started || containerWaiting(mem)) return false;
    const handler = probe.httpGet ?? probe.tcpSocket;
    if (!handler) {
      const note = `pod ${mem.namespace}/${mem.name}: only httpGet and tcpSocket readiness probes are modelled`;
      if (!this.errors.includes(note)) this.errors.push(note);
      return false;
    }
    const metrics = goBool(env["TS_ENABLE_METRICS"]);
    const health = goBool(env["TS_ENABLE_HEALTH_CHECK"]);
    const local = /^(?:\[(.*)\]|([^:]*)):(\d+)$/.exec(env["TS_LOCAL_ADDR_PORT"] || "[::]:9002");
    if (!local || !(metrics || health)) return false;
    const bound = local[1] ?? local[2] ?? "";
    const port =
      typeof handler.port === "number"
        ? handler.port
        : container.ports?.find((p) => p.name === handler.port)?.containerPort;
    const podIPs = (pod.status?.podIPs ?? []).map((p) => p.ip);
    const target = handler.host || pod.status?.podIP || "";
    const reachable = ["", "::", "0.0.0.0"].includes(bound) ? podIPs.includes(target) : bound === target;
    if (port !== Number(local[3]) || !reachable) return false;
    if (probe.tcpSocket) return true;
    const path = probe.httpGet?.path ?? "/";
    if (path === "/healthz" && health) return mem.healthy;
    return path === "/metrics" && metrics;
  }

  /** One IP per Pod CIDR, the primary first; IPv4 skips .0 and .255 as this allocator always did. */
  private allocPodIps(): string[] {
    const n = this.nextPodIp++;
    return this.podCidrs.map((c) => {
      if (c.family === "IPv6") return bigIntToIp(c.base + BigInt(n + 1), "IPv6");
      return bigIntToIp(c.base + BigInt(Math.floor(n / 254) % 256) * 256n + BigInt((n % 254) + 1), "IPv4");
    });
  }

  /**
   * A status write as the kubelet and the controllers make one: read the object, let `change` set its
   * status (false: nothing to write), write the status subresource. A 409 starts over with a fresh
   * read; an object deleted before the read or the write is dropped, as a controller drops a key
   * whose object is gone.
   */
  private async updateStatus<T>(io: StatusIo<T>, change: (obj: T) => boolean): Promise<void> {
    await this.retryConflicts(async () => {
      const obj = await orGone(io.read());
      if (obj === undefined || !change(obj)) return;
      if ((await orGone(io.write(obj))) === undefined) return;
      this.writes++;
    });
  }

  /** The reads and status writes of Pod `namespace/name`, for {@link updateStatus}. */
  private podStatus(namespace: string, name: string): StatusIo<k8s.V1Pod> {
    return {
      read: () => this.core.readNamespacedPod({ name, namespace }),
      write: (body) => this.core.replaceNamespacedPodStatus({ name, namespace, body }),
    };
  }

  private async retryConflicts(fn: () => Promise<void>): Promise<void> {
    for (let i = 0; ; i++) {
      try {
        return await fn();
      } catch (err) {
        if (apiCode(err) !== 409 || i >= CONFLICT_RETRIES) throw err;
      }
    }
  }

  // ------------------------------------------------------------------ state Secret (tailscaled kube store)

  // ------------------------------------------------------------------ containerboot + tailscaled

  /**
   * The kubelet's graceful termination (termination.ts has the rules and their sources): each running
   * container's preStop hook, SIGTERM, its exit or a SIGKILL at the end of what is left of the grace
   * period; meanwhile containerboot and tailscaled run on and may still write state (containerboot
   * unadvertises at once on SIGTERM). Then the terminal status, and the status manager's final delete
   * with gracePeriodSeconds 0 and the Pod's UID as precondition.
   */
  private async terminatePod(pod: k8s.V1Pod): Promise<void> {
    const uid = pod.metadata!.uid!;
    if (this.terminated.has(uid)) return;
    this.terminated.add(uid);
    const mem = this.memory.get(uid);
    if (mem) {
      mem.terminating = true;
      // A terminating Pod's readiness is left as it was (README, "Not modelled").
      clearTimeout(mem.prober?.timer);
    }
    // No kubelet runs a Pod bound to a node this cluster does not have: its delete is completed at once,
    // as the Pod garbage collector completes it.
    const stopped = this.nodes.some((n) => n.name === pod.spec?.nodeName)
      ? await this.killContainers(pod, mem)
      : undefined;
    this.podGone(pod);
    if (stopped) await this.writeTerminalStatus(pod, stopped);
    try {
      await this.core.deleteNamespacedPod({
        namespace: pod.metadata!.namespace!,
        name: pod.metadata!.name!,
        gracePeriodSeconds: 0,
        body: { preconditions: { uid } },
      });
      this.writes++;
    } catch (err) {
      if (apiCode(err) !== 404 && apiCode(err) !== 409) throw err;
    }
  }

  /**
   * Each running container killed as the kubelet kills it (termination.ts): its preStop hook, SIGTERM,
   * its exit or SIGKILL; the `tailscale` container's SIGTERM goes to containerboot, and the device goes
   * offline when that container is gone. Records the timeline in `terminations`.
   */
  private async killContainers(pod: k8s.V1Pod, mem: PodMemory | undefined): Promise<ContainerTermination[]> {
    const graceSeconds = pod.metadata?.deletionGracePeriodSeconds ?? 0;
    const running = (pod.spec?.containers ?? []).filter(
      (c) => pod.status?.containerStatuses?.find((s) => s.name === c.name)?.state?.running,
    );
    const plans = running.map((c) =>
      planContainerTermination({
        name: c.name,
        graceSeconds,
        hookMs: preStopMs(c.lifecycle, this.delays.preStopMs),
        exitAfterSigtermMs:
          c.name === "tailscale"
            ? containerbootExitMs((mem?.advertised.length ?? 0) > 0, this.delays.shutdownMs)
            : this.delays.shutdownMs,
      }),
    );
    this.terminations.push({
      namespace: pod.metadata!.namespace!,
      name: pod.metadata!.name!,
      uid: pod.metadata!.uid!,
      graceSeconds,
      containers: plans,
    });
    const sleep = (modelMs: number) =>
      modelMs > 0 ? new Promise((r) => setTimeout(r, modelMs * this.timeScale)) : Promise.resolve();
    await Promise.all(
      plans.map(async (p) => {
        if (p.preStopMs > 0) mem?.logs.push(`kubelet: running the preStop hook of container ${p.name}`);
        await sleep(p.sigtermAtMs);
        if (p.name === "tailscale" && mem) await this.containerbootSigterm(mem);
        await sleep(p.exitAtMs - p.sigtermAtMs);
        if (p.killed) {
          mem?.logs.push(
            `kubelet: container ${p.name} did not exit within ${p.stopTimeoutS}s of SIGTERM: killed (SIGKILL)`,
          );
        }
        // tailscaled is gone with its container: the device goes offline.
        if (p.name === "tailscale") this.podGone(pod);
      }),
    );
    return plans;
  }

  /**
   * containerboot on SIGTERM: it unadvertises every Tailscale Service at once (tailscaled tells control
   * and persists the prefs in its state Secret), then waits (termination.ts containerbootExitMs).
   */
  private async containerbootSigterm(mem: PodMemory): Promise<void> {
    mem.logs.push("containerboot: received SIGTERM, shutting down");
    if (!mem.device || mem.advertised.length === 0) return;
    mem.logs.push(`containerboot: unadvertising services: ${mem.advertised.join(",")}`);
    const r = await this.control("POST", `/devices/${mem.device.nodeId}/advertise`, { services: [] });
    if (r.status !== 200) return;
    mem.advertised = [];
    if (!mem.kube) return;
    await this.writeProfile(mem, mem.kube.stateSecret, mem.device, []).catch((err) => {
      // The Secret or the Pod's permission may be gone during a teardown: tailscaled logs and goes on.
      mem.logs.push(`containerboot: error persisting prefs: ${apiMessage(err)}`);
    });
  }

  /**
   * The status the kubelet writes once every container stopped: the terminal phase, each container
   * `terminated` (how it stopped, or ContainerStatusUnknown when it was not running), not ready.
   */
  private async writeTerminalStatus(pod: k8s.V1Pod, plans: readonly ContainerTermination[]): Promise<void> {
    const { namespace, name, uid } = pod.metadata as { namespace: string; name: string; uid: string };
    await this.updateStatus(this.podStatus(namespace, name), (live) => {
      if (live.metadata?.uid !== uid) return false;
      const finishedAt = new Date();
      const containerStatuses = (live.spec?.containers ?? []).map((c) => {
        const before = live.status?.containerStatuses?.find((s) => s.name === c.name);
        const plan = plans.find((p) => p.name === c.name);
        const ended: TerminatedState = plan
          ? { exitCode: plan.exitCode, reason: plan.reason }
          : NOT_RUNNING_AT_TERMINATION;
        return {
          name: c.name,
          image: before?.image ?? c.image ?? "",
          imageID: before?.imageID ?? "",
          ready: false,
          restartCount: before?.restartCount ?? 0,
          started: false,
          state: {
            terminated: {
              ...ended,
              ...(plan ? { startedAt: before?.state?.running?.startedAt, finishedAt } : {}),
            },
          },
        } as k8s.V1ContainerStatus;
      });
      const phase = terminalPhase(containerStatuses.map((s) => s.state!.terminated as TerminatedState));
      const notReady = (type: string) => ({ type, status: "False", reason: terminalReadyReason(phase) });
      live.status = {
        ...live.status,
        phase,
        conditions: (live.status?.conditions ?? []).map((c) =>
          c.type === "Ready" || c.type === "ContainersReady" ? notReady(c.type) : c,
        ),
        containerStatuses,
      };
      return true;
    });
  }

  private podGone(pod: k8s.V1Pod): void {
    const uid = pod.metadata?.uid;
    if (!uid) return;
    const mem = this.memory.get(uid);
    this.memory.delete(uid);
    this.unschedulable.delete(uid);
    this.assumed.delete(`${pod.metadata?.namespace}/${pod.metadata?.name}`);
    clearTimeout(mem?.syncTimer);
    clearTimeout(mem?.prober?.timer);
    mem?.kube?.close();
    if (mem?.device) {
      // containerboot unadvertises on SIGTERM and tailscaled goes offline.
      void this.control("POST", `/devices/${mem.device.nodeId}/disconnect`, {}).catch(() => undefined);
    }
  }

  private async control(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: Json }> {
    const res = await fetch(`${this.tailscaleUrl}/_control${path}`, {
      method,
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: Json;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = { message: text };
    }
    return { status: res.status, body: parsed };
  }

  private async reconcilePod(namespace: string, name: string): Promise<void> {
    const pod = this.informers.pods.get(name, namespace);
    if (!pod) return;
    if (pod.metadata?.deletionTimestamp) return this.terminatePod(pod);
    // No kubelet runs a Pod the scheduler did not bind, nor one bound to a node this cluster does not have:
    // it stays Pending (a delete is completed as the Pod garbage collector completes it for Pods of missing
    // nodes, in terminatePod).
    if (!pod.spec?.nodeName || !this.nodes.some((n) => n.name === pod.spec?.nodeName)) return;
    const uid = pod.metadata!.uid!;
    let mem = this.memory.get(uid);
    if (!mem) {
      mem = {
        uid,
        namespace,
        name,
        started: false,
        advertised: [],
        certDomains: [],
        certificates: new Set(),
        ready: false,
        healthy: false,
        logs: [],
        mounted: new Map(),
        syncedShape: podShape(pod),
      };
      this.memory.set(uid, mem);
      this.schedulePeriodicSync(mem);
      if (this.delays.podStartMs > 0) await new Promise((r) => setTimeout(r, this.delays.podStartMs));
    } else if (mem.syncedShape !== podShape(pod)) {
      // A Pod update from the API source (labels, annotations, spec) makes the kubelet sync it now.
      mem.syncedShape = podShape(pod);
      this.kubeletSync(mem);
      this.schedulePeriodicSync(mem);
    }
    const startFault = this.faults.podStart;
    if (
      startFault &&
      (startFault.podName instanceof RegExp ? startFault.podName.test(name) : startFault.podName === name)
    ) {
      mem.waitingReason = startFault.reason;
      return this.writeStatus(mem);
    }
    const container = pod.spec?.containers?.find((c) => c.name === "tailscale");
    if (!container) {
      mem.ready = true;
      mem.started = true;
      return this.writeStatus(mem);
    }
    // Fresh pod IP for env resolution: assign it before containerboot reads POD_IP.
    if (!pod.status?.podIP) {
      mem.waitingReason = "ContainerCreating";
      await this.writeStatus(mem);
      return; // the status update event brings us back with the IP in place
    }
    const env = resolveEnv(pod, container, this);
    const stateName = env["TS_KUBE_SECRET"];
    const configDir = env["TS_EXPERIMENTAL_VERSIONED_CONFIG_DIR"];
    if (!stateName || !configDir) {
      this.errors.push(
        `pod ${namespace}/${name}: tailscale container lacks TS_KUBE_SECRET or the config dir`,
      );
      return;
    }
    const configSource = resolveMount(pod, container, configDir);
    const mounted = this.mountedView(mem);
    const configKey = pickConfigKey(listMountedKeys(pod, container, configDir, mounted));
    if (!configSource || !configKey) {
      // kubelet cannot mount a missing Secret volume: the container never starts.
      mem.waitingReason = "ContainerCreating";
      return this.writeStatus(mem);
    }
    let config: Json;
    try {
      config = parseHuJson(readMountedFile(pod, container, `${configDir}/${configKey}`, mounted) ?? "{}");
    } catch (err) {
      mem.waitingReason = "CrashLoopBackOff";
      mem.loginError = `cannot parse ${configKey}: ${(err as Error).message}`;
      return this.writeStatus(mem);
    }

    if (!mem.started) {
      const podIPs = podIPsFromEnv(env);
      if (typeof podIPs === "string") return this.containerExit(mem, new Error(podIPs));
      const started = await ContainerKube.start({
        admin: this.core,
        base: this.kc,
        pod,
        env,
        stateSecret: stateName,
      });
      if (!(started instanceof ContainerKube)) {
        mem.waitingReason = started.waitingReason;
        mem.loginError = started.message;
        return this.writeStatus(mem, started.message);
      }
      mem.kube = started;
      try {
        // resetContainerbootState, then the state store's load.
        if (this.secret(namespace, stateName)) {
          await this.ownKeys(mem, {
            pod_uid: uid,
            tailscale_capver: String(SIM_CAPVER),
            https_endpoint: undefined,
            "ingress-config.json": undefined,
          });
        }
        await started.loadState();
        if (env["TS_EXPERIMENTAL_CERT_SHARE"] === "true" && !/-0$/.test(name)) {
          const pg = name.slice(0, name.lastIndexOf("-"));
          const listed = await started.listCertSecrets(
            `tailscale.com/secret-type=certs,tailscale.com/managed=true,tailscale.com/proxy-group=${pg}`,
          );
          if (typeof listed === "string") mem.logs.push(`[unexpected] error loading TLS certs: ${listed}`);
          else
            for (const sec of listed)
              if (secretValue(sec, "tls.crt")) mem.certificates.add(sec.metadata.name);
        }
      } catch (err) {
        return this.containerExit(mem, err);
      }
      // The container runs: without a readiness probe the kubelet reports it Ready from now on.
      mem.started = true;
      mem.waitingReason = undefined;
      await this.writeStatus(mem);
      this.startProber(pod, env, mem);
    }
    try {
      await this.runContainer(pod, container, env, mem, stateName, config);
    } catch (err) {
      if ((err as { code?: number })?.code === 403) return this.containerExit(mem, err);
      throw err;
    }
  }

  /** containerboot exits when a Kubernetes call it cannot do without is refused: the Pod crash-loops. */
  private async containerExit(mem: PodMemory, err: unknown): Promise<void> {
    const body = (err as { body?: unknown })?.body;
    let message = String((err as Error)?.message ?? err);
    try {
      message = JSON.parse(String(body)).message ?? message;
    } catch {
      // not a Status body
    }
    mem.waitingReason = "CrashLoopBackOff";
    mem.loginError = message;
    mem.ready = false;
    mem.healthy = false;
    await this.writeStatus(mem, message);
  }

  /** containerboot's strategic merge patch of its own keys, skipped when the Secret already has them. */
  private async ownKeys(mem: PodMemory, changes: Record<string, string | undefined>): Promise<void> {
    const stateName = mem.kube!.stateSecret;
    const current = this.secret(mem.namespace, stateName);
    const same = Object.entries(changes).every(([k, v]) => secretValue(current, k) === v);
    if (same && current) return;
    await mem.kube!.patchOwnKeys(changes);
    this.writes++;
  }

  /** The state store's write (tailscaled's kubestore), as the Pod's ServiceAccount. */
  private async store(
    mem: PodMemory,
    secretName: string,
    changes: Record<string, string | Buffer | undefined>,
  ): Promise<void> {
    if (await mem.kube!.storeWrite(secretName, changes)) this.writes++;
  }

  private async runContainer(
    pod: k8s.V1Pod,
    container: k8s.V1Container,
    env: Record<string, string>,
    mem: PodMemory,
    stateName: string,
    config: Json,
  ): Promise<void> {
    if (mem.device) {
      // The netmap tells tailscaled when its node was deleted in control: it is logged out.
      const probe = await this.control("GET", `/devices/${mem.device.nodeId}`);
      if (probe.status === 404) {
        mem.device = undefined;
        mem.advertised = [];
        mem.healthy = false;
      }
    }
    if (!mem.device) {
      const ok = await this.login(mem, stateName, config);
      if (!ok) return;
    }

    const device = mem.device!;
    const destIP = env["TS_DEST_IP"];
    mem.dnatTarget = destIP || env["TS_EXPERIMENTAL_DEST_DNS_NAME"] || undefined;
    const forwards: L3Forward[] = [];
    if (destIP) {
      const rule = ingressForwardingRule(destIP, device.addresses);
      if (typeof rule === "string")
        return this.containerExit(mem, new Error(`installing ingress proxy rules: ${rule}`));
      forwards.push(rule);
    }
    mem.forwards = destIP ? forwards : undefined;

    const advertise: string[] = Array.isArray(config.AdvertiseServices) ? config.AdvertiseServices : [];
    if (!sameList(advertise, mem.advertised)) {
      const r = await this.control("POST", `/devices/${device.nodeId}/advertise`, { services: advertise });
      if (r.status === 200) {
        mem.advertised = [...advertise];
        await this.writeProfile(mem, stateName, device, mem.advertised);
      } else if (r.status === 404) {
        return this.deviceDeleted(mem);
      } else {
        mem.loginError = r.body?.message;
      }
    }
    // The netmap gives the node its addresses: containerboot's /healthz answers 200 from now on, before
    // it applies the serve config and the layer-3 rules (cmd/containerboot/main.go:900-902, 917-921, 964-979).
    mem.healthy = device.addresses.length > 0;

    // The ingress proxy starts once the device is stored (startup complete, main.go:927-980) and syncs
    // at start and at every change of its directory, i.e. whenever the kubelet changes the mount.
    const ingressPath = env["TS_INGRESS_PROXIES_CONFIG_PATH"];
    if (ingressPath) {
      const rules = await this.applyIngressConfig(pod, container, env, ingressPath, stateName, mem);
      if (rules === undefined) return;
      mem.forwards = [...forwards, ...rules];
    }

    const servePath = env["TS_SERVE_CONFIG"];
    if (servePath) await this.applyServeConfig(pod, container, env, servePath, stateName, mem);

    mem.ready = true;
    mem.waitingReason = undefined;
    await this.writeStatus(mem);
  }

  /** tailscaled start: reuse the node in the state Secret, else log in with the config's auth key. */
  private async login(mem: PodMemory, stateName: string, config: Json): Promise<boolean> {
    const { namespace, name } = mem;
    const state = this.secret(namespace, stateName);
    const nodeKey = secretValue(state, "_machinekey");
    const deviceId = secretValue(state, "device_id");
    if (nodeKey && deviceId) {
      const r = await this.control("POST", `/devices/${deviceId}/relogin`, { nodeKey });
      if (r.status === 200) {
        mem.device = { nodeId: r.body.nodeId, name: r.body.name, addresses: r.body.addresses, nodeKey };
        await this.writeDevice(stateName, mem);
        return true;
      }
    }
    const authKey: string | undefined = config.AuthKey;
    if (!authKey) {
      // tailscaled waits for interactive login that never comes.
      mem.waitingReason = "NeedsLogin";
      mem.healthy = false;
      await this.writeStatus(mem);
      return false;
    }
    if (mem.failedKey === authKey) return false; // still waiting for the operator to reissue
    if (mem.failedKey) {
      // A new key arrived: containerboot clears the reissue request and the stale device keys.
      await this.ownKeys(mem, {
        reissue_authkey: undefined,
        device_id: undefined,
        device_fqdn: undefined,
        device_ips: undefined,
      });
    }
    if (this.delays.loginMs > 0) await new Promise((r) => setTimeout(r, this.delays.loginMs));
    const hostname: string = config.Hostname || name;
    const r = await this.control("POST", "/login", { authKey, hostname });
    if (r.status !== 200) {
      mem.failedKey = authKey;
      mem.loginError = r.body?.message ?? `login failed with HTTP ${r.status}`;
      mem.waitingReason = "CrashLoopBackOff";
      await this.ownKeys(mem, { reissue_authkey: authKey });
      mem.healthy = false;
      await this.writeStatus(mem, mem.loginError);
      return false;
    }
    mem.failedKey = undefined;
    mem.loginError = undefined;
    mem.device = {
      nodeId: r.body.nodeId,
      name: r.body.name,
      addresses: r.body.addresses,
      nodeKey: r.body.nodeKey,
    };
    mem.advertised = [];
    await this.writeDevice(stateName, mem);
    return true;
  }

  private async writeDevice(stateName: string, mem: PodMemory): Promise<void> {
    const d = mem.device!;
    // tailscaled persists its key; containerboot then records the device (storeDeviceID/Endpoints).
    await this.store(mem, stateName, { _machinekey: d.nodeKey });
    await this.ownKeys(mem, {
      device_id: d.nodeId,
      device_fqdn: `${d.name}.`,
      device_ips: JSON.stringify(d.addresses),
      reissue_authkey: undefined,
    });
    await this.writeProfile(mem, stateName, d, mem.advertised);
  }

  private async writeProfile(
    mem: PodMemory,
    stateName: string,
    d: NonNullable<PodMemory["device"]>,
    advertise: string[],
  ): Promise<void> {
    const profileId = createHash("sha256").update(d.nodeId).digest("hex").slice(0, 4);
    const prefs = {
      Config: { NodeID: d.nodeId, UserProfile: { LoginName: d.name } },
      AdvertiseServices: advertise.length > 0 ? advertise : null,
    };
    const profileKey = `profile-${profileId}`;
    await this.store(mem, stateName, {
      "_current-profile": profileKey,
      _profiles: JSON.stringify({ [profileId]: { ID: profileId, Name: d.name, NodeID: d.nodeId } }),
      [profileKey]: JSON.stringify(prefs),
    });
  }

  private async deviceDeleted(mem: PodMemory): Promise<void> {
    // The node was deleted in control: tailscaled is logged out and must log in again.
    mem.device = undefined;
    mem.advertised = [];
    mem.healthy = false;
    this.enqueue(`pod:${mem.namespace}/${mem.name}`);
  }

  /**
   * One sync of containerboot's ingress proxy (ingressservices.go sync): the mounted config, its DNAT
   * rules, and the status recorded in the state Secret. A config it cannot read or install fails the
   * sync, and containerboot exits ("ingress proxy failed"). Resolves to the rules, or undefined when
   * the container exited.
   */
  private async applyIngressConfig(
    pod: k8s.V1Pod,
    container: k8s.V1Container,
    env: Record<string, string>,
    path: string,
    stateName: string,
    mem: PodMemory,
  ): Promise<L3Forward[] | undefined> {
    const text = readMountedFile(pod, container, path, this.mountedView(mem));
    let configs: ReturnType<typeof parseIngressConfigs>;
    let rules: L3Forward[];
    try {
      configs = parseIngressConfigs(text);
      rules = ingressRules(configs);
    } catch (err) {
      await this.containerExit(
        mem,
        new Error(`ingress proxy failed: ingress proxy: error syncing configs: ${(err as Error).message}`),
      );
      return undefined;
    }
    mem.ingressConfigs = configs ?? undefined;
    const podIPs = podIPsFromEnv(env) as { v4?: string; v6?: string };
    const recorded = secretValue(this.secret(mem.namespace, stateName), "ingress-config.json");
    const status = statusToRecord(configs, podIPs, recorded);
    if (status !== undefined) {
      await mem.kube!.jsonPatchKey("ingress-config.json", status);
      this.writes++;
    }
    return rules;
  }

  private async applyServeConfig(
    pod: k8s.V1Pod,
    container: k8s.V1Container,
    env: Record<string, string>,
    path: string,
    stateName: string,
    mem: PodMemory,
  ): Promise<void> {
    const raw = readMountedFile(pod, container, path, this.mountedView(mem));
    if (raw === undefined || raw.trim() === "") return;
    const r = await this.control("GET", `/devices/${mem.device!.nodeId}/cert-domains`);
    if (r.status === 404) return this.deviceDeleted(mem);
    const certDomains: string[] = r.body?.certDomains ?? [];
    mem.certDomains = certDomains;
    const certDomain = certDomains[0] ?? "no-https";
    let serve: Json;
    try {
      serve = JSON.parse(raw.replaceAll(CERT_DOMAIN_PLACEHOLDER, certDomain));
    } catch (err) {
      this.errors.push(
        `pod ${mem.namespace}/${mem.name}: serve config is not JSON: ${(err as Error).message}`,
      );
      return;
    }
    mem.httpsEndpoint = certDomain;
    await this.ownKeys(mem, { https_endpoint: certDomain });
    // containerboot applies it unless it serves HTTPS at the top level on a tailnet without HTTPS
    // (`tailscale/tailscale@de9ec7ee cmd/containerboot/serve.go` isValidHTTPSConfig).
    const topLevelHttps = Object.values<Json>(serve?.TCP ?? {}).some((h) => h?.HTTPS === true);
    mem.serveConfig = topLevelHttps && certDomain === "no-https" ? undefined : serve;

    const environment = environmentFromEnv(env);
    if (serve?.Services && typeof serve.Services === "object") {
      // HA ProxyGroup: replica 0 issues for advertised svc names, the others read the cert Secrets.
      const share = env["TS_EXPERIMENTAL_CERT_SHARE"] === "true";
      mem.certShareMode = share && /-0$/.test(mem.name) ? "rw" : share ? "ro" : undefined;
      const wanted: string[] = [];
      for (const svc of Object.values<Json>(serve.Services)) {
        for (const hostPort of Object.keys(svc?.Web ?? {})) {
          const [host, port] = hostPort.split(/:(?=\d+$)/);
          if (port === "443" && host && certDomains.includes(host)) wanted.push(host);
        }
      }
      for (const domain of wanted) {
        if (mem.certShareMode === "ro") {
          // A read replica's store misses: it gets the domain's Secret as itself (403: not issued here).
          if (mem.certificates.has(domain)) continue;
          const certSecret = await mem.kube!.readCertSecret(domain);
          if (secretValue(certSecret, "tls.crt")) mem.certificates.add(domain);
          continue;
        }
        // The cert-share writer issues proactively for every service it serves (containerboot's
        // kube/certs manager), whatever `certIssuance` says: that option models standalone tailscaled.
        await this.ensureHaCert(mem, stateName, environment, domain);
      }
      return;
    }
    const hasHttps = Object.values<Json>(serve?.TCP ?? {}).some((h) => h?.HTTPS === true);
    if (!hasHttps || certDomain === "no-https") return;
    if (
      certStillGood(
        secretValue(this.secret(mem.namespace, stateName), `${certDomain}.crt`),
        certDomain,
        environment,
        this.now(),
      )
    ) {
      mem.certificates.add(certDomain);
      return;
    }
    if (this.certIssuance === "on-serve-config")
      await this.ensureStateCert(mem, stateName, environment, certDomain);
  }

  private takeCertFault(): "rate-limited" | "https-disabled" | undefined {
    const f = this.faults.cert;
    if (!f) return undefined;
    const times = f.times ?? 1;
    if (times <= 0) return undefined;
    this.faults.cert = { ...f, times: times - 1 };
    return f.kind;
  }

  /**
   * The ACME account key an order uses, as tailscaled's kubestore keeps it
   * (`tailscale/tailscale@de9ec7ee ipn/store/kubestore/store_kube.go`): `acme-account.key.pem` of the
   * state Secret, or, for the cert-share writer (rw) with `TS_ACME_ACCOUNT_SECRET_NAME` and
   * `TS_ACME_ACCOUNT_FIELD`, the shared Secret's field, read and written as the Pod's ServiceAccount.
   * The shared key wins when there is one; otherwise the Pod's own key is used and copied up
   * (reconcileSharedACMEAccountKey, maybeRestoreSharedACMEAccountKey: a failure is only logged); a new
   * key is written to the shared Secret, and a failure to write it fails the order. The store never
   * creates the shared Secret.
   */
  private async accountKey(mem: PodMemory, stateName: string, env?: Record<string, string>): Promise<string> {
    const local = secretValue(this.secret(mem.namespace, stateName), "acme-account.key.pem");
    const sharedName = env?.["TS_ACME_ACCOUNT_SECRET_NAME"];
    const sharedField = env?.["TS_ACME_ACCOUNT_FIELD"];
    if (mem.certShareMode !== "rw" || !sharedName || !sharedField) {
      if (local) return local;
      const pem = newAccountKeyPem();
      await this.store(mem, stateName, { "acme-account.key.pem": pem });
      return pem;
    }
    let shared: string | undefined;
    try {
      shared = secretValue(await mem.kube!.getSecret(sharedName), sharedField);
    } catch (err) {
      mem.logs.push(`kubestore: reading shared ACME accounts Secret "${sharedName}": ${apiMessage(err)}`);
    }
    if (shared) return shared;
    if (local) {
      try {
        await this.store(mem, sharedName, { [sharedField]: local });
      } catch (err) {
        mem.logs.push(`kubestore: restoring shared ACME account key: ${apiMessage(err)}`);
      }
      return local;
    }
    const pem = newAccountKeyPem();
    await this.store(mem, sharedName, { [sharedField]: pem });
    return pem;
  }

  /** Standalone L7: `<domain>.crt` / `<domain>.key` in the state Secret. */
  /** tailscaled serialises certificate orders per domain (its ACME lock): no two orders race. */
  private readonly domainLocks = new Map<string, Promise<unknown>>();

  /**
   * What this tailscaled wrote last, by `<secret uid>/<domain>`: its store answers from it at
   * once, while the informer cache may not show the write yet.
   */
  private readonly written = new Map<string, string>();

  private stored(namespace: string, secret: string, key: string, domain: string): string | undefined {
    const cached = this.secret(namespace, secret);
    // `||`: a TLS Secret is created with an empty `tls.crt` before anything is issued. The write
    // memory is per Secret incarnation (uid): a Secret deleted and made again starts empty.
    return secretValue(cached, key) || this.written.get(`${cached?.metadata?.uid}/${domain}`);
  }

  private withDomainLock<T>(domain: string, run: () => Promise<T>): Promise<T> {
    const previous = this.domainLocks.get(domain) ?? Promise.resolve();
    const next = previous.then(run, run);
    this.domainLocks.set(
      domain,
      next.catch(() => undefined),
    );
    return next;
  }

  /** Standalone: the certificate goes into the proxy's state Secret as `<domain>.crt` / `<domain>.key`. */
  private ensureStateCert(
    mem: PodMemory,
    stateName: string,
    environment: "production" | "staging",
    domain: string,
  ): Promise<void> {
    return this.withDomainLock(domain, () =>
      this.orderCertificate(mem, stateName, environment, domain, {
        secret: stateName,
        certKey: `${domain}.crt`,
        data: (cert) => ({ [`${domain}.crt`]: cert.certPem, [`${domain}.key`]: cert.keyPem }),
      }),
    );
  }

  /** HA: replica 0 writes `tls.crt` / `tls.key` into the Secret named after the domain (created by the operator). */
  private ensureHaCert(
    mem: PodMemory,
    stateName: string,
    environment: "production" | "staging",
    domain: string,
  ): Promise<void> {
    if (!this.secret(mem.namespace, domain)) {
      mem.certError = `cert Secret ${mem.namespace}/${domain} does not exist`;
      return Promise.resolve();
    }
    return this.withDomainLock(domain, () =>
      this.orderCertificate(mem, stateName, environment, domain, {
        secret: domain,
        certKey: "tls.crt",
        data: (cert, accountKeyPem) => ({
          "tls.crt": cert.certPem,
          "tls.key": cert.keyPem,
          // 32 raw bytes, as kubestore stores them (store_kube.go acmeAccountKeyFingerprint).
          "acme-account-fingerprint": createHash("sha256").update(accountKeyPem).digest(),
        }),
      }),
    );
  }

  /**
   * One ACME order as tailscaled makes it, under the domain's lock: a certificate still good in the
   * store is returned as is (a caller that waited for the lock finds what the previous holder got).
   */
  private async orderCertificate(
    mem: PodMemory,
    stateName: string,
    environment: "production" | "staging",
    domain: string,
    store: {
      secret: string;
      certKey: string;
      data: (
        cert: { certPem: string; keyPem: string },
        accountKeyPem: string,
      ) => Record<string, string | Buffer>;
    },
  ): Promise<void> {
    const previous = this.stored(mem.namespace, store.secret, store.certKey, domain);
    if (certStillGood(previous, domain, environment, this.now())) {
      mem.certificates.add(domain);
      return;
    }
    const pod = this.informers.pods.get(mem.name, mem.namespace);
    const container = pod?.spec?.containers?.find((c) => c.name === "tailscale");
    const env = pod && container ? resolveEnv(pod, container, this) : undefined;
    if (this.delays.certMs > 0) await new Promise((r) => setTimeout(r, this.delays.certMs));
    let accountKeyPem: string;
    try {
      accountKeyPem = await this.accountKey(mem, stateName, env);
    } catch (err) {
      // tailscaled fails the order and keeps running; its cert loop tries again later.
      mem.certError = `acme: storing the ACME account key: ${apiMessage(err)}`;
      mem.logs.push(mem.certError);
      return;
    }
    const { cert, issuance } = this.acme.order({
      namespace: mem.namespace,
      podName: mem.name,
      domains: [domain],
      environment,
      accountKeyPem,
      now: this.now(),
      replaces: this.replacesPrevious(mem, store.secret, previous, accountKeyPem, env),
      forcedError: this.takeCertFault(),
    });
    if (!cert) {
      mem.certError = issuance.error;
      return;
    }
    mem.certError = undefined;
    mem.certificates.add(domain);
    this.written.set(`${this.secret(mem.namespace, store.secret)?.metadata?.uid}/${domain}`, cert.certPem);
    await this.store(mem, store.secret, store.data(cert, accountKeyPem));
  }

  /**
   * Whether tailscaled's order names the previous certificate as the one it replaces (ARI): there is
   * one, renewals are not forced, and for the cert-share writer the certificate's recorded account
   * fingerprint is the current key's (`tailscale/tailscale@de9ec7ee feature/acme/cert.go:395-418`,
   * ipn/store/kubestore/store_kube.go ShouldUseARIReplacesForRenewal; a certificate without one is
   * taken as the current account's).
   */
  private replacesPrevious(
    mem: PodMemory,
    secretName: string,
    previous: string | undefined,
    accountKeyPem: string,
    env: Record<string, string> | undefined,
  ): boolean {
    if (!previous || env?.["TS_DEBUG_ACME_FORCE_RENEWAL"] === "true") return false;
    if (mem.certShareMode !== "rw") return true;
    const recorded = this.secret(mem.namespace, secretName)?.data?.["acme-account-fingerprint"];
    if (!recorded) return true;
    return recorded === createHash("sha256").update(accountKeyPem).digest("base64");
  }

  /**
   * `tailscale cert <domain>` (or a TLS handshake for it): `domain` must be one of the node's cert
   * domains; without it, the node's own name (standalone) or every served service (HA writer).
   */
  async requestCertificate(podName: string, namespace?: string, domain?: string): Promise<void> {
    const mem = [...this.memory.values()].find(
      (m) => m.name === podName && (!namespace || m.namespace === namespace),
    );
    if (!mem?.device) throw new Error(`requestCertificate: pod ${podName} has no logged-in tailscaled`);
    const pod = this.informers.pods.get(mem.name, mem.namespace);
    const container = pod?.spec?.containers?.find((c) => c.name === "tailscale");
    if (!pod || !container) throw new Error(`requestCertificate: pod ${podName} is gone`);
    const env = resolveEnv(pod, container, this);
    const stateName = env["TS_KUBE_SECRET"]!;
    const environment = environmentFromEnv(env);
    const r = await this.control("GET", `/devices/${mem.device.nodeId}/cert-domains`);
    const domains: string[] = r.body?.certDomains ?? [];
    if (domains.length === 0) {
      mem.certError = "https-disabled";
      throw new Error(`requestCertificate: HTTPS is not enabled for the tailnet of pod ${podName}`);
    }
    if (domain !== undefined && !domains.includes(domain)) {
      throw new Error(
        `requestCertificate: invalid domain "${domain}"; must be one of ${JSON.stringify(domains)}`,
      );
    }
    // The cert store is chosen at start from the environment (cert sharing: replica 0 writes, the others
    // read), not from the serve config, which may not be mounted yet.
    const share = env["TS_EXPERIMENTAL_CERT_SHARE"] === "true";
    if (share) mem.certShareMode = /-0$/.test(mem.name) ? "rw" : "ro";
    if (mem.certShareMode === "ro") {
      for (const d of domain ? [domain] : domains.slice(1)) {
        const certSecret = await mem.kube!.readCertSecret(d);
        if (secretValue(certSecret, "tls.crt")) mem.certificates.add(d);
        else mem.certError = `no certificate for ${d} yet: only replica 0 issues`;
      }
    } else if (mem.certShareMode) {
      for (const d of domain ? [domain] : domains.slice(1))
        await this.ensureHaCert(mem, stateName, environment, d);
    } else {
      const d = domain ?? domains[0]!;
      // tailscaled answers from its cert store while the stored certificate is still good.
      const stored = secretValue(this.secret(mem.namespace, stateName), `${d}.crt`);
      if (certStillGood(stored, d, environment, this.now())) mem.certificates.add(d);
      else await this.ensureStateCert(mem, stateName, environment, d);
    }
    if (mem.certError) throw new Error(`requestCertificate: ${podName}: ${mem.certError}`);
  }

  async tailnetRequest(url: string, opts: { via?: string } = {}): Promise<TailnetResponse> {
    const u = new URL(url);
    const https = u.protocol === "https:";
    if (!https && u.protocol !== "http:") throw new TailnetConnectError(`unsupported scheme ${u.protocol}`);
    const port = Number(u.port || (https ? 443 : 80));
    const fqdn = u.hostname.toLowerCase();
    const dial = `dial tcp ${fqdn}:${port}`;
    const r = await this.control("GET", `/resolve/${encodeURIComponent(fqdn)}`);
    if (r.status === 404) throw new TailnetConnectError(`${dial}: no such host (${r.body?.message})`);
    if (r.status !== 200) throw new Error(`resolving ${fqdn}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    const service: string | undefined = r.body.kind === "service" ? r.body.name : undefined;
    if (service) {
      // Control lets clients reach only the ports the service lists.
      const ports: string[] = r.body.ports ?? [];
      if (!ports.includes(`tcp:${port}`) && !ports.includes("do-not-validate")) {
        throw new TailnetConnectError(
          `${dial}: Tailscale Service ${service} lists ports [${ports.join(", ")}], not tcp:${port}`,
        );
      }
    }
    const hosts: string[] = r.body.hosts ?? [];
    const mem = [...this.memory.values()]
      .filter((m) => m.device && hosts.includes(m.device.nodeId) && !m.terminating)
      .filter((m) => !opts.via || m.name === opts.via)
      .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`))[0];
    if (!mem) {
      throw new TailnetConnectError(
        `${dial}: no ${opts.via ? `host ${opts.via}` : "host"} ${service ? `advertises ${service}` : "is online"}`,
      );
    }
    const servedBy = `${mem.namespace}/${mem.name}`;
    const l = listener(mem.serveConfig, fqdn, port, service);
    if (!l || !(l.tcp.HTTP || l.tcp.HTTPS)) {
      throw new TailnetConnectError(
        `${dial}: connection refused by ${servedBy}: its applied serve config has no HTTP listener on ${port}${service ? ` for ${service}` : ""}`,
      );
    }
    if (l.tcp.HTTPS && !https) {
      return { servedBy, status: 400, body: "Client sent an HTTP request to an HTTPS server.\n" };
    }
    if (https && !l.tcp.HTTPS) {
      throw new TailnetConnectError(`${dial}: tls: first record does not look like a TLS handshake`);
    }
    if (https && !mem.certificates.has(fqdn)) {
      throw new TailnetConnectError(
        `${dial}: TLS handshake failed: ${servedBy} holds no certificate for ${fqdn}`,
      );
    }
    const found = findHandler(l.web?.Handlers, u.pathname);
    if (!found) return { servedBy, status: 404, body: "404 page not found\n" };
    const a = answer(found.handler, found.mount, u.host, `${u.pathname}${u.search}`);
    if (a.kind === "proxy") return { servedBy, proxiedTo: a.target };
    if (a.kind === "redirect") return { servedBy, status: a.status, location: a.location };
    return { servedBy, status: a.status, body: a.body };
  }

  podViews(): SimPod[] {
    const out: SimPod[] = [];
    for (const pod of this.informers.pods.list()) {
      const uid = pod.metadata!.uid!;
      const mem = this.memory.get(uid);
      out.push({
        namespace: pod.metadata!.namespace!,
        name: pod.metadata!.name!,
        uid,
        podIP: pod.status?.podIP ?? "",
        nodeName: pod.spec?.nodeName || undefined,
        unschedulable: this.unschedulable.get(uid),
        ready: pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false,
        terminating: !!pod.metadata?.deletionTimestamp || mem?.terminating === true,
        healthy: mem?.healthy === true,
        waitingReason: mem?.waitingReason,
        loginError: mem?.loginError,
        deviceId: mem?.device?.nodeId,
        deviceFqdn: mem?.device ? `${mem.device.name}.` : undefined,
        deviceIps: mem?.device?.addresses,
        dnatTarget: mem?.dnatTarget,
        forwards: mem?.forwards?.map((f) => ({ ...f })),
        ingressConfigs: mem?.ingressConfigs,
        advertisedServices: [...(mem?.advertised ?? [])],
        httpsEndpoint: mem?.httpsEndpoint,
        certDomains: [...(mem?.certDomains ?? [])],
        certificates: [...(mem?.certificates ?? [])],
        certShareMode: mem?.certShareMode,
        certError: mem?.certError,
        logs: [...(mem?.logs ?? [])],
        mounted: Object.fromEntries(
          [...(mem?.mounted ?? [])].map(([k, o]) => [k, String(o?.metadata?.resourceVersion ?? "")]),
        ),
      });
    }
    return out.sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  }
}

/**
 * The container's waiting reason, if it is not running (not started, crash-looping). NeedsLogin is
 * tailscaled waiting inside a running container.
 */
function containerWaiting(mem: PodMemory): string | undefined {
  return mem.waitingReason === "NeedsLogin" ? undefined : mem.waitingReason;
}

function tailscaleContainer(pod: k8s.V1Pod | undefined): k8s.V1Container | undefined {
  return pod?.spec?.containers?.find((c) => c.name === "tailscale");
}

/** strconv.ParseBool's true values, as containerboot reads its boolean variables. */
function goBool(v: string | undefined): boolean {
  return ["1", "t", "T", "TRUE", "true", "True"].includes(v ?? "");
}
