// The package as a user gets it: the output of `npm pack` installed into a fresh project laid out as
// `pulumi new kubernetes-typescript` makes it (tests/support/packed.ts), launched as the CLI launches it, then
// previewed, deployed, updated and destroyed against the local world. Nothing of the repository's own layout
// helps: the program imports `pulumi-tailnet` from the project's node_modules, and the provider host resolves
// `pulumi-tailnet/provider` from there too.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { kubernetesBuiltins, StackHarness } from "../support/engine";
import { freshUserProject, packPackage } from "../support/packed";
import { type LocalWorld, startLocalWorld } from "../support/world";

const PROGRAM = `import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { TailnetIngress } from "pulumi-tailnet";

const config = new pulumi.Config();
const web = new k8s.core.v1.Service("web", {
  metadata: { namespace: "shop", name: "web" },
  spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: 8080 }] },
});
const ingress = new TailnetIngress("shop", {
  hostname: "shop",
  defaultBackend: { service: web, port: "http" },
  rules: config.getBoolean("withApi") ? [{ paths: [{ path: "/api", backend: { service: web, port: 80 } }] }] : undefined,
});
export const url = ingress.url;
`;

describe("a user's project with the packed package, through the engine", function () {
  this.timeout(180_000);
  let world: LocalWorld;
  let stack: StackHarness;
  let dir: string;

  before(async () => {
    world = await startLocalWorld();
    world.kube.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } });
    dir = await freshUserProject("user-shop", { program: PROGRAM });
    stack = new StackHarness({
      stack: "dev",
      projectDir: dir,
      env: world.env,
      builtins: kubernetesBuiltins(world.kube.kubeconfig({ user: "pulumi-kubernetes" })),
    });
  });
  after(async () => {
    await stack?.close();
    await world?.stop();
  });

  it("resolves pulumi-tailnet from the project's own node_modules, the installed tarball", async () => {
    const installed = path.join(dir, "node_modules", "pulumi-tailnet");
    assert.ok(!fs.lstatSync(installed).isSymbolicLink(), "installed as files, not linked to the checkout");
    // Resolved in a process started in the project, as the provider host resolves it (this test file lies inside the
    // package's own scope, where Node would self-reference the checkout instead).
    const resolved = execFileSync(
      process.execPath,
      ["-e", "process.stdout.write(require.resolve('pulumi-tailnet/provider'))"],
      {
        cwd: dir,
        encoding: "utf8",
      },
    );
    assert.ok(resolved.startsWith(installed + path.sep), resolved);
    assert.ok(fs.existsSync(path.join(installed, "package.json")));
    assert.match((await packPackage()).id, /^pulumi-tailnet@/);
  });

  it("previews, deploys, updates in place and destroys, leaving nothing", async () => {
    const preview = await stack.preview();
    assert.equal(preview.failed, false, preview.error);
    assert.ok(preview.steps.some((s) => s.op === "create" && s.type.endsWith("tailnet:TailnetIngress")));

    const up = await stack.up();
    assert.equal(up.failed, false, up.error);
    assert.equal(up.outputs.url, `https://shop.${world.tailscale.tailnetDomain}/`);
    assert.equal(world.tailscale.devices().length, 1);

    stack.setConfig("withApi", "true");
    const update = await stack.up();
    assert.equal(update.failed, false, update.error);
    const step = update.steps.find((s) => s.urn.endsWith("TailnetIngress::shop"));
    assert.equal(step?.op, "update");

    const destroy = await stack.destroy();
    assert.equal(destroy.failed, false, destroy.error);
    world.assertNothingLeft();
  });
});
