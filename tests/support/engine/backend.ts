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

/** Holds several stacks so programs can read each other's outputs through `pulumi.StackReference`. */
export class Backend {
  private readonly stacks = new Map<string, StackRecord>();

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
   * Finds a stack the way `StackReference` names resolve: `org/project/stack`, `project/stack` (the caller's
   * organization) or `stack` (the caller's organization and project).
   */
  resolve(ref: string, organization: string, project: string): StackRecord | undefined {
    const parts = ref.split("/");
    const full =
      parts.length === 3
        ? ref
        : parts.length === 2
          ? `${organization}/${ref}`
          : `${organization}/${project}/${ref}`;
    return this.stacks.get(full);
  }

  /** Names of all stacks. */
  names(): string[] {
    return [...this.stacks.keys()];
  }
}

/** Creates an empty backend to share between several {@link StackHarness} instances. */
export function createBackend(): Backend {
  return new Backend();
}
