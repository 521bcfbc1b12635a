/**
 * ProxyGroup lifecycle: N proxy replicas (one StatefulSet) that advertise the Tailscale Services of the
 * HA TailnetIngress and TailnetService resources on it (docs/operator-parity.md, "ProxyGroup"). Its
 * inputs are declared in plan/schema/proxyGroup.ts.
 *
 * create: refuse device names that are taken -> mint one single-use key per replica -> with ProxyClass
 *   `staticEndpoints`, the replicas' NodePort Services (resources/ha/staticEndpoints.ts) -> config and state
 *   Secrets, ServiceAccount, Role, RoleBinding, ConfigMap, PodDisruptionBudget (2 replicas or more),
 *   StatefulSet -> wait, by watch, until every
 *   replica's device is registered -> drop the keys from the configs and revoke them. A failure after
 *   the first write removes what was made.
 * update: keys for new replicas only; config Secrets are rewritten with read-modify-write that keeps
 *   `AdvertiseServices` (the ingresses own it); after the rollout, new replicas advertise what the
 *   others do (layer 3 only once their DNAT rules are in place); removed replicas' devices and Secrets
 *   are deleted once their Pods are gone, and the NodePort Services no replica uses after the rollout.
 * delete: refused while HA resources still have entries in the ConfigMap; then StatefulSet (waiting for
 *   the Pods), devices, Secrets, NodePort Services, metrics Service and ServiceMonitor, ConfigMap, RBAC; then it leaves the
 *   shared ACME account Secret (`shareAcmeAccount`), deleting it when no other ProxyGroup uses it
 *   (resources/ha/acmeAccount.ts).
 * A ProxyClass ServiceMonitor is refused before any write when the cluster lacks its CRD.
 */
import { kubeFor, tailscaleClientFor } from "../credentials";
import { type Kube, type KubeObject, type ObjectRef, sharedEdit } from "../kube";
import { diffProxyGroup } from "../plan/diff";
import {
  advertisedServicesFromConfig,
  authKeyFromConfig,
  CONFIG_KEY,
  decideAuthKey,
  effectiveReplicas,
  INGRESS_CONFIG_KEY,
  ingressConfigServiceNames,
  LABEL_PARENT_NAME,
  nodePortServiceRefs,
  PROXY_GROUP_SERVE_CONFIG_KEY,
  type ProxyGroupPlan,
  parseOwners,
  planProxyGroup,
  planProxyGroupScale,
  podDisruptionBudgetRef,
  proxyGroupNames,
  proxyGroupObjects,
  proxyGroupStatefulSetRef,
  proxyGroupTeardown,
  renderReplicaConfig,
  replicaRefs,
  replicaReportsRules,
  serveConfigServiceNames,
  staticEndpointsFromConfig,
} from "../plan/ha";
import { firstLabel } from "../plan/hostnames";
import { type ProxyGroupInput, SCHEMA_VERSION } from "../plan/inputs";
import { withoutLegacyKeys, writtenBeforeRename } from "../plan/labels";
import { refreshedInputs } from "../plan/schema/field";
import { PROXY_GROUP } from "../plan/schema/proxyGroup";
import {
  controlUrlFor,
  mintAuthKey,
  proxyGroupKeyHolder,
  refuseTakenHostnames,
  revokeMintedKeys,
  waitForDevice,
} from "./devices";
import { joinAcmeAccount, leaveAcmeAccount } from "./ha/acmeAccount";
import { CONFIG_MAP_SHARED_FIELDS, configMapRef, configMapText, serviceOwnersOf } from "./ha/configMap";
import {
  type ReplicaFacts,
  readReplicas,
  replicaDeviceId,
  setAdvertised,
  waitAdvertised,
} from "./ha/replicas";
import { type HARuntime, runtimeFor } from "./ha/runtime";
import { applyStaticEndpoints } from "./ha/staticEndpoints";
import { runTeardown } from "./ha/teardown";
import {
  coreRef,
  deviceStateOf,
  objectPath,
  requireAdmittedProxyPod,
  requireNamespace,
  secretData,
} from "./kubeFacts";
import { checkAgainst, cleanOutputs, diffResult, type Lifecycle, partialCreateError } from "./lifecycle";
import { removeUnplannedMetrics, requireServiceMonitorCrd } from "./metrics";

