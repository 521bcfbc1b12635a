// ProxyClass `staticEndpoints` of a ProxyGroup, as planned: node ports allocated from the ranges, the
// endpoints chosen from the selected nodes' ExternalIPs, the NodePort Services, PORT and the configs'
// StaticEndpoints; and what check refuses, naming the field.
import assert from "node:assert/strict";
import {
  allocateNodePorts,
  chooseStaticEndpoints,
  type NodeFacts,
  type NodePortAllocation,
  type NodePortFacts,
  planProxyGroup,
  portsOf,
  renderReplicaConfig,
  type StaticEndpointChoice,
  staticEndpointsFromConfig,
} from "../../../provider/plan/ha";
import type { NodePortConfigInput, ProxyClassInput, ProxyGroupInput } from "../../../provider/plan/inputs";
import { checkProxyGroup } from "../../../provider/plan/schema/proxyGroup";
import { checkTailnetService } from "../../../provider/plan/schema/tailnetService";

describe("static endpoints: node port allocation", () => {
  const base = {
    ranges: [{ port: 30000, endPort: 30002 }],
    replicas: 2,
    current: {},
    taken: new Set<number>(),
  };
  const cases: [string, Partial<NodePortFacts>, NodePortAllocation][] = [
    ["fresh replicas take the first ports, by ordinal", {}, { ports: [30000, 30001] }],
    [
      "single ports and ranges, in their order",
      { ranges: [{ port: 30010 }, { port: 30000, endPort: 30001 }] },
      { ports: [30010, 30000] },
    ],
    ["a replica keeps its port", { current: { 1: 30002 } }, { ports: [30000, 30002] }],
    [
      "a port no longer in the ranges is replaced",
      { current: { 0: 31000, 1: 30000 } },
      { ports: [30001, 30000] },
    ],
    [
      "two replicas on one port: the lower ordinal keeps it",
      { current: { 0: 30001, 1: 30001 } },
      { ports: [30001, 30000] },
    ],
    [
      "ports other Services hold are skipped, even one a replica had",
      { current: { 0: 30000 }, taken: new Set([30000]) },
      { ports: [30001, 30002] },
    ],
    [
      "too few ports: the error names the field and what holds them",
      { taken: new Set([30000, 30001]) },
      {
        error:
          "not enough ports in the ranges 30000-30002 for 2 replicas (3 ports, 2 of them held by other Services): widen proxyClass.staticEndpoints.nodePort.ports",
      },
    ],
    [
      "too few ports for the replicas",
      { replicas: 4 },
      {
        error:
          "not enough ports in the ranges 30000-30002 for 4 replicas (3 ports): widen proxyClass.staticEndpoints.nodePort.ports",
      },
    ],
    ["no replicas, no ports", { replicas: 0 }, { ports: [] }],
  ];
  for (const [name, over, want] of cases) {
    it(name, () => assert.deepEqual(allocateNodePorts({ ...base, ...over }), want));
  }

  it("portsOf lists every port of the ranges in order", () => {
    assert.deepEqual(
      portsOf([{ port: 30005 }, { port: 30000, endPort: 30002 }]),
      [30005, 30000, 30001, 30002],
    );
  });
});

describe("static endpoints: the endpoints of a replica", () => {
  const node = (
    name: string,
    labels: Record<string, string>,
    ...addresses: [string, string][]
  ): NodeFacts => ({
    name,
    labels,
    addresses: addresses.map(([type, address]) => ({ type, address })),
  });
  const nodes = [
    node("b", { edge: "true" }, ["InternalIP", "10.0.0.2"], ["ExternalIP", "203.0.113.2"]),
    node("a", { edge: "true" }, ["ExternalIP", "203.0.113.1"], ["Hostname", "a"]),
    node("c", {}, ["ExternalIP", "203.0.113.3"]),
    node("d", { edge: "true" }, ["ExternalIP", "2001:DB8::4"], ["ExternalIP", "not-an-ip"]),
  ];
  const cfg = (selector?: Record<string, string>): NodePortConfigInput => ({
    ports: [{ port: 30001 }],
    selector,
  });
  const cases: [string, NodePortConfigInput, NodeFacts[], string[], StaticEndpointChoice][] = [
    [
      "the first 2 ExternalIPs of the selected nodes, by node name",
      cfg({ edge: "true" }),
      nodes,
      [],
      { endpoints: ["203.0.113.1:30001", "203.0.113.2:30001"] },
    ],
    [
      "no selector selects every node",
      cfg(),
      [nodes[2]!, nodes[0]!],
      [],
      { endpoints: ["203.0.113.2:30001", "203.0.113.3:30001"] },
    ],
    [
      "those advertised now come first",
      cfg({ edge: "true" }),
      nodes,
      ["[2001:db8::4]:30001"],
      { endpoints: ["[2001:db8::4]:30001", "203.0.113.1:30001"] },
    ],
    [
      "the same set keeps its current order",
      cfg({ edge: "true" }),
      nodes,
      ["203.0.113.2:30001", "203.0.113.1:30001"],
      { endpoints: ["203.0.113.2:30001", "203.0.113.1:30001"] },
    ],
    [
      "IPv6 as Go prints an AddrPort; what is no IP is skipped",
      cfg({ edge: "true" }),
      [nodes[3]!],
      [],
      { endpoints: ["[2001:db8::4]:30001"] },
    ],
    [
      "an endpoint of a node no longer selected goes",
      cfg({ edge: "true" }),
      nodes,
      ["203.0.113.3:30001"],
      { endpoints: ["203.0.113.1:30001", "203.0.113.2:30001"] },
    ],
    [
      "no node selected",
      cfg({ edge: "yes" }),
      nodes,
      [],
      {
        error:
          "no node matches proxyClass.staticEndpoints.nodePort.selector (edge=yes): label the nodes whose external addresses the replicas should advertise, or change the selector",
      },
    ],
    [
      "no ExternalIP on the selected nodes",
      cfg(),
      [node("x", {}, ["InternalIP", "10.0.0.9"])],
      [],
      {
        error:
          "none of the 1 nodes proxyClass.staticEndpoints.nodePort.selector selects (x) has a status.addresses entry of type ExternalIP: static endpoints need nodes reachable from outside the cluster's network; select such nodes",
      },
    ],
  ];
  for (const [name, config, given, current, want] of cases) {
    it(name, () => assert.deepEqual(chooseStaticEndpoints(config, given, 30001, current), want));
  }
});

