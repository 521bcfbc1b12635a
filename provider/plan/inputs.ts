/**
 * The plain (resolved) inputs the provider receives for each resource kind.
 *
 * These are the wire shapes between `sdk/` (which accepts `pulumi.Input<T>` versions of them) and
 * `provider/`. They are stored in Pulumi state, so every change here must stay readable from older
 * state: add optional fields, never rename or repurpose one. Outputs carry `schemaVersion` for that.
 */

/** Version of the output shape written by this code; older state is migrated on read. */
export const SCHEMA_VERSION = 1;

/** The Pulumi preview sentinel for a value not known yet. Any field may hold it during preview. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** True when `v` is the Pulumi preview sentinel for a value not known yet. */
export function isUnknown(v: unknown): boolean {
  return v === UNKNOWN;
}

/** True when `v` is, or contains at any depth, the preview unknown sentinel. */
export function containsUnknown(v: unknown): boolean {
  if (v === UNKNOWN) return true;
  if (Array.isArray(v)) return v.some(containsUnknown);
  if (v !== null && typeof v === "object") return Object.values(v).some(containsUnknown);
  return false;
}

/** A Kubernetes Service, by namespace and name. */
export interface ServiceRefInput {
  namespace: string;
  name: string;
  /**
   * Set by the SDK when it is given a `@pulumi/kubernetes` Service resource: what that resource's
   * outputs say about the Service. The diff reads it: a replaced Service (new `uid`) or a changed
   * address or port list changes it, so the proxy's diff is an update, and the update reads the Service
   * from the cluster again and rewrites the proxy. The proxy is never written from these values; a
   * preview's fingerprints are planned from them (plan/backends.ts `placeholderBackends`).
   */
  revision?: ServiceRevisionInput;
}

/** What a `@pulumi/kubernetes` Service's outputs say about it (see {@link ServiceRefInput.revision}). */
export interface ServiceRevisionInput {
  /** `metadata.uid`: a new one for every Service created, so a replacement changes it. */
  uid?: string;
  /** `spec.clusterIPs` (or `[spec.clusterIP]`); `["None"]` for a headless Service. */
  clusterIPs?: string[];
  /** `spec.externalName` of an ExternalName Service. */
  externalName?: string;
  /** `spec.ports`: each port's number, name and protocol. */
  ports?: { port: number; name?: string; protocol?: string }[];
}

/** A Kubernetes toleration, as in the Pod spec. */
export interface TolerationInput {
  key?: string;
  operator?: "Exists" | "Equal";
  value?: string;
  effect?: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
  tolerationSeconds?: number;
}

/** A Kubernetes label selector, as in a Pod spec's topology spread constraint. */
export interface LabelSelectorInput {
  matchLabels?: Record<string, string>;
  matchExpressions?: {
    key: string;
    operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
    values?: string[];
  }[];
}

/** A Kubernetes topology spread constraint, as in the Pod spec (`spec.topologySpreadConstraints[]`). */
export interface TopologySpreadConstraintInput {
  maxSkew: number;
  topologyKey: string;
  whenUnsatisfiable: "DoNotSchedule" | "ScheduleAnyway";
  /** Absent: the proxy's own Pods (see provider/plan/proxyclass.ts). */
  labelSelector?: LabelSelectorInput;
  minDomains?: number;
  nodeAffinityPolicy?: "Honor" | "Ignore";
  nodeTaintsPolicy?: "Honor" | "Ignore";
  matchLabelKeys?: string[];
}

/** Resource requests and limits of the proxy container, as in the Pod spec. */
export interface ResourceRequirementsInput {
  requests?: Record<string, string>;
  limits?: Record<string, string>;
}

/**
 * Customisation of proxy Pods: the operator's ProxyClass, flattened. Applies to standalone proxies
 * and to ProxyGroups alike.
 */
