import assert from "node:assert/strict";
import {
  buildTailscaleService,
  checkOwnership,
  joinTokenFor,
  parseOwners,
  releaseOwnership,
  serializeOwners,
  serviceAddresses,
  type TailscaleService,
  tailscaleServiceNeedsPut,
} from "../../../provider/plan/ha";

const KEY = "tailnet.pulumi.com/owners";
const A = { ownerId: "proj/prod/web", clusterId: "cluster-a" };
const B = { ownerId: "proj/prod-eu/web", clusterId: "cluster-b" };

function svc(owners: string | undefined, extra: Record<string, string> = {}): TailscaleService {
  return {
    name: "svc:my-svc",
    addrs: ["100.100.1.1", "fd7a:115c:a1e0::1"],
    comment: "Managed by pulumi-tailnet; do not modify",
    annotations: owners === undefined ? { ...extra } : { ...extra, [KEY]: owners },
    ports: ["tcp:443"],
    tags: ["tag:k8s"],
  };
}

describe("ha/ownership: TestOwnerAnnotations equivalents (ours: tailnet.pulumi.com/owners, explicit joins)", () => {
  it("no service → we become the only owner", () => {
    const r = checkOwnership("svc:my-svc", undefined, A);
    assert.deepEqual(r, {
      ok: true,
      owners: [{ id: "proj/prod/web", cluster: "cluster-a" }],
      added: true,
      shared: false,
    });
    assert.ok(r.ok);
    assert.equal(serializeOwners(r.owners), '{"owners":[{"id":"proj/prod/web","cluster":"cluster-a"}]}');
  });

  it("a service with no annotations is refused, naming it and what to do", () => {
    const r = checkOwnership("svc:my-svc", { name: "svc:my-svc" }, A);
    assert.deepEqual(r, {
      ok: false,
      reason:
        "Tailscale Service svc:my-svc already exists and is not managed by pulumi-tailnet (it has no tailnet.pulumi.com/owners annotation); it was not modified. Choose a different hostname, or delete that Tailscale Service in the admin console if nothing uses it, then run `pulumi up` again.",
    });
  });

  it("already an owner → unchanged", () => {
    const value = '{"owners":[{"id":"proj/prod/web","cluster":"cluster-a"}]}';
    assert.deepEqual(checkOwnership("svc:my-svc", svc(value), A), {
      ok: true,
      owners: [{ id: "proj/prod/web", cluster: "cluster-a" }],
      added: false,
      shared: false,
    });
  });

  it("owned by another stack and no join token → refused (operator issue #16752: equal names never merge)", () => {
    const r = checkOwnership(
      "svc:my-svc",
      svc('{"owners":[{"id":"proj/prod-eu/web","cluster":"cluster-b"}]}'),
      A,
    );
    assert.deepEqual(r, {
      ok: false,
      reason:
        "Tailscale Service svc:my-svc is owned by \"proj/prod-eu/web\" (cluster cluster-b); an equal hostname alone never joins another stack's service. To serve it from this stack as well, set `joinToken` to that resource's `joinToken` output (e.g. through a StackReference); otherwise choose a different hostname.",
    });
  });

  it("MultiCluster: with the owner's join token we append ourselves; other annotations are kept", () => {
    const existing = svc('{"owners":[{"id":"proj/prod-eu/web","cluster":"cluster-b"}]}', {
      "team.example/x": "y",
    });
    const token = joinTokenFor("svc:my-svc", "proj/prod-eu/web");
    const r = checkOwnership("svc:my-svc", existing, A, token);
    assert.equal(r.ok, true);
    const owners = (r as { owners: { id: string; cluster?: string }[] }).owners;
    assert.deepEqual(owners, [
      { id: "proj/prod-eu/web", cluster: "cluster-b" },
      { id: "proj/prod/web", cluster: "cluster-a" },
    ]);
    assert.deepEqual(buildTailscaleService("svc:my-svc", existing, owners, ["tcp:443"], ["tag:k8s"]), {
      name: "svc:my-svc",
      addrs: ["100.100.1.1", "fd7a:115c:a1e0::1"],
      comment: "Managed by pulumi-tailnet; do not modify",
      annotations: {
        "team.example/x": "y",
        [KEY]:
          '{"owners":[{"id":"proj/prod-eu/web","cluster":"cluster-b"},{"id":"proj/prod/web","cluster":"cluster-a"}]}',
      },
      ports: ["tcp:443"],
      tags: ["tag:k8s"],
    });
  });

  it("MultiCluster: deleting one owner PUTs the service back with the other owner; the last owner deletes it", () => {
    const both = svc(
      '{"owners":[{"id":"proj/prod-eu/web","cluster":"cluster-b"},{"id":"proj/prod/web","cluster":"cluster-a"}]}',
    );
    const r = releaseOwnership(both, A);
    assert.deepEqual(r, {
      action: "put",
      remainingOwners: [{ id: "proj/prod-eu/web", cluster: "cluster-b" }],
      service: {
        ...both,
        annotations: { [KEY]: '{"owners":[{"id":"proj/prod-eu/web","cluster":"cluster-b"}]}' },
      },
    });
    const last = (r as { service: TailscaleService }).service;
    assert.deepEqual(releaseOwnership(last, B), { action: "delete" });
  });

  it("a wrong join token is refused", () => {
    const r = checkOwnership(
      "svc:my-svc",
      svc('{"owners":[{"id":"proj/prod-eu/web"}]}'),
      A,
      "0123456789abcdef0123456789abcdef",
    );
    assert.deepEqual(r, {
      ok: false,
      reason:
        'the joinToken given does not match any owner of Tailscale Service svc:my-svc (owned by "proj/prod-eu/web"); use the `joinToken` output of one of those resources.',
    });
  });

  it("a join token is bound to the service name (a token for another name does not join)", () => {
    const other = joinTokenFor("svc:other", "proj/prod-eu/web");
    assert.equal(
      checkOwnership("svc:my-svc", svc('{"owners":[{"id":"proj/prod-eu/web"}]}'), A, other).ok,
      false,
    );
    assert.match(joinTokenFor("svc:my-svc", "proj/prod-eu/web"), /^[0-9a-f]{32}$/);
  });

  it("the same Pulumi resource from another cluster re-attaches without a token", () => {
    const r = checkOwnership(
      "svc:my-svc",
      svc('{"owners":[{"id":"proj/prod/web","cluster":"old-cluster"}]}'),
      A,
    );
    assert.deepEqual(r, {
      ok: true,
      owners: [
        { id: "proj/prod/web", cluster: "old-cluster" },
        { id: "proj/prod/web", cluster: "cluster-a" },
      ],
      added: true,
      shared: true,
    });
  });

  it("an emptied owner list (our own interrupted release) is adopted", () => {
    assert.deepEqual(checkOwnership("svc:my-svc", svc('{"owners":[]}'), A), {
      ok: true,
      owners: [{ id: "proj/prod/web", cluster: "cluster-a" }],
      added: true,
      shared: false,
    });
  });

  it("an unreadable annotation is refused, not overwritten", () => {
    const r = checkOwnership("svc:my-svc", svc("{not json"), A);
    assert.equal(r.ok, false);
    assert.match(
      (r as { reason: string }).reason,
      /^Tailscale Service svc:my-svc has an unreadable tailnet.pulumi.com\/owners annotation \(/,
    );
  });

  it("parses keys case-insensitively, as Go's decoder does", () => {
    assert.deepEqual(parseOwners({ [KEY]: '{"Owners":[{"ID":"a","Cluster":"c"}]}' }), {
      kind: "owners",
      owners: [{ id: "a", cluster: "c" }],
    });
    assert.deepEqual(parseOwners({}), { kind: "absent" });
    assert.deepEqual(parseOwners({ [KEY]: '{"owners":[{"cluster":"c"}]}' }), {
      kind: "invalid",
      error: 'an owner has no "id"',
    });
  });

  it("records the ProxyGroup serving each owner, and reads it tolerantly (older entries lack it)", () => {
    const pg = { namespace: "tailscale", name: "edge" };
    const first = checkOwnership("svc:my-svc", undefined, { ...A, proxyGroup: pg });
    assert.ok(first.ok);
    const value = serializeOwners(first.owners);
    assert.equal(
      value,
      '{"owners":[{"id":"proj/prod/web","cluster":"cluster-a","proxyGroup":{"namespace":"tailscale","name":"edge"}}]}',
    );
    assert.deepEqual(parseOwners({ [KEY]: value }), {
      kind: "owners",
      owners: [{ id: "proj/prod/web", cluster: "cluster-a", proxyGroup: pg }],
    });
    const cases: [string, unknown][] = [
      ["absent (an older version's entry)", undefined],
      ["not an object", "tailscale/edge"],
      ["no name", { namespace: "tailscale" }],
      ["an empty namespace", { namespace: "", name: "edge" }],
      ["a name that is not a string", { namespace: "tailscale", name: 7 }],
    ];
    for (const [what, proxyGroup] of cases) {
      const entry = proxyGroup === undefined ? { id: "a" } : { id: "a", proxyGroup };
      assert.deepEqual(
        parseOwners({ [KEY]: JSON.stringify({ owners: [entry] }) }),
        { kind: "owners", owners: [{ id: "a" }] },
        what,
      );
    }
    assert.deepEqual(
      parseOwners({ [KEY]: '{"owners":[{"id":"a","ProxyGroup":{"Namespace":"n","NAME":"p"}}]}' }),
      { kind: "owners", owners: [{ id: "a", proxyGroup: { namespace: "n", name: "p" } }] },
      "keys case-insensitively, as for the other fields",
    );
  });

  it("rewrites our own entry with the ProxyGroup serving it now, and leaves the others as they are", () => {
    const other = {
      id: "proj/prod-eu/web",
      cluster: "cluster-b",
      proxyGroup: { namespace: "ts", name: "eu" },
    };
    const existing = svc(serializeOwners([{ id: "proj/prod/web", cluster: "cluster-a" }, other]));
    const r = checkOwnership("svc:my-svc", existing, {
      ...A,
      proxyGroup: { namespace: "tailscale", name: "edge" },
    });
    assert.deepEqual(r, {
      ok: true,
      owners: [
        { id: "proj/prod/web", cluster: "cluster-a", proxyGroup: { namespace: "tailscale", name: "edge" } },
        other,
      ],
      added: false,
      shared: true,
    });
    assert.ok(r.ok);
    const desired = buildTailscaleService("svc:my-svc", existing, r.owners, ["tcp:443"], ["tag:k8s"]);
    assert.equal(
      tailscaleServiceNeedsPut(existing, desired),
      true,
      "an older entry is upgraded by the next write",
    );
    const released = releaseOwnership(desired, A);
    assert.equal(released.action, "put");
    assert.deepEqual(
      (released as { remainingOwners: unknown }).remainingOwners,
      [other],
      "others keep theirs",
    );
  });

  it("release leaves services we do not own alone", () => {
    assert.deepEqual(releaseOwnership(svc(undefined), A), {
      action: "none",
      reason: "Tailscale Service svc:my-svc is not marked as ours; left untouched",
    });
    assert.deepEqual(releaseOwnership(svc('{"owners":[{"id":"someone/else/x"}]}'), A), {
      action: "none",
      reason: "this resource is not an owner of Tailscale Service svc:my-svc",
    });
  });

  it("release without a cluster id removes every entry of the owner", () => {
    const s = svc('{"owners":[{"id":"proj/prod/web","cluster":"x"},{"id":"proj/prod/web","cluster":"y"}]}');
    assert.deepEqual(releaseOwnership(s, { ownerId: "proj/prod/web" }), { action: "delete" });
  });
});

describe("ha/ownership: PUT decisions and addresses", () => {
  it("tailscaleServiceNeedsPut compares tags, ports (ordered), comment and owners, not addrs", () => {
    const base = svc('{"owners":[{"id":"proj/prod/web","cluster":"cluster-a"}]}');
    assert.equal(tailscaleServiceNeedsPut(undefined, base), true);
    assert.equal(tailscaleServiceNeedsPut(base, { ...base, addrs: [] }), false);
    assert.equal(tailscaleServiceNeedsPut(base, { ...base, tags: ["tag:other"] }), true);
    assert.equal(tailscaleServiceNeedsPut(base, { ...base, ports: ["tcp:443", "tcp:80"] }), true);
    assert.equal(
      tailscaleServiceNeedsPut(
        { ...base, ports: ["tcp:80", "tcp:443"] },
        { ...base, ports: ["tcp:443", "tcp:80"] },
      ),
      true,
    );
    assert.equal(tailscaleServiceNeedsPut(base, { ...base, comment: "x" }), true);
    assert.equal(tailscaleServiceNeedsPut(base, { ...base, annotations: { [KEY]: '{"owners":[]}' } }), true);
  });

  it("serviceAddresses keeps the last IPv4 and the last IPv6", () => {
    assert.deepEqual(serviceAddresses(["100.1.1.1", "fd7a::1", "100.2.2.2", "fd7a::2"]), {
      ipv4: "100.2.2.2",
      ipv6: "fd7a::2",
    });
    assert.deepEqual(serviceAddresses(undefined), { ipv4: undefined, ipv6: undefined });
  });

  it("a new service's PUT body has no addrs (control allocates them)", () => {
    assert.deepEqual(
      buildTailscaleService("svc:x", undefined, [{ id: "o" }], ["do-not-validate"], ["tag:k8s"]),
      {
        name: "svc:x",
        comment: "Managed by pulumi-tailnet; do not modify",
        annotations: { [KEY]: '{"owners":[{"id":"o"}]}' },
        ports: ["do-not-validate"],
        tags: ["tag:k8s"],
      },
    );
  });
});
