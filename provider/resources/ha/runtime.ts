/**
 * What the HA lifecycles (ProxyGroup, HA TailnetIngress, HA TailnetService) share at run time: the
 * replicas as the cluster reports them, the shared ConfigMap and config Secrets edited by many writers,
 * waits on what replicas report, and the executor of the pure teardown step lists.
 *
 * Many writers, one ConfigMap: a `pulumi up` runs dozens of HA resources of one ProxyGroup in parallel
 * in one provider process, and other processes (another stack, the proxies) write too. Every edit is a
 * read-modify-write guarded by resourceVersion and retried on 409 (`Kube.readModifyWrite`). On top of
 * that, edits of one object from this process are batched: whoever arrives while a write is in flight
 * queues its change, and the next write applies every queued change at once. So 50 ingresses cost a
 * handful of ConfigMap writes instead of 50 writes and hundreds of conflicts.
 */
import type { Kube, KubeObject, ObjectRef } from "../../kube";
import { KubeApiError } from "../../kube/errors";
import {
  CONFIG_KEY,
  INGRESS_CONFIG_KEY,
  LABEL_MANAGED_BY,
  LABEL_SECRET_TYPE,
  MANAGED_BY,
  pgLabels,
  proxyGroupNames,
  readReplicaProfile,
  releaseOwnership,
  removeIngressConfig,
  removeServeConfigService,
  replicaAdvertises,
  replicaRulesRemoved,
  type Selection,
  type TeardownStep,
  withAdvertisedService,
} from "../../plan/ha";
import type { TailscaleClient } from "../../tailscale";
import { coreRef, secretData } from "../kubeFacts";

/** What a running HA step has at hand. */
export interface HARuntime {
  kube: Kube;
  tailscale: TailscaleClient;
  /** Milliseconds left in the resource's wait budget. */
  remainingMs: () => number;
}

/** A ProxyGroup by name and namespace (the `proxyGroup` input of HA resources). */
export interface PGRef {
  name: string;
  namespace: string;
}

/**
 * ConfigMap annotation recording which Pulumi resource wrote each entry of `serve-config.json` and
 * `ingress-config.json` (`{"svc:web":"proj/stack/web"}`). A ProxyGroup delete names them, and a second
 * resource in the same cluster cannot overwrite another's entry.
 */
export const SERVICE_OWNERS_ANNOTATION = "tailnet.pulumi.com/service-owners";

/** `k=v,k=v` of a label map. */
export function selectorOf(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
}

/** The ConfigMap `<pg>-ingress-config`. */
export function configMapRef(pg: PGRef): ObjectRef {
  return coreRef("ConfigMap", pg.namespace, proxyGroupNames.configMap(pg.name));
}

/** Secrets of one type (config or state) of a ProxyGroup we made. */
export function pgSecretSelection(pg: PGRef, type: "config" | "state"): Selection {
  return {
    apiVersion: "v1",
    kind: "Secret",
    namespace: pg.namespace,
    labels: { ...pgLabels(pg.name), [LABEL_SECRET_TYPE]: type, [LABEL_MANAGED_BY]: MANAGED_BY },
  };
}

/** One replica of a ProxyGroup, as the cluster reports it now. */
export interface ReplicaFacts {
  ordinal: number;
  stateRef: ObjectRef;
  configRef: ObjectRef;
  /** The running (not terminating) Pod `<pg>-<i>`, if any. */
  pod?: KubeObject;
  podIPs: string[];
  /** Decoded state Secret data. */
  state: Record<string, string>;
}

/** The IPs of a Pod (`status.podIPs`, else `status.podIP`). */
export function podIPsOf(pod: KubeObject | undefined): string[] {
  const status = (pod?.status ?? {}) as { podIP?: string; podIPs?: { ip: string }[] };
  if (status.podIPs && status.podIPs.length > 0) return status.podIPs.map((p) => p.ip);
  return status.podIP ? [status.podIP] : [];
}

function ordinalOf(pg: string, name: string): number | undefined {
  const rest = name.slice(pg.length + 1);
  return name.startsWith(`${pg}-`) && /^\d+$/.test(rest) ? Number(rest) : undefined;
}

