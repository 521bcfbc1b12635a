/**
 * A small, faithful Pulumi engine for tests: runs Pulumi programs with the real Node.js language runtime
 * (`@pulumi/pulumi/cmd/run`) against an in-process ResourceMonitor/Engine, and drives dynamic resources through the
 * real dynamic-provider host (`@pulumi/pulumi/cmd/dynamic-provider`) over gRPC.
 *
 * Not emulated: aliases (ignored), import, transforms and hooks, deletedWith, resource references and output values
 * (reported unsupported to the SDK), delete-before-replace cascading to dependents, plugin-based providers (only
 * dynamic resources and the `builtins` hook), state encryption.
 */
export type { ProviderAdapter } from "./adapters";
export { Backend, createBackend, type StackRecord } from "./backend";
export { StackHarness, type StackHarnessOptions } from "./harness";
export { kubernetesBuiltins } from "./kubernetes";
export {
  annotateSecrets,
  containsSecrets,
  isSecret,
  makeSecret,
  type PropertyMap,
  SECRET_SIG,
  SIG_KEY,
  stripSecrets,
  UNKNOWN,
} from "./marshal";
export {
  DynamicProviderHost,
  type DynamicProviderHostOptions,
  ResourceInitError,
  readVmHwmKb,
} from "./providerHost";
export type {
  BuiltinContext,
  BuiltinProvider,
  Builtins,
  ConfigValue,
  LogEntry,
  Operation,
  ResourceState,
  Step,
  StepOp,
  StepResult,
} from "./types";
