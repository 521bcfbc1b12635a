/**
 * The Kubernetes objects of a ProxyGroup of type `ingress` (docs/operator-parity.md, "ProxyGroup").
 *
 * Same names, keys, env order, volumes and RBAC as the operator, so proxies behave identically. On
 * purpose we differ in:
 * - metadata: we add `app.kubernetes.io/managed-by`, `tailnet.pulumi.com/owner` and the
 *   `tailnet.pulumi.com/owner-id` annotation, and set no ownerReferences (there is no ProxyGroup CR;
 *   the provider deletes explicitly, see teardown.ts);
 * - the Role never has an empty `resourceNames` list: with 0 replicas (and no shared ACME account)
 *   the operator's rule would grant get/patch/update on every Secret of the namespace, so we leave
 *   that rule out instead;
 * - the pod template carries no `name` or `deletionGracePeriodSeconds` (meaningless on a template);
 * - the shared ACME account Secret (`shareAcmeAccount`) lists the ProxyGroups that use it and is
 *   deleted with the last of them, where the operator keeps it forever (acmeAccount.ts).
 * - zero-downtime defaults the operator lacks ({@link replicaReadinessProbe}, {@link replicaSpread},
 *   {@link ROLLOUT}, and a PodDisruptionBudget from 2 replicas, {@link planReplicaDisruptionBudget}).
 */
import type {
  V1Container,
  V1EnvVar,
  V1Probe,
  V1Role,
  V1StatefulSetSpec,
  V1TopologySpreadConstraint,
  V1Volume,
  V1VolumeMount,
} from "@kubernetes/client-node";
import type { ProxyGroupInput, ProxyGroupRef } from "../inputs";
import { LABEL_MANAGED_BY, legacyLabels, MANAGED_BY } from "../labels";
import { planMetricsObjects } from "../metrics";
import type {
  ObjectRef,
  PlannedConfigMap,
  PlannedObject,
  PlannedPodDisruptionBudget,
  PlannedRole,
  PlannedRoleBinding,
  PlannedSecret,
  PlannedService,
  PlannedServiceAccount,
  PlannedServiceMonitor,
  PlannedStatefulSet,
  Selection,
} from "../objects";
import {
  applyProxyClass,
  DEFAULT_IMAGE_PULL_POLICY,
  DEFAULT_PROXY_IMAGE,
  firewallModeEnv,
  LOCAL_ADDR_PORT,
  SYSCTL_SCRIPT,
  SYSCTLER_CONTAINER,
  TAILSCALE_CONTAINER,
} from "../proxyclass";
import { effectiveTags } from "../tags";
import { acmeAccountSecret, SHARED_ACME_FIELD, SHARED_ACME_SECRET } from "./acmeAccount";
import {
  CONFIG_KEY,
  DEFAULT_REPLICAS,
  LABEL_PARENT_NAME,
  LABEL_PARENT_TYPE,
  LABEL_SECRET_TYPE,
  ownershipMetadata,
} from "./common";
import { renderReplicaConfig } from "./config";
import { type ReplicaStaticEndpoints, STATIC_ENDPOINT_PORT_NAME, TAILSCALED_PORT } from "./staticEndpoints";

/** Per-call facts the planner can't derive from inputs. */
export interface ProxyGroupContext {
  /**
   * Auth key to write per ordinal (see `decideAuthKey`); ordinals without one get no `AuthKey`.
   * Secret: the plan carries it only in the config Secrets' `stringData`.
   */
  authKeys: Record<number, string | undefined>;
  /** Control server URL written as `ServerURL`. */
  controlUrl?: string;
  /** `AdvertiseServices` found in each existing config Secret; kept, since the ingresses own it. */
  existingAdvertiseServices: Record<number, string[]>;
  /**
   * The StatefulSet exists with the selector and Pod labels an earlier version gave it, the operator's
   * (labels.ts `writtenBeforeRename`). It keeps both: Kubernetes refuses to change a StatefulSet's
   * selector, the Pod template must carry it, and new Pod labels would restart every replica.
   */
  legacyPodLabels?: boolean;
  /**
   * With ProxyClass `staticEndpoints`: each replica's node port and endpoints, as the lifecycle allocated
   * and chose them (staticEndpoints.ts). Absent (a preview): the Services are planned without a node
   * port and the configs without endpoints.
   */
  staticEndpoints?: Readonly<Record<number, ReplicaStaticEndpoints>>;
}

