/** {@link StackHarness}: one Pulumi stack driven through preview / up / refresh / destroy, as the CLI runs them. */
import * as os from "node:os";
import { renameUrn } from "./aliases";
import { type Backend, createBackend, DIY_ORGANIZATION, type StackRecord } from "./backend";
import { Deployment, type DeploymentMode, type DeploymentOutcome, type HostStats } from "./deployment";
import type { PropertyMap } from "./marshal";
import { type ProjectLaunch, readProject } from "./project";
import { DynamicProviderHost } from "./providerHost";
import type { Builtins, CommandResult, ConfigValue, ResourceState, StepResult } from "./types";

/** Options for {@link StackHarness}. */
export interface StackHarnessOptions {
  /** Shared backend (for stack references between harnesses); a private DIY one when omitted. */
  backend?: Backend;
  /**
   * Organization name: always `organization` on a DIY backend (pulumi/pulumi@a88168d8 pkg/backend/diy/store.go:164-172);
   * any name on a `cloud` backend (default `organization` there too).
   */
  organization?: string;
  /** The project name; must equal Pulumi.yaml's `name` when given (it is read from there otherwise). */
  project?: string;
  stack: string;
  /**
   * Directory holding the project's Pulumi.yaml. The program is launched from it as the CLI launches it (its `main`,
   * the program's own package.json and node_modules, ts-node); see ./project.ts.
   */
  projectDir: string;
  /** Stack config. Keys without a namespace get the project's (`key` → `project:key`). */
  config?: Record<string, ConfigValue>;
  /**
   * Environment for the program and the provider host (e.g. KUBECONFIG, TAILSCALE_*), and for the CLI settings the
   * harness honours: PULUMI_PARALLEL, PULUMI_RUN_PROGRAM, PULUMI_ENABLE_LEGACY_REFRESH_DIFF. The caller's own
   * environment is never consulted for these.
   */
  env?: Record<string, string>;
  /** In-process providers for non-dynamic type tokens. */
  builtins?: Builtins;
  /**
   * `--parallel`. Default as the CLI's: PULUMI_PARALLEL from `env` when set, else 4 × the CPUs available
   * (`os.availableParallelism()`, as GOMAXPROCS: pkg/cmd/pulumi/operations/up.go:69-90).
   */
  parallel?: number;
  /**
   * Start a dynamic-provider host while each deployment's program boots (default true), to save its start-up time;
   * it serves the deployment's first dynamic provider. Set false for programs without dynamic resources: a host is
   * then started only when state or the program needs one.
   */
  prestartProviderHost?: boolean;
}

/** Options of {@link StackHarness.up}. */
export interface UpOptions {
  /** `--skip-preview`: no preview deployment first. */
  skipPreview?: boolean;
}

/** Options of {@link StackHarness.refresh} and {@link StackHarness.destroy}. */
export interface ProgramlessOptions extends UpOptions {
  /**
   * `--run-program`: run the program so providers get the current config (default PULUMI_RUN_PROGRAM from `env`,
   * else false: pkg/cmd/pulumi/operations/refresh.go:367, destroy.go:398).
   */
  runProgram?: boolean;
}

function envBool(v: string | undefined): boolean {
  return v !== undefined && (v === "1" || v.toLowerCase() === "true");
}

/** Drives one stack of a Pulumi program through the real language runtime and the real dynamic-provider host. */
export class StackHarness {
  readonly backend: Backend;
  readonly organization: string;
  private readonly config = new Map<string, ConfigValue>();
  private lastHosts: HostStats[] = [];
  private running = false;
  private readonly launch: ProjectLaunch;
  private readonly project: string;
  private stackName: string;

  /** @param o stack identity, program, config, environment and providers */
  constructor(private readonly o: StackHarnessOptions) {
    this.launch = readProject(o.projectDir);
    if (o.project !== undefined && o.project !== this.launch.name)
      throw new Error(
        `project "${o.project}" given, but ${o.projectDir}/Pulumi.yaml names "${this.launch.name}"`,
      );
    this.project = this.launch.name;
    this.backend = o.backend ?? createBackend();
    this.organization = o.organization ?? DIY_ORGANIZATION;
    if (this.backend.kind === "diy" && this.organization !== DIY_ORGANIZATION)
      throw new Error(
        `a DIY backend's stacks belong to the organization "${DIY_ORGANIZATION}", not "${this.organization}"`,
      );
    this.stackName = o.stack;
    for (const [k, v] of Object.entries(o.config ?? {})) this.setConfig(k, v);
    this.record();
  }

  /** The stack's name (changed by {@link renameStack}). */
  get stack(): string {
    return this.stackName;
  }

