/**
 * The Kubernetes shapes a `ProxyClass` takes, declared here rather than imported.
 *
 * Why not `@kubernetes/client-node`'s `V1Toleration` and friends: whatever the SDK's declarations
 * import is type-checked in every user's program, and client-node's own declaration files do not
 * compile under the standard Pulumi TypeScript settings (strict, no `skipLibCheck`). Why not
 * `@pulumi/kubernetes`'s input types: it is an optional peer dependency, absent from programs that
 * name Services by `{ namespace, name }`.
 *
 * Each type follows the Kubernetes type of the same name field for field
 * (kubernetes/api@10b39a39bcee995dfe7cd5e8e7b922be5e46f1e2 core/v1/types.go, and for
 * {@link LabelSelector} kubernetes/apimachinery@eed236ceee2c19c2753a3d93ac0631dc20750454
 * pkg/apis/meta/v1/types.go), with every field a `pulumi.Input` accepting `undefined` exactly as
 * `@pulumi/kubernetes` declares its inputs, so that a `k8s.types.input.core.v1.Toleration[]`, an
 * `Affinity` or a `SecurityContext` written for a Deployment can be passed as they are.
 * tests/package/types.test.ts compiles such a program against the packed package.
 *
 * Enumerations are typed `string` (as in `@pulumi/kubernetes`), with the accepted values listed: the
 * provider checks a toleration's during preview (provider/plan/schema/proxyClass.ts), the Kubernetes
 * API server the others at `up`. Two types are narrower than Kubernetes', because the provider copies only
 * part of them (provider/plan/proxyclass.ts): {@link ResourceRequirements} has no `claims` and
 * {@link EnvVar} has no `valueFrom`.
 */
import type * as pulumi from "@pulumi/pulumi";

/** Lets a Pod be scheduled onto nodes with a matching taint (`spec.tolerations[]` of a Pod). */
export interface Toleration {
  /** Taint key to match. Empty matches every key; then `operator` must be `Exists`. */
  key?: pulumi.Input<string | undefined>;
  /**
   * How `key` relates to `value`: `Equal` (the default) or `Exists` (any value; `value` must then be
   * empty). The provider accepts these two.
   */
  operator?: pulumi.Input<string | undefined>;
  /** Taint value to match with `Equal`. */
  value?: pulumi.Input<string | undefined>;
  /** Taint effect to match: `NoSchedule`, `PreferNoSchedule` or `NoExecute`. Empty matches all. */
  effect?: pulumi.Input<string | undefined>;
  /**
   * With effect `NoExecute`: seconds the Pod stays bound after the taint appears. Unset tolerates it
   * forever; zero or negative evicts at once.
   */
  tolerationSeconds?: pulumi.Input<number | undefined>;
}

/**
 * Requests and limits of a container's compute resources (`resources` of a container). Without
 * Kubernetes' `claims` (dynamic resource allocation), which the provider does not copy.
 */
export interface ResourceRequirements {
  /**
   * Minimum resources the container needs, by resource name, as quantities: e.g.
   * `{ cpu: "10m", memory: "32Mi" }`. Scheduling reserves them.
   */
  requests?: pulumi.Input<Record<string, pulumi.Input<string>> | undefined>;
  /** Maximum resources the container may use, by resource name, as quantities: e.g. `{ memory: "128Mi" }`. */
  limits?: pulumi.Input<Record<string, pulumi.Input<string>> | undefined>;
}

/**
 * An environment variable with a literal value (`env[]` of a container).
 *
 * Narrower than a Kubernetes `EnvVar` on purpose: the provider copies `name` and `value` only, so
 * `valueFrom` (Secret, ConfigMap and field references) is not offered, and `value` is required. A
 * `k8s.types.input.core.v1.EnvVar` object is therefore not accepted as such; give `{ name, value }`.
 */
export interface EnvVar {
  /** Variable name: letters, digits, `_`, `-` and `.`, not starting with a digit. */
  name: pulumi.Input<string>;
  /** Value. `$(VAR)` references to variables defined earlier in the container are expanded by Kubernetes. */
  value: pulumi.Input<string>;
}

/** Scheduling constraints of a Pod relative to nodes and other Pods (`spec.affinity` of a Pod). */
export interface Affinity {
  /** Which nodes the Pod may run on, or prefers, by node labels and fields. */
  nodeAffinity?: pulumi.Input<NodeAffinity | undefined>;
  /** Pods to run near (same node, zone, … as given by `topologyKey`). */
  podAffinity?: pulumi.Input<PodAffinity | undefined>;
  /** Pods to keep away from, e.g. to spread ProxyGroup replicas over nodes or zones. */
  podAntiAffinity?: pulumi.Input<PodAntiAffinity | undefined>;
}

