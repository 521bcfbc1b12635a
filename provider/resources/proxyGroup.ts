/**
 * ProxyGroup lifecycle: N proxy replicas (one StatefulSet) that advertise the Tailscale Services of the
 * HA TailnetIngress and TailnetService resources on it (operator-ha.md §1).
 *
 * create: refuse device names that are taken -> mint one single-use key per replica -> config and state
 *   Secrets, ServiceAccount, Role, RoleBinding, ConfigMap, StatefulSet -> wait, by watch, until every
 *   replica's device is registered -> drop the keys from the configs and revoke them. A failure after
 *   the first write removes what was made.
 * update: keys for new replicas only; config Secrets are rewritten with read-modify-write that keeps
 *   `AdvertiseServices` (the ingresses own it); after the rollout, new replicas advertise what the
 *   others do (layer 3 only once their DNAT rules are in place); removed replicas' devices and Secrets
 *   are deleted once their Pods are gone.
 * delete: refused while HA resources still have entries in the ConfigMap; then StatefulSet (waiting for
 *   the Pods), devices, Secrets, ConfigMap, RBAC.
 */
import { kubeFor, tailscaleClientFor } from "../credentials";
import type { Kube, KubeObject, ObjectRef } from "../kube";
import {
  advertisedServicesFromConfig,
  authKeyFromConfig,
  CONFIG_KEY,
  checkProxyGroup,
  decideAuthKey,
  diffProxyGroup,
  effectiveReplicas,
  firstLabel,
  INGRESS_CONFIG_KEY,
  ingressConfigServiceNames,
  type ProxyGroupPlan,
  parseOwners,
  planProxyGroup,
  planProxyGroupScale,
  proxyGroupNames,
  proxyGroupObjects,
  proxyGroupTeardown,
  renderReplicaConfig,
  replicaReportsRules,
  SERVE_CONFIG_KEY,
  serveConfigServiceNames,
} from "../plan/ha";
import { type ProxyGroupInput, SCHEMA_VERSION } from "../plan/inputs";
import { containsUnknown } from "../plan/validate";
import type { TailscaleClient } from "../tailscale";
import {
  configMapRef,
  configMapText,
  type HARuntime,
  type ReplicaFacts,
  readReplicas,
  replicaDeviceId,
  runTeardown,
  serviceOwnersOf,
  setAdvertised,
  sharedEdit,
  waitAdvertised,
} from "./ha/runtime";
import { coreRef, deviceStateOf, objectPath, requireNamespace, secretData } from "./kubeFacts";
import { cleanOutputs, deadline, type Lifecycle } from "./lifecycle";
import { plannedObjectsOf } from "./proxyLifecycle";
import { controlUrlFor } from "./standalone";

/** One replica's device, as output. */
export interface ProxyGroupDeviceOutput {
  ordinal: number;
  hostname: string;
  fqdn: string;
  tailnetIPs: string[];
  deviceId: string;
}

type PGInputs = ProxyGroupInput & { __provider?: string };

function runtimeFor(input: {
  credentials?: ProxyGroupInput["credentials"];
  timeoutSeconds?: number;
}): HARuntime {
  return {
    kube: kubeFor(input.credentials),
    tailscale: tailscaleClientFor(input.credentials),
    remainingMs: deadline(input.timeoutSeconds),
  };
}

function keyDescription(name: string): string {
  // The API allows at most 50 characters: letters, digits, spaces and hyphens.
  return `pulumi-tailnet ${name}`.replace(/[^A-Za-z0-9 -]/g, "-").slice(0, 50);
}

function stsRef(input: { name: string; namespace: string }): ObjectRef {
  return { apiVersion: "apps/v1", kind: "StatefulSet", namespace: input.namespace, name: input.name };
}

/**
 * Control names a second device with a taken name `<name>-1`. A replica hostname held by a device that
 * is not one of this ProxyGroup's own fails the `up` before anything is written, naming the device.
 */