/** All objects of one ProxyGroup, in the order the operator creates them. */
export interface ProxyGroupPlan {
  name: string;
  namespace: string;
  replicas: number;
  tags: string[];
  /** Device hostname per ordinal (`<prefix|name>-<i>`). */
  hostnames: string[];
  /** With ProxyClass `staticEndpoints`: one NodePort Service per replica ({@link planNodePortService}); else none. */
  nodePortServices: PlannedService[];
  /** The endpoints each replica's config lists ({@link replicaStaticEndpoints}), by ordinal. */
  staticEndpoints: (string[] | undefined)[];
  configSecrets: PlannedSecret[];
  stateSecrets: PlannedSecret[];
  serviceAccount: PlannedServiceAccount;
  role: PlannedRole;
  roleBinding: PlannedRoleBinding;
  /**
   * `<pg>-ingress-config`, created with no data. The HA ingresses and services own its `binaryData`
   * keys: an update of the ProxyGroup must only rewrite labels and annotations.
   */
  configMap: PlannedConfigMap;
  /**
   * With `shareAcmeAccount`: the namespace's shared ACME account Secret as a create writes it, listing
   * this ProxyGroup as its only user. Shared with other ProxyGroups, so never applied as planned: the
   * lifecycle joins and leaves it (acmeAccount.ts).
   */
  acmeAccountSecret?: PlannedSecret;
  /** Only with 2 replicas or more ({@link planReplicaDisruptionBudget}). */
  podDisruptionBudget?: PlannedPodDisruptionBudget;
  statefulSet: PlannedStatefulSet;
  /** With ProxyClass `enableMetrics`: `<pg>-metrics`, selecting every replica (plan/metrics.ts). */
  metricsService?: PlannedService;
  /** With ProxyClass `serviceMonitor.enable` too: its ServiceMonitor. */
  serviceMonitor?: PlannedServiceMonitor;
}

/** Names of a ProxyGroup's objects. */
export const proxyGroupNames = {
  statefulSet: (pg: string) => pg,
  serviceAccount: (pg: string) => pg,
  role: (pg: string) => pg,
  roleBinding: (pg: string) => pg,
  configSecret: (pg: string, i: number) => `${pg}-${i}-config`,
  /** Also the Pod name: `TS_KUBE_SECRET=$(POD_NAME)`. */
  stateSecret: (pg: string, i: number) => `${pg}-${i}`,
  configMap: (pg: string) => `${pg}-ingress-config`,
  podDisruptionBudget: (pg: string) => pg,
  nodePortService: (pg: string, i: number) => `${pg}-${i}-nodeport`,
};

/**
 * The operator's pgLabels under our prefix (labels.ts): what every object of the ProxyGroup carries and a
 * new StatefulSet selects on.
 */
export function pgLabels(pg: string): Record<string, string> {
  return { [LABEL_PARENT_TYPE]: "proxygroup", [LABEL_PARENT_NAME]: pg };
}

/** The number of replicas after defaults. */
export function effectiveReplicas(input: Pick<ProxyGroupInput, "replicas">): number {
  return input.replicas ?? DEFAULT_REPLICAS;
}

/** The config or state Secrets of a ProxyGroup that pulumi-tailnet made, by label (this version's and older ones'). */
export function proxyGroupSecrets(pg: ProxyGroupRef, type: "config" | "state"): Selection {
  const labels = { ...pgLabels(pg.name), [LABEL_SECRET_TYPE]: type, [LABEL_MANAGED_BY]: MANAGED_BY };
  return {
    apiVersion: "v1",
    kind: "Secret",
    namespace: pg.namespace,
    labels,
    legacyLabels: legacyLabels(labels),
  };
}

