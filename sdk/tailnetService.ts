import * as pulumi from "@pulumi/pulumi";
import { TAILNET_SERVICE_OUTPUTS } from "../provider/plan/outputs";
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

/** Arguments of a {@link TailnetService}. */
export interface TailnetServiceArgs {
  /**
   * The cluster Service to expose: `{ namespace, name }` or a `@pulumi/kubernetes` `core.v1.Service`.
   * All its TCP and UDP traffic is forwarded (DNAT) to its cluster IP; an `ExternalName` Service is
   * followed by DNS name. Headless Services (`clusterIP: None`) are refused: they have no single
   * address to forward to.
   */
  service: BackendService | pulumi.Input<BackendService>;
  /**
   * Tailnet hostname (a DNS label of at most 63 characters). Default `<namespace>-<name>` of the
   * Service, as the operator does. Changing it replaces the proxy; the new name is registered before
   * the old device is removed.
   */
  hostname?: pulumi.Input<string>;
  /**
   * ACL tags of the proxy device (standalone) or of the Tailscale Service (with `proxyGroup`).
   * Default `["tag:k8s"]`; an empty list is refused. The credentials must own them. Changing tags
   * replaces the device (with `proxyGroup`: updates the Tailscale Service in place).
   */
  tags?: pulumi.Input<pulumi.Input<string>[]>;
  /**
   * Namespace for the standalone proxy's objects. Default: the Service's namespace (there is no
   * operator namespace). Ignored with `proxyGroup`.
   */
  namespace?: pulumi.Input<string>;
  /** Customisation of the standalone proxy's Pod. With `proxyGroup`, the ProxyGroup's applies. */
  proxyClass?: pulumi.Input<ProxyClass>;
  /**
   * Serve through this ProxyGroup as a Tailscale Service (`svc:<hostname>`) advertised by every
   * replica (high availability), only while the Service has a ready endpoint: checked when `up`
   * creates or updates this resource, which fails (after withdrawing the service, on an update) when it
   * has none. Moving between standalone and a ProxyGroup brings the new path up before the old one is
   * removed.
   */
  proxyGroup?: ProxyGroup;
  /**
   * With `proxyGroup`: join a Tailscale Service that another stack (another cluster) created, by the
   * `joinToken` output of that stack's resource (read it through a StackReference). Without it, an
   * existing Tailscale Service of the same name that is not this resource's own fails the `up`.
   */
  joinToken?: pulumi.Input<string>;
  /** Credentials for this resource; see {@link Credentials} for the lookup order. */
  credentials?: pulumi.Input<Credentials>;
}

/**
 * Exposes a Kubernetes Service on the tailnet at layer 3: a tailnet address whose TCP and UDP
 * traffic reaches the Service's cluster IP. Standalone it runs its own one-replica proxy (a tailnet
 * device); with `proxyGroup` it is a Tailscale Service served by every replica of the group.
 *
 * `pulumi up` waits until the device is registered (or the service is advertised), within the
 * resource's `customTimeouts` (default 10 minutes).
 */
export class TailnetService extends pulumi.dynamic.Resource {
  /** Tailnet hostname (first label of the MagicDNS name). */
  declare public readonly hostname: pulumi.Output<string>;
  /** MagicDNS name, without trailing dot, e.g. `db.tailnet-1234.ts.net`. */
  declare public readonly fqdn: pulumi.Output<string>;
  /**
   * Tailnet addresses clients connect to, each forwarded to the backend's cluster IP of its family.
   * Standalone: the device's addresses that forward, IPv4 first: both for a dual-stack backend, else
   * the one of the cluster IP's family (IPv4 for an ExternalName backend); with `proxyGroup`: the
   * Tailscale Service's addresses.
   */
  declare public readonly tailnetIPs: pulumi.Output<string[]>;
  /** Standalone: stable node ID of the proxy device. */
  declare public readonly deviceId: pulumi.Output<string | undefined>;
  /** With `proxyGroup`: the Tailscale Service name, `svc:<hostname>`. */
  declare public readonly serviceName: pulumi.Output<string | undefined>;
  /** With `proxyGroup`: the Tailscale Service's IPv4 and IPv6 addresses. */
  declare public readonly addresses: pulumi.Output<string[] | undefined>;
  /** With `proxyGroup`: the token another stack passes as `joinToken` to serve the same service. Secret. */
  declare public readonly joinToken: pulumi.Output<string | undefined>;
  /** Namespace of the standalone proxy's objects (with `proxyGroup`: the `namespace` argument, as given). */
  declare public readonly namespace: pulumi.Output<string>;
  /** Kubernetes objects this resource made, as `Kind/namespace/name`. */
  declare public readonly kubernetesObjects: pulumi.Output<string[]>;
  /** Version of the output shape. */
  declare public readonly schemaVersion: pulumi.Output<number>;

  constructor(name: string, args: TailnetServiceArgs, opts?: pulumi.CustomResourceOptions) {
    refuseProviderOptions("TailnetService", name, opts, { credentials: args?.credentials });
    if (!args || args.service === undefined) {
      throw new Error(
        `TailnetService "${name}": args.service is required (a { namespace, name } or a core.v1.Service)`,
      );
    }
    super(
      providerFor("TailnetService"),
      name,
      {
        ...outputPlaceholders(TAILNET_SERVICE_OUTPUTS),
        ownerId: ownerIdFor(name),
        service: serviceRefInput(args.service as pulumi.Input<BackendService>, "service"),
        hostname: args.hostname,
        tags: args.tags,
        namespace: args.namespace,
        proxyClass: args.proxyClass,
        proxyGroup: args.proxyGroup
          ? pulumi.output({ name: args.proxyGroup.name, namespace: args.proxyGroup.namespace })
          : undefined,
        joinToken: args.joinToken,
        resourceUrn: resourceUrnInput(name, "TailnetService", opts),
        customTimeouts: customTimeoutsInput(opts),
        credentials: credentialsInput(args.credentials),
      },
      pulumi.mergeOptions(opts, { additionalSecretOutputs: ["joinToken"] }),
      TYPE_MODULE,
      "TailnetService",
    );
  }
}
