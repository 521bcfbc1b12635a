/**
 * Applies a ProxyClass to a proxy StatefulSet, following the operator's applyProxyClassToStatefulSet
 * (tailscale/tailscale@de9ec7ee cmd/k8s-operator/sts.go; docs/operator-parity.md, "ProxyClass"),
 * adapted to our flattened ProxyClassInput, whose fields are declared in schema/proxyClass.ts. Shared
 * by the standalone and the ProxyGroup builders.
 */
import type {
  V1Container,
  V1EnvVar,
  V1LabelSelector,
  V1StatefulSet,
  V1TopologySpreadConstraint,
} from "@kubernetes/client-node";
import type { ProxyClassInput, TopologySpreadConstraintInput } from "./inputs";
import { MANAGED_ANNOTATION_KEYS, MANAGED_LABEL_KEYS, mergeLabelsOrAnnotations } from "./labels";

/**
 * The operator's proxy types, of the proxies this package builds: `ingress_service` (a standalone
 * proxy of a TailnetService), `ingress_resource` (a standalone proxy of a TailnetIngress) and
 * `proxygroup_ingress` (a ProxyGroup's replicas). The operator writes them into the metrics labels.
 */
export type ProxyType = "ingress_resource" | "ingress_service" | "proxygroup_ingress";

/** Options of {@link applyProxyClass}. */
export interface ApplyProxyClassOptions {
  proxyType: ProxyType;
  /** The userspace template (standalone L7) has no privileged init container to customise. */
  userspace: boolean;
}

/**
 * The port of containerboot's local HTTP server (metrics, `/healthz`): `TS_LOCAL_ADDR_PORT` defaults to
 * `[::]:9002` (tailscale/tailscale@de9ec7ee cmd/containerboot/settings.go:133), and `enableMetrics`
 * sets `$(POD_IP):9002` as the operator does.
 */
export const LOCAL_ADDR_PORT = 9002;

/** Let's Encrypt staging directory, set as TS_DEBUG_ACME_DIRECTORY_URL by `useLetsEncryptStagingEnvironment`. */
export const LETSENCRYPT_STAGING_URL = "https://acme-staging-v02.api.letsencrypt.org/directory";

/**
 * Proxy image when neither the ProxyClass nor the caller names one. The operator's code default is
 * `:latest` and its static manifest uses `:stable`; we use `:stable`, the release channel Tailscale
 * recommends for servers.
 */
export const DEFAULT_PROXY_IMAGE = "tailscale/tailscale:stable";

/**
 * Pull policy of the proxy containers unless a ProxyClass sets one. Kubernetes would default a tagged image
 * to IfNotPresent, but `stable` is a moving tag: IfNotPresent would leave each node on whichever `stable` it
 * pulled first, so proxies on different nodes would run different versions. We keep the operator's
 * `Always`, so every (re)start runs the current release.
 */
export const DEFAULT_IMAGE_PULL_POLICY = "Always";

/** Name of the proxy container in every template. */
export const TAILSCALE_CONTAINER = "tailscale";
/** Name of the privileged init container of the non-userspace templates. */
export const SYSCTLER_CONTAINER = "sysctler";

/** What the `sysctler` init container runs: IP forwarding on, for the DNAT of kernel-networking proxies. */
export const SYSCTL_SCRIPT =
  "echo 1 > /proc/sys/net/ipv4/ip_forward && if [ -e /proc/sys/net/ipv6/conf/all/forwarding ]; then echo 1 > /proc/sys/net/ipv6/conf/all/forwarding; fi";

/** Proxy types that serve HTTPS and so may use the Let's Encrypt staging directory (not layer 3). */
const ACME_PROXY_TYPES: readonly ProxyType[] = ["ingress_resource", "proxygroup_ingress"];

/**
 * `TS_DEBUG_FIREWALL_MODE` for a ProxyClass `firewallMode`, or nothing. The builders place it where the
 * operator places PROXY_FIREWALL_MODE (before the target variables), not among the ProxyClass additions.
 */