/** Node affinity rules of a Pod. */
export interface NodeAffinity {
  /** Nodes the Pod must run on; not re-checked once the Pod is running. */
  requiredDuringSchedulingIgnoredDuringExecution?: pulumi.Input<NodeSelector | undefined>;
  /** Nodes the Pod prefers, each term weighted; the scheduler may still choose others. */
  preferredDuringSchedulingIgnoredDuringExecution?: pulumi.Input<
    pulumi.Input<PreferredSchedulingTerm>[] | undefined
  >;
}

/** A node selector: a node matches if it matches any of the terms. */
export interface NodeSelector {
  /** The terms, ORed. */
  nodeSelectorTerms: pulumi.Input<pulumi.Input<NodeSelectorTerm>[]>;
}

/** One node selector term: a node matches if it meets all of its requirements. */
export interface NodeSelectorTerm {
  /** Requirements on the node's labels. */
  matchExpressions?: pulumi.Input<pulumi.Input<NodeSelectorRequirement>[] | undefined>;
  /** Requirements on the node's fields (`metadata.name`). */
  matchFields?: pulumi.Input<pulumi.Input<NodeSelectorRequirement>[] | undefined>;
}

/** A requirement on one node label or field. */
export interface NodeSelectorRequirement {
  /** The label key (or field name) the requirement is about. */
  key: pulumi.Input<string>;
  /** `In`, `NotIn`, `Exists`, `DoesNotExist`, `Gt` or `Lt`. */
  operator: pulumi.Input<string>;
  /** Values to compare with: non-empty for `In`/`NotIn`, empty for `Exists`/`DoesNotExist`, one integer for `Gt`/`Lt`. */
  values?: pulumi.Input<pulumi.Input<string>[] | undefined>;
}

/** A weighted node selector term: nodes matching it score `weight` more. */
export interface PreferredSchedulingTerm {
  /** Weight, 1 to 100. */
  weight: pulumi.Input<number>;
  /** The term nodes are matched against. */
  preference: pulumi.Input<NodeSelectorTerm>;
}

/** Pod affinity rules: run near Pods matching the terms. */
export interface PodAffinity {
  /** Terms that must all hold when the Pod is scheduled; not re-checked once it runs. */
  requiredDuringSchedulingIgnoredDuringExecution?: pulumi.Input<pulumi.Input<PodAffinityTerm>[] | undefined>;
  /** Terms the scheduler prefers to satisfy, each weighted. */
  preferredDuringSchedulingIgnoredDuringExecution?: pulumi.Input<
    pulumi.Input<WeightedPodAffinityTerm>[] | undefined
  >;
}

/** Pod anti-affinity rules: stay away from Pods matching the terms. */
export interface PodAntiAffinity {
  /** Terms that must all hold when the Pod is scheduled; not re-checked once it runs. */
  requiredDuringSchedulingIgnoredDuringExecution?: pulumi.Input<pulumi.Input<PodAffinityTerm>[] | undefined>;
  /** Terms the scheduler prefers to satisfy, each weighted. */
  preferredDuringSchedulingIgnoredDuringExecution?: pulumi.Input<
    pulumi.Input<WeightedPodAffinityTerm>[] | undefined
  >;
}

/** A set of Pods, and the topology domain (node, zone, …) in which to run near them or away from them. */
export interface PodAffinityTerm {
  /** The Pods, by label. Unset matches no Pods. */
  labelSelector?: pulumi.Input<LabelSelector | undefined>;
  /** Namespaces of those Pods, by name. With `namespaceSelector` unset too: this Pod's namespace. */
  namespaces?: pulumi.Input<pulumi.Input<string>[] | undefined>;
  /** Namespaces of those Pods, by label; `{}` matches all namespaces. */
  namespaceSelector?: pulumi.Input<LabelSelector | undefined>;
  /** Node label whose value defines the domain, e.g. `kubernetes.io/hostname` or `topology.kubernetes.io/zone`. */
  topologyKey: pulumi.Input<string>;
  /** Label keys of this Pod whose values are added to `labelSelector` as `key in (value)`. */
  matchLabelKeys?: pulumi.Input<pulumi.Input<string>[] | undefined>;
  /** Label keys of this Pod whose values are added to `labelSelector` as `key notin (value)`. */
  mismatchLabelKeys?: pulumi.Input<pulumi.Input<string>[] | undefined>;
}

/** A weighted Pod affinity term: nodes satisfying it score `weight` more. */
export interface WeightedPodAffinityTerm {
  /** Weight, 1 to 100. */
  weight: pulumi.Input<number>;
  /** The term. */
  podAffinityTerm: pulumi.Input<PodAffinityTerm>;
}

/**
 * How Pods spread over nodes, zones or any node label (`spec.topologySpreadConstraints[]` of a Pod); a
 * `k8s.types.input.core.v1.TopologySpreadConstraint` fits.
 */
