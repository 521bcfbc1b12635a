import assert from "node:assert/strict";
import { type DiffClassification, diffTailnetIngress, diffTailnetService } from "../../provider/plan/diff";
import { UNKNOWN } from "../../provider/plan/inputs";

const svcOld = {
  ownerId: "proj/dev/db",
  service: { namespace: "default", name: "db" },
  schemaVersion: 1,
  deviceId: "n123",
  credentials: { tailscaleApiKey: "old" },
  customTimeouts: { create: "600s", update: "600s", delete: "600s" },
  __provider: "old-code",
};
const svcNew = (over: Record<string, unknown> = {}) => ({
  ownerId: "proj/dev/db",
  service: { namespace: "default", name: "db" },
  customTimeouts: { create: "600s", update: "600s", delete: "600s" },
  __provider: "new-code",
  ...over,
});

type Row = {
  name: string;
  olds?: Record<string, unknown>;
  news: Record<string, unknown>;
  replaces: string[];
  deleteBeforeReplace: boolean;
  kinds: Record<string, string>;
};

function check(d: DiffClassification, row: Row) {
  assert.deepEqual(
    Object.fromEntries(Object.entries(d.detailedDiff).map(([k, v]) => [k, v.kind])),
    row.kinds,
    "detailedDiff kinds",
  );
  assert.deepEqual(d.replaces, row.replaces);
  assert.equal(d.deleteBeforeReplace, row.deleteBeforeReplace);
  assert.equal(d.changes, Object.keys(row.kinds).length > 0);
  for (const v of Object.values(d.detailedDiff)) assert.ok(v.reason.length > 0);
}

