// A program for sdk-inputs.test.ts (run in its own process, since Pulumi's mocks are global): it
// constructs every SDK class with every argument set, under Pulumi's mocks, and prints, per resource
// type, the keys of the inputs the SDK sends to the provider. Each argument list is typed `Required<…>`
// of the class's Args, so an argument added to the SDK does not compile here until it is given too.
// It also prints the `resourceUrn` a resource under a component sent, and the URN the monitor gave it.
import * as pulumi from "@pulumi/pulumi";
import type {
  CertificateBudgetArgs,
  ProxyGroupArgs,
  TailnetIngressArgs,
  TailnetServiceArgs,
} from "../../sdk";

const sent: Record<string, string[]> = {};
const sentUrns: Record<string, unknown> = {};

async function main(): Promise<void> {
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        if (args.name === "child") {
          sentUrns[args.name] = args.inputs.resourceUrn;
          return { id: `${args.name}-id`, state: args.inputs };
        }
        sent[args.type.replace(/^.*:/, "")] = Object.keys(args.inputs).sort();
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call(args) {
        return args.inputs;
      },
    },
    "proj",
    "dev",
    false,
  );
  // Loaded after the mocks are set, as Pulumi's mock documentation asks.
  const sdk = await import("../../sdk");
  const opts = { customTimeouts: { create: "5m" } };
  const credentials = { tailscaleApiKey: "tskey-api-x" };
  const service = { namespace: "data", name: "db" };
  const backend = { service, port: 5432 };
  const groupArgs: Required<ProxyGroupArgs> = {
    name: "pg",
    namespace: "tailscale",
    type: "ingress",
    replicas: 2,
    tags: ["tag:k8s"],
    hostnamePrefix: "pg",
    proxyClass: { enableMetrics: true },
    shareAcmeAccount: true,
    credentials,
  };
  const group = new sdk.ProxyGroup("pg", groupArgs, opts);
  const serviceArgs: Required<TailnetServiceArgs> = {
    service,
    hostname: "db",
    tags: ["tag:k8s"],
    namespace: "data",
    proxyClass: { enableMetrics: true },
    proxyGroup: group,
    joinToken: "0".repeat(32),
    credentials,
  };
  new sdk.TailnetService("db", serviceArgs, opts);
  const ingressArgs: Required<TailnetIngressArgs> = {
    defaultBackend: backend,
    rules: [{ host: "web", paths: [{ path: "/", pathType: "Prefix", backend }] }],
    hostname: "web",
    tags: ["tag:k8s"],
    namespace: "data",
    proxyClass: { enableMetrics: true },
    proxyGroup: group,
    joinToken: "0".repeat(32),
    funnel: false,
    httpRedirect: false,
    httpEndpoint: true,
    backendProtocol: "http",
    waitForCertificate: true,
    credentials,
  };
  const ingress = new sdk.TailnetIngress("web", ingressArgs, opts);
  const budgetArgs: Required<CertificateBudgetArgs> = {
    ingresses: [ingress],
    peers: { "proj/other": [] },
    limits: { production: { perDomain: 40 } },
  };
  new sdk.CertificateBudget("budget", budgetArgs, opts);
  const parent = new pulumi.ComponentResource("test:index:Group", "group");
  const child = new sdk.TailnetService("child", { service }, { parent });
  const childUrn = await new Promise<string>((resolve) => child.urn.apply(resolve));
  // Inputs are sent once their Outputs resolve.
  await new Promise((resolve) => setTimeout(resolve, 500));
  process.stdout.write(JSON.stringify({ sent, urns: { sent: sentUrns.child, registered: childUrn } }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