/** The replicas of a ProxyGroup (by their state Secrets), with their Pods, in ordinal order. */
export async function readReplicas(kube: Kube, pg: PGRef): Promise<ReplicaFacts[]> {
  const sel = pgSecretSelection(pg, "state");
  const [states, pods] = await Promise.all([
    kube.list("v1", "Secret", pg.namespace, selectorOf(sel.labels)),
    kube.list("v1", "Pod", pg.namespace, selectorOf(pgLabels(pg.name))),
  ]);
  const out: ReplicaFacts[] = [];
  for (const s of states) {
    const name = s.metadata.name ?? "";
    const ordinal = ordinalOf(pg.name, name);
    if (ordinal === undefined) continue;
    const pod = pods.find((p) => p.metadata.name === name && !p.metadata.deletionTimestamp);
    out.push({
      ordinal,
      stateRef: coreRef("Secret", pg.namespace, name),
      configRef: coreRef("Secret", pg.namespace, proxyGroupNames.configSecret(pg.name, ordinal)),
      pod,
      podIPs: podIPsOf(pod),
      state: secretData(s),
    });
  }
  return out.sort((a, b) => a.ordinal - b.ordinal);
}

/** Refuses to go on when the ProxyGroup does not exist in the cluster. */
export async function requireProxyGroup(kube: Kube, pg: PGRef, kind: string): Promise<KubeObject> {
  const [cm, sts] = await Promise.all([
    kube.get(configMapRef(pg)),
    kube.get({ apiVersion: "apps/v1", kind: "StatefulSet", namespace: pg.namespace, name: pg.name }),
  ]);
  if (!cm || !sts) {
    throw new Error(
      `${kind}: ProxyGroup ${pg.namespace}/${pg.name} was not found in the cluster (no ${cm ? "StatefulSet" : "ConfigMap"} ` +
        `${pg.namespace}/${cm ? pg.name : proxyGroupNames.configMap(pg.name)}); create it first and pass the ProxyGroup ` +
        "resource itself as proxyGroup, so that Pulumi creates it before and deletes it after this resource",
    );
  }
  return cm;
}

/**
 * A stable identity of the cluster: the UID of its `kube-system` namespace (every cluster has one and
 * it survives restarts). Undefined when it cannot be read; ownership then records no cluster.
 */
export async function clusterIdOf(kube: Kube): Promise<string | undefined> {
  try {
    const ns = await kube.get(coreRef("Namespace", undefined, "kube-system"));
    return ns?.metadata.uid;
  } catch {
    return undefined;
  }
}

// ------------------------------------------------------------------ batched read-modify-write

type Mutate = (obj: KubeObject) => KubeObject | undefined;

interface Pending {
  mutate: Mutate;
  resolve: () => void;
  reject: (err: unknown) => void;
}

const queues = new WeakMap<Kube, Map<string, Pending[]>>();
const busy = new WeakMap<Kube, Set<string>>();

function refKey(ref: ObjectRef): string {
  return `${ref.apiVersion}/${ref.kind}/${ref.namespace ?? ""}/${ref.name}`;
}

/**
 * Applies `mutate` to the object with a read-modify-write (409 → re-read and re-apply). Concurrent
 * callers in this process are batched into one write; each caller's `mutate` may run several times
 * (once per attempt) and must be a pure function of the object it is given. A `mutate` that throws
 * fails only its caller. A missing object is a KubeApiError 404.
 */
export function sharedEdit(kube: Kube, ref: ObjectRef, mutate: Mutate): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let perKube = queues.get(kube);
    if (!perKube) {
      perKube = new Map();
      queues.set(kube, perKube);
    }
    const key = refKey(ref);
    const list = perKube.get(key) ?? [];
    list.push({ mutate, resolve, reject });
    perKube.set(key, list);
    void drain(kube, ref, key);
  });
}

async function drain(kube: Kube, ref: ObjectRef, key: string): Promise<void> {
  let running = busy.get(kube);
  if (!running) {
    running = new Set();
    busy.set(kube, running);
  }
  if (running.has(key)) return;
  running.add(key);
  try {
    const perKube = queues.get(kube)!;
    for (;;) {
      const batch = perKube.get(key) ?? [];
      perKube.delete(key);
      if (batch.length === 0) return;
      let failed = new Map<number, unknown>();
      try {
        await kube.readModifyWrite(ref, (obj) => {
          failed = new Map();
          let cur = obj;
          let changed = false;
          batch.forEach((p, i) => {
            try {
              const next = p.mutate(structuredClone(cur));
              if (next !== undefined) {
                cur = next;
                changed = true;
              }
            } catch (err) {
              failed.set(i, err);
            }
          });
          return changed ? cur : undefined;
        });
        batch.forEach((p, i) => {
          if (failed.has(i)) p.reject(failed.get(i));
          else p.resolve();
        });
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    }
  } finally {
    running.delete(key);
  }
}

// ------------------------------------------------------------------ shared ConfigMap keys

/** The text of a ConfigMap key (`binaryData`, else `data`); undefined when absent. */
export function configMapText(cm: KubeObject | undefined, key: string): string | undefined {
  const bin = (cm?.binaryData as Record<string, string> | undefined)?.[key];
  if (bin !== undefined) return Buffer.from(bin, "base64").toString("utf8");
  return (cm?.data as Record<string, string> | undefined)?.[key];
}

/** The owners annotation of the shared ConfigMap: service name → ownerId. */
export function serviceOwnersOf(cm: KubeObject | undefined): Record<string, string> {
  const raw = cm?.metadata.annotations?.[SERVICE_OWNERS_ANNOTATION];
  if (!raw) return {};
  try {
    const v = JSON.parse(raw);
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, string>) : {};
  } catch {
    return {};
  }
}

