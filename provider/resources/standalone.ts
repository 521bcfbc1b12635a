/**
 * The lifecycle of a standalone proxy (one replica, its own tailnet device), shared by TailnetService
 * (layer 3) and TailnetIngress (layer 7). The order of steps is the point of this file:
 *
 * create: read cluster facts and refuse bad input -> refuse a hostname control would suffix (`-1`) ->
 *   mint a single-use key (fails early on tags the credentials do not own) -> apply objects -> wait,
 *   by watch, for the device -> drop the key from the config and revoke it. A failure after the first
 *   write removes what was made before the error is reported.
 * delete: StatefulSet (waiting for its Pod to go) -> device -> key -> Secret, Service, RBAC.
 */
import { kubeFor, tailscaleClientFor } from "../credentials";
import type { Kube, ObjectRef } from "../kube";
import type { BackendServiceFacts } from "../plan/backends";
import type { CustomTimeoutsInput } from "../plan/duration";
import { PlanError } from "../plan/errors";
import { INGRESS_CONFIG_KEY, replicaReportsRules } from "../plan/ha";
import { type CredentialsInput, type ProxyClassInput, SCHEMA_VERSION } from "../plan/inputs";
import { writtenBeforeRename } from "../plan/labels";
import { recordedMetricsRefs } from "../plan/metrics";
import type { ProxyNames } from "../plan/names";
import { BACKENDS, BACKENDS_READ, backendRecord, FORWARDING_READ } from "../plan/refresh";
import { type PlanContext, STANDALONE_DNAT_CONFIG_KEY, type StandaloneProxyPlan } from "../plan/standalone";
import type { TailscaleClient } from "../tailscale";
import {
  controlUrlFor,
  type KeyHolder,
  mintAuthKey,
  refuseTakenHostnames,
  revokeMintedKeys,
  waitForDevice,
} from "./devices";
import {
  backendsAsRead,
  coreRef,
  deviceStateOf,
  objectPath,
  type ProxyDeviceState,
  podIPsOf,
  requireAdmittedProxyPod,
  requireNamespace,
  secretData,
} from "./kubeFacts";
import { cleanOutputs, deadline, partialCreateError, type Steps } from "./lifecycle";
import { removeUnplannedMetrics, requireServiceMonitorCrd } from "./metrics";

/** What differs between the layer-3 and layer-7 standalone proxies. */
export interface StandaloneSpec<I> {
  kind: "TailnetService" | "TailnetIngress";
  /** Reads the backend Service(s); errors name the missing Service and the input to fix. */
  readBackends(kube: Kube, input: I): Promise<Map<string, BackendServiceFacts>>;
  /** The pure plan for these inputs and facts. */
  plan(input: I, backends: Map<string, BackendServiceFacts>, ctx: PlanContext): StandaloneProxyPlan;
  /** Kind-specific outputs from the device state and the state Secret. */
  outputs(
    plan: StandaloneProxyPlan,
    device: ProxyDeviceState,
    data: Record<string, string>,
    previous?: any,
  ): object;
  /**
   * What to do when the namespace's enforced Pod Security level would refuse the proxy's Pod (the level
   * this kind needs, and how to get there).
   */
  podSecurityFix: string;
  /** Waits after the device is up (layer 7: the certificate, when asked to). */
  afterDeviceUp?(ctx: StandaloneRuntime<I>, plan: StandaloneProxyPlan): Promise<void>;
}

/** What a running create/update step has at hand. */
export interface StandaloneRuntime<I> {
  input: I;
  kube: Kube;
  tailscale: TailscaleClient;
  remainingMs: () => number;
}

/** What every standalone proxy's inputs carry. */
export interface StandaloneInputBase {
  ownerId: string;
  credentials?: CredentialsInput;
  customTimeouts?: CustomTimeoutsInput;
}

