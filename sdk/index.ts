/**
 * pulumi-tailnet: expose Kubernetes workloads to a Tailscale tailnet from a Pulumi program.
 *
 * - {@link TailnetIngress}: HTTPS on a MagicDNS name with a Let's Encrypt certificate (layer 7).
 * - {@link TailnetService}: a tailnet address forwarding TCP/UDP to a cluster Service (layer 3).
 * - {@link ProxyGroup}: replicas that serve both as Tailscale Services (high availability).
 */
export {
  CertificateBudget,
  type CertificateBudgetArgs,
  type CertificateBudgetReport,
  type CertificateLedgerEntry,
  type CertificateLimitUsage,
} from "./certificateBudget";
export type {
  Affinity,
  AppArmorProfile,
  Capabilities,
  EnvVar,
  LabelSelector,
  LabelSelectorRequirement,
  NodeAffinity,
  NodeSelector,
  NodeSelectorRequirement,
  NodeSelectorTerm,
  PodAffinity,
  PodAffinityTerm,
  PodAntiAffinity,
  PodDNSConfig,
  PodDNSConfigOption,
  PodSecurityContext,
  PreferredSchedulingTerm,
  ResourceRequirements,
  SELinuxOptions,
  SeccompProfile,
  SecurityContext,
  Sysctl,
  Toleration,
  TopologySpreadConstraint,
  WeightedPodAffinityTerm,
  WindowsSecurityContextOptions,
} from "./kubernetes";
export type {
  ProxyClass,
  ProxyClassInitContainer,
  ProxyClassNodePortConfig,
  ProxyClassPortRange,
  ProxyClassServiceMonitor,
  ProxyClassStaticEndpoints,
} from "./proxyClass";
export { ProxyGroup, type ProxyGroupArgs, type ProxyGroupDevice } from "./proxyGroup";
export {
  type CertificateState,
  type IngressBackend,
  type IngressPath,
  type IngressRule,
  TailnetIngress,
  type TailnetIngressArgs,
} from "./tailnetIngress";
export { TailnetService, type TailnetServiceArgs } from "./tailnetService";
export type { BackendService, Credentials, KubernetesServiceLike, ServiceRef } from "./types";
