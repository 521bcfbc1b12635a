/**
 * Seeded fault injection: the transient failures a real API server and the network between it and the
 * client produce, drawn from a deterministic PRNG so that a failing run can be replayed with the same
 * seed. The 429 is API Priority and Fairness's (`kubernetes/apiserver@v0.36.3
 * pkg/server/filters/priority-and-fairness.go:317, 377-381`; the max-in-flight filter also says
 * `Retry-After: 1`, `pkg/server/filters/maxinflight.go:37`); the watch ERROR is the 410 a server sends
 * once a version left its watch cache (https://kubernetes.io/docs/reference/using-api/api-concepts/#410-gone-responses).
 *
 * | kind           | what the client sees                                                                        |
 * | -------------- | ------------------------------------------------------------------------------------------- |
 * | `5xx`          | 500/502/503/504 with a `Status` body, with or without `Retry-After` (drawn unless fixed)   |
 * | `429`          | 429, plain text `Too many requests, please try again later.` and `Retry-After: 1`          |
 * | `reset-before` | the socket is destroyed before the request is acted on                                      |
 * | `reset-after`  | the request is acted on (the write happened), then the socket is destroyed with no answer   |
 * | `watch-close`  | a watch is closed early, cleanly (only drawn for watches)                                   |
 * | `watch-error`  | a watch gets an `ERROR` event holding a 410 `Expired` Status, then closes (watches only)    |
 * | `slow`         | the answer is delayed by `slowMs`, then given normally                                      |
 *
 * Faults apply only to the identities listed in `users` (default: `admin`; in the local world the product
 * is the deployer, `world.deployer.user`, which a rule must name), so the
 * cluster simulator and other identities are left alone unless a test asks for them.
 *
 * The fake Tailscale API draws its faults from the same injector (tests/support/tailscale-api/server.ts):
 * it has no watches, and it faults only the public API, never tailscaled's control traffic.
 */

/** A kind of injected failure. */
export type FaultKind =
  | "5xx"
  | "429"
  | "reset-before"
  | "reset-after"
  | "watch-close"
  | "watch-error"
  | "slow";

/** Every kind, for specs that draw from all of them. */
export const FAULT_KINDS: readonly FaultKind[] = [
  "5xx",
  "429",
  "reset-before",
  "reset-after",
  "watch-close",
  "watch-error",
  "slow",
];

/** The body APF writes with its 429 (`http.Error` appends a newline). */
export const TOO_MANY_REQUESTS_TEXT = "Too many requests, please try again later.\n";

/** One fault rule. Requests are matched against the rules in order; the first that matches draws. */
export interface FaultSpec {
  /** Seed of this rule's PRNG (mulberry32). Default 1. */
  seed?: number;
  /** Probability (0..1) that a matching request gets a fault. Default 1. */
  rate?: number;
  /** Kinds to draw from; only those that fit the request are candidates (watch kinds for watches only). */
  kinds: readonly FaultKind[];
  /** HTTP method(s) to match; any when absent. A `pods/exec` upgrade is a GET. */
  method?: string | string[];
  /** Path to match: a RegExp, or a string matched exactly or as a prefix. Any path when absent. */
  path?: RegExp | string;
  /**
   * Route template to match exactly, for servers that route by template (the fake Tailscale API's
   * `/api/v2/tailnet/{tailnet}/keys`); a request without a route never matches. Any route when absent.
   */
  route?: string;
  /** Only watch requests (true), only other requests (false), or both (absent). */
  watch?: boolean;
  /** Identities (the user of the bearer token) to fault, or "all". Default ["admin"]. */
  users?: readonly string[] | "all";
  /** Matching requests to let through untouched before drawing starts. Default 0. */
  skip?: number;
  /** At most this many faults from this rule. Unlimited by default. */
  times?: number;
  /** `5xx` only: the status. Default: drawn from 500 and 503. */
  status?: 500 | 502 | 503 | 504;
  /** `5xx` only: Retry-After seconds, or null for none. Default: drawn, none or 1. */
  retryAfterSeconds?: number | null;
  /** Delay of `slow`. Default 200 ms. */
  slowMs?: number;
  /** `watch-close`: how long the watch stays open before it is closed. Default 0 (after the initial events). */
  watchCloseAfterMs?: number;
}

/** What to do to one request. */
export type FaultAction =
  | { kind: "5xx"; status: number; retryAfterSeconds?: number }
  | { kind: "429"; retryAfterSeconds: number }
  | { kind: "slow"; delayMs: number }
  | { kind: "watch-close"; afterMs: number }
  | { kind: "reset-before" | "reset-after" | "watch-error" };

