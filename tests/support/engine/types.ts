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
  customTimeouts?: { create?: string; update?: string; delete?: string };
  /** Read with `.get`/ReadResource (e.g. StackReference): never deleted through the provider. */
  external?: boolean;
  /** Reasons from a partial failure (ErrorResourceInitFailed); the next `up` updates or replaces it. */
  initErrors?: string[];
  /** An old copy replaced create-before-delete whose delete has not happened yet. */
  pendingDelete?: boolean;
}

/** What a step did to one resource. */
export type StepOp = "create" | "update" | "replace" | "delete" | "same" | "read" | "refresh";

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
}

/** A provider operation the engine performed, in order; lets tests check create-before-delete and delete order. */
export interface Operation {
  kind: "create" | "update" | "delete" | "read";
  urn: string;
  id?: string;
  /** Why a delete happened: the resource left the program, was replaced, or the stack was destroyed. */
  reason?: "removed" | "replace" | "destroy";
}

/** A diagnostic message. */
export interface LogEntry {
  severity: "debug" | "info" | "warning" | "error";
  message: string;
  urn?: string;
  /** engine: Engine.Log from the program; stdout/stderr: the program's streams; provider: the provider host's output. */
  source: "engine" | "stdout" | "stderr" | "provider";
}

/** The result of preview/up/refresh/destroy. */
export interface StepResult {
  steps: Step[];
  operations: Operation[];
  /** Stack outputs (wire form: secrets stay wrapped). */
  outputs: PropertyMap;
  logs: LogEntry[];
  failed: boolean;
  error?: string;
}

/** Context handed to an in-process builtin provider method. */
export interface BuiltinContext {
  urn: string;
  type: string;
  name: string;
  /** Stack config (secrets unwrapped), keys `namespace:key`. */
  config: Record<string, string>;
  /** Inputs of the explicit provider resource (`pulumi:providers:<pkg>`) this resource uses, if any. */
  providerInputs?: PropertyMap;
  /** Timeout from `customTimeouts`, in seconds (0 = none). */
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