/** Outputs every standalone proxy records; `names` is how later steps find the objects. */
export interface StandaloneOutputs {
  hostname: string;
  fqdn: string;
  tailnetIPs: string[];
  deviceId: string;
  namespace: string;
  names: ProxyNames;
  kubernetesObjects: string[];
  schemaVersion: number;
  [key: string]: unknown;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * The refs of a recorded proxy, in delete order (StatefulSet first, ServiceAccount last); its metrics
 * objects as the recorded ProxyClass asked for them.
 */
function deleteOrder(namespace: string, names: ProxyNames, pc: ProxyClassInput | undefined): ObjectRef[] {
  return [
    { apiVersion: "apps/v1", kind: "StatefulSet", namespace, name: names.statefulSet },
    coreRef("Secret", namespace, names.secret),
    coreRef("Service", namespace, names.headlessService),
    ...recordedMetricsRefs(namespace, names.statefulSet, pc),
    { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", namespace, name: names.roleBinding },
    { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", namespace, name: names.role },
    coreRef("ServiceAccount", namespace, names.serviceAccount),
  ];
}

/** Waits until the standalone proxy of `plan` has registered its device. */
function waitForProxyDevice(
  kube: Kube,
  tailscale: TailscaleClient,
  plan: StandaloneProxyPlan,
  timeoutMs: number,
) {
  return waitForDevice(kube, tailscale, coreRef("Secret", plan.namespace, plan.names.secret), {
    who: `proxy Pod ${plan.namespace}/${plan.names.pod}`,
    fix:
      "If its device was deleted from the tailnet, run `pulumi refresh` then `pulumi up` to register a new one; " +
      "otherwise run `pulumi up` again to mint a new key, and if that fails too, check the tailnet policy's " +
      "tagOwners for the proxy's tags.",
    timeoutMs,
  });
}

/**
 * Waits until the running proxy Pod has installed the DNAT rules of `dnat`. containerboot's ingress
 * proxy, started once the device is up, reads the config from the mounted Secret and again on every
 * change of the mount, which the kubelet makes at its next sync of the Pod (up to about 90 s after the
 * write); it records what it applied, with the Pod's IPs, under `ingress-config.json` in the state
 * Secret (`tailscale/tailscale@de9ec7ee cmd/containerboot/ingressservices.go` run, sync,
 * recordStatus; main.go:927-980). A status with other Pod IPs is an earlier Pod's.
 */
export async function waitForDnatRules(
  kube: Kube,
  plan: StandaloneProxyPlan,
  dnat: NonNullable<StandaloneProxyPlan["dnatConfig"]>,
  remainingMs: () => number,
): Promise<void> {
  const who = `proxy Pod ${plan.namespace}/${plan.names.pod}`;
  // Listed and watched, not read: the deployer may list and watch Pods (deploy/deployer-rbac.yaml).
  const pod = await kube.waitFor(
    coreRef("Pod", plan.namespace, plan.names.pod),
    (p) => !!p && !p.metadata.deletionTimestamp && podIPsOf(p).length > 0,
    { timeoutMs: remainingMs(), description: `${who} to run with its Pod IPs` },
  );
  const podIPs = podIPsOf(pod);
  const rules = [dnat.entry.IPv4Mapping, dnat.entry.IPv6Mapping]
    .filter((m) => m !== undefined)
    .map((m) => `${m.TailscaleServiceIP} → ${m.ClusterIP}`)
    .join(", ");
  await kube.waitFor(
    coreRef("Secret", plan.namespace, plan.names.secret),
    (obj) => replicaReportsRules(secretData(obj)[INGRESS_CONFIG_KEY], podIPs, dnat.name, dnat.entry),
    {
      timeoutMs: remainingMs(),
      description:
        `${who} to install its DNAT rule ${rules} (containerboot reads ${STANDALONE_DNAT_CONFIG_KEY} from its ` +
        `mounted Secret at the kubelet's next sync of the Pod and reports the rules under ${INGRESS_CONFIG_KEY} of ` +
        "that Secret; its logs say why it did not)",
    },
  );
}

/** Removes a proxy's objects, device and key; everything already gone counts as done. */
export async function teardownStandalone(
  kube: Kube,
  tailscale: TailscaleClient,
  namespace: string,
  names: ProxyNames,
  known: {
    deviceId?: string;
    authKeyId?: string;
    owner?: KeyHolder;
    /** The ProxyClass the objects were written with: which metrics objects to delete. */
    proxyClass?: ProxyClassInput;
  },
  timeoutMs: number,
): Promise<void> {
  const secret = await kube.get(coreRef("Secret", namespace, names.secret));
  const deviceId = secretData(secret).device_id || known.deviceId;
  const [sts, ...rest] = deleteOrder(namespace, names, known.proxyClass);
  // Foreground: the StatefulSet disappears only after its Pod, so no proxy is left running (and
  // re-registering) once the device is deleted.
  if (await kube.delete(sts, { propagationPolicy: "Foreground" })) await kube.waitForDeletion(sts, timeoutMs);
  if (deviceId) await tailscale.deleteDevice(deviceId);
  // The key that state written by older versions records, and every key minted for this proxy: ours, and
  // those of runs killed between their mint and its revocation. The Pod is gone, none is needed.
  if (known.authKeyId) await tailscale.deleteKey(known.authKeyId);
  if (known.owner) await revokeMintedKeys(tailscale, known.owner);
  // The state Secret (which names the device) goes only after the device.
  for (const ref of rest) await kube.delete(ref);
}

function baseOutputs<I extends StandaloneInputBase>(
  spec: StandaloneSpec<I>,
  input: I,
  plan: StandaloneProxyPlan,
  device: ProxyDeviceState,
  data: Record<string, string>,
  backends: ReadonlyMap<string, BackendServiceFacts>,
  previous?: any,
): StandaloneOutputs {
  return cleanOutputs({
    ...input,
    [BACKENDS]: backendRecord(backends.values()),
    hostname: plan.hostname,
    fqdn: device.fqdn,
    tailnetIPs: device.tailnetIPs,
    deviceId: device.deviceId,
    namespace: plan.namespace,
    names: plan.names,
    kubernetesObjects: plan.objects.map(objectPath),
    ...spec.outputs(plan, device, data, previous),
    schemaVersion: SCHEMA_VERSION,
  }) as unknown as StandaloneOutputs;
}

/**
 * What a create that failed half-way records: enough for `delete` to find everything (`names`,
 * `namespace`, `ownerId`, `hostname`) and no device, which tells `update` to finish the create.
 */
function partialOutputs<I extends StandaloneInputBase>(input: I, plan: StandaloneProxyPlan): object {
  return {
    ...input,
    hostname: plan.hostname,
    namespace: plan.namespace,
    names: plan.names,
    kubernetesObjects: plan.objects.map(objectPath),
    deviceId: null,
    schemaVersion: SCHEMA_VERSION,
  };
}

/** `create` of a standalone proxy. */
export async function createStandalone<I extends StandaloneInputBase>(
  spec: StandaloneSpec<I>,
  input: I,
): Promise<{ id: string; outs: StandaloneOutputs }> {
  const remainingMs = deadline(input, "create");
  const kube = kubeFor(input.credentials);
  const tailscale = tailscaleClientFor(input.credentials);
  const controlUrl = controlUrlFor(tailscale);

  // Everything that can refuse the input runs before the first write.
  const backends = await spec.readBackends(kube, input);
  let plan = spec.plan(input, backends, { controlUrl });
  const labels = await requireNamespace(kube, plan.namespace, "namespace");
  requireAdmittedProxyPod({
    namespace: plan.namespace,
    labels,
    statefulSet: plan.statefulSet,
    what: `${spec.kind} proxy StatefulSet ${plan.namespace}/${plan.names.statefulSet}`,
    fix: spec.podSecurityFix,
  });
  await requireServiceMonitorCrd(kube, plan, `${spec.kind} ${plan.namespace}/${plan.names.statefulSet}`);
  const secretRef = coreRef("Secret", plan.namespace, plan.names.secret);
  const existing = await kube.get(secretRef);
  const leftOver = secretData(existing).device_id;
  // A retried create adopts the device a failed one registered, if it still exists.
  const adoptedDevice = leftOver ? await tailscale.getDevice(leftOver) : undefined;
  // What is planned from an adopted device's addresses (a dual-stack backend's DNAT config) stays.
  const adoptedIPs = adoptedDevice ? deviceStateOf(secretData(existing))?.tailnetIPs : undefined;
  if (!adoptedDevice) {
    await refuseTakenHostnames(tailscale, [plan.hostname], new Set(), {
      what: "a new proxy",
      fix: "choose another hostname",
    });
  }
  const id = `${plan.namespace}/${plan.names.statefulSet}`;
  const owner: KeyHolder = { ownerId: input.ownerId, proxy: plan.hostname };

  let authKey: { id: string; key: string } | undefined;
  let wrote = false;
  try {
    if (existing && !adoptedDevice && leftOver) {
      // State of a device that no longer exists would make the proxy log in as a deleted node.
      await kube.delete(secretRef);
    }
    if (!adoptedDevice) {
      authKey = await mintAuthKey(tailscale, owner, plan.hostname, plan.authKeyRequest.tags, remainingMs());
      plan = spec.plan(input, backends, { controlUrl, authKey: authKey.key });
    } else {
      plan = spec.plan(input, backends, { controlUrl, deviceIPs: adoptedIPs });
    }
    for (const obj of plan.objects) {
      wrote = true;
      await kube.apply(obj, { ownerId: input.ownerId });
    }
    const { device } = await waitForProxyDevice(kube, tailscale, plan, remainingMs());
    // The key is spent by the login; drop it from the config and revoke it, so no valid key is left.
    // What needs the device's addresses is written with it.
    plan = spec.plan(input, backends, { controlUrl, deviceIPs: device.tailnetIPs });
    await kube.apply(plan.secret, { ownerId: input.ownerId });
    // Ours, and any an earlier run minted and was killed before revoking: the device is registered.
    await revokeMintedKeys(tailscale, owner);
    authKey = undefined;
    await spec.afterDeviceUp?.({ input, kube, tailscale, remainingMs }, plan);
    const data = secretData(await kube.get(secretRef));
    return { id, outs: baseOutputs(spec, input, plan, device, data, backends) };
  } catch (err) {
    if (wrote || authKey) {
      try {
        await teardownStandalone(
          kube,
          tailscale,
          plan.namespace,
          plan.names,
          { owner, proxyClass: (input as { proxyClass?: ProxyClassInput }).proxyClass },
          60_000,
        );
      } catch (cleanupErr) {
        // Recorded by Pulumi as a resource that failed to initialise: `destroy` can then remove it, and
        // the next `up` updates it, which finishes the create (updateStandalone).
        throw partialCreateError(
          `${spec.kind} create failed: ${(err as Error).message}. Removing what it made failed too ` +
            `(${(cleanupErr as Error).message}); objects labelled tailnet.pulumi.com/owner-id=${input.ownerId} ` +
            `in namespace ${plan.namespace} remain: the next pulumi up finishes the create, pulumi destroy removes them.`,
          id,
          partialOutputs(input, plan),
          input as { __provider?: string },
        );
      }
    }
    throw err instanceof PlanError ? new Error(err.message) : err;
  }
}

/**
 * Whether the proxy's StatefulSet has the Pod labels an earlier version gave it, which it keeps
 * (plan/standalone.ts `legacyPodLabels`).
 */
async function hasLegacyPodLabels(kube: Kube, olds: StandaloneOutputs): Promise<boolean> {
  if (!olds.names?.statefulSet) return false;
  const sts = await kube.get({
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    namespace: olds.namespace,
    name: olds.names.statefulSet,
  });
  const spec = sts?.spec as { template?: { metadata?: { labels?: Record<string, string> } } } | undefined;
  return writtenBeforeRename(spec?.template?.metadata?.labels);
}

/** `update` in place: re-plan with current facts, apply what changed, wait for a rollout. */
export async function updateStandalone<I extends StandaloneInputBase>(
  spec: StandaloneSpec<I>,
  id: string,
  olds: StandaloneOutputs,
  news: I,
): Promise<{ outs: StandaloneOutputs }> {
  // A create that failed half-way (partialOutputs): finishing it is a create, which adopts what exists.
  if (!olds.deviceId) return { outs: (await createStandalone(spec, news)).outs };
  const remainingMs = deadline(news, "update");
  const kube = kubeFor(news.credentials);
  const tailscale = tailscaleClientFor(news.credentials);
  const backends = await spec.readBackends(kube, news);
  const controlUrl = controlUrlFor(tailscale);
  const legacyPodLabels = await hasLegacyPodLabels(kube, olds);
  const first = spec.plan(news, backends, { controlUrl, legacyPodLabels });
  const secretRef = coreRef("Secret", first.namespace, first.names.secret);
  const planned = deviceStateOf(secretData(await kube.get(secretRef)))?.tailnetIPs;
  let plan = spec.plan(news, backends, { controlUrl, deviceIPs: planned, legacyPodLabels });
  if (plan.namespace !== olds.namespace || plan.names.statefulSet !== olds.names?.statefulSet) {
    throw new Error(
      `${spec.kind} ${id}: the update would move the proxy to ${plan.namespace}/${plan.names.statefulSet}; ` +
        "this needs a replacement, which pulumi-tailnet's diff should have asked for. Please report this.",
    );
  }
  // The namespace may have been relabelled, or the ProxyClass changed, since the create.
  requireAdmittedProxyPod({
    namespace: plan.namespace,
    labels: await requireNamespace(kube, plan.namespace, "namespace"),
    statefulSet: plan.statefulSet,
    what: `${spec.kind} proxy StatefulSet ${plan.namespace}/${plan.names.statefulSet}`,
    fix: spec.podSecurityFix,
  });
  await requireServiceMonitorCrd(kube, plan, `${spec.kind} ${id}`);
  for (const obj of plan.objects) await kube.apply(obj, { ownerId: news.ownerId });
  await removeUnplannedMetrics(
    kube,
    plan.namespace,
    plan.names.statefulSet,
    (olds as { proxyClass?: ProxyClassInput }).proxyClass,
    plan,
  );
  // Waited for whether or not this update changed the template: an earlier one killed after writing it
  // left the rollout running, and its repair (this update, the StatefulSet now unchanged) must not
  // report the proxy updated before its new Pod is ready. A rolled-out StatefulSet answers at once.
  const stsRef: ObjectRef = {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    namespace: plan.namespace,
    name: plan.names.statefulSet,
  };
  await kube.waitFor(
    stsRef,
    (sts) => {
      const status = (sts?.status ?? {}) as {
        observedGeneration?: number;
        updatedReplicas?: number;
        readyReplicas?: number;
      };
      return (
        !!sts &&
        (status.observedGeneration ?? 0) >= (sts.metadata.generation ?? 0) &&
        (status.updatedReplicas ?? 0) >= 1 &&
        (status.readyReplicas ?? 0) >= 1
      );
    },
    { timeoutMs: remainingMs(), description: `StatefulSet ${id} to roll out the new proxy Pod` },
  );
  const { device, data } = await waitForProxyDevice(kube, tailscale, plan, remainingMs());
  if (!sameList(device.tailnetIPs, planned ?? [])) {
    // The device registered anew (or got other addresses) during the update.
    plan = spec.plan(news, backends, { controlUrl, deviceIPs: device.tailnetIPs });
    await kube.apply(plan.secret, { ownerId: news.ownerId });
  }
  await spec.afterDeviceUp?.({ input: news, kube, tailscale, remainingMs }, plan);
  const fresh = secretData(await kube.get(secretRef));
  return { outs: baseOutputs(spec, news, plan, device, { ...data, ...fresh }, backends, olds) };
}

/**
 * The tailnet IPs the proxy forwards and those an update would make it forward, from the Services and
 * the device as they are, when they differ (plan/refresh.ts {@link FORWARDING_READ}); undefined when
 * they agree, for a kind whose outputs have no `tailnetIPs` of their own, or when no plan can be made.
 */
function forwardingRead<I extends StandaloneInputBase>(
  spec: StandaloneSpec<I>,
  input: I,
  facts: Map<string, BackendServiceFacts>,
  device: ProxyDeviceState,
  read: object,
): { forwarded: string[]; planned: string[] } | undefined {
  const forwarded = (read as { tailnetIPs?: string[] }).tailnetIPs;
  if (!forwarded) return undefined;
  let planned: string[] | undefined;
  try {
    const plan = spec.plan(input, facts, { deviceIPs: device.tailnetIPs });
    planned = (spec.outputs(plan, device, plan.secret.stringData ?? {}) as { tailnetIPs?: string[] })
      .tailnetIPs;
  } catch {
    return undefined; // the Services no longer make a proxy: the backend drift says so
  }
  return planned && !sameList(forwarded, planned) ? { forwarded, planned } : undefined;
}

/**
 * `read` (refresh): the device and objects as they are now. A device deleted out of band means the
 * resource is gone (empty id), not an error: the next `up` creates it again and adopts the objects.
 */
export async function readStandalone<I extends StandaloneInputBase>(
  spec: StandaloneSpec<I>,
  id: string,
  props: StandaloneOutputs & I,
): Promise<{ id: string; props?: object }> {
  const kube = kubeFor(props.credentials);
  const tailscale = tailscaleClientFor(props.credentials);
  const names = props.names;
  const data = secretData(await kube.get(coreRef("Secret", props.namespace, names.secret)));
  const deviceId = data.device_id || props.deviceId;
  const device = deviceId ? await tailscale.getDevice(deviceId) : undefined;
  const sts = await kube.get({
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    namespace: props.namespace,
    name: names.statefulSet,
  });
  if (!device || !sts) return { id: "" };
  const state = deviceStateOf(data);
  // The backend Services as they are now, so the Diff after this refresh reports a proxy written from
  // Services that have changed since (plan/refresh.ts); a Service that cannot be read is reported too.
  const { facts, records: backendsRead } = await backendsAsRead(
    () => spec.readBackends(kube, props),
    props as Record<string, unknown>,
  );
  const fqdn = (device.name ?? state?.fqdn ?? props.fqdn).replace(/\.$/, "");
  const live: ProxyDeviceState = {
    deviceId: device.nodeId ?? device.id,
    fqdn,
    tailnetIPs: device.addresses ?? [],
    httpsEndpoint: state?.httpsEndpoint,
  };
  // No plan at a refresh: the live StatefulSet says what the proxy does.
  const read = spec.outputs(
    {
      hostname: props.hostname,
      namespace: props.namespace,
      names,
      statefulSet: sts,
    } as unknown as StandaloneProxyPlan,
    live,
    data,
    props,
  );
  const forwarding = facts && forwardingRead(spec, props, facts, live, read);
  const outs = cleanOutputs({
    ...props,
    fqdn,
    hostname: fqdn.split(".")[0],
    tailnetIPs: device.addresses ?? state?.tailnetIPs ?? props.tailnetIPs,
    deviceId: device.nodeId ?? device.id,
    ...read,
    [BACKENDS_READ]: backendsRead,
    ...(forwarding ? { [FORWARDING_READ]: forwarding } : {}),
    schemaVersion: SCHEMA_VERSION,
  });
  return { id, props: outs };
}

/** `delete`: idempotent; everything already gone is success. */
export async function deleteStandalone(props: StandaloneOutputs & StandaloneInputBase): Promise<void> {
  if (!props.names || !props.namespace) return; // never created (e.g. a failed create left nothing)
  const kube = kubeFor(props.credentials);
  const tailscale = tailscaleClientFor(props.credentials);
  await teardownStandalone(
    kube,
    tailscale,
    props.namespace,
    props.names,
    {
      deviceId: props.deviceId,
      authKeyId: (props as { authKeyId?: string }).authKeyId,
      owner: props.ownerId && props.hostname ? { ownerId: props.ownerId, proxy: props.hostname } : undefined,
      proxyClass: (props as { proxyClass?: ProxyClassInput }).proxyClass,
    },
    deadline(props, "delete")(),
  );
}

/** The steps of a standalone proxy, for the kind `spec` describes. */
export function standaloneSteps<I extends StandaloneInputBase>(spec: StandaloneSpec<I>): Steps {
  return {
    create: (inputs) => createStandalone(spec, inputs),
    read: (id, props) => readStandalone(spec, id, props),
    update: (id, olds, news) => updateStandalone(spec, id, olds, news),
    delete: (_id, props) => deleteStandalone(props),
  };
}
