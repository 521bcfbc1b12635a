/**
 * The part of kube-scheduler a proxy Pod meets: which node a new Pod goes to, or why none can take it.
 * Filters, in the default profile's order, the first that fails a node giving its reason (kubernetes/kubernetes
 * pkg/scheduler/framework/plugins): NodeUnschedulable (a cordoned node), TaintToleration (NoSchedule and
 * NoExecute taints; a cordoned node also carries `node.kubernetes.io/unschedulable:NoSchedule`, added by
 * the node lifecycle controller), NodeAffinity (`nodeSelector`, required node affinity), PodTopologySpread (`DoNotSchedule` constraints, with `nodeAffinityPolicy`,
 * `nodeTaintsPolicy`, `minDomains` and `matchLabelKeys`; terminating Pods are not counted). Scores: the
 * `ScheduleAnyway` constraints (fewer matching Pods in the node's domain first) or, for a Pod without
 * constraints, the cluster's default spreading of the Pods of its owner, then the node with fewer Pods,
 * then the name. Pure: the simulator passes the nodes and the Pods already placed.
 */

type Json = any;

/** A node taint. */
export interface SimTaint {
  key: string;
  value?: string;
  effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
}

/** A node of the simulated cluster. */
export interface SimNode {
  name: string;
  /** Its labels, `kubernetes.io/hostname` and `kubernetes.io/os` included. */
  labels: Record<string, string>;
  taints: SimTaint[];
  /** Cordoned: `spec.unschedulable`. */
  unschedulable: boolean;
  /** `status.addresses` InternalIP: what a Pod on it reports as `status.hostIP`. */
  hostIP: string;
  /** `status.addresses` ExternalIP (what ProxyClass `staticEndpoints` advertises), if it has one. */
  externalIP?: string;
}

/** How a test describes a node (`ClusterSimOptions.nodes`). */
export interface SimNodeSpec {
  name: string;
  labels?: Record<string, string>;
  taints?: SimTaint[];
  /** Cordoned (`kubectl cordon`): tainted `node.kubernetes.io/unschedulable:NoSchedule`. */
  unschedulable?: boolean;
  /** Its ExternalIP; default `203.0.113.<2+i>` (TEST-NET-3), `null` for a node without one. */
  externalIP?: string | null;
}

const UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable";

/** The node of a simulated cluster given no nodes: the one every Pod ran on before nodes could be given. */
export const SIM_NODE = "sim-node-1";
export const DEFAULT_NODES: SimNodeSpec[] = [{ name: SIM_NODE }];

/** Nodes from their specs: the well-known labels added, a cordon as its taint, host IPs in order. */
export function simNodes(specs: readonly SimNodeSpec[]): SimNode[] {
  return specs.map((s, i) => ({
    name: s.name,
    labels: { "kubernetes.io/hostname": s.name, "kubernetes.io/os": "linux", ...(s.labels ?? {}) },
    taints: [
      ...(s.taints ?? []),
      ...(s.unschedulable ? [{ key: UNSCHEDULABLE_TAINT, effect: "NoSchedule" as const }] : []),
    ],
    unschedulable: s.unschedulable === true,
    hostIP: `172.18.0.${2 + i}`,
    ...(s.externalIP === null ? {} : { externalIP: s.externalIP ?? `203.0.113.${2 + i}` }),
  }));
}

/** A Pod already bound to a node, as the scheduler's cache holds it. */
export interface PlacedPod {
  namespace: string;
  labels: Record<string, string>;
  nodeName: string;
  terminating: boolean;
  /** The controller owning it (`kind/name`), for the default spreading. */
  owner?: string;
}

/** The Pod to place. */
export interface PodToPlace {
  namespace: string;
  labels: Record<string, string>;
  spec: Json;
  owner?: string;
}

export type Placement = { node: string } | { unschedulable: string } | { notModelled: string };

