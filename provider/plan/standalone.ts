/**
 * Desired state of a standalone proxy (one replica, its own device): what the operator's
 * tailscaleSTSReconciler provisions for an exposed Service (layer 3) or a tailscale Ingress (layer 7),
 * plus the RBAC that the operator gets from its install manifests (docs/operator-parity.md,
 * "Standalone proxies").
 *
 * Differences from the operator, all deliberate:
 * - Objects live in `namespace` (default: the backend Service's namespace), not an operator namespace:
 *   there is no operator.
 * - Names are deterministic (names.ts) instead of `generateName`, so a retried create adopts.
 * - Each proxy has its own ServiceAccount, Role and RoleBinding, and the Role grants only what the proxy
 *   uses on its own Secret (`get`, `update`, `patch`, by resourceName) and events. The operator runs every
 *   proxy as the shared `proxies` ServiceAccount with read/write on every Secret of its namespace.
 * - Labels: the operator's parent labels under our prefix, no `tailscale.com/managed`, and our ownership
 *   marks (labels.ts), so an operator beside us ignores them; the selector is `app: <owner hash>` (no
 *   parent UID here).
 * - Default image `tailscale/tailscale:stable`, pull policy `Always` (proxyclass.ts explains).
 * - TS_DEBUG_FIREWALL_MODE is set only on kernel-networking (layer-3) proxies: a userspace proxy has no
 *   firewall (the operator sets its global PROXY_FIREWALL_MODE on every proxy).
 * - A layer-3 proxy of a dual-stack backend forwards both families: TS_DEST_IP the primary, a DNAT
 *   config in its Secret the other ({@link STANDALONE_DNAT_CONFIG_KEY}). The operator's forwards the
 *   primary family only.
 */
