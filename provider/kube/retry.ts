/**
 * Retry policy of the Kubernetes side. client-node 1.4 has none (its only retry loop restarts a
 * WebSocket's stdin, `kubernetes-client/javascript@1.4.0 src/web-socket-handler.ts:112-130`), so one
 * 429 or a dropped connection used to fail a whole deployment; kubectl, helm and @pulumi/kubernetes
 * (client-go) ride those out. Every request of {@link Kube} goes through {@link retrying}; watches
 * and exec upgrades, which are not one request and one answer, ask {@link decideRetry} directly.
 * {@link decideRetry} is the whole decision, pure so that its table is testable. Backoff is
 * exponential with jitter (provider/retry.ts, shared with the Tailscale client).
 *
 * | failure                                  | GET, repeatable writes          | other writes            |
 * | ---------------------------------------- | ------------------------------- | ----------------------- |
 * | 429                                      | after Retry-After, else backoff | same (nothing was done) |
 * | any 5xx with Retry-After                 | after Retry-After               | 503 only                |
 * | 500, 502, 503, 504 without Retry-After   | backoff                         | no (may have acted)     |
 * | other status (4xx, 501, …)               | no                              | no                      |
 * | connection refused (never reached)       | backoff                         | backoff                 |
 * | reset, EOF, broken pipe (answer lost)    | backoff                         | no (may have acted)     |
 * | anything else (TLS, DNS, bad kubeconfig) | no                              | no                      |
 *
 * Bounds: at most {@link RetryPolicy.maxRetries} retries (10, as client-go's default,
 * `kubernetes/client-go@v0.36.3 rest/request.go:166, 482-491`), and no wait that would end past
 * {@link RetryPolicy.maxElapsedMs} after the first attempt started.
 *
 * "Repeatable" writes are those whose outcome {@link Kube} checks when an earlier answer was lost
 * (see `maybeApplied`): a create by name (a 409 AlreadyExists is then resolved by reading the object
 * back), a PUT carrying resourceVersion (a 409 Conflict is compared against what we wrote), a merge
 * patch (applying it twice gives the same object) and a delete (a 404 is then success). A create with
 * generateName is not: repeating it would make a second object.
 */
import { backoffMs, parseRetryAfter } from "../retry";
import { KubeApiError } from "./errors";

/** HTTP methods of the requests Kube sends. */
export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** Bounds and pacing of retries. */
export interface RetryPolicy {
  /** Retries after the first attempt. Default 10, client-go's default maxRetries. */
  maxRetries: number;
  /** No retry is scheduled to start later than this after the first attempt. Default 60 000 ms. */
  maxElapsedMs: number;
  /** First backoff when the server gave no Retry-After. Default 200 ms, doubled per retry. */
  initialBackoffMs: number;
  /** Cap of one backoff. Default 5 000 ms. */
  maxBackoffMs: number;
}

/** The default policy. */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxRetries: 10,
  maxElapsedMs: 60_000,
  initialBackoffMs: 200,
  maxBackoffMs: 5_000,
});

/** What is known about one failed attempt. */
export interface AttemptFailure {
  /** HTTP status; undefined when no response arrived. */
  status?: number;
  /** The Retry-After header, when the response had one. */
  retryAfter?: string;
  /** Node's error code when no response arrived (ECONNRESET, ECONNREFUSED, …). */
  errorCode?: string;
}

/** Input of {@link decideRetry}. */
export interface RetryQuestion extends AttemptFailure {
  method: HttpMethod;
  /** For writes: whether an ambiguous failure can be retried because its outcome is checked (see above). */
  repeatable: boolean;
  /** Attempts made so far, the failed one included (1 after the first failure). */
  attempt: number;
  /** Milliseconds since the first attempt started. */
  elapsedMs: number;
  /** Clock for an HTTP-date Retry-After. Default Date.now(). */
  nowMs?: number;
}

