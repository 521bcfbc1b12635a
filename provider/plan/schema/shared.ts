/**
 * Fields every kind declares alike (`customTimeouts`, `credentials`, `__provider`), and the parts of
 * `tags`, `proxyClass` and `plannedObjects` that are the same for every kind that has them; each kind
 * gives their effect.
 */
import { checkKnownKeys, type Push } from "../check";
import { type CustomTimeoutsInput, checkCustomTimeouts, parseGoDuration } from "../duration";
import { isPlainObject } from "../gojson";
import { type CredentialsInput, containsUnknown, type PlannedInputs } from "../inputs";
import { checkTags, DEFAULT_TAGS } from "../tags";
import type { Change, CheckContext, Effect, FieldSpec } from "./field";
import { checkProxyClass } from "./proxyClass";

/** Every key of the credentials input; unknown keys are refused (a misspelt credential is ignored otherwise). */
const CREDENTIAL_KEYS = {
  kubeconfig: true,
  kubeContext: true,
  tailscaleOauthClientId: true,
  tailscaleOauthClientSecret: true,
  tailscaleApiKey: true,
  tailscaleIdentityToken: true,
  tailscaleAudience: true,
  tailscaleTailnet: true,
  tailscaleBaseUrl: true,
} satisfies Record<keyof CredentialsInput, true>;

/** `credentials`: the keys only (the values are secrets and are never quoted). */
export function checkCredentials(v: unknown, at: string, push: Push): void {
  if (!isPlainObject(v)) return;
  checkKnownKeys(v, Object.keys(CREDENTIAL_KEYS), { at, what: "credentials", noun: "a field" }, push);
}

/** An empty list is what an absent value means (ProxyGroup state written before empty tags were refused). */
function emptyListIsAbsent(v: unknown): unknown {
  return Array.isArray(v) && v.length === 0 ? undefined : v;
}

/** `tags`, the same for every kind (plan/tags.ts); `change` says what a new set does to this kind. */
export function tagsField<I, E>(change: Change<E>) {
  return {
    default: [...DEFAULT_TAGS],
    normalize: emptyListIsAbsent,
    fill: "default",
    check: (v, c) => checkTags(v, c.at, c.push),
    change,
  } satisfies FieldSpec<string[] | undefined, I, E>;
}

/**
 * Validates a `proxyClass` input (schema/proxyClass.ts); `standalone`: of a standalone proxy, which
 * refuses the ProxyGroup-only fields.
 */
export function checkProxyClassField(v: unknown, c: CheckContext<unknown>, standalone = false): void {
  for (const f of checkProxyClass(v, c.at, standalone)) c.push(f.property, f.reason);
}

/**
 * Each step's parsed duration in seconds, so `"5m"` and `"300s"` are no change, and no value the same
 * as none.
 */
function timeoutsInSeconds(v: unknown): unknown {
  if (!isPlainObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [step, text] of Object.entries(v)) {
    if (text === undefined || text === null || text === "") continue;
    const parsed = typeof text === "string" ? parseGoDuration(text) : undefined;
    out[step] = parsed && "seconds" in parsed ? parsed.seconds : text;
  }
  return Object.keys(out).length ? out : undefined;
}

/**
 * `customTimeouts`: the resource option, copied into the inputs by the SDK because the host never gives
 * it to provider code (plan/duration.ts). A change is only recorded: create and update take their
 * budget from the new inputs anyway, but delete sees only the recorded outputs, so the value must reach
 * the state; the update that records it makes no API call (target `record`).
 */
export const customTimeoutsField = {
  origin: "sdk",
  normalize: timeoutsInSeconds,
  check: (v, c) => checkCustomTimeouts(v, c.at, c.push),
  change: {
    kind: "inPlace",
    target: "record",
    reason: "only how long the next create, update or delete may wait; recorded, nothing else is touched",
  },
} satisfies FieldSpec<CustomTimeoutsInput | undefined, any, Effect>;

export const credentialsField = {
  check: (v, c) => checkCredentials(v, c.at, c.push),
  change: {
    kind: "none",
    reason: "looked up at every call: rotating a credential must not touch what exists",
  },
} satisfies FieldSpec<CredentialsInput | undefined, any, Effect>;

/**
 * `resourceUrn`: the resource's own URN, sent by the SDK because the dynamic-provider host gives provider
 * code none; it names the resource in the progress lines of its waits (provider/progress.ts), nothing else.
 */
export const resourceUrnField = {
  origin: "sdk",
  check: (v, c) => {
    if (v !== undefined && v !== null && (typeof v !== "string" || !v.startsWith("urn:pulumi:")))
      c.push(c.at, "must be the resource's URN (urn:pulumi:…), which the pulumi-tailnet SDK sets");
  },
  change: {
    kind: "none",
    reason:
      "only names the resource in progress lines; a renamed stack or resource must not touch what exists",
  },
} satisfies FieldSpec<string | undefined, any, Effect>;

export const providerField = {
  origin: "host",
  change: { kind: "none", reason: "the provider code: upgrading pulumi-tailnet must not touch what exists" },
} satisfies FieldSpec<string | undefined, any, Effect>;

/** `plannedObjects`, recomputed by every check from the other inputs (which the diff compares). */
export function plannedObjectsField<I>(plan: (input: I) => PlannedInputs["plannedObjects"]) {
  return {
    origin: "check",
    fill: plan,
    change: { kind: "none", reason: "derived from the other inputs, which are compared themselves" },
  } satisfies FieldSpec<PlannedInputs["plannedObjects"], I, Effect>;
}

/**
 * Whether every input a plan reads is known: everything but the inputs no plan reads (credentials,
 * customTimeouts, resourceUrn, and plannedObjects itself).
 */
export function planInputsKnown(input: object): boolean {
  const {
    credentials: _c,
    customTimeouts: _t,
    resourceUrn: _u,
    plannedObjects: _p,
    ...rest
  } = input as Record<string, unknown>;
  return !containsUnknown(rest);
}

/**
 * The fields every kind that writes Kubernetes objects declares last, in this order: `resourceUrn`,
 * `customTimeouts`, `credentials`, `plannedObjects` (from `plan`) and `__provider`.
 */
export function lastFields<I>(plan: (input: I) => PlannedInputs["plannedObjects"]) {
  return {
    resourceUrn: resourceUrnField,
    customTimeouts: customTimeoutsField,
    credentials: credentialsField,
    plannedObjects: plannedObjectsField<I>(plan),
    __provider: providerField,
  };
}
