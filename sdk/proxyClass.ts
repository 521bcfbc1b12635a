import type * as pulumi from "@pulumi/pulumi";
import type {
  Affinity,
  EnvVar,
  PodSecurityContext,
  ResourceRequirements,
  SecurityContext,
  Toleration,
  TopologySpreadConstraint,
} from "./kubernetes";

/**
 * How proxy Pods are customised: the Tailscale operator's `ProxyClass`, as a plain typed object
 * (there is no operator to hold a custom resource). Give the same object to several resources to
 * share it. Fields map to the operator's `spec.statefulSet.pod…` fields as named in each comment.
 *
 * Changing a ProxyClass updates the proxies in place (a rolling restart of their Pods); their
 * devices, names and certificates are kept.
 */
export interface ProxyClass {
  /** Proxy image. Default `tailscale/tailscale:stable`. (operator: `tailscaleContainer.image`) */
  image?: pulumi.Input<string>;
  /** Image pull policy of the proxy containers. (operator: `tailscaleContainer.imagePullPolicy`) */
  imagePullPolicy?: pulumi.Input<"Always" | "IfNotPresent" | "Never">;
  /** Names of image pull Secrets in the proxy's namespace. (operator: `pod.imagePullSecrets`) */
  imagePullSecrets?: pulumi.Input<pulumi.Input<string>[]>;
  /**
   * Requests and limits of the `tailscale` container, e.g. `{ requests: { cpu: "10m", memory: "32Mi" } }`.
   * Non-empty `requests` replace the default ones (`1m` CPU, `1Mi` memory); there are no default
   * limits. (operator: `tailscaleContainer.resources`)
   */
  resources?: pulumi.Input<ResourceRequirements>;
  /** Node selector of proxy Pods. (operator: `pod.nodeSelector`) */
  nodeSelector?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /**
   * Tolerations of proxy Pods, as in a Pod spec; a `k8s.types.input.core.v1.Toleration[]` fits.
   * (operator: `pod.tolerations`)
   */
  tolerations?: pulumi.Input<pulumi.Input<Toleration>[]>;
  /**
   * Affinity of proxy Pods, as in a Pod spec; a `k8s.types.input.core.v1.Affinity` fits.
   * (operator: `pod.affinity`)
   */
  affinity?: pulumi.Input<Affinity>;
  /**
   * How proxy Pods spread over nodes or zones, as in a Pod spec. A constraint without `labelSelector`
   * counts the proxy's own Pods. On a ProxyGroup it replaces the default, which keeps the replicas on
   * as many nodes as there are (`maxSkew: 1` over `kubernetes.io/hostname`, `DoNotSchedule`,
   * `nodeTaintsPolicy: Honor`); `[]` removes it. (operator: `pod.topologySpreadConstraints`)
   */
  topologySpreadConstraints?: pulumi.Input<pulumi.Input<TopologySpreadConstraint>[]>;
  /** Priority class of proxy Pods. (operator: `pod.priorityClassName`) */
  priorityClassName?: pulumi.Input<string>;
  /** Extra labels on proxy Pods. Our own labels always win. (operator: `pod.labels`) */
  podLabels?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** Extra annotations on proxy Pods. (operator: `pod.annotations`) */
  podAnnotations?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** Extra labels on the proxy StatefulSet. (operator: `statefulSet.labels`) */
  statefulSetLabels?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** Extra annotations on the proxy StatefulSet. (operator: `statefulSet.annotations`) */
  statefulSetAnnotations?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /**
   * Extra environment variables of the `tailscale` container, appended last, with literal values.
   * (operator: `tailscaleContainer.env`)
   */
  env?: pulumi.Input<pulumi.Input<EnvVar>[]>;
  /**
   * Container securityContext of the `tailscale` container; a `k8s.types.input.core.v1.SecurityContext`
   * fits. It replaces the default, which for layer-3 and ProxyGroup proxies is `{ privileged: true }`
   * (they use a TUN device and iptables or nftables in the Pod), so a replacement must still grant
   * what those need; for a standalone TailnetIngress proxy (userspace networking) the default meets the
   * Pod Security `restricted` level (non-root UID 1000, no privilege escalation, all capabilities
   * dropped, RuntimeDefault seccomp), and a replacement that breaks the namespace's enforced level is
   * refused by `up` before anything is created. (operator: `tailscaleContainer.securityContext`)
   */
  securityContext?: pulumi.Input<SecurityContext>;
  /**
   * Pod securityContext of proxy Pods; a `k8s.types.input.core.v1.PodSecurityContext` fits.
   * (operator: `pod.securityContext`)
   */
  podSecurityContext?: pulumi.Input<PodSecurityContext>;
  /** Firewall mode of layer-3 proxies (`TS_DEBUG_FIREWALL_MODE`). (operator: `PROXY_FIREWALL_MODE`) */
  firewallMode?: pulumi.Input<"auto" | "iptables" | "nftables">;
  /** Accept subnet routes advertised by other tailnet devices. (operator: `tailscale.acceptRoutes`) */
  acceptRoutes?: pulumi.Input<boolean>;
  /** Serve Prometheus metrics on port 9002 and debug endpoints on 9001. (operator: `metrics.enable`) */
  enableMetrics?: pulumi.Input<boolean>;
  /**
   * Get certificates from Let's Encrypt's staging environment: untrusted by browsers, but with far
   * higher rate limits. Use it in test and CI stacks. Outputs report `certificate.staging: true`.
   * (operator: `useLetsEncryptStagingEnvironment`)
   */
  useLetsEncryptStagingEnvironment?: pulumi.Input<boolean>;
}
