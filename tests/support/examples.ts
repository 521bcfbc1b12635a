/**
 * A Pulumi stack of one of this repository's programs (an example, or a test fixture) wired to a
 * local world: the package resolvable by name from the serialised provider, the world's credentials
 * in the environment, and `@pulumi/kubernetes` resources served by the stand-in provider under its
 * own cluster identity (so request counts can tell it from ours).
 */
import * as path from "node:path";
import { type Backend, type ConfigValue, kubernetesBuiltins, StackHarness } from "./engine";
import type { LocalWorld } from "./world";

/** The repository root. */
export const ROOT = path.resolve(__dirname, "../..");

/** Options of {@link programStack}. */
export interface ProgramStackOptions {
  /** Directory of the program, relative to the repository root, e.g. `examples/quickstart`. */
  program: string;
  project: string;
  stack?: string;
  config?: Record<string, ConfigValue>;
  backend?: Backend;
}

/** A StackHarness for a program of this repository against `world`. */
export function programStack(world: LocalWorld, o: ProgramStackOptions): StackHarness {
  return new StackHarness({
    backend: o.backend,
    project: o.project,
    stack: o.stack ?? "dev",
    projectDir: path.join(ROOT, o.program),
    // ts-node type-checks every program launch by default; these runs skip it as `pulumi` does with
    // PULUMI_NODEJS_TRANSPILE_ONLY=true (run.ts:285-299), because every `up` launches the program twice and
    // the suite runs twice in CI. The programs are still type-checked by ts-node in
    // tests/engine-harness/launch.test.ts (the root project) and tests/engine/user-project.test.ts.
    env: { ...world.env, PULUMI_NODEJS_TRANSPILE_ONLY: "true" },
    config: o.config,
    builtins: kubernetesBuiltins(world.kube.kubeconfig({ user: "pulumi-kubernetes" })),
  });
}
