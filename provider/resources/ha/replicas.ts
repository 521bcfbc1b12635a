/**
 * The replicas of a ProxyGroup as the cluster reports them, and what every HA resource does with them:
 * add or remove its Tailscale Service in a replica's `AdvertiseServices`, and wait until the replica
 * reports (in the prefs its tailscaled applied) that it did.
 */
import { type Kube, KubeApiError, type KubeObject, type ObjectRef, sharedEdit } from "../../kube";
import {
  CONFIG_KEY,
  proxyGroupPods,
  proxyGroupSecrets,
  readReplicaProfile,
  replicaAdvertises,
  replicaRefs,
  withAdvertisedService,
} from "../../plan/ha";
import type { ProxyGroupRef } from "../../plan/inputs";
import { listSelection, podIPsOf, secretData } from "../kubeFacts";
import type { HARuntime } from "./runtime";

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

function ordinalOf(pg: string, name: string): number | undefined {
  const rest = name.slice(pg.length + 1);
  return name.startsWith(`${pg}-`) && /^\d+$/.test(rest) ? Number(rest) : undefined;
}

/** The replicas of a ProxyGroup (by their state Secrets), with their Pods, in ordinal order. */
export async function readReplicas(kube: Kube, pg: ProxyGroupRef): Promise<ReplicaFacts[]> {
  const [states, pods] = await Promise.all([
    listSelection(kube, proxyGroupSecrets(pg, "state")),
    listSelection(kube, proxyGroupPods(pg)),
  ]);
  const out: ReplicaFacts[] = [];
  for (const s of states) {
    const name = s.metadata.name ?? "";
    const ordinal = ordinalOf(pg.name, name);
    if (ordinal === undefined) continue;
    const pod = pods.find((p) => p.metadata.name === name && !p.metadata.deletionTimestamp);
    const refs = replicaRefs(pg.name, pg.namespace, ordinal);
    out.push({
      ordinal,
      stateRef: refs.stateSecret,
      configRef: refs.configSecret,
      pod,
      podIPs: podIPsOf(pod),
      state: secretData(s),
    });
  }
  return out.sort((a, b) => a.ordinal - b.ordinal);
}

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
