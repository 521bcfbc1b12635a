// The shared ACME account Secret joined and left by ProxyGroups of several stacks at once (two
// clients, as two `pulumi up` processes are, so their edits really race and lose with 409), while a
// replica writes the account key into it: every join is kept, the last leave deletes it, and an
// operator's Secret is shared but never deleted (provider/resources/ha/acmeAccount.ts).
import assert from "node:assert/strict";
import { kubeFor } from "../../provider/credentials";
import { ACME_ACCOUNT_USERS } from "../../provider/plan/ha";
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

  it("keeps every concurrent join, survives a replica's write, and the last leave deletes it", async () => {
    const clients = [
      kubeFor(world.credentials),
      kubeFor({ ...world.credentials, kubeconfig: world.deployer.kubeconfig() }),
    ];
    const via = (i: number) => clients[i % 2]!;
    await Promise.all(stacks.map((s, i) => joinAcmeAccount(via(i), NS, s)));
    assert.deepEqual(users(), [...stacks].sort());
    assert.equal(live()?.metadata.labels?.["app.kubernetes.io/managed-by"], "pulumi-tailnet");

    // Replica 0 stores the key (another writer); then all but the last leave while a new one joins.
    const key = Buffer.from("-----BEGIN PRIVATE KEY-----\n").toString("base64");
    const admin = kubeFor({ kubeconfig: world.adminKubeconfig });
    await admin.readModifyWrite({ apiVersion: "v1", kind: "Secret", namespace: NS, name: SECRET }, (o) => ({
      ...o,
      data: { "_default.acme-account.key.pem": key },
    }));
    const late = "proj/late/edge";
    await Promise.all([
      ...stacks.slice(0, -1).map((s, i) => leaveAcmeAccount(via(i), NS, s)),
      joinAcmeAccount(via(1), NS, late),
    ]);
    assert.deepEqual(users(), [stacks.at(-1), late].sort());
    assert.equal(live()?.data?.["_default.acme-account.key.pem"], key, "the account key is kept");

    // The two remaining users leave at once (one twice, as a retried delete does): it is gone.
    await Promise.all([
      leaveAcmeAccount(via(0), NS, late),
      leaveAcmeAccount(via(1), NS, stacks.at(-1)!),
      leaveAcmeAccount(via(0), NS, stacks.at(-1)!),
    ]);
    assert.equal(live(), undefined);
    await leaveAcmeAccount(via(0), NS, late);
  });

  it("shares a Secret it did not create (an operator's) and never deletes it", async () => {
    world.kube.seed({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: SECRET, namespace: NS, labels: { "tailscale.com/managed": "true" } },
    });
    const kube = kubeFor(world.credentials);
    await joinAcmeAccount(kube, NS, stacks[0]!);
    assert.deepEqual(users(), [stacks[0]]);
    await leaveAcmeAccount(kube, NS, stacks[0]!);
    assert.ok(live(), "still there");
    assert.equal(live()?.metadata.annotations?.[ACME_ACCOUNT_USERS], undefined, "our mark is gone");
    world.kube.remove("v1", "Secret", NS, SECRET);
  });
});