export function firewallModeEnv(pc: ProxyClassInput | undefined): V1EnvVar[] {
  return pc?.firewallMode ? [{ name: "TS_DEBUG_FIREWALL_MODE", value: pc.firewallMode }] : [];
}

function nonEmpty(m: Record<string, string> | undefined): m is Record<string, string> {
  return m !== undefined && Object.keys(m).length > 0;
}

/**
 * Whether tailscaled serves its debug endpoints (port 9001): `enableDebug`, else `enableMetrics`, as the
 * operator's debugSetting defaults `tailscaleContainer.debug.enable` to `metrics.enable`
 * (tailscale/tailscale@de9ec7ee cmd/k8s-operator/sts.go:849-860).
 */
export function debugEnabled(pc: ProxyClassInput | undefined): boolean {
  return pc?.enableDebug ?? pc?.enableMetrics === true;
}

/** The operator's updateContainer: what a ProxyClass container section changes of a container. */
function overlayContainer(
  c: V1Container,
  o: {
    securityContext?: Record<string, unknown>;
    resources?: ProxyClassInput["resources"];
    env?: { name: string; value: string }[];
  },
): void {
  if (o.securityContext) c.securityContext = clone(o.securityContext);
  if (o.resources) {
    c.resources ??= {};
    if (nonEmpty(o.resources.requests)) c.resources.requests = { ...o.resources.requests };
    if (nonEmpty(o.resources.limits)) c.resources.limits = { ...o.resources.limits };
  }
  if (o.env) {
    c.env ??= [];
    for (const e of o.env) c.env.push({ name: e.name, value: e.value });
  }
}

/**
 * Returns a copy of `statefulSet` with the ProxyClass applied; the input is not modified. Order of the
 * additions to the `tailscale` container's env, as the operator: debug (`TS_DEBUG_ADDR_PORT`,
 * `TS_TAILSCALED_EXTRA_ARGS`, {@link debugEnabled}) and metrics (`TS_LOCAL_ADDR_PORT`,
 * `TS_ENABLE_METRICS`, `enableMetrics`), then `TS_DEBUG_ACME_DIRECTORY_URL` (ingress types only), then
 * the ProxyClass `env` entries.
 *
 * Labels and annotations are merged keeping the managed keys (the selector and ownership labels cannot
 * be overridden). Pod fields are set only when the ProxyClass sets them; unlike the operator, setting one
 * pod field does not clear the others. `image` and `imagePullPolicy` apply to the `sysctler` init
 * container too, since the flattened ProxyClass has one proxy image; `initContainer` then overrides
 * them and sets the rest of it, as the operator's `tailscaleInitContainer`.
 */
