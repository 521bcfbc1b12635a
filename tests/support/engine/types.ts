/** Types shared by the engine harness. Property maps are in wire form (see marshal.ts). */
import type { PropertyMap } from "./marshal";

/** A stack config value: plain, or secret (`pulumi config set --secret`). */
export type ConfigValue = string | { secret: string };

/** One resource as the engine keeps it in the stack's state (checkpoint). */
export interface ResourceState {
  urn: string;
  type: string;
  /** True for CustomResources (provider-managed); false for the stack and ComponentResources. */
  custom: boolean;
  id?: string;
  inputs: PropertyMap;
  outputs: PropertyMap;
  parent?: string;
  /** Every URN this resource depends on: explicit `dependsOn` plus property dependencies. */
  dependencies: string[];
  propertyDependencies: Record<string, string[]>;
  /** Provider reference `urn::id` (default providers included), for custom resources. */
  provider?: string;
  protect?: boolean;
  retainOnDelete?: boolean;
  additionalSecretOutputs?: string[];
  /**
   * `customTimeouts` in seconds, as the engine stores them (`resource.CustomTimeouts`, pulumi/pulumi@a88168d8
   * sdk/go/common/resource/custom_timeouts.go:17-22; parsed in pkg/resource/deploy/source_eval.go:2634-2660).
   */
  customTimeouts?: { create?: number; update?: number; delete?: number };
  /** `ignoreChanges` and `replaceOnChanges` of the registration, kept for the delete-before-replace probe. */
  ignoreChanges?: string[];
  replaceOnChanges?: string[];
  /** The old URN this resource was found under through an alias (the engine records it in `Aliases`). */
  aliases?: string[];
  /** Read with `.get`/ReadResource (e.g. StackReference): never deleted through the provider. */
  external?: boolean;
  /** Reasons from a partial failure (ErrorResourceInitFailed); the next `up` updates or replaces it. */
  initErrors?: string[];
  /** An old copy replaced create-before-delete whose delete has not happened yet. */
  pendingDelete?: boolean;
  /**
   * Deleted for a delete-before-replace whose re-creation has not happened yet: the cloud object is gone, the state
   * is kept so the next `up` replaces it (`PendingReplacement`, pulumi/pulumi@a88168d8
   * pkg/resource/deploy/step_generator.go:2016-2024).
   */
  pendingReplacement?: boolean;
}

/**
 * What a step did to one resource. Refresh steps report their result (`same`, `update` or `delete`), as the CLI shows
 * them (pulumi/pulumi@a88168d8 pkg/resource/deploy/step.go:1467-1495 `RefreshStep.ResultOp`).
 */
export type StepOp = "create" | "update" | "replace" | "delete" | "same" | "read" | "import";

/** One step of a deployment, in the order the engine performed (or, in preview, planned) it. */
export interface Step {
  urn: string;
  type: string;
  name: string;
  op: StepOp;
  /** Properties that forced a replacement. */
  replaces?: string[];
  /** Properties that changed (provider `diffs`, or the engine's input-level diff when the provider gave none). */
  diffs?: string[];
  detailedDiff?: unknown;
  deleteBeforeReplace?: boolean;
  inputs?: PropertyMap;
  outputs?: PropertyMap;
  error?: string;
  /** Set on a refresh step (whose `op` is its result). */
  refresh?: boolean;
}

/** A provider operation the engine performed, in order; lets tests check create-before-delete and delete order. */
export interface Operation {
  kind: "create" | "update" | "delete" | "read" | "diff";
  urn: string;
  id?: string;
  /** Why a delete happened: the resource left the program, was replaced, or the stack was destroyed. */
  reason?: "removed" | "replace" | "destroy";
  /**
   * Why a diff was made outside step generation: the delete-before-replace probe of a dependent, or the diff after a
   * refresh's read. Ordinary diffs of registrations are not recorded.
   */
  purpose?: "dependent-replace" | "refresh";
  /** The `timeout` field (seconds) sent with Create, Update or Delete: the resource's `customTimeouts`, or 0. */
  timeout?: number;
}