/** One replica's device, as output. */
export interface ProxyGroupDeviceOutput {
  ordinal: number;
  hostname: string;
  fqdn: string;
  tailnetIPs: string[];
  deviceId: string;
  /** What its config lists as `StaticEndpoints` (ProxyClass `staticEndpoints`); absent when none. */
  staticEndpoints?: string[];
}

type PGInputs = ProxyGroupInput & { __provider?: string };

function stsRef(input: { name: string; namespace: string }): ObjectRef {
  return { apiVersion: "apps/v1", kind: "StatefulSet", namespace: input.namespace, name: input.name };
}

/** Refuses device names of new replicas that other devices hold (see devices.ts). */
function refuseTakenReplicaNames(
  rt: HARuntime,
  hostnames: string[],
  own: ReadonlySet<string>,
): Promise<void> {
  return refuseTakenHostnames(rt.tailscale, hostnames, own, {
    what: "the replica",
    fix: "set hostnamePrefix",
  });
}

/** The device IDs this ProxyGroup's replicas registered (a retried create adopts them). */
async function ownDeviceIds(kube: Kube, pg: { name: string; namespace: string }): Promise<Set<string>> {
  const own = new Set<string>();
  for (const r of await readReplicas(kube, pg)) {
    const id = replicaDeviceId(r.state);
    if (id) own.add(id);
  }
  return own;
}

/** Writes a replica's config Secret: created fresh, or rewritten keeping its `AdvertiseServices`. */
async function writeConfigSecret(
  kube: Kube,
  input: PGInputs,
  plan: ProxyGroupPlan,
  ordinal: number,
  authKey: string | undefined,
  controlUrl: string | undefined,
): Promise<void> {
  const desired = plan.configSecrets[ordinal]!;
  const ref = coreRef("Secret", input.namespace, desired.metadata.name);
  if (!(await kube.get(ref))) {
    await kube.apply(
      {
        ...desired,
        stringData: {
          [CONFIG_KEY]: renderReplicaConfig({
            hostname: plan.hostnames[ordinal]!,
            authKey,
            controlUrl,
            acceptRoutes: input.proxyClass?.acceptRoutes,
            staticEndpoints: plan.staticEndpoints[ordinal],
          }),
        },
      },
      { ownerId: input.ownerId },
    );
    return;
  }
  await sharedEdit(kube, ref, (secret) => {
    const data = secretData(secret);
    const text = renderReplicaConfig({
      hostname: plan.hostnames[ordinal]!,
      authKey,
      controlUrl,
      acceptRoutes: input.proxyClass?.acceptRoutes,
      // Never dropped: the HA ingresses and services own this list.
      advertiseServices: advertisedServicesFromConfig(data[CONFIG_KEY]),
      staticEndpoints: plan.staticEndpoints[ordinal],
    });
    // Labels an earlier version wrote that are ours no more go (plan/labels.ts); others' stay.
    const labels = { ...withoutLegacyKeys(secret.metadata.labels ?? {}), ...(desired.metadata.labels ?? {}) };
    const annotations = { ...(secret.metadata.annotations ?? {}), ...(desired.metadata.annotations ?? {}) };
    if (
      text === data[CONFIG_KEY] &&
      JSON.stringify(labels) === JSON.stringify(secret.metadata.labels ?? {}) &&
      JSON.stringify(annotations) === JSON.stringify(secret.metadata.annotations ?? {})
    )
      return undefined;
    secret.metadata.labels = labels;
    secret.metadata.annotations = annotations;
    secret.data = {
      ...((secret.data as Record<string, string>) ?? {}),
      [CONFIG_KEY]: Buffer.from(text, "utf8").toString("base64"),
    };
    return secret;
  });
}

/** Waits until replica `i` has registered its device; a rejected key fails at once with the reason. */
async function waitForReplicaDevice(
  rt: HARuntime,
  input: PGInputs,
  i: number,
  gone?: ReadonlyMap<number, string>,
): Promise<void> {
  const ref = replicaRefs(input.name, input.namespace, i).stateSecret;
  await waitForDevice(rt.kube, rt.tailscale, ref, {
    replacing: gone?.get(i),
    who: `ProxyGroup replica ${input.namespace}/${ref.name}`,
    fix:
      "Run `pulumi up` again to mint a new key; if it fails again, check the tailnet policy's tagOwners " +
      "for the ProxyGroup's tags.",
    timeoutMs: rt.remainingMs(),
  });
}