/** The NodePort Services of static endpoints of a ProxyGroup's first `replicas` ordinals, planned or not. */
/** The ProxyGroup's StatefulSet. */
export function proxyGroupStatefulSetRef(pg: ProxyGroupRef): ObjectRef {
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    namespace: pg.namespace,
    name: proxyGroupNames.statefulSet(pg.name),
  };
}

export function nodePortServiceRefs(pg: ProxyGroupRef, replicas: number): ObjectRef[] {
  return Array.from({ length: replicas }, (_, i) => ({
    apiVersion: "v1",
    kind: "Service",
    namespace: pg.namespace,
    name: proxyGroupNames.nodePortService(pg.name, i),
  }));
}

/** The Pods of a ProxyGroup, as this version and as older ones labelled them. */
export function proxyGroupPods(pg: ProxyGroupRef): Selection {
  return {
    apiVersion: "v1",
    kind: "Pod",
    namespace: pg.namespace,
    labels: pgLabels(pg.name),
    legacyLabels: legacyLabels(pgLabels(pg.name)),
  };
}

/** Device hostname of replica `i`: `<hostnamePrefix>-<i>`, else `<name>-<i>`. */
export function replicaHostname(input: Pick<ProxyGroupInput, "name" | "hostnamePrefix">, i: number): string {
  return `${input.hostnamePrefix || input.name}-${i}`;
}

function meta(input: ProxyGroupInput, name: string, extraLabels: Record<string, string> = {}) {
  const own = ownershipMetadata(input.ownerId);
  return {
    name,
    namespace: input.namespace,
    labels: { ...pgLabels(input.name), ...extraLabels, ...own.labels },
    annotations: { ...own.annotations },
  };
}

function env(name: string, value: string): V1EnvVar {
  return { name, value };
}

function fieldEnv(name: string, fieldPath: string): V1EnvVar {
  return { name, valueFrom: { fieldRef: { fieldPath } } };
}

/** The env of the `tailscale` container before ProxyClass additions, in the operator's order. */
export function proxyGroupEnv(input: ProxyGroupInput, shareAcmeAccount: boolean): V1EnvVar[] {
  const out: V1EnvVar[] = [
    env("TS_USERSPACE", "false"),
    fieldEnv("POD_IP", "status.podIP"),
    fieldEnv("POD_NAME", "metadata.name"),
    fieldEnv("POD_UID", "metadata.uid"),
    fieldEnv("POD_IPS", "status.podIPs"),
    env("TS_KUBE_SECRET", "$(POD_NAME)"),
    env("TS_EXPERIMENTAL_SERVICE_AUTO_ADVERTISEMENT", "false"),
    env("TS_STATE", "kube:$(POD_NAME)"),
    env("TS_EXPERIMENTAL_VERSIONED_CONFIG_DIR", "/etc/tsconfig/$(POD_NAME)"),
  ];
  // tailscaled's listen port (tailscale/tailscale@de9ec7ee cmd/tailscaled/tailscaled.go:105-120
  // defaultPort), which the NodePort Services target; in the operator's place (proxygroup_specs.go:196-201).
  if (input.proxyClass?.staticEndpoints) out.push(env("PORT", String(TAILSCALED_PORT)));
  // The operator's PROXY_FIREWALL_MODE is per operator; ours comes from the ProxyClass, same slot.
  out.push(...firewallModeEnv(input.proxyClass));
  out.push(
    env("TS_INTERNAL_APP", "k8s-operator-proxygroup-ingress"),
    env("TS_INGRESS_PROXIES_CONFIG_PATH", "/etc/proxies/ingress-config.json"),
    env("TS_SERVE_CONFIG", "/etc/proxies/serve-config.json"),
    env("TS_EXPERIMENTAL_CERT_SHARE", "true"),
  );
  if (shareAcmeAccount) {
    out.push(
      env("TS_ACME_ACCOUNT_SECRET_NAME", SHARED_ACME_SECRET),
      env("TS_ACME_ACCOUNT_FIELD", SHARED_ACME_FIELD),
    );
  } else {
    out.push(env("TS_DEBUG_ACME_FORCE_RENEWAL", "true"));
  }
  // Ours: serves the `/healthz` that the readiness probe reads (replicaReadinessProbe).
  out.push(env(HEALTH_CHECK_ENV, "true"));
  return out;
}

