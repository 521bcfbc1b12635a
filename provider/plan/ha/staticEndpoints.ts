/**
 * ProxyClass `staticEndpoints` of a ProxyGroup, as the operator does it (tailscale/tailscale@de9ec7ee
 * cmd/k8s-operator/proxygroup.go:560-654 allocatePorts, ensureNodePortServiceCreated; 993-1078
 * findStaticEndpoints): each replica gets a NodePort Service `<pg>-<i>-nodeport` whose node port comes
 * from the ProxyClass ranges, tailscaled listens on {@link TAILSCALED_PORT} (`PORT`), and the replica's
 * tailscaled config lists up to {@link MAX_STATIC_ENDPOINTS} `ExternalIP`s of the selected nodes with
 * that node port as `StaticEndpoints`, so that devices outside the cluster's network connect directly.
 *
 * Differences, on purpose: the choices are deterministic (the operator draws the tailscaled port at
 * random and allocates from a Go map's order), ports are found free by the API server's answer rather
 * than from the ProxyGroup Services of one namespace (plan/ha/proxygroup.ts and resources/proxyGroup.ts
 * retry a port another Service holds), and the endpoints are capped at 2 in every case (the operator's
 * loop can keep more than 2 current ones). Pure.
 */
import type { NodePortConfigInput, PortRangeInput } from "../inputs";

/**
 * The UDP port tailscaled listens on in every replica with static endpoints, the NodePort Services'
 * `port` and `targetPort`. The operator draws one at random between 1024 and 65535
 * (tailscale/tailscale@de9ec7ee cmd/k8s-operator/nodeport-service-ports.go); any port works inside the
 * Pod's network namespace, and tailscaled's usual one keeps plans deterministic.
 */
export const TAILSCALED_PORT = 41641;

/** The operator's name of the NodePort Services' one port (proxygroup_specs.go:32). */
export const STATIC_ENDPOINT_PORT_NAME = "static-endpoint-port";

/** Most endpoints a replica advertises (the operator's staticEndpointsMaxAddrs, proxygroup.go:61). */
export const MAX_STATIC_ENDPOINTS = 2;

/**
 * Kubernetes' default `--service-node-port-range`. check refuses ranges outside it: the API server
 * refuses a node port outside its range, and the operator checks the cluster's range (probed) too.
 */
export const NODE_PORT_RANGE = { min: 30000, max: 32767 } as const;

/** `30000-30005` or `30001`, the operator's PortRange.String. */
export function portRangeText(r: PortRangeInput): string {
  return r.endPort === undefined || r.endPort === r.port ? `${r.port}` : `${r.port}-${r.endPort}`;
}

/** Every port of the ranges, in their order (the operator's PortRanges.All). */
export function portsOf(ranges: readonly PortRangeInput[]): number[] {
  const out: number[] = [];
  for (const r of ranges) for (let p = r.port; p <= (r.endPort ?? r.port); p++) out.push(p);
  return out;
}

/** How many ports the ranges hold. */
export function portCount(ranges: readonly PortRangeInput[]): number {
  return ranges.reduce((n, r) => n + (r.endPort ?? r.port) - r.port + 1, 0);
}

/** What the allocation of node ports starts from. */
export interface NodePortFacts {
  ranges: readonly PortRangeInput[];
  replicas: number;
  /** Each replica's node port now (its Service's), by ordinal. */
  current: Readonly<Record<number, number | undefined>>;
  /** Ports another Service holds (the API server answered "provided port is already allocated"). */
  taken: ReadonlySet<number>;
}

export type NodePortAllocation = { ports: number[] } | { error: string };

/**
 * The node port of each replica: the one it has when it is still in the ranges (and not another
 * replica's), else the first free port of the ranges in their order, by ordinal. An error, saying how
 * many are free, when the ranges do not hold enough.
 */
