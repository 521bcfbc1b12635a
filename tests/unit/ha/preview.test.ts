// What an HA preview lists (provider/plan/ha/preview.ts): every write of the resource's `up`, and a
// fingerprint that changes exactly when the `up` would write something different. Each row changes
// one input from a base and names the planned writes whose fingerprint must change; every other one
// must stay as it was, so an input an HA `up` writes nowhere shows no change.
import assert from "node:assert/strict";
import * as provider from "../../../provider";
import { UNKNOWN } from "../../../provider/plan/inputs";

const pg = { name: "edge", namespace: "tailscale" };

const CERT = ["Secret", "Role", "RoleBinding"].map((k) => `${k}/tailscale/web.<tailnet-domain>`);
const SERVE = "ConfigMap/tailscale/edge-ingress-config#serve-config.json/Services/svc:web";
const WEB_SERVICE = "TailscaleService/svc:web";
const WEB_REPLICAS = "Secret/tailscale/edge-*-config#cap-106.hujson/AdvertiseServices/svc:web";
const DNAT = "ConfigMap/tailscale/edge-ingress-config#ingress-config.json/svc:db";
const DB_SERVICE = "TailscaleService/svc:db";
const DB_REPLICAS = "Secret/tailscale/edge-*-config#cap-106.hujson/AdvertiseServices/svc:db";

/** A backend given as a @pulumi/kubernetes Service resource: the SDK passes what its outputs say. */
const frontend = (revision: Record<string, unknown> = {}) => ({
  namespace: "web",
  name: "frontend",
  revision: {
    uid: "uid-1",
    clusterIPs: ["10.96.0.10"],
    ports: [
      { name: "http", port: 80, protocol: "TCP" },
      { name: "metrics", port: 9090, protocol: "TCP" },
    ],
    ...revision,
  },
});

const ingress = (extra: Record<string, unknown> = {}) => ({
  ownerId: "proj/dev/web",
  hostname: "web",
  proxyGroup: pg,
  defaultBackend: { service: frontend(), port: "http" },
  ...extra,
});

const service = (extra: Record<string, unknown> = {}) => ({
  ownerId: "proj/dev/db",
  hostname: "db",
  proxyGroup: pg,
  service: {
    namespace: "data",
    name: "postgres",
    revision: { uid: "uid-2", clusterIPs: ["10.96.0.20"], ports: [{ name: "pg", port: 5432 }] },
  },
  ...extra,
});

async function planned(kind: string, news: Record<string, unknown>): Promise<Record<string, string>> {
  const r = await provider.check(kind, {}, news);
  assert.deepEqual(r.failures ?? [], []);
  return (r.inputs as { plannedObjects: Record<string, string> }).plannedObjects;
}

/** The planned writes whose fingerprint differs between two previews, new and gone ones included. */
function changed(before: Record<string, string>, after: Record<string, string>): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((k) => before[k] !== after[k]).sort();
}

