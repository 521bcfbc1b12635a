/**
 * Names, labels and constants shared by the HA planners (ProxyGroup, HA TailnetIngress, HA
 * TailnetService). The values that must match the operator's are listed, with their upstream sources,
 * in docs/operator-parity.md ("ProxyGroups and Tailscale Services").
 */
import {
  LABEL_MANAGED_BY,
  LABEL_OWNER,
  MANAGED_BY,
  OPERATOR_LABEL_MANAGED,
  ownerAnnotations,
  ownerHash,
} from "../labels";

export {
  ANNOTATION_OWNER_ID,
  LABEL_MANAGED_BY,
  LABEL_OWNER,
  LABEL_PARENT_NAME,
  LABEL_PARENT_TYPE,
  LABEL_SECRET_TYPE,
  MANAGED_BY,
  OPERATOR_LABEL_MANAGED,
} from "../labels";
export { DEFAULT_IMAGE_PULL_POLICY, DEFAULT_PROXY_IMAGE } from "../proxyclass";

/**
 * The labels containerboot lists a ProxyGroup's certificate Secrets by, which every HA certificate
 * Secret must carry: `tailscale.com/secret-type: certs`, `tailscale.com/managed: "true"` and
 * `tailscale.com/proxy-group: <ProxyGroup>` (tailscale/tailscale@de9ec7ee ipn/store/kubestore/store_kube.go:688-706
 * `certSecretSelector`). The operator's controllers that read certificate Secrets also want
 * `tailscale.com/domain` and the parent labels (cmd/k8s-operator/operator.go:1392-1398 `isTLSSecret`,
 * ingress-for-pg.go:1106-1112), which ours do not carry.
 */
export function containerbootCertLabels(pg: string): Record<string, string> {
  return {
    "tailscale.com/secret-type": "certs",
    [OPERATOR_LABEL_MANAGED]: "true",
    "tailscale.com/proxy-group": pg,
  };
}
/** On cert Secrets/Roles/RoleBindings: the ProxyGroup whose replicas read the cert. */
export const LABEL_PROXY_GROUP = "tailnet.pulumi.com/proxy-group";
/** On cert Secrets/Roles/RoleBindings: the certificate's domain (truncated to a label value). */
export const LABEL_DOMAIN = "tailnet.pulumi.com/domain";

/** The tailscaled config file name in config Secrets (`cap-<pgMinCapabilityVersion>.hujson`). */
export const CONFIG_KEY = "cap-106.hujson";
/**
 * Key of the serve config of every HA TailnetIngress in a ProxyGroup's ConfigMap (`binaryData`),
 * mounted at `/etc/proxies` (TS_SERVE_CONFIG). Not the standalone proxy's key, which is
 * `STANDALONE_SERVE_CONFIG_KEY` (plan/standalone.ts): the operator names the two differently.
 */
export const PROXY_GROUP_SERVE_CONFIG_KEY = "serve-config.json";
/** ConfigMap key of the L3 DNAT config (`binaryData`); same key in state Secrets for the applied status. */
export const INGRESS_CONFIG_KEY = "ingress-config.json";

/** Default number of ProxyGroup replicas (the operator's default when `spec.replicas` is nil). */
export const DEFAULT_REPLICAS = 2;

/** Comment we put on Tailscale Services we manage (shown in the admin console). */
export const TAILSCALE_SERVICE_COMMENT = "Managed by pulumi-tailnet; do not modify";

/**
 * The labels and annotations every object we create carries besides the operator-compatible ones:
 * `app.kubernetes.io/managed-by`, `tailnet.pulumi.com/owner` (the shared `ownerHash`) and the
 * `tailnet.pulumi.com/owner-id` annotation.
 */
export function ownershipMetadata(ownerId: string): {
  labels: Record<string, string>;
  annotations: Record<string, string>;
} {
  return {
    labels: { [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_OWNER]: ownerHash(ownerId) },
    annotations: ownerAnnotations(ownerId),
  };
}

/** `svc:<hostname>`: the Tailscale Service name for an HA hostname. */
export function serviceNameFor(hostname: string): string {
  return `svc:${hostname}`;
}
