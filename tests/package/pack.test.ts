// `npm pack` of the repository is the package users install: it builds itself (`prepack`), holds the
// built SDK and provider with their declarations, the license and README, and nothing else; its
// public declarations stand on their own (no @kubernetes/client-node); installed in a project, both
// of its entry points load.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import * as ts from "typescript";
import { freshUserProject, installPacked, packPackage, ROOT, tarballEntries } from "../support/packed";

/**
 * sha256 of https://www.apache.org/licenses/LICENSE-2.0.txt, the standard text, whose appendix shows
 * the notice to apply as "Copyright [yyyy] [name of copyright owner]".
 */
const APACHE_2_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30";
const COPYRIGHT = "Copyright 2026 The pulumi-tailnet authors";

/** Every module of `dir` (`sdk` or `provider`), as paths without extension, e.g. `provider/plan/budget`. */
function modulesOf(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(ROOT, rel), { withFileTypes: true })) {
      const child = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(child);
      else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) out.push(child.slice(0, -3));
    }
  };
  walk(dir);
  return out.sort();
}

interface PackedManifest {
  name: string;
  license?: string;
  keywords?: string[];
  homepage?: string;
  bugs?: { url?: string };
  repository?: { type?: string; url?: string };
  files?: string[];
  main?: string;
  types?: string;
  exports?: Record<string, string | Record<string, string>>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

/** A project with the tarball installed, shared by the tests that read installed files. */
let installed: string | undefined;
async function installedPackage(): Promise<string> {
  if (!installed) {
    const project = await freshUserProject("pack-contents", { program: "export {};\n" });
    installed = path.join(project, "node_modules", "pulumi-tailnet");
  }
  return installed;
}

/** The text of a declaration file with its comments blanked out. */
function withoutComments(file: string): string {
  const text = fs.readFileSync(file, "utf8");
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, false, ts.LanguageVariant.Standard, text);
  let out = "";
  for (let kind = scanner.scan(); kind !== ts.SyntaxKind.EndOfFileToken; kind = scanner.scan()) {
    const comment =
      kind === ts.SyntaxKind.SingleLineCommentTrivia || kind === ts.SyntaxKind.MultiLineCommentTrivia;
    out += comment ? " " : scanner.getTokenText();
  }
  return out;
}

/** The package name a bare import specifier names: `@scope/name/sub` → `@scope/name`. */
function packageOf(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

/**
 * The declaration files reachable from `entry` through relative imports (`import`, `export … from`,
 * `import("…")` types, `/// <reference path>`), and the bare specifiers they import.
 */
function reachableDeclarations(entry: string): { files: string[]; bare: Set<string> } {
  const seen = new Set<string>();
  const bare = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const info = ts.preProcessFile(fs.readFileSync(file, "utf8"), true, true);
    for (const t of info.typeReferenceDirectives) bare.add(t.fileName);
    const specifiers = [...info.importedFiles, ...info.referencedFiles].map((f) => f.fileName);
    for (const s of specifiers) {
      if (!s.startsWith(".")) {
        bare.add(s);
        continue;
      }
      const base = path.resolve(path.dirname(file), s);
      const target = [`${base}.d.ts`, path.join(base, "index.d.ts"), base].find(
        (c) => c.endsWith(".d.ts") && fs.existsSync(c),
      );
      assert.ok(target, `${path.basename(file)} imports ${s}, which the package does not hold`);
      queue.push(target);
    }
  }
  return { files: [...seen].sort(), bare };
}

