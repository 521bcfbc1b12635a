/**
 * One deployment of one stack, as the engine runs it: the preview or the update of `up`, `refresh` or `destroy`. The
 * language-host side (run the program against a ResourceMonitor and an Engine gRPC server) and the engine side (step
 * generation and execution, the provider registry).
 *
 * Mirrors the Pulumi engine where the product can observe it (pulumi/pulumi@a88168d8 = tag v3.248.0):
 * - a deployment loads its own providers and closes them at its end (pkg/engine/update.go:964-984,
 *   pkg/engine/deployment.go:195-206, 240-246): one dynamic-provider host process per provider it loads, configured
 *   with the provider resource's inputs. Default providers are resources in state whose inputs are the stack config
 *   (all of it for `pulumi-nodejs`: pkg/resource/deploy/target.go:46-72, default_providers.go:141-150); a config change
 *   updates them in place (providers/registry.go:732-775). Without the program (refresh, destroy), providers are
 *   configured from those recorded inputs (deployment.go:659-690, providers/registry.go:788-870);
 * - registrations are handled concurrently as they arrive, but Check and Diff run one at a time in arrival order (the
 *   step generator is a single loop); steps then run in parallel, bounded by `--parallel`;
 * - replacements run Check again with empty olds (step_generator.go:1882-1902) and are create-before-delete unless the
 *   provider or the resource asks for delete-before-replace, which first deletes the dependents that would be replaced
 *   (`calculateDependentReplacements`, step_generator.go:3009-3140) and re-creates them when the program registers
 *   them again (step_generator.go:1379-1392); replaced copies and removed resources are deleted at the end in reverse
 *   dependency order, one antichain after another (step_generator.go:2560-2607, deployment_executor.go:486-535);
 * - refresh reads, then diffs the read state against the inputs (step.go:1635-1671);
 * - secrets are stripped before every provider call and re-marked (`annotateSecrets`, `additionalSecretOutputs`, in
 *   preview too: step_executor.go:518-565);
 * - after a failed step no new step starts, in-flight ones finish, and no deletes run.
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as grpc from "@grpc/grpc-js";
import type * as aliasproto from "@pulumi/pulumi/proto/alias_pb";
import * as enginerpc from "@pulumi/pulumi/proto/engine_grpc_pb";
import * as engineproto from "@pulumi/pulumi/proto/engine_pb";
import * as provproto from "@pulumi/pulumi/proto/provider_pb";
import * as resrpc from "@pulumi/pulumi/proto/resource_grpc_pb";
import * as resproto from "@pulumi/pulumi/proto/resource_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { builtinAdapter, dynamicAdapter, type ProviderAdapter } from "./adapters";
import { type AliasSpec, generateAliases, newUrn, parseUrn, resourceUrn } from "./aliases";
import type { StackRecord } from "./backend";
import {
  annotateSecrets,
  applyIgnoreChanges,
  changedKeys,
  containsSecrets,
  deepEqual,
  fromStruct,
  makeSecret,
  markSecretKeys,
  type PropertyMap,
  parseGoDuration,
  parsePropertyPath,
  pathContains,
  stripSecrets,
  toStruct,
  UNKNOWN,
} from "./marshal";
import { locateModule, type ProjectLaunch } from "./project";
import { type DynamicProviderHost, type ProviderDiff, ResourceInitError, urnName } from "./providerHost";
import type { Builtins, ConfigValue, LogEntry, Operation, ResourceState, Step, StepResult } from "./types";

/** What a deployment needs from its harness. */
export interface DeploymentHost {
  organization: string;
  project: string;
  stack: string;
  /** The project's launch (Pulumi.yaml): working directory, entry point, runtime options. */
  launch: ProjectLaunch;
  /** The stack config as it is now (`namespace:key`). */
  config: ReadonlyMap<string, ConfigValue>;
  env: Record<string, string>;
  parallel: number;
  /** Backend record of this stack (its state before the deployment). */
  record: StackRecord;
  /** Finds another stack for a StackReference, or throws the backend's error. */
  resolveStack(ref: string): StackRecord;
  /** In-process providers for non-dynamic packages. */
  builtins: Builtins;
  /**
   * Starts a fresh, unconfigured dynamic-provider host process given the Engine service's address, its output going to
   * `onOutput`.
   */
  startProviderHost(engineAddress: string, onOutput: (line: string) => void): Promise<DynamicProviderHost>;
  /** Start one host while the program boots, for the first dynamic provider the deployment loads. */
  prestartProviderHost: boolean;
  /** `PULUMI_ENABLE_LEGACY_REFRESH_DIFF`: refresh compares outputs instead of calling Diff. */
  legacyRefreshDiff: boolean;
}

/** What kind of deployment, and how. */
export interface DeploymentMode {
  kind: "update" | "refresh" | "destroy";
  /** A preview: Check, Diff (and, for refresh, Read) only; nothing is created, updated or deleted. */
  dryRun: boolean;
  /** Runs the program (always for update; `--run-program` for refresh and destroy). */
  runProgram: boolean;
}

/** What a dynamic-provider host used, read just before it was stopped. */
export interface HostStats {
  pid: number;
  peakRssKb: number;
  cpuMs: number;
}

/** The outcome of a deployment: its result, and (not for previews) the new checkpoint. */
export interface DeploymentOutcome {
  result: StepResult;
  state?: ResourceState[];
  outputs?: PropertyMap;
  /** Peak RSS (KiB), CPU used (user + system, ms) and pid of the dynamic-provider hosts this deployment started. */
  hosts: HostStats[];
}

const PROVIDER_TYPE_PREFIX = "pulumi:providers:";
const STACK_TYPE = "pulumi:pulumi:Stack";
const STACK_REFERENCE_TYPE = "pulumi:pulumi:StackReference";
const DYNAMIC_PACKAGES = ["pulumi-nodejs", "pulumi-python"];
const HALTED = "the deployment stopped after an earlier step failed";

/** Features this monitor reports to the SDK; see `awaitFeatureSupport` in `@pulumi/pulumi/runtime/settings.js`. */
const FEATURES: Record<string, boolean> = {
  secrets: true,
  // References and output values would be sent to providers in forms the dynamic host does not accept; the CLI
  // downgrades them for such providers. Reporting false makes the SDK send plain ids/URNs and plain values instead.
  resourceReferences: false,
  outputValues: false,
  deletedWith: false,
  replaceWith: false,
  aliasSpecs: true,
  transforms: false,
  invokeTransforms: false,
  parameterization: false,
  resourceHooks: false,
  errorHooks: false,
};

/** A counting semaphore for `--parallel`. */
class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

/** True for provider resources (`pulumi:providers:<pkg>`). */
function isProviderType(type: string): boolean {
  return type.startsWith(PROVIDER_TYPE_PREFIX);
}

/** True for the engine-made default provider resources, which Pulumi does not display. */
function isDefaultProvider(r: ResourceState): boolean {
  return isProviderType(r.type) && /^default(_|$)/.test(urnName(r.urn));
}

/** The URN part of a provider reference `urn::id`. */
function refUrn(ref: string): string {
  return ref.split("::").slice(0, -1).join("::");
}

/** The id part of a provider reference `urn::id`. */
function refId(ref: string): string {
  return ref.split("::").pop() ?? "";
}

/** Every URN a resource depends on, for ordering deletes (`DependencyGraph.DependenciesOf`). */
function allDependencies(r: ResourceState): string[] {
  const deps = new Set(r.dependencies);
  if (r.parent) deps.add(r.parent);
  if (r.provider) deps.add(refUrn(r.provider));
  for (const urns of Object.values(r.propertyDependencies)) for (const u of urns) deps.add(u);
  return [...deps];
}

function errorMessage(e: unknown): string {
  const err = e as { details?: string; message?: string };
  return err?.details || err?.message || String(e);
}

function grpcError(e: unknown): Partial<grpc.StatusObject> {
  return { code: grpc.status.UNKNOWN, details: errorMessage(e) };
}

/** A dependent the delete-before-replace probe found, with the keys that make it be replaced. */
interface DependentReplace {
  res: ResourceState;
  keys: string[];
}

/** What step generation decided for a custom resource. */
interface Plan {
  op: "create" | "update" | "replace" | "same";
  checked: PropertyMap;
  replaces: string[];
  diffs: string[];
  detailedDiff?: unknown;
  dbr: boolean;
  /** Re-created after a delete-before-replace deleted it (no Diff). */
  recreating?: boolean;
  /** Dependents to delete first, in dependency order. */
  cascade?: DependentReplace[];
}