/**
 * Refuses when `serviceName` in this ProxyGroup's ConfigMap belongs to another Pulumi resource: two
 * resources of one cluster must not overwrite each other's serve or DNAT config.
 */
export function refuseForeignEntry(cm: KubeObject | undefined, serviceName: string, ownerId: string): void {
  const owner = serviceOwnersOf(cm)[serviceName];
  if (owner !== undefined && owner !== ownerId) {
    throw new Error(
      `Tailscale Service ${serviceName} is already configured on ProxyGroup ${cm?.metadata.namespace}/${cm?.metadata.name} ` +
        `by Pulumi resource "${owner}"; one service name can be served by one resource per cluster. ` +
        "Choose another hostname, or remove that resource first.",
    );
  }
}

/**
 * Edits one key of the shared ConfigMap (`edit` gets the current text, returns the new text, or the same
 * text for no change) and records (`owner` a string) or forgets (`owner` null) who wrote `serviceName`.
 * Tolerates a missing ConfigMap when `missingOk` (a teardown after the ProxyGroup is gone).
 */
export async function editConfigMapKey(
  kube: Kube,
  pg: PGRef,
  key: string,
  serviceName: string,
  owner: string | null,
  edit: (text: string | undefined) => string | undefined,
  missingOk = false,
): Promise<void> {
  try {
    await sharedEdit(kube, configMapRef(pg), (cm) => {
      if (owner !== null) refuseForeignEntry(cm, serviceName, owner);
      const before = configMapText(cm, key);
      const after = edit(before);
      const owners = serviceOwnersOf(cm);
      const ownersBefore = JSON.stringify(owners);
      if (owner === null) delete owners[serviceName];
      else owners[serviceName] = owner;
      const ownersChanged = JSON.stringify(owners) !== ownersBefore;
      if (after === before && !ownersChanged) return undefined;
      if (after !== before && after !== undefined) {
        cm.binaryData = {
          ...((cm.binaryData as Record<string, string>) ?? {}),
          [key]: Buffer.from(after, "utf8").toString("base64"),
        };
        const data = cm.data as Record<string, string> | undefined;
        if (data && key in data) delete data[key];
      }
      const annotations = { ...(cm.metadata.annotations ?? {}) };
      if (Object.keys(owners).length === 0) delete annotations[SERVICE_OWNERS_ANNOTATION];
      else annotations[SERVICE_OWNERS_ANNOTATION] = JSON.stringify(owners);
      cm.metadata.annotations = annotations;
      return cm;
    });
  } catch (err) {
    if (missingOk && err instanceof KubeApiError && err.code === 404) return;
    throw err;
  }
}

// ------------------------------------------------------------------ advertising

/** Adds or removes `serviceName` in one replica's tailscaled config (`AdvertiseServices`). */
export async function setAdvertised(
  kube: Kube,
  configRef: ObjectRef,
  serviceName: string,
  advertise: boolean,
): Promise<void> {
  try {
    await sharedEdit(kube, configRef, (secret) => {
      const data = secretData(secret);
      const before = data[CONFIG_KEY];
      if (before === undefined && !advertise) return undefined;
      const after = withAdvertisedService(before, serviceName, advertise);
      if (after === before) return undefined;
      secret.data = {
        ...((secret.data as Record<string, string>) ?? {}),
        [CONFIG_KEY]: Buffer.from(after, "utf8").toString("base64"),
      };
      delete secret.stringData;
      return secret;
    });
  } catch (err) {
    // A replica removed by a scale-down in the meantime advertises nothing.
    if (err instanceof KubeApiError && err.code === 404) return;
    throw err;
  }
}

/** Waits until the replica reports (in the prefs tailscaled applied) that it does, or does not, advertise. */
export async function waitAdvertised(
  rt: HARuntime,
  replica: ReplicaFacts,
  serviceName: string,
  advertised: boolean,
): Promise<void> {
  await rt.kube.waitFor(
    replica.stateRef,
    (obj) => {
      if (!obj) return !advertised;
      return replicaAdvertises(secretData(obj), serviceName) === advertised;
    },
    {
      timeoutMs: rt.remainingMs(),
      description: `ProxyGroup replica ${replica.stateRef.namespace}/${replica.stateRef.name} to report ${serviceName} ${advertised ? "advertised" : "no longer advertised"} (AdvertiseServices in its state Secret profile)`,
    },
  );
}