/** Waits until the StatefulSet runs `replicas` ready Pods of its current template. */
async function waitForRollout(rt: HARuntime, input: PGInputs, replicas: number): Promise<void> {
  await rt.kube.waitFor(
    stsRef(input),
    (sts) => {
      const status = (sts?.status ?? {}) as {
        observedGeneration?: number;
        updatedReplicas?: number;
        readyReplicas?: number;
        replicas?: number;
      };
      return (
        !!sts &&
        (status.observedGeneration ?? 0) >= (sts.metadata.generation ?? 0) &&
        (status.updatedReplicas ?? 0) >= replicas &&
        (status.readyReplicas ?? 0) >= replicas &&
        (status.replicas ?? 0) === replicas
      );
    },
    {
      timeoutMs: rt.remainingMs(),
      description: `StatefulSet ${input.namespace}/${input.name} to run ${replicas} ready replicas of its current template`,
    },
  );
}

async function devicesOf(kube: Kube, input: PGInputs, replicas: number): Promise<ProxyGroupDeviceOutput[]> {
  const out: ProxyGroupDeviceOutput[] = [];
  for (let i = 0; i < replicas; i++) {
    const refs = replicaRefs(input.name, input.namespace, i);
    const d = deviceStateOf(secretData(await kube.get(refs.stateSecret)));
    if (!d) continue;
    // What we wrote, as the operator reports it (proxygroup.go:1263-1272): tailscaled reports nothing of it.
    const endpoints = staticEndpointsFromConfig(secretData(await kube.get(refs.configSecret))[CONFIG_KEY]);
    out.push({
      ordinal: i,
      hostname: firstLabel(d.fqdn),
      fqdn: d.fqdn,
      tailnetIPs: d.tailnetIPs,
      deviceId: d.deviceId,
      ...(endpoints.length > 0 ? { staticEndpoints: endpoints } : {}),
    });
  }
  return out;
}

function outputsOf(input: PGInputs, plan: ProxyGroupPlan, devices: ProxyGroupDeviceOutput[]) {
  return cleanOutputs({
    ...input,
    replicas: plan.replicas,
    tags: plan.tags,
    devices,
    statefulSetName: proxyGroupNames.statefulSet(input.name),
    configMapName: proxyGroupNames.configMap(input.name),
    kubernetesObjects: proxyGroupObjects(plan).map(objectPath),
    schemaVersion: SCHEMA_VERSION,
  });
}

/** Mints, for each ordinal that needs one, a single-use key; deletes stale devices of re-issues first. */
async function keysFor(
  rt: HARuntime,
  input: PGInputs,
  plan: ProxyGroupPlan,
  minted: { id: string; key: string }[],
  gone: Map<number, string>,
): Promise<Record<number, string | undefined>> {
  const keys: Record<number, string | undefined> = {};
  for (let i = 0; i < plan.replicas; i++) {
    const refs = replicaRefs(input.name, input.namespace, i);
    const [config, state] = await Promise.all([
      rt.kube.get(refs.configSecret),
      rt.kube.get(refs.stateSecret),
    ]);
    const sd = secretData(state);
    // A device deleted out of band leaves its id in the state Secret and the replica logged out.
    const deviceGone = sd.device_id ? !(await rt.tailscale.getDevice(sd.device_id)) : false;
    if (deviceGone) gone.set(i, sd.device_id!);
    const decision = decideAuthKey({
      configExists: !!config,
      configAuthKey: authKeyFromConfig(secretData(config)[CONFIG_KEY]),
      deviceId: sd.device_id || undefined,
      deviceGone,
      reissueAuthKey:
        state && "reissue_authkey" in ((state.data as object) ?? {}) ? sd.reissue_authkey : undefined,
    });
    if (decision.action === "keep") keys[i] = decision.authKey;
    if (decision.action !== "mint") continue;
    if (decision.deleteDeviceId) await rt.tailscale.deleteDevice(decision.deleteDeviceId);
    const key = await mintAuthKey(
      rt.tailscale,
      proxyGroupKeyHolder(input),
      plan.hostnames[i]!,
      plan.tags,
      rt.remainingMs(),
    );
    minted.push(key);
    keys[i] = key.key;
  }
  return keys;
}