  /** Sets a config value (`key` gets the project namespace; `ns:key` is kept). */
  setConfig(key: string, value: ConfigValue): void {
    this.config.set(key.includes(":") ? key : `${this.project}:${key}`, value);
  }

  /** Removes a config value. */
  removeConfig(key: string): void {
    this.config.delete(key.includes(":") ? key : `${this.project}:${key}`);
  }

  /** The stack's resources as last saved (wire form; secrets wrapped). */
  get state(): ResourceState[] {
    return this.record().resources;
  }

  /** The stack's outputs as last saved. */
  get outputs(): PropertyMap {
    return this.record().outputs;
  }

  /** The pid of the last dynamic-provider host of the last deployment, or undefined when it started none. */
  get providerPid(): number | undefined {
    return this.lastHosts.at(-1)?.pid;
  }

  /** How many dynamic-provider hosts the last deployment started. */
  get providerHostCount(): number {
    return this.lastHosts.length;
  }

  /** CPU (user + system, ms) the last deployment's provider hosts used, together. */
  providerHostCpuMs(): number {
    return this.lastHosts.reduce((sum, h) => sum + h.cpuMs, 0);
  }

  /** Peak RSS (VmHWM) in KiB of the last deployment's provider hosts (the largest); 0 when it started none. */
  peakRssKb(): number {
    return Math.max(0, ...this.lastHosts.map((h) => h.peakRssKb));
  }

  /** The raw serialized `__provider` code of a dynamic resource in state (by URN or resource name). */
  providerSource(urnOrName: string): string | undefined {
    const r = this.state.find((x) => x.urn === urnOrName || x.urn.endsWith(`::${urnOrName}`));
    const p = r?.outputs.__provider ?? r?.inputs.__provider;
    if (p && typeof p === "object" && "value" in p) return String((p as { value: unknown }).value);
    return typeof p === "string" ? p : undefined;
  }

  /** Finds a resource in state by name (last URN segment) and optionally type. */
  resource(name: string, type?: string): ResourceState | undefined {
    return this.state.find((r) => r.urn.endsWith(`::${name}`) && (!type || r.type === type));
  }

  /** `pulumi preview`: runs the program with --dry-run; Check and Diff only. */
  preview(): Promise<StepResult> {
    return this.exclusive(
      async () => (await this.deploy({ kind: "update", dryRun: true, runProgram: true })).result,
    );
  }

  /**
   * `pulumi up --yes`: a preview deployment, then (unless it failed) the update, each with its own provider hosts
   * (pkg/backend/apply.go:279-320). `skipPreview` is `--skip-preview`. The result is the update's, with the preview in
   * `preview`; when the preview failed, the preview's.
   */
  up(o: UpOptions = {}): Promise<CommandResult> {
    return this.exclusive(() =>
      this.command({ kind: "update", dryRun: false, runProgram: true }, o.skipPreview),
    );
  }

  /**
   * `pulumi refresh --yes`: reads every resource and diffs what it read against the inputs. Without `runProgram` the
   * providers are configured from the config recorded in state.
   */
  refresh(o: ProgramlessOptions = {}): Promise<CommandResult> {
    const runProgram = o.runProgram ?? envBool(this.o.env?.PULUMI_RUN_PROGRAM);
    return this.exclusive(() => this.command({ kind: "refresh", dryRun: false, runProgram }, o.skipPreview));
  }

  /**
   * `pulumi destroy --yes`: deletes everything in reverse dependency order. Without `runProgram` the providers are
   * configured from the config recorded in state.
   */
  destroy(o: ProgramlessOptions = {}): Promise<CommandResult> {
    const runProgram = o.runProgram ?? envBool(this.o.env?.PULUMI_RUN_PROGRAM);
    return this.exclusive(() => this.command({ kind: "destroy", dryRun: false, runProgram }, o.skipPreview));
  }

