/**
 * Names, labels and constants shared by the HA planners (ProxyGroup, HA TailnetIngress, HA
 * TailnetService). The values that must match the operator's are listed, with their upstream sources,
 * in docs/operator-parity.md ("ProxyGroups and Tailscale Services").
 */
import { LABEL_MANAGED_BY, LABEL_OWNER, MANAGED_BY, ownerAnnotations, ownerHash } from "../labels";

export {
  ANNOTATION_OWNER_ID,
  LABEL_MANAGED,
  LABEL_MANAGED_BY,
  LABEL_OWNER,
  LABEL_PARENT_NAME,
  LABEL_PARENT_TYPE,
  MANAGED_BY,
} from "../labels";
export { DEFAULT_IMAGE_PULL_POLICY, DEFAULT_PROXY_IMAGE } from "../proxyclass";

/** Secret role: `config`, `state` or `certs`. */
export const LABEL_SECRET_TYPE = "tailscale.com/secret-type";
/** On cert Secrets/Roles/RoleBindings: the ProxyGroup whose replicas read the cert. */
export const LABEL_PROXY_GROUP = "tailscale.com/proxy-group";
/** On cert Secrets/Roles/RoleBindings: the certificate's domain (truncated to a label value). */
export const LABEL_DOMAIN = "tailscale.com/domain";

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