/**
 * Whether the ProxyGroup's StatefulSet exists (a retried create, an update) with the selector an earlier
 * version gave it, which it keeps (plan/ha/proxygroup.ts `legacyPodLabels`).
 */
async function hasLegacySelector(rt: HARuntime, input: PGInputs): Promise<boolean> {
  const sts = await rt.kube.get(proxyGroupStatefulSetRef(input));
  const spec = sts?.spec as { selector?: { matchLabels?: Record<string, string> } } | undefined;
  return writtenBeforeRename(spec?.selector?.matchLabels);
}

/**
 * Applies every object; config Secrets with the given keys, keeping what the ingresses advertise.
 * `formerOwnerId` is the ProxyGroup's previous `ownerId` when an update changes it (in place: the
 * objects are relabelled).
 */
async function applyAll(
  rt: HARuntime,
  input: PGInputs,
  plan: ProxyGroupPlan,
  keys: Record<number, string | undefined>,
  controlUrl: string | undefined,
  formerOwnerId?: string,
): Promise<{ templateChanged: boolean }> {
  const own = { ownerId: input.ownerId, formerOwnerId };
  for (let i = 0; i < plan.replicas; i++)
    await writeConfigSecret(rt.kube, input, plan, i, keys[i], controlUrl);
  for (const s of plan.stateSecrets) await rt.kube.apply(s, own);
  await rt.kube.apply(plan.serviceAccount, own);
  await rt.kube.apply(plan.role, own);
  await rt.kube.apply(plan.roleBinding, own);
  // Labels and annotations only: the data keys belong to the HA ingresses and services.
  await rt.kube.apply(plan.configMap, { ...own, sharedFields: CONFIG_MAP_SHARED_FIELDS });
  // Before the replicas (re)start: replica 0 reads the account key at start and cannot create the Secret.
  if (plan.acmeAccountSecret) await joinAcmeAccount(rt.kube, input.namespace, input.ownerId, "joining");
  // Before the StatefulSet, so a group growing to 2 replicas is covered once the new one runs; one shrinking
  // to 1 loses it (a budget over one replica would block drains, plan/ha/proxygroup.ts).
  if (plan.podDisruptionBudget) await rt.kube.apply(plan.podDisruptionBudget, own);
  else await rt.kube.delete(podDisruptionBudgetRef(input));
  const sts = await rt.kube.apply(plan.statefulSet, own);
  // Its StatefulSet exists now, so no leave counts it gone; lists it again if one did in the meantime.
  if (plan.acmeAccountSecret) await joinAcmeAccount(rt.kube, input.namespace, input.ownerId, "running");
  if (plan.metricsService) await rt.kube.apply(plan.metricsService, own);
  if (plan.serviceMonitor) await rt.kube.apply(plan.serviceMonitor, own);
  return { templateChanged: sts.action !== "unchanged" };
}

/** Drops the spent keys from the configs (the devices are registered) and revokes them. */
async function retireKeys(
  rt: HARuntime,
  input: PGInputs,
  plan: ProxyGroupPlan,
  minted: { id: string; key: string }[],
  controlUrl: string | undefined,
): Promise<void> {
  for (let i = 0; i < plan.replicas; i++)
    await writeConfigSecret(rt.kube, input, plan, i, undefined, controlUrl);
  // Ours, and any a killed earlier run minted for this ProxyGroup: every replica is registered.
  await revokeMintedKeys(rt.tailscale, proxyGroupKeyHolder(input));
  minted.length = 0;
}

/**
 * New replicas serve what the group serves: every service some other replica advertises is added to
 * them, layer-7 at once (the certificate Secret already exists), layer-3 only once the replica reports
 * the DNAT rules for it (`replicaReportsRules`).
 */
