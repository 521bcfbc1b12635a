// The shared ACME account Secret joined and left by ProxyGroups of several stacks at once (two
// clients, as two `pulumi up` processes are, so their edits really race and lose with 409), while a
// replica writes the account key into it: every join is kept, the last leave deletes it, a user left
// behind by a killed host does not keep it, and an operator's Secret is shared but never deleted
// (provider/resources/ha/acmeAccount.ts).
import assert from "node:assert/strict";
import * as provider from "../../provider";
import { kubeFor } from "../../provider/credentials";
import type { Kube } from "../../provider/kube";
import { ACME_ACCOUNT_JOINING, ACME_ACCOUNT_USERS } from "../../provider/plan/ha";
import { ownerHash } from "../../provider/plan/labels";
import { joinAcmeAccount, leaveAcmeAccount } from "../../provider/resources/ha/acmeAccount";
import { type LocalWorld, startLocalWorld } from "../support/world";

const NS = "tailscale";
const SECRET = "tailscale-acme-accounts";

describe("the shared ACME account Secret under concurrent users", function () {
  this.timeout(60_000);
  let world: LocalWorld;

  before(async () => {
    world = await startLocalWorld();
    world.kube.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
  });
  after(async () => {
    await world?.stop();
  });

  const live = () => world.kube.getObject("v1", "Secret", NS, SECRET);
  const users = () => JSON.parse(live()?.metadata.annotations?.[ACME_ACCOUNT_USERS] ?? "[]");
  const stacks = Array.from({ length: 6 }, (_, i) => `proj/stack-${i}/edge`);
  const pgName = (ownerId: string) => ownerId.replaceAll("/", "-");
  /** The StatefulSet of the ProxyGroup of `ownerId` (no replicas: only its existence matters here). */
  const statefulSet = (ownerId: string) => ({
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: {
      name: pgName(ownerId),
      namespace: NS,
      labels: {
        "tailnet.pulumi.com/parent-resource-type": "proxygroup",
        "app.kubernetes.io/managed-by": "pulumi-tailnet",
        "tailnet.pulumi.com/owner": ownerHash(ownerId),
      },
    },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: ownerHash(ownerId) } },
      template: {
        metadata: { labels: { app: ownerHash(ownerId) } },
        spec: { containers: [{ name: "c", image: "x" }] },
      },
    },
  });
  /** What a ProxyGroup's create does: join, write its StatefulSet, then say it runs. */
  const create = async (kube: Kube, ownerId: string) => {
    await joinAcmeAccount(kube, NS, ownerId, "joining");
    world.kube.seed(statefulSet(ownerId));
    await joinAcmeAccount(kube, NS, ownerId, "running");
  };
  /** What its delete does: remove the StatefulSet, then leave. */
  const remove = async (kube: Kube, ownerId: string) => {
    world.kube.remove("apps/v1", "StatefulSet", NS, pgName(ownerId));
    await leaveAcmeAccount(kube, NS, { ownerId, name: pgName(ownerId) });
  };

  it("keeps every concurrent join, survives a replica's write, and the last leave deletes it", async () => {
    const clients = [
      kubeFor(world.credentials),
      kubeFor({ ...world.credentials, kubeconfig: world.deployer.kubeconfig() }),
    ];
    const via = (i: number) => clients[i % 2]!;
    await Promise.all(stacks.map((s, i) => create(via(i), s)));
    assert.deepEqual(users(), [...stacks].sort());
    assert.equal(live()?.metadata.annotations?.[ACME_ACCOUNT_JOINING], undefined, "all of them run");
    assert.equal(live()?.metadata.labels?.["app.kubernetes.io/managed-by"], "pulumi-tailnet");

    // Replica 0 stores the key (another writer); then all but the last leave while a new one joins.
    const key = Buffer.from("-----BEGIN PRIVATE KEY-----\n").toString("base64");
    const admin = kubeFor({ kubeconfig: world.adminKubeconfig });
    await admin.readModifyWrite({ apiVersion: "v1", kind: "Secret", namespace: NS, name: SECRET }, (o) => ({
      ...o,
      data: { "_default.acme-account.key.pem": key },
    }));
    const late = "proj/late/edge";
    await Promise.all([...stacks.slice(0, -1).map((s, i) => remove(via(i), s)), create(via(1), late)]);
    assert.deepEqual(users(), [stacks.at(-1), late].sort());
    assert.equal(live()?.data?.["_default.acme-account.key.pem"], key, "the account key is kept");

    // The two remaining users leave at once (one twice, as a retried delete does): it is gone.
    await Promise.all([remove(via(0), late), remove(via(1), stacks.at(-1)!), remove(via(0), stacks.at(-1)!)]);
    assert.equal(live(), undefined);
    await remove(via(0), late);
  });

  it("a user a killed host left behind (joined, no StatefulSet) does not keep it: the last real one deletes it", async () => {
    // The killed create: it joined, and its host died before the StatefulSet; the program then dropped it.
    await joinAcmeAccount(kubeFor(world.credentials), NS, "proj/killed/edge", "joining");
    const checked = await provider.check(
      "ProxyGroup",
      {},
      {
        ownerId: "proj/dev/edge",
        name: "edge",
        namespace: NS,
        type: "ingress",
        replicas: 1,
        shareAcmeAccount: true,
        credentials: world.credentials,
        customTimeouts: { create: "30s", update: "30s", delete: "30s" },
      },
    );
    assert.deepEqual(checked.failures ?? [], []);
    const { id, outs } = await provider.create("ProxyGroup", checked.inputs);
    assert.deepEqual(users(), ["proj/dev/edge", "proj/killed/edge"]);
    assert.equal(
      live()?.metadata.annotations?.[ACME_ACCOUNT_JOINING],
      '["proj/killed/edge"]',
      "the phantom never ran",
    );

    await provider.remove("ProxyGroup", id, outs);
    assert.equal(live(), undefined, "the phantom user is dropped and the Secret deleted");
    world.assertNothingLeft();
  });

  it("shares a Secret it did not create (an operator's) and never deletes it", async () => {
    world.kube.seed({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: SECRET, namespace: NS, labels: { "tailscale.com/managed": "true" } },
    });
    const kube = kubeFor(world.credentials);
    await create(kube, stacks[0]!);
    assert.deepEqual(users(), [stacks[0]]);
    await remove(kube, stacks[0]!);
    assert.ok(live(), "still there");
    assert.equal(live()?.metadata.annotations?.[ACME_ACCOUNT_USERS], undefined, "our mark is gone");
    world.kube.remove("v1", "Secret", NS, SECRET);
  });
});
