import type * as pulumi from "@pulumi/pulumi";

/** What each resource kind implements; the shape of Pulumi's dynamic ResourceProvider. */
export interface Lifecycle {
  check(olds: any, news: any): Promise<pulumi.dynamic.CheckResult>;
  diff(id: string, olds: any, news: any): Promise<pulumi.dynamic.DiffResult & { detailedDiff?: unknown }>;
  create(inputs: any): Promise<pulumi.dynamic.CreateResult>;
  read(id: string, props: any): Promise<pulumi.dynamic.ReadResult>;
  update(id: string, olds: any, news: any): Promise<pulumi.dynamic.UpdateResult>;
  delete(id: string, props: any): Promise<void>;
}

/** Default wait budget when the resource has no customTimeouts. */
export const DEFAULT_TIMEOUT_SECONDS = 600;

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
 * The error a create throws after it made something: Pulumi records the partial state (so a later
 * `up` or `destroy` can finish the job) and shows `reasons`. The host does not add `__provider` to
 * partial state; without it, later calls could not find the code.
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

/** Milliseconds left in a resource's wait budget. */
export function deadline(timeoutSeconds: number | undefined): () => number {
  const end = Date.now() + (timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000;
  return () => Math.max(0, end - Date.now());
}