describe("static endpoints: the ProxyGroup's objects", () => {
  const staticEndpoints = { nodePort: { ports: [{ port: 30000, endPort: 30009 }] } };
  const input = (proxyClass?: ProxyClassInput): ProxyGroupInput => ({
    ownerId: "p/s/edge",
    name: "edge",
    namespace: "tailscale",
    type: "ingress",
    replicas: 2,
    proxyClass,
  });
  const ctx = {
    authKeys: {},
    existingAdvertiseServices: {},
    staticEndpoints: {
      0: { nodePort: 30000, endpoints: ["203.0.113.1:30000"] },
      1: { nodePort: 30001, endpoints: ["203.0.113.1:30001", "[2001:db8::1]:30001"] },
    },
  };

  it("one NodePort Service per replica, first of the objects, selecting its Pod", () => {
    const plan = planProxyGroup(input({ staticEndpoints }), ctx);
    assert.deepEqual(plan.nodePortServices[1], {
      apiVersion: "v1",
      kind: "Service",
      metadata: {
        name: "edge-1-nodeport",
        namespace: "tailscale",
        labels: {
          "tailnet.pulumi.com/parent-resource-type": "proxygroup",
          "tailnet.pulumi.com/parent-resource": "edge",
          "app.kubernetes.io/managed-by": "pulumi-tailnet",
          "tailnet.pulumi.com/owner": plan.statefulSet.metadata.labels!["tailnet.pulumi.com/owner"],
        },
        annotations: { "tailnet.pulumi.com/owner-id": "p/s/edge" },
      },
      spec: {
        type: "NodePort",
        ports: [
          { name: "static-endpoint-port", protocol: "UDP", port: 41641, targetPort: 41641, nodePort: 30001 },
        ],
        selector: { "statefulset.kubernetes.io/pod-name": "edge-1" },
      },
    });
    assert.equal(plan.nodePortServices.length, 2);
  });

  it("PORT after TS_EXPERIMENTAL_VERSIONED_CONFIG_DIR, as the operator places it", () => {
    const env = planProxyGroup(input({ staticEndpoints }), ctx).statefulSet.spec!.template.spec!
      .containers[0]!.env!;
    const i = env.findIndex((e) => e.name === "PORT");
    assert.deepEqual(env[i], { name: "PORT", value: "41641" });
    assert.equal(env[i - 1]?.name, "TS_EXPERIMENTAL_VERSIONED_CONFIG_DIR");
  });

  it("each replica's config lists its endpoints after AdvertiseServices, as Go marshals ipn.ConfigVAlpha", () => {
    const plan = planProxyGroup(input({ staticEndpoints }), ctx);
    assert.equal(
      plan.configSecrets[1]!.stringData!["cap-106.hujson"],
      '{"Version":"alpha0","Locked":false,"Hostname":"edge-1","acceptDNS":false,"acceptRoutes":false,"StaticEndpoints":["203.0.113.1:30001","[2001:db8::1]:30001"]}',
    );
    const text = renderReplicaConfig({
      hostname: "h",
      advertiseServices: ["svc:a"],
      staticEndpoints: ["1.2.3.4:30000"],
    });
    assert.match(text, /"AdvertiseServices":\["svc:a"\],"StaticEndpoints":\["1\.2\.3\.4:30000"\]\}$/);
    assert.deepEqual(staticEndpointsFromConfig(text), ["1.2.3.4:30000"]);
    assert.deepEqual(staticEndpointsFromConfig(undefined), []);
  });

  it("without the field: no Services, no PORT, no endpoints, whatever the facts", () => {
    const plan = planProxyGroup(input({}), ctx);
    assert.deepEqual(plan.nodePortServices, []);
    assert.ok(!plan.statefulSet.spec!.template.spec!.containers[0]!.env!.some((e) => e.name === "PORT"));
    assert.ok(!plan.configSecrets.some((s) => s.stringData!["cap-106.hujson"]!.includes("StaticEndpoints")));
  });

  it("a preview (no facts): the Services without a node port", () => {
    const plan = planProxyGroup(input({ staticEndpoints }), { authKeys: {}, existingAdvertiseServices: {} });
    assert.equal(plan.nodePortServices[0]!.spec!.ports![0]!.nodePort, undefined);
  });
});

