// An HA TailnetIngress with `httpEndpoint` and ProxyGroups with `shareAcmeAccount`, through the real
// Pulumi language runtime and dynamic-provider host (tests/engine/fixtures/http-acme): the first `up`
// serves the ingress over plain HTTP on port 80 of its Tailscale Service (reached through the simulated
// tailnet) beside HTTPS, and replica 0 keeps its ACME account key in the namespace's shared Secret,
// joined by a second ProxyGroup; the second `up` turns HTTP off in place (port 80 is no longer
// reachable) and removes the second ProxyGroup, which leaves the Secret to the first; the destroy of
// the last user removes it with everything else. The certificate takes 4 s to issue here, so the first
// `up` reports its wait for it through the engine (provider/progress.ts).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { TailnetConnectError, TEST_TIME_SCALE } from "../support/cluster-sim";
import type { StackHarness } from "../support/engine";
import { programStack } from "../support/examples";
import { type LocalWorld, startLocalWorld } from "../support/world";

const NS = "tailscale";
const SECRET = "tailscale-acme-accounts";
const FIELD = "_default.acme-account.key.pem";

describe("httpEndpoint and shareAcmeAccount through the engine", function () {
  this.timeout(180_000);
  let world: LocalWorld;
  let stack: StackHarness;

  before(async () => {
    world = await startLocalWorld({ sim: { delays: { certMs: 4_000 / TEST_TIME_SCALE } } });
    world.kube.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    await world.addService("apps", "web");
    stack = programStack(world, {
      program: "tests/engine/fixtures/http-acme",
      project: "http-acme",
      config: { http: "true", second: "true" },
    });
  });
  after(async () => {
    await stack?.close();
    await world?.stop();
  });

  const ops = (r: { steps: { op: string; urn: string }[] }) =>
    Object.fromEntries(
      r.steps
        .filter((s) => !s.urn.includes("pulumi:pulumi:Stack"))
        .map((s) => [s.urn.split("::").pop(), s.op]),
    );
  const ports = () => world.tailscale.services().find((s) => s.name === "svc:web")?.ports;
  const secret = (name: string) => world.kube.getObject("v1", "Secret", NS, name);
  const users = () =>
    JSON.parse(secret(SECRET)?.metadata.annotations?.["tailnet.pulumi.com/acme-account-users"]);
  const accountKey = () => Buffer.from(secret(SECRET)?.data?.[FIELD] ?? "", "base64").toString("utf8");

  it("serves plain HTTP on port 80, turns it off in place, shares one ACME account, and destroys leaving nothing", async () => {
    const up = await stack.up();
    assert.equal(up.failed, false, up.error);
    assert.equal(up.outputs.certificate, "issued");
    const domain = world.tailscale.tailnetDomain;
    assert.deepEqual(ports(), ["tcp:443", "tcp:80"], "the Tailscale Service lists port 80 too");
    // The wait for the certificate is told on its own line in the CLI (Engine.Log with the ingress's
    // URN, ephemeral), while it lasts and when it ends; the preview runs no step, so it tells nothing.
    const urn = stack.resource("web", "pulumi-nodejs:dynamic/tailnet:TailnetIngress")?.urn;
    const what = `the proxy in Pod ${NS}/edge-0 to obtain the certificate for web.${domain}`;
    const lines = up.logs.filter((l) => l.urn === urn && l.message.includes(what));
    assert.ok(lines.length >= 2, JSON.stringify(up.logs.filter((l) => l.ephemeral)));
    assert.ok(lines.every((l) => l.source === "engine" && l.ephemeral && l.severity === "info"));
    assert.match(lines[0]!.message, /^\[\d+s\] waiting for /, "what and for how long");
    assert.match(lines.at(-1)!.message, /^\[\d+s\] done waiting for /, "and when it is over");
    assert.ok(!up.logs.some((l) => /tskey-/.test(l.message)), "no key in any line");
    assert.ok(!(up.preview?.logs ?? []).some((l) => l.ephemeral), "a preview waits for nothing");
    await world.sim.waitIdle();

    // Plain HTTP through the tailnet reaches the backend Service, path and query kept; HTTPS too.
    const http = await world.tailnetFetch(`http://web.${domain}/reports/today?x=1`);
    assert.equal(http.status, 200);
    assert.deepEqual(http.backend, { namespace: "apps", name: "web", port: 80, path: "/reports/today" });
    assert.match(http.proxiedTo ?? "", /\?x=1$/);
    for (const via of ["edge-0", "edge-1"]) {
      assert.equal(
        (await world.tailnetFetch(`http://web.${domain}/`, { via })).status,
        200,
        `${via} serves HTTP`,
      );
    }
    assert.equal((await world.tailnetFetch(`https://web.${domain}/`)).status, 200);

    // Replica 0 stored its account key in the shared Secret, which both ProxyGroups list, and the
    // certificate records that account.
    assert.deepEqual(users(), ["http-acme/dev/edge", "http-acme/dev/edge-b"]);
    const key = accountKey();
    assert.match(key, /BEGIN PRIVATE KEY/);
    assert.equal(
      Buffer.from(secret(`web.${domain}`)?.data?.["acme-account-fingerprint"] ?? "", "base64").toString(
        "hex",
      ),
      createHash("sha256").update(key).digest("hex"),
    );
    assert.equal(secret("edge-0")?.data?.["acme-account.key.pem"], undefined, "no account key of its own");
    const role = world.kube.getObject("rbac.authorization.k8s.io/v1", "Role", NS, "edge");
    assert.ok(JSON.stringify(role?.rules).includes(SECRET), "the replicas may read and write it");

    stack.setConfig("http", "false");
    stack.setConfig("second", "false");
    const next = await stack.up({ skipPreview: true });
    assert.equal(next.failed, false, next.error);
    assert.deepEqual(
      ops(next),
      { edge: "same", "edge-b": "delete", web: "update" },
      "httpEndpoint changes in place; the second group goes",
    );
    assert.deepEqual(ports(), ["tcp:443"]);
    await world.sim.waitIdle();
    await assert.rejects(
      world.tailnetFetch(`http://web.${domain}/`),
      (err: Error) =>
        err instanceof TailnetConnectError && /lists ports \[tcp:443\], not tcp:80/.test(err.message),
    );
    assert.equal((await world.tailnetFetch(`https://web.${domain}/`)).status, 200, "HTTPS is still served");
    // One user's destroy leaves the account to the other, key and all.
    assert.deepEqual(users(), ["http-acme/dev/edge"]);
    assert.equal(accountKey(), key);

    const destroy = await stack.destroy({ skipPreview: true });
    assert.equal(destroy.failed, false, destroy.error);
    assert.equal(secret(SECRET), undefined, "the last user's destroy deletes the shared Secret");
    world.assertNothingLeft();
  });
});
