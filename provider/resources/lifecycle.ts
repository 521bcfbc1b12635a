import type * as pulumi from "@pulumi/pulumi";
import type { Diff, DiffClassification } from "../plan/diff";
import { type TimeoutStep, timeoutSecondsFor } from "../plan/duration";
import { BACKENDS_READ, FORWARDING_READ, REFRESHED_FROM } from "../plan/refresh";
import {
  checkInputs,
  type Effect,
  effectIn,
  type KindSchema,
  keepRecorded,
  withDefaults,
} from "../plan/schema/field";

/**
 * The steps that touch the world, for one resource kind or one mode of a kind: create, read (refresh),
 * update and delete. The standalone and the HA modes of TailnetService and TailnetIngress each
 * implement these; check and diff are pure and belong to the kind (its declaration), not to a mode.
 */
export interface Steps {
  create(inputs: any): Promise<pulumi.dynamic.CreateResult>;
  read(id: string, props: any): Promise<pulumi.dynamic.ReadResult>;
  update(id: string, olds: any, news: any): Promise<pulumi.dynamic.UpdateResult>;
  delete(id: string, props: any): Promise<void>;
}

/** What each resource kind implements; the shape of Pulumi's dynamic ResourceProvider. */
export interface Lifecycle extends Steps {
  check(olds: any, news: any): Promise<pulumi.dynamic.CheckResult>;
  diff(id: string, olds: any, news: any): Promise<pulumi.dynamic.DiffResult & { detailedDiff?: unknown }>;
}

/**
 * `check` from a kind's declaration: the failures, or the inputs with their defaults filled in (and
 * whatever check derives, such as `plannedObjects`) when there are none.
 */
export function checkAgainst(
  schema: KindSchema<any, any>,
  olds: any,
  given: any,
): pulumi.dynamic.CheckResult {
  const news = keepRecorded(schema, olds, given);
  const failures = checkInputs(schema, news);
  return { inputs: failures.length ? news : withDefaults(schema, news), failures };
}

/** A classification as the host forwards it: changes, replaces and deleteBeforeReplace; detailedDiff documents why. */
export function diffResult(d: DiffClassification): pulumi.dynamic.DiffResult & { detailedDiff?: unknown } {
  return {
    changes: d.changes,
    replaces: d.replaces,
    deleteBeforeReplace: d.deleteBeforeReplace,
    detailedDiff: d.detailedDiff,
  };
}

/**
 * Outputs as Pulumi can carry them: JSON only (an `undefined` anywhere fails the whole response with
 * "Unexpected struct type."), without `__provider` (the host adds its own). Credentials stay: delete and
 * refresh need them, and the engine keeps them secret because their input was.
 */
export function cleanOutputs<T extends object>(outs: T): T {
  const { __provider: _provider, ...rest } = outs as Record<string, unknown>;
  return JSON.parse(JSON.stringify(rest));
}

/**
 * Outputs with every declared key present (`null` where the mode has no value: `deviceId` in HA mode,
 * `serviceName` standalone, …). During a preview the Pulumi SDK reads a missing output as unknown,
 * so a missing key would make every preview of an unchanged resource show unknowns downstream.
 */
export function withEveryOutput<T extends object | undefined>(keys: readonly string[], outs: T): T {
  if (!outs) return outs;
  const filled: Record<string, unknown> = { ...outs };
  for (const key of keys) if (filled[key] === undefined) filled[key] = null;
  return filled as T;
}

/**
 * The error a create throws after it made something: Pulumi records the partial state (so a later
 * `up` or `destroy` can finish the job) and shows `reasons`. The host does not add `__provider` to
 * partial state; without it, later calls could not find the code.
 * Used when a create that failed half-way could not remove what it made (provider/resources/standalone.ts,
 * provider/resources/proxyGroup.ts).
 */
export function partialCreateError(
  message: string,
  id: string,
  outs: object,
  inputs: { __provider?: string },
): Error & {
  id: string;
  properties: object;
  reasons: string[];
} {
  const error = new Error(message) as Error & { id: string; properties: object; reasons: string[] };
  error.id = id;
  error.properties = { ...cleanOutputs(outs), __provider: inputs.__provider };
  error.reasons = [message];
  return error;
}

/**
 * Milliseconds left in the wait budget of one step (create, update or delete), from the customTimeouts
 * in `input`: the new inputs for create and update, the recorded outputs for delete (which are all the
 * host gives a delete).
 */
export function deadline(input: { customTimeouts?: unknown }, step: TimeoutStep): () => number {
  const end = Date.now() + timeoutSecondsFor(input.customTimeouts, step) * 1000;
  return () => Math.max(0, end - Date.now());
}

/**
 * The outputs of an update whose every change has the target `record` (schema/field.ts), or undefined
 * when some change needs the kind's own update: the old outputs with the new values of the changed
 * fields and of the fields that never diff (credentials, plannedObjects), so the state is what a full
 * update would have written, without any API call.
 */
export function recordOnly(
  schema: KindSchema<any, any>,
  diff: Diff,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): object | undefined {
  const d = diff(olds, news);
  const changed = Object.keys(d.detailedDiff);
  if (changed.length === 0 || d.replaces.length > 0) return undefined;
  const ha = Boolean(news.proxyGroup);
  const effect = (key: string) => effectIn<Effect>(schema.fields[key]?.change, ha);
  if (
    !changed.every((key) => {
      const e = effect(key);
      return e?.kind === "inPlace" && e.target === "record";
    })
  )
    return undefined;
  const outs: Record<string, unknown> = { ...olds };
  delete outs[REFRESHED_FROM]; // written by refresh only (plan/refresh.ts)
  delete outs[BACKENDS_READ];
  delete outs[FORWARDING_READ];
  for (const key of Object.keys(schema.fields)) {
    const kind = effect(key)?.kind;
    if (!changed.includes(key) && kind !== "none") continue;
    if (news[key] === undefined) delete outs[key];
    else outs[key] = news[key];
  }
  return cleanOutputs(outs);
}