import type { V1EnvVar, V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import { type BackendServiceFacts, backendKey } from "./backends";
import { PlanError } from "./errors";
import { isPlainObject } from "./gojson";
import { goMarshal, INGRESS_CONFIGS, parseJsonObject } from "./ha/gostruct";
import type { IngressServiceConfig } from "./ha/service";
import { type DerivedHostname, ingressHostname, resourceNameOf, serviceHostname } from "./hostnames";
import type { ProxyClassInput, TailnetIngressInput, TailnetServiceInput } from "./inputs";
import {
  ANNOTATION_LAST_SET_CLUSTER_DNS_NAME,
  ANNOTATION_LAST_SET_CLUSTER_IP,
  legacyLabels,
  ownerAnnotations,
  proxyLabels,
  proxySelector,
} from "./labels";
import { planMetricsObjects } from "./metrics";
import { type ProxyNames, proxyNames } from "./names";
import type {
  PlannedObject,
  PlannedRole,
  PlannedRoleBinding,
  PlannedSecret,
  PlannedService,
  PlannedServiceAccount,
  PlannedServiceMonitor,
  PlannedStatefulSet,
} from "./objects";
import {
  applyProxyClass,
  DEFAULT_IMAGE_PULL_POLICY,
  DEFAULT_PROXY_IMAGE,
  firewallModeEnv,
  type ProxyType,
  SYSCTL_SCRIPT,
  SYSCTLER_CONTAINER,
  TAILSCALE_CONTAINER,
} from "./proxyclass";
import {
  buildIngressServeConfig,
  type ResolvedHandler,
  resolveIngressHandlers,
  serializeServeConfig,
} from "./serve-config";
import { validLabel } from "./syntax";
import { effectiveTags } from "./tags";
import { renderTailscaledConfigFiles } from "./tailscaled-config";

export type { BackendServiceFacts } from "./backends";
export type { PlannedObject } from "./objects";

/** What the lifecycle knows at plan time besides the inputs and the backend facts. */
export interface PlanContext {
  /**
   * Auth key for the first login. Pass it only while the device does not exist yet; the config files
   * then carry `AuthKey`. Never logged or summarised.
   */
  authKey?: string;
  /** Control server URL, written as the config's `ServerURL`; omitted when not given. */
  controlUrl?: string;
  /**
   * The device's tailnet IPs (state Secret `device_ips`), once it has registered: a layer-3 proxy of a
   * dual-stack backend maps its address of the other family from them ({@link StandaloneProxyPlan.dnatConfig}).
   */
  deviceIPs?: readonly string[];
  /**
   * The proxy's StatefulSet exists with the Pod labels an earlier version gave it (labels.ts
   * `writtenBeforeRename`): its Pod template keeps them, so the Pod does not restart for a relabel.
   */
  legacyPodLabels?: boolean;
}

/** The auth key to mint for a standalone proxy: single-use, not ephemeral, pre-authorised, tagged. */
export interface AuthKeyRequest {
  tags: string[];
  reusable: false;
  ephemeral: false;
  preauthorized: true;
}

/**
 * The layer-3 DNAT target of a TailnetService proxy: the backend's primary cluster IP (TS_DEST_IP) and,
 * for a dual-stack backend, its cluster IP of the other family (`secondaryIP`, mapped through
 * {@link STANDALONE_DNAT_CONFIG_KEY}); or an ExternalName Service's DNS name.
 */
export type L3Target =
  | { kind: "clusterIP"; ip: string; secondaryIP?: string }
  | { kind: "dnsName"; name: string };

/** Everything needed to create or update one standalone proxy. */
export interface StandaloneProxyPlan {
  /** `L3` (TailnetService: DNAT to the Service) or `L7` (TailnetIngress: HTTPS serve config). */
  mode: "L3" | "L7";
  /** The operator's proxyType of this proxy. */
  proxyType: ProxyType;
  namespace: string;
  /** The tailnet hostname requested (control may still pick another if it is taken). */
  hostname: string;
  names: ProxyNames;
  /** Labels on every object (the Pod template adds {@link selector}). */
  labels: Record<string, string>;
  /** Pod selector of the StatefulSet and headless Service. */
  selector: Record<string, string>;
  /** Annotations on every object. */
  annotations: Record<string, string>;
  serviceAccount: PlannedServiceAccount;
  role: PlannedRole;
  roleBinding: PlannedRoleBinding;
  /** Config-and-state Secret; the config files are in `stringData`. */
  secret: PlannedSecret;
  headlessService: PlannedService;
  statefulSet: PlannedStatefulSet;
  /** With ProxyClass `enableMetrics`: the metrics Service (port 9002), applied after the StatefulSet. */
  metricsService?: PlannedService;
  /** With ProxyClass `serviceMonitor.enable` too: the ServiceMonitor of the metrics Service (plan/metrics.ts). */
  serviceMonitor?: PlannedServiceMonitor;
  /**
   * The same objects in apply order: ServiceAccount, Role, RoleBinding, Secret, headless Service,
   * StatefulSet, then the metrics Service and ServiceMonitor when asked for.
   */
  objects: PlannedObject[];
  /** The tailscaled config files (`cap-95.hujson`, `cap-107.hujson`) as written to the Secret. */
  tailscaledConfig: Record<string, string>;
  /** L7: the serve config JSON as written to the Secret's `serve-config` key. */
  serveConfig?: string;
  /** L7: the resolved mount points, in input order. */
  handlers?: ResolvedHandler[];
  /** L3: where traffic is DNATed. */
  target?: L3Target;
  /**
   * L3, dual-stack backend, once the device's addresses are known: the entry `name` of the DNAT config
   * written to the Secret key {@link STANDALONE_DNAT_CONFIG_KEY}, which maps the device's address of the
   * secondary family to the secondary cluster IP. Undefined otherwise, or when the device has no
   * address of that family.
   */
  dnatConfig?: { name: string; entry: IngressServiceConfig };
  authKeyRequest: AuthKeyRequest;
}

/**
 * Key of the serve config in a standalone proxy's Secret, mounted as the single file
 * `/etc/tailscaled/<secret>/serve-config` (TS_SERVE_CONFIG). Not the ProxyGroup's key, which is
 * `PROXY_GROUP_SERVE_CONFIG_KEY` (plan/ha/common.ts): the operator names the two differently.
 */
export const STANDALONE_SERVE_CONFIG_KEY = "serve-config";

/**
 * Key of a standalone layer-3 proxy's DNAT config in its Secret (`ingressservices.Configs`, the format
 * of a ProxyGroup's `ingress-config.json`), read by containerboot from the Secret's mount
 * `/etc/tsconfig/<secret>/` (TS_INGRESS_PROXIES_CONFIG_PATH). containerboot takes one TS_DEST_IP, so
 * this is how the secondary family of a dual-stack backend is forwarded: its ingress proxy installs a
 * DNAT rule per mapping, whatever the address (`tailscale/tailscale@de9ec7ee
 * cmd/containerboot/ingressservices.go` ensureIngressRulesAdded, `util/linuxfw/iptables_for_svcs.go`
 * EnsureDNATRuleForSvc: `--destination <TailscaleServiceIP> -j DNAT --to-destination <ClusterIP>`, the
 * rule TS_DEST_IP gets), here the device's own address. Not `ingress-config.json`: containerboot writes
 * its status under that key of the same Secret.
 */
export const STANDALONE_DNAT_CONFIG_KEY = "dnat-config.json";

/** Hostinfo app of a layer-7 proxy (TS_INTERNAL_APP); the operator's value, kept so control sees the same kind. */
export const APP_INGRESS_RESOURCE = "k8s-operator-ingress-resource";
/** Hostinfo app of a layer-3 proxy (TS_INTERNAL_APP). */
export const APP_INGRESS_PROXY = "k8s-operator-ingress-proxy";

function checkedHostname(h: DerivedHostname | undefined, what: string): string {
  if (!h)
    throw new PlanError(
      "InvalidInput",
      `${what}: the hostname is not known yet; plan again once inputs are resolved`,
    );
  const err = validLabel(h.hostname);
  if (err) {
    throw new PlanError(
      "InvalidInput",
      `${what}: invalid Tailscale hostname "${h.hostname}": ${err}; set "hostname"`,
    );
  }
  return h.hostname;
}

interface TemplateOptions {
  namespace: string;
  names: ProxyNames;
  labels: Record<string, string>;
  selector: Record<string, string>;
  annotations: Record<string, string>;
  proxyClass?: ProxyClassInput;
  proxyType: ProxyType;
  /** The resource the proxy serves, as its metrics labels name it. */
  parent: { name: string; namespace: string };
  userspace: boolean;
  /** Env after TS_DEBUG_ACME_FORCE_RENEWAL: firewall mode, target or serve config, TS_INTERNAL_APP. */
  tailEnv: V1EnvVar[];
  podAnnotations: Record<string, string>;
  stringData: Record<string, string>;
  ctx: PlanContext;
}

/**
 * The securityContext of a userspace (layer-7) proxy container, which meets the Pod Security `restricted`
 * level (https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted): in userspace
 * networking containerboot and tailscaled need no capability, and Tailscale's own userspace example runs them
 * as UID/GID 1000 (tailscale/tailscale@11f7f7d4 docs/k8s/userspace-sidecar.yaml). Without it the container
 * runs as the image's user (root) and only a `baseline` namespace admits it. A ProxyClass `securityContext`
 * replaces this one.
 */
function userspaceSecurityContext() {
  return {
    allowPrivilegeEscalation: false,
    capabilities: { drop: ["ALL"] },
    runAsNonRoot: true,
    runAsUser: 1000,
    runAsGroup: 1000,
    seccompProfile: { type: "RuntimeDefault" },
  };
}

function buildObjects(o: TemplateOptions) {
  const meta = (name: string) => ({
    name,
    namespace: o.namespace,
    labels: { ...o.labels },
    annotations: { ...o.annotations },
  });
  const serviceAccount: PlannedServiceAccount = {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: meta(o.names.serviceAccount),
  };
  // Least privilege: the proxy reads and writes its own config-and-state Secret (tailscaled's kube state
  // store and containerboot's device_* keys) and records events. The operator's shared `proxies` Role
  // allows every verb on every Secret of the operator namespace.
  const role: PlannedRole = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: meta(o.names.role),
    rules: [
      {
        apiGroups: [""],
        resources: ["secrets"],
        resourceNames: [o.names.secret],
        verbs: ["get", "update", "patch"],
      },
      { apiGroups: [""], resources: ["events"], verbs: ["create", "patch", "get"] },
    ],
  };
  const roleBinding: PlannedRoleBinding = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: meta(o.names.roleBinding),
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: o.names.role },
    subjects: [{ kind: "ServiceAccount", name: o.names.serviceAccount, namespace: o.namespace }],
  };
  const secret: PlannedSecret = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: meta(o.names.secret),
    stringData: o.stringData,
  };
  const headlessService: PlannedService = {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta(o.names.headlessService),
    spec: { clusterIP: "None", selector: { ...o.selector }, ipFamilyPolicy: "PreferDualStack" },
  };

  const image = DEFAULT_PROXY_IMAGE;
  const env: V1EnvVar[] = [
    { name: "TS_USERSPACE", value: String(o.userspace) },
    { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
    { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
    { name: "POD_UID", valueFrom: { fieldRef: { fieldPath: "metadata.uid" } } },
    { name: "TS_KUBE_SECRET", value: "$(POD_NAME)" },
    { name: "TS_EXPERIMENTAL_SERVICE_AUTO_ADVERTISEMENT", value: "false" },
    { name: "TS_EXPERIMENTAL_VERSIONED_CONFIG_DIR", value: "/etc/tsconfig/$(POD_NAME)" },
    { name: "TS_DEBUG_ACME_FORCE_RENEWAL", value: "true" },
    ...o.tailEnv,
  ];
  const volumes: V1Volume[] = [{ name: "tailscaledconfig-0", secret: { secretName: o.names.secret } }];
  const volumeMounts: V1VolumeMount[] = [
    { name: "tailscaledconfig-0", readOnly: true, mountPath: `/etc/tsconfig/${o.names.secret}` },
  ];
  if (o.userspace) {
    volumes.push({
      name: "serve-config-0",
      secret: {
        secretName: o.names.secret,
        items: [{ key: STANDALONE_SERVE_CONFIG_KEY, path: STANDALONE_SERVE_CONFIG_KEY }],
      },
    });
    volumeMounts.push({
      name: "serve-config-0",
      readOnly: true,
      mountPath: `/etc/tailscaled/${o.names.secret}`,
    });
  }
  const podLabels = o.ctx.legacyPodLabels
    ? legacyLabels({ ...o.labels, ...o.selector })
    : { ...o.labels, ...o.selector };
  const podAnnotations = { ...o.annotations, ...o.podAnnotations };
  let statefulSet: PlannedStatefulSet = {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: meta(o.names.statefulSet),
    spec: {
      replicas: 1,
      selector: { matchLabels: { ...o.selector } },
      serviceName: o.names.headlessService,
      template: {
        // deletionGracePeriodSeconds is meaningless on a template (the operator's YAML has it); kept so the
        // Pod spec matches the operator's byte for byte.
        metadata: { deletionGracePeriodSeconds: 10, labels: podLabels, annotations: podAnnotations },
        spec: {
          serviceAccountName: o.names.serviceAccount,
          ...(o.userspace
            ? {}
            : {
                initContainers: [
                  {
                    name: SYSCTLER_CONTAINER,
                    image,
                    securityContext: { privileged: true },
                    command: ["/bin/sh", "-c"],
                    args: [SYSCTL_SCRIPT],
                  },
                ],
              }),
          containers: [
            {
              name: TAILSCALE_CONTAINER,
              image,
              imagePullPolicy: DEFAULT_IMAGE_PULL_POLICY,
              resources: { requests: { cpu: "1m", memory: "1Mi" } },
              securityContext: o.userspace ? userspaceSecurityContext() : { privileged: true },
              env,
              volumeMounts,
            },
          ],
          volumes,
        },
      },
    },
  };
  statefulSet = applyProxyClass(statefulSet, o.proxyClass, {
    proxyType: o.proxyType,
    userspace: o.userspace,
  });
  const { metricsService, serviceMonitor } = planMetricsObjects(
    {
      proxyType: o.proxyType,
      statefulSet: o.names.statefulSet,
      namespace: o.namespace,
      parentName: o.parent.name,
      parentNamespace: o.parent.namespace,
      selector: o.selector,
      labels: o.labels,
      annotations: o.annotations,
    },
    o.proxyClass,
  );
  const objects: PlannedObject[] = [serviceAccount, role, roleBinding, secret, headlessService, statefulSet];
  if (metricsService) objects.push(metricsService);
  if (serviceMonitor) objects.push(serviceMonitor);
  return {
    serviceAccount,
    role,
    roleBinding,
    secret,
    headlessService,
    statefulSet,
    metricsService,
    serviceMonitor,
    objects,
  };
}

function configFiles(
  hostname: string,
  pc: ProxyClassInput | undefined,
  ctx: PlanContext,
): Record<string, string> {
  return renderTailscaledConfigFiles({
    hostname,
    authKey: ctx.authKey,
    serverUrl: ctx.controlUrl,
    acceptRoutes: pc?.acceptRoutes === true,
  });
}

function authKeyRequest(tags: string[]): AuthKeyRequest {
  return { tags, reusable: false, ephemeral: false, preauthorized: true };
}

/**
 * Plans the standalone layer-3 proxy of a TailnetService: a kernel-networking proxy that DNATs all tailnet
 * traffic to the backend's primary cluster IP (TS_DEST_IP), or to an ExternalName Service's DNS name
 * (TS_EXPERIMENTAL_DEST_DNS_NAME). For a dual-stack backend it also DNATs the device's address of the
 * other family to the cluster IP of that family, through the DNAT config, which needs the device's
 * addresses (`ctx.deviceIPs`): planned before the device registers, the Secret has no DNAT config yet
 * and the lifecycle writes it once the addresses are known. Throws PlanError for a headless backend, a
 * Service without a cluster IP, or an input in HA mode (`proxyGroup` set).
 */
export function planStandaloneService(
  input: TailnetServiceInput,
  backend: BackendServiceFacts,
  ctx: PlanContext,
): StandaloneProxyPlan {
  const what = `TailnetService for Service "${backendKey(input.service)}"`;
  if (input.proxyGroup) {
    throw new PlanError(
      "InvalidInput",
      `${what}: proxyGroup is set, so it is served by a ProxyGroup; use the HA planner`,
    );
  }
  if (backend.namespace !== input.service.namespace || backend.name !== input.service.name) {
    throw new PlanError(
      "InvalidInput",
      `${what}: the Service facts are for "${backend.namespace}/${backend.name}"; read the Service named in the input`,
    );
  }
  let target: L3Target;
  if (backend.type === "ExternalName") {
    if (!backend.externalName) {
      throw new PlanError(
        "NoClusterIP",
        `${what}: the ExternalName Service has no spec.externalName; set it`,
      );
    }
    target = { kind: "dnsName", name: backend.externalName };
  } else if (backend.clusterIP === "None") {
    throw new PlanError(
      "HeadlessService",
      `${what}: headless Services are not supported. Expose a Service with a cluster IP (or an ExternalName Service)`,
    );
  } else if (!backend.clusterIP) {
    throw new PlanError(
      "NoClusterIP",
      `${what}: the Service has no cluster IP yet; expose a ClusterIP Service`,
    );
  } else {
    const secondaryIP = (backend.clusterIPs ?? []).find((ip) => isIPv6(ip) !== isIPv6(backend.clusterIP!));
    target = { kind: "clusterIP", ip: backend.clusterIP, ...(secondaryIP ? { secondaryIP } : {}) };
  }

  const hostname = checkedHostname(serviceHostname(input), what);
  const namespace = input.namespace ?? input.service.namespace;
  const names = proxyNames(hostname);
  const labels = proxyLabels({
    ownerId: input.ownerId,
    parentName: input.service.name,
    parentNamespace: input.service.namespace,
    parentType: "svc",
  });
  const selector = proxySelector(input.ownerId);
  const annotations = ownerAnnotations(input.ownerId);
  const tags = effectiveTags(input.tags);
  const tailscaledConfig = configFiles(hostname, input.proxyClass, ctx);
  const dualStack = target.kind === "clusterIP" && target.secondaryIP !== undefined;
  const tailEnv: V1EnvVar[] = [
    ...firewallModeEnv(input.proxyClass),
    target.kind === "clusterIP"
      ? { name: "TS_DEST_IP", value: target.ip }
      : { name: "TS_EXPERIMENTAL_DEST_DNS_NAME", value: target.name },
    ...(dualStack ? dnatConfigEnv() : []),
    { name: "TS_INTERNAL_APP", value: APP_INGRESS_PROXY },
  ];
  const entry = dnatConfigEntry(target, ctx.deviceIPs);
  const dnatConfig = entry ? { name: hostname, entry } : undefined;
  const podAnnotations: Record<string, string> =
    target.kind === "clusterIP"
      ? { [ANNOTATION_LAST_SET_CLUSTER_IP]: target.ip }
      : { [ANNOTATION_LAST_SET_CLUSTER_DNS_NAME]: target.name };
  const objs = buildObjects({
    namespace,
    names,
    labels,
    selector,
    annotations,
    proxyClass: input.proxyClass,
    proxyType: "ingress_service",
    parent: { name: input.service.name, namespace: input.service.namespace },
    userspace: false,
    tailEnv,
    podAnnotations,
    stringData: {
      ...tailscaledConfig,
      ...(dnatConfig
        ? {
            [STANDALONE_DNAT_CONFIG_KEY]: goMarshal({ [dnatConfig.name]: dnatConfig.entry }, INGRESS_CONFIGS),
          }
        : {}),
    },
    ctx,
  });
  return {
    mode: "L3",
    proxyType: "ingress_service",
    namespace,
    hostname,
    names,
    labels,
    selector,
    annotations,
    ...objs,
    tailscaledConfig,
    target,
    ...(dnatConfig ? { dnatConfig } : {}),
    authKeyRequest: authKeyRequest(tags),
  };
}

function isIPv6(ip: string): boolean {
  return ip.includes(":");
}

/**
 * The env of a layer-3 proxy on a dual-stack backend: containerboot's ingress proxy reads the DNAT
 * config from the Secret's mount, and records in its status the Pod IPs it ran with (POD_IPS), which
 * tells the lifecycle a status is the running Pod's (`tailscale/tailscale@de9ec7ee
 * cmd/containerboot/settings.go:143-161`, ingressservices.go isCurrentStatus). The path is in the
 * directory the tailscaled config is read from, which containerboot already watches.
 */
function dnatConfigEnv(): V1EnvVar[] {
  return [
    { name: "POD_IPS", valueFrom: { fieldRef: { fieldPath: "status.podIPs" } } },
    {
      name: "TS_INGRESS_PROXIES_CONFIG_PATH",
      value: `/etc/tsconfig/$(POD_NAME)/${STANDALONE_DNAT_CONFIG_KEY}`,
    },
  ];
}

/**
 * The DNAT config entry of a dual-stack backend's secondary family: from the device's first address of
 * that family (the one containerboot picks for TS_DEST_IP's family, forwarding.go:158-191) to the
 * secondary cluster IP. Undefined for a single-stack backend, before the device's addresses are known,
 * and when the device has no address of that family.
 */
export function dnatConfigEntry(
  target: L3Target,
  deviceIPs: readonly string[] | undefined,
): IngressServiceConfig | undefined {
  if (target.kind !== "clusterIP" || target.secondaryIP === undefined) return undefined;
  const clusterIP = target.secondaryIP;
  const own = deviceIPs?.find((ip) => isIPv6(ip) === isIPv6(clusterIP));
  if (!own) return undefined;
  const mapping = { TailscaleServiceIP: own, ClusterIP: clusterIP };
  return isIPv6(clusterIP) ? { IPv6Mapping: mapping } : { IPv4Mapping: mapping };
}

/**
 * The target a standalone layer-3 proxy's StatefulSet has (its tailscale container's TS_DEST_IP or
 * TS_EXPERIMENTAL_DEST_DNS_NAME), for a refresh, which has no plan; undefined when it has neither.
 */
export function l3TargetOf(statefulSet: PlannedStatefulSet | undefined): L3Target | undefined {
  const container = statefulSet?.spec?.template?.spec?.containers?.find(
    (c) => c.name === TAILSCALE_CONTAINER,
  );
  const env = new Map((container?.env ?? []).map((e) => [e.name, e.value]));
  const ip = env.get("TS_DEST_IP");
  if (ip) return { kind: "clusterIP", ip };
  const name = env.get("TS_EXPERIMENTAL_DEST_DNS_NAME");
  return name ? { kind: "dnsName", name } : undefined;
}

/**
 * The tailnet IPs whose traffic a standalone layer-3 proxy forwards, of the device's addresses
 * `deviceIPs`:
 * - the one of the target's family: containerboot takes a single TS_DEST_IP and DNATs to it from the
 *   tailnet IP of the same family only (`tailscale/tailscale@de9ec7ee
 *   cmd/containerboot/forwarding.go:158-191`); for a DNS name it installs the IPv4 rule only, since the
 *   IPv6 rule is guarded by `!tsv6.IsValid()` and so never installed on a proxy with an IPv6 address
 *   (forwarding.go:252);
 * - each address the DNAT config (`dnatConfigJson`, the Secret's {@link STANDALONE_DNAT_CONFIG_KEY})
 *   maps to a cluster IP of its own family, while it is still one of the device's addresses (a mapping
 *   of an address the device no longer has receives nothing).
 * In the order of `deviceIPs`. The operator forwards, and reports in the Service's load-balancer
 * status, the primary family only (`cmd/k8s-operator/svc.go:334-374`).
 */
export function forwardedTailnetIPs(
  target: L3Target | undefined,
  deviceIPs: readonly string[],
  dnatConfigJson?: string,
): string[] {
  const mapped = new Set<string>();
  if (dnatConfigJson) {
    let configs: Record<string, unknown> = {};
    try {
      configs = parseJsonObject(dnatConfigJson, STANDALONE_DNAT_CONFIG_KEY);
    } catch {
      // Not ours any more (edited by hand): containerboot cannot apply it either.
    }
    for (const entry of Object.values(configs)) {
      if (!isPlainObject(entry)) continue;
      for (const m of [entry.IPv4Mapping, entry.IPv6Mapping]) {
        if (!isPlainObject(m) || typeof m.TailscaleServiceIP !== "string" || typeof m.ClusterIP !== "string")
          continue;
        if (isIPv6(m.TailscaleServiceIP) === isIPv6(m.ClusterIP)) mapped.add(m.TailscaleServiceIP);
      }
    }
  }
  const primaryV6 = target?.kind === "clusterIP" && isIPv6(target.ip);
  const primary = target ? deviceIPs.find((ip) => isIPv6(ip) === primaryV6) : undefined;
  return deviceIPs.filter((ip) => ip === primary || mapped.has(ip));
}

/** The namespace of a standalone ingress proxy: `namespace`, else the first backend's namespace. */
export function standaloneIngressNamespace(input: TailnetIngressInput): string | undefined {
  if (input.namespace) return input.namespace;
  if (input.defaultBackend) return input.defaultBackend.service.namespace;
  for (const r of input.rules ?? []) for (const p of r.paths ?? []) return p.backend.service.namespace;
  return undefined;
}

/**
 * Plans the standalone layer-7 proxy of a TailnetIngress: a userspace proxy serving HTTPS on its MagicDNS
 * name with the handlers resolved from `backends` (keyed `<namespace>/<name>`). Throws PlanError when a
 * backend cannot work (missing, headless, no cluster IP, unknown port) or in HA mode.
 */
export function planStandaloneIngress(
  input: TailnetIngressInput,
  backends: ReadonlyMap<string, BackendServiceFacts>,
  ctx: PlanContext,
): StandaloneProxyPlan {
  const resourceName = resourceNameOf(input.ownerId);
  const what = `TailnetIngress "${resourceName}"`;
  if (input.proxyGroup) {
    throw new PlanError(
      "InvalidInput",
      `${what}: proxyGroup is set, so it is served by a ProxyGroup; use the HA planner`,
    );
  }
  const hostname = checkedHostname(ingressHostname(input), what);
  const handlers = resolveIngressHandlers(input, backends);
  const serveConfig = serializeServeConfig(
    buildIngressServeConfig({
      handlers,
      funnel: input.funnel === true,
      httpRedirect: input.httpRedirect === true,
    }),
  );
  const namespace = standaloneIngressNamespace(input);
  if (!namespace)
    throw new PlanError(
      "NoValidBackends",
      `${what}: no valid backends: set defaultBackend, or rules with paths`,
    );
  const names = proxyNames(hostname);
  const labels = proxyLabels({
    ownerId: input.ownerId,
    parentName: resourceName,
    parentNamespace: namespace,
    parentType: "ingress",
  });
  const selector = proxySelector(input.ownerId);
  const annotations = ownerAnnotations(input.ownerId);
  const tags = effectiveTags(input.tags);
  const tailscaledConfig = configFiles(hostname, input.proxyClass, ctx);
  const objs = buildObjects({
    namespace,
    names,
    labels,
    selector,
    annotations,
    proxyClass: input.proxyClass,
    proxyType: "ingress_resource",
    parent: { name: resourceName, namespace },
    userspace: true,
    tailEnv: [
      { name: "TS_SERVE_CONFIG", value: `/etc/tailscaled/$(POD_NAME)/${STANDALONE_SERVE_CONFIG_KEY}` },
      { name: "TS_INTERNAL_APP", value: APP_INGRESS_RESOURCE },
    ],
    podAnnotations: {},
    stringData: { ...tailscaledConfig, [STANDALONE_SERVE_CONFIG_KEY]: serveConfig },
    ctx,
  });
  return {
    mode: "L7",
    proxyType: "ingress_resource",
    namespace,
    hostname,
    names,
    labels,
    selector,
    annotations,
    ...objs,
    tailscaledConfig,
    serveConfig,
    handlers,
    authKeyRequest: authKeyRequest(tags),
  };
}