export function applyProxyClass<S extends V1StatefulSet>(
  statefulSet: S,
  proxyClass: ProxyClassInput | undefined,
  opts: ApplyProxyClassOptions,
): S {
  const sts = JSON.parse(JSON.stringify(statefulSet)) as S;
  const pc = proxyClass;
  if (!pc) return sts;
  sts.metadata ??= {};
  if (nonEmpty(pc.statefulSetLabels)) {
    sts.metadata.labels = mergeLabelsOrAnnotations(
      sts.metadata.labels,
      pc.statefulSetLabels,
      MANAGED_LABEL_KEYS,
    );
  }
  if (nonEmpty(pc.statefulSetAnnotations)) {
    sts.metadata.annotations = mergeLabelsOrAnnotations(
      sts.metadata.annotations,
      pc.statefulSetAnnotations,
      MANAGED_ANNOTATION_KEYS,
    );
  }
  const template = sts.spec!.template;
  template.metadata ??= {};
  template.spec ??= { containers: [] };
  const pod = template.spec;
  const container = pod.containers.find((c) => c.name === TAILSCALE_CONTAINER);
  if (!container) {
    throw new Error(`applyProxyClass: the StatefulSet has no "${TAILSCALE_CONTAINER}" container`);
  }
  container.env ??= [];
  const env: V1EnvVar[] = container.env;

  if (debugEnabled(pc)) {
    env.push(
      { name: "TS_DEBUG_ADDR_PORT", value: "$(POD_IP):9001" },
      { name: "TS_TAILSCALED_EXTRA_ARGS", value: "--debug=$(TS_DEBUG_ADDR_PORT)" },
    );
    container.ports = [...(container.ports ?? []), { name: "debug", containerPort: 9001, protocol: "TCP" }];
  }
  if (pc.enableMetrics) {
    env.push(
      { name: "TS_LOCAL_ADDR_PORT", value: `$(POD_IP):${LOCAL_ADDR_PORT}` },
      { name: "TS_ENABLE_METRICS", value: "true" },
    );
    container.ports = [
      ...(container.ports ?? []),
      { name: "metrics", containerPort: LOCAL_ADDR_PORT, protocol: "TCP" },
    ];
  }
  if (pc.useLetsEncryptStagingEnvironment && ACME_PROXY_TYPES.includes(opts.proxyType)) {
    env.push({ name: "TS_DEBUG_ACME_DIRECTORY_URL", value: LETSENCRYPT_STAGING_URL });
  }

  if (nonEmpty(pc.podLabels)) {
    template.metadata.labels = mergeLabelsOrAnnotations(
      template.metadata.labels,
      pc.podLabels,
      MANAGED_LABEL_KEYS,
    );
  }
  if (nonEmpty(pc.podAnnotations)) {
    template.metadata.annotations = mergeLabelsOrAnnotations(
      template.metadata.annotations,
      pc.podAnnotations,
      MANAGED_ANNOTATION_KEYS,
    );
  }
  if (pc.podSecurityContext) pod.securityContext = clone(pc.podSecurityContext);
  if (pc.imagePullSecrets) pod.imagePullSecrets = pc.imagePullSecrets.map((name) => ({ name }));
  if (pc.nodeSelector) pod.nodeSelector = { ...pc.nodeSelector };
  if (pc.affinity) pod.affinity = clone(pc.affinity);
  if (pc.topologySpreadConstraints) {
    const own = sts.spec!.selector;
    pod.topologySpreadConstraints = pc.topologySpreadConstraints.map((c) => spreadConstraint(c, own));
  }
  if (pc.tolerations) pod.tolerations = clone(pc.tolerations);
  if (pc.priorityClassName) pod.priorityClassName = pc.priorityClassName;
  if (pc.nodeName) pod.nodeName = pc.nodeName;
  // The operator sets these two only when given (sts.go:937-942).
  if (pc.dnsPolicy) pod.dnsPolicy = pc.dnsPolicy;
  if (pc.dnsConfig) pod.dnsConfig = clone(pc.dnsConfig);

  overlayContainer(container, pc);
  const init = opts.userspace ? undefined : pod.initContainers?.find((c) => c.name === SYSCTLER_CONTAINER);
  for (const c of init ? [container, init] : [container]) {
    if (pc.image) c.image = pc.image;
    if (pc.imagePullPolicy) c.imagePullPolicy = pc.imagePullPolicy;
  }
  if (init && pc.initContainer) {
    overlayContainer(init, pc.initContainer);
    if (pc.initContainer.image) init.image = pc.initContainer.image;
    if (pc.initContainer.imagePullPolicy) init.imagePullPolicy = pc.initContainer.imagePullPolicy;
  }
  return sts;
}

/**
 * A ProxyClass spread constraint as the Pod gets it. Unlike Kubernetes, where a constraint without
 * `labelSelector` counts no Pod (and so spreads nothing), a missing selector means the proxy's own Pods
 * (the StatefulSet's selector), which users cannot easily spell: our labels are ours.
 */
function spreadConstraint(
  c: TopologySpreadConstraintInput,
  own: V1LabelSelector,
): V1TopologySpreadConstraint {
  const out: V1TopologySpreadConstraint = clone(c);
  out.labelSelector ??= clone(own);
  return out;
}

function clone<T>(v: T): any {
  return JSON.parse(JSON.stringify(v));
}