/**
 * Whether the replicas of a ProxyGroup's StatefulSet renew their certificates with ARI (the order names
 * the certificate it replaces: exempt from every Let's Encrypt limit): only when the template does not
 * force renewals, as {@link proxyGroupEnv} leaves them for a shared ACME account
 * (tailscale/tailscale@de9ec7ee feature/acme/cert.go, `TS_DEBUG_ACME_FORCE_RENEWAL`). No StatefulSet: no.
 */
export function renewsWithAri(sts: Pick<PlannedStatefulSet, "spec"> | undefined): boolean {
  const container = sts?.spec?.template?.spec?.containers?.find((c) => c.name === TAILSCALE_CONTAINER);
  if (!container) return false;
  return !container.env?.some((e) => e.name === "TS_DEBUG_ACME_FORCE_RENEWAL" && e.value === "true");
}

/**
 * containerboot's switch for `/healthz` on its local server (tailscale/tailscale@de9ec7ee
 * cmd/containerboot/main.go:77-80, 444-447). The probe also needs the server on {@link LOCAL_ADDR_PORT}
 * of the Pod IP, so a ProxyGroup's ProxyClass may not set these (plan/schema/proxyGroup.ts).
 */
export const HEALTH_CHECK_ENV = "TS_ENABLE_HEALTH_CHECK";
/** Variables that would move or break `/healthz` (TS_HEALTHCHECK_ADDR_PORT with TS_ENABLE_HEALTH_CHECK is fatal, settings.go:346-348). */
export const HEALTH_ENV_RESERVED = [HEALTH_CHECK_ENV, "TS_LOCAL_ADDR_PORT", "TS_HEALTHCHECK_ADDR_PORT"];

/**
 * Readiness of a replica: containerboot's `/healthz`, which answers 200 once the node's netmap gives it
 * a tailnet address and 503 before (tailscale/tailscale@de9ec7ee kube/health/healthz.go:22-50). It is
 * updated after the forwarding rules are set up and the device's endpoints stored
 * (cmd/containerboot/main.go:882-902), and the node advertises the Tailscale Services of its config
 * from tailscaled's start (`AdvertiseServices` is a pref of its config file, ipn/conf.go:39, 189-191), so a Ready
 * replica is logged in and advertising. It does not cover the serve config and the layer-3 rules of
 * the services, which containerboot applies just after (main.go:917-921, 964-979), nor control's
 * choice of the new replica as a primary. Without a probe the kubelet reports the Pod Ready as soon as
 * its container starts, and the StatefulSet controller then stops the next replica while this one is
 * still logging in: the operator's ingress replicas have none ("TODO(tomhjp): add a readiness probe or
 * gate to Ingress Pods", cmd/k8s-operator/proxygroup_specs.go:292-293). A probe every 5 s (Kubernetes'
 * default is 10 s) halves the wait it adds to each replica of a rollout.
 */
export function replicaReadinessProbe(): V1Probe {
  return { httpGet: { path: "/healthz", port: LOCAL_ADDR_PORT }, periodSeconds: 5 };
}

/**
 * How the StatefulSet replaces and adds replicas, set explicitly since zero downtime depends on it (both
 * equal Kubernetes' defaults, so no existing StatefulSet changes, and `podManagementPolicy` is
 * immutable). With `OrderedReady` and `RollingUpdate` the StatefulSet controller deletes one replica
 * that runs an old template (the highest ordinal first) only while every other replica is Running and
 * Ready, and the next only once its replacement is Ready (kubernetes/kubernetes@0004b149
 * pkg/controller/statefulset/stateful_set_control.go updateStatefulSet, processReplica).
 */