describe("the packed package (npm pack)", function () {
  this.timeout(60_000);

  before(async () => {
    await packPackage();
  });

  it("holds the JavaScript and declarations of every sdk/ and provider/ module", async () => {
    const entries = new Set(await tarballEntries());
    const missing: string[] = [];
    for (const m of [...modulesOf("sdk"), ...modulesOf("provider")]) {
      for (const ext of [".js", ".d.ts"]) {
        if (!entries.has(`package/dist/${m}${ext}`)) missing.push(`dist/${m}${ext}`);
      }
    }
    assert.deepEqual(missing, [], "built modules missing from the tarball");
  });

  it("holds package.json, README.md and LICENSE, and besides them only dist/sdk and dist/provider", async () => {
    const entries = await tarballEntries();
    for (const f of ["package.json", "README.md", "LICENSE"]) {
      assert.ok(entries.includes(`package/${f}`), `${f} is missing`);
    }
    const stray = entries.filter(
      (e) =>
        !["package/package.json", "package/README.md", "package/LICENSE"].includes(e) &&
        !e.startsWith("package/dist/sdk/") &&
        !e.startsWith("package/dist/provider/"),
    );
    assert.deepEqual(stray, []);
    // What npm reported is what the tarball holds.
    const { files } = await packPackage();
    assert.deepEqual(
      files,
      entries.map((e) => e.slice("package/".length)),
    );
  });

  it("holds no tests, fixtures, TypeScript sources or build configuration", async () => {
    const offending = (await tarballEntries()).filter(
      (e) =>
        /(^|\/)(tests?|fixtures|__tests__|examples|bench|scripts)\//.test(e) ||
        /\.(test|spec)\.[cm]?[jt]s$/.test(e) ||
        (/\.[cm]?ts$/.test(e) && !/\.d\.[cm]?ts$/.test(e)) ||
        /(^|\/)(tsconfig[^/]*\.json|biome\.json|\.mocharc\.json)$/.test(e),
    );
    assert.deepEqual(offending, []);
  });

  it("ships no source maps, and no JavaScript points at one", async () => {
    const entries = await tarballEntries();
    assert.deepEqual(
      entries.filter((e) => e.endsWith(".map")),
      [],
      "source maps would point at .ts files the package does not hold (tsconfig.build.json sets sourceMap: false)",
    );
    const dir = await installedPackage();
    const pointing = entries
      .filter((e) => e.endsWith(".js"))
      .filter((e) =>
        fs.readFileSync(path.join(dir, e.slice("package/".length)), "utf8").includes("//# sourceMappingURL="),
      );
    assert.deepEqual(pointing, []);
  });

  it("has package.json metadata, and entry points that exist in the package", async () => {
    const dir = await installedPackage();
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as PackedManifest;
    assert.equal(manifest.name, "pulumi-tailnet");
    assert.equal(manifest.license, "Apache-2.0");
    assert.equal(manifest.repository?.type, "git");
    assert.match(manifest.repository?.url ?? "", /github\.com\/pulumi-tailnet\/pulumi-tailnet(\.git)?$/);
    assert.match(manifest.homepage ?? "", /^https:\/\/github\.com\/pulumi-tailnet\/pulumi-tailnet/);
    assert.match(manifest.bugs?.url ?? "", /^https:\/\/github\.com\/pulumi-tailnet\/pulumi-tailnet\/issues$/);
    assert.ok(Array.isArray(manifest.keywords) && manifest.keywords.includes("pulumi"), "keywords");
    assert.deepEqual(manifest.files, ["dist/sdk", "dist/provider", "README.md", "LICENSE"]);
    const targets = [manifest.main, manifest.types];
    for (const t of Object.values(manifest.exports ?? {})) {
      targets.push(...(typeof t === "string" ? [t] : Object.values(t)));
    }
    for (const t of targets) {
      assert.ok(t, "main, types and every export target are set");
      assert.ok(fs.existsSync(path.join(dir, t)), `${t} (named in package.json) is not in the package`);
    }
  });

  it("holds the Apache License 2.0, standard text, with the project's copyright notice", async () => {
    const text = fs.readFileSync(path.join(await installedPackage(), "LICENSE"), "utf8");
    assert.ok(text.includes(`   ${COPYRIGHT}\n`), "the copyright notice");
    const standard = text.replace(COPYRIGHT, "Copyright [yyyy] [name of copyright owner]");
    assert.equal(createHash("sha256").update(standard).digest("hex"), APACHE_2_SHA256);
  });

  it("has public declarations that never reference @kubernetes/client-node", async () => {
    const dir = await installedPackage();
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as PackedManifest;
    const { files, bare } = reachableDeclarations(path.join(dir, "dist", "sdk", "index.d.ts"));
    // The SDK's own files and the plain provider shapes they re-export; never provider/kube.
    assert.ok(files.some((f) => f.endsWith(path.join("provider", "plan", "outputs.d.ts"))));
    // In code, not in prose: doc comments may say why the package is not used.
    const mentioning = files.filter((f) => withoutComments(f).includes("@kubernetes/client-node"));
    assert.deepEqual(
      mentioning.map((f) => path.relative(dir, f)),
      [],
      "a user's tsc (without skipLibCheck) would check all of client-node's declarations",
    );
    // Every package the public declarations import is one the user has: a dependency or peer
    // dependency of ours, or Node's types.
    const declared = new Set([
      ...Object.keys(manifest.dependencies ?? {}),
      ...Object.keys(manifest.peerDependencies ?? {}),
    ]);
    const undeclared = [...bare].filter(
      (s) => !s.startsWith("node:") && s !== "node" && !declared.has(packageOf(s)),
    );
    assert.deepEqual(undeclared, []);
    assert.deepEqual([...new Set([...bare].map(packageOf))].sort(), ["@pulumi/pulumi"]);
  });

  it("installed in a user project, loads: the SDK's classes and the provider entry the shim requires", async () => {
    // The functions sdk/shim.ts calls on `require("pulumi-tailnet/provider")`, from its source.
    const shim = fs.readFileSync(path.join(ROOT, "sdk", "shim.ts"), "utf8");
    const called = [...new Set([...shim.matchAll(/require\(IMPL\)\.(\w+)\(/g)].map((m) => m[1]!))].sort();
    assert.ok(called.length >= 7, `the shim calls ${called.join(", ")}`);
    const project = await freshUserProject("pack-load", { program: "export {};\n" });
    await installPacked(project); // idempotent: a second install replaces the first
    const script = [
      'const sdk = require("pulumi-tailnet");',
      'const provider = require("pulumi-tailnet/provider");',
      "const out = {",
      "  sdk: Object.keys(sdk).filter((k) => typeof sdk[k] === 'function').sort(),",
      `  provider: ${JSON.stringify(called)}.filter((k) => typeof provider[k] === "function"),`,
      "  from: require.resolve('pulumi-tailnet'),",
      "};",
      "console.log(JSON.stringify(out));",
    ].join("\n");
    const { stdout } = await promisify(execFile)(process.execPath, ["-e", script], { cwd: project });
    const out = JSON.parse(stdout) as { sdk: string[]; provider: string[]; from: string };
    assert.deepEqual(out.sdk, ["CertificateBudget", "ProxyGroup", "TailnetIngress", "TailnetService"]);
    assert.deepEqual(out.provider, called);
    assert.equal(
      path.relative(project, out.from),
      path.join("node_modules", "pulumi-tailnet", "dist", "sdk", "index.js"),
    );
  });
});
