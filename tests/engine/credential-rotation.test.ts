// Rotating the Tailscale credentials after `up`, as a user does: a new OAuth client, the old one deleted.
// Under the real engine, `refresh` and `destroy` configure providers from the config recorded at the last
// `up` (pulumi/pulumi@a88168d8 pkg/resource/deploy/deployment.go:659-690, providers/registry.go:788-870),
// so credentials kept in stack config need an `up` (or --run-program) first, and the error says so;
// credentials in the environment are read at run time and need nothing.
import assert from "node:assert/strict";
import * as path from "node:path";
import { type Backend, createBackend, kubernetesBuiltins, StackHarness } from "../support/engine";
import { ROOT } from "../support/examples";
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
});
