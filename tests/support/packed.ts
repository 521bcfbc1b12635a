/**
 * The package as a user gets it: `npm pack` of this repository (its `prepack` builds `dist/`), and
 * user projects under `<repo>/.tmp/` with that tarball installed the way npm lays it out.
 *
 * The install is offline: only `pulumi-tailnet` itself is extracted into the project's
 * `node_modules`; its dependencies (@kubernetes/client-node, @pulumi/pulumi, @pulumi/kubernetes,
 * typescript, @types/node) resolve from the repository's `node_modules`, one directory up the tree,
 * exactly where Node and TypeScript look after the project's own (where npm would have hoisted them).
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import * as tar from "tar";

const run = promisify(execFile);

/** The repository root. */
export const ROOT = path.resolve(__dirname, "../..");

/** This process's scratch folder under `<repo>/.tmp/` (gitignored); removed when the process exits. */
const SCRATCH = path.join(ROOT, ".tmp", `package-tests-${process.pid}`);
process.on("exit", () => fs.rmSync(SCRATCH, { recursive: true, force: true }));

/** What `npm pack --json` reports, and where the tarball is. */
export interface PackedPackage {
  /** Absolute path of the `.tgz`. */
  tarball: string;
  /** `<name>@<version>`. */
  id: string;
  /** Paths inside the package (without the tarball's `package/` prefix), as npm listed them. */
  files: string[];
  /** Size of the tarball, in bytes. */
  size: number;
  /** Total size of the files, in bytes. */
  unpackedSize: number;
}

let packing: Promise<PackedPackage> | undefined;

/**
 * `npm pack` of the repository, once per test process (about 10 s, most of it the `prepack` build).
 * The tarball is written to this process's scratch folder, never into the repository root.
 */
export function packPackage(): Promise<PackedPackage> {
  packing ??= (async () => {
    const destination = path.join(SCRATCH, "pack");
    fs.mkdirSync(destination, { recursive: true });
    const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", destination], {
      cwd: ROOT,
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, npm_config_update_notifier: "false", npm_config_fund: "false" },
    });
    // Lifecycle scripts may print to stdout too: the JSON report is the array that starts a line.
    const at = stdout.search(/^\[/m);
    if (at < 0) throw new Error(`npm pack printed no JSON report:\n${stdout}`);
    const [report] = JSON.parse(stdout.slice(at)) as {
      id: string;
      filename: string;
      files: { path: string }[];
      size: number;
      unpackedSize: number;
    }[];
    return {
      tarball: path.join(destination, report.filename),
      id: report.id,
      files: report.files.map((f) => f.path).sort(),
      size: report.size,
      unpackedSize: report.unpackedSize,
    };
  })();
  return packing;
}

/** The entries of the packed tarball, read from the tarball itself (directories excluded). */
export async function tarballEntries(): Promise<string[]> {
  const { tarball } = await packPackage();
  const entries: string[] = [];
  await tar.t({ file: tarball, onReadEntry: (e) => void (e.type === "File" && entries.push(e.path)) });
  return entries.sort();
}

/**
 * Installs the packed tarball into `<projectDir>/node_modules/pulumi-tailnet`, as npm does for a
 * `file:` tarball dependency: the tarball's `package/` folder becomes the package folder.
 */
export async function installPacked(projectDir: string): Promise<void> {
  const { tarball } = await packPackage();
  const dest = path.join(projectDir, "node_modules", "pulumi-tailnet");
  fs.rmSync(dest, { recursive: true, force: true });
  fs.mkdirSync(dest, { recursive: true });
  await tar.x({ file: tarball, cwd: dest, strip: 1, filter: (p) => p.startsWith("package/") });
}

/**
 * `tsconfig.json` of `pulumi new typescript`. `current` is the template today
 * (pulumi/templates@65db26bfbdb2fef067d2a10dcadef7b553b36d60 typescript/tsconfig.json, since
 * pulumi/templates@81e6522593dedb07f0addfc763f5be3375607db7 "Use moduleResolution: nodenext");
 * `commonjs` is the one before it, which most existing projects still have
 * (pulumi/templates@a3029400caaa160d1c45b8e6d5caba594d369735 typescript/tsconfig.json). Neither sets
 * `skipLibCheck`, so every declaration file a program loads is checked.
 */
