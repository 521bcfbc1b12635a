/**
 * The shape of a kind's declaration, and what is derived from it.
 *
 * Every kind (TailnetService, TailnetIngress, ProxyGroup, CertificateBudget) declares each of its
 * inputs once, in `schema/<kind>.ts`: who sets it, its default, its validation, and how a change to it
 * is applied (its {@link Effect}). The declaration is typed `Fields<Input>`, a record over every key of
 * the kind's input type, so an input added to plan/inputs.ts without a declaration does not compile.
 * From it:
 * - `check` refuses keys the declaration does not know ({@link checkInputs}), runs the fields'
 *   validators in declaration order, and fills the defaults a preview shows ({@link withDefaults});
 * - `diff` compares the declared fields, each normalised by its default ({@link changedFields}), and
 *   classifies a change by the field's effect (plan/diff.ts, with the kind's named special rules);
 * - `read` (refresh) reports the declared inputs back ({@link refreshedInputs});
 * - the outputs every response carries are the kind's `outputs` (plan/outputs.ts lists them, and
 *   tests/package/sdk-provider-types.ts ties them to the SDK classes).
 * Pure.
 */
import { type CheckFailure, checkKnownKeys, failureList, type Push } from "../check";
import { canonicalJson, isPlainObject } from "../gojson";
import { containsUnknown, isUnknown } from "../inputs";

/** What an in-place change rewrites: the test of each declared in-place field checks exactly this. */
export type Target =
  /** The StatefulSet of the standalone proxy or of the ProxyGroup: its Pods roll. */
  | "statefulSet"
  /** Standalone: the Secret key `serve-config` (tailscaled reloads it); HA: the entry in the ProxyGroup's `serve-config.json`. */
  | "serveConfig"
  /** HA TailnetService: its DNAT entry in the ProxyGroup's `ingress-config.json`. */
  | "dnatConfig"
  /** HA: the Tailscale Service (its tags, ports or owners). */
  | "tailscaleService"
  /** ProxyGroup: the replicas' tailscaled config Secrets. */
  | "replicaConfig"
  /** The labels and annotations of every object. */
  | "metadata"
  /** Nothing outside Pulumi's state: the value is recorded, and later steps use it. */
  | "state"
  /**
   * Nothing at all: the value is only recorded in Pulumi's state, and an update whose every change has
   * this target makes no API call, not even a read (resources/lifecycle.ts `recordOnly`).
   */
  | "record";

/** Why a change is classified as it is; a function of the normalised old and new values when it depends on them. */
export type Reason = string | ((old: unknown, now: unknown) => string);

/** How a change to one field is applied. */
export type Effect =
  /** Updated in place: `target` is rewritten. */
  | { kind: "inPlace"; target: Target; reason: Reason }
  /** The resource is replaced (the kind's ordering rule decides whether the new one is made first). */
  | { kind: "replace"; reason: Reason }
  /** Refused by check in this mode, so there is never a change to apply. */
  | { kind: "refused"; reason: string }
  /** Never compared: changing it causes no diff. */
  | { kind: "none"; reason: string };

/** An effect, or one per mode of a TailnetService or TailnetIngress: its own proxy, or a ProxyGroup. */
export type Change<E> = E | { standalone: E; ha: E };

/**
 * Who sets a field: the program (an argument of the SDK class, the default), the SDK itself (`ownerId`,
 * `customTimeouts`), `check` (derived from the other inputs; recomputed at every check), or the
 * dynamic-provider host (`__provider`).
 */
export type Origin = "argument" | "sdk" | "check" | "host";

/** What a field's validator is given besides the value. */
export interface CheckContext<I> {
  /** The property path of the value (the field's key). */
  at: string;
  /** Every input, as received (validated by nobody yet). */
  input: I;
  push: Push;
}

/** The declaration of one input. */
export interface FieldSpec<V, I, E = Effect> {
  /** Default `argument`. */
  origin?: Origin;
  /** What an absent value means; a value equal to it is no change. */
  default?: Exclude<V, undefined>;
  /** Applied before the default, for values that mean the default (e.g. an empty list in old state). */
  normalize?: (v: unknown) => unknown;
  /**
   * What check writes into the inputs, so a preview shows it: the default, or a value derived from the
   * other inputs. Fields are filled in declaration order, each seeing the ones before. For fields set
   * by check (`origin: "check"`) it is computed every time; for the others only when absent.
   */
  fill?: "default" | ((input: I) => V | undefined);
  /**
   * Validates the value (which may be anything, or absent); not called when the value is the preview
   * unknown sentinel.
   */
  check?: (value: unknown, c: CheckContext<I>) => void;
  /**
   * Kept as recorded: once the resource exists, check keeps the value of its recorded inputs and ignores
   * a new one. For identities derived from the Pulumi resource's name (`ownerId`), which a rename, an
   * `aliases` option or `pulumi stack rename` would otherwise change, replacing the resource for nothing.
   * A replacement's second Check has no recorded inputs, so the new resource takes the new value.
   */
  recorded?: true;
  /** How a change is applied. */
  change: Change<E>;
}

/** The declaration of every input of a kind: a field for each key of `I`. */
export type Fields<I, E = Effect> = { readonly [K in keyof Required<I>]: FieldSpec<I[K], I, E> };

/** A kind's declaration. */
export interface KindSchema<I, E = Effect> {
  /** The resource kind, as the SDK names it. */
  kind: string;
  fields: Fields<I, E>;
  /** Every output the SDK class declares. */
  outputs: readonly string[];
}