function matchExpression(labels: Record<string, string>, r: Json): boolean {
  const has = Object.hasOwn(labels, r.key);
  const v = labels[r.key];
  const values: string[] = r.values ?? [];
  switch (r.operator) {
    case "In":
      return has && values.includes(v!);
    case "NotIn":
      return !has || !values.includes(v!);
    case "Exists":
      return has;
    case "DoesNotExist":
      return !has;
    case "Gt":
      return has && Number(v) > Number(values[0]);
    case "Lt":
      return has && Number(v) < Number(values[0]);
    default:
      return false;
  }
}

/** metav1.LabelSelector; a missing selector matches nothing (as in a spread constraint). */
function selects(sel: Json, labels: Record<string, string>): boolean {
  if (!sel) return false;
  for (const [k, v] of Object.entries<string>(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  return (sel.matchExpressions ?? []).every((r: Json) => matchExpression(labels, r));
}

/** NodeAffinity's filter: `nodeSelector` and every required node affinity term (ORed). */
function nodeAffinityOk(spec: Json, node: SimNode): boolean {
  for (const [k, v] of Object.entries<string>(spec.nodeSelector ?? {}))
    if (node.labels[k] !== v) return false;
  const terms: Json[] =
    spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  if (terms.length === 0) return true;
  const fields = { "metadata.name": node.name };
  return terms.some(
    (t) =>
      (t.matchExpressions ?? []).every((r: Json) => matchExpression(node.labels, r)) &&
      (t.matchFields ?? []).every((r: Json) => matchExpression(fields, r)) &&
      ((t.matchExpressions ?? []).length > 0 || (t.matchFields ?? []).length > 0),
  );
}

function tolerates(tolerations: Json[], t: SimTaint): boolean {
  return tolerations.some((tol) => {
    if (tol.effect && tol.effect !== t.effect) return false;
    if (!tol.key) return tol.operator === "Exists";
    if (tol.key !== t.key) return false;
    return tol.operator === "Exists" || (tol.value ?? "") === (t.value ?? "");
  });
}

/** The first taint of the node that stops scheduling and that the Pod does not tolerate. */
function untolerated(spec: Json, node: SimNode): SimTaint | undefined {
  return node.taints.find(
    (t) => (t.effect === "NoSchedule" || t.effect === "NoExecute") && !tolerates(spec.tolerations ?? [], t),
  );
}

interface Constraint {
  maxSkew: number;
  topologyKey: string;
  minDomains?: number;
  selector: Json;
  nodeAffinityPolicy: string;
  nodeTaintsPolicy: string;
}

function constraintsOf(pod: PodToPlace, when: "DoNotSchedule" | "ScheduleAnyway"): Constraint[] {
  return (pod.spec.topologySpreadConstraints ?? [])
    .filter((c: Json) => c.whenUnsatisfiable === when)
    .map((c: Json) => {
      // matchLabelKeys: the Pod's own values of these keys narrow the selector.
      const extra = (c.matchLabelKeys ?? [])
        .filter((k: string) => Object.hasOwn(pod.labels, k))
        .map((k: string) => ({ key: k, operator: "In", values: [pod.labels[k]] }));
      const selector = c.labelSelector
        ? { ...c.labelSelector, matchExpressions: [...(c.labelSelector.matchExpressions ?? []), ...extra] }
        : undefined;
      return {
        maxSkew: c.maxSkew,
        topologyKey: c.topologyKey,
        minDomains: c.minDomains,
        selector,
        nodeAffinityPolicy: c.nodeAffinityPolicy ?? "Honor",
        nodeTaintsPolicy: c.nodeTaintsPolicy ?? "Ignore",
      };
    });
}

/** Matching Pods per domain, over the nodes the constraint counts (PodTopologySpread's PreFilter). */
function domainCounts(
  c: Constraint,
  all: readonly Constraint[],
  pod: PodToPlace,
  nodes: readonly SimNode[],
  placed: readonly PlacedPod[],
): Map<string, number> {
  const counts = new Map<string, number>();
  for (const node of nodes) {
    // A node missing any constraint's key is skipped altogether.
    if (!all.every((o) => Object.hasOwn(node.labels, o.topologyKey))) continue;
    if (c.nodeAffinityPolicy === "Honor" && !nodeAffinityOk(pod.spec, node)) continue;
    if (c.nodeTaintsPolicy === "Honor" && untolerated(pod.spec, node)) continue;
    const domain = node.labels[c.topologyKey]!;
    const n = placed.filter(
      (p) =>
        p.nodeName === node.name &&
        !p.terminating &&
        p.namespace === pod.namespace &&
        selects(c.selector, p.labels),
    ).length;
    counts.set(domain, (counts.get(domain) ?? 0) + n);
  }
  return counts;
}

/** Where `pod` goes: the best feasible node, or the scheduler's reasons for none. */
export function schedule(
  pod: PodToPlace,
  nodes: readonly SimNode[],
  placed: readonly PlacedPod[],
): Placement {
  const aff = pod.spec.affinity ?? {};
  for (const kind of ["podAffinity", "podAntiAffinity"]) {
    if ((aff[kind]?.requiredDuringSchedulingIgnoredDuringExecution ?? []).length > 0) {
      return { notModelled: `required ${kind} is not modelled by the cluster simulator's scheduler` };
    }
  }
  const hard = constraintsOf(pod, "DoNotSchedule");
  const soft = constraintsOf(pod, "ScheduleAnyway");
  const hardCounts = hard.map((c) => domainCounts(c, hard, pod, nodes, placed));
  const reasons = new Map<string, number>();
  const fail = (why: string) => reasons.set(why, (reasons.get(why) ?? 0) + 1);
  const feasible: SimNode[] = [];
  for (const node of nodes) {
    const cordon = node.taints.find((t) => t.key === UNSCHEDULABLE_TAINT);
    if (node.unschedulable && !(cordon && tolerates(pod.spec.tolerations ?? [], cordon))) {
      fail("node(s) were unschedulable");
      continue;
    }
    const taint = untolerated(pod.spec, node);
    if (taint) {
      fail(`node(s) had untolerated taint {${taint.key}: ${taint.value ?? ""}}`);
      continue;
    }
    if (!nodeAffinityOk(pod.spec, node)) {
      fail("node(s) didn't match Pod's node affinity/selector");
      continue;
    }
    let spread = true;
    hard.forEach((c, i) => {
      if (!spread) return;
      if (!Object.hasOwn(node.labels, c.topologyKey)) {
        fail("node(s) didn't match pod topology spread constraints (missing required label)");
        spread = false;
        return;
      }
      const counts = hardCounts[i]!;
      const domains = [...counts.values()];
      const min = domains.length < (c.minDomains ?? 1) || domains.length === 0 ? 0 : Math.min(...domains);
      const self = selects(c.selector, pod.labels) ? 1 : 0;
      if ((counts.get(node.labels[c.topologyKey]!) ?? 0) + self - min > c.maxSkew) {
        fail("node(s) didn't match pod topology spread constraints");
        spread = false;
      }
    });
    if (spread) feasible.push(node);
  }
  if (feasible.length === 0) {
    // FitError's message: the reasons sorted as strings (without its "preemption: ..." part).
    const detail = [...reasons]
      .map(([why, n]) => `${n} ${why}`)
      .sort()
      .join(", ");
    return { unschedulable: `0/${nodes.length} nodes are available: ${detail}.` };
  }
  const softCounts = soft.map((c) => domainCounts(c, soft, pod, nodes, placed));
  const score = (node: SimNode): number[] => {
    const spread =
      soft.length > 0
        ? soft.reduce((sum, c, i) => sum + (softCounts[i]!.get(node.labels[c.topologyKey] ?? "") ?? 0), 0)
        : hard.length > 0
          ? 0
          : placed.filter(
              (p) => p.nodeName === node.name && !p.terminating && pod.owner && p.owner === pod.owner,
            ).length;
    const load = placed.filter((p) => p.nodeName === node.name && !p.terminating).length;
    return [spread, load];
  };
  const best = [...feasible].sort((a, b) => {
    const [sa, sb] = [score(a), score(b)];
    return sa[0]! - sb[0]! || sa[1]! - sb[1]! || a.name.localeCompare(b.name);
  })[0]!;
  return { node: best.name };
}
