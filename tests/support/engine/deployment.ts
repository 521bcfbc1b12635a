/**
 * One deployment (preview, up, refresh or destroy) of one stack: the language-host side (run the program against a
 * ResourceMonitor and an Engine gRPC server) and the engine side (step generation and execution).
 *
 * Mirrors the Pulumi engine where tests can observe it:
 * - registrations are handled concurrently as they arrive, but Check and Diff run one at a time in arrival order
 *   (the engine's step generator is a single loop); steps then run in parallel, bounded by `--parallel`;
 * - replacements are create-before-delete unless the provider or the resource asks for delete-before-replace; the
 *   replaced copies and resources that left the program are deleted at the end, in reverse dependency order;
 * - secrets are stripped before every provider call and re-marked with `annotateSecrets` + `additionalSecretOutputs`;
 * - after a failed step no new step starts, in-flight ones finish, and no deletes run.
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as grpc from "@grpc/grpc-js";
import * as enginerpc from "@pulumi/pulumi/proto/engine_grpc_pb";
import * as engineproto from "@pulumi/pulumi/proto/engine_pb";
import * as provproto from "@pulumi/pulumi/proto/provider_pb";
import * as resrpc from "@pulumi/pulumi/proto/resource_grpc_pb";
import * as resproto from "@pulumi/pulumi/proto/resource_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import type { ProviderAdapter } from "./adapters";
import type { StackRecord } from "./backend";
import {
  annotateSecrets,
  applyIgnoreChanges,
  changedKeys,
  deepEqual,
  fromStruct,
  isSecret,
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
import { ResourceInitError, urnName } from "./providerHost";
import type { LogEntry, Operation, ResourceState, Step, StepResult } from "./types";

/** What a deployment needs from its harness. */
export interface DeploymentHost {
  organization: string;
  project: string;
  stack: string;
  /** The project's launch (Pulumi.yaml): working directory, entry point, runtime options. */
  launch: ProjectLaunch;
  /** Plain config for PULUMI_CONFIG (`project:key` → value) and the secret keys. */
  programConfig: { values: Record<string, string>; secretKeys: string[] };
  env: Record<string, string>;
  parallel: number;
  /** Backend record of this stack (its state before the deployment). */
  record: StackRecord;
  /** Finds another stack for a StackReference. */
  resolveStack(ref: string): StackRecord | undefined;
  /** The provider for a custom resource type, or an error saying what is missing. */
  adapterFor(type: string, providerRef: string | undefined): ProviderAdapter;
  /** Routes the provider host's output to the running deployment's logs. */
  setProviderOutputSink(sink: ((line: string) => void) | undefined): void;
}

const PROVIDER_TYPE_PREFIX = "pulumi:providers:";
const STACK_TYPE = "pulumi:pulumi:Stack";
const STACK_REFERENCE_TYPE = "pulumi:pulumi:StackReference";

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

