// The simulator's scheduler (tests/support/cluster-sim/scheduler.ts), table by table: the filters, the
// spread constraints with their node inclusion policies, and the scores.
import assert from "node:assert/strict";
import {
  type PlacedPod,
  type Placement,
  type PodToPlace,
  type SimNodeSpec,
  schedule,
  simNodes,
} from "../support/cluster-sim/scheduler";

const ZONE = "topology.kubernetes.io/zone";
const SELF = { app: "edge" };

/** Two Pods matching SELF placed on these nodes (a terminating one is given as `!name`). */
function placed(...nodes: string[]): PlacedPod[] {
  return nodes.map((n) => ({
    namespace: "ns",
    labels: SELF,
    nodeName: n.replace(/^!/, ""),
    terminating: n.startsWith("!"),
    owner: "StatefulSet/edge",
  }));
}

function pod(spec: Record<string, unknown>): PodToPlace {
  return { namespace: "ns", labels: SELF, spec, owner: "StatefulSet/edge" };
}

const byHost = (o: Record<string, unknown> = {}) => ({
  topologySpreadConstraints: [
    {
      maxSkew: 1,
      topologyKey: "kubernetes.io/hostname",
      whenUnsatisfiable: "DoNotSchedule",
      labelSelector: { matchLabels: SELF },
      ...o,
    },
  ],
});

