/**
 * A local world for tests, the demo and the benchmark: a Kubernetes API server, a Tailscale API (with
 * its control plane), and the cluster simulator playing kubelet + tailscaled, wired together the way
 * a real cluster and tailnet are. The product reaches them only through a kubeconfig and a Tailscale
 * base URL with OAuth client credentials, exactly as it reaches the real ones.
 *
 * Identities, as in a real cluster: the product runs as the deployer, a ServiceAccount bound by exactly
 * `deploy/deployer-rbac.yaml` (applied by a cluster admin in every namespace of the world, as the
 * manifest's comments ask a user to do for theirs); the simulator (kubelet, StatefulSet controller) has
 * its own cluster-admin identity and makes each proxy's containerboot calls as the Pod's ServiceAccount;
 * `@pulumi/kubernetes` builtins run as the user's admin identity `pulumi-kubernetes`.
 */

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import {
  type ClusterSim,
  type ClusterSimOptions,
  DEFAULT_POD_CIDRS,
  DUAL_STACK_POD_CIDRS,
  IPV6_POD_CIDRS,
  startClusterSim,
  type TailnetResponse,
  TEST_TIME_SCALE,
} from "./cluster-sim";
import {
  DEFAULT_SERVICE_CIDRS,
  DUAL_STACK_SERVICE_CIDRS,
  IPV6_SERVICE_CIDRS,
  type KubeApiServer,
  startKubeApiServer,
} from "./kube-api";
import { FAULT_KINDS } from "./kube-api/faults";
import { startTailscaleApi } from "./tailscale-api";
import type { DeviceRecord, KeyRecord, ServiceRecord, TailscaleApiServer } from "./tailscale-api/types";
import { tailscaleCli } from "./tailscale-cli";

/** The managed-by label every object of ours carries. */
const MANAGED_BY = "app.kubernetes.io/managed-by";

/** What {@link LocalWorld.tailnetFetch} got. */
export interface TailnetFetchResult extends TailnetResponse {
  status: number;
  /** The backend Service a proxied request reached, with the port and the path it was sent. */
  backend?: { namespace: string; name: string; port: number; path: string };
}

