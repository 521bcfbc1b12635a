/**
 * client-node API clients that keep their connections open, for the simulator's own components. The
 * kubelet, the controllers and containerboot are Go programs whose http.Client reuses connections,
 * whereas client-node makes a new agent, hence a new TLS session, for every request
 * (kubernetes-client/javascript@1.4.0 src/config.ts:231-270); the product keeps client-node's behaviour, the simulator does not
 * pay for it.
 */
import * as https from "node:https";
import * as k8s from "@kubernetes/client-node";

/** Keep-alive clients for one identity (one kubeconfig). */
export class ApiClients {
  private readonly agent: https.Agent;
  private readonly config: k8s.Configuration;

  constructor(readonly kc: k8s.KubeConfig) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error("cluster-sim: the kubeconfig names no cluster");
    this.agent = new https.Agent({
      keepAlive: true,
      maxSockets: 32,
      ca: cluster.caData ? Buffer.from(cluster.caData, "base64") : undefined,
    });
    const agent = this.agent;
    this.config = k8s.createConfiguration({
      baseServer: new k8s.ServerConfiguration(cluster.server, {}),
      authMethods: { default: kc },
      promiseMiddleware: [
        {
          pre: async (ctx: k8s.RequestContext) => {
            ctx.setAgent(agent);
            return ctx;
          },
          post: async (rsp: k8s.ResponseContext) => rsp,
        },
      ],
    });
  }

  /** A typed API (CoreV1Api, AppsV1Api, …) on this identity's connections. */
  api<T>(Api: new (config: k8s.Configuration) => T): T {
    return new Api(this.config);
  }

  /** Closes the idle connections. */
  close(): void {
    this.agent.destroy();
  }
}
