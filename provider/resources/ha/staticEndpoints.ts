/**
 * The I/O of ProxyClass `staticEndpoints` (plan/ha/staticEndpoints.ts plans it): read the selected
 * Nodes, each replica's NodePort Service and the endpoints its config lists now, allocate and apply the
 * Services, and hand the planner each replica's node port and endpoints for its config.
 */
import { type Kube, KubeApiError, type KubeObject } from "../../kube";
import {
  allocateNodePorts,
  CONFIG_KEY,
  chooseStaticEndpoints,
  type NodeFacts,
  nodePortServiceRefs,
  planNodePortService,
  type ReplicaStaticEndpoints,
  replicaRefs,
  staticEndpointsFromConfig,
} from "../../plan/ha";
import type { ProxyGroupInput } from "../../plan/inputs";
import { listSelection, secretData } from "../kubeFacts";

function nodeFactsOf(n: KubeObject): NodeFacts {
  const status = n.status as { addresses?: { type?: string; address?: string }[] } | undefined;
  return {
    name: n.metadata.name ?? "",
    labels: n.metadata.labels ?? {},
    addresses: (status?.addresses ?? []).map((a) => ({ type: a.type ?? "", address: a.address ?? "" })),
  };
}

/** Whether the API server refused a node port because another Service holds it (the portallocator's ErrAllocated). */
function portAlreadyAllocated(err: unknown): boolean {
  return (
    err instanceof KubeApiError &&
    err.code === 422 &&
    err.causes.some((c) => /nodePort$/.test(c.field ?? "") && /already allocated/.test(c.message ?? ""))
  );
}

/**
 * With ProxyClass `staticEndpoints`: applies each of the `replicas` NodePort Services, with the node
 * port it keeps or is given, and returns what the planner puts in the replicas' configs; without it,
 * undefined. A port the API server says another Service holds is skipped and the allocation made again
 * (every such port is a failed create, so at most as many as the ranges hold). Nothing is written when
 * the ranges are too few or the nodes have no `ExternalIP`: the error says which and what to change.
 */
export async function applyStaticEndpoints(
  kube: Kube,
  input: ProxyGroupInput,
  replicas: number,
  own: { ownerId: string; formerOwnerId?: string },
): Promise<Record<number, ReplicaStaticEndpoints> | undefined> {
  const config = input.proxyClass?.staticEndpoints?.nodePort;
  if (!config) return undefined;
  const what = `ProxyGroup ${input.namespace}/${input.name}`;
  let nodes: NodeFacts[];
  try {
    nodes = (
      await listSelection(kube, { apiVersion: "v1", kind: "Node", labels: config.selector ?? {} })
    ).map(nodeFactsOf);
  } catch (err) {
    throw new Error(
      `${what}: proxyClass.staticEndpoints needs the cluster's Nodes (their ExternalIP addresses): ${(err as Error).message}`,
    );
  }
  const services = nodePortServiceRefs(input, replicas);
  const current: Record<number, number | undefined> = {};
  const advertised: Record<number, string[]> = {};
  // Independent reads: all at once, not one replica after another.
  await Promise.all(
    services.map(async (ref, i) => {
      const [svc, cfg] = await Promise.all([
        kube.get(ref),
        kube.get(replicaRefs(input.name, input.namespace, i).configSecret),
      ]);
      current[i] = (svc?.spec as { ports?: { nodePort?: number }[] } | undefined)?.ports?.[0]?.nodePort;
      advertised[i] = staticEndpointsFromConfig(secretData(cfg)[CONFIG_KEY]);
    }),
  );
  const taken = new Set<number>();
  for (;;) {
    const alloc = allocateNodePorts({ ranges: config.ports, replicas, current, taken });
    if ("error" in alloc)
      throw new Error(`${what}: proxyClass.staticEndpoints.nodePort.ports: ${alloc.error}`);
    const out: Record<number, ReplicaStaticEndpoints> = {};
    for (let i = 0; i < replicas; i++) {
      const chosen = chooseStaticEndpoints(config, nodes, alloc.ports[i]!, advertised[i]!);
      if ("error" in chosen) throw new Error(`${what}: ${chosen.error}`);
      out[i] = { nodePort: alloc.ports[i]!, endpoints: chosen.endpoints };
    }
    let refused: number | undefined;
    for (let i = 0; i < replicas && refused === undefined; i++) {
      try {
        await kube.apply(planNodePortService(input, i, alloc.ports[i]), own);
        current[i] = alloc.ports[i];
      } catch (err) {
        if (!portAlreadyAllocated(err)) throw err;
        refused = alloc.ports[i]!;
      }
    }
    if (refused === undefined) return out;
    taken.add(refused);
  }
}