/** What a test or the demo gets. */
export interface LocalWorld {
  kube: KubeApiServer;
  tailscale: TailscaleApiServer;
  sim: ClusterSim;
  /** The deployer's kubeconfig YAML and a file holding it (what the product uses). */
  kubeconfig: string;
  kubeconfigPath: string;
  /** A cluster admin's kubeconfig (system:masters) and its file, to inspect the world (kubectl). */
  adminKubeconfig: string;
  adminKubeconfigPath: string;
  /** The deployer identity: its user name as requests log it, and a kubeconfig with a fresh token. */
  deployer: { user: string; namespace: string; serviceAccount: string; kubeconfig(): string };
  /** OAuth client of the deployer (scopes auth_keys, devices:core, services; tag tag:k8s-operator). */
  oauth: { clientId: string; clientSecret: string };
  /** Environment for a Pulumi run against this world (KUBECONFIG, TAILSCALE_*). */
  env: Record<string, string>;
  /** The same credentials as a resource's `credentials` input. */
  credentials: {
    kubeconfig: string;
    tailscaleOauthClientId: string;
    tailscaleOauthClientSecret: string;
    tailscaleBaseUrl: string;
  };
  /**
   * Creates a namespace and a ClusterIP Service in it (as a user's cluster would have). A Service with a
   * selector stands for an application whose Pods run and are ready: it also gets the EndpointSlice the
   * EndpointSlice controller writes for them (one ready endpoint), since the world runs no such Pods.
   */
  addService(
    namespace: string,
    name: string,
    spec?: Record<string, unknown>,
  ): Promise<{ clusterIP?: string; [key: string]: unknown }>;
  /**
   * Sets the application Pods of a Service made by {@link addService} ready or not ready, as the
   * EndpointSlice controller reports it (`conditions.ready`, `serving`), or writes the EndpointSlice
   * for the first time (e.g. once a Pulumi program created the Service).
   */
  setEndpointsReady(namespace: string, name: string, ready: boolean): void;
  /**
   * For a Service a Pulumi program creates without the Deployment behind it (as the examples do):
   * once the Service is created, writes the EndpointSlice its ready Pods would get
   * ({@link setEndpointsReady}), standing in for the application left out.
   */
  readyPodsOnCreate(namespace: string, name: string): void;
  /**
   * A tailnet client's HTTP request to `url` through the simulated tailnet ({@link ClusterSim.tailnetRequest}),
   * with the backend a proxied request reached: the Service whose cluster IP and port the proxy
   * requested (status 200), or none (502, as tailscaled's reverse proxy answers a refused dial).
   * Throws TailnetConnectError when no connection is made (no such name, a port the Tailscale Service
   * does not list, nothing listening).
   */
  tailnetFetch(url: string, opts?: { via?: string }): Promise<TailnetFetchResult>;
  /** What is left: our Kubernetes objects, tailnet devices, valid auth keys, Tailscale Services. */
  leftovers(): Leftovers;
  /**
   * Fails unless nothing is left (no object of ours, device, valid auth key or Tailscale Service) and
   * the simulator recorded no error: what every destroy must end in.
   */
  assertNothingLeft(): void;
  /**
   * Seeded faults on both APIs for the product's own requests (see {@link WorldFaults}); undefined: none.
   * Restarts the PRNGs and counts.
   */
  setFaults(faults: WorldFaults | undefined): void;
  /** Faults injected since they were last set, per API and kind. */
  faultCounts(): { kubernetes: Record<string, number>; tailscale: Record<string, number> };
  stop(): Promise<void>;
}

/**
 * Seeded faults on both APIs at `rate` (0..1): every kind each server injects (5xx with or without
 * Retry-After, 429, resets before and after acting, slow answers; on Kubernetes also closed and
 * expired watches), for the deployer's requests only. The cluster simulator (kubelet, containerboot)
 * is never faulted: its retries are not the product's.
 */
export interface WorldFaults {
  rate: number;
  seed: number;
}

/** Parses `<rate>[:seed]` (`0.1`, `0.1:7`, `10%:7`), as `--faults` of the demo and the bench take it. */
export function parseFaults(text: string): WorldFaults {
  const m = /^(\d+(?:\.\d+)?)(%?)(?::(\d+))?$/.exec(text.trim());
  const rate = m ? Number(m[1]) / (m[2] ? 100 : 1) : Number.NaN;
  if (!m || !(rate >= 0 && rate <= 1)) {
    throw new Error(
      `--faults takes <rate>[:seed] with a rate within 0..1 (or 0..100%), e.g. 0.1:7; got "${text}"`,
    );
  }
  return { rate, seed: m[3] === undefined ? 1 : Number(m[3]) };
}

/** The value of `--faults <rate>[:seed]` (or `--faults=…`) in `argv`, if given. */
export function faultsFromArgv(argv: readonly string[]): WorldFaults | undefined {
  const i = argv.findIndex((a) => a === "--faults" || a.startsWith("--faults="));
  if (i < 0) return undefined;
  const value = argv[i]!.includes("=") ? argv[i]!.slice("--faults=".length) : argv[i + 1];
  if (value === undefined) throw new Error("--faults needs a value: <rate>[:seed], e.g. 0.1:7");
  return parseFaults(value);
}

/** Everything that should be gone after a destroy. */
export interface Leftovers {
  kubernetesObjects: string[];
  devices: DeviceRecord[];
  validAuthKeys: KeyRecord[];
  services: ServiceRecord[];
}