/** Every URN a resource depends on, for ordering deletes. */
function allDependencies(r: ResourceState): string[] {
  const deps = new Set(r.dependencies);
  if (r.parent) deps.add(r.parent);
  if (r.provider) deps.add(r.provider.split("::").slice(0, -1).join("::"));
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

/** Runs one deployment. Construct, call one of the `run*` methods once, read the result. */
export class Deployment {
  private readonly steps: Step[] = [];
  private readonly operations: Operation[] = [];
  private readonly logs: LogEntry[] = [];
  private readonly errors: string[] = [];
  private readonly old = new Map<string, ResourceState>();
  private readonly pendingOld: ResourceState[] = [];
  private readonly registered = new Map<string, ResourceState>();
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly replaced: ResourceState[] = [];
  private readonly deleted = new Set<ResourceState>();
  private readonly sem: Semaphore;
  private genChain: Promise<unknown> = Promise.resolve();
  private halted = false;
  private rootUrn = "";
  private stackOutputs: PropertyMap | undefined;
  private readonly dryRun: boolean;
  private program: ChildProcess | undefined;
  private cancelling = false;

  constructor(
    private readonly host: DeploymentHost,
    private readonly kind: "preview" | "up" | "refresh" | "destroy",
  ) {
    this.dryRun = kind === "preview";
    this.sem = new Semaphore(Math.max(1, host.parallel));
    for (const r of host.record.resources) {
      if (r.pendingDelete) this.pendingOld.push(r);
      else this.old.set(r.urn, r);
    }
  }

  // ---------------------------------------------------------------- results

  private result(): StepResult {
    const failed = this.errors.length > 0;
    return {
      steps: this.steps,
      operations: this.operations,
      outputs: this.stackOutputs ?? (this.kind === "destroy" ? {} : this.host.record.outputs),
      logs: this.logs,
      failed,
      error: failed ? this.errors.join("\n") : undefined,
    };
  }

  private fail(message: string): void {
    this.halted = true;
    this.errors.push(message);
    this.logs.push({ severity: "error", message, source: "engine" });
    this.cancelProgram();
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

  // ---------------------------------------------------------------- preview / up

  /** Runs the program and applies (or, for preview, plans) its changes. */
  async runProgram(): Promise<{ result: StepResult; state?: ResourceState[] }> {
    this.host.setProviderOutputSink((line) =>
      this.logs.push({ severity: "info", message: line, source: "provider" }),
    );
    try {
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
      if (this.errors.length === 0) {
        const toDelete = [
          ...[...this.old.values()].filter((r) => !this.registered.has(r.urn)),
          ...this.replaced,
          ...this.pendingOld,
        ];
        await this.deleteAll(toDelete, "removed");
      }
      if (this.dryRun) return { result: this.result() };
      return { result: this.result(), state: this.finalState() };
    } finally {
      this.host.setProviderOutputSink(undefined);
    }
  }

  private finalState(): ResourceState[] {
    const state: ResourceState[] = [...this.registered.values()];
    for (const r of this.old.values()) if (!this.registered.has(r.urn) && !this.deleted.has(r)) state.push(r);
    for (const r of [...this.replaced, ...this.pendingOld])
      if (!this.deleted.has(r)) state.push({ ...r, pendingDelete: true });
    return state;
  }

  private async launch(): Promise<{ code: number; stderr: string }> {
    const server = new grpc.Server();
    server.addService(
      resrpc.ResourceMonitorService as unknown as grpc.ServiceDefinition,
      this.monitorImpl() as unknown as grpc.UntypedServiceImplementation,
    );
    server.addService(
      enginerpc.EngineService as unknown as grpc.ServiceDefinition,
      this.engineImpl() as unknown as grpc.UntypedServiceImplementation,
    );
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    const addr = `127.0.0.1:${port}`;
    const h = this.host;
    const p = h.launch;
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
      addr,
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
        PULUMI_CONFIG: JSON.stringify(h.programConfig.values),
        PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(h.programConfig.secretKeys),
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

  private engineImpl() {
    return {
      log: this.unary(async (req: engineproto.LogRequest) => {
        const S = engineproto.LogSeverity;
        const sev = req.getSeverity();
        const severity =
          sev === S.ERROR ? "error" : sev === S.WARNING ? "warning" : sev === S.INFO ? "info" : "debug";
        this.logs.push({
          severity,
          message: req.getMessage(),
          urn: req.getUrn() || undefined,
          source: "engine",
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

  private makeUrn(type: string, name: string, parent: string): string {
    let qualified = type;
    if (parent) {
      const parentType = parent.split("::")[2] ?? "";
      if (parentType !== STACK_TYPE) qualified = `${parentType}$${type}`;
    }
    return `urn:pulumi:${this.host.stack}::${this.host.project}::${qualified}::${name}`;
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
    if (this.halted) throw new Error("the deployment stopped after an earlier step failed");
  }

  private providerInputs(ref: string | undefined): PropertyMap | undefined {
    if (!ref) return undefined;
    const urn = ref.split("::").slice(0, -1).join("::");
    const inputs = (this.registered.get(urn) ?? this.old.get(urn))?.inputs;
    return inputs && stripSecrets(inputs);
  }

  /** Registers (creating if needed) the engine's default provider for a package, returning its reference. */
  private defaultProviderRef(pkg: string, version: string): string {
    const name = version ? `default_${version.replace(/[^A-Za-z0-9]/g, "_")}` : "default";
    const urn = `urn:pulumi:${this.host.stack}::${this.host.project}::${PROVIDER_TYPE_PREFIX}${pkg}::${name}`;
    let r = this.registered.get(urn);
    if (!r) {
      const old = this.old.get(urn);
      const inputs: PropertyMap = version ? { version } : {};
      r = {
        urn,
        type: `${PROVIDER_TYPE_PREFIX}${pkg}`,
        custom: true,
        id: old?.id ?? crypto.randomUUID(),
        inputs,
        outputs: inputs,
        dependencies: [],
        propertyDependencies: {},
      };
      this.registered.set(urn, r);
    }
    return `${urn}::${r.id}`;
  }

  private async registerResource(
    req: resproto.RegisterResourceRequest,
  ): Promise<resproto.RegisterResourceResponse> {
    const type = req.getType();
    const name = req.getName();
    const parent = req.getParent();
    const urn = this.makeUrn(type, name, parent);
    if (this.registered.has(urn) || this.inflight.has(urn)) {
      throw new Error(`Duplicate resource URN '${urn}'; give the resource a unique name`);
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
      if (this.halted) throw new Error("the deployment stopped after an earlier step failed");
      await this.waitFor([parent, ...dependencies].filter(Boolean));
      if (req.getImportid())
        throw new Error(`resource ${urn}: the import option is not supported by the test engine`);
      const inputs = fromStruct(req.getObject());
      const base = {
        urn,
        type,
        parent: parent || undefined,
        dependencies,
        propertyDependencies,
        protect: req.hasProtect() ? req.getProtect() : undefined,
        retainOnDelete: req.hasRetainondelete() ? req.getRetainondelete() : undefined,
      };
      let r: ResourceState;
      if (!req.getCustom() || isProviderType(type)) {
        r = this.registerStateOnly(req, base, inputs);
      } else {
        r = await this.registerCustom(req, base, inputs);
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
    } finally {
      finish();
    }
  }

  /** The stack, components and provider resources: no provider calls, only state. */
  private registerStateOnly(
    req: resproto.RegisterResourceRequest,
    base: Partial<ResourceState>,
    inputs: PropertyMap,
  ): ResourceState {
    const urn = base.urn as string;
    const old = this.old.get(urn);
    const custom = req.getCustom();
    const r: ResourceState = {
      ...(base as ResourceState),
      custom,
      id: custom ? (old?.id ?? crypto.randomUUID()) : undefined,
      inputs,
      // Components get their outputs from RegisterResourceOutputs; until then, keep the old ones so that a
      // `same` stack still shows its outputs.
      outputs: custom ? inputs : (old?.outputs ?? {}),
    };
    if (!custom) r.outputs = old && deepEqual(old.inputs, inputs) ? old.outputs : {};
    this.registered.set(urn, r);
    const op = !old ? "create" : deepEqual(old.inputs, inputs) ? "same" : "update";
    this.stepOf(r, op, op === "update" ? { diffs: changedKeys(old?.inputs ?? {}, inputs) } : {});
    return r;
  }

  private async registerCustom(
    req: resproto.RegisterResourceRequest,
    base: Partial<ResourceState>,
    inputs: PropertyMap,
  ): Promise<ResourceState> {
    const urn = base.urn as string;
    const type = base.type as string;
    const pkg = type.split(":")[0];
    const providerRef = req.getProvider() || this.defaultProviderRef(pkg, req.getVersion());
    const adapter = this.host.adapterFor(type, providerRef);
    const old = this.old.get(urn);
    const ignoreChanges = req.getIgnorechangesList();
    const replaceOnChanges = req.getReplaceonchangesList().map(parsePropertyPath);
    const aso = req.getAdditionalsecretoutputsList();
    const ct = req.getCustomtimeouts();
    const customTimeouts = ct
      ? {
          create: ct.getCreate() || undefined,
          update: ct.getUpdate() || undefined,
          delete: ct.getDelete() || undefined,
        }
      : undefined;
    const info = (timeout: string | undefined) => ({
      timeoutSeconds: parseGoDuration(timeout),
      ignoreChanges,
      providerInputs: this.providerInputs(providerRef),
    });

    const plan = await this.generate(async () => {
      if (this.halted) throw new Error("the deployment stopped after an earlier step failed");
      const news =
        old && ignoreChanges.length ? applyIgnoreChanges(old.inputs, inputs, ignoreChanges) : inputs;
      const chk = await adapter.check(urn, stripSecrets(old?.inputs ?? {}), stripSecrets(news));
      if (chk.failures.length) {
        const why = chk.failures.map((f) => `${f.property}: ${f.reason}`).join("; ");
        throw new Error(`${urn}: Check failed: ${why}`);
      }
      const checked = annotateSecrets(chk.inputs, news);
      if (!old)
        return {
          op: "create" as const,
          checked,
          replaces: [] as string[],
          diffs: [] as string[],
          dbr: false,
        };
      const d = await adapter.diff(
        urn,
        old.id ?? "",
        stripSecrets(old.outputs),
        stripSecrets(checked),
        stripSecrets(old.inputs),
        info(undefined),
      );
      let changes = d.changes;
      let diffs = d.diffs;
      if (changes === "unknown") {
        // The engine's legacy fallback: compare old and new inputs (`__provider` included).
        diffs = changedKeys(old.inputs, checked);
        changes = diffs.length ? "some" : "none";
      } else if (changes === "some" && diffs.length === 0) {
        diffs = d.detailedDiff ? Object.keys(d.detailedDiff) : changedKeys(old.inputs, checked);
      }
      const replaces = new Set(d.replaces);
      if (changes === "some") {
        for (const k of diffs)
          if (replaceOnChanges.some((p) => pathContains(p, parsePropertyPath(k)))) replaces.add(k);
      }
      const dbrOption = req.getDeletebeforereplacedefined() ? req.getDeletebeforereplace() : undefined;
      const dbr = dbrOption ?? d.deleteBeforeReplace;
      const hasInitErrors = (old.initErrors?.length ?? 0) > 0;
      const op: "replace" | "update" | "same" =
        changes === "some" ? (replaces.size ? "replace" : "update") : hasInitErrors ? "update" : "same";
      return { op, checked, replaces: [...replaces].sort(), diffs, dbr, detailedDiff: d.detailedDiff };
    }).catch((e) => {
      this.fail(errorMessage(e));
      this.steps.push({
        urn,
        type,
        name: urnName(urn),
        op: old ? "update" : "create",
        inputs,
        error: errorMessage(e),
      });
      throw e;
    });

    const r: ResourceState = {
      ...(base as ResourceState),
      custom: true,
      id: old?.id,
      inputs: plan.checked,
      outputs: old?.outputs ?? {},
      provider: providerRef,
      additionalSecretOutputs: aso.length ? aso : undefined,
      customTimeouts,
    };
    const stepExtra: Partial<Step> = {};
    if (plan.op !== "create" && plan.op !== "same") {
      stepExtra.diffs = plan.diffs;
      if (plan.detailedDiff) stepExtra.detailedDiff = plan.detailedDiff;
    }
    if (plan.op === "replace") {
      stepExtra.replaces = plan.replaces;
      stepExtra.deleteBeforeReplace = plan.dbr;
    }

    if (this.dryRun) {
      if (plan.op !== "same") {
        // A provider without preview support: the engine returns the inputs as the new state, so every output
        // that is not an input is unknown to the program.
        r.outputs = plan.checked;
        if (plan.op === "create" || plan.op === "replace") r.id = UNKNOWN;
      }
      this.registered.set(urn, r);
      this.stepOf(r, plan.op, stepExtra);
      return r;
    }

    if (plan.op === "same") {
      r.initErrors = undefined;
      this.registered.set(urn, r);
      this.stepOf(r, "same");
      return r;
    }

    try {
      await this.sem.run(async () => {
        if (this.halted) throw new Error("the deployment stopped after an earlier step failed");
        const finish = (props: PropertyMap) => markSecretKeys(annotateSecrets(props, plan.checked), aso);
        try {
          if (plan.op === "update") {
            this.operations.push({ kind: "update", urn, id: old?.id });
            const outs = await adapter.update(
              urn,
              old?.id ?? "",
              stripSecrets(old?.outputs ?? {}),
              stripSecrets(plan.checked),
              stripSecrets(old?.inputs ?? {}),
              info(customTimeouts?.update),
            );
            r.outputs = finish(outs);
          } else {
            if (plan.op === "replace" && old) {
              if (old.protect)
                throw new Error(
                  `unable to replace resource ${urn} as it is currently marked for protection; set protect: false first`,
                );
              if (plan.dbr) {
                await this.deleteOne(old, "replace");
                this.deleted.add(old);
              }
            }
            this.operations.push({ kind: "create", urn });
            const created = await adapter.create(
              urn,
              stripSecrets(plan.checked),
              info(customTimeouts?.create),
            );
            if (!created.id) throw new Error(`the provider returned an empty id from create of ${urn}`);
            r.id = created.id;
            r.outputs = finish(created.properties);
            if (plan.op === "replace" && old && !plan.dbr) this.replaced.push(old);
          }
        } catch (e) {
          if (e instanceof ResourceInitError) {
            // Partial failure: the object exists; keep it in state so the next up continues or replaces it.
            r.id = e.id || r.id;
            r.outputs = finish(e.properties);
            r.initErrors = e.reasons;
            this.registered.set(urn, r);
            if (plan.op === "replace" && old && !plan.dbr) this.replaced.push(old);
          } else if (plan.op !== "create" && !(plan.op === "replace" && plan.dbr)) {
            // A failed update/replacement leaves the old resource as it was.
            this.registered.set(urn, old as ResourceState);
          }
          throw e;
        }
      });
    } catch (e) {
      const msg =
        e instanceof ResourceInitError
          ? `${urn}: ${e.message}${e.reasons.length ? ` (${e.reasons.join("; ")})` : ""}`
          : `${urn}: ${errorMessage(e)}`;
      this.fail(msg);
      this.stepOf(r, plan.op, { ...stepExtra, error: msg });
      throw new Error(msg);
    }
    this.registered.set(urn, r);
    this.stepOf(r, plan.op, stepExtra);
    return r;
  }

  private async readResource(req: resproto.ReadResourceRequest): Promise<resproto.ReadResourceResponse> {
    const type = req.getType();
    const urn = this.makeUrn(type, req.getName(), req.getParent());
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
      let outputs: PropertyMap;
      let provider: string | undefined;
      if (type === STACK_REFERENCE_TYPE) {
        const ref = typeof props.name === "string" ? props.name : id;
        const target = this.host.resolveStack(ref);
        if (!target)
          throw new Error(
            `StackReference ${urn}: unknown stack "${ref}"; create it in the same Backend first`,
          );
        const secretOutputNames = Object.keys(target.outputs).filter((k) => isSecret(target.outputs[k]));
        outputs = { name: ref, outputs: structuredClone(target.outputs), secretOutputNames };
      } else {
        provider = req.getProvider() || this.defaultProviderRef(type.split(":")[0], req.getVersion());
        const adapter = this.host.adapterFor(type, provider);
        this.operations.push({ kind: "read", urn, id });
        const got = await this.sem.run(() =>
          adapter.read(urn, id, stripSecrets(props), stripSecrets(props), {
            timeoutSeconds: 0,
            ignoreChanges: [],
            providerInputs: this.providerInputs(provider),
          }),
        );
        if (!got.id) throw new Error(`resource ${urn}: no object with id "${id}" exists`);
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
      this.stepOf(r, "read");
      const res = new resproto.ReadResourceResponse();
      res.setUrn(urn);
      res.setProperties(toStruct(outputs));
      return res;
    } catch (e) {
      this.fail(errorMessage(e));
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

  /** Deletes (or, in preview, plans deleting) `items` in reverse dependency order, independent ones in parallel. */
  private async deleteAll(items: ResourceState[], reason: "removed" | "destroy"): Promise<void> {
    const tasks = new Map<ResourceState, Promise<boolean>>();
    const run = (x: ResourceState): Promise<boolean> => {
      let t = tasks.get(x);
      if (t) return t;
      t = (async () => {
        const dependents = items.filter((y) => y !== x && allDependencies(y).includes(x.urn));
        const ok = await Promise.all(dependents.map(run));
        if (ok.includes(false)) return false;
        const isReplaced = this.replaced.includes(x) || x.pendingDelete === true;
        if (this.dryRun) {
          if (!isDefaultProvider(x) && !isReplaced) this.stepOf(x, "delete");
          return true;
        }
        try {
          await this.sem.run(() => this.deleteOne(x, isReplaced ? "replace" : reason));
          this.deleted.add(x);
          if (!isDefaultProvider(x) && !isReplaced) this.stepOf(x, "delete");
          return true;
        } catch (e) {
          const msg = `deleting ${x.urn}: ${errorMessage(e)}`;
          this.fail(msg);
          this.stepOf(x, "delete", { error: msg });
          return false;
        }
      })();
      tasks.set(x, t);
      return t;
    };
    await Promise.all(items.map(run));
  }

  private async deleteOne(x: ResourceState, reason: Operation["reason"]): Promise<void> {
    if (x.protect) {
      throw new Error(`resource ${x.urn} is protected; set protect: false and run up before deleting it`);
    }
    if (!x.custom || x.external || x.retainOnDelete || isProviderType(x.type) || !x.id) return;
    const adapter = this.host.adapterFor(x.type, x.provider);
    this.operations.push({ kind: "delete", urn: x.urn, id: x.id, reason });
    await adapter.delete(x.urn, x.id, stripSecrets(x.outputs), stripSecrets(x.inputs), {
      timeoutSeconds: parseGoDuration(x.customTimeouts?.delete),
      ignoreChanges: [],
      providerInputs: this.providerInputs(x.provider),
    });
  }

  // ---------------------------------------------------------------- refresh / destroy

  /** Reads every custom resource; gone ones leave the state, changed outputs are recorded as drift. */
  async runRefresh(): Promise<{ result: StepResult; state: ResourceState[] }> {
    this.host.setProviderOutputSink((line) =>
      this.logs.push({ severity: "info", message: line, source: "provider" }),
    );
    try {
      const state = [...this.host.record.resources];
      const next = new Map<ResourceState, ResourceState | undefined>();
      await Promise.all(
        state.map(async (r) => {
          if (!r.custom || r.external || isProviderType(r.type) || !r.id) {
            next.set(r, r);
            return;
          }
          try {
            const adapter = this.host.adapterFor(r.type, r.provider);
            this.operations.push({ kind: "read", urn: r.urn, id: r.id });
            const got = await this.sem.run(() =>
              adapter.read(r.urn, r.id as string, stripSecrets(r.outputs), stripSecrets(r.inputs), {
                timeoutSeconds: 0,
                ignoreChanges: [],
                providerInputs: this.providerInputs(r.provider),
              }),
            );
            if (!got.id) {
              next.set(r, undefined);
              this.stepOf(r, "delete", { outputs: undefined });
              return;
            }
            const outputs = markSecretKeys(
              annotateSecrets(got.properties, r.outputs),
              r.additionalSecretOutputs,
            );
            const inputs = got.inputs ? annotateSecrets(got.inputs, r.inputs) : r.inputs;
            const updated: ResourceState = { ...r, id: got.id, outputs, inputs };
            next.set(r, updated);
            this.stepOf(updated, "refresh", { diffs: changedKeys(r.outputs, outputs) });
          } catch (e) {
            next.set(r, r);
            const msg = `refreshing ${r.urn}: ${errorMessage(e)}`;
            this.fail(msg);
            this.stepOf(r, "refresh", { error: msg });
          }
        }),
      );
      const newState = state.map((r) => next.get(r)).filter((r): r is ResourceState => r !== undefined);
      return { result: this.result(), state: newState };
    } finally {
      this.host.setProviderOutputSink(undefined);
    }
  }

  /** Deletes every resource of the stack in reverse dependency order. */
  async runDestroy(): Promise<{ result: StepResult; state: ResourceState[] }> {
    this.host.setProviderOutputSink((line) =>
      this.logs.push({ severity: "info", message: line, source: "provider" }),
    );
    try {
      const all = [...this.host.record.resources];
      await this.deleteAll(all, "destroy");
      const state = all.filter((r) => !this.deleted.has(r));
      if (state.length === 0) this.stackOutputs = {};
      return { result: this.result(), state };
    } finally {
      this.host.setProviderOutputSink(undefined);
    }
  }
}
