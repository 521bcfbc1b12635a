/**
 * URN arithmetic of the engine: building a resource's URN, and the old URNs its aliases name, as the step generator
 * does (pulumi/pulumi@a88168d8 pkg/resource/deploy/step_generator.go:505-612 `collapseAliasToUrn`,
 * `inheritedChildAlias`, `generateAliases`; sdk/go/common/resource/alias.go:40-57 `CreateURN`;
 * sdk/go/common/resource/urn/urn.go:80-93 `New`).
 */

/** The root stack resource type: a parent of that type adds nothing to a child's URN. */
export const ROOT_STACK_TYPE = "pulumi:pulumi:Stack";

/** One alias as the Node SDK sends it with `aliasSpecs` (proto `Alias`): a URN, or a spec of what changed. */
export type AliasSpec =
  | { urn: string }
  | {
      name?: string;
      type?: string;
      project?: string;
      stack?: string;
      parentUrn?: string;
      noParent?: boolean;
    };

/** The parts of a URN. */
export interface UrnParts {
  stack: string;
  project: string;
  /** The qualified type, parents' types included (`a:b:C$d:e:F`). */
  qualifiedType: string;
  /** The resource's own type (after the last `$`). */
  type: string;
  name: string;
}

/** Splits `urn:pulumi:<stack>::<project>::<qualified type>::<name>`. */
export function parseUrn(urn: string): UrnParts {
  const body = urn.startsWith("urn:pulumi:") ? urn.slice("urn:pulumi:".length) : urn;
  const parts = body.split("::");
  const qualifiedType = parts[2] ?? "";
  return {
    stack: parts[0] ?? "",
    project: parts[1] ?? "",
    qualifiedType,
    type: qualifiedType.slice(qualifiedType.lastIndexOf("$") + 1),
    name: parts.slice(3).join("::"),
  };
}

/** `urn.New`: a parent type other than the root stack's is prefixed to the base type with `$`. */
export function newUrn(
  stack: string,
  project: string,
  parentType: string,
  baseType: string,
  name: string,
): string {
  const type = parentType && parentType !== ROOT_STACK_TYPE ? `${parentType}$${baseType}` : baseType;
  return `urn:pulumi:${stack}::${project}::${type}::${name}`;
}

/** `resource.CreateURN`: with a parent, the parent's URN up to its last `::` is the prefix (its stack and project). */
export function createUrn(
  name: string,
  type: string,
  parent: string,
  project: string,
  stack: string,
): string {
  if (!parent) return `urn:pulumi:${stack}::${project}::${type}::${name}`;
  const ix = parent.lastIndexOf("::");
  if (ix < 0) throw new Error(`Expected 'parent' string '${parent}' to contain '::'`);
  return `${parent.slice(0, ix)}$${type}::${name}`;
}

/** The URN a registration gets (`stepGenerator.generateURN` → `urn.New` with the parent's qualified type). */
export function resourceUrn(
  stack: string,
  project: string,
  parent: string,
  type: string,
  name: string,
): string {
  return newUrn(stack, project, parent ? parseUrn(parent).qualifiedType : "", type, name);
}

/** Where the deployment's context comes from for alias resolution. */
export interface AliasContext {
  stack: string;
  project: string;
  /** New URN → the old URN it was matched to through an alias (`sg.aliases`). */
  aliasOf: ReadonlyMap<string, string>;
}

/** `collapseAliasToUrn` (step_generator.go:505-545). */
export function collapseAlias(
  ctx: AliasContext,
  name: string,
  type: string,
  resParent: string,
  alias: AliasSpec,
): string {
  if ("urn" in alias) return alias.urn;
  const n = alias.name || name;
  const t = alias.type || type;
  let parent = alias.parentUrn ?? "";
  if (parent === "") parent = resParent;
  // If the parent used an alias then use its old URN here, as that will be this resource's old URN as well.
  else parent = ctx.aliasOf.get(parent) ?? parent;
  const parentIsRootStack = parent !== "" && parseUrn(parent).qualifiedType === ROOT_STACK_TYPE;
  if (alias.noParent || parentIsRootStack) parent = "";
  const project = alias.project || ctx.project;
  const stack = alias.stack || ctx.stack;
  return createUrn(n, t, parent, project, stack);
}

/** `inheritedChildAlias` (step_generator.go:550-578): a child named after its parent follows the parent's rename. */
export function inheritedChildAlias(
  ctx: AliasContext,
  childType: string,
  childName: string,
  parentName: string,
  parentAlias: string,
): string {
  const aliasName = childName.startsWith(parentName)
    ? parseUrn(parentAlias).name + childName.slice(parentName.length)
    : childName;
  return newUrn(ctx.stack, ctx.project, parseUrn(parentAlias).qualifiedType, childType, aliasName);
}

/** `generateAliases` (step_generator.go:580-612): every old URN a registration may have had, in order. */
export function generateAliases(
  ctx: AliasContext,
  name: string,
  type: string,
  parent: string,
  aliases: readonly AliasSpec[],
): string[] {
  const result: string[] = [];
  const add = (u: string) => {
    if (!result.includes(u)) result.push(u);
  };
  for (const a of aliases) add(collapseAlias(ctx, name, type, parent, a));
  if (parent) {
    const parentAlias = ctx.aliasOf.get(parent);
    if (parentAlias) {
      const parentName = parseUrn(parent).name;
      add(inheritedChildAlias(ctx, type, name, parentName, parentAlias));
      for (const a of aliases) {
        const child = parseUrn(collapseAlias(ctx, name, type, parent, a));
        add(inheritedChildAlias(ctx, child.type, child.name, parentName, parentAlias));
      }
    }
  }
  return result;
}

/**
 * `edit.RenameStack` (pulumi/pulumi@a88168d8 pkg/resource/edit/operations.go `RenameStack`): the URN with the new
 * stack name; the root stack resource's name `<project>-<stack>` follows.
 */
export function renameUrn(urn: string, newStack: string): string {
  const u = parseUrn(urn);
  if (u.qualifiedType === ROOT_STACK_TYPE)
    return newUrn(newStack, u.project, "", u.qualifiedType, `${u.project}-${newStack}`);
  return newUrn(newStack, u.project, "", u.qualifiedType, u.name);
}