export interface TopologySpreadConstraint {
  /** How many more matching Pods one domain may have than the emptiest one; at least 1. */
  maxSkew: pulumi.Input<number>;
  /** The node label whose values are the domains, e.g. `kubernetes.io/hostname` or `topology.kubernetes.io/zone`. */
  topologyKey: pulumi.Input<string>;
  /** `DoNotSchedule` (a Pod that would break it stays Pending) or `ScheduleAnyway` (only preferred). */
  whenUnsatisfiable: pulumi.Input<string>;
  /**
   * The Pods counted. Absent: this proxy's own Pods (Kubernetes would count none, which spreads nothing).
   */
  labelSelector?: pulumi.Input<LabelSelector | undefined>;
  /** Fewer eligible domains than this count as empty ones (`DoNotSchedule` only). */
  minDomains?: pulumi.Input<number | undefined>;
  /** `Honor` (default: only nodes the Pod's node selector and affinity allow count) or `Ignore`. */
  nodeAffinityPolicy?: pulumi.Input<string | undefined>;
  /** `Honor` (only nodes whose taints the Pod tolerates count) or `Ignore` (Kubernetes' default: all). */
  nodeTaintsPolicy?: pulumi.Input<string | undefined>;
  /** Pod label keys whose values, taken from the Pod, narrow `labelSelector`. */
  matchLabelKeys?: pulumi.Input<pulumi.Input<string>[] | undefined>;
}

/** A label query: the results of `matchLabels` and `matchExpressions` are ANDed; empty matches everything. */
export interface LabelSelector {
  /** Labels that must have exactly these values. */
  matchLabels?: pulumi.Input<Record<string, pulumi.Input<string>> | undefined>;
  /** Requirements on labels. */
  matchExpressions?: pulumi.Input<pulumi.Input<LabelSelectorRequirement>[] | undefined>;
}

/** A requirement on one label. */
export interface LabelSelectorRequirement {
  /** The label key. */
  key: pulumi.Input<string>;
  /** `In`, `NotIn`, `Exists` or `DoesNotExist`. */
  operator: pulumi.Input<string>;
  /** Values for `In` and `NotIn` (non-empty); empty for `Exists` and `DoesNotExist`. */
  values?: pulumi.Input<pulumi.Input<string>[] | undefined>;
}

/**
 * Security settings of a whole Pod (`spec.securityContext` of a Pod). A container's
 * {@link SecurityContext} overrides the fields both have.
 */
export interface PodSecurityContext {
  /** UID that runs the containers' entrypoints. Default: the image's user. */
  runAsUser?: pulumi.Input<number | undefined>;
  /** GID that runs the containers' entrypoints. Default: the runtime's. */
  runAsGroup?: pulumi.Input<number | undefined>;
  /** Refuse to start a container whose user is root (UID 0). */
  runAsNonRoot?: pulumi.Input<boolean | undefined>;
  /** Additional groups of the first process of each container. */
  supplementalGroups?: pulumi.Input<pulumi.Input<number>[] | undefined>;
  /** `Merge` (the default: add to the image's groups) or `Strict` (only these groups). */
  supplementalGroupsPolicy?: pulumi.Input<string | undefined>;
  /** Group that owns supporting volumes, set as the volumes' GID. */
  fsGroup?: pulumi.Input<number | undefined>;
  /** `OnRootMismatch` or `Always` (the default): when volume ownership is changed to `fsGroup`. */
  fsGroupChangePolicy?: pulumi.Input<string | undefined>;
  /** Namespaced sysctls set for the Pod. */
  sysctls?: pulumi.Input<pulumi.Input<Sysctl>[] | undefined>;
  /** SELinux context of all containers. */
  seLinuxOptions?: pulumi.Input<SELinuxOptions | undefined>;
  /** `MountOption` (the default) or `Recursive`: how the SELinux label is applied to volumes. */
  seLinuxChangePolicy?: pulumi.Input<string | undefined>;
  /** Seccomp profile of all containers. */
  seccompProfile?: pulumi.Input<SeccompProfile | undefined>;
  /** AppArmor profile of all containers. */
  appArmorProfile?: pulumi.Input<AppArmorProfile | undefined>;
  /** Windows settings of all containers. */
  windowsOptions?: pulumi.Input<WindowsSecurityContextOptions | undefined>;
}

