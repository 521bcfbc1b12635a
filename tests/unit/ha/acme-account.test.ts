// The shared ACME account Secret of ProxyGroups (provider/plan/ha/acmeAccount.ts): what a create
// writes, how ProxyGroups of any stack join and leave it, and when the last one deletes it.
import assert from "node:assert/strict";
import {
  ACME_ACCOUNT_USERS,
  type AcmeAccountSecretMeta,
  acmeAccountRelease,
  acmeAccountSecret,
  acmeAccountUsers,
  planProxyGroup,
  proxyGroupObjects,
  renewsWithAri,
  withAcmeAccountUser,
  withoutAcmeAccountUser,
} from "../../../provider/plan/ha";
import type { ProxyGroupInput } from "../../../provider/plan/inputs";

const OURS = { "app.kubernetes.io/managed-by": "pulumi-tailnet" };

/** A live Secret: ours or not, listing `users` (undefined: no annotation), at resourceVersion 7. */
function live(users: string[] | undefined, labels: Record<string, string> = OURS) {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: "tailscale-acme-accounts",
      namespace: "tailscale",
      resourceVersion: "7",
      labels,
      annotations: {
        other: "kept",
        ...(users ? { [ACME_ACCOUNT_USERS]: JSON.stringify(users) } : {}),
      },
    },
    data: { "_default.acme-account.key.pem": "a2V5" },
  };
}

describe("ha/acmeAccount: the shared ACME account Secret", () => {
  it("is created empty (replica 0 writes the key), ours, listing its first user", () => {
    assert.deepEqual(acmeAccountSecret("tailscale", ["p/s/b", "p/s/a", "p/s/a"]), {
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name: "tailscale-acme-accounts",
        namespace: "tailscale",
        labels: OURS,
        annotations: { [ACME_ACCOUNT_USERS]: '["p/s/a","p/s/b"]' },
      },
      type: "Opaque",
    });
  });

  it("is planned, before the StatefulSet, only for a ProxyGroup that shares the account", () => {
    const input: ProxyGroupInput = {
      ownerId: "p/s/pg",
      name: "pg",
      namespace: "edge",
      type: "ingress",
      replicas: 1,
    };
    const ctx = { authKeys: {}, existingAdvertiseServices: {} };
    const kinds = (i: ProxyGroupInput) =>
      proxyGroupObjects(planProxyGroup(i, ctx)).map((o) => `${o.kind}/${o.metadata!.name}`);
    assert.deepEqual(kinds({ ...input, shareAcmeAccount: true }).slice(-3), [
      "ConfigMap/pg-ingress-config",
      "Secret/tailscale-acme-accounts",
      "StatefulSet/pg",
    ]);
    assert.deepEqual(planProxyGroup({ ...input, shareAcmeAccount: true }, ctx).acmeAccountSecret, {
      ...acmeAccountSecret("edge", ["p/s/pg"]),
    });
    assert.equal(kinds(input).includes("Secret/tailscale-acme-accounts"), false);
    assert.equal(planProxyGroup(input, ctx).acmeAccountSecret, undefined);
  });

  const joins: { name: string; users: string[] | undefined; want: string[] | "no write" }[] = [
    { name: "a new user is added, the list kept sorted", users: ["p/s/z"], want: ["p/s/a", "p/s/z"] },
    { name: "a user already listed: no write", users: ["p/s/a"], want: "no write" },
    { name: "no annotation yet (an operator's Secret): the first user", users: undefined, want: ["p/s/a"] },
  ];
  for (const c of joins) {
    it(`join: ${c.name}`, () => {
      const next = withAcmeAccountUser(live(c.users), "p/s/a");
      if (c.want === "no write") return assert.equal(next, undefined);
      assert.ok(next);
      assert.deepEqual(acmeAccountUsers(next), c.want);
      assert.equal(next.metadata.annotations.other, "kept");
      assert.deepEqual(next.data, live(c.users).data, "the account key is kept");
    });
  }

  const leaves: {
    name: string;
    users: string[] | undefined;
    labels?: Record<string, string>;
    left: string[] | "no write";
    release: ReturnType<typeof acmeAccountRelease>;
  }[] = [
    {
      name: "another ProxyGroup still uses it: kept",
      users: ["p/s/a", "q/t/b"],
      left: ["q/t/b"],
      release: { action: "keep" },
    },
    {
      name: "the last user: deleted, only at the version read",
      users: ["p/s/a"],
      left: [],
      release: { action: "delete", resourceVersion: "7" },
    },
    {
      name: "not a user (a retried delete, or it never joined) and nobody left: deleted",
      users: undefined,
      left: "no write",
      release: { action: "delete", resourceVersion: "7" },
    },
    {
      name: "not ours (the operator's), last user: kept",
      users: ["p/s/a"],
      labels: { "tailscale.com/managed": "true" },
      left: [],
      release: { action: "keep" },
    },
  ];
  for (const c of leaves) {
    it(`leave: ${c.name}`, () => {
      const before = live(c.users, c.labels);
      const next = withoutAcmeAccountUser(before, "p/s/a");
      if (c.left === "no write") assert.equal(next, undefined);
      else {
        assert.ok(next);
        assert.deepEqual(acmeAccountUsers(next), c.left);
        if (c.left.length === 0) assert.equal(ACME_ACCOUNT_USERS in next.metadata.annotations, false);
      }
      assert.deepEqual(acmeAccountRelease(next ?? before), c.release);
    });
  }

  it("renewals are ARI (exempt from every limit) only on the StatefulSet of a ProxyGroup sharing the account", () => {
    const input: ProxyGroupInput = { ownerId: "p/s/pg", name: "pg", namespace: "edge", type: "ingress" };
    const ctx = { authKeys: {}, existingAdvertiseServices: {} };
    assert.equal(renewsWithAri(planProxyGroup({ ...input, shareAcmeAccount: true }, ctx).statefulSet), true);
    assert.equal(renewsWithAri(planProxyGroup(input, ctx).statefulSet), false);
    assert.equal(renewsWithAri(undefined), false);
  });

  it("leave: no Secret at all is nothing to do", () => {
    assert.deepEqual(acmeAccountRelease(undefined), { action: "keep" });
  });

  it("an unreadable users annotation lists nobody", () => {
    const bad: AcmeAccountSecretMeta = { metadata: { annotations: { [ACME_ACCOUNT_USERS]: "{not json" } } };
    assert.deepEqual(acmeAccountUsers(bad), []);
    assert.deepEqual(acmeAccountUsers({ metadata: { annotations: { [ACME_ACCOUNT_USERS]: '["a", 1]' } } }), [
      "a",
    ]);
  });
});
