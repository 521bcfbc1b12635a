import type * as pulumi from "@pulumi/pulumi";
import type {
  Affinity,
  EnvVar,
  PodDNSConfig,
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
  /**
   * Serve Prometheus metrics on port 9002 of proxy Pods (`/metrics`), and make the `<statefulset>-metrics`
   * Service selecting them, labelled `ts_prom_job` and `ts_proxy_*` for Prometheus. Also turns on the debug
   * endpoints unless `enableDebug` says otherwise. (operator: `metrics.enable`)
   */
  enableMetrics?: pulumi.Input<boolean>;
  /**
   * Serve tailscaled's debug endpoints (`/debug/pprof/`, `/debug/metrics`) on port 9001 of proxy Pods;
   * not for production. Default: the value of `enableMetrics`. (operator:
   * `tailscaleContainer.debug.enable`)
   */
  enableDebug?: pulumi.Input<boolean>;
  /**
   * A Prometheus Operator ServiceMonitor of the metrics Service, named like it. Needs `enableMetrics` and the
   * `servicemonitors.monitoring.coreos.com` CustomResourceDefinition in the cluster: without it `up` fails
   * before changing anything. (operator: `metrics.serviceMonitor`)
   */
  serviceMonitor?: pulumi.Input<ProxyClassServiceMonitor>;
  /**
   * Get certificates from Let's Encrypt's staging environment: untrusted by browsers, but with far
   * higher rate limits. Use it in test and CI stacks. Outputs report `certificate.staging: true`.
   * (operator: `useLetsEncryptStagingEnvironment`)
   */
  useLetsEncryptStagingEnvironment?: pulumi.Input<boolean>;
  /**
   * Run proxy Pods on this node, bypassing the scheduler (node selectors, affinity and taints are not
   * considered). A Pod bound to a node that does not exist never starts. (operator: `pod.nodeName`)
   */
  nodeName?: pulumi.Input<string>;
  /**
   * DNS policy of proxy Pods: `ClusterFirst` (the Kubernetes default), `ClusterFirstWithHostNet`,
   * `Default` (the node's resolver) or `None` (only `dnsConfig`, which is then required).
   * (operator: `pod.dnsPolicy`)
   */
  dnsPolicy?: pulumi.Input<"ClusterFirstWithHostNet" | "ClusterFirst" | "Default" | "None">;
  /** DNS parameters of proxy Pods besides their `dnsPolicy`'s. (operator: `pod.dnsConfig`) */
  dnsConfig?: pulumi.Input<PodDNSConfig>;
  /**
   * The `sysctler` init container of layer-3 and ProxyGroup proxies, which turns on IP forwarding (a
   * standalone TailnetIngress proxy has none). Its `image` and `imagePullPolicy` override the ProxyClass
   * ones for it. (operator: `pod.tailscaleInitContainer`)
   */
  initContainer?: pulumi.Input<ProxyClassInitContainer>;
  /**
   * ProxyGroups only (refused on a standalone proxy): static endpoints, so that devices outside the
   * cluster's network connect to the replicas directly instead of through a DERP relay. Each replica gets
   * a NodePort Service `<group>-<i>-nodeport` (UDP, a node port chosen from `nodePort.ports`, kept while it
   * stays in them), tailscaled listens on UDP 41641 (`PORT`), and the replica advertises up to 2
   * `ExternalIP`s of the nodes `nodePort.selector` selects, with its node port. The nodes' firewall must
   * let UDP to those ports in. Changing or removing it is applied in place (a rolling restart); removing it
   * deletes the Services. The deployer needs to list Nodes (deploy/deployer-rbac.yaml). Each device's
   * endpoints are in the ProxyGroup's `devices[].staticEndpoints`. (operator: `staticEndpoints`)
   */
  staticEndpoints?: pulumi.Input<ProxyClassStaticEndpoints>;
}

/** ProxyClass `staticEndpoints` of a ProxyGroup. */
export interface ProxyClassStaticEndpoints {
  /** Static endpoints through per-replica NodePort Services. (operator: `staticEndpoints.nodePort`) */
  nodePort: pulumi.Input<ProxyClassNodePortConfig>;
}

/** How the replicas' NodePort Services and advertised node addresses are chosen. */
export interface ProxyClassNodePortConfig {
  /**
   * The node ports the replicas' Services are given, one each, e.g. `[{ port: 30000, endPort: 30009 }]`:
   * within Kubernetes' default NodePort range 30000-32767, not overlapping, and together at least as many
   * as there are replicas. A port another Service in the cluster holds is skipped; `up` fails, naming the
   * field, when too few are free.
   */
  ports: pulumi.Input<pulumi.Input<ProxyClassPortRange>[]>;
  /**
   * Labels of the nodes whose `ExternalIP` addresses (`status.addresses`) the replicas advertise; every
   * node when absent. `up` fails when no node matches or none of them has an `ExternalIP`.
   */
  selector?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** One port, or the ports `port` to `endPort` inclusive. */
export interface ProxyClassPortRange {
  /** The first (or only) port. */
  port: pulumi.Input<number>;
  /** The last port of the range, at least `port`; absent: just `port`. */
  endPort?: pulumi.Input<number>;
}

/** A ServiceMonitor for a proxy's metrics Service (ProxyClass `serviceMonitor`). */
export interface ProxyClassServiceMonitor {
  /** Create the ServiceMonitor. */
  enable: pulumi.Input<boolean>;
  /**
   * Extra labels on the ServiceMonitor, e.g. what your Prometheus' `serviceMonitorSelector` selects. The
   * metrics labels win over them.
   */
  labels?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * Settings of the privileged `sysctler` init container (ProxyClass `initContainer`). Its default
 * securityContext is `{ privileged: true }`; one that removes privilege must still allow writing
 * `/proc/sys/net/ipv4/ip_forward`.
 */
export interface ProxyClassInitContainer {
  /** Image of the init container. Default: the ProxyClass `image`, else `tailscale/tailscale:stable`. */
  image?: pulumi.Input<string>;
  /** Its image pull policy. Default: the ProxyClass `imagePullPolicy`. */
  imagePullPolicy?: pulumi.Input<"Always" | "IfNotPresent" | "Never">;
  /** Extra environment variables, with literal values. */
  env?: pulumi.Input<pulumi.Input<EnvVar>[]>;
  /** Its requests and limits; non-empty `requests` or `limits` replace the (empty) defaults. */
  resources?: pulumi.Input<ResourceRequirements>;
  /**
   * Its container securityContext, replacing `{ privileged: true }`; a namespace's enforced Pod Security
   * level is checked against it before anything is created.
   */
  securityContext?: pulumi.Input<SecurityContext>;
}