/** Options of {@link startLocalWorld}. */
export interface LocalWorldOptions {
  tailnetDomain?: string;
  /**
   * Options of the cluster simulator. Its `timeScale` defaults to TEST_TIME_SCALE (compressed kubelet,
   * Pod start, login and issuance times, in the real order); the demo and the bench pass 1.
   */
  sim?: Partial<Omit<ClusterSimOptions, "kubeconfig" | "tailscaleUrl">>;
  /** The deployer's RBAC manifest text (default: deploy/deployer-rbac.yaml), e.g. with a rule removed. */
  deployerRbac?: string;
  /**
   * Which of the manifest's namespaced Roles the cluster admin grants in a namespace: `proxies`
   * (pulumi-tailnet-proxies), `backends` (pulumi-tailnet-backends). Default: both, in every namespace.
   */
  grants?: (namespace: string) => ("proxies" | "backends")[];
  /** Seeded faults from the start (see {@link WorldFaults}). */
  faults?: WorldFaults;
  /** The cluster's IP families (default `ipv4`, what the world always was). */
  stack?: ClusterStack;
  /**
   * CustomResourceDefinitions the cluster has from the start, applied by the cluster admin and
   * established before the world is returned (e.g. tests/support/prometheus-operator-crds.ts
   * SERVICE_MONITOR_CRD, as an installed Prometheus Operator brings). Their resources that pulumi-tailnet
   * labels count as leftovers.
   */
  crds?: object[];
}

/**
 * A cluster's IP families, as kind sets them up with `networking.ipFamily`: `ipv4`, `ipv6`, or `dual`
 * (IPv4 primary). It fixes the service CIDRs Services get cluster IPs from and the Pod CIDRs Pods get
 * IPs from.
 */
export type ClusterStack = "ipv4" | "ipv6" | "dual";

/** kind's default service and Pod CIDRs per {@link ClusterStack}. */
const STACK_CIDRS: Record<ClusterStack, { service: string[]; pod: string[] }> = {
  ipv4: { service: DEFAULT_SERVICE_CIDRS, pod: DEFAULT_POD_CIDRS },
  ipv6: { service: IPV6_SERVICE_CIDRS, pod: IPV6_POD_CIDRS },
  dual: { service: DUAL_STACK_SERVICE_CIDRS, pod: DUAL_STACK_POD_CIDRS },
};

/** The repository's deployer manifest. */
export const DEPLOYER_RBAC_PATH = path.join(__dirname, "..", "..", "deploy", "deployer-rbac.yaml");

/** Where the world's deployer ServiceAccount lives. */
const DEPLOYER_NAMESPACE = "pulumi-tailnet";
/** Namespaces that are the cluster's own, where the deployer gets nothing but the cluster identity. */
const SYSTEM_NAMESPACES = new Set(["kube-system", "kube-public", "kube-node-lease", DEPLOYER_NAMESPACE]);

/**
 * The manifest's documents with the placeholders filled in for `namespace` (which holds both proxies
 * and backends in the world) and split into what is applied once and what per namespace.
 */
export function deployerRbacDocuments(
  manifest: string,
  namespace: string,
): { once: any[]; perNamespace: any[] } {
  const text = manifest
    .replaceAll("$(DEPLOYER_NAMESPACE)", DEPLOYER_NAMESPACE)
    .replaceAll("$(PROXIES_NAMESPACE)", namespace)
    .replaceAll("$(BACKENDS_NAMESPACE)", namespace);
  const docs = (yaml.loadAll(text) as any[]).filter((d) => d && typeof d === "object");
  const perNs = (d: any) => d.metadata?.namespace === namespace && d.kind !== "ServiceAccount";
  return { once: docs.filter((d) => !perNs(d)), perNamespace: docs.filter(perNs) };
}