describe("diffTailnetService", () => {
  const rows: Row[] = [
    {
      name: "no change; credentials, __provider, extra outputs and customTimeouts spelt differently ignored",
      news: svcNew({
        credentials: { tailscaleApiKey: "rotated" },
        customTimeouts: { create: "10m", update: "600s", delete: "0.1666666666666666666h" },
      }),
      replaces: [],
      deleteBeforeReplace: false,
      kinds: {},
    },
    {
      name: "a new delete timeout: an update that only records it",
      news: svcNew({ customTimeouts: { create: "10m", update: "10m", delete: "20m" } }),
      replaces: [],
      deleteBeforeReplace: false,
      kinds: { customTimeouts: "update" },
    },
    {
      name: "explicit default tags and hostname equal to the derived one: no change",
      news: svcNew({ tags: ["tag:k8s"] }),
      replaces: [],
      deleteBeforeReplace: false,
      kinds: {},
    },
    {
      name: "hostname spelled out with the derived value: update, not replace",
      news: svcNew({ hostname: "default-db" }),
      replaces: [],
      deleteBeforeReplace: false,
      kinds: { hostname: "add" },
    },
    {
      name: "new hostname: replace, create before delete",
      news: svcNew({ hostname: "db2" }),
      replaces: ["hostname"],
      deleteBeforeReplace: false,
      kinds: { hostname: "add-replace" },
    },
    {
      name: "tags change (standalone): replace, same hostname so delete first",
      news: svcNew({ tags: ["tag:db"] }),
      replaces: ["tags"],
      deleteBeforeReplace: true,
      kinds: { tags: "add-replace" },
    },
    {
      name: "namespace change: replace, delete first",
      news: svcNew({ namespace: "proxies" }),
      replaces: ["namespace"],
      deleteBeforeReplace: true,
      kinds: { namespace: "add-replace" },
    },
    {
      name: "namespace spelled out as the backend's: update only",
      news: svcNew({ namespace: "default" }),
      replaces: [],
      deleteBeforeReplace: false,
      kinds: { namespace: "add" },
    },
    {
      name: "backend Service renamed with an explicit hostname: in place (TS_DEST_IP)",
      olds: { ...svcOld, hostname: "db" },
      news: svcNew({ hostname: "db", service: { namespace: "default", name: "db-v2" } }),
      replaces: [],
      deleteBeforeReplace: false,
      kinds: { service: "update" },
    },
    {
      name: "backend Service renamed, hostname derived from it: replace, new name so create first",
      news: svcNew({ service: { namespace: "default", name: "db-v2" } }),
      replaces: ["service"],
      deleteBeforeReplace: false,
      kinds: { service: "update-replace" },
    },
    {
      name: "backend moves namespace with explicit hostname: proxy moves too (replace, delete first)",
      olds: { ...svcOld, hostname: "db" },
      news: svcNew({ hostname: "db", service: { namespace: "other", name: "db" } }),
      replaces: ["service"],
      deleteBeforeReplace: true,
      kinds: { service: "update-replace" },
    },
    {
      name: "proxyClass: in place",
      news: svcNew({ proxyClass: { firewallMode: "nftables" } }),
      replaces: [],
      deleteBeforeReplace: false,
      kinds: { proxyClass: "add" },
    },
    {
      name: "standalone → ProxyGroup: migration, create before delete even with the same hostname",
      news: svcNew({ proxyGroup: { name: "pg", namespace: "tailscale" } }),
      replaces: ["proxyGroup"],
      deleteBeforeReplace: false,
      kinds: { proxyGroup: "add-replace" },
    },
    {
      name: "ProxyGroup → standalone: migration",
      olds: { ...svcOld, proxyGroup: { name: "pg", namespace: "tailscale" } },
      news: svcNew(),
      replaces: ["proxyGroup"],
      deleteBeforeReplace: false,
      kinds: { proxyGroup: "delete-replace" },
    },
    {
      name: "ProxyGroup A → B with the same Tailscale Service: replace, delete first",
      olds: { ...svcOld, proxyGroup: { name: "a", namespace: "tailscale" } },
      news: svcNew({ proxyGroup: { name: "b", namespace: "tailscale" } }),
      replaces: ["proxyGroup"],
      deleteBeforeReplace: true,
      kinds: { proxyGroup: "update-replace" },
    },
    {
      name: "HA: tags update the Tailscale Service in place; namespace ignored",
      olds: { ...svcOld, proxyGroup: { name: "a", namespace: "tailscale" } },
      news: svcNew({ proxyGroup: { name: "a", namespace: "tailscale" }, tags: ["tag:x"], namespace: "x" }),
      replaces: [],
      deleteBeforeReplace: false,
      kinds: { tags: "add", namespace: "add" },
    },
    {
      name: "ownerId change: replace",
      news: svcNew({ ownerId: "proj/prod/db" }),
      replaces: ["ownerId"],
      deleteBeforeReplace: true,
      kinds: { ownerId: "update-replace" },
    },
    {
      name: "unknown hostname: replace, delete first (it may stay the same)",
      news: svcNew({ hostname: UNKNOWN }),
      replaces: ["hostname"],
      deleteBeforeReplace: true,
      kinds: { hostname: "add-replace" },
    },
    {
      name: "unknown nested backend name with derived hostname: replace",
      news: svcNew({ service: { namespace: "default", name: UNKNOWN } }),
      replaces: ["service"],
      deleteBeforeReplace: true,
      kinds: { service: "update-replace" },
    },
    {
      name: "unknown proxyClass field: update",
      news: svcNew({ proxyClass: { image: UNKNOWN } }),
      replaces: [],
      deleteBeforeReplace: false,
      kinds: { proxyClass: "add" },
    },
    {
      name: "unknown tags: replace",
      news: svcNew({ tags: UNKNOWN }),
      replaces: ["tags"],
      deleteBeforeReplace: true,
      kinds: { tags: "add-replace" },
    },
  ];
  for (const row of rows) it(row.name, () => check(diffTailnetService(row.olds ?? svcOld, row.news), row));

  it("explains the -1 suffix when deleting first", () => {
    const d = diffTailnetService(svcOld, svcNew({ tags: ["tag:db"] }));
    assert.match(d.detailedDiff.tags!.reason, /-1 suffix/);
  });
});

