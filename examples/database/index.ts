// Expose a PostgreSQL Service on the tailnet at layer 3: `psql -h postgres.<tailnet>.ts.net`.
//
// Credentials come from the stack configuration or the environment, never from this program:
//   pulumi config set kubernetes:context my-cluster        (or KUBECONFIG)
//   pulumi config set tailscale:oauthClientId ...           (or TAILSCALE_OAUTH_CLIENT_ID)
//   pulumi config set --secret tailscale:oauthClientSecret ... (or TAILSCALE_OAUTH_CLIENT_SECRET)
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { TailnetService } from "pulumi-tailnet";

const config = new pulumi.Config();
const namespace = config.get("namespace") ?? "data";

const ns = new k8s.core.v1.Namespace("data", { metadata: { name: namespace } });

// The database's Service. Its Pods (a StatefulSet running postgres) are left out of this example.
// On a dual-stack cluster, `pulumi config set ipFamilyPolicy PreferDualStack` gives it an IPv4 and an
// IPv6 cluster IP, and the proxy forwards both (`tailnetIPs` then lists both addresses).
const postgres = new k8s.core.v1.Service("postgres", {
  metadata: { namespace: ns.metadata.name, name: "postgres" },
  spec: {
    selector: { app: "postgres" },
    ports: [{ name: "postgres", port: 5432 }],
    ipFamilyPolicy: config.get("ipFamilyPolicy"),
  },
});

const db = new TailnetService(
  "postgres",
  {
    service: postgres,
    hostname: config.get("hostname") ?? "postgres",
    tags: config.getObject<string[]>("tags") ?? ["tag:k8s"],
    // e.g. `pulumi config set --path proxyClass.resources.requests.memory 64Mi`
    proxyClass: config.getObject("proxyClass"),
  },
  // How long each step may wait, in Go duration syntax (default 10m each), e.g.
  // `pulumi config set --path customTimeouts.delete 5m`. A changed value is recorded by the next `up`
  // without touching the proxy, and the next delete uses it.
  { customTimeouts: config.getObject<pulumi.CustomTimeouts>("customTimeouts") },
);

export const hostname = db.hostname;
export const fqdn = db.fqdn;
export const tailnetIPs = db.tailnetIPs;
export const deviceId = db.deviceId;
export const kubernetesObjects = db.kubernetesObjects;
