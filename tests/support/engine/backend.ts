/** An in-memory stand-in for a Pulumi backend: named stacks with their state and outputs. */
import type { PropertyMap } from "./marshal";
import type { ResourceState } from "./types";

/** One stack's checkpoint. */
export interface StackRecord {
  /** Fully qualified name `organization/project/stack`. */
  name: string;
  resources: ResourceState[];
  outputs: PropertyMap;
}

/**
 * Which backend's rules apply to stack names: `diy` (a local or cloud-storage backend, `pulumi login file://…`, the
 * default) or `cloud` (Pulumi Cloud, httpstate).
 */
export type BackendKind = "diy" | "cloud";

/** The organization every DIY backend stack belongs to (pulumi/pulumi@a88168d8 pkg/backend/diy/store.go:164-172). */
export const DIY_ORGANIZATION = "organization";

/** Holds several stacks so programs can read each other's outputs through `pulumi.StackReference`. */
export class Backend {
  private readonly stacks = new Map<string, StackRecord>();

  /** @param kind whose stack-name rules `StackReference` follows (default `diy`) */
  constructor(readonly kind: BackendKind = "diy") {}

  /** Returns (creating if needed) the record of a stack. */
  stack(organization: string, project: string, stack: string): StackRecord {
    const name = `${organization}/${project}/${stack}`;
    let rec = this.stacks.get(name);
    if (!rec) {
      rec = { name, resources: [], outputs: {} };
      this.stacks.set(name, rec);
    }
    return rec;
  }

  /**
   * Finds a stack the way the backend resolves a `StackReference` name, or throws the backend's error.
   *
   * - DIY (`pkg/backend/diy/store.go:137-190` `ParseReference`): `<stack>`, `organization/<stack>` or
   *   `organization/<project>/<stack>`; the organization must be the literal `organization`, and a missing project is
   *   the current one. So `otherproject/stack` is refused, and `stack` never reaches another project.
   * - Pulumi Cloud (`pkg/backend/httpstate/backend.go:2880-2893` `GetStackOutputs`): exactly `<org>/<project>/<stack>`.
   */
  resolve(ref: string, project: string): StackRecord {
    const parts = ref.split("/");
    let full: string;
    if (this.kind === "cloud") {
      if (parts.length !== 3)
        throw new Error(
          "a stack reference's name should be of the form '<organization>/<project>/<stack>'. See https://www.pulumi.com/docs/using-pulumi/stack-outputs-and-references/#using-stack-references for more information.",
        );
      full = ref;
    } else {
      if (ref === "") throw new Error("stack name must not be empty");
      if (parts.length > 3) throw new Error(`could not parse stack reference '${ref}'`);
      const org = parts.length === 1 ? DIY_ORGANIZATION : parts[0];
      if (org !== DIY_ORGANIZATION) throw new Error("organization name must be 'organization'");
      const proj = parts.length === 3 ? parts[1] : project;
      full = `${org}/${proj}/${parts[parts.length - 1]}`;
    }
    const rec = this.stacks.get(full);
    if (!rec)
      throw new Error(
        `unknown stack "${full}" (StackReference "${ref}"); create it in the same Backend first`,
      );
    return rec;
  }

  /** Moves a stack's record to a new fully qualified name (`pulumi stack rename`); throws if the name is taken. */
  rename(from: string, to: string): StackRecord {
    const rec = this.stacks.get(from);
    if (!rec) throw new Error(`no stack named ${from}`);
    // pkg/backend/diy/backend.go:1056-1063: the destination must not exist.
    if (this.stacks.has(to)) throw new Error(`a stack named ${to} already exists`);
    this.stacks.delete(from);
    rec.name = to;
    this.stacks.set(to, rec);
    return rec;
  }

  /** Names of all stacks. */
  names(): string[] {
    return [...this.stacks.keys()];
  }
}

/** Creates an empty backend to share between several {@link StackHarness} instances. */
export function createBackend(o: { kind?: BackendKind } = {}): Backend {
  return new Backend(o.kind ?? "diy");
}