const ingOld = {
  ownerId: "proj/dev/web",
  defaultBackend: { service: { namespace: "default", name: "web" }, port: 80 },
  schemaVersion: 1,
  magicDnsName: "web.tailnet.ts.net",
};
const ingNew = (over: Record<string, unknown> = {}) => ({
  ownerId: "proj/dev/web",
  defaultBackend: { service: { namespace: "default", name: "web" }, port: 80 },
  ...over,
});

describe("diffTailnetIngress", () => {
  const rows: Row[] = [
    { name: "no change", news: ingNew(), replaces: [], deleteBeforeReplace: false, kinds: {} },
    {
      name: "funnel false and waitForCertificate true are the defaults: no change",
      news: ingNew({ funnel: false, httpRedirect: false, waitForCertificate: true }),
      replaces: [],
      deleteBeforeReplace: false,
      kinds: {},
    },
    {
      name: "serve-config-only changes are in place",
      news: ingNew({
        defaultBackend: { service: { namespace: "default", name: "web2" }, port: 8080 },
        rules: [
          {
            paths: [{ path: "/api", backend: { service: { namespace: "default", name: "api" }, port: 80 } }],
          },
        ],
        funnel: true,
        httpRedirect: true,
        backendProtocol: "https",
      }),
      replaces: [],
      deleteBeforeReplace: false,
      kinds: {
        defaultBackend: "update",
        rules: "add",
        funnel: "add",
        httpRedirect: "add",
        backendProtocol: "add",
      },
    },
    {
      name: "hostname: replace, create first",
      news: ingNew({ hostname: "www" }),
      replaces: ["hostname"],
      deleteBeforeReplace: false,
      kinds: { hostname: "add-replace" },
    },
    {
      name: "rule host changes the derived hostname: replace",
      olds: {
        ...ingOld,
        defaultBackend: undefined,
        rules: [{ host: "a.ts.net", paths: [{ path: "/", backend: ingOld.defaultBackend }] }],
      },
      news: ingNew({
        defaultBackend: undefined,
        rules: [{ host: "b.ts.net", paths: [{ path: "/", backend: ingOld.defaultBackend }] }],
      }),
      replaces: ["rules"],
      deleteBeforeReplace: false,
      kinds: { rules: "update-replace" },
    },
    {
      name: "default backend moves namespace: the proxy moves (replace, delete first)",
      news: ingNew({ defaultBackend: { service: { namespace: "other", name: "web" }, port: 80 } }),
      replaces: ["defaultBackend"],
      deleteBeforeReplace: true,
      kinds: { defaultBackend: "update-replace" },
    },
    {
      name: "tags: replace, delete first",
      news: ingNew({ tags: ["tag:web"] }),
      replaces: ["tags"],
      deleteBeforeReplace: true,
      kinds: { tags: "add-replace" },
    },
    {
      name: "tags and hostname together: create first (new name)",
      news: ingNew({ tags: ["tag:web"], hostname: "www" }),
      replaces: ["hostname", "tags"],
      deleteBeforeReplace: false,
      kinds: { hostname: "add-replace", tags: "add-replace" },
    },
    {
      name: "migration to a ProxyGroup: create first",
      news: ingNew({ proxyGroup: { name: "pg", namespace: "tailscale" } }),
      replaces: ["proxyGroup"],
      deleteBeforeReplace: false,
      kinds: { proxyGroup: "add-replace" },
    },
    {
      name: "unknown proxyGroup: replace, delete first (the name may stay)",
      news: ingNew({ proxyGroup: UNKNOWN }),
      replaces: ["proxyGroup"],
      deleteBeforeReplace: true,
      kinds: { proxyGroup: "add-replace" },
    },
    {
      name: "unknown rules while hostname and namespace derive from them: replace, delete first",
      news: ingNew({ rules: UNKNOWN }),
      replaces: ["rules"],
      deleteBeforeReplace: true,
      kinds: { rules: "add-replace" },
    },
    {
      name: "unknown rules with an explicit hostname and namespace: update",
      olds: { ...ingOld, hostname: "web", namespace: "default" },
      news: ingNew({ hostname: "web", namespace: "default", rules: UNKNOWN }),
      replaces: [],
      deleteBeforeReplace: false,
      kinds: { rules: "add" },
    },
  ];
  for (const row of rows) it(row.name, () => check(diffTailnetIngress(row.olds ?? ingOld, row.news), row));
});