async function advertiseOnNewReplicas(rt: HARuntime, input: PGInputs, newOrdinals: number[]): Promise<void> {
  if (newOrdinals.length === 0) return;
  const pg = { name: input.name, namespace: input.namespace };
  const replicas = await readReplicas(rt.kube, pg);
  const olds = replicas.filter((r) => !newOrdinals.includes(r.ordinal));
  const served = new Set<string>();
  for (const r of olds) {
    const config = secretData(await rt.kube.get(r.configRef))[CONFIG_KEY];
    for (const s of advertisedServicesFromConfig(config)) served.add(s);
  }
  if (served.size === 0) return;
  const cm = await rt.kube.get(configMapRef(pg));
  const l3 = new Set(ingressConfigServiceNames(configMapText(cm, INGRESS_CONFIG_KEY)));
  const l3Configs = JSON.parse(configMapText(cm, INGRESS_CONFIG_KEY) || "{}") as Record<string, never>;
  const fresh = replicas.filter((r) => newOrdinals.includes(r.ordinal));
  await Promise.all(
    fresh.map(async (r: ReplicaFacts) => {
      for (const svc of served) {
        if (l3.has(svc)) {
          await rt.kube.waitFor(
            r.stateRef,
            (obj) => replicaReportsRules(secretData(obj)[INGRESS_CONFIG_KEY], r.podIPs, svc, l3Configs[svc]),
            {
              timeoutMs: rt.remainingMs(),
              description: `new ProxyGroup replica ${r.stateRef.name} to install its DNAT rules for ${svc}`,
            },
          );
        }
        await setAdvertised(rt.kube, r.configRef, svc, true);
      }
      for (const svc of served) await waitAdvertised(rt, r, svc, true);
    }),
  );
}

/** Entries of the shared ConfigMap whose Tailscale Service still lists the resource that wrote them. */
async function liveEntries(rt: HARuntime, input: PGInputs): Promise<string[]> {
  const cm = await rt.kube.get(configMapRef(input));
  if (!cm) return [];
  const names = new Set([
    ...serveConfigServiceNames(configMapText(cm, PROXY_GROUP_SERVE_CONFIG_KEY)),
    ...ingressConfigServiceNames(configMapText(cm, INGRESS_CONFIG_KEY)),
  ]);
  const owners = serviceOwnersOf(cm);
  const live: string[] = [];
  for (const name of [...names].sort()) {
    const svc = await rt.tailscale.getService(name);
    const parsed = parseOwners(svc?.annotations);
    const owner = owners[name];
    if (svc && parsed.kind === "owners" && (!owner || parsed.owners.some((o) => o.id === owner))) {
      live.push(owner ? `${name} (Pulumi resource "${owner}")` : name);
    }
  }
  return live;
}

/** What to do when a ProxyGroup's namespace would refuse its Pods (provider/plan/podSecurity.ts). */
const PROXY_GROUP_POD_SECURITY_FIX =
  "ProxyGroup replicas need the privileged level (kernel networking: a privileged sysctler init container and " +
  "tailscale container). Set `namespace` to a namespace labelled pod-security.kubernetes.io/enforce=privileged " +
  "(e.g. a dedicated one for the proxies), or, if that is acceptable for this namespace, label it so " +
  "(kubectl label namespace <namespace> pod-security.kubernetes.io/enforce=privileged --overwrite).";