export const ROLLOUT: Pick<V1StatefulSetSpec, "podManagementPolicy" | "updateStrategy"> = {
  podManagementPolicy: "OrderedReady",
  updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 0 } },
};

/**
 * The default spread of a ProxyGroup's replicas: at most one more on any node than on another, so one
 * node's loss takes one replica when there are nodes enough. `DoNotSchedule`: a soft preference could
 * put every replica on one node. `nodeTaintsPolicy: Honor` counts only nodes the replicas tolerate; with
 * Kubernetes' default (`Ignore`) a cordoned node (taint `node.kubernetes.io/unschedulable`) or a
 * tainted control-plane node counts as an empty node, and the replica a drain evicts could then go
 * nowhere (https://kubernetes.io/docs/concepts/scheduling-eviction/topology-spread-constraints/#spread-constraint-definition).
 * More replicas than nodes is fine (skew 1 allows 2-and-1). A ProxyClass `topologySpreadConstraints`
 * replaces it.
 * `selector` is the StatefulSet's (planProxyGroup), which the replicas carry.
 */
export function replicaSpread(selector: Record<string, string>): V1TopologySpreadConstraint[] {
  return [
    {
      maxSkew: 1,
      topologyKey: "kubernetes.io/hostname",
      whenUnsatisfiable: "DoNotSchedule",
      nodeTaintsPolicy: "Honor",
      labelSelector: { matchLabels: { ...selector } },
    },
  ];
}

/** Volumes: every replica's config Secret, then the shared ConfigMap (every pod mounts all of them). */
export function proxyGroupVolumes(pg: string, replicas: number): V1Volume[] {
  const out: V1Volume[] = [];
  for (let i = 0; i < replicas; i++) {
    out.push({ name: `tailscaledconfig-${i}`, secret: { secretName: proxyGroupNames.configSecret(pg, i) } });
  }
  out.push({ name: proxyGroupNames.configMap(pg), configMap: { name: proxyGroupNames.configMap(pg) } });
  return out;
}

/** Mounts matching {@link proxyGroupVolumes}: `/etc/tsconfig/<pg>-<i>` each, and `/etc/proxies`. */
export function proxyGroupVolumeMounts(pg: string, replicas: number): V1VolumeMount[] {
  const out: V1VolumeMount[] = [];
  for (let i = 0; i < replicas; i++) {
    out.push({
      name: `tailscaledconfig-${i}`,
      mountPath: `/etc/tsconfig/${proxyGroupNames.stateSecret(pg, i)}`,
      readOnly: true,
    });
  }
  out.push({ name: proxyGroupNames.configMap(pg), mountPath: "/etc/proxies", readOnly: true });
  return out;
}

/**
 * The Role's rules, as the operator's except that an empty resourceNames rule is dropped and `list` on
 * Secrets comes without `watch`: a read replica lists the certificate Secrets at start, and containerboot's
 * Kubernetes client has no watch at all (tailscale/tailscale@de9ec7ee kube/kubeclient/client.go: get, list,
 * create, update and patch of Secrets, events, access reviews), so the operator's `watch` grants nothing used.
 */
export function proxyGroupRoleRules(
  pg: string,
  replicas: number,
  shareAcmeAccount: boolean,
): V1Role["rules"] {
  const names: string[] = [];
  for (let i = 0; i < replicas; i++) {
    names.push(proxyGroupNames.configSecret(pg, i), proxyGroupNames.stateSecret(pg, i));
  }
  if (shareAcmeAccount) names.push(SHARED_ACME_SECRET);
  const rules: NonNullable<V1Role["rules"]> = [{ apiGroups: [""], resources: ["secrets"], verbs: ["list"] }];
  if (names.length > 0) {
    rules.push({
      apiGroups: [""],
      resources: ["secrets"],
      verbs: ["get", "patch", "update"],
      resourceNames: names,
    });
  }
  rules.push({ apiGroups: [""], resources: ["events"], verbs: ["create", "patch", "get"] });
  return rules;
}