/** The template's tsconfig.json, in its key order; the two versions differ only in module resolution. */
function templateTsconfig<M extends string, R extends string>(module: M, moduleResolution: R) {
  return {
    compilerOptions: {
      strict: true,
      outDir: "bin",
      target: "es2020",
      module,
      moduleResolution,
      sourceMap: true,
      experimentalDecorators: true,
      pretty: true,
      noFallthroughCasesInSwitch: true,
      noImplicitReturns: true,
      forceConsistentCasingInFileNames: true,
    },
    files: ["index.ts"],
  } as const;
}

export const PULUMI_TSCONFIGS = {
  current: templateTsconfig("nodenext", "nodenext"),
  commonjs: templateTsconfig("commonjs", "node"),
} as const;

/** Options of {@link freshUserProject}. */
export interface UserProjectOptions {
  /** The program, written as `index.ts`. */
  program: string;
  /** Which template's tsconfig.json. Default `current`. */
  tsconfig?: keyof typeof PULUMI_TSCONFIGS;
}

function installedVersion(pkg: string): string {
  const file = path.join(ROOT, "node_modules", pkg, "package.json");
  return (JSON.parse(fs.readFileSync(file, "utf8")) as { version: string }).version;
}

/**
 * A new, empty Pulumi TypeScript project `<repo>/.tmp/package-tests-<pid>/<name>`, laid out as
 * `pulumi new kubernetes-typescript` makes it (pulumi/templates@65db26bfbdb2fef067d2a10dcadef7b553b36d60
 * kubernetes-typescript/{package.json,Pulumi.yaml}), depending on the packed tarball, with the tarball
 * installed. Returns its directory.
 */
export async function freshUserProject(name: string, o: UserProjectOptions): Promise<string> {
  const { tarball } = await packPackage();
  const dir = path.join(SCRATCH, name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const packageJson = {
    name,
    main: "index.ts",
    devDependencies: {
      "@types/node": `^${installedVersion("@types/node")}`,
      typescript: `^${installedVersion("typescript")}`,
    },
    dependencies: {
      "@pulumi/kubernetes": `^${installedVersion("@pulumi/kubernetes")}`,
      "@pulumi/pulumi": `^${installedVersion("@pulumi/pulumi")}`,
      "pulumi-tailnet": `file:${tarball}`,
    },
  };
  const write = (file: string, text: string) => fs.writeFileSync(path.join(dir, file), text);
  write("package.json", `${JSON.stringify(packageJson, null, 4)}\n`);
  write("tsconfig.json", `${JSON.stringify(PULUMI_TSCONFIGS[o.tsconfig ?? "current"], null, 4)}\n`);
  write("Pulumi.yaml", `name: ${name}\ndescription: A program using pulumi-tailnet\nruntime: nodejs\n`);
  write("index.ts", o.program);
  await installPacked(dir);
  return dir;
}

/** Outcome of {@link typeCheck}. */
export interface TypeCheckResult {
  /** tsc's exit code: 0 when the program compiles. */
  code: number;
  /** tsc's output (errors as `file(line,col): error TSxxxx: …`, then any `extraArgs` output). */
  output: string;
}

/**
 * `tsc --noEmit -p <projectDir>` with the repository's TypeScript (the version a user project would
 * have installed). `--pretty false` only so that errors are one line each and can be matched.
 */
export async function typeCheck(projectDir: string, extraArgs: string[] = []): Promise<TypeCheckResult> {
  const tsc = path.join(ROOT, "node_modules", "typescript", "bin", "tsc");
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [tsc, "--noEmit", "-p", projectDir, "--pretty", "false", ...extraArgs],
      { cwd: projectDir, maxBuffer: 64 * 1024 * 1024 },
    );
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== "number") throw err;
    return { code: e.code, output: (e.stdout ?? "") + (e.stderr ?? "") };
  }
}
