/**
 * A small Pulumi engine for tests, faithful to pulumi/pulumi v3.248.0 (a88168d8) wherever the product can feel it.
 * It runs Pulumi programs with the real Node.js language runtime (`@pulumi/pulumi/cmd/run`) against an in-process
 * ResourceMonitor/Engine, and drives dynamic resources through the real dynamic-provider host
 * (`@pulumi/pulumi/cmd/dynamic-provider`) over gRPC, one host process per provider per deployment.
 *
 * Emulated, each pinned by a test in tests/engine-harness/ naming the engine source: the CLI's launch of programs and
 * of the host (project.ts); `up` = preview, then update (`skipPreview`), also for refresh and destroy; default
 * providers in state with the stack config as inputs, refresh and destroy configured from them (`runProgram` for
 * `--run-program`), config changes updating them in place; Check/Diff serialized, steps bounded by `--parallel`
 * (4 × CPUs, or PULUMI_PARALLEL); a replacement's second Check; create-before-delete and delete-before-replace with the
 * dependent cascade; deletes in reverse-dependency antichains; refresh's Read + Diff (`same`/`update`/`delete`, or the
 * legacy output comparison); secrets and `additionalSecretOutputs` (preview included); partial failures; protect and
 * retainOnDelete; customTimeouts as the requests' `timeout`; aliases (name, type, parent, project, stack, URN strings,
 * inherited by children); `renameStack`; StackReference names by backend kind; import failing as in the host; errors
 * whose `code` is 0 losing their message as they do between grpc-js and grpc-go; one Engine service per deployment
 * (Log, GetRootResource, SetRootResource), whose address the program gets as `--engine` and every provider host as its
 * argument, its Log calls (URN, ephemeral, stream id) in the results' `logs`.
 *
 * Not emulated, and why the product cannot tell:
 * - Transforms, resource hooks, `deletedWith`, `replaceWith`, replacement triggers, resource references and output
 *   values: reported unsupported to the SDK (deployment.ts FEATURES), so it sends plain values and no such options,
 *   which is also what the CLI sends a dynamic provider (it accepts no resources or outputs). The product uses none.
 * - Plugin providers: only dynamic resources and in-process `builtins` (stand-ins for other packages, e.g.
 *   kubernetes.ts). Builtins have no CheckConfig/DiffConfig, so an explicit provider's config change never replaces
 *   its resources, and the kubernetes stand-ins never ask for delete-before-replace (pulumi-kubernetes does for a
 *   replacement that keeps the name). This affects only the stand-ins' own resources, not what the product's
 *   resources see through their inputs.
 * - A successful import (`import` option, `pulumi import`): a dynamic resource cannot be imported (the host fails
 *   first, which is emulated), so no product resource ever gets there.
 * - `up --refresh`, `--target`, `--exclude`, `--replace`, update plans, policy packs, PULUMI_PARALLEL_DIFF: the
 *   product has no behaviour that depends on them beyond what the steps above already exercise.
 * - Cancellation (Ctrl-C, the Cancel RPC, which the host ignores) and pending operations in the checkpoint: a
 *   deployment always runs to its end here; a killed `up` is not modelled.
 * - State encryption and secrets providers: secrets stay as wire secrets in memory, so every stack of one Backend
 *   can read every other's secrets (DIY stacks with different passphrases elide them as `{}` instead). StackReference
 *   resources are not re-read by refresh.
 * - `.get()` over a resource the stack manages (read-replacement), the display's rendering of diffs, and the exact
 *   wording of the CLI's messages other than the ones the tests name: tests match the provider's own text.
 * - The harness waits for a registration's parent and dependencies before handling it; the SDK already waits for
 *   them before sending it, so the order the engine sees is the same.
 */
export type { ProviderAdapter } from "./adapters";
export { type AliasSpec, generateAliases, renameUrn, resourceUrn } from "./aliases";
export { Backend, type BackendKind, createBackend, type StackRecord } from "./backend";
export { type ProgramlessOptions, StackHarness, type StackHarnessOptions, type UpOptions } from "./harness";
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
  NO_RESPONSE_MESSAGE,
  ResourceInitError,
  readCpuMs,
  readVmHwmKb,
  USER_HZ,
} from "./providerHost";
export type {
  BuiltinContext,
  BuiltinProvider,
  Builtins,
  CommandResult,
  ConfigValue,
  LogEntry,
  Operation,
  ResourceState,
  Step,
  StepOp,
  StepResult,
} from "./types";
