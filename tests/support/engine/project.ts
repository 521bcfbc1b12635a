/**
 * A Pulumi project on disk as the `pulumi` CLI reads it: `Pulumi.yaml`'s name, runtime options and `main`, turned into
 * the working directory and entry point the Node.js language host gives the program, and the directory the engine
 * starts plugins in.
 *
 * Sources (pulumi/pulumi@a88168d8, tag v3.248.0):
 * - `pkg/engine/project.go:45-71` (`getPwdMain`): no `main` → pwd = project root, entry `.`; a directory → pwd = that
 *   directory, entry `.`; a file → pwd = its directory, entry = its base name.
 * - `sdk/nodejs/cmd/pulumi-language-nodejs/main.go:288-320` (`parseOptions`): runtime options `typescript` (default
 *   true), `tsconfig`, `nodeargs`; `:902-907` turns them into `PULUMI_NODEJS_TYPESCRIPT=true` and
 *   `PULUMI_NODEJS_TSCONFIG_PATH`; `:910` splits `nodeargs` into node flags placed before the run script.
 * - `sdk/go/common/resource/plugin/provider_plugin.go:238-259`: plugins get `PULUMI_RUNTIME_<OPTION>` per runtime
 *   option.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";

/** How the CLI launches one project's program. */
export interface ProjectLaunch {
  /** `name` in Pulumi.yaml. */
  name: string;
  /** Directory holding Pulumi.yaml (`--root-directory`). */
  rootDir: string;
  /** The program's working directory (`--pwd`); also the cwd of every plugin the engine starts. */
  pwd: string;
  /** The entry point passed verbatim to run.js: `.` or a file's base name. */
  entry: string;
  /** Whether the language host sets PULUMI_NODEJS_TYPESCRIPT=true. */
  typescript: boolean;
  /** `runtime.options.tsconfig`, when set. */
  tsconfigPath?: string;
  /** `runtime.options.nodeargs`, split into arguments. */
  nodeArgs: string[];
  /** Every runtime option, as the engine exports them to plugins (`PULUMI_RUNTIME_<OPTION>`). */
  runtimeOptions: Record<string, string>;
}

/** Reads `<projectDir>/Pulumi.yaml` and resolves its launch as the CLI does; throws naming the file when invalid. */
export function readProject(projectDir: string): ProjectLaunch {
  const rootDir = path.resolve(projectDir);
  const file = path.join(rootDir, "Pulumi.yaml");
  if (!fs.existsSync(file)) throw new Error(`no Pulumi.yaml in ${rootDir}: a Pulumi project needs one`);
  const doc = yaml.load(fs.readFileSync(file, "utf8")) as {
    name?: unknown;
    main?: unknown;
    runtime?: unknown;
  };
  if (typeof doc?.name !== "string" || doc.name === "") throw new Error(`${file}: \`name\` is required`);
  const runtime =
    typeof doc.runtime === "string" ? { name: doc.runtime } : (doc.runtime as Record<string, unknown>);
  if (runtime?.name !== "nodejs") throw new Error(`${file}: the test engine runs only the nodejs runtime`);
  const options = (runtime.options ?? {}) as Record<string, unknown>;
  if (options.typescript !== undefined && typeof options.typescript !== "boolean")
    throw new Error(`${file}: typescript option must be a boolean`);
  if (options.nodeargs !== undefined && typeof options.nodeargs !== "string")
    throw new Error(`${file}: nodeargs option must be a string`);

  let pwd = rootDir;
  let entry = ".";
  if (typeof doc.main === "string" && doc.main !== "") {
    const main = path.resolve(rootDir, doc.main);
    if (!fs.existsSync(main)) throw new Error(`${file}: project 'main' could not be read: ${main}`);
    if (fs.statSync(main).isDirectory()) pwd = main;
    else {
      pwd = path.dirname(main);
      entry = path.basename(main);
    }
  }
  const runtimeOptions: Record<string, string> = {};
  for (const [k, v] of Object.entries(options))
    runtimeOptions[`PULUMI_RUNTIME_${k.toUpperCase()}`] = String(v);
  return {
    name: doc.name,
    rootDir,
    pwd,
    entry,
    typescript: options.typescript !== false,
    tsconfigPath: typeof options.tsconfig === "string" ? options.tsconfig : undefined,
    nodeArgs: typeof options.nodeargs === "string" ? options.nodeargs.split(/\s+/).filter(Boolean) : [],
    runtimeOptions,
  };
}

/**
 * Resolves a module the way the language host's `locateModule` does: `require.resolve` run from the program
 * directory (`main.go:202-245`), and the dynamic-provider plugin's shell script does the same for
 * `@pulumi/pulumi/cmd/dynamic-provider` (`sdk/nodejs/dist/pulumi-resource-pulumi-nodejs`). So the program and the
 * host use the `@pulumi/pulumi` installed for the program, never the harness's own copy.
 */
export function locateModule(mod: string, fromDir: string): string {
  try {
    return require.resolve(mod, { paths: [fromDir] });
  } catch {
    throw new Error(
      `It looks like the Pulumi SDK has not been installed for ${fromDir} (cannot resolve ${mod}). Have you run npm install?`,
    );
  }
}
