// The engine harness launches programs and the dynamic-provider host the way the `pulumi` CLI does, so a project
// that only works thanks to the harness fails here as it would under the CLI. Each case names the source it mirrors
// (pulumi/pulumi@a88168d8, tag v3.248.0).
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { kubernetesBuiltins, StackHarness } from "../support/engine";
import { readProject } from "../support/engine/project";
import { ROOT } from "../support/examples";
import { type LocalWorld, startLocalWorld } from "../support/world";

const FIXTURES = path.join(__dirname, "fixtures");

/** A scratch project under the repository's .tmp/ (inside the repository's node_modules chain). */
function scratchProject(name: string, files: Record<string, string>): string {
  fs.mkdirSync(path.join(ROOT, ".tmp"), { recursive: true });
  const dir = fs.mkdtempSync(path.join(ROOT, ".tmp", `${name}-`));
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), text);
  }
  return dir;
}

const PULUMI_YAML = (name: string, extra = "") =>
  `name: ${name}\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n${extra}`;

describe("engine harness: the CLI's launch of programs and of the dynamic-provider host", function () {
  this.timeout(120_000);
  const scratch: string[] = [];
  after(() => {
    for (const d of scratch) fs.rmSync(d, { recursive: true, force: true });
  });

  it("resolves `main` as pkg/engine/project.go getPwdMain does (none, a directory, a file)", () => {
    const none = readProject(path.join(ROOT, "examples", "quickstart"));
    assert.equal(none.pwd, path.join(ROOT, "examples", "quickstart"));
    assert.equal(none.entry, ".");
    assert.equal(none.typescript, true);
    // The repository's own Pulumi.yaml: `main: examples/quickstart/` is a directory, so pwd moves there.
    const root = readProject(ROOT);
    assert.equal(root.rootDir, ROOT);
    assert.equal(root.pwd, path.join(ROOT, "examples", "quickstart"));
    assert.equal(root.entry, ".");
    const file = scratchProject("main-file", {
      "Pulumi.yaml": PULUMI_YAML("main-file", "main: src/program.ts\n"),
      "src/program.ts": "",
    });
    scratch.push(file);
    const p = readProject(file);
    assert.equal(p.pwd, path.join(file, "src"));
    assert.equal(p.entry, "program.ts");
    assert.deepEqual(p.runtimeOptions, { PULUMI_RUNTIME_TYPESCRIPT: "true" });
  });

  it("entry `.` runs the nearest package.json's exports, as run.ts resolveEntrypoint does", async () => {
    // sdk/nodejs/cmd/run/run.ts:74-94, 271-306: for entry ".", the nearest package.json at or above the program
    // directory names the program. A project folder without its own package.json inside a library package runs the
    // library's export, which registers nothing: the preview has the Stack alone. This is what made the repository's
    // examples silently empty under the real CLI.
    const lib = scratchProject("library", {
      "package.json": JSON.stringify({ name: "some-library", exports: { ".": { default: "./lib.js" } } }),
      "lib.js": "module.exports = {};\n",
      "program/Pulumi.yaml": PULUMI_YAML("orphan"),
      "program/index.ts": `import * as pulumi from "@pulumi/pulumi";\nexport const x = new pulumi.StackReference("a");\n`,
    });
    scratch.push(lib);
    const stack = new StackHarness({
      stack: "dev",
      projectDir: path.join(lib, "program"),
      prestartProviderHost: false,
    });
    const r = await stack.preview();
    await stack.close();
    assert.equal(r.failed, false, r.error);
    assert.deepEqual(
      r.steps.map((s) => s.type),
      ["pulumi:pulumi:Stack"],
    );
  });

  it("the host resolves the provider's package from the program directory only: no NODE_PATH, no links", async () => {
    // sdk/nodejs/dist/pulumi-resource-pulumi-nodejs and provider_plugin.go:238-286: the host runs in the program
    // directory with the CLI's environment. The toy fixture's provider code `require("toy-dynprov")`s; copied
    // outside the repository, where no node_modules has that package, its Check fails as it would under the CLI.
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), "toy-outside-"));
    scratch.push(outside);
    for (const f of ["index.ts", "Pulumi.yaml", "package.json", "tsconfig.json"])
      fs.copyFileSync(path.join(FIXTURES, "toy", f), path.join(outside, f));
    // The program itself needs @pulumi/pulumi and TypeScript: the copy gets those packages only, as a user's install
    // of its package.json would (links here build that user layout; the harness adds none).
    fs.mkdirSync(path.join(outside, "node_modules", "@pulumi"), { recursive: true });
    for (const dep of ["@pulumi/pulumi", "typescript", "@types"])
      fs.symlinkSync(path.join(ROOT, "node_modules", dep), path.join(outside, "node_modules", dep));
    const stack = new StackHarness({
      stack: "dev",
      projectDir: outside,
      env: { TOY_STATE_FILE: "/dev/null" },
    });
    try {
      const r = await stack.preview();
      assert.equal(r.failed, true);
      assert.match(r.error ?? "", /Cannot find module 'toy-dynprov'/);
    } finally {
      await stack.close();
    }
  });

  describe("the repository's own Pulumi.yaml", () => {
    let world: LocalWorld;
    before(async () => {
      world = await startLocalWorld();
    });
    after(async () => {
      await world?.stop();
    });

    it("previews the quickstart's resources (main: examples/quickstart/)", async () => {
      // As the CLI runs it by default: ts-node type-checks the program.
      const stack = new StackHarness({
        stack: "dev",
        projectDir: ROOT,
        env: world.env,
        builtins: kubernetesBuiltins(world.kube.kubeconfig({ user: "pulumi-kubernetes" })),
      });
      try {
        const r = await stack.preview();
        assert.equal(r.failed, false, r.error);
        const created = r.steps.filter((s) => s.op === "create").map((s) => `${s.type}::${s.name}`);
        assert.deepEqual(created.sort(), [
          "kubernetes:core/v1:Namespace::web",
          "kubernetes:core/v1:Service::hello",
          "pulumi-nodejs:dynamic/tailnet:TailnetIngress::hello",
          "pulumi:pulumi:Stack::pulumi-tailnet-quickstart-dev",
        ]);
      } finally {
        await stack.close();
      }
    });
  });
});
