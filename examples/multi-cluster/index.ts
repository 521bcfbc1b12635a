// One Tailscale Service (`svc:web`) served from two clusters: each cluster is its own stack of this
// program, with its own ProxyGroup. The first stack creates the service; the second joins it with the
// first stack's `joinToken` output, read through a StackReference. Without that token the second
// stack's `up` fails, naming the service and its owner: equal hostnames in two clusters never merge by
// accident (tailscale/tailscale#16752).
//
//   cd cluster-a && pulumi config set cluster a && pulumi up
//   cd cluster-b && pulumi config set cluster b && pulumi config set joinFrom <org>/tailnet-multi-cluster/cluster-a && pulumi up
//
// Each stack points at its own cluster (kubernetes:context or KUBECONFIG); both use the same tailnet.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { CertificateBudget, ProxyGroup, TailnetIngress } from "pulumi-tailnet";

const config = new pulumi.Config();
// Names this cluster's proxies in the tailnet: device names are tailnet-wide, so they must differ.
const cluster = config.require("cluster");
const joinFrom = config.get("joinFrom");
const primary = joinFrom ? new pulumi.StackReference(joinFrom) : undefined;

const proxies = new k8s.core.v1.Namespace("tailscale", { metadata: { name: "tailscale" } });
const apps = new k8s.core.v1.Namespace("apps", { metadata: { name: "apps" } });

const group = new ProxyGroup("ingress", {
  namespace: proxies.metadata.name,
  hostnamePrefix: `${cluster}-ingress`,
  replicas: 2,
  proxyClass: { useLetsEncryptStagingEnvironment: config.getBoolean("staging") ?? false },
});

// The application runs in both clusters (its Deployment is left out of this example).
const web = new k8s.core.v1.Service("web", {
  metadata: { namespace: apps.metadata.name, name: "web" },
  spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: 8080 }] },
});

const ingress = new TailnetIngress("web", {
  hostname: "web",
  proxyGroup: group,
  defaultBackend: { service: web, port: "http" },
  // The explicit join: the first stack's token, never an accident of equal names.
  joinToken: primary ? primary.requireOutput("joinToken").apply((t) => t as string) : undefined,
});

// Both clusters obtain certificates for `web` on the same tailnet, so they share one Let's Encrypt
// budget: each counts the other's issuances (the second cluster reads the first's ledger; add
// `budgetPeers` to the first cluster once the second exists), and a preview that would exceed the
// limits fails before anything changes.
const peers: Record<string, pulumi.Output<unknown>> = {};
if (primary && joinFrom) peers[joinFrom] = CertificateBudget.ledgerOf(primary);
for (const peer of config.getObject<string[]>("budgetPeers") ?? [])
  peers[peer] = CertificateBudget.ledgerOf(peer);
const budget = new CertificateBudget("letsencrypt", { ingresses: [ingress], peers: peers as never });

export const url = ingress.url;
export const serviceName = ingress.serviceName;
export const addresses = ingress.addresses;
export const devices = group.devices;
/** What a further cluster passes as `joinToken` to serve the same service. */
export const joinToken = ingress.joinToken;
/** This cluster's certificate issuances, read by the other clusters' budgets. */
export const certificateLedger = budget.ledger;
export const certificateBudget = budget.report;
