// plan/migration.ts: where a standalone↔HA migration looks for the other side, by name, and what it
// says when it cannot tell.
import assert from "node:assert/strict";
import { type ParsedOwners, serializeOwners } from "../../provider/plan/ha";
import { parseOwners } from "../../provider/plan/ha/ownership";
import {
  configMapUnreadableMessage,
  formerStandaloneNamespaces,
  nameHeldMessage,
  planStandaloneRelease,
  type StandaloneRelease,
} from "../../provider/plan/migration";
import { TAILNET_INGRESS } from "../../provider/plan/schema/tailnetIngress";
import { TAILNET_SERVICE } from "../../provider/plan/schema/tailnetService";

const PG = { namespace: "tailscale", name: "edge" };
const backend = (namespace: string, name = "web") => ({ service: { namespace, name }, port: 80 });

describe("migration: namespaces of the former standalone proxy (standalone → HA)", () => {
  const cases: [
    string,
    typeof TAILNET_SERVICE | typeof TAILNET_INGRESS,
    Record<string, unknown>,
    string[],
  ][] = [
    [
      "TailnetService: the backend's namespace, then the ProxyGroup's",
      TAILNET_SERVICE,
      { service: { namespace: "data", name: "pg" }, proxyGroup: PG },
      ["data", "tailscale"],
    ],
    [
      "TailnetService: an explicit namespace first, still looked at in the backend's",
      TAILNET_SERVICE,
      { service: { namespace: "data", name: "pg" }, namespace: "proxies", proxyGroup: PG },
      ["proxies", "tailscale", "data"],
    ],
    [
      "TailnetService: the ProxyGroup's namespace once when it is the backend's",
      TAILNET_SERVICE,
      { service: { namespace: "tailscale", name: "pg" }, proxyGroup: PG },
      ["tailscale"],
    ],
    [
      "TailnetIngress: the default backend's namespace, the ProxyGroup's, then every other backend's",
      TAILNET_INGRESS,
      {
        defaultBackend: backend("web"),
        rules: [
          {
            host: "x",
            paths: [
              { path: "/a", backend: backend("api") },
              { path: "/b", backend: backend("web") },
            ],
          },
        ],
        proxyGroup: PG,
      },
      ["web", "tailscale", "api"],
    ],
    [
      "TailnetIngress without a default backend: the first rule's backend's namespace",
      TAILNET_INGRESS,
      {
        rules: [
          {
            paths: [
              { path: "/", backend: backend("shop") },
              { path: "/x", backend: backend("cart") },
            ],
          },
        ],
        proxyGroup: PG,
      },
      ["shop", "tailscale", "cart"],
    ],
  ];
  for (const [name, schema, input, expected] of cases) {
    it(name, () => assert.deepEqual(formerStandaloneNamespaces(schema, input as any), expected));
  }
});