const KINDS: [string, string][] = [
  ["v1", "Secret"],
  ["v1", "ConfigMap"],
  ["v1", "Service"],
  ["v1", "ServiceAccount"],
  ["v1", "Pod"],
  ["apps/v1", "StatefulSet"],
  ["policy/v1", "PodDisruptionBudget"],
  ["rbac.authorization.k8s.io/v1", "Role"],
  ["rbac.authorization.k8s.io/v1", "RoleBinding"],
];

/** Starts the three local servers and connects them. */
export async function startLocalWorld(opts: LocalWorldOptions = {}): Promise<LocalWorld> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tailnet-world-"));
  // Whatever started is stopped again if a later server fails to start, so a failed start leaves no
  // listener behind to keep the test process alive.
  const started: { stop(): Promise<void> }[] = [];
  const cleanUp = async () => {
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  let kube: KubeApiServer;
  let tailscale: TailscaleApiServer;
  let sim: ClusterSim;
  try {
    const cidrs = STACK_CIDRS[opts.stack ?? "ipv4"];
    kube = await startKubeApiServer({ serviceCIDRs: cidrs.service });
    started.push(kube);
    tailscale = await startTailscaleApi({ tailnetDomain: opts.tailnetDomain });
    started.push(tailscale);
    // The simulator (kubelet, containerboot) has its own identity, so request counts can tell it apart.
    sim = await startClusterSim({
      // kubelet and the StatefulSet controller: cluster admin here (no Node authorizer is served);
      // the proxies' own calls go out as their Pods' ServiceAccounts (cluster-sim/sim.ts).
      kubeconfig: kube.kubeconfig({ user: "cluster-sim", groups: ["system:masters"] }),
      tailscaleUrl: tailscale.url,
      // tailscaled fetches a standalone proxy's certificate on demand (first TLS handshake, or
      // `tailscale cert`), not when the serve config is applied.
      certIssuance: "on-demand",
      timeScale: TEST_TIME_SCALE,
      podCIDRs: cidrs.pod,
      ...opts.sim,
    });
    started.push(sim);
  } catch (e) {
    await cleanUp();
    throw e;
  }
  const manifest = opts.deployerRbac ?? fs.readFileSync(DEPLOYER_RBAC_PATH, "utf8");
  const grant = (namespace: string) => {
    const roles = opts.grants?.(namespace) ?? ["proxies", "backends"];
    for (const d of deployerRbacDocuments(manifest, namespace).perNamespace) {
      const role = d.kind === "RoleBinding" ? d.roleRef?.name : d.metadata.name;
      if (!roles.some((r) => role === `pulumi-tailnet-${r}`)) continue;
      if (!kube.getObject(d.apiVersion, d.kind, d.metadata.namespace, d.metadata.name)) kube.seed(d);
    }
  };
  kube.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: DEPLOYER_NAMESPACE } });
  for (const d of deployerRbacDocuments(manifest, "default").once) kube.seed(d);
  const customKinds: [string, string][] = [];
  for (const crd of (opts.crds ?? []) as any[]) {
    kube.seed(crd);
    const version = crd.spec.versions.find((v: any) => v.storage).name;
    customKinds.push([`${crd.spec.group}/${version}`, crd.spec.names.kind]);
  }
  // The apiextensions controllers establish them right after the write (tests/support/kube-api/crd.ts).
  for (let i = 0; i < 1000; i++) {
    const pending = ((opts.crds ?? []) as any[]).filter((crd) => {
      const live = kube.getObject(crd.apiVersion, crd.kind, undefined, crd.metadata.name);
      return !live?.status?.conditions?.some((c: any) => c.type === "Established" && c.status === "True");
    });
    if (pending.length === 0) break;
    await new Promise((r) => setImmediate(r));
  }
  const deployerSa = "pulumi-tailnet-deployer";
  // The cluster admin grants the deployer every namespace the world's stacks use, as they appear.
  for (const n of kube.listObjects("v1", "Namespace")) {
    if (!SYSTEM_NAMESPACES.has(n.metadata.name)) grant(n.metadata.name);
  }
  kube.onWrite((e) => {
    if (e.type !== "ADDED" || e.obj.kind !== "Namespace" || SYSTEM_NAMESPACES.has(e.obj.metadata.name))
      return;
    try {
      grant(e.obj.metadata.name);
    } catch {
      // The namespace went away again before the grant: nothing to grant.
    }
  });
  const deployerKubeconfig = () =>
    kube.kubeconfig({ serviceAccount: { namespace: DEPLOYER_NAMESPACE, name: deployerSa } });
  const kubeconfig = deployerKubeconfig();
  const kubeconfigPath = path.join(dir, "kubeconfig");
  fs.writeFileSync(kubeconfigPath, kubeconfig, { mode: 0o600 });
  const adminKubeconfig = kube.kubeconfig();
  const adminKubeconfigPath = kube.writeKubeconfig(dir, { file: "admin.kubeconfig" });
  kube.setExecHandler(tailscaleCli(sim, kube));
  const oauth = tailscale.createOAuthClient({
    scopes: ["auth_keys", "devices:core", "services"],
    tags: ["tag:k8s-operator"],
  });
  const env = {
    KUBECONFIG: kubeconfigPath,
    TAILSCALE_OAUTH_CLIENT_ID: oauth.clientId,
    TAILSCALE_OAUTH_CLIENT_SECRET: oauth.clientSecret,
    TAILSCALE_BASE_URL: tailscale.url,
  };
  const deployerUser = `system:serviceaccount:${DEPLOYER_NAMESPACE}:${deployerSa}`;
  const setFaults = (f: WorldFaults | undefined) => {
    if (f && !(f.rate >= 0 && f.rate <= 1)) throw new Error(`fault rate must be within 0..1, got ${f.rate}`);
    kube.setFaults(f && { seed: f.seed, rate: f.rate, kinds: FAULT_KINDS, users: [deployerUser] });
    // Another seed for the other API, so the two do not fault in lockstep.
    tailscale.setFaults(
      f && {
        seed: f.seed + 0x5eed,
        rate: f.rate,
        kinds: ["5xx", "429", "reset-before", "reset-after", "slow"],
      },
    );
  };
  setFaults(opts.faults);
  return {
    setFaults,
    faultCounts: () => ({ kubernetes: kube.faultCounts(), tailscale: tailscale.faultCounts() }),
    kube,
    tailscale,
    sim,
    kubeconfig,
    kubeconfigPath,
    adminKubeconfig,
    adminKubeconfigPath,
    deployer: {
      user: deployerUser,
      namespace: DEPLOYER_NAMESPACE,
      serviceAccount: deployerSa,
      kubeconfig: deployerKubeconfig,
    },
    oauth,
    env,
    credentials: {
      kubeconfig,
      tailscaleOauthClientId: oauth.clientId,
      tailscaleOauthClientSecret: oauth.clientSecret,
      tailscaleBaseUrl: tailscale.url,
    },
    async addService(namespace, name, spec) {
      if (!kube.getObject("v1", "Namespace", undefined, namespace)) {
        kube.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } });
      }
      const svc = kube.seed({
        apiVersion: "v1",
        kind: "Service",
        metadata: { namespace, name },
        spec: spec ?? { selector: { app: name }, ports: [{ name: "http", port: 80, targetPort: 8080 }] },
      });
      if (svc.spec?.selector) setEndpointsReady(namespace, name, true);
      return svc.spec;
    },
    setEndpointsReady,
    readyPodsOnCreate(namespace, name) {
      kube.onWrite((e) => {
        const m = e.obj?.metadata;
        if (e.type === "ADDED" && e.obj?.kind === "Service" && m?.namespace === namespace && m?.name === name)
          setEndpointsReady(namespace, name, true);
      });
    },
    async tailnetFetch(url, opts) {
      const r = await sim.tailnetRequest(url, opts);
      if (!r.proxiedTo) return { ...r, status: r.status ?? 502 };
      const to = new URL(r.proxiedTo);
      const ip = to.hostname.replace(/^\[|\]$/g, "");
      const port = Number(to.port || (to.protocol === "https:" ? 443 : 80));
      const svc = kube
        .listObjects("v1", "Service")
        .find(
          (o) =>
            (o.spec?.clusterIPs ?? [o.spec?.clusterIP]).includes(ip) &&
            (o.spec?.ports ?? []).some((p: { port: number }) => p.port === port),
        );
      if (!svc) return { ...r, status: 502 };
      const backend = { namespace: svc.metadata.namespace, name: svc.metadata.name, port, path: to.pathname };
      return { ...r, status: 200, backend };
    },
    leftovers,
    assertNothingLeft() {
      assert.deepEqual(
        { ...leftovers(), simulatorErrors: sim.errors },
        { kubernetesObjects: [], devices: [], validAuthKeys: [], services: [], simulatorErrors: [] },
        "something is left after the destroy",
      );
    },
    stop: cleanUp,
  };

  function setEndpointsReady(namespace: string, name: string, ready: boolean): void {
    const svc = kube.getObject("v1", "Service", namespace, name);
    const ports = (
      (svc?.spec?.ports ?? []) as { name?: string; port: number; targetPort?: unknown; protocol?: string }[]
    ).map((p) => ({
      name: p.name ?? "",
      port: typeof p.targetPort === "number" ? p.targetPort : p.port,
      protocol: p.protocol ?? "TCP",
    }));
    // One slice per IP family of the Service, as the EndpointSlice controller writes them, named as it
    // names them (`<service>-<5 random characters>`); one Pod, with an IP from each of the world's Pod
    // CIDRs (`kubernetes/kubernetes pkg/controller/endpointslice` reconciler: one address type per family).
    const families: string[] = svc?.spec?.ipFamilies ?? ["IPv4"];
    const podIPs: Record<string, string> = { IPv4: "10.244.7.12", IPv6: "fd00:10:244::7:c" };
    for (const [i, family] of ["IPv4", "IPv6"].entries()) {
      const sliceName = `${name}-${["b7x2q", "k4m9r"][i]}`;
      kube.remove("discovery.k8s.io/v1", "EndpointSlice", namespace, sliceName);
      if (!families.includes(family)) continue;
      kube.seed({
        apiVersion: "discovery.k8s.io/v1",
        kind: "EndpointSlice",
        metadata: {
          namespace,
          name: sliceName,
          labels: {
            "kubernetes.io/service-name": name,
            "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
          },
        },
        addressType: family,
        endpoints: [
          {
            addresses: [podIPs[family]],
            conditions: { ready, serving: ready, terminating: false },
            targetRef: { kind: "Pod", namespace, name: `${name}-7d9f8c6b5-x2k4p` },
          },
        ],
        ports,
      });
    }
  }

  function leftovers(): Leftovers {
    const objects: string[] = [];
    // A custom kind whose CRD a test deleted has no resources left (they go before the CRD).
    const served = customKinds.filter(([apiVersion, kind]) => {
      try {
        kube.listObjects(apiVersion, kind);
        return true;
      } catch {
        return false;
      }
    });
    for (const [apiVersion, kind] of [...KINDS, ...served]) {
      for (const o of kube.listObjects(apiVersion, kind)) {
        if (
          o.metadata?.labels?.[MANAGED_BY] === "pulumi-tailnet" ||
          (kind === "Pod" && o.metadata?.labels?.[MANAGED_BY])
        ) {
          objects.push(`${kind}/${o.metadata.namespace}/${o.metadata.name}`);
        }
      }
    }
    return {
      kubernetesObjects: objects,
      devices: tailscale.devices(),
      validAuthKeys: tailscale.validAuthKeys(),
      services: tailscale.services(),
    };
  }
}
