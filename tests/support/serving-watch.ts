/**
 * Watches a ProxyGroup's Tailscale Services while something happens to it (a rollout): after every
 * change of the tailnet's state (a login, an advertisement, a device going offline: the fake Tailscale
 * API's onChange, called synchronously) and of the cluster (a Pod created, Ready, deleted: the local
 * kube-api's writes), it records whether each service is advertised by at least one connected device
 * whose Pod is Ready and not terminating. Those are the only moments either state changes, so a
 * moment with no such replica cannot go unseen.
 */
import type { LocalWorld } from "./world";

type Json = any;

/** A moment some service had no serving replica. */
export interface ServingGap {
  service: string;
  /** What changed just before: `tailnet` or `cluster <kind> <name>`. */
  after: string;
  /** Each replica Pod then: name, Ready, terminating, and what its device advertised. */
  replicas: string[];
}

/** What the watch saw. */
export interface ServingWatch {
  /** States checked. */
  samples: number;
  /** States checked while some replica was missing, terminating or not Ready (a rollout under way). */
  samplesDuringReplacement: number;
  gaps: ServingGap[];
  /** Every uid each replica Pod had, in order (a replaced Pod has several). */
  podUids: Map<string, string[]>;
  stop(): void;
}

function ready(pod: Json): boolean {
  return pod?.status?.conditions?.some((c: Json) => c.type === "Ready" && c.status === "True") ?? false;
}

/** Starts watching the replicas of ProxyGroup `namespace/group` (of `replicas` Pods) serving `services`. */
export function watchServing(
  world: LocalWorld,
  o: { namespace: string; group: string; replicas: number; services: string[] },
): ServingWatch {
  const watch: ServingWatch = {
    samples: 0,
    samplesDuringReplacement: 0,
    gaps: [],
    podUids: new Map(),
    stop: () => undefined,
  };
  const check = (after: string) => {
    watch.samples++;
    const pods = world.kube
      .listObjects("v1", "Pod")
      .filter(
        (p: Json) =>
          p.metadata.namespace === o.namespace &&
          p.metadata.labels?.["tailnet.pulumi.com/parent-resource"] === o.group &&
          p.metadata.labels?.["tailnet.pulumi.com/parent-resource-type"] === "proxygroup",
      );
    for (const p of pods) {
      const uids = watch.podUids.get(p.metadata.name) ?? [];
      if (!uids.includes(p.metadata.uid)) watch.podUids.set(p.metadata.name, [...uids, p.metadata.uid]);
    }
    const serving = (p: Json) => ready(p) && !p.metadata.deletionTimestamp;
    if (pods.length < o.replicas || !pods.every(serving)) watch.samplesDuringReplacement++;
    const devices = world.tailscale.devices();
    // A replica's device: the one its state Secret (named after the Pod) records.
    const deviceOf = (p: Json) => {
      const data = world.kube.getObject("v1", "Secret", o.namespace, p.metadata.name)?.data ?? {};
      const id = data.device_id ? Buffer.from(data.device_id, "base64").toString("utf8") : undefined;
      return devices.find((d) => d.nodeId === id);
    };
    for (const service of o.services) {
      const ok = pods.some((p: Json) => {
        const d = deviceOf(p);
        return serving(p) && !!d?.connectedToControl && d.advertisedServices.includes(service);
      });
      if (!ok) {
        watch.gaps.push({
          service,
          after,
          replicas: pods.map((p: Json) => {
            const d = deviceOf(p);
            return `${p.metadata.name} ready=${ready(p)} terminating=${!!p.metadata.deletionTimestamp} advertises=[${d?.connectedToControl ? d.advertisedServices.join(",") : "offline"}]`;
          }),
        });
      }
    }
  };
  check("start");
  const offTailnet = world.tailscale.onChange(() => check("tailnet"));
  const offCluster = world.kube.onWrite((e) => check(`cluster ${e.obj?.kind} ${e.obj?.metadata?.name}`));
  watch.stop = () => {
    offTailnet();
    offCluster();
  };
  return watch;
}
