// examples/quickstart (the root Pulumi.yaml's program) through the real Pulumi language runtime and
// dynamic-provider host: preview, up with the certificate in the outputs, an update that adds a path
// (serve config only), refresh, destroy.
import assert from "node:assert/strict";
import type { StackHarness } from "../support/engine";
import { isSecret } from "../support/engine/marshal";
import { programStack, ROOT } from "../support/examples";
import { type LocalWorld, startLocalWorld } from "../support/world";

describe("examples/quickstart through the engine", function () {
  this.timeout(120_000);
  let world: LocalWorld;
  let stack: StackHarness;

  before(async () => {
    world = await startLocalWorld();
    stack = programStack(world, {
      program: "examples/quickstart",
      project: "tailnet-quickstart",
    });
  });
  after(async () => {
    await stack?.close();
    await world?.stop();
  });

  it("deploys HTTPS with its certificate, updates one object in place, refreshes and destroys cleanly", async () => {
    const up = await stack.up();
    assert.equal(up.failed, false, up.error);
    const fqdn = `hello.${world.tailscale.tailnetDomain}`;
    assert.equal(up.outputs.url, `https://${fqdn}/`);
    const certificate = up.outputs.certificate as Record<string, unknown>;
    assert.equal(certificate.state, "issued");
    assert.equal(certificate.domain, fqdn);

    // The serialised provider is the small shim: no credentials, no absolute paths, no key material.
    const ingress = stack.resource("hello", "pulumi-nodejs:dynamic/tailnet:TailnetIngress");
    const source = stack.providerSource(ingress?.urn ?? "") ?? "";
    assert.ok(source.length > 0 && source.length < 4000, `__provider is ${source.length} characters`);
    for (const needle of [
      ROOT,
      "/work/",
      world.oauth.clientSecret,
      world.kube.token,
      "tskey-",
      "PRIVATE KEY",
    ]) {
      assert.ok(!source.includes(needle), `__provider must not contain ${needle.slice(0, 12)}…`);
    }
    // Nothing secret in plain state: the deployer's OAuth secret and kube token never appear.
    const state = JSON.stringify(stack.state);
    assert.ok(!state.includes(world.oauth.clientSecret));
    assert.ok(!state.includes(world.kube.token));
    // The product runs as the deployer: its token must not be in state either.
    const deployerToken = /token: (\S+)/.exec(world.kubeconfig)?.[1];
    assert.ok(deployerToken, "the deployer's kubeconfig carries a token");
    assert.ok(!state.includes(deployerToken));
    assert.ok(!state.includes("PRIVATE KEY"));
    assert.ok(!/tskey-auth-/.test(state), "no auth key in state");

    // Add a path: the preview names the one Kubernetes object that changes; up rewrites only it.
    stack.setConfig("withApi", "true");
    const preview = await stack.preview();
    assert.equal(preview.failed, false, preview.error);
    const step = preview.steps.find((s) => s.urn.endsWith("TailnetIngress::hello"));
    assert.equal(step?.op, "update");
    const before = stack.resource("hello", "pulumi-nodejs:dynamic/tailnet:TailnetIngress")?.inputs
      .plannedObjects as Record<string, string>;
    const after = step?.inputs?.plannedObjects as Record<string, string>;
    const changed = Object.keys(after).filter((k) => after[k] !== before[k]);
    assert.deepEqual(changed, ["Secret/web/ts-hello-0"]);
    const update = await stack.up();
    assert.equal(update.failed, false, update.error);

    const refresh = await stack.refresh();
    assert.equal(refresh.failed, false, refresh.error);
    assert.equal((stack.outputs.certificate as Record<string, unknown>).state, "issued");
    assert.ok(!isSecret(stack.outputs.url));

    const destroy = await stack.destroy();
    assert.equal(destroy.failed, false, destroy.error);
    world.assertNothingLeft();
  });
});
