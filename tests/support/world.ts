/**
 * A local world for tests, the demo and the benchmark: a Kubernetes API server, a Tailscale API (with
 * its control plane), and the cluster simulator playing kubelet + tailscaled, wired together the way
 * a real cluster and tailnet are. The product reaches them only through a kubeconfig and a Tailscale
 * base URL with OAuth client credentials, exactly as it reaches the real ones.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type ClusterSim, type ClusterSimOptions, startClusterSim } from "./cluster-sim";
import { type KubeApiServer, startKubeApiServer } from "./kube-api";
import { startTailscaleApi } from "./tailscale-api";
import type { DeviceRecord, KeyRecord, ServiceRecord, TailscaleApiServer } from "./tailscale-api/types";
import { tailscaleCli } from "./tailscale-cli";

/** The managed-by label every object of ours carries. */
const MANAGED_BY = "app.kubernetes.io/managed-by";

/** What a test or the demo gets. */
export interface LocalWorld {
  kube: KubeApiServer;
  tailscale: TailscaleApiServer;
  sim: ClusterSim;
  /** Kubeconfig YAML and a file holding it. */
  kubeconfig: string;
  kubeconfigPath: string;
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
  /** Creates a namespace and a ClusterIP Service in it (as a user's cluster would have). */
  addService(
    namespace: string,
    name: string,
    spec?: Record<string, unknown>,
  ): Promise<{ clusterIP?: string; [key: string]: unknown }>;
  /** What is left: our Kubernetes objects, tailnet devices, valid auth keys, Tailscale Services. */
  leftovers(): Leftovers;
  stop(): Promise<void>;
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
  sim?: Partial<Omit<ClusterSimOptions, "kubeconfig" | "tailscaleUrl">>;
}

const KINDS: [string, string][] = [
  ["v1", "Secret"],
  ["v1", "ConfigMap"],
  ["v1", "Service"],
  ["v1", "ServiceAccount"],
  ["v1", "Pod"],
  ["apps/v1", "StatefulSet"],
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
    kube = await startKubeApiServer();
    started.push(kube);
    tailscale = await startTailscaleApi({ tailnetDomain: opts.tailnetDomain });
    started.push(tailscale);
    // The simulator (kubelet, containerboot) has its own identity, so request counts can tell it apart.
    sim = await startClusterSim({
      kubeconfig: kube.kubeconfig({ user: "cluster-sim" }),
      tailscaleUrl: tailscale.url,
      // tailscaled fetches a standalone proxy's certificate on demand (first TLS handshake, or
      // `tailscale cert`), not when the serve config is applied.
      certIssuance: "on-demand",
      ...opts.sim,
    });
    started.push(sim);
  } catch (e) {
    await cleanUp();
    throw e;
  }
  const kubeconfig = kube.kubeconfig();
  const kubeconfigPath = kube.writeKubeconfig(dir);
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
  return {
    kube,
    tailscale,
    sim,
    kubeconfig,
    kubeconfigPath,
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
      return svc.spec;
    },
    leftovers() {
      const objects: string[] = [];
      for (const [apiVersion, kind] of KINDS) {
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
    },
    stop: cleanUp,
  };
}
