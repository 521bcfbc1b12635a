// High availability: a ProxyGroup of N proxy replicas serves several web Services over HTTPS (layer 7)
// and a database (layer 3), each as a Tailscale Service (`svc:<name>`) advertised by every replica, so
// a replica restarting (a node drain, a rollout) causes no downtime.
//
// Prerequisites in the tailnet policy (see the README, "High availability"): the ProxyGroup's tag owned
// by the OAuth client's tag, and `autoApprovers.services` letting that tag advertise the services.
// Credentials come from stack configuration or the environment, never from this program.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ProxyGroup, TailnetIngress, TailnetService } from "pulumi-tailnet";

const config = new pulumi.Config();

// The proxies' namespace (the operator's "tailscale" namespace; no operator runs in it).
const proxies = new k8s.core.v1.Namespace("tailscale", { metadata: { name: "tailscale" } });
const apps = new k8s.core.v1.Namespace("apps", { metadata: { name: "apps" } });

const group = new ProxyGroup("ingress", {
  namespace: proxies.metadata.name,
  replicas: config.getNumber("replicas") ?? 2,
  tags: ["tag:k8s"],
  // Staging certificates in test stacks keep production rate limits for real users.
  proxyClass: { useLetsEncryptStagingEnvironment: config.getBoolean("staging") ?? false },
});

// The applications' Services (their Deployments are left out of this example). The database's
// TailnetService is advertised only while postgres has a ready Pod: until then its `up` fails, naming
// the Service.
const webApps = ["grafana", "docs", "api"].map(
  (name) =>
    new k8s.core.v1.Service(name, {
      metadata: { namespace: apps.metadata.name, name },
      spec: { selector: { app: name }, ports: [{ name: "http", port: 80, targetPort: 8080 }] },
    }),
);
const postgres = new k8s.core.v1.Service("postgres", {
  metadata: { namespace: apps.metadata.name, name: "postgres" },
  spec: { selector: { app: "postgres" }, ports: [{ name: "postgres", port: 5432 }] },
});

// Passing the ProxyGroup resource (not its name) makes Pulumi create it first and delete it last.
const ingresses = webApps.map(
  (svc, i) =>
    new TailnetIngress(["grafana", "docs", "api"][i]!, {
      proxyGroup: group,
      defaultBackend: { service: svc, port: "http" },
    }),
);
const db = new TailnetService("postgres", {
  proxyGroup: group,
  service: postgres,
  hostname: "postgres",
});

export const devices = group.devices;
export const urls = ingresses.map((i) => i.url);
export const serviceNames = [...ingresses.map((i) => i.serviceName), db.serviceName];
export const certificates = ingresses.map((i) => i.certificate.state);
export const database = { fqdn: db.fqdn, addresses: db.addresses };
