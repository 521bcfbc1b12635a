/**
 * client-node API clients that keep their connections open, for the simulator's own components. The
 * kubelet, the controllers and containerboot are Go programs whose http.Client reuses connections,
 * whereas client-node makes a new agent, hence a new TLS session, for every request
 * (kubernetes-client/javascript@1.4.0 src/config.ts:231-270); the product keeps client-node's behaviour, the simulator does not
 * pay for it.
 */
import * as https from "node:https";
import * as k8s from "@kubernetes/client-node";

/**
 * Sends a request again, once, when its connection broke before any answer came, if the method is
 * replayable. Go's http.Transport does this for a reused keep-alive connection (golang/go@go1.22.0
 * src/net/http/transport.go `shouldRetryRequest`: a reused connection, a replayable request, an error
 * from reading the server's first byte), and every component the simulator stands for is a Go
 * client. Without it the simulator records a test failure whenever the server closes an idle
 * connection just as a component reuses it, which a real component never shows.
 */
class ReplayOnBrokenConnection implements k8s.PromiseHttpLibrary {
  private readonly fetch = new k8s.IsomorphicFetchHttpLibrary();

  async send(request: k8s.RequestContext): Promise<k8s.ResponseContext> {
    try {
      return await this.fetch.send(request).toPromise();
    } catch (err) {
      const code = (err as { code?: string }).code;
      const replayable = ["GET", "HEAD", "OPTIONS", "PUT", "DELETE"].includes(
        request.getHttpMethod().toString(),
      );
      if (!replayable || (code !== "ECONNRESET" && code !== "EPIPE")) throw err;
      return await this.fetch.send(request).toPromise();
    }
  }
}

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
      httpApi: k8s.wrapHttpLibrary(new ReplayOnBrokenConnection()),
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
