/**
 * metav1.Status bodies and field errors shaped exactly as a real kube-apiserver renders them, so that code
 * parsing `ApiException.body` behaves the same against this server as against a cluster.
 */

/** A resource's identity as it appears in error messages (`secrets "x"` / `statefulsets.apps "x"`). */
export interface GroupResource {
  group: string;
  resource: string;
}

/** A group and kind, as used in "is invalid" messages (`Secret "x"` / `StatefulSet.apps "x"`). */
export interface GroupKind {
  group: string;
  kind: string;
}

/** One entry of `details.causes`. */
export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

/** The JSON body of a metav1.Status. */
export interface StatusBody {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, never>;
  status: "Failure" | "Success";
  message?: string;
  reason?: string;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    uid?: string;
    causes?: StatusCause[];
    retryAfterSeconds?: number;
  };
  code: number;
}

/** Thrown anywhere inside the server; the HTTP layer turns it into a Status response. */
export class StatusError extends Error {
  constructor(
    public readonly status: StatusBody,
    public readonly headers: Record<string, string> = {},
  ) {
    super(status.message ?? status.reason ?? `HTTP ${status.code}`);
  }
  get code(): number {
    return this.status.code;
  }
}

function failure(code: number, reason: string | undefined, message: string, details?: StatusBody["details"]) {
  const body: StatusBody = {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    code,
  };
  if (reason) body.reason = reason;
  if (details) body.details = details;
  // Go's JSON field order puts code last; keep it so raw-body comparisons match.
  const { code: c, ...rest } = body;
  return new StatusError({ ...rest, code: c } as StatusBody);
}

/** `group.resource` or `resource` for the core group. */
export function qualifiedResource(gr: GroupResource): string {
  return gr.group ? `${gr.resource}.${gr.group}` : gr.resource;
}

function qualifiedKind(gk: GroupKind): string {
  return gk.group ? `${gk.kind}.${gk.group}` : gk.kind;
}

function grDetails(gr: GroupResource, name: string): NonNullable<StatusBody["details"]> {
  // Go's StatusDetails fields are omitempty.
  const d: NonNullable<StatusBody["details"]> = name ? { name } : {};
  if (gr.group) d.group = gr.group;
  d.kind = gr.resource;
  return d;
}

/** 404 NotFound: `secrets "x" not found`. */
export function notFound(gr: GroupResource, name: string): StatusError {
  return failure(404, "NotFound", `${qualifiedResource(gr)} "${name}" not found`, grDetails(gr, name));
}

/** 409 AlreadyExists. */
export function alreadyExists(gr: GroupResource, name: string): StatusError {
  return failure(
    409,
    "AlreadyExists",
    `${qualifiedResource(gr)} "${name}" already exists`,
    grDetails(gr, name),
  );
}

/** 409 Conflict: `Operation cannot be fulfilled on secrets "x": <why>`. */
export function conflict(gr: GroupResource, name: string, why: string): StatusError {
  return failure(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${qualifiedResource(gr)} "${name}": ${why}`,
    grDetails(gr, name),
  );
}

/** The message etcd's optimistic-concurrency failure produces. */
export const OBJECT_MODIFIED =
  "the object has been modified; please apply your changes to the latest version and try again";

/** 400 BadRequest with no details. */
export function badRequest(message: string): StatusError {
  return failure(400, "BadRequest", message);
}

/** 403 Forbidden: `secrets "x" is forbidden: <why>`. */
export function forbidden(gr: GroupResource, name: string, why: string): StatusError {
  const subject = name ? `${qualifiedResource(gr)} "${name}"` : qualifiedResource(gr);
  return failure(403, "Forbidden", `${subject} is forbidden: ${why}`, grDetails(gr, name));
}

/**
 * The 403 a denied request gets (`kubernetes/apiserver@v0.36.3
 * pkg/endpoints/handlers/responsewriters/errors.go:35-78` with apierrors.NewForbidden): `secrets "x" is
 * forbidden: User "u" cannot get resource "secrets" in API group "" in the namespace "ns"`, then `: <reason>`
 * when the authorizer gave one; `forbidden: User "u" cannot get path "/x"` for non-resource requests.
 */
export function forbiddenStatus(
  a: {
    user: { name: string };
    verb: string;
    resourceRequest: boolean;
    path: string;
    apiGroup: string;
    namespace: string;
    resource: string;
    subresource: string;
    name: string;
  },
  reason: string,
): StatusError {
  // The response writer escapes what could look like HTML; quotes stay.
  const sanitize = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const user = JSON.stringify(a.user.name);
  let msg: string;
  if (!a.resourceRequest) msg = `User ${user} cannot ${a.verb} path ${JSON.stringify(a.path)}`;
  else {
    const res = JSON.stringify(a.subresource ? `${a.resource}/${a.subresource}` : a.resource);
    const scope = a.namespace ? `in the namespace ${JSON.stringify(a.namespace)}` : "at the cluster scope";
    msg = `User ${user} cannot ${a.verb} resource ${res} in API group ${JSON.stringify(a.apiGroup)} ${scope}`;
  }
  const err = sanitize(msg) + (reason ? `: ${reason}` : "");
  const gr = { group: a.apiGroup, resource: a.resource };
  const subject =
    !gr.group && !gr.resource
      ? "forbidden"
      : `${qualifiedResource(gr)}${a.name ? ` ${JSON.stringify(a.name)}` : ""} is forbidden`;
  const details: NonNullable<StatusBody["details"]> = {};
  if (a.name) details.name = a.name;
  if (gr.group) details.group = gr.group;
  if (gr.resource) details.kind = gr.resource;
  const e = failure(403, "Forbidden", `${subject}: ${err}`, details);
  e.headers["X-Content-Type-Options"] = "nosniff";
  return e;
}

/** 405 MethodNotAllowed. */
export function methodNotSupported(gr: GroupResource, verb: string): StatusError {
  return failure(
    405,
    "MethodNotAllowed",
    `${verb} is not supported on resources of kind "${qualifiedResource(gr)}"`,
    {
      group: gr.group || undefined,
      kind: gr.resource,
    },
  );
}

/** 415 UnsupportedMediaType for PATCH content types the endpoint does not accept. */
export function unsupportedMediaType(contentType: string, accepted: string[]): StatusError {
  void contentType;
  return failure(
    415,
    "UnsupportedMediaType",
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(", ")}`,
  );
}