/**
 * Every object of the ProxyGroup `input`. Requires resolved inputs (no unknowns). The config Secrets
 * are built from `ctx`: an auth key only where `ctx.authKeys` has one, and `AdvertiseServices` as found
 * (a ProxyGroup update must never drop what the ingresses wrote).
 */
export function planProxyGroup(input: ProxyGroupInput, ctx: ProxyGroupContext): ProxyGroupPlan {
  const pg = input.name;
  const replicas = effectiveReplicas(input);
  const share = input.shareAcmeAccount === true;
  const hostnames = Array.from({ length: replicas }, (_, i) => replicaHostname(input, i));

  const configSecrets: PlannedSecret[] = hostnames.map((hostname, i) => ({
    apiVersion: "v1",
    kind: "Secret",
    metadata: meta(input, proxyGroupNames.configSecret(pg, i), { [LABEL_SECRET_TYPE]: "config" }),
    type: "Opaque",
    stringData: {
      [CONFIG_KEY]: renderReplicaConfig({
        hostname,
        authKey: ctx.authKeys[i],
        controlUrl: ctx.controlUrl,
        acceptRoutes: input.proxyClass?.acceptRoutes,
        advertiseServices: ctx.existingAdvertiseServices[i],
        staticEndpoints: replicaStaticEndpoints(input, ctx, i),
      }),
    },
  }));

  const stateSecrets: PlannedSecret[] = hostnames.map((_, i) => ({
    apiVersion: "v1",
    kind: "Secret",
    metadata: meta(input, proxyGroupNames.stateSecret(pg, i), { [LABEL_SECRET_TYPE]: "state" }),
    type: "Opaque",
  }));

  const container: V1Container = {
    name: TAILSCALE_CONTAINER,
    image: DEFAULT_PROXY_IMAGE,
    imagePullPolicy: DEFAULT_IMAGE_PULL_POLICY,
    securityContext: { privileged: true },
    resources: { requests: { cpu: "1m", memory: "1Mi" } },
    env: proxyGroupEnv(input, share),
    volumeMounts: proxyGroupVolumeMounts(pg, replicas),
    readinessProbe: replicaReadinessProbe(),
  };
  const own = ownershipMetadata(input.ownerId);
  const selector = ctx.legacyPodLabels ? legacyLabels(pgLabels(pg)) : pgLabels(pg);
  const podLabels = { ...pgLabels(pg), ...own.labels };
  const baseSts: PlannedStatefulSet = {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: meta(input, proxyGroupNames.statefulSet(pg)),
    spec: {
      replicas,
      selector: { matchLabels: { ...selector } },
      ...ROLLOUT,
      template: {
        metadata: { labels: ctx.legacyPodLabels ? legacyLabels(podLabels) : podLabels },
        spec: {
          serviceAccountName: proxyGroupNames.serviceAccount(pg),
          initContainers: [
            {
              name: SYSCTLER_CONTAINER,
              image: DEFAULT_PROXY_IMAGE,
              securityContext: { privileged: true },
              command: ["/bin/sh", "-c"],
              args: [SYSCTL_SCRIPT],
            },
          ],
          containers: [container],
          volumes: proxyGroupVolumes(pg, replicas),
          topologySpreadConstraints: replicaSpread(selector),
        },
      },
    },
  };

  const stsMeta = meta(input, proxyGroupNames.statefulSet(pg));
  const metrics = planMetricsObjects(
    {
      proxyType: "proxygroup_ingress",
      statefulSet: proxyGroupNames.statefulSet(pg),
      namespace: input.namespace,
      parentName: pg,
      parentNamespace: input.namespace,
      selector,
      labels: stsMeta.labels,
      annotations: stsMeta.annotations,
    },
    input.proxyClass,
  );
  return {
    ...metrics,
    name: pg,
    namespace: input.namespace,
    replicas,
    tags: effectiveTags(input.tags),
    hostnames,
    nodePortServices: input.proxyClass?.staticEndpoints
      ? hostnames.map((_, i) => planNodePortService(input, i, ctx.staticEndpoints?.[i]?.nodePort))
      : [],
    staticEndpoints: hostnames.map((_, i) => replicaStaticEndpoints(input, ctx, i)),
    configSecrets,
    stateSecrets,
    serviceAccount: {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: meta(input, proxyGroupNames.serviceAccount(pg)),
    },
    role: {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: meta(input, proxyGroupNames.role(pg)),
      rules: proxyGroupRoleRules(pg, replicas, share),
    },
    roleBinding: {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: meta(input, proxyGroupNames.roleBinding(pg)),
      subjects: [
        { kind: "ServiceAccount", name: proxyGroupNames.serviceAccount(pg), namespace: input.namespace },
      ],
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: proxyGroupNames.role(pg) },
    },
    configMap: { apiVersion: "v1", kind: "ConfigMap", metadata: meta(input, proxyGroupNames.configMap(pg)) },
    ...(share ? { acmeAccountSecret: acmeAccountSecret(input.namespace, [input.ownerId]) } : {}),
    podDisruptionBudget: planReplicaDisruptionBudget(input, replicas, selector),
    // Kernel networking: the `sysctler` init container gets the ProxyClass image too.
    statefulSet: applyProxyClass(baseSts, input.proxyClass, {
      proxyType: "proxygroup_ingress",
      userspace: false,
    }),
  };
}

