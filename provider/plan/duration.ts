/**
 * Pulumi's customTimeouts, as the engine reads them, and the wait budget each step takes from them.
 *
 * The engine parses each of `create`, `update` and `delete` with Go's `time.ParseDuration` when the
 * program registers the resource (pulumi/pulumi@a88168d8 pkg/resource/deploy/source_eval.go:2634-2664,
 * `generateTimeoutInSeconds` at 3042-3049), and refuses the registration when one does not parse. The
 * dynamic-provider host never gives those values to provider code (pulumi/pulumi@a88168d8
 * sdk/nodejs/cmd/dynamic-provider/index.ts:247-344 reads no `timeout`), so the SDK copies them into the
 * `customTimeouts` input and this module reads them with the same grammar, so a value means here
 * exactly what it means to the engine. Pure.
 */
import type { Push } from "./check";
import { isPlainObject } from "./gojson";
import { type CustomTimeoutsInput, isUnknown } from "./inputs";

export type { CustomTimeoutsInput };

/**
 * The step a wait budget is for. `read` (refresh) always has the default: the Node SDK's customTimeouts
 * has no read option (pulumi/pulumi@a88168d8 sdk/nodejs/resource.ts `CustomTimeouts`).
 */
export type TimeoutStep = keyof CustomTimeoutsInput | "read";

/** Every key of {@link CustomTimeoutsInput}, in the order check reports them. */
const STEPS = { create: true, update: true, delete: true } satisfies Record<keyof CustomTimeoutsInput, true>;

/** Default wait budget of a step whose customTimeouts do not set one. */
export const DEFAULT_TIMEOUT_SECONDS = 600;

/** The longest delay Node's setTimeout honours (https://nodejs.org/api/timers.html#settimeoutcallback-delay-args). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Nanoseconds per unit, as Go's `time` package names them (`µs` as U+00B5 and U+03BC). */
const UNITS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  "\u00b5s": 1_000n,
  "\u03bcs": 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const MAX_NANOS = 2n ** 63n - 1n;

/**
 * Go's `time.ParseDuration` (`[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, or `0`), in seconds; or Go's reason
 * when the text is not a duration. Fractions are exact to the nanosecond, as in Go, up to float rounding.
 */
export function parseGoDuration(text: string): { seconds: number } | { error: string } {
  const invalid = { error: `invalid duration ${JSON.stringify(text)}` };
  let s = text;
  let negative = false;
  if (s[0] === "-" || s[0] === "+") {
    negative = s[0] === "-";
    s = s.slice(1);
  }
  if (s === "0") return { seconds: 0 };
  if (s === "") return invalid;
  let total = 0n;
  while (s !== "") {
    const number = /^(\d*)(?:\.(\d*))?/.exec(s)!;
    const [whole, intPart, fracPart] = [number[0], number[1]!, number[2]];
    if (intPart === "" && !fracPart) return invalid; // no digits at all, e.g. ".s"
    s = s.slice(whole.length);
    const unitMatch = /^[^.0-9]*/.exec(s)![0];
    if (unitMatch === "") return { error: `missing unit in duration ${JSON.stringify(text)}` };
    const unit = UNITS[unitMatch];
    if (unit === undefined) {
      return { error: `unknown unit ${JSON.stringify(unitMatch)} in duration ${JSON.stringify(text)}` };
    }
    s = s.slice(unitMatch.length);
    let nanos = BigInt(intPart || "0") * unit;
    if (fracPart) nanos += BigInt(Math.floor(Number(`0.${fracPart}`) * Number(unit)));
    total += nanos;
    if (total > MAX_NANOS + (negative ? 1n : 0n)) return invalid;
  }
  const seconds = Number(total) / 1e9;
  return { seconds: negative ? -seconds : seconds };
}

/** Validates a `customTimeouts` input; each failure names the option and says what to write instead. */
export function checkCustomTimeouts(v: unknown, at: string, push: Push): void {
  if (v === undefined || v === null || isUnknown(v)) return;
  if (!isPlainObject(v)) {
    push(
      at,
      'must be an object such as { create: "10m", delete: "5m" } (the resource option customTimeouts)',
    );
    return;
  }
  for (const [key, value] of Object.entries(v)) {
    const path = `${at}.${key}`;
    if (!(key in STEPS)) {
      push(path, `is not a customTimeouts option: use ${Object.keys(STEPS).join(", ")}`);
      continue;
    }
    if (value === undefined || value === null || value === "" || isUnknown(value)) continue;
    const problem = durationProblem(value);
    if (problem) push(path, problem);
  }
}

/** What is wrong with one customTimeouts value, or undefined. */
function durationProblem(value: unknown): string | undefined {
  if (typeof value !== "string") {
    return `${JSON.stringify(value)} is not a duration; use Go duration syntax such as "5m", "1h30m" or "90s"`;
  }
  const parsed = parseGoDuration(value);
  if ("error" in parsed) {
    return `${JSON.stringify(value)} is not a duration (${parsed.error}); use Go duration syntax such as "5m", "1h30m" or "90s"`;
  }
  if (!(parsed.seconds > 0)) return `${JSON.stringify(value)} must be longer than zero`;
  // Node's timers take at most 2^31-1 ms (about 24.8 days); a longer wait would fire at once.
  if (parsed.seconds * 1000 > MAX_TIMER_MS) {
    return `${JSON.stringify(value)} is too long: at most ${Math.floor(MAX_TIMER_MS / 1000)} seconds (about 24 days)`;
  }
  return undefined;
}

/**
 * The first problem of a program's customTimeouts, as `customTimeouts.<step>: <reason>`, or undefined.
 * The SDK throws it when the resource is constructed: the engine would otherwise refuse the
 * registration first, with only `unable to parse customTimeout Value <text>` (source_eval.go:3045).
 */
export function customTimeoutsProblem(v: CustomTimeoutsInput | undefined): string | undefined {
  const failures: string[] = [];
  checkCustomTimeouts(v, "customTimeouts", (property, reason) => failures.push(`${property}: ${reason}`));
  return failures[0];
}

/** The wait budget of `step`, in seconds: its customTimeouts value, else {@link DEFAULT_TIMEOUT_SECONDS}. */
export function timeoutSecondsFor(timeouts: unknown, step: TimeoutStep): number {
  const text = isPlainObject(timeouts) && step !== "read" ? timeouts[step] : undefined;
  if (typeof text !== "string" || text === "") return DEFAULT_TIMEOUT_SECONDS;
  const parsed = parseGoDuration(text);
  return "seconds" in parsed && parsed.seconds > 0 ? parsed.seconds : DEFAULT_TIMEOUT_SECONDS;
}