  /**
   * `pulumi stack rename <newName>` on a DIY backend (pkg/backend/diy/backend.go:1025-1100): the checkpoint moves to
   * the new name with every URN rewritten (`edit.RenameStack`, pkg/resource/edit/operations.go), the root stack
   * resource's name included; the stack's config goes with it. `newName` is `<stack>`, `organization/<stack>` or
   * `organization/<project>/<stack>` (the project must be this one: Pulumi.yaml names it).
   */
  renameStack(newName: string): void {
    if (this.running)
      throw new Error(`stack ${this.stackName}: another operation is running; await it first`);
    const parts = newName.split("/");
    const stack = parts[parts.length - 1];
    if (parts.length > 3 || !stack) throw new Error(`invalid stack name "${newName}"`);
    if (parts.length >= 2 && parts[0] !== this.organization)
      throw new Error(`organization name must be '${this.organization}'`);
    if (parts.length === 3 && parts[1] !== this.project)
      throw new Error(
        `the harness's project is ${this.project} (Pulumi.yaml); renaming to project ${parts[1]} is not supported`,
      );
    const rec = this.backend.rename(this.record().name, `${this.organization}/${this.project}/${stack}`);
    const u = (x: string) => renameUrn(x, stack);
    rec.resources = rec.resources.map((r) => ({
      ...r,
      urn: u(r.urn),
      parent: r.parent && u(r.parent),
      dependencies: r.dependencies.map(u),
      propertyDependencies: Object.fromEntries(
        Object.entries(r.propertyDependencies).map(([k, v]) => [k, v.map(u)]),
      ),
      provider:
        r.provider && `${u(r.provider.split("::").slice(0, -1).join("::"))}::${r.provider.split("::").pop()}`,
      aliases: r.aliases?.map(u),
    }));
    this.stackName = stack;
  }

  /** Stops what the harness runs. Deployments stop their own provider hosts; kept for callers' `after` hooks. */
  async close(): Promise<void> {
    this.lastHosts = [];
  }

  // ------------------------------------------------------------------ internals

  private record(): StackRecord {
    return this.backend.stack(this.organization, this.project, this.stackName);
  }

  private async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running)
      throw new Error(`stack ${this.stackName}: another operation is running; await it first`);
    this.running = true;
    try {
      return await fn();
    } finally {
      this.running = false;
    }
  }

  /** A command: preview first unless skipped (pkg/backend/apply.go:279-320), then the update, saved to state. */
  private async command(mode: DeploymentMode, skipPreview: boolean | undefined): Promise<CommandResult> {
    let preview: StepResult | undefined;
    if (!skipPreview) {
      preview = (await this.deploy({ ...mode, dryRun: true })).result;
      // PreviewThenPrompt returns the preview's error and the update does not run.
      if (preview.failed) return { ...preview, preview };
    }
    const outcome = await this.deploy(mode);
    if (outcome.state) {
      const rec = this.record();
      rec.resources = outcome.state;
      rec.outputs = outcome.outputs ?? rec.outputs;
    }
    return { ...outcome.result, preview };
  }

  private async deploy(mode: DeploymentMode): Promise<DeploymentOutcome> {
    const outcome = await new Deployment(
      {
        organization: this.organization,
        project: this.project,
        stack: this.stackName,
        launch: this.launch,
        config: new Map(this.config),
        env: this.o.env ?? {},
        parallel: this.parallel(),
        record: this.record(),
        resolveStack: (ref) => this.backend.resolve(ref, this.project),
        builtins: this.o.builtins ?? {},
        startProviderHost: (engineAddress, onOutput) => this.startProviderHost(engineAddress, onOutput),
        prestartProviderHost: this.o.prestartProviderHost !== false,
        legacyRefreshDiff: envBool(this.o.env?.PULUMI_ENABLE_LEGACY_REFRESH_DIFF),
      },
      mode,
    ).run();
    this.lastHosts = outcome.hosts;
    return outcome;
  }

  /** `--parallel`'s default (pkg/cmd/pulumi/operations/up.go:69-90): PULUMI_PARALLEL, else 4 × GOMAXPROCS. */
  private parallel(): number {
    if (this.o.parallel !== undefined) return this.o.parallel;
    const fromEnv = Number.parseInt(this.o.env?.PULUMI_PARALLEL ?? "", 10);
    if (fromEnv > 0) return fromEnv;
    return 4 * os.availableParallelism();
  }

  private startProviderHost(
    engineAddress: string,
    onOutput: (line: string) => void,
  ): Promise<DynamicProviderHost> {
    // The plugin's PULUMI_CONFIG holds the `pulumi-nodejs:` namespace only, never the whole stack config
    // (pulumi/pulumi@a88168d8 pkg/host/host.go:381-397, keys without the namespace); runtime options come as
    // PULUMI_RUNTIME_<OPTION> (sdk/go/common/resource/plugin/provider_plugin.go:238-259).
    const pluginConfig: Record<string, string> = {};
    for (const [k, v] of this.config)
      if (k.startsWith("pulumi-nodejs:"))
        pluginConfig[k.slice("pulumi-nodejs:".length)] = typeof v === "string" ? v : v.secret;
    return DynamicProviderHost.start({
      engineAddress,
      cwd: this.launch.pwd,
      project: this.project,
      env: {
        ...(this.o.env ?? {}),
        ...this.launch.runtimeOptions,
        PULUMI_CONFIG: JSON.stringify(pluginConfig),
      },
      onOutput: (_s, line) => onOutput(line),
    });
  }
}