export function allocateNodePorts(f: NodePortFacts): NodePortAllocation {
  const all = portsOf(f.ranges);
  const inRanges = new Set(all);
  const used = new Set<number>();
  const ports: (number | undefined)[] = [];
  for (let i = 0; i < f.replicas; i++) {
    const p = f.current[i];
    if (p !== undefined && inRanges.has(p) && !f.taken.has(p) && !used.has(p)) {
      ports[i] = p;
      used.add(p);
    }
  }
  const free = all.filter((p) => !used.has(p) && !f.taken.has(p));
  for (let i = 0; i < f.replicas; i++) {
    if (ports[i] !== undefined) continue;
    const p = free.shift();
    if (p === undefined) {
      const held = all.filter((q) => f.taken.has(q)).length;
      return {
        error:
          `not enough ports in the ranges ${f.ranges.map(portRangeText).join(", ")} for ${f.replicas} replicas ` +
          `(${all.length} ports${held > 0 ? `, ${held} of them held by other Services` : ""}): ` +
          "widen proxyClass.staticEndpoints.nodePort.ports",
      };
    }
    ports[i] = p;
    used.add(p);
  }
  return { ports: ports as number[] };
}

/** A Node, as far as static endpoints read it. */
export interface NodeFacts {
  name: string;
  labels: Record<string, string>;
  /** `status.addresses`. */
  addresses: { type: string; address: string }[];
}

/** Whether a node carries every label of the selector (an absent or empty one selects every node). */
export function nodeSelected(selector: Record<string, string> | undefined, node: NodeFacts): boolean {
  return Object.entries(selector ?? {}).every(([k, v]) => node.labels[k] === v);
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** `ip:port` as Go's netip.AddrPort prints it (`[v6]:port`), or undefined for what is no IP address. */
function endpointOf(address: string, port: number): string | undefined {
  if (IPV4.test(address)) return `${address}:${port}`;
  if (address.includes(":") && /^[0-9a-fA-F:.]+$/.test(address)) return `[${address.toLowerCase()}]:${port}`;
  return undefined;
}

export type StaticEndpointChoice = { endpoints: string[] } | { error: string };

/**
 * A replica's static endpoints: the `ExternalIP`s of the selected nodes (in name order, as the API server
 * lists them) with its node port, at most {@link MAX_STATIC_ENDPOINTS}; those it advertises now first,
 * and in their current order when the set is the same (so that an unchanged set rewrites nothing), as
 * the operator chooses them. An error when no node is selected or none has an `ExternalIP`.
 */
export function chooseStaticEndpoints(
  config: NodePortConfigInput,
  nodes: readonly NodeFacts[],
  nodePort: number,
  current: readonly string[],
): StaticEndpointChoice {
  const selected = nodes.filter((n) => nodeSelected(config.selector, n));
  const selectorText = Object.entries(config.selector ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  if (selected.length === 0) {
    return {
      error:
        `no node matches proxyClass.staticEndpoints.nodePort.selector ${selectorText ? `(${selectorText})` : "(every node)"}: ` +
        "label the nodes whose external addresses the replicas should advertise, or change the selector",
    };
  }
  const candidates: string[] = [];
  for (const n of [...selected].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    for (const a of n.addresses) {
      if (a.type !== "ExternalIP") continue;
      const e = endpointOf(a.address, nodePort);
      if (e && !candidates.includes(e)) candidates.push(e);
    }
  }
  const kept = candidates.filter((e) => current.includes(e));
  const chosen = [...kept, ...candidates.filter((e) => !current.includes(e))].slice(0, MAX_STATIC_ENDPOINTS);
  if (chosen.length === 0) {
    return {
      error:
        `none of the ${selected.length} nodes proxyClass.staticEndpoints.nodePort.selector selects ` +
        `(${selected.map((n) => n.name).join(", ")}) has a status.addresses entry of type ExternalIP: ` +
        "static endpoints need nodes reachable from outside the cluster's network; select such nodes",
    };
  }
  const same = chosen.length === current.length && chosen.every((e) => current.includes(e));
  return { endpoints: same ? [...current] : chosen };
}

/** One replica's static endpoints, as the lifecycle found them for the planner. */
export interface ReplicaStaticEndpoints {
  nodePort: number;
  /** `ip:port`, at most {@link MAX_STATIC_ENDPOINTS}. */
  endpoints: string[];
}
