/** {@link StackHarness}: one Pulumi stack driven through preview / up / refresh / destroy. */
import { builtinAdapter, dynamicAdapter, type ProviderAdapter } from "./adapters";
import { type Backend, createBackend, type StackRecord } from "./backend";
import { Deployment, type DeploymentHost } from "./deployment";
import { makeSecret, type PropertyMap } from "./marshal";
import { type ProjectLaunch, readProject } from "./project";
import { DynamicProviderHost } from "./providerHost";
import type { Builtins, ConfigValue, ResourceState, StepResult } from "./types";

/** Options for {@link StackHarness}. */
export interface StackHarnessOptions {
  /** Shared backend (for stack references between harnesses); a private one when omitted. */
  backend?: Backend;
  /** Organization name (default `organization`, as for a local backend). */
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
  /** Environment for the program and the provider host (e.g. KUBECONFIG, TAILSCALE_*). */
  env?: Record<string, string>;
  /** In-process providers for non-dynamic type tokens. */
  builtins?: Builtins;
  /** `--parallel` (default 16). */
  parallel?: number;
  /**
   * Start the dynamic-provider host while the program boots (default true), to save its start-up time. Set false for
   * programs without dynamic resources; a host is then started only when state or the program needs one.
   */
  prestartProviderHost?: boolean;
  /**
   * Keep one provider host for every step (default true: cheap). The CLI starts a fresh host per command; set false
   * to get that (module-level caches in the provider then do not survive between steps). The host is always
   * restarted when the config changed, because the host runs `configure` only once per provider.
   */
  reuseProviderHost?: boolean;
}

/** Drives one stack of a Pulumi program through the real language runtime and the real dynamic-provider host. */
export class StackHarness {
  readonly backend: Backend;
  readonly organization: string;
  private readonly config = new Map<string, ConfigValue>();
  private host: Promise<DynamicProviderHost> | undefined;
  private hostConfigKey = "";
  private hostInstance: DynamicProviderHost | undefined;
  private outputSink: ((line: string) => void) | undefined;
  private running = false;
  private readonly launch: ProjectLaunch;
  private readonly project: string;

