/**
 * Fields every kind declares alike (`timeoutSeconds`, `credentials`, `__provider`), and the parts of
 * `tags`, `proxyClass` and `plannedObjects` that are the same for every kind that has them; each kind
 * gives their effect.
 */
import { checkKnownKeys, checkTimeoutSeconds, type Push } from "../check";
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

/** Validates a `proxyClass` input (schema/proxyClass.ts). */
export function checkProxyClassField(v: unknown, c: CheckContext<unknown>): void {
  for (const f of checkProxyClass(v, c.at)) c.push(f.property, f.reason);
}

export const timeoutSecondsField = {
  origin: "sdk",
  check: (v, c) => checkTimeoutSeconds(v, c.at, c.push),
  change: { kind: "none", reason: "only how long a create or update may wait" },
} satisfies FieldSpec<number | undefined, any, Effect>;

export const credentialsField = {
  check: (v, c) => checkCredentials(v, c.at, c.push),
  change: {
    kind: "none",
    reason: "looked up at every call: rotating a credential must not touch what exists",
  },
} satisfies FieldSpec<CredentialsInput | undefined, any, Effect>;

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
 * timeoutSeconds, and plannedObjects itself).
 */
export function planInputsKnown(input: object): boolean {
  const {
    credentials: _c,
    timeoutSeconds: _t,
    plannedObjects: _p,
    ...rest
  } = input as Record<string, unknown>;
  return !containsUnknown(rest);
}

/**
 * The fields every kind that writes Kubernetes objects declares last, in this order: `timeoutSeconds`,
 * `credentials`, `plannedObjects` (from `plan`) and `__provider`.
 */
export function lastFields<I>(plan: (input: I) => PlannedInputs["plannedObjects"]) {
  return {
    timeoutSeconds: timeoutSecondsField,
    credentials: credentialsField,
    plannedObjects: plannedObjectsField<I>(plan),
    __provider: providerField,
  };
}