describe("static endpoints: check", () => {
  const pg = (staticEndpoints: unknown, replicas = 2) =>
    checkProxyGroup({
      ownerId: "p/s/edge",
      name: "edge",
      namespace: "tailscale",
      type: "ingress",
      replicas,
      proxyClass: { staticEndpoints } as ProxyClassInput,
    }).map((f) => `${f.property}: ${f.reason}`);
  const at = "proxyClass.staticEndpoints";
  const cases: [string, unknown, string[], number?][] = [
    [
      "valid",
      { nodePort: { ports: [{ port: 30000, endPort: 30001 }], selector: { "node-role/edge": "true" } } },
      [],
    ],
    ["not an object", "30000", [`${at}: must be an object { nodePort: { ports, selector } }`]],
    [
      "nodePort required",
      {},
      [
        `${at}.nodePort: is required: { ports: [{ port: 30000, endPort: 30005 }], selector: { "node-role": "edge" } }`,
      ],
    ],
    [
      "ports required",
      { nodePort: {} },
      [`${at}.nodePort.ports: must list at least one port range, e.g. [{ port: 30000, endPort: 30005 }]`],
    ],
    [
      "at least one range",
      { nodePort: { ports: [] } },
      [`${at}.nodePort.ports: must list at least one port range, e.g. [{ port: 30000, endPort: 30005 }]`],
    ],
    [
      "outside the NodePort range",
      { nodePort: { ports: [{ port: 8080 }, { port: 30000, endPort: 40000 }] } },
      [
        `${at}.nodePort.ports[0].port: 8080 is not within the cluster's NodePort range 30000-32767 (Kubernetes' default --service-node-port-range): choose ports inside it, and let UDP to them through the nodes' firewall`,
        `${at}.nodePort.ports[1].endPort: 40000 is not within the cluster's NodePort range 30000-32767 (Kubernetes' default --service-node-port-range): choose ports inside it, and let UDP to them through the nodes' firewall`,
      ],
    ],
    [
      "endPort below port",
      { nodePort: { ports: [{ port: 30005, endPort: 30001 }] } },
      [
        `${at}.nodePort.ports[0].endPort: must be at least port (30005), got 30001: the range is port..endPort, inclusive`,
      ],
    ],
    [
      "port required, whole numbers",
      { nodePort: { ports: [{ endPort: 30001 }, { port: 30000.5 }] } },
      [
        `${at}.nodePort.ports[0].port: is required: the first port of the range`,
        `${at}.nodePort.ports[1].port: must be a whole number, got 30000.5`,
      ],
    ],
    [
      "overlapping ranges",
      {
        nodePort: {
          ports: [
            { port: 30003, endPort: 30006 },
            { port: 30000, endPort: 30003 },
          ],
        },
      },
      [
        `${at}.nodePort.ports[0]: overlaps ${at}.nodePort.ports[1] (30000-30003 and 30003-30006): list each port once`,
      ],
    ],
    [
      "unknown keys are named",
      { nodePort: { ports: [{ port: 30000, end: 1 }, { port: 30001 }], selectors: {} } },
      ["selectors", "end"],
    ],
    [
      "a selector of labels",
      { nodePort: { ports: [{ port: 30000 }, { port: 30001 }], selector: { "bad key!": "x" } } },
      ["selector"],
    ],
    [
      "one port per replica",
      { nodePort: { ports: [{ port: 30000, endPort: 30001 }] } },
      [
        `${at}.nodePort.ports: hold 2 ports (30000-30001) for 3 replicas: each replica needs a node port of its own; widen the ranges or lower replicas`,
      ],
      3,
    ],
  ];
  for (const [name, value, want, replicas] of cases) {
    it(name, () => {
      const got = pg(value, replicas);
      if (want.every((w) => !w.includes(": "))) {
        // Only which fields are named.
        assert.equal(got.length, want.length, got.join("\n"));
        for (const [i, w] of want.entries()) assert.ok(got[i]!.includes(w), got[i]);
      } else assert.deepEqual(got, want);
    });
  }

  it("refused on a standalone proxy, accepted (recorded) on an HA one", () => {
    const svc = (proxyGroup?: { name: string; namespace: string }) =>
      checkTailnetService({
        ownerId: "p/s/db",
        service: { namespace: "data", name: "db" },
        proxyGroup,
        proxyClass: { staticEndpoints: { nodePort: { ports: [{ port: 30000 }] } } },
      }).map((f) => f.property);
    assert.deepEqual(svc(), ["proxyClass.staticEndpoints"]);
    assert.deepEqual(svc({ name: "edge", namespace: "tailscale" }), []);
  });
});
