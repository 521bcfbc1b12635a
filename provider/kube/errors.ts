/**
 * Errors of the Kubernetes side. Each says which object and operation failed, what the API server
 * answered, and what to do. Secret values of the object involved are redacted from server text.
 */
import { type CredentialSource, rejectedCredentialHint } from "../credentialSource";
import { describeRef, type ObjectRef } from "./types";

/** Operations of the Kube class, named by the Kubernetes verb they use. */
export type KubeVerb = "get" | "list" | "watch" | "create" | "update" | "patch" | "delete";

/** One entry of a 422's `details.causes`. */
export interface KubeStatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

/** The parts of a `metav1.Status` we use. */
export interface KubeStatus {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; group?: string; kind?: string; causes?: KubeStatusCause[] };
}

/** Constructor arguments of {@link KubeApiError}. */
export interface KubeApiErrorInit {
  /** HTTP status; 0 or undefined when no response arrived. */
  code?: number;
  reason: string;
  verb: KubeVerb;
  ref: ObjectRef;
  serverMessage: string;
  hint: string;
  causes?: KubeStatusCause[];
  cause?: unknown;
  /** Requests sent for this call, retries included. Default 1. */
  attempts?: number;
  /** Time from the first attempt to the last failure, when retried. */
  elapsedMs?: number;
  /** Why the retries stopped, when retried. */
  gaveUp?: string;
}

/**
 * A failed Kubernetes API call. `code` is the HTTP status, absent when no response arrived (never 0:
 * the dynamic-provider host hands delete and read errors to grpc-js as they are,
 * `pulumi/pulumi@v3.248.0 sdk/nodejs/cmd/dynamic-provider/index.ts:297, 343`, and grpc-js takes an
 * integer `code` as the gRPC status, `grpc/grpc-node@07ee52ac packages/grpc-js/src/server-call.ts`
 * serverErrorToStatus; 0 is OK, and the message is lost). `reason` is the
 * Status reason (`NotFound`, `AlreadyExists`, `Conflict`, `Invalid`, `Forbidden`, …, or
 * `ConnectionError`), `object` the object it was about (`Secret ns/name`), `attempts` how many
 * requests were sent.
 */
export class KubeApiError extends Error {
  readonly code?: number;
  readonly reason: string;
  readonly object: string;
  readonly verb: KubeVerb;
  readonly causes: KubeStatusCause[];
  readonly serverMessage: string;
  readonly attempts: number;

  constructor(init: KubeApiErrorInit) {
    const object = describeRef(init.ref);
    const code = init.code ? init.code : undefined;
    const got = code === undefined ? "no response" : `${code} ${init.reason}`;
    const attempts = init.attempts ?? 1;
    const over = init.elapsedMs === undefined ? "" : ` over ${formatDuration(init.elapsedMs)}`;
    const tries =
      attempts > 1 ? ` after ${attempts} attempts${over}${init.gaveUp ? ` (${init.gaveUp})` : ""}` : "";
    super(
      `Kubernetes ${init.verb} of ${object} failed (${got})${tries}: ${init.serverMessage.replace(/\.$/, "")}. What to do: ${init.hint}`,
      {
        cause: init.cause,
      },
    );
    this.name = "KubeApiError";
    if (code !== undefined) this.code = code;
    this.attempts = attempts;
    this.reason = init.reason;
    this.object = object;
    this.verb = init.verb;
    this.causes = init.causes ?? [];
    this.serverMessage = init.serverMessage;
  }
}

/** An object exists under our name but belongs to someone else; we refuse to overwrite it. */
export class KubeOwnershipError extends Error {
  readonly object: string;
  readonly currentOwner: string | undefined;
  readonly wantedOwner: string;

  constructor(ref: ObjectRef, currentOwner: string | undefined, wantedOwner: string, ownerKey: string) {
    const object = describeRef(ref);
    const who =
      currentOwner === undefined
        ? `is not managed by pulumi-tailnet (no ${ownerKey} annotation)`
        : `belongs to "${currentOwner}" (annotation ${ownerKey})`;
    super(
      `${object} already exists and ${who}, not to "${wantedOwner}": refusing to overwrite it. ` +
        "Give one of the resources another name (hostname or name input), or delete the object if its owner is gone.",
    );
    this.name = "KubeOwnershipError";
    this.object = object;
    this.currentOwner = currentOwner;
    this.wantedOwner = wantedOwner;
  }
}