describe("the Diff after a refresh's Read (plan/refresh.ts)", () => {
  const inputs = {
    ownerId: "proj/dev/web",
    hostname: "web",
    defaultBackend: { service: { namespace: "a", name: "web" }, port: 80 },
  };
  const cert = (notAfter: string, serialNumber: string) => ({
    state: "issued",
    domain: "web.t.ts.net",
    notAfter,
    serialNumber,
  });
  const before = {
    ...inputs,
    deviceId: "n1",
    fqdn: "web.t.ts.net",
    tailnetIPs: ["100.64.0.1"],
    certificate: cert("2026-12-01T00:00:00Z", "01"),
  };
  const renewed = { ...before, certificate: cert("2027-03-01T00:00:00Z", "02") };
  const refreshedFrom = {
    deviceId: "n1",
    fqdn: "web.t.ts.net",
    tailnetIPs: ["100.64.0.1"],
    addresses: null,
    certificate: before.certificate,
  };

  it("reports a certificate the refresh read anew as an update, saying what changed", () => {
    const d = diffTailnetIngress({ ...renewed, refreshedFrom }, inputs);
    assert.equal(d.changes, true);
    assert.deepEqual(d.replaces, []);
    assert.equal(d.detailedDiff.certificate?.kind, "update");
    assert.match(
      d.detailedDiff.certificate!.reason,
      /notAfter "2026-12-01T00:00:00Z" → "2027-03-01T00:00:00Z"/,
    );
  });

  it("reports a replaced device (a new device id and addresses)", () => {
    const from = {
      deviceId: "n123",
      fqdn: null,
      tailnetIPs: ["100.64.0.1"],
      addresses: null,
      certificate: null,
    };
    const d = diffTailnetService(
      { ...svcOld, deviceId: "n2", tailnetIPs: ["100.64.0.9"], refreshedFrom: from },
      svcNew(),
    );
    assert.deepEqual(Object.keys(d.detailedDiff), ["deviceId", "tailnetIPs"]);
  });

  it("reports nothing when the refresh read the same, after an ordinary up, or in the up after the refresh", () => {
    assert.equal(diffTailnetIngress({ ...before, refreshedFrom }, inputs).changes, false);
    assert.equal(
      diffTailnetIngress(renewed, inputs).changes,
      false,
      "outputs of create or update: no refresh record",
    );
    const observed = { ...refreshedFrom, certificate: renewed.certificate };
    assert.equal(diffTailnetIngress({ ...renewed, refreshedFrom }, { ...inputs, observed }).changes, false);
  });

  it("reports a standalone layer-3 proxy that forwards less than its backend's families ask for, in the up after the refresh too", () => {
    const forwardingRead = { forwarded: ["100.64.0.1"], planned: ["100.64.0.1", "fd7a:115c:a1e0::1"] };
    const d = diffTailnetService({ ...svcOld, forwardingRead }, svcNew());
    assert.deepEqual(Object.keys(d.detailedDiff), ["forwardingRead"]);
    assert.equal(d.detailedDiff.forwardingRead!.kind, "update");
    assert.match(
      d.detailedDiff.forwardingRead!.reason,
      /forwards \["100.64.0.1"\].*rewrites its DNAT config/,
    );
    assert.equal(
      diffTailnetService({ ...svcOld, forwardingRead: { forwarded: [] } }, svcNew()).changes,
      false,
      "not a record this version wrote",
    );
  });
});