describe("cluster-sim scheduler", () => {
  const cases: [string, SimNodeSpec[], PlacedPod[], PodToPlace, Placement][] = [
    [
      "a Pod without constraints goes to the emptiest node",
      [{ name: "n1" }, { name: "n2" }],
      placed("n1"),
      pod({}),
      { node: "n2" },
    ],
    [
      "nodeSelector filters nodes",
      [{ name: "n1" }, { name: "n2", labels: { disk: "ssd" } }],
      [],
      pod({ nodeSelector: { disk: "ssd" } }),
      { node: "n2" },
    ],
    [
      "no node matches the nodeSelector",
      [{ name: "n1" }, { name: "n2" }],
      [],
      pod({ nodeSelector: { disk: "ssd" } }),
      { unschedulable: "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector." },
    ],
    [
      "required node affinity",
      [
        { name: "n1", labels: { [ZONE]: "a" } },
        { name: "n2", labels: { [ZONE]: "b" } },
      ],
      [],
      pod({
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [{ matchExpressions: [{ key: ZONE, operator: "In", values: ["b"] }] }],
            },
          },
        },
      }),
      { node: "n2" },
    ],
    [
      "an untolerated NoSchedule taint and a cordon",
      [
        { name: "n1", taints: [{ key: "dedicated", value: "db", effect: "NoSchedule" }] },
        { name: "n2", unschedulable: true },
      ],
      [],
      pod({}),
      {
        unschedulable:
          "0/2 nodes are available: 1 node(s) had untolerated taint {dedicated: db}, 1 node(s) were unschedulable.",
      },
    ],
    [
      "a tolerated taint",
      [{ name: "n1", taints: [{ key: "dedicated", value: "db", effect: "NoSchedule" }] }],
      [],
      pod({ tolerations: [{ key: "dedicated", operator: "Equal", value: "db", effect: "NoSchedule" }] }),
      { node: "n1" },
    ],
    [
      "spread over nodes: the node with a replica is refused",
      [{ name: "n1" }, { name: "n2" }],
      placed("n1"),
      pod(byHost()),
      { node: "n2" },
    ],
    [
      "more replicas than nodes: skew 1 allows two on one node",
      [{ name: "n1" }, { name: "n2" }],
      placed("n1", "n2"),
      pod(byHost()),
      { node: "n1" },
    ],
    [
      "a terminating Pod is not counted",
      [{ name: "n1" }, { name: "n2" }],
      placed("n1", "!n2", "n2"),
      pod(byHost()),
      { node: "n1" },
    ],
    [
      "a drain with the default nodeTaintsPolicy Ignore: the cordoned empty node counts, and the evicted replica goes nowhere",
      [{ name: "n1" }, { name: "n2" }, { name: "n3", unschedulable: true }],
      placed("n1", "n2"),
      pod(byHost()),
      {
        unschedulable:
          "0/3 nodes are available: 1 node(s) were unschedulable, 2 node(s) didn't match pod topology spread constraints.",
      },
    ],
    [
      "the same drain with nodeTaintsPolicy Honor: the cordoned node is not a domain",
      [{ name: "n1" }, { name: "n2" }, { name: "n3", unschedulable: true }],
      placed("n1", "n2"),
      pod(byHost({ nodeTaintsPolicy: "Honor" })),
      { node: "n1" },
    ],
    [
      "nodeAffinityPolicy Honor (default): nodes the Pod may not run on are not domains",
      [{ name: "n1", labels: { pool: "proxies" } }, { name: "n2" }],
      placed("n1"),
      pod({ ...byHost(), nodeSelector: { pool: "proxies" } }),
      { node: "n1" },
    ],
    [
      "nodeAffinityPolicy Ignore counts them",
      [{ name: "n1", labels: { pool: "proxies" } }, { name: "n2" }],
      placed("n1"),
      pod({ ...byHost({ nodeAffinityPolicy: "Ignore" }), nodeSelector: { pool: "proxies" } }),
      {
        unschedulable:
          "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) didn't match pod topology spread constraints.",
      },
    ],
    [
      "minDomains: fewer domains than asked count as empty ones",
      [{ name: "n1" }],
      placed("n1"),
      pod(byHost({ minDomains: 2 })),
      { unschedulable: "0/1 nodes are available: 1 node(s) didn't match pod topology spread constraints." },
    ],
    [
      "a node without the topology key fails a DoNotSchedule constraint",
      [{ name: "n1", labels: { [ZONE]: "a" } }, { name: "n2" }],
      [],
      pod({
        topologySpreadConstraints: [
          {
            maxSkew: 1,
            topologyKey: ZONE,
            whenUnsatisfiable: "DoNotSchedule",
            labelSelector: { matchLabels: SELF },
          },
        ],
      }),
      { node: "n1" },
    ],
    [
      "spread over zones",
      [
        { name: "a1", labels: { [ZONE]: "a" } },
        { name: "a2", labels: { [ZONE]: "a" } },
        { name: "b1", labels: { [ZONE]: "b" } },
      ],
      placed("a1"),
      pod({
        topologySpreadConstraints: [
          {
            maxSkew: 1,
            topologyKey: ZONE,
            whenUnsatisfiable: "DoNotSchedule",
            labelSelector: { matchLabels: SELF },
          },
        ],
      }),
      { node: "b1" },
    ],
    [
      "ScheduleAnyway only scores: the fuller domain is still possible, the emptier preferred",
      [
        { name: "a1", labels: { [ZONE]: "a" } },
        { name: "b1", labels: { [ZONE]: "b" } },
      ],
      placed("b1", "b1"),
      pod({
        nodeSelector: {},
        topologySpreadConstraints: [
          {
            maxSkew: 1,
            topologyKey: ZONE,
            whenUnsatisfiable: "ScheduleAnyway",
            labelSelector: { matchLabels: SELF },
          },
        ],
      }),
      { node: "a1" },
    ],
    [
      "a constraint without labelSelector counts no Pod (Kubernetes' meaning)",
      [{ name: "n1" }, { name: "n2" }],
      placed("n1", "n1", "n1"),
      pod({
        topologySpreadConstraints: [
          { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "DoNotSchedule" },
        ],
      }),
      { node: "n2" },
    ],
    [
      "required pod anti-affinity is refused as not modelled",
      [{ name: "n1" }],
      [],
      pod({
        affinity: {
          podAntiAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [
              { topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: SELF } },
            ],
          },
        },
      }),
      { notModelled: "required podAntiAffinity is not modelled by the cluster simulator's scheduler" },
    ],
  ];
  for (const [name, nodes, pods, p, want] of cases) {
    it(name, () => {
      assert.deepEqual(schedule(p, simNodes(nodes), pods), want);
    });
  }

  it("nodes get the well-known labels, a cordon its taint, and host and external IPs in order", () => {
    assert.deepEqual(
      simNodes([
        { name: "n1", labels: { [ZONE]: "a" } },
        { name: "n2", unschedulable: true },
        { name: "n3", externalIP: null },
      ]),
      [
        {
          name: "n1",
          labels: { "kubernetes.io/hostname": "n1", "kubernetes.io/os": "linux", [ZONE]: "a" },
          taints: [],
          unschedulable: false,
          hostIP: "172.18.0.2",
          externalIP: "203.0.113.2",
        },
        {
          name: "n2",
          labels: { "kubernetes.io/hostname": "n2", "kubernetes.io/os": "linux" },
          taints: [{ key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" }],
          unschedulable: true,
          hostIP: "172.18.0.3",
          externalIP: "203.0.113.3",
        },
        {
          name: "n3",
          labels: { "kubernetes.io/hostname": "n3", "kubernetes.io/os": "linux" },
          taints: [],
          unschedulable: false,
          hostIP: "172.18.0.4",
        },
      ],
    );
  });
});