/** The Tailscale node ID of a replica's state (containerboot's `device_id`, else the profile's NodeID). */
export function replicaDeviceId(state: Record<string, string>): string | undefined {
  return state.device_id || readReplicaProfile(state)?.nodeId || undefined;
}

// ------------------------------------------------------------------ teardown executor

/** Runs the pure teardown step lists of plan/ha/teardown.ts, in order; each step is idempotent. */
export async function runTeardown(rt: HARuntime, steps: TeardownStep[]): Promise<void> {
  for (const step of steps) {
    try {
      await runStep(rt, step);
    } catch (err) {
      throw new Error(`could not ${step.description}: ${(err as Error).message}`);
    }
  }
}

async function listSelection(kube: Kube, sel: Selection): Promise<KubeObject[]> {
  return kube.list(sel.apiVersion, sel.kind, sel.namespace, selectorOf(sel.labels));
}

function pgOfSelection(sel: Selection): PGRef {
  return { name: sel.labels["tailscale.com/parent-resource"] ?? "", namespace: sel.namespace };
}

async function runStep(rt: HARuntime, step: TeardownStep): Promise<void> {
  const { kube } = rt;
  switch (step.step) {
    case "removeServeConfigEntry":
    case "removeIngressConfigEntry": {
      const pg = {
        namespace: step.configMap.namespace,
        name: step.configMap.name.replace(/-ingress-config$/, ""),
      };
      const remove = step.step === "removeServeConfigEntry" ? removeServeConfigService : removeIngressConfig;
      await editConfigMapKey(
        kube,
        pg,
        step.key,
        step.serviceName,
        null,
        (t) => remove(t, step.serviceName),
        true,
      );
      return;
    }
    case "unadvertise": {
      const secrets = await listSelection(kube, step.configSecrets);
      await Promise.all(
        secrets.map((s) =>
          setAdvertised(
            kube,
            coreRef("Secret", s.metadata.namespace, s.metadata.name ?? ""),
            step.serviceName,
            false,
          ),
        ),
      );
      return;
    }
    case "waitUnadvertised":
    case "waitRulesRemoved": {
      const replicas = await readReplicas(kube, pgOfSelection(step.stateSecrets));
      // A replica without a running Pod advertises nothing and has no rules (they live in its network namespace).
      const running = replicas.filter((r) => r.pod);
      await Promise.all(
        running.map((r) =>
          step.step === "waitUnadvertised"
            ? waitAdvertised(rt, r, step.serviceName, false)
            : kube.waitFor(
                r.stateRef,
                (obj) =>
                  !obj ||
                  replicaRulesRemoved(secretData(obj)[INGRESS_CONFIG_KEY], r.podIPs, step.serviceName),
                {
                  timeoutMs: rt.remainingMs(),
                  description: `ProxyGroup replica ${r.stateRef.name} to remove its DNAT rules for ${step.serviceName} (ingress-config.json in its state Secret)`,
                },
              ),
        ),
      );
      return;
    }
    case "releaseTailscaleService": {
      const existing = await rt.tailscale.getService(step.serviceName);
      const decision = releaseOwnership(existing, { ownerId: step.ownerId, clusterId: step.clusterId });
      if (decision.action === "delete") await rt.tailscale.deleteService(step.serviceName);
      else if (decision.action === "put") await rt.tailscale.putService(decision.service as never);
      return;
    }
    case "deleteObjects": {
      for (const ref of step.objects) {
        if (ref.kind === "StatefulSet") {
          // Foreground: gone only after its Pods, so no replica keeps running (and re-registering).
          if (await kube.delete(ref, { propagationPolicy: "Foreground" }))
            await kube.waitForDeletion(ref, rt.remainingMs());
        } else await kube.delete(ref);
      }
      return;
    }
    case "deleteSelected": {
      for (const sel of step.selections) {
        for (const obj of await listSelection(kube, sel)) {
          await kube.delete(coreRefOf(obj));
        }
      }
      return;
    }
    case "waitPodsGone": {
      const pods = await listSelection(kube, step.pods);
      await Promise.all(pods.map((p) => kube.waitForDeletion(coreRefOf(p), rt.remainingMs())));
      return;
    }
    case "deleteDevices": {
      const states = await listSelection(kube, step.stateSecrets);
      for (const s of states) {
        const id = replicaDeviceId(secretData(s));
        if (id) await rt.tailscale.deleteDevice(id);
      }
      return;
    }
  }
}

function coreRefOf(obj: KubeObject): ObjectRef {
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    namespace: obj.metadata.namespace,
    name: obj.metadata.name ?? "",
  };
}