describe("HA previews list what an up writes", () => {
  it("an HA TailnetIngress: certificate Secret and RBAC, its serve config entry, the Tailscale Service, every replica's config", async () => {
    assert.deepEqual(Object.keys(await planned("TailnetIngress", ingress())), [
      ...CERT,
      SERVE,
      WEB_SERVICE,
      WEB_REPLICAS,
    ]);
    for (const v of Object.values(await planned("TailnetIngress", ingress())))
      assert.match(v, /^[0-9a-f]{12}$/);
  });

  it("an HA TailnetService: the Tailscale Service, its DNAT entry, every replica's config", async () => {
    assert.deepEqual(Object.keys(await planned("TailnetService", service())), [
      DB_SERVICE,
      DNAT,
      DB_REPLICAS,
    ]);
  });

  const rows: { kind: string; name: string; base: () => object; news: object; expected: string[] }[] = [
    // TailnetIngress
    { kind: "TailnetIngress", name: "no change", base: ingress, news: ingress(), expected: [] },
    {
      kind: "TailnetIngress",
      name: "tags: the Tailscale Service",
      base: ingress,
      news: ingress({ tags: ["tag:web"] }),
      expected: [WEB_SERVICE],
    },
    {
      kind: "TailnetIngress",
      name: "httpRedirect: the serve config entry and the service's ports",
      base: ingress,
      news: ingress({ httpRedirect: true }),
      expected: [SERVE, WEB_SERVICE].sort(),
    },
    {
      kind: "TailnetIngress",
      name: "httpEndpoint: the serve config entry and the service's ports",
      base: ingress,
      news: ingress({ httpEndpoint: true }),
      expected: [SERVE, WEB_SERVICE].sort(),
    },
    {
      kind: "TailnetIngress",
      name: "backendProtocol: the serve config entry",
      base: ingress,
      news: ingress({ backendProtocol: "https+insecure" }),
      expected: [SERVE],
    },
    {
      kind: "TailnetIngress",
      name: "another backend port: the serve config entry",
      base: ingress,
      news: ingress({ defaultBackend: { service: frontend(), port: "metrics" } }),
      expected: [SERVE],
    },
    {
      kind: "TailnetIngress",
      name: "rules with paths: the serve config entry",
      base: ingress,
      news: ingress({
        defaultBackend: undefined,
        rules: [{ paths: [{ path: "/api", backend: { service: frontend(), port: 80 } }] }],
      }),
      expected: [SERVE],
    },
    {
      kind: "TailnetIngress",
      name: "the backend Service replaced with a new cluster IP: the serve config entry",
      base: ingress,
      news: ingress({
        defaultBackend: { service: frontend({ uid: "uid-9", clusterIPs: ["10.96.0.11"] }), port: "http" },
      }),
      expected: [SERVE],
    },
    {
      kind: "TailnetIngress",
      name: "the backend Service replaced, same address and ports: nothing is written differently",
      base: ingress,
      news: ingress({ defaultBackend: { service: frontend({ uid: "uid-9" }), port: "http" } }),
      expected: [],
    },
    {
      kind: "TailnetIngress",
      name: "the http port renumbered in the Service: the serve config entry",
      base: ingress,
      news: ingress({
        defaultBackend: { service: frontend({ ports: [{ name: "http", port: 8080 }] }), port: "http" },
      }),
      expected: [SERVE],
    },
    ...(
      [
        ["namespace", { namespace: "elsewhere" }],
        ["proxyClass", { proxyClass: { podLabels: { team: "net" } } }],
        ["waitForCertificate", { waitForCertificate: false }],
        ["customTimeouts", { customTimeouts: { create: "5m" } }],
        ["credentials", { credentials: { kubeconfig: "apiVersion: v1" } }],
      ] as const
    ).map(([field, extra]) => ({
      kind: "TailnetIngress",
      name: `${field}: nothing an HA up writes`,
      base: ingress,
      news: ingress(extra),
      expected: [],
    })),
    {
      kind: "TailnetIngress",
      name: "hostname (a replacement): every write is another",
      base: ingress,
      news: ingress({ hostname: "www" }),
      expected: [
        ...CERT,
        SERVE,
        WEB_SERVICE,
        WEB_REPLICAS,
        ...CERT.map((k) => k.replace("web.", "www.")),
        SERVE.replace("svc:web", "svc:www"),
        WEB_SERVICE.replace("svc:web", "svc:www"),
        WEB_REPLICAS.replace("svc:web", "svc:www"),
      ].sort(),
    },
    // TailnetService
    { kind: "TailnetService", name: "no change", base: service, news: service(), expected: [] },
    {
      kind: "TailnetService",
      name: "tags: the Tailscale Service",
      base: service,
      news: service({ tags: ["tag:db"] }),
      expected: [DB_SERVICE],
    },
    {
      kind: "TailnetService",
      name: "the backend Service replaced with a new cluster IP: the DNAT entry",
      base: service,
      news: service({
        service: {
          namespace: "data",
          name: "postgres",
          revision: { uid: "uid-9", clusterIPs: ["10.96.0.21"] },
        },
      }),
      expected: [DNAT],
    },
    {
      kind: "TailnetService",
      name: "the backend Service made dual-stack: the DNAT entry maps both families",
      base: service,
      news: service({
        service: {
          namespace: "data",
          name: "postgres",
          revision: {
            uid: "uid-2",
            clusterIPs: ["10.96.0.20", "fd00::20"],
            ports: [{ name: "pg", port: 5432 }],
          },
        },
      }),
      expected: [DNAT],
    },
    {
      kind: "TailnetService",
      name: "the backend's ports changed: nothing (the DNAT forwards every port)",
      base: service,
      news: service({
        service: {
          namespace: "data",
          name: "postgres",
          revision: { uid: "uid-2", clusterIPs: ["10.96.0.20"], ports: [{ name: "pg", port: 5433 }] },
        },
      }),
      expected: [],
    },
    ...(
      [
        ["namespace", { namespace: "elsewhere" }],
        ["proxyClass", { proxyClass: { podLabels: { team: "net" } } }],
        ["customTimeouts", { customTimeouts: { update: "5m" } }],
      ] as const
    ).map(([field, extra]) => ({
      kind: "TailnetService",
      name: `${field}: nothing an HA up writes`,
      base: service,
      news: service(extra),
      expected: [],
    })),
  ];
  for (const row of rows) {
    it(`${row.kind}, ${row.name}`, async () => {
      const before = await planned(row.kind, row.base() as Record<string, unknown>);
      const after = await planned(row.kind, row.news as Record<string, unknown>);
      assert.deepEqual(changed(before, after), row.expected);
    });
  }

  it("a check against the state an up left (a no-op preview) plans the same", async () => {
    for (const [kind, news] of [
      ["TailnetIngress", ingress()],
      ["TailnetService", service()],
    ] as const) {
      const first = await provider.check(kind, {}, news);
      const again = await provider.check(kind, first.inputs, news);
      assert.deepEqual(again.inputs.plannedObjects, first.inputs.plannedObjects, kind);
      const diff = await provider.diff(kind, "x", first.inputs, again.inputs);
      assert.equal(diff.changes, false, kind);
    }
  });

  it("a backend Service being created or replaced leaves only the entry planned from it unknown", async () => {
    const known = await planned("TailnetIngress", ingress());
    const unknown = await planned(
      "TailnetIngress",
      ingress({
        defaultBackend: { service: { namespace: "web", name: "frontend", revision: UNKNOWN }, port: "http" },
      }),
    );
    assert.deepEqual(unknown, { ...known, [SERVE]: UNKNOWN });
    // The preview of the Service's own create reports its inputs: ports, no address yet.
    const creating = await planned(
      "TailnetIngress",
      ingress({
        defaultBackend: {
          service: { namespace: "web", name: "frontend", revision: { ports: [{ name: "http", port: 80 }] } },
          port: "http",
        },
      }),
    );
    assert.deepEqual(creating, { ...known, [SERVE]: UNKNOWN });
    const db = await planned(
      "TailnetService",
      service({ service: { namespace: "data", name: "postgres", revision: UNKNOWN } }),
    );
    assert.deepEqual(db, { ...(await planned("TailnetService", service())), [DNAT]: UNKNOWN });
    const pgUnknown = await provider.check("TailnetService", {}, service({ proxyGroup: UNKNOWN }));
    assert.equal(pgUnknown.inputs.plannedObjects, UNKNOWN, "an unknown ProxyGroup leaves everything unknown");
  });
});