/** Runs one deployment. Construct, call {@link run} once, read the outcome. */
export class Deployment {
  private readonly steps: Step[] = [];
  private readonly operations: Operation[] = [];
  private readonly logs: LogEntry[] = [];
  private readonly errors: string[] = [];
  /** The checkpoint before the deployment, in its order. */
  private readonly oldList: ResourceState[];
  /** Old resources by URN, without those pending deletion (`Deployment.olds`). */
  private readonly old = new Map<string, ResourceState>();
  private readonly pendingOld: ResourceState[] = [];
  /** New states, in the order they were registered. */
  private readonly registered = new Map<string, ResourceState>();
  /** The old state each registration took over (by URN or alias). */
  private readonly claimed = new Map<ResourceState, string>();
  /** New URN → the old URN it was found under through an alias (`sg.aliases`), and the reverse (`sg.aliased`). */
  private readonly aliasOf = new Map<string, string>();
  private readonly aliased = new Map<string, string>();
  /** URNs that went through step generation (`sg.urns` and the operation maps). */
  private readonly generated = new Set<string>();
  /** URNs deleted by a delete-before-replace cascade, re-created when registered again (`sg.deletes`). */
  private readonly cascadeDeleted = new Map<string, string[]>();
  private readonly inflight = new Map<string, Promise<void>>();
  /** Create-before-delete originals, deleted at the end. */
  private readonly replaced: ResourceState[] = [];
  private readonly deleted = new Set<ResourceState>();
  /** Old states deleted for a delete-before-replace, kept as `pendingReplacement` until re-created. */
  private readonly pendingReplacement = new Set<ResourceState>();
  /** Resources to delete at the end of a destroy that runs the program. */
  private readonly toDelete: ResourceState[] = [];
  /** The provider registry: configured providers by reference `urn::id`. */
  private readonly providers = new Map<string, Promise<ProviderAdapter>>();
  private readonly hosts: Promise<DynamicProviderHost>[] = [];
  private spareHost: Promise<DynamicProviderHost> | undefined;
  private readonly sem: Semaphore;
  private genChain: Promise<unknown> = Promise.resolve();
  private halted = false;
  private rootUrn = "";
  /** The Engine service of this deployment, which the program and every provider host are given. */
  private engine: Promise<{ server: grpc.Server; address: string }> | undefined;
  private stackOutputs: PropertyMap | undefined;
  private readonly dryRun: boolean;
  private program: ChildProcess | undefined;
  private cancelling = false;

  constructor(
    private readonly host: DeploymentHost,
    private readonly mode: DeploymentMode,
  ) {
    this.dryRun = mode.dryRun;
    this.sem = new Semaphore(Math.max(1, host.parallel));
    this.oldList = [...host.record.resources];
    for (const r of this.oldList) {
      if (r.pendingDelete) this.pendingOld.push(r);
      else this.old.set(r.urn, r);
    }
  }

  /** Runs the deployment; always stops the provider hosts it started, then its Engine service. */
  async run(): Promise<DeploymentOutcome> {
    try {
      return await this.deploy();
    } finally {
      if (this.engine) (await this.engine.catch(() => undefined))?.server.forceShutdown();
    }
  }

  private async deploy(): Promise<DeploymentOutcome> {
    const usesDynamic =
      this.host.prestartProviderHost || this.oldList.some((r) => r.type.startsWith("pulumi-nodejs:"));
    if (usesDynamic) this.spareHost = this.startHost();
    try {
      const { kind, runProgram } = this.mode;
      if (kind === "update" || runProgram) await this.runProgram();
      else if (kind === "refresh") await this.refreshAll(this.oldList);
      else await this.deleteAll([...this.oldList], "destroy");
      if (kind === "destroy" && this.mode.runProgram && this.errors.length === 0)
        await this.deleteAll(this.destroyList(), "destroy");
      const result = this.result();
      if (this.dryRun) return { result, hosts: await this.closeHosts() };
      const state = this.finalState();
      const outputs =
        kind === "destroy"
          ? state.length === 0
            ? {}
            : this.host.record.outputs
          : (this.stackOutputs ?? this.host.record.outputs);
      return { result, state, outputs, hosts: await this.closeHosts() };
    } catch (e) {
      await this.closeHosts();
      throw e;
    }
  }

  // ---------------------------------------------------------------- results

  private result(): StepResult {
    const failed = this.errors.length > 0;
    return {
      steps: this.steps,
      operations: this.operations,
      outputs: this.mode.kind === "destroy" ? {} : (this.stackOutputs ?? this.host.record.outputs),
      logs: this.logs,
      failed,
      error: failed ? this.errors.join("\n") : undefined,
    };
  }

  private fail(message: string): void {
    this.halted = true;
    this.error(message);
    this.cancelProgram();
  }

  /** Records an error without stopping the deployment (the step generator's `sawError` in preview). */
  private error(message: string): void {
    this.errors.push(message);
    this.logs.push({ severity: "error", message, source: "engine" });
  }

