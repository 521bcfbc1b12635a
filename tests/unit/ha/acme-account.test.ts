// The shared ACME account Secret of ProxyGroups (provider/plan/ha/acmeAccount.ts): what a create
// writes, how ProxyGroups of any stack join and leave it, and when the last one deletes it.
import assert from "node:assert/strict";
import {
  ACME_ACCOUNT_JOINING,
  ACME_ACCOUNT_USERS,
  type AcmeAccountLeave,
  type AcmeAccountSecretMeta,
  type AcmeAccountStage,
  acmeAccountJoining,
  acmeAccountSecret,
  acmeAccountSecretFor,
  acmeAccountUsers,
  planAcmeAccountLeave,
  planProxyGroup,
  proxyGroupObjects,
  proxyGroupStatefulSets,
  renewsWithAri,
  withAcmeAccountUser,
} from "../../../provider/plan/ha";
import type { ProxyGroupInput } from "../../../provider/plan/inputs";
import { ownerHash } from "../../../provider/plan/labels";

const OURS = { "app.kubernetes.io/managed-by": "pulumi-tailnet" };

/**
 * A live Secret: ours or not, listing `users` (undefined: no annotation) and `joining`, at
 * resourceVersion 7.
 */
function live(users: string[] | undefined, labels: Record<string, string> = OURS, joining: string[] = []) {
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
        ...(joining.length > 0 ? { [ACME_ACCOUNT_JOINING]: JSON.stringify(joining) } : {}),
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

  it("a join creates it listing its user, as joining only before the StatefulSet is written", () => {
    assert.deepEqual(acmeAccountSecretFor("edge", "p/s/a", "running"), acmeAccountSecret("edge", ["p/s/a"]));
    const joining = acmeAccountSecretFor("edge", "p/s/a", "joining");
    assert.deepEqual(acmeAccountUsers(joining), ["p/s/a"]);
    assert.deepEqual(acmeAccountJoining(joining), ["p/s/a"]);
  });

  const joins: {
    name: string;
    users: string[] | undefined;
    joining?: string[];
    stage: AcmeAccountStage;
    want: { users: string[]; joining: string[] } | "no write";
  }[] = [
    {
      name: "a new user is added as joining, the list kept sorted",
      users: ["p/s/z"],
      stage: "joining",
      want: { users: ["p/s/a", "p/s/z"], joining: ["p/s/a"] },
    },
    {
      name: "a listed user joins again (an update): marked joining, so its running write changes the Secret",
      users: ["p/s/a"],
      stage: "joining",
      want: { users: ["p/s/a"], joining: ["p/s/a"] },
    },
    {
      name: "already joining: no write",
      users: ["p/s/a"],
      joining: ["p/s/a"],
      stage: "joining",
      want: "no write",
    },
    {
      name: "no annotation yet (an operator's Secret): the first user",
      users: undefined,
      stage: "joining",
      want: { users: ["p/s/a"], joining: ["p/s/a"] },
    },
    {
      name: "running: no longer joining, the other joiners kept",
      users: ["p/s/a", "q/t/b"],
      joining: ["p/s/a", "q/t/b"],
      stage: "running",
      want: { users: ["p/s/a", "q/t/b"], joining: ["q/t/b"] },
    },
    {
      name: "running after a leave dropped it meanwhile: listed again",
      users: ["q/t/b"],
      stage: "running",
      want: { users: ["p/s/a", "q/t/b"], joining: [] },
    },
    {
      name: "running, listed and not joining: no write",
      users: ["p/s/a"],
      stage: "running",
      want: "no write",
    },
  ];
  for (const c of joins) {
    it(`join: ${c.name}`, () => {
      const next = withAcmeAccountUser(live(c.users, OURS, c.joining), "p/s/a", c.stage);
      if (c.want === "no write") return assert.equal(next, undefined);
      assert.ok(next);
      assert.deepEqual({ users: acmeAccountUsers(next), joining: acmeAccountJoining(next) }, c.want);
      if (c.want.joining.length === 0) assert.equal(ACME_ACCOUNT_JOINING in next.metadata.annotations, false);
      assert.equal(next.metadata.annotations.other, "kept");
      assert.deepEqual(next.data, live(c.users).data, "the account key is kept");
    });
  }

  /** A ProxyGroup StatefulSet `name` of `ownerId`, as the list of proxyGroupStatefulSets returns it. */
  const sts = (name: string, ownerId: string) => ({
    metadata: { name, labels: { "tailnet.pulumi.com/owner": ownerHash(ownerId) } },
  });
  const leaver = { ownerId: "p/s/a", name: "pg-a" };
  const leaves: {
    name: string;
    users: string[] | undefined;
    joining?: string[];
    labels?: Record<string, string>;
    statefulSets: ReturnType<typeof sts>[];
    want:
      | { action: "keep" }
      | { action: "delete"; dropped: string[] }
      | { users: string[]; joining: string[]; dropped: string[] };
  }[] = [
    {
      name: "another ProxyGroup with a StatefulSet still uses it: kept, without the leaver",
      users: ["p/s/a", "q/t/b"],
      statefulSets: [sts("pg-b", "q/t/b")],
      want: { users: ["q/t/b"], joining: [], dropped: [] },
    },
    {
      name: "the last user: deleted, only at the version read",
      users: ["p/s/a"],
      statefulSets: [],
      want: { action: "delete", dropped: [] },
    },
    {
      name: "the last real user beside a phantom one (no StatefulSet: a killed host's join): deleted",
      users: ["p/s/a", "q/t/killed"],
      joining: ["q/t/killed"],
      statefulSets: [sts("pg-other", "r/u/not-a-user")],
      want: { action: "delete", dropped: ["q/t/killed"] },
    },
    {
      name: "a phantom user is dropped while a real one keeps it, with its joining mark",
      users: ["p/s/a", "q/t/b", "q/t/killed"],
      joining: ["q/t/b", "q/t/killed"],
      statefulSets: [sts("pg-b", "q/t/b")],
      want: { users: ["q/t/b"], joining: ["q/t/b"], dropped: ["q/t/killed"] },
    },
    {
      name: "not a user (a retried delete, or it never joined) and nobody left: deleted",
      users: undefined,
      statefulSets: [],
      want: { action: "delete", dropped: [] },
    },
    {
      name: "not a user, and everyone listed runs: nothing to write",
      users: ["q/t/b"],
      statefulSets: [sts("pg-b", "q/t/b")],
      want: { action: "keep" },
    },
    {
      name: "the leaver's own StatefulSet (sharing turned off in an update) does not keep it",
      users: ["p/s/a"],
      statefulSets: [sts("pg-a", "p/s/a")],
      want: { action: "delete", dropped: [] },
    },
    {
      name: "a StatefulSet of the leaver's owner under another name (create-before-delete replacement): kept as is",
      users: ["p/s/a"],
      statefulSets: [sts("pg-a2", "p/s/a")],
      want: { action: "keep" },
    },
    {
      name: "not ours (the operator's), last user: kept, our marks gone",
      users: ["p/s/a", "q/t/killed"],
      joining: ["q/t/killed"],
      labels: { "tailscale.com/managed": "true" },
      statefulSets: [],
      want: { users: [], joining: [], dropped: ["q/t/killed"] },
    },
  ];
  for (const c of leaves) {
    it(`leave: ${c.name}`, () => {
      const before = live(c.users, c.labels, c.joining);
      const got: AcmeAccountLeave<typeof before> = planAcmeAccountLeave(before, leaver, c.statefulSets);
      if ("action" in c.want) {
        const want = c.want.action === "delete" ? { ...c.want, resourceVersion: "7" } : c.want;
        return assert.deepEqual(got, want);
      }
      assert.equal(got.action, "write");
      if (got.action !== "write") return;
      const { secret, dropped } = got;
      assert.deepEqual(
        { users: acmeAccountUsers(secret), joining: acmeAccountJoining(secret), dropped },
        c.want,
      );
      if (c.want.users.length === 0) assert.equal(ACME_ACCOUNT_USERS in secret.metadata.annotations, false);
      assert.equal(secret.metadata.annotations.other, "kept");
      assert.deepEqual(secret.data, before.data, "the account key is kept");
      assert.equal(secret.metadata.resourceVersion, "7", "written at the version read");
    });
  }

  it("leave: no Secret at all is nothing to do", () => {
    assert.deepEqual(planAcmeAccountLeave(undefined, leaver, []), { action: "keep" });
  });

  it("leave reads the ProxyGroup StatefulSets of the namespace, by this version's labels and older ones'", () => {
    assert.deepEqual(proxyGroupStatefulSets("edge"), {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      namespace: "edge",
      labels: {
        "tailnet.pulumi.com/parent-resource-type": "proxygroup",
        "app.kubernetes.io/managed-by": "pulumi-tailnet",
      },
      legacyLabels: {
        "tailscale.com/parent-resource-type": "proxygroup",
        "app.kubernetes.io/managed-by": "pulumi-tailnet",
        "tailscale.com/managed": "true",
      },
    });
  });

  it("renewals are ARI (exempt from every limit) only on the StatefulSet of a ProxyGroup sharing the account", () => {
    const input: ProxyGroupInput = { ownerId: "p/s/pg", name: "pg", namespace: "edge", type: "ingress" };
    const ctx = { authKeys: {}, existingAdvertiseServices: {} };
    assert.equal(renewsWithAri(planProxyGroup({ ...input, shareAcmeAccount: true }, ctx).statefulSet), true);
    assert.equal(renewsWithAri(planProxyGroup(input, ctx).statefulSet), false);
    assert.equal(renewsWithAri(undefined), false);
  });

  it("an unreadable users annotation lists nobody", () => {
    const bad: AcmeAccountSecretMeta = { metadata: { annotations: { [ACME_ACCOUNT_USERS]: "{not json" } } };
    assert.deepEqual(acmeAccountUsers(bad), []);
    assert.deepEqual(acmeAccountUsers({ metadata: { annotations: { [ACME_ACCOUNT_USERS]: '["a", 1]' } } }), [
      "a",
    ]);
  });
});
