import * as pulumi from "@pulumi/pulumi";
import { PROXY_GROUP_OUTPUTS } from "../provider/plan/outputs";
import type { ProxyClass } from "./proxyClass";
import { providerFor } from "./shim";
import {
  type Credentials,
  credentialsInput,
  customTimeoutsInput,
  outputPlaceholders,
  ownerIdFor,
  refuseProviderOptions,
  resourceUrnInput,
  TYPE_MODULE,
} from "./types";

/** Arguments of a {@link ProxyGroup}. */
export interface ProxyGroupArgs {
  /**
   * Name of the ProxyGroup: names its StatefulSet (`<name>`), per-replica Secrets (`<name>-<i>`,
   * `<name>-<i>-config`) and ConfigMap (`<name>-ingress-config`). Must be a DNS label.
   * Defaults to the Pulumi resource name. Changing it replaces the ProxyGroup.
   */
  name?: pulumi.Input<string>;
  /** Namespace of the ProxyGroup's objects. Default `tailscale`. Must exist. Changing it replaces the ProxyGroup. */
  namespace?: pulumi.Input<string>;
  /** ProxyGroup type. Only `ingress` (serves TailnetIngress and TailnetService) is supported. */
  type?: pulumi.Input<"ingress">;
  /**
   * Number of proxy replicas; each is a tailnet device. Default 2. Scaling up mints auth keys for the
   * new replicas only; scaling down deletes the removed replicas' devices and Secrets.
   */
  replicas?: pulumi.Input<number>;
  /**
   * ACL tags of the replicas' devices. Default `["tag:k8s"]`; an empty list is refused, as for every
   * resource. The credentials must own them (tag owners in the tailnet policy). New tags reach new
   * replicas only, as in the operator; replace the ProxyGroup to retag existing devices.
   */
  tags?: pulumi.Input<pulumi.Input<string>[]>;
  /** Device hostname prefix: replicas are `<prefix>-<i>`. Default: the ProxyGroup name. */
  hostnamePrefix?: pulumi.Input<string>;
  /** Customisation of the proxy Pods. */
  proxyClass?: pulumi.Input<ProxyClass>;
  /**
   * Keep replica 0's Let's Encrypt account key in the Secret `tailscale-acme-accounts` of the
   * namespace, shared by every ProxyGroup there that sets this (the operator's
   * `tailscale.com/share-acme-account: "true"`). A re-created replica 0 then renews the certificates
   * with the account that issued them, as an ARI renewal that Let's Encrypt exempts from every limit;
   * without it each renewal counts against the limit of 5 certificates per name per week. It does not
   * change what a new name or a re-created ingress costs (README, "Let's Encrypt limits"). Default
   * false. Changing it rolls the replicas in place. The Secret is created by the first ProxyGroup that
   * uses it and deleted with the last one (the operator keeps it forever).
   */
  shareAcmeAccount?: pulumi.Input<boolean>;
  /** Credentials for this resource; see {@link Credentials} for the lookup order. */
  credentials?: pulumi.Input<Credentials>;
}

/** One replica's tailnet device. */
export interface ProxyGroupDevice {
  /** Replica ordinal. */
  ordinal: number;
  /** Device hostname, e.g. `ingress-0`. */
  hostname: string;
  /** MagicDNS name, e.g. `ingress-0.tailnet-1234.ts.net`. */
  fqdn: string;
  /** Tailnet IPv4 and IPv6 addresses. */
  tailnetIPs: string[];
  /** Stable node ID of the device. */
  deviceId: string;
  /**
   * With ProxyClass `staticEndpoints`: the `ip:port` endpoints the replica advertises (what its tailscaled
   * config lists), e.g. `["203.0.113.7:30001"]`. (operator: `status.devices[].staticEndpoints`)
   */
  staticEndpoints?: string[];
}

/**
 * A group of proxy replicas that serve TailnetIngress and TailnetService resources as Tailscale
 * Services (`svc:<name>`), advertised by every replica, so that one replica restarting causes no
 * downtime. The operator's `ProxyGroup` of type `ingress`.
 *
 * Prerequisites in the tailnet policy: the ProxyGroup's tags owned by the credentials' tags, and an
 * `autoApprovers.services` entry that lets those tags advertise the services.
 */
export class ProxyGroup extends pulumi.dynamic.Resource {
  /** Name of the ProxyGroup. */
  declare public readonly name: pulumi.Output<string>;
  /** Namespace of its objects. */
  declare public readonly namespace: pulumi.Output<string>;
  /** Number of replicas. */
  declare public readonly replicas: pulumi.Output<number>;
  /** Every replica's device, by ordinal. */
  declare public readonly devices: pulumi.Output<ProxyGroupDevice[]>;
  /** Name of the StatefulSet. */
  declare public readonly statefulSetName: pulumi.Output<string>;
  /** Name of the ConfigMap that holds the serve config and DNAT config of the services. */
  declare public readonly configMapName: pulumi.Output<string>;
  /** Version of the output shape. */
  declare public readonly schemaVersion: pulumi.Output<number>;

  constructor(name: string, args: ProxyGroupArgs = {}, opts?: pulumi.CustomResourceOptions) {
    refuseProviderOptions("ProxyGroup", name, opts, { credentials: args?.credentials });
    super(
      providerFor("ProxyGroup"),
      name,
      {
        ...outputPlaceholders(PROXY_GROUP_OUTPUTS),
        ownerId: ownerIdFor(name),
        name: args.name ?? name,
        namespace: args.namespace ?? "tailscale",
        type: args.type ?? "ingress",
        replicas: args.replicas,
        tags: args.tags,
        hostnamePrefix: args.hostnamePrefix,
        proxyClass: args.proxyClass,
        shareAcmeAccount: args.shareAcmeAccount,
        resourceUrn: resourceUrnInput(name, "ProxyGroup", opts),
        customTimeouts: customTimeoutsInput(opts),
        credentials: credentialsInput(args.credentials),
      },
      opts,
      TYPE_MODULE,
      "ProxyGroup",
    );
  }
}
