// Rotating the Tailscale credentials after `up`, as a user does: a new OAuth client, the old one deleted.
// Under the real engine, `refresh` and `destroy` configure providers from the config recorded at the last
// `up` (pulumi/pulumi@a88168d8 pkg/resource/deploy/deployment.go:659-690, providers/registry.go:788-870),
// so credentials kept in stack config need an `up` (or --run-program) first, and the error says so;
// credentials in the environment are read at run time and need nothing. A federated identity's token file
// named in stack config is recorded as its path and read at run time, so a rotated file needs nothing either.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type Backend, createBackend, kubernetesBuiltins, StackHarness } from "../support/engine";
import { ROOT } from "../support/examples";
import { createTestIssuer } from "../support/oidc-issuer";
import { type LocalWorld, startLocalWorld } from "../support/world";

const SCOPES = { scopes: ["auth_keys", "devices:core", "services"], tags: ["tag:k8s-operator"] };

describe("credential rotation, through the engine", function () {
  this.timeout(240_000);
  let world: LocalWorld;

  before(async () => {
    world = await startLocalWorld();
  });
  after(async () => {
    await world?.stop();
  });

  /** examples/database with these environment variables on top of the world's kubeconfig. */
  function stack(backend: Backend, stackName: string, env: Record<string, string>): StackHarness {
    return new StackHarness({
      backend,
      stack: stackName,
      projectDir: path.join(ROOT, "examples/database"),
      env: { KUBECONFIG: world.env.KUBECONFIG!, ...env },
      config: { namespace: stackName, hostname: `pg-${stackName}` },
      builtins: kubernetesBuiltins(world.kube.kubeconfig({ user: "pulumi-kubernetes" })),
    });
  }

  it("stack config: refresh and destroy use the recorded credentials until an up records the new ones", async () => {
    const backend = createBackend();
    const first = world.tailscale.createOAuthClient(SCOPES);
    const s = stack(backend, "config", { TAILSCALE_BASE_URL: world.tailscale.url });
    s.setConfig("tailscale:oauthClientId", first.clientId);
    s.setConfig("tailscale:oauthClientSecret", { secret: first.clientSecret });
    try {
      const up = await s.up();
      assert.equal(up.failed, false, up.error);

      const second = world.tailscale.createOAuthClient(SCOPES);
      s.setConfig("tailscale:oauthClientId", second.clientId);
      s.setConfig("tailscale:oauthClientSecret", { secret: second.clientSecret });
      world.tailscale.deleteOAuthClient(first.clientId);

      const refresh = await s.refresh({ skipPreview: true });
      assert.equal(refresh.failed, true, "refresh uses the recorded (deleted) client");
      assert.match(refresh.error ?? "", /recorded in the state at the last `pulumi up`/);
      assert.match(refresh.error ?? "", /--run-program/);
      assert.ok(!(refresh.error ?? "").includes(first.clientSecret), "the secret never reaches the message");

      const destroyRecorded = await s.destroy({ skipPreview: true });
      assert.equal(destroyRecorded.failed, true, "destroy uses the recorded (deleted) client");
      assert.match(destroyRecorded.error ?? "", /run `pulumi up` first/);
      assert.equal(world.tailscale.devices().length, 1, "nothing was deleted");

      // --run-program gives the providers the current config.
      const withProgram = await s.refresh({ runProgram: true, skipPreview: true });
      assert.equal(withProgram.failed, false, withProgram.error);

      const recordNew = await s.up({ skipPreview: true });
      assert.equal(recordNew.failed, false, recordNew.error);
      const destroy = await s.destroy({ skipPreview: true });
      assert.equal(destroy.failed, false, destroy.error);
      assert.deepEqual(world.leftovers().devices, []);
    } finally {
      await s.close();
    }
  });

  it("environment: refresh and destroy use the current credentials, so rotation needs no up", async () => {
    const backend = createBackend();
    const first = world.tailscale.createOAuthClient(SCOPES);
    const env = (c: { clientId: string; clientSecret: string }) => ({
      TAILSCALE_BASE_URL: world.tailscale.url,
      TAILSCALE_OAUTH_CLIENT_ID: c.clientId,
      TAILSCALE_OAUTH_CLIENT_SECRET: c.clientSecret,
    });
    const before = stack(backend, "env", env(first));
    const up = await before.up({ skipPreview: true });
    await before.close();
    assert.equal(up.failed, false, up.error);

    const second = world.tailscale.createOAuthClient(SCOPES);
    world.tailscale.deleteOAuthClient(first.clientId);
    const after = stack(backend, "env", env(second));
    try {
      const refresh = await after.refresh({ skipPreview: true });
      assert.equal(refresh.failed, false, refresh.error);
      const destroy = await after.destroy({ skipPreview: true });
      assert.equal(destroy.failed, false, destroy.error);
      world.assertNothingLeft();
    } finally {
      await after.close();
    }
  });

  it("federated identity only: the token file is read at run time, so destroy uses the rotated one", async () => {
    // A cluster's ServiceAccount issuer, as a Pod running pulumi would have its projected token signed.
    const issuer = createTestIssuer("https://oidc.cluster.test");
    world.tailscale.publishIssuerKeys(issuer.issuer, issuer.jwks());
    const subject = "system:serviceaccount:deploy:pulumi";
    const fed = world.tailscale.createFederatedIdentity({ ...SCOPES, issuer: issuer.issuer, subject });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tailnet-wif-"));
    const file = path.join(dir, "token");
    const nowS = () => Math.floor(Date.now() / 1000);
    const first = issuer.sign({ sub: subject, aud: fed.audience }, { nowS: nowS(), lifetimeS: 600 });
    fs.writeFileSync(file, first);
    const s = stack(createBackend(), "federated", { TAILSCALE_BASE_URL: world.tailscale.url });
    s.setConfig("tailscale:oauthClientId", fed.clientId);
    s.setConfig("tailscale:identityToken", `file:${file}`);
    s.setConfig("tailscale:audience", fed.audience);
    let moved = 0;
    try {
      const up = await s.up();
      assert.equal(up.failed, false, up.error);
      assert.equal(world.tailscale.devices().length, 1);
      const state = JSON.stringify(s.state);
      assert.ok(state.includes(`file:${file}`), "stack config records the path");
      // Neither the identity token nor the API token it bought reaches state, outputs or logs.
      for (const [what, text] of [
        ["state", state],
        ["outputs and logs", JSON.stringify([up.outputs, up.logs, up.preview?.logs])],
      ] as const) {
        assert.ok(!text.includes(first) && !/eyJ[\w-]+\.eyJ/.test(text), `no identity token in ${what}`);
        assert.ok(!/tskey-api-/.test(text), `no API token in ${what}`);
      }

      // The first token expires; the file now holds a new one (the kubelet rotates a projected token).
      moved = 15 * 60_000;
      world.tailscale.advanceTime(moved);
      const second = issuer.sign({ sub: subject, aud: fed.audience }, { nowS: nowS(), lifetimeS: 1800 });
      fs.writeFileSync(file, second);
      const destroy = await s.destroy({ skipPreview: true });
      assert.equal(destroy.failed, false, destroy.error);
      assert.ok(!JSON.stringify(destroy.logs).includes(second), "no identity token in the destroy's logs");
      assert.deepEqual(world.tailscale.exchangeRefusals, []);
      const exchanges = world.tailscale.counts().byRoute["POST /api/v2/oauth/token-exchange"] ?? 0;
      assert.ok(exchanges >= 2, `up and destroy each exchanged a token (${exchanges})`);
      world.assertNothingLeft();
    } finally {
      world.tailscale.advanceTime(-moved);
      fs.rmSync(dir, { recursive: true, force: true });
      await s.close();
    }
  });
});