/** Security settings of one container (`securityContext` of a container); override the Pod's. */
export interface SecurityContext {
  /** Run the container privileged (as root on the host, for practical purposes). */
  privileged?: pulumi.Input<boolean | undefined>;
  /** Capabilities to add to or drop from the runtime's default set. */
  capabilities?: pulumi.Input<Capabilities | undefined>;
  /** Whether a process may gain more privileges than its parent (`no_new_privs` when false). */
  allowPrivilegeEscalation?: pulumi.Input<boolean | undefined>;
  /** Mount the container's root filesystem read-only. */
  readOnlyRootFilesystem?: pulumi.Input<boolean | undefined>;
  /** UID that runs the entrypoint; overrides the Pod's. */
  runAsUser?: pulumi.Input<number | undefined>;
  /** GID that runs the entrypoint; overrides the Pod's. */
  runAsGroup?: pulumi.Input<number | undefined>;
  /** Refuse to start if the container's user is root (UID 0). */
  runAsNonRoot?: pulumi.Input<boolean | undefined>;
  /** `Default` or `Unmasked`: the kind of `/proc` mount. */
  procMount?: pulumi.Input<string | undefined>;
  /** SELinux context of the container; overrides the Pod's. */
  seLinuxOptions?: pulumi.Input<SELinuxOptions | undefined>;
  /** Seccomp profile of the container; overrides the Pod's. */
  seccompProfile?: pulumi.Input<SeccompProfile | undefined>;
  /** AppArmor profile of the container; overrides the Pod's. */
  appArmorProfile?: pulumi.Input<AppArmorProfile | undefined>;
  /** Windows settings of the container; override the Pod's. */
  windowsOptions?: pulumi.Input<WindowsSecurityContextOptions | undefined>;
}

/** Linux capabilities to add and drop, e.g. `{ add: ["NET_ADMIN"] }`. */
export interface Capabilities {
  /** Capabilities to add. */
  add?: pulumi.Input<pulumi.Input<string>[] | undefined>;
  /** Capabilities to drop, e.g. `["ALL"]`. */
  drop?: pulumi.Input<pulumi.Input<string>[] | undefined>;
}

/** SELinux labels. */
export interface SELinuxOptions {
  /** SELinux user label. */
  user?: pulumi.Input<string | undefined>;
  /** SELinux role label. */
  role?: pulumi.Input<string | undefined>;
  /** SELinux type label. */
  type?: pulumi.Input<string | undefined>;
  /** SELinux level label. */
  level?: pulumi.Input<string | undefined>;
}

/** A seccomp profile. */
export interface SeccompProfile {
  /** `RuntimeDefault`, `Unconfined` or `Localhost` (then `localhostProfile` names it). */
  type: pulumi.Input<string>;
  /** With `Localhost`: path of the profile, relative to the kubelet's seccomp profile directory. */
  localhostProfile?: pulumi.Input<string | undefined>;
}

/** An AppArmor profile. */
export interface AppArmorProfile {
  /** `RuntimeDefault`, `Unconfined` or `Localhost` (then `localhostProfile` names it). */
  type: pulumi.Input<string>;
  /** With `Localhost`: name of a profile loaded on the node. */
  localhostProfile?: pulumi.Input<string | undefined>;
}

/** A namespaced kernel parameter. */
export interface Sysctl {
  /** Parameter name, e.g. `net.ipv4.ip_unprivileged_port_start`. */
  name: pulumi.Input<string>;
  /** Value to set. */
  value: pulumi.Input<string>;
}

/** Windows-specific security settings. */
export interface WindowsSecurityContextOptions {
  /** Name of the GMSA credential spec to use. */
  gmsaCredentialSpecName?: pulumi.Input<string | undefined>;
  /** Contents of that GMSA credential spec (inlined by the GMSA admission webhook). */
  gmsaCredentialSpec?: pulumi.Input<string | undefined>;
  /** Windows user name that runs the entrypoint. */
  runAsUserName?: pulumi.Input<string | undefined>;
  /** Run as a Windows HostProcess container (requires host networking). */
  hostProcess?: pulumi.Input<boolean | undefined>;
}

/**
 * DNS parameters of a Pod besides those its `dnsPolicy` gives (`spec.dnsConfig` of a Pod); a
 * `k8s.types.input.core.v1.PodDNSConfig` fits. With `dnsPolicy: "None"` it is the Pod's whole DNS setup.
 */
export interface PodDNSConfig {
  /** Nameserver IP addresses, at most 3, added to those of the policy (required with `None`). */
  nameservers?: pulumi.Input<pulumi.Input<string>[] | undefined>;
  /** Search domains, at most 32, added to those of the policy. */
  searches?: pulumi.Input<pulumi.Input<string>[] | undefined>;
  /** Resolver options (`ndots`, `edns0`, …) merged over those of the policy. */
  options?: pulumi.Input<pulumi.Input<PodDNSConfigOption>[] | undefined>;
}

/** One resolver option of a {@link PodDNSConfig}, e.g. `{ name: "ndots", value: "2" }`. */
export interface PodDNSConfigOption {
  /** Option name. Required. */
  name?: pulumi.Input<string | undefined>;
  /** Option value, if it takes one. */
  value?: pulumi.Input<string | undefined>;
}