/** A wait ran out of time; the message says what was awaited and what was last seen. */
export class KubeWaitTimeoutError extends Error {
  readonly object: string;
  readonly lastSeen: string;

  constructor(ref: ObjectRef, description: string, timeoutMs: number, lastSeen: string) {
    const object = describeRef(ref);
    super(
      `Timed out after ${formatDuration(timeoutMs)} waiting for ${description} (${object}); last seen: ${lastSeen}. ` +
        "Check the object and its events (kubectl describe), or raise the resource's customTimeouts.",
    );
    this.name = "KubeWaitTimeoutError";
    this.object = object;
    this.lastSeen = lastSeen;
  }
}

function formatDuration(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10}s` : `${ms}ms`;
}

/** Parses the Status body of an ApiException; client-node 1.4 hands it over as a raw JSON string. */
export function parseStatus(body: unknown): KubeStatus | undefined {
  if (typeof body === "string") {
    try {
      const parsed = JSON.parse(body) as unknown;
      return typeof parsed === "object" && parsed !== null ? (parsed as KubeStatus) : { message: body };
    } catch {
      return body.trim() === "" ? undefined : { message: body.trim().slice(0, 300) };
    }
  }
  if (typeof body === "object" && body !== null) return body as KubeStatus;
  return undefined;
}

const REASON_BY_CODE: Record<number, string> = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  405: "MethodNotAllowed",
  409: "Conflict",
  410: "Gone",
  415: "UnsupportedMediaType",
  422: "Invalid",
  429: "TooManyRequests",
  500: "InternalError",
  502: "BadGateway",
  503: "ServiceUnavailable",
  504: "Timeout",
};

/** Context of a failed call, used for the hint. */
export interface FailureContext {
  verb: KubeVerb;
  ref: ObjectRef;
  /** Plural resource name, e.g. `secrets`, when known from discovery. */
  resource?: string;
  /** API group (`""` for core). */
  group?: string;
  /** Cluster URL, for connection errors. */
  server?: string;
  /** Where the kubeconfig came from, for a 401's hint. */
  credentialSource?: CredentialSource;
  /** Secret values to keep out of the message. */
  secrets?: string[];
  /** How the retries went, when the call was retried or deliberately not retried. */
  retry?: { attempts: number; elapsedMs: number; why: string; ambiguous?: boolean };
}

/** Whether an error is client-node's ApiException (duck-typed: the class lives in the ESM module). */
export function isApiException(err: unknown): err is { code: number; body: unknown; message: string } {
  return (
    typeof err === "object" &&
    err !== null &&
    typeof (err as { code?: unknown }).code === "number" &&
    "body" in (err as object)
  );
}

/** Turns any error from client-node into a {@link KubeApiError} with a hint. */
export function toKubeApiError(err: unknown, ctx: FailureContext): KubeApiError {
  if (err instanceof KubeApiError) return err;
  const attempts = ctx.retry?.attempts;
  const retried = ctx.retry !== undefined && ctx.retry.attempts > 1;
  const elapsedMs = retried ? ctx.retry?.elapsedMs : undefined;
  const gaveUp = retried ? ctx.retry?.why : undefined;
  // A write whose answer was lost and that was not repeated: say so, since it may have happened.
  const ambiguous = ctx.retry?.ambiguous
    ? `${ctx.retry.why}: check the object (kubectl get) before running the deployment again`
    : undefined;
  if (isApiException(err) && err.code > 0) {
    const status = parseStatus(err.body);
    const code = err.code;
    const reason = status?.reason || REASON_BY_CODE[code] || "Unknown";
    const serverMessage = redact(status?.message ?? `HTTP ${code}`, ctx.secrets);
    const causes = (status?.details?.causes ?? []).map((c) => ({
      ...c,
      message: c.message === undefined ? undefined : redact(c.message, ctx.secrets),
    }));
    return new KubeApiError({
      code,
      reason,
      verb: ctx.verb,
      ref: ctx.ref,
      serverMessage,
      causes,
      hint: ambiguous ?? hintFor(code, reason, status, causes, ctx),
      cause: undefined,
      attempts,
      elapsedMs,
      gaveUp,
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  const unknownKind = /Unrecognized API version and kind/.test(message);
  const reachable = `check that the cluster${ctx.server ? ` at ${ctx.server}` : ""} is reachable with the kubeconfig in use (kubernetes:kubeconfig / KUBECONFIG)`;
  return new KubeApiError({
    reason: unknownKind ? "UnknownKind" : "ConnectionError",
    verb: ctx.verb,
    ref: ctx.ref,
    serverMessage: redact(message, ctx.secrets),
    hint: unknownKind
      ? `the cluster does not serve ${ctx.ref.kind} in ${ctx.ref.apiVersion}; check the cluster version`
      : (ambiguous ?? (retried ? `${reachable}, then run the deployment again` : reachable)),
    cause: err,
    attempts,
    elapsedMs,
    gaveUp,
  });
}

function hintFor(
  code: number,
  reason: string,
  status: KubeStatus | undefined,
  causes: KubeStatusCause[],
  ctx: FailureContext,
): string {
  const resource = status?.details?.kind ?? ctx.resource ?? `${ctx.ref.kind.toLowerCase()}s`;
  const group = ctx.group ?? (ctx.ref.apiVersion.includes("/") ? ctx.ref.apiVersion.split("/")[0] : "");
  const ns = ctx.ref.namespace;
  switch (code) {
    case 401:
      return rejectedCredentialHint(ctx.credentialSource, {
        what: "the cluster rejected the kubeconfig's credentials (e.g. an expired or revoked token)",
        configKeys: "kubernetes:kubeconfig / kubernetes:context",
        otherwise: "refresh them in KUBECONFIG (or kubernetes:kubeconfig)",
      });
    case 403: {
      const res = group ? `${resource}.${group}` : resource;
      const where = ns ? ` in namespace "${ns}"` : "";
      if (/attempting to grant RBAC permissions not currently held/.test(status?.message ?? "")) {
        // The RBAC escalation check: the permission is held, but not the ones the object grants.
        return (
          `Kubernetes lets an identity write a ${ctx.ref.kind} only if it already holds every permission the ${ctx.ref.kind} grants; ` +
          `grant the kubeconfig's identity the permissions listed above${where} (deploy/deployer-rbac.yaml lists what pulumi-tailnet needs)`
        );
      }
      return (
        `the kubeconfig's identity lacks the "${ctx.verb}" permission on ${res}${where}: grant it through a ` +
        `Role/ClusterRole binding (check with: kubectl auth can-i ${ctx.verb} ${res}${ns ? ` -n ${ns}` : ""})`
      );
    }
    case 404:
      if (
        status?.details?.kind === "namespaces" ||
        /namespaces? "[^"]*" not found/.test(status?.message ?? "")
      ) {
        const name = status?.details?.name ?? ns;
        return `namespace "${name}" does not exist: create it, or set the resource's \`namespace\` input to an existing one`;
      }
      return ctx.verb === "get" || ctx.verb === "delete"
        ? "the object does not exist"
        : "the object was deleted while being updated; run `pulumi refresh` and retry";
    case 409:
      return reason === "AlreadyExists"
        ? "an object with this name already exists; delete it or choose another name"
        : "the object was modified concurrently; retry the operation";
    case 410:
      return "the watched version expired; retry";
    case 415:
    case 400:
      return "the request was malformed; this is a bug in pulumi-tailnet, please report it with this message";
    case 422: {
      const list = causes.map((c) => `${c.field ?? "?"}: ${c.message ?? c.reason ?? "invalid"}`).join("; ");
      return `the API server rejected the object${list ? ` (${list})` : ""}; fix the resource inputs behind these fields, or change an immutable field by replacing the resource`;
    }
    case 429:
    case 500:
    case 502:
    case 503:
    case 504:
      return (
        "the API server is overloaded or failing: check its health (kubectl get --raw='/readyz?verbose') " +
        "and its priority-and-fairness limits, then run the deployment again"
      );
    default:
      return "see the API server's message";
  }
}

/** Removes secret values and anything shaped like a Tailscale key from text. */
export function redact(text: string, secrets: string[] = []): string {
  let out = text;
  for (const s of secrets) {
    if (s.length >= 4) out = out.split(s).join("[redacted]");
  }
  return out.replace(/tskey-[A-Za-z0-9_-]+/g, "tskey-[redacted]");
}
