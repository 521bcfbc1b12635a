/**
 * Error and failure types shared by the pure planning modules.
 */

/** One input problem found by a `check*` function: the property path and what to do about it. */
export interface CheckFailure {
  /** Path of the offending input, e.g. `rules[0].paths[1].path` or `proxyClass.image`. */
  property: string;
  /** What is wrong and how to fix it. Never contains secrets. */
  reason: string;
}

/**
 * A problem that only cluster facts reveal (a headless backend Service, a named port the Service does not
 * have, ...). Thrown by the plan builders; the lifecycle turns it into a failed create/update with this message.
 */
export class PlanError extends Error {
  /** Machine-readable kind of the problem, for callers that branch on it. */
  readonly code: PlanErrorCode;

  constructor(code: PlanErrorCode, message: string) {
    super(message);
    this.name = "PlanError";
    this.code = code;
  }
}

/** The kinds of {@link PlanError}. */
export type PlanErrorCode =
  | "HeadlessService"
  | "NoClusterIP"
  | "PortNotFound"
  | "BackendNotFound"
  | "NoValidBackends"
  | "InvalidInput";