/** The request facts a rule is matched on. */
export interface FaultRequest {
  method: string;
  path: string;
  /** The route template the server matched, when it routes by template. */
  route?: string;
  user: string | undefined;
  watch: boolean;
}

/** One injected fault, for tests to inspect. */
export interface InjectedFault extends FaultRequest {
  kind: FaultKind;
  status?: number;
}

/** mulberry32: a tiny, well-distributed 32-bit PRNG; the same seed gives the same sequence. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface RuleState {
  spec: FaultSpec;
  random: () => number;
  seen: number;
  injected: number;
}

function zeroCounts(): Record<FaultKind, number> {
  return Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
}

const WATCH_ONLY: ReadonlySet<FaultKind> = new Set(["watch-close", "watch-error"]);

/** Holds the rules and counts what they injected. */
export class FaultInjector {
  private rules: RuleState[] = [];
  /** Faults injected since the rules were last set, by kind. */
  counts: Record<FaultKind, number> = zeroCounts();
  /** Every fault injected since the rules were last set, in order. */
  readonly log: InjectedFault[] = [];

  constructor(specs?: FaultSpec | FaultSpec[]) {
    this.set(specs);
  }

  /** Replaces the rules (none: no faults), restarting their PRNGs and the counts. */
  set(specs: FaultSpec | FaultSpec[] | undefined): void {
    const list = specs === undefined ? [] : Array.isArray(specs) ? specs : [specs];
    for (const s of list) {
      if (s.rate !== undefined && !(s.rate >= 0 && s.rate <= 1)) {
        throw new Error(`fault rate must be within 0..1, got ${s.rate}`);
      }
      for (const k of s.kinds) {
        if (!FAULT_KINDS.includes(k)) throw new Error(`unknown fault kind "${k}"; use one of ${FAULT_KINDS}`);
      }
    }
    this.rules = list.map((spec) => ({ spec, random: mulberry32(spec.seed ?? 1), seen: 0, injected: 0 }));
    this.counts = zeroCounts();
    this.log.length = 0;
  }

  /** The fault for this request, if a rule matches and its draw says so. */
  draw(req: FaultRequest): FaultAction | undefined {
    for (const rule of this.rules) {
      const s = rule.spec;
      if (!matches(s, req)) continue;
      const candidates = s.kinds.filter((k) => req.watch || !WATCH_ONLY.has(k));
      if (candidates.length === 0) continue;
      rule.seen++;
      if (rule.seen <= (s.skip ?? 0)) return undefined;
      if (s.times !== undefined && rule.injected >= s.times) return undefined;
      const rate = s.rate ?? 1;
      if (rate < 1 && rule.random() >= rate) return undefined;
      const kind =
        candidates.length === 1 ? candidates[0]! : candidates[Math.floor(rule.random() * candidates.length)]!;
      const action = this.actionFor(kind, s, rule.random);
      rule.injected++;
      this.counts[kind]++;
      this.log.push({ ...req, kind, status: "status" in action ? action.status : undefined });
      return action;
    }
    return undefined;
  }

  private actionFor(kind: FaultKind, s: FaultSpec, random: () => number): FaultAction {
    switch (kind) {
      case "5xx": {
        const status = s.status ?? (random() < 0.5 ? 500 : 503);
        const retryAfter =
          s.retryAfterSeconds === undefined ? (random() < 0.5 ? 1 : null) : s.retryAfterSeconds;
        return retryAfter === null ? { kind, status } : { kind, status, retryAfterSeconds: retryAfter };
      }
      case "429":
        return { kind, retryAfterSeconds: 1 };
      case "slow":
        return { kind, delayMs: s.slowMs ?? 200 };
      case "watch-close":
        return { kind, afterMs: s.watchCloseAfterMs ?? 0 };
      default:
        return { kind };
    }
  }
}

function matches(s: FaultSpec, req: FaultRequest): boolean {
  const users = s.users ?? ["admin"];
  if (users !== "all" && (req.user === undefined || !users.includes(req.user))) return false;
  if (s.method !== undefined) {
    const methods = (Array.isArray(s.method) ? s.method : [s.method]).map((m) => m.toUpperCase());
    if (!methods.includes(req.method)) return false;
  }
  if (s.watch !== undefined && s.watch !== req.watch) return false;
  if (s.route !== undefined && s.route !== req.route) return false;
  if (s.path !== undefined) {
    const ok =
      typeof s.path === "string" ? req.path === s.path || req.path.startsWith(s.path) : s.path.test(req.path);
    if (!ok) return false;
  }
  return true;
}