/** Output of {@link decideRetry}: wait `delayMs` and send again, or stop; `why` is for messages. */
export type RetryDecision =
  | { retry: true; delayMs: number; why: string }
  /** `ambiguous`: a write that may have been applied was not repeated (its outcome is unknown). */
  | { retry: false; why: string; ambiguous?: true };

// The request never reached the server: repeating it is safe for any method.
const NOT_SENT = new Set(["ECONNREFUSED", "EAI_AGAIN"]);
// The connection broke after the request may have been received: the answer is lost, the server may
// have acted. client-go retries GETs on these (connection reset, probable EOF, lost HTTP/2 connection;
// `kubernetes/client-go@v0.36.3 rest/request.go:1064-1076`). node-fetch reports "socket hang up" as
// ECONNRESET and a body cut short as ERR_STREAM_PREMATURE_CLOSE.
const ANSWER_LOST = new Set([
  "ECONNRESET",
  "EPIPE",
  "ECONNABORTED",
  "ETIMEDOUT",
  "ERR_STREAM_PREMATURE_CLOSE",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
]);
// 5xx retried without Retry-After. client-go retries a 5xx only when it carries Retry-After
// (`kubernetes/client-go@v0.36.3 rest/with_retry.go:307-318`, checkWait). We go further because the
// product's contract is that transient failures are ridden out: a 500 from an etcd leader election,
// a 502/504 from a load balancer in front of the API server, a 503 during an API server rollout
// often come without Retry-After and pass within seconds. 501 and 505 are permanent.
const TRANSIENT_5XX = new Set([500, 502, 503, 504]);

/** Decides whether one failed attempt is retried, and after how long. Pure except for `random`. */
export function decideRetry(
  q: RetryQuestion,
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
  random: () => number = Math.random,
): RetryDecision {
  const safeToRepeat = q.method === "GET" || q.repeatable;
  const backoff = () => backoffMs(q.attempt, policy.initialBackoffMs, policy.maxBackoffMs, random);
  let delayMs: number;
  let why: string;
  if (q.status !== undefined) {
    const retryAfterMs = parseRetryAfter(q.retryAfter, q.nowMs ?? Date.now());
    if (q.status === 429) {
      // The server refused before acting (API Priority and Fairness, max-in-flight): any method.
      delayMs = retryAfterMs ?? backoff();
      why = "429 Too Many Requests";
    } else if (q.status >= 500 && retryAfterMs !== undefined && (safeToRepeat || q.status === 503)) {
      // client-go retries any 5xx carrying Retry-After (checkWait). For a write we cannot check, only
      // 503 says the server did not act (provider/tailscale/client.ts draws the same line).
      delayMs = retryAfterMs;
      why = `${q.status} with Retry-After`;
    } else if (TRANSIENT_5XX.has(q.status)) {
      if (!safeToRepeat) {
        return {
          retry: false,
          why: `a ${q.method} answered ${q.status} may have been applied, and its outcome cannot be checked`,
          ambiguous: true,
        };
      }
      delayMs = backoff();
      why = `${q.status}`;
    } else {
      return { retry: false, why: `${q.status} is not a transient failure` };
    }
  } else if (q.errorCode !== undefined && NOT_SENT.has(q.errorCode)) {
    delayMs = backoff();
    why = q.errorCode;
  } else if (q.errorCode !== undefined && ANSWER_LOST.has(q.errorCode)) {
    if (!safeToRepeat) {
      return {
        retry: false,
        why: `the connection broke (${q.errorCode}) after the ${q.method} was sent, so it may have been applied, and its outcome cannot be checked`,
        ambiguous: true,
      };
    }
    delayMs = backoff();
    why = q.errorCode;
  } else {
    return { retry: false, why: `${q.errorCode ?? "this error"} is not a transient failure` };
  }
  if (q.attempt > policy.maxRetries) {
    return { retry: false, why: `${why}; the limit of ${policy.maxRetries} retries is reached` };
  }
  if (q.elapsedMs + delayMs > policy.maxElapsedMs) {
    return {
      retry: false,
      why: `${why}; waiting ${formatMs(delayMs)} more would pass the ${formatMs(policy.maxElapsedMs)} retry budget`,
    };
  }
  return { retry: true, delayMs, why };
}