export interface ProxyClassInput {
  image?: string;
  imagePullPolicy?: "Always" | "IfNotPresent" | "Never";
  imagePullSecrets?: string[];
  resources?: ResourceRequirementsInput;
  nodeSelector?: Record<string, string>;
  tolerations?: TolerationInput[];
  affinity?: Record<string, unknown>;
  /** Replaces a ProxyGroup's default spread over nodes (plan/ha/proxygroup.ts). */
  topologySpreadConstraints?: TopologySpreadConstraintInput[];
  priorityClassName?: string;
  podLabels?: Record<string, string>;
  podAnnotations?: Record<string, string>;
  statefulSetLabels?: Record<string, string>;
  statefulSetAnnotations?: Record<string, string>;
  env?: { name: string; value: string }[];
  /** Container securityContext of the `tailscale` container. */
  securityContext?: Record<string, unknown>;
  /** Pod securityContext. */
  podSecurityContext?: Record<string, unknown>;
  /** `auto`, `iptables` or `nftables`: sets TS_DEBUG_FIREWALL_MODE (layer-3 proxies). */
  firewallMode?: "auto" | "iptables" | "nftables";
  acceptRoutes?: boolean;
  /** Serve metrics on port 9002 (TS_LOCAL_ADDR_PORT, TS_ENABLE_METRICS), with the `<proxy>-metrics` Service. */
  enableMetrics?: boolean;
  /** Serve tailscaled's debug endpoints on port 9001. Default: `enableMetrics`. */
  enableDebug?: boolean;
  /** A Prometheus Operator ServiceMonitor for the metrics Service (needs `enableMetrics`). */
  serviceMonitor?: ServiceMonitorInput;
  useLetsEncryptStagingEnvironment?: boolean;
  /** The node proxy Pods run on, bypassing the scheduler (`spec.nodeName`). */
  nodeName?: string;
  dnsPolicy?: "ClusterFirstWithHostNet" | "ClusterFirst" | "Default" | "None";
  dnsConfig?: PodDNSConfigInput;
  /** The `sysctler` init container of kernel-networking proxies (layer 3, ProxyGroups). */
  initContainer?: InitContainerInput;
  /** Per-replica NodePort Services whose node addresses the replicas advertise (ProxyGroups only). */
  staticEndpoints?: StaticEndpointsInput;
}

/** ProxyClass `staticEndpoints`: the operator's `spec.staticEndpoints`. */
export interface StaticEndpointsInput {
  nodePort: NodePortConfigInput;
}

/** ProxyClass `staticEndpoints.nodePort`: the operator's `NodePortConfig`. */
export interface NodePortConfigInput {
  /** The ranges the replicas' NodePorts are chosen from. */
  ports: PortRangeInput[];
  /** Labels of the nodes whose `ExternalIP`s are advertised; every node when absent or empty. */
  selector?: Record<string, string>;
}

/** One port (`endPort` absent) or the ports `port`..`endPort`, inclusive: the operator's `PortRange`. */
export interface PortRangeInput {
  port: number;
  endPort?: number;
}

/** ProxyClass `serviceMonitor`: the operator's `metrics.serviceMonitor`. */
export interface ServiceMonitorInput {
  enable: boolean;
  /** Extra labels on the ServiceMonitor (e.g. what a Prometheus' serviceMonitorSelector selects). */
  labels?: Record<string, string>;
}

/** A Pod's DNS parameters (`spec.dnsConfig`). */
export interface PodDNSConfigInput {
  nameservers?: string[];
  searches?: string[];
  options?: { name: string; value?: string }[];
}

/** ProxyClass `initContainer`: the operator's `tailscaleInitContainer` (without `debug`). */
export interface InitContainerInput {
  image?: string;
  imagePullPolicy?: "Always" | "IfNotPresent" | "Never";
  env?: { name: string; value: string }[];
  resources?: ResourceRequirementsInput;
  securityContext?: Record<string, unknown>;
}

/** Per-resource credentials. All optional; looked up before provider config and environment. */
export interface CredentialsInput {
  kubeconfig?: string;
  kubeContext?: string;
  tailscaleOauthClientId?: string;
  tailscaleOauthClientSecret?: string;
  tailscaleApiKey?: string;
  /** A federated identity's identity token (a JWT), or `file:<path>` of a file holding it. */
  tailscaleIdentityToken?: string;
  /** The audience the federated identity expects. */
  tailscaleAudience?: string;
  tailscaleTailnet?: string;
  tailscaleBaseUrl?: string;
}

/** A ProxyGroup by name and namespace: the `proxyGroup` input of HA resources. */
export interface ProxyGroupRef {
  name: string;
  namespace: string;
}

/** What every proxy-backed resource shares. */
export interface ProxyCommonInput {
  /**
   * Identity of the Pulumi resource, `<project>/<stack>/<resource name>`, set by the SDK. Written to
   * labels and annotations so that a retried create adopts what a failed one left, and nothing else.
   */
  ownerId: string;
  /** Namespace of the proxy's objects (standalone). Defaults to the backend Service's namespace. */
  namespace?: string;
  /** Tailnet hostname (a DNS label, or an FQDN whose first label is used). */
  hostname?: string;
  /** ACL tags of the proxy device (standalone) or the Tailscale Service (HA). Default `["tag:k8s"]`; never empty. */
  tags?: string[];
  proxyClass?: ProxyClassInput;
  /** Name and namespace of the ProxyGroup that serves this resource (HA). */
  proxyGroup?: ProxyGroupRef;
  /**
   * HA only: join a Tailscale Service that another stack created, with the `joinToken` that stack
   * exports. Without it, an existing Tailscale Service that is not this resource's own is an error.
   */
  joinToken?: string;
  /** The resource's own URN, set by the SDK; names it in progress lines (provider/progress.ts). */
  resourceUrn?: string;
  /** The resource's customTimeouts, copied by the SDK (plan/duration.ts); each step's wait budget. */
  customTimeouts?: CustomTimeoutsInput;
  credentials?: CredentialsInput;
}