  /**
   * After a failed step the engine cancels the deployment: in-flight steps finish, then the language host (and with
   * it the program) is shut down. Without this a program whose remaining resources wait on the failed one would
   * never exit. The short grace period lets the program report its own error first.
   */
  private cancelProgram(): void {
    const child = this.program;
    if (!child || this.cancelling) return;
    this.cancelling = true;
    void Promise.allSettled([...this.inflight.values()]).then(() => {
      const timer = setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      }, 1000);
      child.once("exit", () => clearTimeout(timer));
    });
  }

  private stepOf(r: ResourceState, op: Step["op"], extra: Partial<Step> = {}): Step {
    const step: Step = {
      urn: r.urn,
      type: r.type,
      name: urnName(r.urn),
      op,
      inputs: r.inputs,
      outputs: r.outputs,
      ...extra,
    };
    this.steps.push(step);
    return step;
  }

  /**
   * The checkpoint after the deployment: the registered states, then the old ones nothing took over (kept, e.g.
   * after a failure or a protected delete), with references to aliased URNs rewritten to the new URNs as the
   * snapshot manager does (step_generator.go:657-659).
   */
  private finalState(): ResourceState[] {
    const out: ResourceState[] = [];
    const rewrite = (u: string) => this.aliased.get(u) ?? u;
    const fix = (r: ResourceState): ResourceState => {
      if (this.aliased.size === 0) return r;
      const provider = r.provider && `${rewrite(refUrn(r.provider))}::${refId(r.provider)}`;
      return {
        ...r,
        parent: r.parent && rewrite(r.parent),
        dependencies: r.dependencies.map(rewrite),
        propertyDependencies: Object.fromEntries(
          Object.entries(r.propertyDependencies).map(([k, v]) => [k, v.map(rewrite)]),
        ),
        provider,
      };
    };
    for (const r of this.registered.values()) if (!this.deleted.has(r)) out.push(fix(r));
    for (const r of this.oldList) {
      if (this.deleted.has(r)) continue;
      // A create-before-delete original whose delete did not happen stays, marked for deletion.
      if (this.replaced.includes(r)) {
        out.push(fix({ ...r, pendingDelete: true }));
        continue;
      }
      const taken = this.claimed.get(r);
      if (taken && this.registered.has(taken)) continue;
      out.push(fix(this.pendingReplacement.has(r) ? { ...r, pendingReplacement: true } : r));
    }
    return out;
  }

  // ---------------------------------------------------------------- providers

  private startHost(): Promise<DynamicProviderHost> {
    const h = this.engineAddress().then((address) =>
      this.host.startProviderHost(address, (line) =>
        this.logs.push({ severity: "info", message: line, source: "provider" }),
      ),
    );
    h.catch(() => undefined);
    this.hosts.push(h);
    return h;
  }

  private async closeHosts(): Promise<HostStats[]> {
    const started = await Promise.allSettled(this.hosts);
    const hosts = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
    const stats = hosts.map((h) => ({ pid: h.pid, peakRssKb: h.peakRssKb(), cpuMs: h.cpuMs() }));
    await Promise.all(hosts.map((h) => h.stop().catch(() => undefined)));
    return stats;
  }

  /**
   * Loads and configures the provider of a provider resource (`Registry.Check` loads a plugin, Create/Update/Same
   * configure it with the resource's inputs: registry.go:621-720, 788-1016). Each dynamic provider gets its own host
   * process, as each `loadProvider` starts a plugin (pkg/host/host.go:381-440).
   */
  private loadProvider(ref: string, r: ResourceState): Promise<ProviderAdapter> {
    let p = this.providers.get(ref);
    if (p) return p;
    const pkg = r.type.slice(PROVIDER_TYPE_PREFIX.length);
    p = (async (): Promise<ProviderAdapter> => {
      if (DYNAMIC_PACKAGES.includes(pkg)) {
        const spare = this.spareHost;
        this.spareHost = undefined;
        const h = await (spare ?? this.startHost());
        await h.pluginVersion();
        const inputs = { ...r.inputs };
        delete inputs.__internal;
        await h.configure(inputs, { urn: r.urn, id: refId(ref) });
        return dynamicAdapter(h);
      }
      return this.builtinFor(pkg, r);
    })();
    p.catch(() => undefined);
    this.providers.set(ref, p);
    return p;
  }

  private builtinFor(pkg: string, r: ResourceState): ProviderAdapter {
    const plain: Record<string, string> = {};
    for (const [k, v] of this.host.config) plain[k] = typeof v === "string" ? v : v.secret;
    const inputs = stripSecrets(r.inputs);
    delete inputs.version;
    // Any builtin of this package serves it; which type is dispatched per call.
    const types = Object.keys(this.host.builtins).filter((t) => t.split(":")[0] === pkg);
    const adapters = new Map(
      types.map((t) => [t, builtinAdapter(this.host.builtins[t], plain, inputs)] as const),
    );
    const pick = (urn: string): ProviderAdapter => {
      const type = parseUrn(urn).type;
      const a = adapters.get(type);
      if (!a)
        throw new Error(
          `no provider for resource type "${type}": the test engine runs only dynamic providers and the builtins passed to StackHarness({ builtins }); add one for this type`,
        );
      return a;
    };
    return {
      check: (urn, o, n) => pick(urn).check(urn, o, n),
      diff: (urn, id, oo, ni, oi, info) => pick(urn).diff(urn, id, oo, ni, oi, info),
      create: (urn, i, info) => pick(urn).create(urn, i, info),
      read: (urn, id, o, i, info) => pick(urn).read(urn, id, o, i, info),
      update: (urn, id, oo, ni, oi, info) => pick(urn).update(urn, id, oo, ni, oi, info),
      delete: (urn, id, o, oi, info) => pick(urn).delete(urn, id, o, oi, info),
    };
  }

  /**
   * The configured provider for a reference: one registered in this deployment, else the old state's provider,
   * configured with its recorded inputs (`EnsureProvider`, deployment.go:659-690).
   */
  private providerFor(ref: string | undefined, type: string): Promise<ProviderAdapter> {
    if (!ref) return Promise.reject(new Error(`resource of type ${type} has no provider reference`));
    const loaded = this.providers.get(ref);
    if (loaded) return loaded;
    const old = this.old.get(refUrn(ref));
    if (old?.id === refId(ref)) return this.loadProvider(ref, old);
    return Promise.reject(new Error(`could not find provider ${ref}`));
  }

  /**
   * The default provider's inputs: the package's config (`Target.GetPackageConfig`, target.go:46-72). Dynamic
   * providers get every key with its namespace; other packages their own keys without it. Secrets stay secret.
   */
  private packageConfig(pkg: string, version: string): PropertyMap {
    const out: PropertyMap = {};
    const dynamic = DYNAMIC_PACKAGES.includes(pkg);
    for (const [k, v] of this.host.config) {
      const ns = k.slice(0, k.indexOf(":"));
      if (!dynamic && ns !== pkg) continue;
      const value = typeof v === "string" ? v : makeSecret(v.secret);
      out[dynamic ? k : k.slice(k.indexOf(":") + 1)] = value;
    }
    if (version) out.version = version;
    return out;
  }

  /** Registers (creating if needed) the engine's default provider for a package, returning its reference. */
  private defaultProviderRef(pkg: string, version: string): string {
    const name = version ? `default_${version.replace(/[^A-Za-z0-9]/g, "_")}` : "default";
    const urn = newUrn(this.host.stack, this.host.project, "", `${PROVIDER_TYPE_PREFIX}${pkg}`, name);
    const done = this.registered.get(urn);
    if (done) return `${urn}::${done.id}`;
    this.generated.add(urn);
    const r = this.registerProviderState(
      { urn, type: `${PROVIDER_TYPE_PREFIX}${pkg}`, dependencies: [], propertyDependencies: {} },
      this.packageConfig(pkg, version),
      this.old.get(urn),
      false,
    );
    return `${urn}::${r.id}`;
  }

  /**
   * A provider resource's step: no CheckConfig or DiffConfig in the dynamic host (UNIMPLEMENTED:
   * sdk/nodejs/cmd/dynamic-provider/index.ts:185-192, 237-244), so the engine keeps the inputs and compares the old
   * outputs with them (provider_plugin.go:649-700, 760-825; registry.go:763-769): same, or an update in place.
   */
  private registerProviderState(
    base: Pick<ResourceState, "urn" | "type" | "dependencies" | "propertyDependencies"> &
      Partial<ResourceState>,
    inputs: PropertyMap,
    old: ResourceState | undefined,
    display: boolean,
  ): ResourceState {
    const op = !old ? "create" : deepEqual(old.outputs, inputs) ? "same" : "update";
    const id = old?.id ?? (this.dryRun ? UNKNOWN : crypto.randomUUID());
    const r: ResourceState = { ...base, custom: true, id, inputs, outputs: inputs };
    if (old) this.claimed.set(old, r.urn);
    this.registered.set(r.urn, r);
    void this.loadProvider(`${r.urn}::${id}`, r);
    if (this.mode.kind === "destroy") this.toDelete.push(r);
    // The CLI does not show default providers (pkg/engine/deployment.go:486-488 `isDefaultProviderStep`).
    if (display)
      this.stepOf(r, op, op === "update" ? { diffs: changedKeys(old?.outputs ?? {}, inputs) } : {});
    return r;
  }

  // ---------------------------------------------------------------- the program

  /** Runs the program and applies (or, for preview, plans) its changes. */
  private async runProgram(): Promise<void> {
    const exit = await this.launch();
    await Promise.allSettled([...this.inflight.values()]);
    if (exit.code !== 0 && this.errors.length === 0) {
      const reported = this.logs
        .filter((l) => l.severity === "error" && l.source === "engine")
        .map((l) => l.message);
      const detail = reported.length
        ? reported.join("\n")
        : exit.stderr.trim().split("\n").slice(-20).join("\n");
      this.errors.push(`the Pulumi program exited with code ${exit.code}: ${detail}`);
    }
    if (this.errors.length > 0) return;
    const unclaimed = (r: ResourceState) => !this.claimed.has(r) && !this.cascadeDeleted.has(r.urn);
    if (this.mode.kind === "refresh") {
      // GenerateRefreshes (step_generator.go:2092-2157): what the program did not register is refreshed too.
      await this.refreshAll(this.oldList.filter(unclaimed));
      return;
    }
    if (this.mode.kind === "destroy") return;
    // Dependents deleted for a delete-before-replace that the program no longer registers leave the state
    // (`RemovePendingReplaceStep`, step_generator.go:2240-2250).
    for (const [urn] of this.cascadeDeleted) {
      const r = this.old.get(urn);
      if (!r || this.claimed.has(r)) continue;
      this.stepOf(r, "delete");
      this.pendingReplacement.delete(r);
      this.deleted.add(r);
    }
    const toDelete = [
      ...this.oldList.filter((r) => !r.pendingDelete && unclaimed(r) && !this.deleted.has(r)),
      ...this.replaced,
      ...this.pendingOld,
    ];
    await this.deleteAll(toDelete, "removed");
  }

  /** What a destroy that ran the program deletes: everything, new states where the program registered them. */
  private destroyList(): ResourceState[] {
    return [...this.toDelete, ...this.oldList.filter((r) => !this.claimed.has(r))];
  }

  /**
   * The address of the deployment's Engine service, started on first use. As the CLI's plugin host serves it
   * (pulumi/pulumi@a88168d8 pkg/host/host_server.go:50-78): one server for the whole deployment, whose address the
   * language host gets as `--engine` (sdk/go/common/resource/plugin/langruntime_plugin.go:74) and every resource
   * plugin as its argument (provider_plugin.go:282); the ResourceMonitor is a server of its own.
   */
  private async engineAddress(): Promise<string> {
    this.engine ??= (async () => {
      const server = new grpc.Server();
      server.addService(
        enginerpc.EngineService as unknown as grpc.ServiceDefinition,
        this.engineImpl() as unknown as grpc.UntypedServiceImplementation,
      );
      return { server, address: await listen(server) };
    })();
    return (await this.engine).address;
  }

  private async launch(): Promise<{ code: number; stderr: string }> {
    const engineAddr = await this.engineAddress();
    const server = new grpc.Server();
    server.addService(
      resrpc.ResourceMonitorService as unknown as grpc.ServiceDefinition,
      this.monitorImpl() as unknown as grpc.UntypedServiceImplementation,
    );
    const addr = await listen(server);
    const h = this.host;
    const p = h.launch;
    const values: Record<string, string> = {};
    for (const [k, v] of h.config) values[k] = typeof v === "string" ? v : v.secret;
    const secretKeys = [...h.config].filter(([, v]) => typeof v !== "string").map(([k]) => k);
    // The argv and environment pulumi-language-nodejs gives the program
    // (pulumi/pulumi@a88168d8 sdk/nodejs/cmd/pulumi-language-nodejs/main.go:878-991 `execRuntime`, 1066-1096
    // `constructArguments`): `node [nodeargs] <run.js located from the program dir> --monitor … --pwd <pwd> … <entry>`,
    // the CLI's environment plus PULUMI_CONFIG, PULUMI_CONFIG_SECRET_KEYS and PULUMI_NODEJS_TYPESCRIPT. TypeScript is
    // then compiled by the ts-node run.js registers itself (run.ts:276-352), nothing of the harness's.
    const runScript = locateModule("@pulumi/pulumi/cmd/run", p.pwd);
    const args = [
      ...p.nodeArgs,
      runScript,
      "--monitor",
      addr,
      "--engine",
      engineAddr,
      "--organization",
      h.organization,
      "--project",
      h.project,
      "--root-directory",
      p.rootDir,
      "--stack",
      h.stack,
      "--pwd",
      p.pwd,
      ...(this.dryRun ? ["--dry-run"] : []),
      "--parallel",
      String(h.parallel),
      p.entry,
    ];
    const child = spawn(process.execPath, args, {
      cwd: p.pwd,
      env: {
        ...(process.env as Record<string, string>),
        ...h.env,
        PULUMI_CONFIG: JSON.stringify(values),
        PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(secretKeys),
        ...(p.typescript ? { PULUMI_NODEJS_TYPESCRIPT: "true" } : {}),
        ...(p.tsconfigPath ? { PULUMI_NODEJS_TSCONFIG_PATH: p.tsconfigPath } : {}),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.program = child;
    if (this.halted) this.cancelProgram();
    let stderr = "";
    const lines = (source: "stdout" | "stderr") => {
      let buf = "";
      return (d: Buffer) => {
        buf += d.toString();
        const parts = buf.split("\n");
        buf = parts.pop() ?? "";
        for (const line of parts)
          if (line.trim()) this.logs.push({ severity: "info", message: line, source });
      };
    };
    child.stdout?.on("data", lines("stdout"));
    const errLines = lines("stderr");
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
      errLines(d);
    });
    const code = await new Promise<number>((resolve) => {
      child.once("error", (e) => {
        stderr += String(e);
        resolve(-1);
      });
      child.once("exit", (c, sig) => resolve(c ?? (sig ? 128 : -1)));
    });
    server.forceShutdown();
    return { code, stderr };
  }

  private unary<Req, Res>(fn: (req: Req) => Promise<Res>) {
    return (call: grpc.ServerUnaryCall<Req, Res>, cb: grpc.sendUnaryData<Res>) => {
      // ENGINE_HARNESS_TRACE=1 prints every monitor/engine RPC (method, type, name), for debugging hangs.
      if (process.env.ENGINE_HARNESS_TRACE) {
        const r = call.request as {
          getType?: () => string;
          getName?: () => string;
          getTok?: () => string;
          getId?: () => string;
        };
        process.stderr.write(
          `[engine] ${call.getPath()} ${r.getType?.() ?? r.getTok?.() ?? r.getId?.() ?? ""} ${r.getName?.() ?? ""}\n`,
        );
      }
      fn(call.request).then(
        (res) => cb(null, res),
        (e) => cb(grpcError(e), null),
      );
    };
  }

  /**
   * The Engine service as the CLI's host server implements it (pkg/host/host_server.go:91-133): Log (an unknown
   * severity refused; `ephemeral` messages are the display's status lines, LogStatus, the others diagnostics) from the
   * program and from provider hosts alike, and the root resource's URN.
   */
  private engineImpl() {
    return {
      log: this.unary(async (req: engineproto.LogRequest) => {
        const S = engineproto.LogSeverity;
        const severities: Record<number, LogEntry["severity"]> = {
          [S.DEBUG]: "debug",
          [S.INFO]: "info",
          [S.WARNING]: "warning",
          [S.ERROR]: "error",
        };
        const severity = severities[req.getSeverity()];
        if (!severity) throw new Error(`Unrecognized logging severity: ${req.getSeverity()}`);
        this.logs.push({
          severity,
          message: req.getMessage(),
          urn: req.getUrn() || undefined,
          source: "engine",
          ...(req.getEphemeral() ? { ephemeral: true } : {}),
          ...(req.getStreamid() ? { streamId: req.getStreamid() } : {}),
        });
        return new Empty();
      }),
      getRootResource: this.unary(async () => {
        const res = new engineproto.GetRootResourceResponse();
        res.setUrn(this.rootUrn);
        return res;
      }),
      setRootResource: this.unary(async (req: engineproto.SetRootResourceRequest) => {
        this.rootUrn = req.getUrn();
        return new engineproto.SetRootResourceResponse();
      }),
    };
  }

  private monitorImpl() {
    return {
      supportsFeature: this.unary(async (req: resproto.SupportsFeatureRequest) => {
        const res = new resproto.SupportsFeatureResponse();
        res.setHassupport(FEATURES[req.getId()] ?? false);
        return res;
      }),
      registerResource: this.unary((req: resproto.RegisterResourceRequest) => this.registerResource(req)),
      registerResourceOutputs: this.unary(async (req: resproto.RegisterResourceOutputsRequest) => {
        const outputs = fromStruct(req.getOutputs());
        const r = this.registered.get(req.getUrn());
        if (req.getUrn() === this.rootUrn || r?.type === STACK_TYPE) this.stackOutputs = outputs;
        if (r) {
          r.outputs = outputs;
          const step = this.steps.find((s) => s.urn === r.urn);
          if (step) step.outputs = outputs;
        }
        return new Empty();
      }),
      readResource: this.unary((req: resproto.ReadResourceRequest) => this.readResource(req)),
      invoke: this.unary((req: resproto.ResourceInvokeRequest) => this.invoke(req)),
      signalAndWaitForShutdown: this.unary(async () => {
        await Promise.allSettled([...this.inflight.values()]);
        return new Empty();
      }),
    };
  }

  /** Serialises step generation (Check + Diff) in arrival order, like the engine's single step-generator loop. */
  private generate<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.genChain.then(fn);
    this.genChain = run.catch(() => undefined);
    return run;
  }

  private async waitFor(urns: Iterable<string>): Promise<void> {
    for (const u of urns) {
      const p = this.inflight.get(u);
      if (p) await p;
    }
    if (this.halted) throw new Error(HALTED);
  }

  /**
   * The old state a registration takes over: by its URN, else by the first of its aliases found
   * (`getOldResource`, step_generator.go:614-672), with the engine's duplicate checks.
   */
  private findOld(
    urn: string,
    name: string,
    type: string,
    parent: string,
    specs: AliasSpec[],
  ): ResourceState | undefined {
    const aliases = generateAliases(
      { stack: this.host.stack, project: this.host.project, aliasOf: this.aliasOf },
      name,
      type,
      parent,
      specs,
    );
    const previous = this.aliased.get(urn);
    if (previous)
      throw new Error(
        `Duplicate resource URN '${urn}' conflicting with alias on resource with URN '${previous}'`,
      );
    for (const u of [urn, ...aliases]) {
      const old = this.old.get(u);
      if (!old) continue;
      if (u !== urn) {
        const taken = this.aliased.get(u) ?? (this.generated.has(u) ? u : undefined);
        if (taken)
          throw new Error(
            `Duplicate resource alias '${u}' applied to resource with URN '${urn}' conflicting with resource with URN '${taken}'`,
          );
        this.aliased.set(u, urn);
        this.aliasOf.set(urn, u);
      }
      return old;
    }
    return undefined;
  }

  private static aliasSpecs(req: resproto.RegisterResourceRequest): AliasSpec[] {
    const out: AliasSpec[] = req.getAliasurnsList().map((urn) => ({ urn }));
    for (const a of req.getAliasesList() as aliasproto.Alias[]) {
      if (a.hasSpec()) {
        const s = a.getSpec() as aliasproto.Alias.Spec;
        out.push({
          name: s.getName(),
          type: s.getType(),
          project: s.getProject(),
          stack: s.getStack(),
          parentUrn: s.hasParenturn() ? s.getParenturn() : undefined,
          noParent: s.hasNoparent() ? s.getNoparent() : undefined,
        });
      } else out.push({ urn: a.getUrn() });
    }
    return out;
  }

  private async registerResource(
    req: resproto.RegisterResourceRequest,
  ): Promise<resproto.RegisterResourceResponse> {
    const type = req.getType();
    const name = req.getName();
    const parent = req.getParent();
    const urn = resourceUrn(this.host.stack, this.host.project, parent, type, name);
    if (this.registered.has(urn) || this.inflight.has(urn)) {
      throw new Error(`Duplicate resource URN '${urn}'; try giving it a unique name`);
    }
    let finish!: () => void;
    this.inflight.set(
      urn,
      new Promise<void>((r) => {
        finish = r;
      }),
    );
    try {
      const propertyDependencies: Record<string, string[]> = {};
      for (const [k, v] of req.getPropertydependenciesMap().entries())
        propertyDependencies[k] = v.getUrnsList();
      const dependencies = [
        ...new Set([...req.getDependenciesList(), ...Object.values(propertyDependencies).flat()]),
      ];
      if (this.halted) throw new Error(HALTED);
      await this.waitFor([parent, ...dependencies].filter(Boolean));
      const inputs = fromStruct(req.getObject());
      const old = this.findOld(urn, name, type, parent, Deployment.aliasSpecs(req));
      const aliasUrn = this.aliasOf.get(urn);
      const base: Partial<ResourceState> & Pick<ResourceState, "urn" | "type"> = {
        urn,
        type,
        parent: parent || undefined,
        dependencies,
        propertyDependencies,
        protect: req.hasProtect() ? req.getProtect() : undefined,
        retainOnDelete: req.hasRetainondelete() ? req.getRetainondelete() : undefined,
        ...(aliasUrn ? { aliases: [aliasUrn] } : {}),
      };
      let r: ResourceState;
      if (isProviderType(type)) {
        this.generated.add(urn);
        r = this.registerProviderState(base as ResourceState, inputs, old, true);
      } else if (!req.getCustom()) {
        this.generated.add(urn);
        r = this.registerComponent(base, inputs, old);
      } else {
        r = await this.registerCustom(req, base, inputs, old);
      }
      const res = new resproto.RegisterResourceResponse();
      res.setUrn(urn);
      res.setId(r.id && !(this.dryRun && r.id === UNKNOWN) ? r.id : "");
      res.setObject(toStruct(r.outputs));
      const deps = res.getPropertydependenciesMap();
      for (const [k, urns] of Object.entries(propertyDependencies)) {
        const pd = new resproto.RegisterResourceResponse.PropertyDependencies();
        pd.setUrnsList(urns);
        deps.set(k, pd);
      }
      res.setResult(resproto.Result.SUCCESS);
      return res;
    } catch (e) {
      if (!(e instanceof ReportedError) && errorMessage(e) !== HALTED) this.fail(errorMessage(e));
      throw e;
    } finally {
      finish();
    }
  }

  /** The stack and components: no provider calls, only state. */
  private registerComponent(
    base: Partial<ResourceState> & Pick<ResourceState, "urn">,
    inputs: PropertyMap,
    old: ResourceState | undefined,
  ): ResourceState {
    const same = old !== undefined && deepEqual(old.inputs, inputs);
    const r: ResourceState = {
      ...(base as ResourceState),
      custom: false,
      inputs,
      // Components get their outputs from RegisterResourceOutputs; until then, keep the old ones so that a
      // `same` stack still shows its outputs.
      outputs: old && same ? old.outputs : {},
    };
    if (old) this.claimed.set(old, r.urn);
    this.registered.set(r.urn, r);
    if (this.mode.kind === "destroy") this.toDelete.push(r);
    const op = !old ? "create" : same ? "same" : "update";
    this.stepOf(r, op, op === "update" ? { diffs: changedKeys(old?.inputs ?? {}, inputs) } : {});
    return r;
  }

  /**
   * The engine's `diffResource` (step_generator.go:2773-2806): the provider's Diff; when it answers "unknown" (the
   * dynamic host does for a `diff` returning `changes: undefined`, or no `diff`), an input-level diff decides and its
   * keys become the changed keys.
   */
  private async diffResource(
    adapter: ProviderAdapter,
    urn: string,
    id: string,
    oldInputs: PropertyMap,
    oldOutputs: PropertyMap,
    newInputs: PropertyMap,
    ignoreChanges: string[],
  ): Promise<ProviderDiff & { changes: "some" | "none" }> {
    const d = await adapter.diff(
      urn,
      id,
      stripSecrets(oldOutputs),
      stripSecrets(newInputs),
      stripSecrets(oldInputs),
      {
        timeoutSeconds: 0,
        ignoreChanges,
      },
    );
    if (d.changes !== "unknown") return { ...d, changes: d.changes };
    const news = ignoreChanges.length ? applyIgnoreChanges(oldInputs, newInputs, ignoreChanges) : newInputs;
    const keys = changedKeys(oldInputs, news);
    return { ...d, changes: keys.length ? "some" : "none", diffs: keys };
  }

  /**
   * `applyReplaceOnChanges` (step_generator.go:2911-3000): `replaceOnChanges` turns a change into a replacement only
   * through the provider's changed keys and detailed diff. The dynamic host forwards neither
   * (sdk/nodejs/cmd/dynamic-provider/index.ts:195-234), so it has an effect only when Diff answered "unknown" and the
   * engine's input diff supplied the keys. `#initerror` in `replaceOnChanges` replaces a resource with init errors.
   */
  private static replaceKeys(
    d: ProviderDiff & { changes: "some" | "none" },
    replaceOnChanges: string[],
    hasInitErrors: boolean,
  ): { changes: "some" | "none"; replaces: string[] } {
    if (d.changes !== "some" && !hasInitErrors) return { changes: d.changes, replaces: d.replaces };
    const paths = replaceOnChanges.map(parsePropertyPath);
    const replaces = new Set(d.replaces);
    for (const k of [...d.diffs, ...Object.keys(d.detailedDiff ?? {})])
      if (paths.some((p) => pathContains(p, parsePropertyPath(k)))) replaces.add(k);
    let changes = d.changes;
    if (hasInitErrors && paths.some((p) => pathContains(p, ["#initerror"]))) {
      replaces.add("#initerror");
      changes = "some";
    }
    return { changes, replaces: [...replaces].sort() };
  }

  /**
   * `calculateDependentReplacements` (step_generator.go:3009-3140): the dependents (in the old checkpoint's graph)
   * that a delete-before-replace of `root` would replace. Each dependent's inputs with a property dependency on the
   * replace set become unknown (3062-3070), and its provider's Diff says whether that replaces it.
   */
  private async dependentReplacements(root: ResourceState): Promise<DependentReplace[]> {
    const replaceSet = new Set([root.urn]);
    const toReplace: DependentReplace[] = [];
    for (const d of this.dependingOn(root)) {
      if (!d.custom || d.external) continue;
      if (d.provider && replaceSet.has(refUrn(d.provider))) {
        toReplace.push({ res: d, keys: [] });
        replaceSet.add(d.urn);
        continue;
      }
      let dependsOnReplaced = false;
      const inputsForDiff: PropertyMap = {};
      for (const [k, v] of Object.entries(d.inputs)) {
        const hit = (d.propertyDependencies[k] ?? []).some((u) => replaceSet.has(u));
        if (hit) dependsOnReplaced = true;
        inputsForDiff[k] = hit ? UNKNOWN : v;
      }
      if (!dependsOnReplaced) continue;
      const adapter = await this.providerFor(d.provider, d.type);
      this.operations.push({ kind: "diff", urn: d.urn, id: d.id, purpose: "dependent-replace" });
      const diff = await this.diffResource(
        adapter,
        d.urn,
        d.id ?? "",
        d.inputs,
        d.outputs,
        inputsForDiff,
        d.ignoreChanges ?? [],
      );
      const { replaces } = Deployment.replaceKeys(diff, d.replaceOnChanges ?? [], false);
      if (replaces.length) {
        toReplace.push({ res: d, keys: replaces });
        replaceSet.add(d.urn);
      }
    }
    return toReplace;
  }

  /**
   * `DependencyGraph.DependingOn(root, ignore, false)` (pkg/resource/graph/dependency_graph.go:45-115) over the old
   * checkpoint: everything that depends on `root` through dependencies, property dependencies or its provider (not
   * parents), in checkpoint order, leaving out resources the step generator already handled.
   */
  private dependingOn(root: ResourceState): ResourceState[] {
    const set = new Set([root.urn]);
    const out: ResourceState[] = [];
    const start = this.oldList.indexOf(root);
    for (const c of this.oldList.slice(start + 1)) {
      if (this.generated.has(c.urn) || c.pendingDelete) continue;
      const deps = [...c.dependencies, ...Object.values(c.propertyDependencies).flat()];
      if (c.provider) deps.push(refUrn(c.provider));
      if (deps.some((u) => set.has(u))) {
        out.push(c);
        set.add(c.urn);
      }
    }
    return out;
  }

  private async registerCustom(
    req: resproto.RegisterResourceRequest,
    base: Partial<ResourceState> & Pick<ResourceState, "urn" | "type">,
    inputs: PropertyMap,
    old: ResourceState | undefined,
  ): Promise<ResourceState> {
    const urn = base.urn;
    const type = base.type;
    const pkg = type.split(":")[0];
    const providerRef = req.getProvider() || this.defaultProviderRef(pkg, req.getVersion());
    const ignoreChanges = req.getIgnorechangesList();
    const replaceOnChanges = req.getReplaceonchangesList();
    const aso = req.getAdditionalsecretoutputsList();
    const ct = req.getCustomtimeouts();
    const customTimeouts = ct
      ? {
          create: parseGoDuration(ct.getCreate()) || undefined,
          update: parseGoDuration(ct.getUpdate()) || undefined,
          delete: parseGoDuration(ct.getDelete()) || undefined,
        }
      : undefined;
    const importId = req.getImportid();
    if (old) this.claimed.set(old, urn);

    const r: ResourceState = {
      ...(base as ResourceState),
      custom: true,
      id: old?.id,
      inputs,
      outputs: old?.outputs ?? {},
      provider: providerRef,
      additionalSecretOutputs: aso.length ? aso : undefined,
      customTimeouts,
      ignoreChanges: ignoreChanges.length ? ignoreChanges : undefined,
      replaceOnChanges: replaceOnChanges.length ? replaceOnChanges : undefined,
    };
    // The step executor marks `additionalSecretOutputs` and outputs whose same-named input is secret, preview
    // included (step_executor.go:518-565); the provider layer has marked the rest (`annotateSecrets`).
    const finish = (props: PropertyMap, ins: PropertyMap) => {
      const outs = markSecretKeys(annotateSecrets(props, ins), aso);
      for (const [k, v] of Object.entries(ins))
        if (k in outs && containsSecrets(v)) outs[k] = makeSecret(outs[k]);
      return outs;
    };

    // A refresh or destroy that runs the program handles custom resources before any Check
    // (step_generator.go:886-962).
    if (this.mode.kind !== "update") {
      this.generated.add(urn);
      return this.applyProgramless(r, old);
    }

    // ------------------------------------------------------------ step generation
    let adapter!: ProviderAdapter;
    const plan: Plan = await this.generate(async (): Promise<Plan> => {
      this.generated.add(urn);
      if (this.halted) throw new Error(HALTED);
      adapter = await this.providerFor(providerRef, type);
      if (importId && (!old || old.external || old.id !== importId))
        await this.importRead(adapter, urn, importId);
      const recreating = this.cascadeDeleted.has(urn);
      const fresh = !old || old.external || recreating;
      const news =
        old && !fresh && ignoreChanges.length
          ? applyIgnoreChanges(old.inputs, inputs, ignoreChanges)
          : inputs;
      const checked = await this.check(adapter, urn, fresh ? {} : (old?.inputs ?? {}), news);
      if (!old) return { op: "create", checked, replaces: [], diffs: [], dbr: false };
      if (recreating)
        return {
          op: "replace",
          checked,
          replaces: this.cascadeDeleted.get(urn) ?? [],
          diffs: [],
          dbr: true,
          recreating: true,
        };
      if (old.external) return { op: "replace", checked, replaces: [], diffs: [], dbr: false };
      const d = await this.diffResource(
        adapter,
        urn,
        old.id ?? "",
        old.inputs,
        old.outputs,
        checked,
        ignoreChanges,
      );
      const hasInitErrors = (old.initErrors?.length ?? 0) > 0;
      const { changes, replaces } = Deployment.replaceKeys(d, replaceOnChanges, hasInitErrors);
      // What the step shows as changed: the provider's keys, else the inputs that differ.
      const diffs = d.diffs.length ? d.diffs : changedKeys(old.inputs, checked);
      if (changes === "some" || old.pendingReplacement) {
        if (replaces.length || old.pendingReplacement) {
          if (r.protect && old.protect) {
            const msg =
              `unable to replace resource "${urn}"\nas it is currently marked for protection. To unprotect the resource, ` +
              "remove the `protect` flag from the resource in your Pulumi program and run `pulumi up`";
            // Preview reports it and goes on; an update stops (step_generator.go:1837-1855).
            if (!this.dryRun) throw new Error(msg);
            this.error(msg);
          }
          // A replacement recomputes defaults: Check again with no olds (step_generator.go:1882-1902).
          const rechecked = await this.check(adapter, urn, {}, inputs);
          const dbrOption = req.getDeletebeforereplacedefined() ? req.getDeletebeforereplace() : undefined;
          const dbr = dbrOption ?? d.deleteBeforeReplace;
          const cascade = dbr ? await this.dependentReplacements(old) : undefined;
          for (const c of cascade ?? []) {
            if (c.res.protect)
              throw new Error(
                `unable to replace resource "${c.res.urn}" as part of replacing "${urn}" as it is currently marked for protection. To unprotect the resource, remove the \`protect\` flag from the resource in your Pulumi program and run \`pulumi up\`, or use the command:\n\`pulumi state unprotect '${c.res.urn}'\``,
              );
            this.cascadeDeleted.set(c.res.urn, c.keys);
          }
          return {
            op: "replace",
            checked: rechecked,
            replaces,
            diffs,
            dbr,
            cascade,
            detailedDiff: d.detailedDiff,
          };
        }
        return { op: "update", checked, replaces: [], diffs, dbr: false, detailedDiff: d.detailedDiff };
      }
      if (hasInitErrors) return { op: "update", checked, replaces: [], diffs: [], dbr: false };
      return { op: "same", checked, replaces: [], diffs: [], dbr: false };
    }).catch((e) => {
      if (errorMessage(e) === HALTED) throw e;
      const msg = `${urn}: ${errorMessage(e)}`;
      this.fail(msg);
      this.steps.push({
        urn,
        type,
        name: urnName(urn),
        op: importId ? "import" : old ? "update" : "create",
        inputs,
        error: msg,
      });
      throw new ReportedError(msg);
    });

    r.inputs = plan.checked;
    const stepExtra: Partial<Step> = {};
    if (plan.op !== "create" && plan.op !== "same") {
      stepExtra.diffs = plan.diffs;
      if (plan.detailedDiff) stepExtra.detailedDiff = plan.detailedDiff;
    }
    if (plan.op === "replace") {
      stepExtra.replaces = plan.replaces;
      stepExtra.deleteBeforeReplace = plan.dbr;
    }

    if (plan.op === "same") {
      r.outputs = finish(r.outputs, r.inputs);
      this.registered.set(urn, r);
      this.stepOf(r, "same");
      return r;
    }

    if (this.dryRun) {
      // A provider without preview support: the engine returns the inputs as the new state, so every output that is
      // not an input is unknown to the program (provider_plugin.go:1389-1405, 1661-1677).
      r.outputs = finish(plan.checked, plan.checked);
      if (plan.op === "create" || plan.op === "replace") r.id = UNKNOWN;
      this.registered.set(urn, r);
      this.stepOf(r, plan.op, stepExtra);
      return r;
    }

    // ------------------------------------------------------------ step execution
    try {
      await this.sem.run(async () => {
        if (this.halted) throw new Error(HALTED);
        try {
          if (plan.op === "update") {
            const timeout = customTimeouts?.update ?? 0;
            this.operations.push({ kind: "update", urn, id: old?.id, timeout });
            const outs = await adapter.update(
              urn,
              old?.id ?? "",
              stripSecrets(old?.outputs ?? {}),
              stripSecrets(plan.checked),
              stripSecrets(old?.inputs ?? {}),
              { timeoutSeconds: timeout, ignoreChanges },
            );
            r.outputs = finish(outs, plan.checked);
          } else {
            if (plan.op === "replace" && old && plan.dbr && !plan.recreating) {
              // The cascade's deletes, dependents first, then the root (step_generator.go:1958-2024).
              for (const c of [...(plan.cascade ?? [])].reverse()) {
                await this.deleteOne(c.res, "replace");
                this.pendingReplacement.add(c.res);
              }
              if (!old.pendingReplacement) await this.deleteOne(old, "replace");
              this.pendingReplacement.add(old);
            }
            const timeout = customTimeouts?.create ?? 0;
            this.operations.push({ kind: "create", urn, timeout });
            const created = await adapter.create(urn, stripSecrets(plan.checked), {
              timeoutSeconds: timeout,
              ignoreChanges,
            });
            if (!created.id) throw new Error(`plugin returned empty resource.ID from create '${urn}'`);
            r.id = created.id;
            r.outputs = finish(created.properties, plan.checked);
            if (old) this.pendingReplacement.delete(old);
            if (plan.op === "replace" && old && !plan.dbr) this.replaced.push(old);
          }
        } catch (e) {
          if (e instanceof ResourceInitError) {
            // Partial failure: the object exists; keep it in state so the next up continues or replaces it. A
            // failed update keeps the old inputs with the new outputs (pkg/engine/update.go:1150-1172).
            r.id = e.id || r.id;
            r.outputs = finish(e.properties, plan.checked);
            r.initErrors = e.reasons;
            if (plan.op === "update" && old) r.inputs = old.inputs;
            if (old) this.pendingReplacement.delete(old);
            this.registered.set(urn, r);
            if (plan.op === "replace" && old && !plan.dbr) this.replaced.push(old);
          } else if (old && plan.op === "update") {
            // A failed update leaves the old resource as it was.
            this.registered.set(urn, old);
          } else if (old && plan.op === "replace" && !plan.dbr) {
            this.registered.set(urn, old);
          }
          throw e;
        }
      });
    } catch (e) {
      if (errorMessage(e) === HALTED) throw e;
      const msg =
        e instanceof ResourceInitError
          ? `${urn}: ${e.message}${e.reasons.length ? ` (${e.reasons.join("; ")})` : ""}`
          : `${urn}: ${errorMessage(e)}`;
      this.fail(msg);
      this.stepOf(r, plan.op, { ...stepExtra, error: msg });
      throw new ReportedError(msg);
    }
    this.registered.set(urn, r);
    this.stepOf(r, plan.op, stepExtra);
    return r;
  }

  /** Check, failures as the engine reports them; the provider layer re-marks secrets (provider_plugin.go:1230-1234). */
  private async check(
    adapter: ProviderAdapter,
    urn: string,
    olds: PropertyMap,
    news: PropertyMap,
  ): Promise<PropertyMap> {
    const chk = await adapter.check(urn, stripSecrets(olds), stripSecrets(news));
    if (chk.failures.length) {
      const why = chk.failures.map((f) => `${f.property}: ${f.reason}`).join("; ");
      throw new Error(`Check failed: ${why}`);
    }
    return annotateSecrets(chk.inputs, news);
  }

  /**
   * An `import` (or `pulumi import`) reads the object with its id and no inputs or state (step.go:1863-1871). The
   * dynamic host then has no `__provider` to load and fails (`code must be a string, not undefined`,
   * floatdrop/require-from-string@v2.0.2 index.js:18-20); that error is the step's.
   */
  private async importRead(adapter: ProviderAdapter, urn: string, id: string): Promise<never> {
    this.operations.push({ kind: "read", urn, id });
    const got = await adapter.read(urn, id, {}, undefined, { timeoutSeconds: 0, ignoreChanges: [] });
    if (!got.id) throw new Error(`resource '${id}' does not exist`);
    if (!got.inputs)
      throw new Error(
        `provider does not support importing resources; please try updating the '${urn.split("::")[2]?.split(":")[0]}' plugin`,
      );
    throw new Error(`resource ${urn}: a successful import is not emulated by the test engine`);
  }

  /**
   * A custom resource registered in a refresh or destroy that runs the program (step_generator.go:886-962): without
   * state it is skipped (nothing in state, nothing returned to the program); with state, refresh reads it and returns
   * what it read, and destroy keeps its old state to delete it at the end.
   */
  private async applyProgramless(r: ResourceState, old: ResourceState | undefined): Promise<ResourceState> {
    const skipped: ResourceState = { ...r, outputs: {}, id: undefined };
    if (!old || old.external) return skipped;
    if (this.mode.kind === "refresh") {
      const refreshed = await this.refreshOne(old);
      if (!refreshed) {
        this.deleted.add(old);
        return skipped;
      }
      const next: ResourceState = {
        ...r,
        id: refreshed.id,
        inputs: refreshed.inputs,
        outputs: refreshed.outputs,
      };
      this.registered.set(r.urn, next);
      return next;
    }
    const same: ResourceState = { ...r, inputs: old.inputs, outputs: old.outputs, id: old.id };
    this.registered.set(r.urn, same);
    this.toDelete.push(same);
    this.stepOf(same, "same");
    return same;
  }

  private async readResource(req: resproto.ReadResourceRequest): Promise<resproto.ReadResourceResponse> {
    const type = req.getType();
    const urn = resourceUrn(this.host.stack, this.host.project, req.getParent(), type, req.getName());
    const id = req.getId();
    const props = fromStruct(req.getProperties());
    let finish!: () => void;
    this.inflight.set(
      urn,
      new Promise<void>((r) => {
        finish = r;
      }),
    );
    try {
      await this.waitFor([req.getParent(), ...req.getDependenciesList()].filter(Boolean));
      this.generated.add(urn);
      const old = this.old.get(urn);
      if (old) this.claimed.set(old, urn);
      let outputs: PropertyMap;
      let provider: string;
      if (type === STACK_REFERENCE_TYPE) {
        provider = req.getProvider() || this.defaultProviderRef("pulumi", "");
        const ref = typeof props.name === "string" ? props.name : id;
        const target = this.host.resolveStack(ref);
        // builtins.go:366-409: every output with a secret anywhere inside it, sorted.
        const secretOutputNames = Object.keys(target.outputs)
          .filter((k) => containsSecrets(target.outputs[k]))
          .sort();
        outputs = { name: ref, outputs: structuredClone(target.outputs), secretOutputNames };
      } else {
        provider = req.getProvider() || this.defaultProviderRef(type.split(":")[0], req.getVersion());
        const adapter = await this.providerFor(provider, type);
        this.operations.push({ kind: "read", urn, id });
        const got = await this.sem.run(() =>
          adapter.read(urn, id, stripSecrets(props), stripSecrets(props), {
            timeoutSeconds: 0,
            ignoreChanges: [],
          }),
        );
        if (!got.id) throw new Error(`resource '${id}' does not exist`);
        outputs = markSecretKeys(
          annotateSecrets(got.properties, props),
          req.getAdditionalsecretoutputsList(),
        );
      }
      const r: ResourceState = {
        urn,
        type,
        custom: true,
        id,
        inputs: props,
        outputs,
        parent: req.getParent() || undefined,
        dependencies: req.getDependenciesList(),
        propertyDependencies: {},
        provider,
        external: true,
      };
      this.registered.set(urn, r);
      if (this.mode.kind === "destroy") this.toDelete.push(r);
      this.stepOf(r, "read");
      const res = new resproto.ReadResourceResponse();
      res.setUrn(urn);
      res.setProperties(toStruct(outputs));
      return res;
    } catch (e) {
      if (errorMessage(e) !== HALTED) this.fail(errorMessage(e));
      throw e;
    } finally {
      finish();
    }
  }

  private async invoke(req: resproto.ResourceInvokeRequest): Promise<provproto.InvokeResponse> {
    const tok = req.getTok();
    if (tok !== "pulumi:pulumi:getResource") {
      throw new Error(
        `Invoke of "${tok}" is not supported by the test engine (only pulumi:pulumi:getResource is)`,
      );
    }
    const urn = String(fromStruct(req.getArgs()).urn ?? "");
    const r = this.registered.get(urn) ?? this.old.get(urn);
    if (!r) throw new Error(`pulumi:pulumi:getResource: no resource with URN ${urn} in the stack`);
    const res = new provproto.InvokeResponse();
    res.setReturn(toStruct({ urn: r.urn, id: r.id ?? "", state: r.outputs }));
    return res;
  }

  // ---------------------------------------------------------------- deletes

  /**
   * Deletes (or, in preview, plans deleting) `items` in reverse dependency order: antichains, each run in parallel,
   * one after another (`ScheduleDeletes`, step_generator.go:2560-2607; deployment_executor.go:486-535). After a
   * failure no further antichain starts.
   */
  private async deleteAll(items: ResourceState[], reason: "removed" | "destroy"): Promise<void> {
    const condemned = new Set(items);
    const chains: ResourceState[][] = [];
    while (condemned.size > 0) {
      const urns = new Set([...condemned].map((x) => x.urn));
      const chain = [...condemned].filter((x) => !allDependencies(x).some((u) => u !== x.urn && urns.has(u)));
      // A cycle cannot occur in a valid checkpoint; guard against looping on a broken one.
      const next = chain.length ? chain : [...condemned];
      for (const x of next) condemned.delete(x);
      chains.push(next);
    }
    chains.reverse();
    for (const chain of chains) {
      if (this.halted) return;
      await Promise.all(
        chain.map(async (x) => {
          const isReplaced = this.replaced.includes(x) || x.pendingDelete === true;
          const show =
            !isDefaultProvider(x) && !isReplaced && !(x.pendingReplacement && reason === "removed");
          try {
            if (this.dryRun) {
              // GenerateDeletes loads each deleted resource's provider (step_generator.go:2252-2258), and the
              // preview's DeleteStep refuses a protected resource before its dry-run check (step.go:613-621).
              if (x.custom && !x.external && !isProviderType(x.type))
                await this.providerFor(x.provider, x.type);
              if (x.protect && !isReplaced) throw new DeleteProtectedError(x.urn);
              if (show) this.stepOf(x, "delete");
              return;
            }
            await this.sem.run(async () => {
              if (this.halted) throw new Error(HALTED);
              await this.deleteOne(x, isReplaced ? "replace" : reason);
            });
            this.deleted.add(x);
            if (show) this.stepOf(x, "delete");
          } catch (e) {
            if (errorMessage(e) === HALTED) return;
            const msg = `deleting ${x.urn}: ${errorMessage(e)}`;
            this.fail(msg);
            this.stepOf(x, "delete", { error: msg });
          }
        }),
      );
    }
  }

  /** DeleteStep.Apply (step.go:596-700): protect refuses; the `timeout` is the old state's `customTimeouts.delete`. */
  private async deleteOne(x: ResourceState, reason: Operation["reason"]): Promise<void> {
    if (x.protect && reason !== "replace") throw new DeleteProtectedError(x.urn);
    if (!x.custom || x.external || x.retainOnDelete || isProviderType(x.type) || !x.id) return;
    if (x.pendingReplacement) return;
    const adapter = await this.providerFor(x.provider, x.type);
    const timeout = x.customTimeouts?.delete ?? 0;
    this.operations.push({ kind: "delete", urn: x.urn, id: x.id, reason, timeout });
    await adapter.delete(x.urn, x.id, stripSecrets(x.outputs), stripSecrets(x.inputs), {
      timeoutSeconds: timeout,
      ignoreChanges: [],
    });
  }

  // ---------------------------------------------------------------- refresh

  /** Refreshes resources in parallel (the refresh steps of `deploymentExecutor.refresh`, deployment_executor.go:680-790). */
  private async refreshAll(items: ResourceState[]): Promise<void> {
    await Promise.all(
      items.map(async (r) => {
        if (r.pendingDelete) return;
        const got = await this.refreshOne(r);
        if (!got) this.deleted.add(r);
        else if (got !== r) {
          this.claimed.set(r, got.urn);
          this.registered.set(got.urn, got);
        } else if (!this.claimed.has(r)) {
          this.claimed.set(r, r.urn);
          this.registered.set(r.urn, r);
        }
      }),
    );
    if (this.mode.runProgram) return;
    // Without the program the checkpoint keeps its order: rebuild `registered` in the old order.
    const order = this.oldList.flatMap((r) => {
      const u = this.claimed.get(r);
      const s = u ? this.registered.get(u) : undefined;
      return s ? [s] : [];
    });
    this.registered.clear();
    for (const s of order) this.registered.set(s.urn, s);
  }

  /**
   * RefreshStep.Apply (step.go:1497-1680): Read with the old inputs and outputs; an empty id drops the resource. Then,
   * unless PULUMI_ENABLE_LEGACY_REFRESH_DIFF is set (or the resource is external), Diff with the read inputs and
   * outputs as "old" and the previous inputs as "new" (step.go:1635-1671); the step is `same` when that Diff finds
   * no change, even if outputs changed, and `update` otherwise. Components, providers and resources pending
   * replacement are not read (step.go:1502).
   */
  private async refreshOne(r: ResourceState): Promise<ResourceState | undefined> {
    if (!r.custom || isProviderType(r.type) || r.pendingReplacement || !r.id) return r;
    if (r.type === STACK_REFERENCE_TYPE) return r;
    try {
      const adapter = await this.providerFor(r.provider, r.type);
      this.operations.push({ kind: "read", urn: r.urn, id: r.id });
      const got = await this.sem.run(() => {
        if (this.halted) throw new Error(HALTED);
        return adapter.read(r.urn, r.id as string, stripSecrets(r.outputs), stripSecrets(r.inputs), {
          timeoutSeconds: 0,
          ignoreChanges: [],
        });
      });
      if (!got.id) {
        this.stepOf(r, "delete", { outputs: undefined, refresh: true });
        return undefined;
      }
      const inputs = got.inputs ? annotateSecrets(got.inputs, r.inputs) : r.inputs;
      let outputs = markSecretKeys(annotateSecrets(got.properties, r.outputs), r.additionalSecretOutputs);
      for (const [k, v] of Object.entries(inputs))
        if (k in outputs && containsSecrets(v)) outputs = { ...outputs, [k]: makeSecret(outputs[k]) };
      const updated: ResourceState = { ...r, id: got.id, outputs, inputs };
      let op: "same" | "update";
      let diffs: string[];
      if (r.external || this.host.legacyRefreshDiff) {
        diffs = changedKeys(r.outputs, outputs);
        op = diffs.length ? "update" : "same";
      } else {
        this.operations.push({ kind: "diff", urn: r.urn, id: got.id, purpose: "refresh" });
        const d = await this.diffResource(
          adapter,
          r.urn,
          got.id,
          updated.inputs,
          updated.outputs,
          r.inputs,
          r.ignoreChanges ?? [],
        );
        op = d.changes === "none" ? "same" : "update";
        // What the step shows as changed: the provider's keys, else the inputs the read changed.
        diffs = op === "same" ? [] : d.diffs.length ? d.diffs : changedKeys(r.inputs, updated.inputs);
      }
      this.stepOf(updated, op, { diffs, refresh: true });
      return updated;
    } catch (e) {
      if (errorMessage(e) === HALTED) return r;
      const msg = `refreshing ${r.urn}: ${errorMessage(e)}`;
      this.fail(msg);
      this.stepOf(r, "update", { error: msg, refresh: true });
      return r;
    }
  }
}

/** An error already reported to the deployment (so the monitor does not report it again). */
class ReportedError extends Error {}

/** The engine's `deleteProtectedError` (step.go:583-594). */
class DeleteProtectedError extends Error {
  constructor(urn: string) {
    super(
      `resource "${urn}" cannot be deleted\nbecause it is protected. To unprotect the resource, either remove the \`protect\` flag from the resource in your Pulumi program and run \`pulumi up\`, or use the command:\n\`pulumi state unprotect '${urn}'\``,
    );
  }
}

/** Binds a server to a free local port, as `rpcutil.ServeWithOptions` does, and returns its address. */
function listen(server: grpc.Server): Promise<string> {
  return new Promise<string>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(err) : resolve(`127.0.0.1:${port}`),
    ),
  );
}
