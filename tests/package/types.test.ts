// The packed package's types, as a user compiles them: a fresh Pulumi TypeScript project (the
// standard template's tsconfig: strict, no skipLibCheck) with the tarball installed, whose program
// uses every export of the SDK and passes @pulumi/kubernetes values where the SDK takes Kubernetes
// shapes, type-checks with `tsc --noEmit`; and a program with deliberate mistakes fails, at exactly
// those lines, which proves the check is real.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";
import { freshUserProject, ROOT, type TypeCheckResult, typeCheck } from "../support/packed";

/** The user's program: see its header. The repository's own tsc checks it against sdk/ too. */
const PROGRAM = path.join(ROOT, "tests", "package", "fixtures", "user-program.ts");

/**
 * Mistakes a user could make, one per line, each marked `// ✗`: tsc must report an error on every
 * marked line and on no other (so a missing module or a broken declaration file cannot pass for one).
 * Only the subpaths of @pulumi/kubernetes it needs are imported, to keep the check quick.
 */
const MISTAKES = [
  'import * as pulumi from "@pulumi/pulumi";',
  'import type * as k8s from "@pulumi/kubernetes/types/input";',
  'import { CertificateBudget, type ProxyClass, ProxyGroup, TailnetIngress, TailnetService } from "pulumi-tailnet";',
  'const ref = { namespace: "data", name: "postgres" };',
  "const k8sEnv: k8s.core.v1.EnvVar[] = [];",
  'const ok = new TailnetIngress("ok", { defaultBackend: { service: ref, port: "http" } });',
  'new TailnetIngress("port", { defaultBackend: { service: ref, port: true } }); // ✗ a port is a number or a name',
  'new TailnetIngress("protocol", { defaultBackend: { service: ref, port: 80 }, backendProtocol: "ftp" }); // ✗',
  'new TailnetIngress("path", { rules: [{ paths: [{ path: "/", backend: { service: ref } }] }] }); // ✗ no port',
  'new TailnetService("name", { service: { namespace: "data" } }); // ✗ a ServiceRef needs a name',
  'new ProxyGroup("replicas", { replicas: "2" }); // ✗',
  'new ProxyGroup("type", { type: "egress" }); // ✗ only ingress ProxyGroups',
  'new ProxyGroup("creds", { credentials: { tailscaleKey: "tskey" } }); // ✗ no such credential',
  'new CertificateBudget("budget", { ingresses: [new TailnetService("s", { service: ref })] }); // ✗ ingresses only',
  "const typo: ProxyClass = { tolerationz: [] }; // ✗ an unknown field",
  'const seconds: ProxyClass = { tolerations: [{ key: "k", tolerationSeconds: "60" }] }; // ✗',
  'const policy: ProxyClass = { imagePullPolicy: "Sometimes" }; // ✗',
  "const quantity: ProxyClass = { resources: { requests: { cpu: 1 } } }; // ✗ quantities are strings",
  'const noValue: ProxyClass = { env: [{ name: "A" }] }; // ✗ literal values only',
  "const fromK8s: ProxyClass = { env: k8sEnv }; // ✗ EnvVar is narrower than Kubernetes' (no valueFrom)",
  'const terms: ProxyClass = { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: "x" } } } }; // ✗',
  'const seccomp: ProxyClass = { securityContext: { seccompProfile: { localhostProfile: "p" } } }; // ✗ type is required',
  "const url: pulumi.Output<number> = ok.url; // ✗ outputs are typed",
  "export { fromK8s, noValue, policy, quantity, seccomp, seconds, terms, typo, url };",
  "",
].join("\n");

/** 1-based numbers of the lines of `MISTAKES` marked `// ✗`. */
const MARKED = MISTAKES.split("\n").flatMap((l, i) => (l.includes("// ✗") ? [i + 1] : []));

/** Lines of `index.ts` that tsc reported errors on (`--pretty false` format). */
function errorLines(output: string): number[] {
  const lines = [...output.matchAll(/^index\.ts\((\d+),\d+\): error TS\d+/gm)].map((m) => Number(m[1]));
  return [...new Set(lines)].sort((a, b) => a - b);
}

/** tsc's `--listFiles` lines, as paths relative to the project. */
function listedFiles(project: string, output: string): string[] {
  return output
    .split("\n")
    .filter((l) => path.isAbsolute(l.trim()))
    .map((l) => path.relative(project, l.trim()).split(path.sep).join("/"));
}