/** Status, Retry-After and error code of whatever client-node threw. */
export function failureOf(err: unknown): AttemptFailure | undefined {
  // Already the end of a (retried) request, e.g. a read-back inside a write: never retried again.
  if (typeof err !== "object" || err === null || err instanceof KubeApiError) return undefined;
  const e = err as {
    code?: unknown;
    body?: unknown;
    statusCode?: unknown;
    headers?: Record<string, string>;
    cause?: { code?: unknown };
  };
  // client-node's ApiException: the HTTP status in `code`, response headers in `headers`.
  if (typeof e.code === "number" && e.code > 0 && "body" in e) {
    const retryAfter = e.headers?.["retry-after"] ?? e.headers?.["Retry-After"];
    return retryAfter === undefined ? { status: e.code } : { status: e.code, retryAfter };
  }
  // client-node's Watch: an Error with `statusCode` (headers are not kept).
  if (typeof e.statusCode === "number" && e.statusCode > 0) return { status: e.statusCode };
  // node-fetch's FetchError and Node's socket errors: a string code, sometimes on the cause.
  if (typeof e.code === "string") return { errorCode: e.code };
  if (typeof e.cause?.code === "string") return { errorCode: e.cause.code };
  return undefined;
}

/** What a send function is told about earlier attempts. */
export interface AttemptContext {
  /** 1 for the first attempt. */
  attempt: number;
  /**
   * An earlier attempt of this write failed after it was sent without an answer (connection broke,
   * or a 5xx), so the server may have applied it: the send function must check a 409/404 against
   * that possibility.
   */
  maybeApplied: boolean;
}

/** Thrown by {@link retrying} when it stops: the last error, how many attempts, and why it stopped. */
export class RetriesExhausted extends Error {
  constructor(
    readonly lastError: unknown,
    readonly attempts: number,
    readonly elapsedMs: number,
    readonly why: string,
    /** The last attempt was a write that may have been applied. */
    readonly ambiguous: boolean,
  ) {
    super(`gave up after ${attempts} attempts: ${why}`);
    this.name = "RetriesExhausted";
  }
}

/** Clock, sleep and jitter of the loop; injectable for tests. */
export interface RetryEnvironment {
  policy: RetryPolicy;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Called before each wait, e.g. to count retries. */
  onRetry?: (decision: { delayMs: number; why: string }, attempt: number) => void;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Sends a request until it succeeds or {@link decideRetry} says stop. Errors that are not request
 * failures (see {@link failureOf}) are rethrown at once, unchanged; request failures that are not
 * retried end in {@link RetriesExhausted} holding the last error.
 */
export async function retrying<T>(
  call: { method: HttpMethod; repeatable: boolean },
  send: (ctx: AttemptContext) => Promise<T>,
  env: RetryEnvironment,
): Promise<T> {
  const now = env.now ?? Date.now;
  const sleep = env.sleep ?? defaultSleep;
  const started = now();
  let maybeApplied = false;
  for (let attempt = 1; ; attempt++) {
    try {
      return await send({ attempt, maybeApplied });
    } catch (err) {
      const failure = failureOf(err);
      if (!failure) throw err;
      const decision = decideRetry(
        { ...failure, method: call.method, repeatable: call.repeatable, attempt, elapsedMs: now() - started },
        env.policy,
        env.random,
      );
      if (!decision.retry) {
        throw new RetriesExhausted(err, attempt, now() - started, decision.why, decision.ambiguous === true);
      }
      if (call.method !== "GET" && mayHaveActed(failure)) maybeApplied = true;
      env.onRetry?.(decision, attempt);
      await sleep(decision.delayMs);
    }
  }
}

/** Whether the server may have acted on a request that failed this way. */
function mayHaveActed(f: AttemptFailure): boolean {
  if (f.status !== undefined) return f.status >= 500;
  return f.errorCode === undefined || !NOT_SENT.has(f.errorCode);
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10}s` : `${ms}ms`;
}