describe("migration: releasing the Tailscale Service for a standalone proxy (HA → standalone)", () => {
  const ME = "p/s/shop";
  const owners = (...entries: object[]): ParsedOwners =>
    parseOwners({ "tailnet.pulumi.com/owners": serializeOwners(entries as any) });
  const cases: [string, ParsedOwners, string | undefined, StandaloneRelease["action"], unknown?][] = [
    ["no owners annotation: not ours", { kind: "absent" }, "c1", "none"],
    ["another resource owns it too", owners({ id: ME, proxyGroup: PG }, { id: "p/t/shop" }), "c1", "none"],
    ["an emptied owner list", owners(), "c1", "none"],
    [
      "ours, served here by the recorded ProxyGroup",
      owners({ id: ME, cluster: "c1", proxyGroup: PG }),
      "c1",
      "release",
      [{ proxyGroup: PG, maybeHere: true }],
    ],
    [
      "ours from two clusters: the other cluster's ProxyGroup is looked at, but a refused read there means nothing",
      owners(
        { id: ME, cluster: "c1", proxyGroup: PG },
        { id: ME, cluster: "c2", proxyGroup: { namespace: "ts", name: "b" } },
      ),
      "c1",
      "release",
      [
        { proxyGroup: PG, maybeHere: true },
        { proxyGroup: { namespace: "ts", name: "b" }, maybeHere: false },
      ],
    ],
    [
      "this cluster's identity unknown: every entry may be here",
      owners({ id: ME, cluster: "c2", proxyGroup: PG }),
      undefined,
      "release",
      [{ proxyGroup: PG, maybeHere: true }],
    ],
    [
      "the same ProxyGroup in two entries: looked at once",
      owners({ id: ME, cluster: "c2", proxyGroup: PG }, { id: ME, cluster: "c1", proxyGroup: PG }),
      "c1",
      "release",
      [{ proxyGroup: PG, maybeHere: true }],
    ],
    [
      "an older entry of this cluster, no ProxyGroup recorded: refused",
      owners({ id: ME, cluster: "c1" }),
      "c1",
      "refuse",
    ],
    ["an older entry without a cluster: refused", owners({ id: ME }), "c1", "refuse"],
    [
      "an older entry of another cluster only: nothing to tear down here",
      owners({ id: ME, cluster: "c2" }),
      "c1",
      "release",
      [],
    ],
  ];
  for (const [name, parsed, clusterId, action, proxyGroups] of cases) {
    it(name, () => {
      const r = planStandaloneRelease("TailnetIngress", "svc:shop", parsed, ME, clusterId);
      assert.equal(r.action, action);
      if (r.action === "release") assert.deepEqual(r.proxyGroups, proxyGroups);
    });
  }

  it("the refusal says what is missing and what to do", () => {
    const r = planStandaloneRelease("TailnetService", "svc:db", owners({ id: ME }), ME, undefined);
    assert.deepEqual(r, {
      action: "refuse",
      reason:
        "TailnetService: Tailscale Service svc:db is still served for this resource by a ProxyGroup, and its owners annotation " +
        "(tailnet.pulumi.com/owners) was written by an older pulumi-tailnet that did not record which ProxyGroup, so it cannot " +
        "be found by name to stop serving the service before the standalone proxy takes the name; nothing was changed. To move " +
        "this resource to a standalone proxy, set the resource option `deleteBeforeReplace: true` on it for this one `pulumi up` " +
        "(the ProxyGroup side, whose state names its ProxyGroup, is then deleted first with its full teardown, and the name is " +
        "unreachable for the seconds until the standalone proxy registers), then remove the option.",
    });
  });

  it("an unreadable ConfigMap is named with the permission to grant", () => {
    assert.equal(
      configMapUnreadableMessage("TailnetIngress", "svc:shop", PG, "edge-ingress-config", "forbidden!"),
      "TailnetIngress: cannot read ConfigMap tailscale/edge-ingress-config of ProxyGroup tailscale/edge, which serves " +
        "Tailscale Service svc:shop (as its owners annotation records), to stop serving it before the standalone proxy takes " +
        "the name: forbidden!. Grant the deployer `get` on configmaps in namespace tailscale (the Role pulumi-tailnet-proxies " +
        "of deploy/deployer-rbac.yaml) and run `pulumi up` again.",
    );
  });
});

describe("migration: a tailnet name held by a device not found to be ours", () => {
  const base = {
    kind: "TailnetIngress",
    hostname: "shop",
    device: { name: "shop.tail1.ts.net", id: "n1" },
    stateSecret: "ts-shop-0",
  };
  it("everywhere readable: names the device, where it looked, and what to do", () => {
    assert.equal(
      nameHeldMessage({ ...base, searched: ["shop", "tailscale"], unreadable: [] }),
      'TailnetIngress: the tailnet name "shop" is held by device shop.tail1.ts.net (id n1), so Tailscale Service svc:shop ' +
        "cannot be created (the API refuses a service name that a machine uses); no state Secret ts-shop-0 of this resource " +
        "records that device in namespace shop, tailscale. If that device is this resource's former standalone proxy in " +
        "another namespace, keep the `namespace` input it had while setting proxyGroup (it is otherwise unused with " +
        "proxyGroup) so that it is looked for there; otherwise remove that device from the tailnet, or choose another hostname.",
    );
  });
  it("a namespace it may not read: named, with the server's refusal and the permission", () => {
    assert.equal(
      nameHeldMessage({
        ...base,
        searched: ["tailscale"],
        unreadable: [{ namespace: "shop", error: 'secrets "ts-shop-0" is forbidden' }],
      }),
      'TailnetIngress: the tailnet name "shop" is held by device shop.tail1.ts.net (id n1), so Tailscale Service svc:shop ' +
        "cannot be created (the API refuses a service name that a machine uses); no state Secret ts-shop-0 of this resource " +
        'records that device in namespace tailscale, and the deployer may not read it in namespace shop (secrets "ts-shop-0" ' +
        "is forbidden). If that device is this resource's former standalone proxy, grant the deployer `get` on secrets in " +
        "namespace shop (the Role pulumi-tailnet-proxies of deploy/deployer-rbac.yaml) and run `pulumi up` again; otherwise " +
        "remove that device from the tailnet, or choose another hostname.",
    );
  });
});
