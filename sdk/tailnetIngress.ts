import * as pulumi from "@pulumi/pulumi";
import { certificateWarnings } from "../provider/plan/budget";
import type { IngressBackendInput, IngressRuleInput } from "../provider/plan/inputs";
import {
  type CertificateState as ProviderCertificateState,
  TAILNET_INGRESS_OUTPUTS,
} from "../provider/plan/outputs";
import type { ProxyClass } from "./proxyClass";
import type { ProxyGroup } from "./proxyGroup";
import { providerFor } from "./shim";
import {
  type BackendService,
  type Credentials,
  credentialsInput,
  customTimeoutsInput,
  outputPlaceholders,
  ownerIdFor,
  refuseProviderOptions,
  resourceUrnInput,
  serviceRefInput,
  TYPE_MODULE,
} from "./types";

/** Where an ingress path sends requests: a Service and one of its ports. */
export interface IngressBackend {
  /** The Service: `{ namespace, name }` or a `@pulumi/kubernetes` `core.v1.Service`. */
  service: BackendService | pulumi.Input<BackendService>;
  /**
   * The Service port, by number (`8080`) or by name (`"http"`). A name must be one of the
   * Service's port names; it is checked at `up`.
   */
  port: pulumi.Input<number | string>;
}

/** One path of an ingress rule. */
export interface IngressPath {
  /** Absolute path, matched as a prefix (`/api` serves `/api` and `/api/…`). */
  path: pulumi.Input<string>;
  /**
   * `Prefix` (default) or `ImplementationSpecific` (the same here). `Exact` is refused: the proxy
   * only matches prefixes, and the operator silently routing Exact as Prefix surprises users.
   */
  pathType?: pulumi.Input<"Prefix" | "ImplementationSpecific" | "Exact">;
  /** Where matching requests go. */
  backend: IngressBackend;
}

/** A rule: paths, optionally under a host. */
export interface IngressRule {
  /**
   * Host of the rule. Optional; if given it must be this ingress's own name (its hostname or its
   * MagicDNS name): one ingress serves one host, as with the operator.
   */
  host?: pulumi.Input<string>;
  /** The paths of the rule. */
  paths: IngressPath[];
}

/** Arguments of a {@link TailnetIngress}. */
export interface TailnetIngressArgs {
  /** Backend for requests that match no rule path (served at `/`). */
  defaultBackend?: IngressBackend;
  /** Rules with paths, read like a Kubernetes Ingress's `spec.rules`. */
  rules?: IngressRule[];
  /**
   * Tailnet hostname: a DNS label (`grafana`) or a full MagicDNS name whose first label is used
   * (`grafana.tailnet-1234.ts.net`, like the operator's `tls[0].hosts[0]`). Default: the Pulumi
   * resource name. Changing it replaces the ingress.
   */
  hostname?: pulumi.Input<string>;
  /**
   * ACL tags of the proxy device or Tailscale Service. Default `["tag:k8s"]`; an empty list is refused.
   * Changing tags replaces the device (with `proxyGroup`: updates the Tailscale Service in place).
   */
  tags?: pulumi.Input<pulumi.Input<string>[]>;
  /** Namespace of the standalone proxy's objects. Default: the first backend Service's namespace. */
  namespace?: pulumi.Input<string>;
  /** Customisation of the standalone proxy's Pod. With `proxyGroup`, the ProxyGroup's applies. */
  proxyClass?: pulumi.Input<ProxyClass>;
  /** Serve through this ProxyGroup as a Tailscale Service (high availability). */
  proxyGroup?: ProxyGroup;
  /** With `proxyGroup`: join another stack's Tailscale Service by its `joinToken` output. */
  joinToken?: pulumi.Input<string>;
  /** Expose the ingress to the public internet with Tailscale Funnel (port 443). Default false. */
  funnel?: pulumi.Input<boolean>;
  /** Also listen on port 80 and redirect to HTTPS. Default false. Not together with `httpEndpoint`. */
  httpRedirect?: pulumi.Input<boolean>;
  /**
   * With `proxyGroup`: also serve the same routes over plain HTTP on port 80 of the Tailscale Service
   * (`http://<hostname>.<tailnet>.ts.net/`), as the operator's `tailscale.com/http-endpoint: enabled`
   * annotation does; the service then lists `tcp:80` besides `tcp:443`. HTTPS stays on. Default false.
   * Changing it rewrites the serve config and the service's ports in place. Refused without
   * `proxyGroup` (the operator has no plain HTTP for standalone proxies) and together with
   * `httpRedirect` (port 80 serves one or the other). On a tailnet with HTTPS certificates off, set
   * `waitForCertificate: false` too: port 80 is served without a certificate.
   */
  httpEndpoint?: pulumi.Input<boolean>;
  /**
   * Scheme the proxy uses to reach the backends. Default: `https+insecure` for port 443 or a port
   * named `https` (the operator's rule), else `http`. Set it instead of renaming ports.
   */
  backendProtocol?: pulumi.Input<"http" | "https" | "https+insecure">;
  /**
   * Obtain the Let's Encrypt certificate during `pulumi up` (default true, through `pods/exec`), so the
   * first visitor does not wait for issuance and a failure to issue fails the `up` with its reason.
   * With `proxyGroup`, `up` waits for the certificate either way (watching its Secret when false)
   * before the replicas other than 0 advertise the service, since they can only serve a stored one;
   * unless port 80 is served (`httpEndpoint`, `httpRedirect`): then every replica advertises at once,
   * as with the operator, and `false` does not wait for the certificate at all.
   */
  waitForCertificate?: pulumi.Input<boolean>;
  /** Credentials for this resource; see {@link Credentials} for the lookup order. */
  credentials?: pulumi.Input<Credentials>;
}