async function refuseTakenHostnames(
  tailscale: TailscaleClient,
  hostnames: string[],
  ownDeviceIds: Set<string>,
): Promise<void> {
  if (hostnames.length === 0) return;
  const devices = await tailscale.listDevices();
  for (const h of hostnames) {
    const clash = devices.find(
      (d) =>
        !ownDeviceIds.has(d.nodeId ?? d.id) &&
        !ownDeviceIds.has(d.id) &&
        firstLabel(d.name ?? d.hostname ?? "").toLowerCase() === h.toLowerCase(),
    );
    if (clash) {
      throw new Error(
        `hostname "${h}" is already used by tailnet device ${clash.name ?? clash.hostname} (id ${clash.nodeId ?? clash.id}); ` +
          `the replica would be registered as "${h}-1". Remove that device from the tailnet, or set hostnamePrefix.`,
      );
    }
  }
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
  const ref = coreRef("Secret", input.namespace, desired.metadata!.name!);
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
          }),
        },
      } as never,
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
    });
    const labels = { ...(secret.metadata.labels ?? {}), ...(desired.metadata!.labels ?? {}) };
    const annotations = { ...(secret.metadata.annotations ?? {}), ...(desired.metadata!.annotations ?? {}) };
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
async function waitForDevice(rt: HARuntime, input: PGInputs, i: number): Promise<void> {
  const name = proxyGroupNames.stateSecret(input.name, i);
  await rt.kube.waitFor(
    coreRef("Secret", input.namespace, name),
    (obj) => {
      const data = secretData(obj);
      if (data.reissue_authkey) {
        throw new Error(
          `ProxyGroup replica ${input.namespace}/${name} could not log in to the tailnet with its auth key ` +
            "(rejected by the control server: expired, already used, or revoked). Run `pulumi up` again to mint a new key; " +
            "if it fails again, check the tailnet policy's tagOwners for the ProxyGroup's tags.",
        );
      }
      return deviceStateOf(data) !== undefined;
    },
    {
      timeoutMs: rt.remainingMs(),
      description: `ProxyGroup replica ${input.namespace}/${name} to register its tailnet device (state Secret keys device_id, device_fqdn, device_ips)`,
    },
  );
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
    const data = secretData(
      await kube.get(coreRef("Secret", input.namespace, proxyGroupNames.stateSecret(input.name, i))),
    );
    const d = deviceStateOf(data);
    if (!d) continue;
    out.push({
      ordinal: i,
      hostname: firstLabel(d.fqdn),
      fqdn: d.fqdn,
      tailnetIPs: d.tailnetIPs,
      deviceId: d.deviceId,
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
): Promise<Record<number, string | undefined>> {
  const keys: Record<number, string | undefined> = {};
  for (let i = 0; i < plan.replicas; i++) {
    const [config, state] = await Promise.all([
      rt.kube.get(coreRef("Secret", input.namespace, proxyGroupNames.configSecret(input.name, i))),
      rt.kube.get(coreRef("Secret", input.namespace, proxyGroupNames.stateSecret(input.name, i))),
    ]);
    const sd = secretData(state);
    const decision = decideAuthKey({
      configExists: !!config,
      configAuthKey: authKeyFromConfig(secretData(config)[CONFIG_KEY]),
      deviceId: sd.device_id || undefined,
      reissueAuthKey:
        state && "reissue_authkey" in ((state.data as object) ?? {}) ? sd.reissue_authkey : undefined,
    });
    if (decision.action === "keep") keys[i] = decision.authKey;
    if (decision.action !== "mint") continue;
    if (decision.deleteDeviceId) await rt.tailscale.deleteDevice(decision.deleteDeviceId);
    const key = await rt.tailscale.createAuthKey({
      tags: plan.tags,
      reusable: false,
      ephemeral: false,
      preauthorized: true,
      description: keyDescription(plan.hostnames[i]!),
      // Used within this step or never: a short life limits what a leaked key could do.
      expirySeconds: Math.ceil(rt.remainingMs() / 1000) + 300,
    });
    minted.push(key);
    keys[i] = key.key;
  }
  return keys;
}

/** Applies every object; config Secrets with the given keys, keeping what the ingresses advertise. */
async function applyAll(
  rt: HARuntime,
  input: PGInputs,
  plan: ProxyGroupPlan,
  keys: Record<number, string | undefined>,
  controlUrl: string | undefined,
): Promise<{ templateChanged: boolean }> {
  for (let i = 0; i < plan.replicas; i++)
    await writeConfigSecret(rt.kube, input, plan, i, keys[i], controlUrl);
  for (const s of plan.stateSecrets) await rt.kube.apply(s as never, { ownerId: input.ownerId });
  await rt.kube.apply(plan.serviceAccount as never, { ownerId: input.ownerId });
  await rt.kube.apply(plan.role as never, { ownerId: input.ownerId });
  await rt.kube.apply(plan.roleBinding as never, { ownerId: input.ownerId });
  // Labels and annotations only: the data keys belong to the HA ingresses and services.
  await rt.kube.apply(plan.configMap as never, { ownerId: input.ownerId });
  const sts = await rt.kube.apply(plan.statefulSet as never, { ownerId: input.ownerId });
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
  for (const k of minted) await rt.tailscale.deleteKey(k.id);
  minted.length = 0;
}

/**
 * New replicas serve what the group serves: every service some other replica advertises is added to
 * them, layer-7 at once (the certificate Secret already exists), layer-3 only once the replica reports
 * the DNAT rules for it (operator-ha.md §3.4).
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
    ...serveConfigServiceNames(configMapText(cm, SERVE_CONFIG_KEY)),
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

export const proxyGroup: Lifecycle = {
  async check(_olds, news) {
    const failures = checkProxyGroup(news);
    if (
      failures.length > 0 ||
      containsUnknown({ ...news, credentials: undefined, timeoutSeconds: undefined })
    ) {
      return { inputs: news, failures };
    }
    // What an `up` will write, object by object with a content fingerprint (no keys, no services yet:
    // those are only known at `up`), so a preview of a scale or ProxyClass change names the objects.
    const plan = planProxyGroup(news, { authKeys: {}, existingAdvertiseServices: {} });
    const plannedObjects = plannedObjectsOf({ objects: proxyGroupObjects(plan) });
    return { inputs: { ...news, plannedObjects }, failures };
  },

  async diff(_id, olds, news) {
    const d = diffProxyGroup(olds, news);
    return {
      changes: d.changes,
      replaces: d.replaces,
      deleteBeforeReplace: d.deleteBeforeReplace,
      detailedDiff: d.detailedDiff,
    };
  },

  async create(input: PGInputs) {
    const rt = runtimeFor(input);
    const controlUrl = controlUrlFor(rt.tailscale);
    await requireNamespace(rt.kube, input.namespace, "namespace");
    const skeleton = planProxyGroup(input, { authKeys: {}, controlUrl, existingAdvertiseServices: {} });
    // A retried create adopts the devices a failed one registered.
    const own = new Set<string>();
    for (const r of await readReplicas(rt.kube, input)) {
      const id = replicaDeviceId(r.state);
      if (id) own.add(id);
    }
    await refuseTakenHostnames(rt.tailscale, skeleton.hostnames, own);
    const id = `${input.namespace}/${input.name}`;
    const minted: { id: string; key: string }[] = [];
    let wrote = false;
    try {
      const keys = await keysFor(rt, input, skeleton, minted);
      wrote = true;
      await applyAll(rt, input, skeleton, keys, controlUrl);
      await Promise.all(skeleton.hostnames.map((_, i) => waitForDevice(rt, input, i)));
      await retireKeys(rt, input, skeleton, minted, controlUrl);
      return { id, outs: outputsOf(input, skeleton, await devicesOf(rt.kube, input, skeleton.replicas)) };
    } catch (err) {
      if (wrote || minted.length > 0) {
        try {
          const cleanup = { ...rt, remainingMs: () => 60_000 };
          await runTeardown(cleanup, proxyGroupTeardown(input, input.ownerId));
          for (const k of minted) await rt.tailscale.deleteKey(k.id);
        } catch (cleanupErr) {
          throw new Error(
            `ProxyGroup create failed: ${(err as Error).message}. Removing what it made failed too ` +
              `(${(cleanupErr as Error).message}); objects labelled tailscale.com/parent-resource=${input.name} ` +
              `in namespace ${input.namespace} may remain and will be adopted by the next pulumi up.`,
          );
        }
      }
      throw err;
    }
  },

  async update(id, olds, news: PGInputs) {
    const rt = runtimeFor(news);
    const controlUrl = controlUrlFor(rt.tailscale);
    const oldReplicas = effectiveReplicas(olds);
    const plan = planProxyGroup(news, { authKeys: {}, controlUrl, existingAdvertiseServices: {} });
    const scale = planProxyGroupScale(oldReplicas, plan.replicas);
    const own = new Set<string>();
    for (const r of await readReplicas(rt.kube, news)) {
      const deviceId = replicaDeviceId(r.state);
      if (deviceId) own.add(deviceId);
    }
    await refuseTakenHostnames(
      rt.tailscale,
      scale.create.map((i) => plan.hostnames[i]!),
      own,
    );
    const minted: { id: string; key: string }[] = [];
    try {
      const keys = await keysFor(rt, news, plan, minted);
      await applyAll(rt, news, plan, keys, controlUrl);
      await waitForRollout(rt, news, plan.replicas);
      await Promise.all(plan.hostnames.map((_, i) => waitForDevice(rt, news, i)));
      await retireKeys(rt, news, plan, minted, controlUrl);
    } catch (err) {
      for (const k of minted) await rt.tailscale.deleteKey(k.id).catch(() => false);
      throw err;
    }
    await advertiseOnNewReplicas(rt, news, scale.create);
    // Scale-down: the StatefulSet already shrank (rollout above); now the removed replicas' devices and Secrets.
    for (const i of scale.delete) {
      const pod = coreRef("Pod", news.namespace, proxyGroupNames.stateSecret(news.name, i));
      await rt.kube.waitForDeletion(pod, rt.remainingMs());
      const stateRef = coreRef("Secret", news.namespace, proxyGroupNames.stateSecret(news.name, i));
      const deviceId = replicaDeviceId(secretData(await rt.kube.get(stateRef)));
      if (deviceId) await rt.tailscale.deleteDevice(deviceId);
      await rt.kube.delete(stateRef);
      await rt.kube.delete(coreRef("Secret", news.namespace, proxyGroupNames.configSecret(news.name, i)));
    }
    void id;
    return { outs: outputsOf(news, plan, await devicesOf(rt.kube, news, plan.replicas)) };
  },

  async read(id, props) {
    if (!props.name || !props.namespace) return { id: "" };
    const kube = kubeFor(props.credentials);
    const sts: KubeObject | undefined = await kube.get(stsRef(props));
    if (!sts) return { id: "" };
    const replicas = ((sts.spec as { replicas?: number } | undefined)?.replicas ??
      effectiveReplicas(props)) as number;
    const devices = await devicesOf(kube, props, replicas);
    const inputs: Record<string, unknown> = {};
    for (const key of [
      "ownerId",
      "name",
      "namespace",
      "type",
      "replicas",
      "tags",
      "hostnamePrefix",
      "proxyClass",
      "timeoutSeconds",
      "credentials",
    ]) {
      if (props[key] !== undefined) inputs[key] = props[key];
    }
    return {
      id,
      props: cleanOutputs({ ...props, replicas, devices, schemaVersion: SCHEMA_VERSION }),
      inputs,
    };
  },

  async delete(_id, props) {
    if (!props.name || !props.namespace) return;
    const rt = runtimeFor(props);
    const live = await liveEntries(rt, props);
    if (live.length > 0) {
      throw new Error(
        `ProxyGroup ${props.namespace}/${props.name} still serves ${live.join(", ")}: delete those TailnetIngress/` +
          "TailnetService resources first (Pulumi does so when they take the ProxyGroup resource as proxyGroup; " +
          "with `pulumi destroy --target`, include them).",
      );
    }
    await runTeardown(rt, proxyGroupTeardown(props, props.ownerId));
  },
};