/**
 * The PodDisruptionBudget of a ProxyGroup with 2 replicas or more: voluntary evictions (a node drain,
 * the cluster autoscaler) take at most one replica at a time, and none while another is not Ready.
 * `maxUnavailable: 1` rather than a `minAvailable`: it holds for every replica count, so scaling does not
 * rewrite it, and it counts replicas that are already down. With 1 replica there is none: any budget that
 * protects it (`minAvailable: 1`, `maxUnavailable: 0`) blocks every drain of its node for good, and one
 * that lets drains through protects nothing. `unhealthyPodEvictionPolicy: AlwaysAllow`: a replica that is
 * not Ready serves nothing, so evicting it must not wait for the budget (with the default,
 * IfHealthyBudget, a crash-looping replica blocks the drain while another one is down too;
 * https://kubernetes.io/docs/tasks/run-application/configure-pdb/#unhealthy-pod-eviction-policy).
 * The StatefulSet controller's own rolling update does not go through evictions and ignores it.
 * `selector` is the StatefulSet's (planProxyGroup), which the replicas carry.
 */
export function planReplicaDisruptionBudget(
  input: ProxyGroupInput,
  replicas: number,
  selector: Record<string, string>,
): PlannedPodDisruptionBudget | undefined {
  if (replicas < 2) return undefined;
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: meta(input, proxyGroupNames.podDisruptionBudget(input.name)),
    spec: {
      maxUnavailable: 1,
      selector: { matchLabels: { ...selector } },
      unhealthyPodEvictionPolicy: "AlwaysAllow",
    },
  };
}

/** The PodDisruptionBudget of ProxyGroup `pg`, planned or not (an update to 1 replica deletes it). */
export function podDisruptionBudgetRef(pg: ProxyGroupRef): ObjectRef {
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    namespace: pg.namespace,
    name: proxyGroupNames.podDisruptionBudget(pg.name),
  };
}

/** The endpoints replica `i` advertises: with ProxyClass `staticEndpoints` only, as the lifecycle chose them. */
export function replicaStaticEndpoints(
  input: Pick<ProxyGroupInput, "proxyClass">,
  ctx: Pick<ProxyGroupContext, "staticEndpoints">,
  i: number,
): string[] | undefined {
  return input.proxyClass?.staticEndpoints ? ctx.staticEndpoints?.[i]?.endpoints : undefined;
}

