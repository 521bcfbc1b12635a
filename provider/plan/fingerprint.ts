/**
 * Stable fingerprints of rendered objects, so that a preview can say which cluster objects an `up` would
 * change without showing their content (the config Secret holds an auth key during creation).
 */
import { canonicalJson, sha256Hex } from "./gojson";

/** A Kubernetes object as planned: only the identifying fields are needed here. */
interface AnyObject {
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  stringData?: Record<string, string>;
  data?: Record<string, string>;
}

/** One line of a plan summary. */
export interface ObjectSummary {
  kind: string;
  namespace: string;
  name: string;
  /** First 12 hex characters of the SHA-256 of the object's canonical JSON (secrets redacted). */
  fingerprint: string;
}

/**
 * Drops `AuthKey` from JSON config values of a Secret. The auth key is minted per create and absent in
 * preview, so including it would make the fingerprint differ between preview and `up` for no real change
 * (and a hash of a secret does not belong in an output either).
 */
function redactSecret<T extends AnyObject>(obj: T): T {
  if (obj.kind !== "Secret") return obj;
  const redact = (m: Record<string, string> | undefined) => {
    if (!m) return m;
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(m)) {
      let value = v;
      try {
        const parsed = JSON.parse(v) as unknown;
        // Every JSON object value is canonicalised the same way, with or without a key, so that the
        // key's presence alone does not change the fingerprint.
        if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) {
          const { AuthKey: _omitted, ...rest } = parsed as Record<string, unknown>;
          value = canonicalJson(rest);
        }
      } catch {
        // Not JSON: keep as is.
      }
      out[k] = value;
    }
    return out;
  };
  return { ...obj, stringData: redact(obj.stringData), data: redact(obj.data) };
}

/** Fingerprint of one object: 12 hex characters of the SHA-256 of its canonical JSON, secrets redacted. */
export function fingerprintObject(obj: object): string {
  return sha256Hex(canonicalJson(redactSecret(obj as AnyObject))).slice(0, 12);
}

/** One summary line per object of a plan, in the plan's apply order. */
export function summarizePlan(plan: { objects: readonly object[] }): ObjectSummary[] {
  return plan.objects.map((o) => {
    const obj = o as AnyObject;
    return {
      kind: obj.kind ?? "",
      namespace: obj.metadata?.namespace ?? "",
      name: obj.metadata?.name ?? "",
      fingerprint: fingerprintObject(obj),
    };
  });
}

/** `Kind/namespace/name` → fingerprint of every object a plan writes: the `plannedObjects` a preview shows. */
export function fingerprintedObjects(plan: { objects: readonly object[] }): Record<string, string> {
  return Object.fromEntries(
    summarizePlan(plan).map((o) => [`${o.kind}/${o.namespace}/${o.name}`, o.fingerprint]),
  );
}