/** 401 Unauthorized, as the authentication filter writes it. */
export function unauthorized(): StatusError {
  return failure(401, "Unauthorized", "Unauthorized");
}

/** 410 Expired for a watch or list from a compacted resourceVersion. */
export function expired(message: string): StatusError {
  return failure(410, "Expired", message);
}

/** 500 InternalError without a reason, as the create handler answers a preset resourceVersion. */
export function internalNoReason(message: string): StatusError {
  return failure(500, undefined, message);
}

/** 500 InternalError. */
export function internalError(message: string): StatusError {
  return failure(500, "InternalError", `Internal error occurred: ${message}`, {
    causes: [{ message }],
  });
}

/** 422 with the generic message and empty details (failed JSON Patch `test`, for instance). */
export function genericInvalid(): StatusError {
  return failure(422, "Invalid", "the server rejected our request due to an error in our request", {});
}

/** A status with an arbitrary code, for fault injection. */
export function generic(code: number, message?: string, retryAfterSeconds?: number): StatusError {
  const reasons: Record<number, string> = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
  };
  const defaults: Record<number, string> = {
    429: "Too many requests, please try again later.",
    500: 'an error on the server ("") has prevented the request from succeeding',
    503: "the server is currently unable to handle the request",
    504: "the server was unable to return a response in the time allotted, but may still be processing the request",
  };
  const details: StatusBody["details"] | undefined =
    retryAfterSeconds !== undefined ? { retryAfterSeconds } : undefined;
  const err = failure(code, reasons[code], message ?? defaults[code] ?? `injected fault ${code}`, details);
  if (retryAfterSeconds !== undefined) err.headers["Retry-After"] = String(retryAfterSeconds);
  return err;
}

/** A single field error, as k8s.io/apimachinery/pkg/util/validation/field renders it. */
export interface FieldError {
  type:
    | "FieldValueNotFound"
    | "FieldValueRequired"
    | "FieldValueDuplicate"
    | "FieldValueInvalid"
    | "FieldValueNotSupported"
    | "FieldValueForbidden"
    | "FieldValueTooLong"
    | "FieldValueTooMany"
    | "FieldValueTypeInvalid";
  field: string;
  /** Text after the type label, without the field. */
  body: string;
}

/** Renders a bad value as the apiserver does since 1.33: strings quoted, numbers bare, others as JSON. */
export function formatValue(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (v === undefined || v === null) return "null";
  return JSON.stringify(v);
}

function withDetail(head: string, detail?: string): string {
  return detail ? `${head}: ${detail}` : head;
}

/** field.Invalid */
export function invalidField(field: string, value: unknown, detail?: string): FieldError {
  return {
    type: "FieldValueInvalid",
    field,
    body: withDetail(`Invalid value: ${formatValue(value)}`, detail),
  };
}
/** field.Required */
export function requiredField(field: string, detail?: string): FieldError {
  return { type: "FieldValueRequired", field, body: withDetail("Required value", detail) };
}
/** field.Forbidden */
export function forbiddenField(field: string, detail?: string): FieldError {
  return { type: "FieldValueForbidden", field, body: withDetail("Forbidden", detail) };
}
/** field.Duplicate */
export function duplicateField(field: string, value: unknown): FieldError {
  return { type: "FieldValueDuplicate", field, body: `Duplicate value: ${formatValue(value)}` };
}
/** field.NotFound */
export function notFoundField(field: string, value: unknown): FieldError {
  return { type: "FieldValueNotFound", field, body: `Not found: ${formatValue(value)}` };
}
/** field.NotSupported */
export function notSupportedField(field: string, value: unknown, supported: string[]): FieldError {
  return {
    type: "FieldValueNotSupported",
    field,
    body: `Unsupported value: ${formatValue(value)}: supported values: ${supported.map((s) => JSON.stringify(s)).join(", ")}`,
  };
}
/** field.TooLong (byte sizes). */
export function tooLongField(field: string, max: number): FieldError {
  return { type: "FieldValueTooLong", field, body: `Too long: must have at most ${max} bytes` };
}

/** 422 Invalid: `Secret "x" is invalid: <field>: <body>` or `[e1, e2]` for several errors. */
export function invalid(gk: GroupKind, name: string, errs: FieldError[]): StatusError {
  const parts = errs.map((e) => `${e.field}: ${e.body}`);
  const agg = parts.length === 1 ? parts[0] : `[${parts.join(", ")}]`;
  const details: NonNullable<StatusBody["details"]> = name ? { name } : {};
  if (gk.group) details.group = gk.group;
  details.kind = gk.kind;
  details.causes = errs.map((e) => ({ reason: e.type, message: e.body, field: e.field }));
  return failure(422, "Invalid", `${qualifiedKind(gk)} "${name}" is invalid: ${agg}`, details);
}