  /** @param o stack identity, program, config, environment and providers */
  constructor(private readonly o: StackHarnessOptions) {
    this.launch = readProject(o.projectDir);
    if (o.project !== undefined && o.project !== this.launch.name)
      throw new Error(
        `project "${o.project}" given, but ${o.projectDir}/Pulumi.yaml names "${this.launch.name}"`,
      );
    this.project = this.launch.name;
    this.backend = o.backend ?? createBackend();
    this.organization = o.organization ?? "organization";
    for (const [k, v] of Object.entries(o.config ?? {})) this.setConfig(k, v);
    this.record();
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

  /** The provider host's pid, or undefined before the first dynamic resource was seen. */
  get providerPid(): number | undefined {
    return this.hostInstance?.pid;
  }

  /** Peak RSS (VmHWM) of the current provider host in KiB; 0 when none runs. */
  peakRssKb(): number {
    return this.hostInstance?.peakRssKb() ?? 0;
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
    return this.exclusive(async () => {
      this.prestartHost();
      return (await new Deployment(this.deploymentHost(), "preview").runProgram()).result;
    });
  }

  /** `pulumi up --skip-preview`: runs the program and applies its changes. */
  up(): Promise<StepResult> {
    return this.exclusive(async () => {
      this.prestartHost();
      const d = new Deployment(this.deploymentHost(), "up");
      const { result, state } = await d.runProgram();
      this.save(state ?? this.state, result.outputs);
      return result;
    });
  }

  /** `pulumi refresh`: Read every resource; drops gone ones, records drift. */
  refresh(): Promise<StepResult> {
    return this.exclusive(async () => {
      const { result, state } = await new Deployment(this.deploymentHost(), "refresh").runRefresh();
      this.save(state, this.outputs);
      return result;
    });
  }

  /** `pulumi destroy`: deletes everything in reverse dependency order. */
  destroy(): Promise<StepResult> {
    return this.exclusive(async () => {
      const { result, state } = await new Deployment(this.deploymentHost(), "destroy").runDestroy();
      this.save(state, state.length === 0 ? {} : this.outputs);
      return result;
    });
  }

  /** Stops the provider host (and its temp files). Safe to call twice. */
  async close(): Promise<void> {
    const h = this.host;
    this.host = undefined;
    this.hostInstance = undefined;
    if (h) await h.then((x) => x.stop()).catch(() => undefined);
  }

  // ------------------------------------------------------------------ internals

  private record(): StackRecord {
    return this.backend.stack(this.organization, this.project, this.o.stack);
  }

  private save(resources: ResourceState[], outputs: PropertyMap): void {
    const rec = this.record();
    rec.resources = resources;
    rec.outputs = outputs;
  }

  private async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running) throw new Error(`stack ${this.o.stack}: another operation is running; await it first`);
    this.running = true;
    try {
      if (this.o.reuseProviderHost === false) await this.close();
      return await fn();
    } finally {
      this.running = false;
    }
  }

  /** Config as the engine sends it to Configure: namespaced keys, secret values secret-wrapped. */
  private providerConfig(): PropertyMap {
    const out: PropertyMap = {};
    for (const [k, v] of this.config) out[k] = typeof v === "string" ? v : makeSecret(v.secret);
    return out;
  }

  private pluginConfig(): Record<string, string> {
    return Object.fromEntries(
      Object.entries(this.plainConfig()).filter(([k]) => k.startsWith("pulumi-nodejs:")),
    );
  }

  private plainConfig(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of this.config) out[k] = typeof v === "string" ? v : v.secret;
    return out;
  }

  /**
   * Starts the provider host while the program boots (the program takes seconds to load the SDK and TypeScript),
   * when dynamic resources are expected: the state has some, or a package for them was named. A start failure
   * surfaces again at the first real use.
   */
  private prestartHost(): void {
    const expected =
      this.o.prestartProviderHost !== false ||
      this.state.some((r) => r.type.startsWith("pulumi-nodejs:dynamic"));
    if (expected) this.dynamicHost().catch(() => undefined);
  }

  private dynamicHost(): Promise<DynamicProviderHost> {
    const key = JSON.stringify([...this.config.entries()].sort());
    if (this.host && key !== this.hostConfigKey) {
      const stale = this.host;
      this.host = undefined;
      this.hostInstance = undefined;
      void stale.then((h) => h.stop()).catch(() => undefined);
    }
    if (!this.host) {
      this.hostConfigKey = key;
      const config = this.providerConfig();
      const o = this.o;
      this.host = (async () => {
        const h = await DynamicProviderHost.start({
          cwd: this.launch.pwd,
          project: this.project,
          // The plugin's PULUMI_CONFIG holds the `pulumi-nodejs:` namespace only, never the whole stack config
          // (pulumi/pulumi@a88168d8 pkg/host/host.go:381-397); runtime options come as PULUMI_RUNTIME_<OPTION>.
          env: {
            ...(o.env ?? {}),
            ...this.launch.runtimeOptions,
            PULUMI_CONFIG: JSON.stringify(this.pluginConfig()),
          },
          onOutput: (_s, line) => this.outputSink?.(line),
        });
        this.hostInstance = h;
        await h.pluginVersion();
        await h.configure(
          config,
          `urn:pulumi:${o.stack}::${this.project}::pulumi:providers:pulumi-nodejs::default`,
        );
        return h;
      })();
      this.host.catch(() => {
        this.host = undefined;
      });
    }
    return this.host;
  }

  private adapterFor(type: string, _providerRef: string | undefined): ProviderAdapter {
    if (type.startsWith("pulumi-nodejs:dynamic")) return dynamicAdapter(() => this.dynamicHost());
    const b = this.o.builtins?.[type];
    if (b) return builtinAdapter(b, this.plainConfig());
    throw new Error(
      `no provider for resource type "${type}": the test engine runs only dynamic providers and the builtins passed to StackHarness({ builtins }); add one for this type`,
    );
  }

  private deploymentHost(): DeploymentHost {
    const secretKeys = [...this.config].filter(([, v]) => typeof v !== "string").map(([k]) => k);
    return {
      organization: this.organization,
      project: this.project,
      stack: this.o.stack,
      launch: this.launch,
      programConfig: { values: this.plainConfig(), secretKeys },
      env: this.o.env ?? {},
      parallel: this.o.parallel ?? 16,
      record: this.record(),
      resolveStack: (ref) => this.backend.resolve(ref, this.organization, this.project),
      adapterFor: (type, ref) => this.adapterFor(type, ref),
      setProviderOutputSink: (sink) => {
        this.outputSink = sink;
      },
    };
  }
}