export const proxyGroup: Lifecycle = {
  async check(olds, news) {
    return checkAgainst(PROXY_GROUP, olds, news);
  },

  async diff(_id, olds, news) {
    return diffResult(diffProxyGroup(olds, news));
  },

  async create(input: PGInputs) {
    const rt = runtimeFor(input, "create");
    const controlUrl = controlUrlFor(rt.tailscale);
    const labels = await requireNamespace(rt.kube, input.namespace, "namespace");
    const ctx = {
      authKeys: {},
      controlUrl,
      existingAdvertiseServices: {},
      legacyPodLabels: await hasLegacySelector(rt, input),
    };
    let skeleton = planProxyGroup(input, ctx);
    requireAdmittedProxyPod({
      namespace: input.namespace,
      labels,
      statefulSet: skeleton.statefulSet,
      what: `ProxyGroup StatefulSet ${input.namespace}/${input.name}`,
      fix: PROXY_GROUP_POD_SECURITY_FIX,
    });
    await requireServiceMonitorCrd(rt.kube, skeleton, `ProxyGroup ${input.namespace}/${input.name}`);
    // A retried create adopts the devices a failed one registered.
    await refuseTakenReplicaNames(rt, skeleton.hostnames, await ownDeviceIds(rt.kube, input));
    const id = `${input.namespace}/${input.name}`;
    const minted: { id: string; key: string }[] = [];
    let wrote = false;
    try {
      const gone = new Map<number, string>();
      const keys = await keysFor(rt, input, skeleton, minted, gone);
      wrote = true;
      // First, as the operator: the replicas' configs list the node ports the Services got.
      const staticEndpoints = await applyStaticEndpoints(rt.kube, input, skeleton.replicas, {
        ownerId: input.ownerId,
      });
      if (staticEndpoints) skeleton = planProxyGroup(input, { ...ctx, staticEndpoints });
      await applyAll(rt, input, skeleton, keys, controlUrl);
      await Promise.all(skeleton.hostnames.map((_, i) => waitForReplicaDevice(rt, input, i, gone)));
      await retireKeys(rt, input, skeleton, minted, controlUrl);
      return { id, outs: outputsOf(input, skeleton, await devicesOf(rt.kube, input, skeleton.replicas)) };
    } catch (err) {
      if (wrote || minted.length > 0) {
        try {
          const cleanup = { ...rt, remainingMs: () => 60_000 };
          await runTeardown(
            cleanup,
            proxyGroupTeardown(input, input.ownerId, input.proxyClass, skeleton.replicas),
          );
          await leaveAcmeAccount(rt.kube, input.namespace, input);
          // Ours, and any a killed earlier create minted: the replicas are gone.
          await revokeMintedKeys(rt.tailscale, proxyGroupKeyHolder(input));
        } catch (cleanupErr) {
          // Recorded by Pulumi as a resource that failed to initialise (no devices): `destroy` removes it,
          // and the next `up` updates it, which mints for the replicas without a device and waits for them.
          throw partialCreateError(
            `ProxyGroup create failed: ${(err as Error).message}. Removing what it made failed too ` +
              `(${(cleanupErr as Error).message}); objects labelled ${LABEL_PARENT_NAME}=${input.name} ` +
              `in namespace ${input.namespace} remain: the next pulumi up finishes the create, pulumi destroy removes them.`,
            id,
            outputsOf(input, skeleton, []),
            input as { __provider?: string },
          );
        }
      }
      throw err;
    }
  },

  async update(_id, olds, news: PGInputs) {
    const rt = runtimeFor(news, "update");
    const controlUrl = controlUrlFor(rt.tailscale);
    const oldReplicas = effectiveReplicas(olds);
    const ctx = {
      authKeys: {},
      controlUrl,
      existingAdvertiseServices: {},
      legacyPodLabels: await hasLegacySelector(rt, news),
    };
    let plan = planProxyGroup(news, ctx);
    // The namespace may have been relabelled, or the ProxyClass changed, since the create.
    requireAdmittedProxyPod({
      namespace: news.namespace,
      labels: await requireNamespace(rt.kube, news.namespace, "namespace"),
      statefulSet: plan.statefulSet,
      what: `ProxyGroup StatefulSet ${news.namespace}/${news.name}`,
      fix: PROXY_GROUP_POD_SECURITY_FIX,
    });
    await requireServiceMonitorCrd(rt.kube, plan, `ProxyGroup ${news.namespace}/${news.name}`);
    const scale = planProxyGroupScale(oldReplicas, plan.replicas);
    await refuseTakenReplicaNames(
      rt,
      scale.create.map((i) => plan.hostnames[i]!),
      await ownDeviceIds(rt.kube, news),
    );
    const minted: { id: string; key: string }[] = [];
    try {
      const gone = new Map<number, string>();
      const keys = await keysFor(rt, news, plan, minted, gone);
      const staticEndpoints = await applyStaticEndpoints(rt.kube, news, plan.replicas, {
        ownerId: news.ownerId,
        formerOwnerId: olds.ownerId,
      });
      if (staticEndpoints) plan = planProxyGroup(news, { ...ctx, staticEndpoints });
      await applyAll(rt, news, plan, keys, controlUrl, olds.ownerId);
      await removeUnplannedMetrics(rt.kube, news.namespace, plan.name, olds.proxyClass, plan);
      await waitForRollout(rt, news, plan.replicas);
      await Promise.all(plan.hostnames.map((_, i) => waitForReplicaDevice(rt, news, i, gone)));
      await retireKeys(rt, news, plan, minted, controlUrl);
    } catch (err) {
      for (const k of minted) await rt.tailscale.deleteKey(k.id).catch(() => false);
      throw err;
    }
    await advertiseOnNewReplicas(rt, news, scale.create);
    // Scale-down: the StatefulSet already shrank (rollout above); now the removed replicas' devices and Secrets.
    for (const i of scale.delete) {
      const refs = replicaRefs(news.name, news.namespace, i);
      await rt.kube.waitForDeletion(coreRef("Pod", news.namespace, refs.pod), rt.remainingMs());
      const deviceId = replicaDeviceId(secretData(await rt.kube.get(refs.stateSecret)));
      if (deviceId) await rt.tailscale.deleteDevice(deviceId);
      await rt.kube.delete(refs.stateSecret);
      await rt.kube.delete(refs.configSecret);
    }
    // Once no replica advertises them (the rollout above): the Services of removed replicas, or all of
    // them when ProxyClass `staticEndpoints` was removed.
    // (A delete removes every replica's, whatever the state records: proxyGroupTeardown.)
    if (olds.proxyClass?.staticEndpoints || news.proxyClass?.staticEndpoints) {
      const planned = new Set(plan.nodePortServices.map((svc) => svc.metadata.name));
      for (const ref of nodePortServiceRefs(news, Math.max(oldReplicas, plan.replicas))) {
        if (!planned.has(ref.name)) await rt.kube.delete(ref);
      }
    }
    // Once every replica runs without it (the rollout above): sharing turned off, or the group's identity
    // changed in place (the new one joined in applyAll).
    if (!news.shareAcmeAccount || olds.ownerId !== news.ownerId)
      await leaveAcmeAccount(rt.kube, news.namespace, { ownerId: olds.ownerId, name: news.name });
    return { outs: outputsOf(news, plan, await devicesOf(rt.kube, news, plan.replicas)) };
  },

  async read(id, props) {
    if (!props.name || !props.namespace) return { id: "" };
    const kube = kubeFor(props.credentials);
    const sts: KubeObject | undefined = await kube.get(stsRef(props));
    if (!sts) return { id: "" };
    const replicas = ((sts.spec as { replicas?: number } | undefined)?.replicas ??
      effectiveReplicas(props)) as number;
    // A replica whose device was deleted out of band is reported without one, so the next diff asks
    // for an update that logs it in again (diffProxyGroup).
    const tailscale = tailscaleClientFor(props.credentials);
    const devices: ProxyGroupDeviceOutput[] = [];
    for (const d of await devicesOf(kube, props, replicas)) {
      if (await tailscale.getDevice(d.deviceId)) devices.push(d);
    }
    return {
      id,
      props: cleanOutputs({ ...props, replicas, devices, schemaVersion: SCHEMA_VERSION }),
      inputs: refreshedInputs(PROXY_GROUP, props),
    };
  },

  async delete(_id, props) {
    if (!props.name || !props.namespace) return;
    const rt = runtimeFor(props, "delete");
    const live = await liveEntries(rt, props);
    if (live.length > 0) {
      throw new Error(
        `ProxyGroup ${props.namespace}/${props.name} still serves ${live.join(", ")}: delete those TailnetIngress/` +
          "TailnetService resources first (Pulumi does so when they take the ProxyGroup resource as proxyGroup; " +
          "with `pulumi destroy --target`, include them).",
      );
    }
    await runTeardown(
      rt,
      proxyGroupTeardown(props, props.ownerId, props.proxyClass, effectiveReplicas(props)),
    );
    // Whatever the recorded inputs say: an update that failed after joining records the old ones.
    await leaveAcmeAccount(rt.kube, props.namespace, props);
    // Keys of runs killed between a mint and its revocation, for any replica (a killed scale-up minted for
    // replicas the state does not list): the replicas are gone, none is needed.
    await revokeMintedKeys(rt.tailscale, proxyGroupKeyHolder(props));
  },
};
