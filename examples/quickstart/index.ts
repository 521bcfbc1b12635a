// Expose a web Service on the tailnet over HTTPS: https://hello.<tailnet>.ts.net with a Let's
// Encrypt certificate. Credentials come from stack configuration or the environment (see README).
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { TailnetIngress } from "pulumi-tailnet";

const config = new pulumi.Config();
const namespace = config.get("namespace") ?? "web";

const ns = new k8s.core.v1.Namespace("web", { metadata: { name: namespace } });

// The web application's Service (its Deployment is left out of this example).
const web = new k8s.core.v1.Service("hello", {
  metadata: { namespace: ns.metadata.name, name: "hello" },
  spec: { selector: { app: "hello" }, ports: [{ name: "http", port: 80, targetPort: 8080 }] },
});

const ingress = new TailnetIngress("hello", {
  hostname: config.get("hostname") ?? "hello",
  defaultBackend: { service: web, port: "http" },
  rules: config.getBoolean("withApi")
    ? [{ paths: [{ path: "/api", backend: { service: web, port: 80 } }] }]
    : undefined,
  httpRedirect: config.getBoolean("httpRedirect") ?? false,
  // Staging certificates in test stacks keep production rate limits for real users.
  proxyClass: { useLetsEncryptStagingEnvironment: config.getBoolean("staging") ?? false },
});

export const url = ingress.url;
export const fqdn = ingress.fqdn;
export const tailnetIPs = ingress.tailnetIPs;
export const certificate = ingress.certificate;
export const kubernetesObjects = ingress.kubernetesObjects;