/** Names imported from "pulumi-tailnet", and for each variable bound to `new C(...)`, the class. */
function programUsage(source: ts.SourceFile): {
  imported: Set<string>;
  accessed: Map<string, Set<string>>;
} {
  const imported = new Set<string>();
  const classOf = new Map<string, string>();
  const accessed = new Map<string, Set<string>>();
  const visit = (node: ts.Node) => {
    if (
      ts.isImportDeclaration(node) &&
      ts.isStringLiteral(node.moduleSpecifier) &&
      node.moduleSpecifier.text === "pulumi-tailnet" &&
      node.importClause?.namedBindings &&
      ts.isNamedImports(node.importClause.namedBindings)
    ) {
      for (const e of node.importClause.namedBindings.elements) imported.add(e.name.text);
    }
    if (
      ts.isVariableDeclaration(node) &&
      ts.isIdentifier(node.name) &&
      node.initializer &&
      ts.isNewExpression(node.initializer) &&
      ts.isIdentifier(node.initializer.expression)
    ) {
      classOf.set(node.name.text, node.initializer.expression.text);
    }
    if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression)) {
      // A static member (`CertificateBudget.ledgerOf`) or an instance's (`ingress.url`).
      const owner = classOf.get(node.expression.text) ?? node.expression.text;
      if (!accessed.has(owner)) accessed.set(owner, new Set());
      accessed.get(owner)!.add(node.name.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { imported, accessed };
}

describe("the packed package's types in a user's Pulumi TypeScript project", function () {
  // About 25 s in all on two idle cores, most of it tsc checking @pulumi/kubernetes' declarations
  // (no skipLibCheck, as in users' projects); the margin is for a loaded machine.
  this.timeout(120_000);

  const projects: Record<"current" | "commonjs" | "mistakes", string> = {
    current: "",
    commonjs: "",
    mistakes: "",
  };
  const checks: Partial<Record<keyof typeof projects, Promise<TypeCheckResult>>> = {};

  before(async () => {
    const program = fs.readFileSync(PROGRAM, "utf8");
    projects.current = await freshUserProject("types-current", { program, tsconfig: "current" });
    projects.commonjs = await freshUserProject("types-commonjs", { program, tsconfig: "commonjs" });
    projects.mistakes = await freshUserProject("types-mistakes", { program: MISTAKES, tsconfig: "current" });
    // All at once: each takes several seconds, most of it checking @pulumi/kubernetes' declarations.
    for (const k of ["current", "commonjs", "mistakes"] as const) {
      const check = typeCheck(projects[k], k === "mistakes" ? [] : ["--listFiles"]);
      check.catch(() => {}); // awaited by the tests; not an unhandled rejection meanwhile
      checks[k] = check;
    }
  });

  for (const [template, tsconfig] of [
    ["current", "module nodenext"],
    ["commonjs", "module commonjs, moduleResolution node"],
  ] as const) {
    it(`a program using every export compiles with the ${template} template's tsconfig (${tsconfig})`, async () => {
      const project = projects[template];
      const { code, output } = await checks[template]!;
      const files = listedFiles(project, output);
      assert.equal(
        code,
        0,
        output
          .split("\n")
          .filter((l) => !path.isAbsolute(l.trim()))
          .join("\n"),
      );
      // The installed tarball, not this repository's sources (node_modules/pulumi-tailnet up the tree
      // is a link to the repository itself).
      assert.ok(files.includes("node_modules/pulumi-tailnet/dist/sdk/index.d.ts"), "types from the tarball");
      assert.deepEqual(
        files.filter((f) => f.includes("pulumi-tailnet") && !f.startsWith("node_modules/pulumi-tailnet/")),
        [],
      );
      assert.deepEqual(
        files.filter((f) => f.includes("@kubernetes/client-node")),
        [],
        "client-node's declarations are part of the user's compilation",
      );
    });
  }

  it("the program imports every export of the SDK and reads every output of every resource", async () => {
    const entry = path.join(projects.current, "node_modules", "pulumi-tailnet", "dist", "sdk", "index.d.ts");
    const options: ts.CompilerOptions = {
      module: ts.ModuleKind.CommonJS,
      moduleResolution: ts.ModuleResolutionKind.Node10,
      types: [],
      noEmit: true,
    };
    // The package's own files only: listing exports and members needs no @pulumi/pulumi (which would
    // take longer to load than everything else here).
    const host = ts.createCompilerHost(options);
    host.resolveModuleNameLiterals = (literals, containingFile, _redirect, o) =>
      literals.map((l) =>
        l.text.startsWith(".")
          ? ts.resolveModuleName(l.text, containingFile, o, host)
          : { resolvedModule: undefined },
      );
    const program = ts.createProgram([entry], options, host);
    const checker = program.getTypeChecker();
    const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
    const exported = checker.getExportsOfModule(moduleSymbol);
    const usage = programUsage(
      ts.createSourceFile(PROGRAM, fs.readFileSync(PROGRAM, "utf8"), ts.ScriptTarget.Latest, true),
    );
    const exportNames = exported.map((s) => s.name).sort();
    assert.ok(exportNames.length > 20, `exports: ${exportNames.join(", ")}`);
    assert.deepEqual(
      exportNames.filter((n) => !usage.imported.has(n)),
      [],
      "exports the program does not import",
    );

    const unread: string[] = [];
    for (const alias of exported) {
      const symbol = alias.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(alias) : alias;
      if (!(symbol.flags & ts.SymbolFlags.Class)) continue;
      const read = usage.accessed.get(alias.name) ?? new Set<string>();
      const outputs = [...(symbol.members?.values() ?? [])].filter((m) => m.flags & ts.SymbolFlags.Property);
      const statics = [...(symbol.exports?.values() ?? [])].filter((m) => m.flags & ts.SymbolFlags.Method);
      for (const m of [...outputs, ...statics]) {
        if (!read.has(m.name)) unread.push(`${alias.name}.${m.name}`);
      }
    }
    assert.deepEqual(unread, [], "outputs (and static methods) the program does not read");
  });

  it("a program with type errors fails to compile, with an error at each mistake and nowhere else", async () => {
    const { code, output } = await checks.mistakes!;
    assert.notEqual(code, 0, "tsc accepted a program with type errors");
    assert.ok(MARKED.length >= 15);
    assert.deepEqual(errorLines(output), MARKED, output);
  });
});