/** A resource's customTimeouts, as the program wrote them (Go duration strings such as `"5m"`). */
export interface CustomTimeoutsInput {
  /** How long a create may wait. */
  create?: string;
  /** How long an update may wait. */
  update?: string;
  /** How long a delete may wait; the value recorded by the last `pulumi up` is the one a delete uses. */
  delete?: string;
}

/** TailnetService: layer-3 (TCP/UDP) exposure of a cluster Service on a tailnet address. */
export interface TailnetServiceInput extends ProxyCommonInput {
  service: ServiceRefInput;
}

/** A backend of a TailnetIngress path: a Service and one of its ports, by number or name. */
export interface IngressBackendInput {
  service: ServiceRefInput;
  port: number | string;
}

/** One path of a TailnetIngress. */
export interface IngressPathInput {
  path: string;
  pathType?: "Prefix" | "ImplementationSpecific" | "Exact";
  backend: IngressBackendInput;
}

/** One rule of a TailnetIngress; the host, if given, must be the ingress's own name. */
export interface IngressRuleInput {
  host?: string;
  paths: IngressPathInput[];
}

/** TailnetIngress: layer-7 HTTPS on a MagicDNS name (standalone) or a Tailscale Service (HA). */
export interface TailnetIngressInput extends ProxyCommonInput {
  defaultBackend?: IngressBackendInput;
  rules?: IngressRuleInput[];
  funnel?: boolean;
  httpRedirect?: boolean;
  /**
   * HA only: serve the same routes over plain HTTP on port 80 of the Tailscale Service too (the
   * operator's annotation `tailscale.com/http-endpoint: enabled`). Default false.
   */
  httpEndpoint?: boolean;
  /** Scheme to the backends. Default: `https+insecure` for port 443 or a port named `https`, else `http`. */
  backendProtocol?: "http" | "https" | "https+insecure";
  /** Obtain the certificate during `up` (default true). */
  waitForCertificate?: boolean;
}

/** ProxyGroup: N proxy replicas that advertise Tailscale Services. */
export interface ProxyGroupInput {
  ownerId: string;
  /** Name of the ProxyGroup; names its StatefulSet and Secrets. */
  name: string;
  namespace: string;
  type: "ingress";
  replicas?: number;
  /** ACL tags of the replicas' devices. Default `["tag:k8s"]`; never empty. */
  tags?: string[];
  hostnamePrefix?: string;
  proxyClass?: ProxyClassInput;
  /**
   * Replica 0 keeps its Let's Encrypt account key in the namespace's shared Secret
   * `tailscale-acme-accounts` (the operator's annotation `tailscale.com/share-acme-account`), so a
   * re-created replica renews with the same account. Default false.
   */
  shareAcmeAccount?: boolean;
  /** The resource's own URN, set by the SDK; names it in progress lines (provider/progress.ts). */
  resourceUrn?: string;
  /** The resource's customTimeouts, copied by the SDK (plan/duration.ts); each step's wait budget. */
  customTimeouts?: CustomTimeoutsInput;
  credentials?: CredentialsInput;
}

/**
 * Inputs that reach the provider without coming from the SDK: `__provider`, the serialised provider
 * the dynamic-provider host adds to every resource's inputs.
 */
export interface HostInputs {
  __provider?: string;
}

/**
 * What `check` adds to the inputs of the kinds that write Kubernetes objects: `Kind/namespace/name`
 * of every object an `up` would write (for an HA resource also the entries it writes in shared objects
 * and its Tailscale Service, plan/ha/preview.ts), with a fingerprint of its content
 * (plan/fingerprint.ts), or the unknown sentinel, for the whole or for one HA entry, while an input it
 * is planned from is unknown. A preview shows it, so a changed fingerprint names what will change.
 */
export interface PlannedInputs {
  plannedObjects?: Record<string, string> | typeof UNKNOWN;
}

/**
 * Inputs a refresh writes (TailnetService, TailnetIngress): `observed`, the outputs users watch as the
 * last refresh read them (plan/refresh.ts `observedState`), which check keeps; it lets the `up` after a
 * refresh tell what that refresh already reported.
 */
export interface ObservedInputs {
  observed?: Record<string, unknown>;
}