type AnyFields = Readonly<Record<string, FieldSpec<any, any, any>>>;
type AnySchema = { kind: string; fields: AnyFields; outputs: readonly string[] };

/** The field keys of a declaration, in declaration order. */
export function fieldKeys(schema: AnySchema): string[] {
  return Object.keys(schema.fields);
}

/** The keys a program sets: the arguments of the kind's SDK class. */
export function argumentKeys(schema: AnySchema): string[] {
  return fieldKeys(schema).filter((k) => (schema.fields[k]!.origin ?? "argument") === "argument");
}

/**
 * Validates `news`: keys the declaration does not know first (the reason lists the arguments a
 * program can set), then each field's validator in declaration order. An empty list means valid.
 */
export function checkInputs(schema: AnySchema, news: unknown): CheckFailure[] {
  if (!isPlainObject(news)) return [{ property: "", reason: "inputs must be an object" }];
  const { failures, push } = failureList();
  const unknown = Object.fromEntries(Object.entries(news).filter(([k]) => !(k in schema.fields)));
  checkKnownKeys(unknown, argumentKeys(schema), { at: "", what: schema.kind, noun: "an input" }, push);
  for (const [key, spec] of Object.entries(schema.fields)) {
    if (!spec.check || isUnknown(news[key])) continue;
    spec.check(news[key], { at: key, input: news, push });
  }
  return failures;
}

/**
 * `news` with every `recorded` field (see {@link FieldSpec.recorded}) set to the value in `olds`, the
 * resource's recorded inputs, when it has one.
 */
export function keepRecorded<I extends object>(schema: AnySchema, olds: unknown, news: I): I {
  if (!isPlainObject(olds) || !isPlainObject(news)) return news;
  let out: Record<string, unknown> | undefined;
  for (const [key, spec] of Object.entries(schema.fields)) {
    const recorded = olds[key];
    if (!spec.recorded || recorded === undefined || recorded === null || isUnknown(recorded)) continue;
    out ??= { ...(news as Record<string, unknown>) };
    out[key] = recorded;
  }
  return (out ?? news) as I;
}

/** `news` with every field's fill applied (see {@link FieldSpec.fill}); `news` itself is not changed. */
export function withDefaults<I extends object>(schema: AnySchema, news: I): I {
  const out: Record<string, unknown> = { ...(news as Record<string, unknown>) };
  for (const [key, spec] of Object.entries(schema.fields)) {
    if (!spec.fill) continue;
    if (spec.origin !== "check" && out[key] !== undefined && out[key] !== null) continue;
    const value = spec.fill === "default" ? structuredClone(spec.default) : spec.fill(out);
    if (value !== undefined) out[key] = value;
    else if (spec.origin === "check") delete out[key];
  }
  return out as I;
}

/** The inputs a refresh reports back: every declared input the state holds, except the host's. */
export function refreshedInputs(schema: AnySchema, props: Record<string, unknown>): Record<string, unknown> {
  const inputs: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(schema.fields)) {
    if (spec.origin !== "host" && props[key] !== undefined) inputs[key] = props[key];
  }
  return inputs;
}

/** The value a diff compares: normalised, and the default when absent. */
export function normalizedValue(spec: FieldSpec<any, any, any>, v: unknown): unknown {
  const n = spec.normalize ? spec.normalize(v) : v;
  return n === undefined || n === null ? spec.default : n;
}

/** The effect of a change in one mode (`ha`: the new inputs are served by a ProxyGroup). */
export function effectIn<E>(change: Change<E>, ha: boolean): E {
  if (typeof change === "object" && change !== null && "standalone" in change) {
    return ha ? change.ha : change.standalone;
  }
  return change as E;
}

/** The text of a reason for the given normalised values. */
export function reasonText(reason: Reason, old: unknown, now: unknown): string {
  return typeof reason === "function" ? reason(old, now) : reason;
}

/** One field whose value differs between the old state and the new inputs. */
export interface FieldChange {
  key: string;
  spec: FieldSpec<any, any, any>;
  /** The normalised old and new values. */
  old: unknown;
  now: unknown;
  /** The new value is, or contains, the preview unknown sentinel: it may or may not differ. */
  unknown: boolean;
  /** How Pulumi's detailed diff names it, before a replacement is decided. */
  base: "add" | "delete" | "update";
}

function isNone(change: Change<unknown>): boolean {
  return typeof change === "object" && change !== null && (change as { kind?: string }).kind === "none";
}

/**
 * The declared fields whose value changes from `olds` (the previous outputs, which echo the inputs) to
 * `news`, in declaration order. Fields whose effect is `none` are never compared; keys the
 * declaration does not know (other outputs) are ignored. Values equal after normalisation are no
 * change; a new value that is or contains the unknown sentinel is one.
 */
export function changedFields(
  schema: AnySchema,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): FieldChange[] {
  const out: FieldChange[] = [];
  for (const [key, spec] of Object.entries(schema.fields)) {
    if (isNone(spec.change)) continue;
    const old = normalizedValue(spec, olds[key]);
    const now = normalizedValue(spec, news[key]);
    const unknown = containsUnknown(now);
    if (!unknown && canonicalJson(old) === canonicalJson(now)) continue;
    const absent = (v: unknown) => v === undefined || v === null;
    const base =
      absent(olds[key]) && !absent(news[key])
        ? "add"
        : absent(news[key]) && !absent(olds[key])
          ? "delete"
          : "update";
    out.push({ key, spec, old, now, unknown, base });
  }
  return out;
}