/** State of an ingress's TLS certificate, read from the proxy. */
export type CertificateState = ProviderCertificateState;

/**
 * Exposes HTTP Services on the tailnet over HTTPS at `https://<hostname>.<tailnet>.ts.net`, with a
 * Let's Encrypt certificate: the Tailscale operator's Ingress, from `pulumi up`. Standalone it runs
 * its own proxy; with `proxyGroup` it is a Tailscale Service served by every replica.
 */
export class TailnetIngress extends pulumi.dynamic.Resource {
  /** Tailnet hostname (first label of the MagicDNS name). */
  declare public readonly hostname: pulumi.Output<string>;
  /** MagicDNS name, e.g. `grafana.tailnet-1234.ts.net`. */
  declare public readonly fqdn: pulumi.Output<string>;
  /** `https://<fqdn>/`. */
  declare public readonly url: pulumi.Output<string>;
  /** Standalone: the proxy device's tailnet IPs. */
  declare public readonly tailnetIPs: pulumi.Output<string[]>;
  /** Standalone: stable node ID of the proxy device. */
  declare public readonly deviceId: pulumi.Output<string | undefined>;
  /** With `proxyGroup`: the Tailscale Service name, `svc:<hostname>`. */
  declare public readonly serviceName: pulumi.Output<string | undefined>;
  /** With `proxyGroup`: the Tailscale Service's IPv4 and IPv6 addresses. */
  declare public readonly addresses: pulumi.Output<string[] | undefined>;
  /** With `proxyGroup`: the token another stack passes as `joinToken`. Secret. */
  declare public readonly joinToken: pulumi.Output<string | undefined>;
  /** The certificate's state; never the private key. */
  declare public readonly certificate: pulumi.Output<CertificateState>;
  /**
   * When each new certificate this resource caused was issued (RFC 3339): what counts against both of
   * Let's Encrypt's weekly limits (README, "Let's Encrypt limits").
   */
  declare public readonly certificateIssuances: pulumi.Output<string[]>;
  /**
   * When each renewal of its certificate that counts against the per-name limit was issued (RFC 3339):
   * every renewal, except those a ProxyGroup with `shareAcmeAccount` makes with the account that
   * issued the certificate, which Let's Encrypt exempts from every limit.
   */
  declare public readonly certificateRenewals: pulumi.Output<string[]>;
  /** The ProxyClass given (echoed; a CertificateBudget reads the staging flag from it during preview). */
  declare public readonly proxyClass: pulumi.Output<ProxyClass | undefined>;
  /** Namespace of the standalone proxy's objects (with `proxyGroup`: the `namespace` argument, as given). */
  declare public readonly namespace: pulumi.Output<string>;
  /** Kubernetes objects this resource made, as `Kind/namespace/name`. */
  declare public readonly kubernetesObjects: pulumi.Output<string[]>;
  /** Version of the output shape. */
  declare public readonly schemaVersion: pulumi.Output<number>;

  constructor(name: string, args: TailnetIngressArgs, opts?: pulumi.CustomResourceOptions) {
    refuseProviderOptions("TailnetIngress", name, opts, { credentials: args?.credentials });
    const backend = (b: IngressBackend, at: string): pulumi.Output<IngressBackendInput> =>
      pulumi
        .all([serviceRefInput(b.service as pulumi.Input<BackendService>, `${at}.service`), b.port])
        .apply(([service, port]) => ({ service, port }));
    const rules: pulumi.Output<IngressRuleInput[]> | undefined = args.rules
      ? pulumi.all(
          args.rules.map((rule, r) =>
            pulumi
              .all([
                rule.host,
                pulumi.all(
                  rule.paths.map((p, i) =>
                    pulumi
                      .all([p.path, p.pathType, backend(p.backend, `rules[${r}].paths[${i}].backend`)])
                      .apply(([path, pathType, b]) => ({
                        path,
                        ...(pathType ? { pathType } : {}),
                        backend: b,
                      })),
                  ),
                ),
              ])
              .apply(([host, paths]) => ({ ...(host !== undefined ? { host } : {}), paths })),
          ),
        )
      : undefined;
    super(
      providerFor("TailnetIngress"),
      name,
      {
        ...outputPlaceholders(TAILNET_INGRESS_OUTPUTS),
        ownerId: ownerIdFor(name),
        defaultBackend: args.defaultBackend ? backend(args.defaultBackend, "defaultBackend") : undefined,
        rules,
        hostname: args.hostname ?? name,
        tags: args.tags,
        namespace: args.namespace,
        proxyClass: args.proxyClass,
        proxyGroup: args.proxyGroup
          ? pulumi.output({ name: args.proxyGroup.name, namespace: args.proxyGroup.namespace })
          : undefined,
        joinToken: args.joinToken,
        funnel: args.funnel,
        httpRedirect: args.httpRedirect,
        httpEndpoint: args.httpEndpoint,
        backendProtocol: args.backendProtocol,
        waitForCertificate: args.waitForCertificate,
        resourceUrn: resourceUrnInput(name, "TailnetIngress", opts),
        customTimeouts: customTimeoutsInput(opts),
        credentials: credentialsInput(args.credentials),
      },
      pulumi.mergeOptions(opts, { additionalSecretOutputs: ["joinToken"] }),
      TYPE_MODULE,
      "TailnetIngress",
    );
    // Through the program, not the provider (whose create and update do not run in a preview, and
    // whose progress lines are ephemeral): every preview and update warns about a certificate that
    // failed or is about to expire.
    this.certificate.apply((certificate) => {
      for (const warning of certificateWarnings(name, certificate, new Date().toISOString())) {
        pulumi.log.warn(warning, this);
      }
    });
  }
}