/** A diagnostic message. */
export interface LogEntry {
  severity: "debug" | "info" | "warning" | "error";
  message: string;
  urn?: string;
  /**
   * engine: Engine.Log, from the program or from a provider host (the engine cannot tell them apart: both have the same
   * address); stdout/stderr: the program's streams; provider: the provider host's output.
   */
  source: "engine" | "stdout" | "stderr" | "provider";
  /**
   * An Engine.Log marked ephemeral: the CLI shows it as the resource's status line while the step runs and keeps it
   * out of the Diagnostics summary (pulumi/pulumi@a88168d8 pkg/host/host_server.go:107-111 `LogStatus`,
   * pkg/backend/display/progress.go:802-805).
   */
  ephemeral?: boolean;
  /** The Engine.Log's stream id, when not 0. */
  streamId?: number;
}

/** The result of one deployment: preview, or the update of up/refresh/destroy. */
export interface StepResult {
  steps: Step[];
  operations: Operation[];
  /** Stack outputs (wire form: secrets stay wrapped). */
  outputs: PropertyMap;
  logs: LogEntry[];
  failed: boolean;
  error?: string;
}

/**
 * The result of `up`, `refresh` or `destroy`: the update deployment's, with the preview the CLI runs first (unless
 * skipped). When the preview failed, no update ran and this is the preview's result.
 */
export interface CommandResult extends StepResult {
  preview?: StepResult;
}

/** Context handed to an in-process builtin provider method. */
export interface BuiltinContext {
  urn: string;
  type: string;
  name: string;
  /** The current stack config (secrets unwrapped), keys `namespace:key`. */
  config: Record<string, string>;
  /**
   * Inputs of the provider resource (`pulumi:providers:<pkg>`) this resource uses, as the engine configures the
   * provider: an explicit provider's inputs, or for the default provider the package's config keys without their
   * namespace (`kubernetes:kubeconfig` → `kubeconfig`), both as recorded in state for refresh and destroy.
   */
  providerInputs?: PropertyMap;
  /** The `timeout` the engine sends: `customTimeouts` in seconds (0 = none); delete uses the old state's. */
  timeoutSeconds?: number;
  /** Prior inputs (Diff/Update/Read/Delete). */
  oldInputs?: PropertyMap;
}

/**
 * An in-process provider for a non-dynamic type token. Values arrive with secrets stripped and must be JSON-clean.
 * Throw an Error carrying `{ id, properties, reasons }` from create/update for a partial failure.
 */
export interface BuiltinProvider {
  check?(
    olds: PropertyMap,
    news: PropertyMap,
    ctx: BuiltinContext,
  ): Promise<{ inputs?: PropertyMap; failures?: { property: string; reason: string }[] }>;
  diff?(
    id: string,
    olds: PropertyMap,
    news: PropertyMap,
    ctx: BuiltinContext,
  ): Promise<{
    changes?: boolean;
    replaces?: string[];
    diffs?: string[];
    deleteBeforeReplace?: boolean;
    detailedDiff?: unknown;
  }>;
  create(inputs: PropertyMap, ctx: BuiltinContext): Promise<{ id: string; outs?: PropertyMap }>;
  read?(
    id: string,
    props: PropertyMap,
    ctx: BuiltinContext,
  ): Promise<{ id?: string; props?: PropertyMap; inputs?: PropertyMap }>;
  update?(
    id: string,
    olds: PropertyMap,
    news: PropertyMap,
    ctx: BuiltinContext,
  ): Promise<{ outs?: PropertyMap }>;
  delete(id: string, props: PropertyMap, ctx: BuiltinContext): Promise<void>;
}

/** Builtin providers by type token, e.g. `kubernetes:core/v1:Service`. */
export type Builtins = Record<string, BuiltinProvider>;