/**
 * Replica `i`'s NodePort Service, the operator's pgNodePortService (proxygroup_specs.go:38-64) with our
 * labels: one UDP port, {@link TAILSCALED_PORT} to the Pod's tailscaled, on `nodePort` of every node,
 * selecting the replica's Pod by the name the StatefulSet controller labels it with. Without a
 * `nodePort` (a preview) the API server would pick one; the lifecycle always passes it.
 */
export function planNodePortService(input: ProxyGroupInput, i: number, nodePort?: number): PlannedService {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta(input, proxyGroupNames.nodePortService(input.name, i)),
    spec: {
      type: "NodePort",
      ports: [
        {
          name: STATIC_ENDPOINT_PORT_NAME,
          protocol: "UDP",
          port: TAILSCALED_PORT,
          targetPort: TAILSCALED_PORT,
          ...(nodePort === undefined ? {} : { nodePort }),
        },
      ],
      selector: { "statefulset.kubernetes.io/pod-name": proxyGroupNames.stateSecret(input.name, i) },
    },
  };
}

/**
 * The plan's objects in the operator's create order (NodePort Services of static endpoints, config
 * Secrets, state Secrets, SA, Role, RoleBinding, ConfigMap, StatefulSet), with ours before the StatefulSet (the shared ACME account Secret when shared, the
 * PodDisruptionBudget) and after it (the metrics Service and ServiceMonitor when asked for).
 */
export function proxyGroupObjects(plan: ProxyGroupPlan): PlannedObject[] {
  return [
    ...plan.nodePortServices,
    ...plan.configSecrets,
    ...plan.stateSecrets,
    plan.serviceAccount,
    plan.role,
    plan.roleBinding,
    plan.configMap,
    ...(plan.acmeAccountSecret ? [plan.acmeAccountSecret] : []),
    ...(plan.podDisruptionBudget ? [plan.podDisruptionBudget] : []),
    plan.statefulSet,
    ...(plan.metricsService ? [plan.metricsService] : []),
    ...(plan.serviceMonitor ? [plan.serviceMonitor] : []),
  ];
}

/** One replica's per-ordinal objects. */
export interface ReplicaRefs {
  ordinal: number;
  /** Pod and state Secret name. */
  pod: string;
  stateSecret: ObjectRef;
  configSecret: ObjectRef;
}

/** The objects of replica `i` of ProxyGroup `pg`. */
export function replicaRefs(pg: string, namespace: string, i: number): ReplicaRefs {
  return {
    ordinal: i,
    pod: proxyGroupNames.stateSecret(pg, i),
    stateSecret: { apiVersion: "v1", kind: "Secret", namespace, name: proxyGroupNames.stateSecret(pg, i) },
    configSecret: { apiVersion: "v1", kind: "Secret", namespace, name: proxyGroupNames.configSecret(pg, i) },
  };
}

/** Which ordinals a replica count change adds and removes (ascending). */
export interface ProxyGroupScale {
  /**
   * New ordinals: their config Secrets (fresh keys) and state Secrets must exist before the
   * StatefulSet grows (Role resourceNames and volumes change with them, rolling every pod).
   */
  create: number[];
  /**
   * Removed ordinals. After the StatefulSet shrank and their pods are gone: delete each device (NodeID
   * from the state Secret; skipped when empty, unlike the operator), then the state Secret, then the
   * config Secret (see {@link replicaRefs}); NotFound is success.
   */
  delete: number[];
}

/** Ordinals to create and delete when a ProxyGroup goes from `oldReplicas` to `newReplicas`. */
export function planProxyGroupScale(oldReplicas: number, newReplicas: number): ProxyGroupScale {
  const create: number[] = [];
  const del: number[] = [];
  for (let i = oldReplicas; i < newReplicas; i++) create.push(i);
  for (let i = newReplicas; i < oldReplicas; i++) del.push(i);
  return { create, delete: del };
}
