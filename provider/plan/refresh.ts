/**
 * What a refresh reports as changed for a TailnetService or TailnetIngress: the outputs users watch
 * (the device, its addresses, the certificate), when the refresh read new values of them.
 *
 * Refresh calls Read, then Diff with the refreshed outputs as `olds` and the resource's inputs from
 * before the refresh as `news`, and shows `same` when that Diff finds nothing (pulumi/pulumi@a88168d8
 * pkg/resource/deploy/step.go:1536-1547, 1635-1671). Inputs never change on their own, so a diff of
 * inputs alone shows every renewed certificate and replaced device as `same`. So:
 * - Read records in the refreshed outputs what those outputs were before (`refreshedFrom`), and in the
 *   refreshed inputs what it read (`observed`), which check keeps from then on (schema/proxy.ts);
 * - Diff reports an observed output that differs from `refreshedFrom` (what this refresh started from),
 *   unless the inputs' `observed` already holds the new value: the `up` after that refresh, whose
 *   outputs still carry `refreshedFrom`, has nothing new to report. Outputs written by create or update
 *   carry no `refreshedFrom`, so an ordinary `up` is never affected.
 * Pure.
 */
import { canonicalJson, isPlainObject } from "./gojson";

/** The outputs a refresh compares, in the order it reports them. */
export const OBSERVED_OUTPUTS = ["deviceId", "fqdn", "tailnetIPs", "addresses", "certificate"] as const;

/** The observed outputs of one resource (`null` where it has none). */
export type ObservedState = Partial<Record<(typeof OBSERVED_OUTPUTS)[number], unknown>>;

/** The output key under which Read records the observed outputs the refresh started from. */
export const REFRESHED_FROM = "refreshedFrom";

/** The observed outputs of `outs`. */
export function observedState(outs: Record<string, unknown>): ObservedState {
  return Object.fromEntries(OBSERVED_OUTPUTS.map((k) => [k, outs[k] ?? null]));
}

/** How one observed output changed, in words. */
function describe(key: string, before: unknown, now: unknown): string {
  if (key === "certificate" && isPlainObject(before) && isPlainObject(now)) {
    const parts = ["state", "notAfter", "serialNumber", "issuer"]
      .filter((k) => before[k] !== now[k])
      .map((k) => `${k} ${JSON.stringify(before[k] ?? null)} → ${JSON.stringify(now[k] ?? null)}`);
    return `refresh read a new certificate (${parts.join(", ") || "new fingerprint"})`;
  }
  return `refresh read a new ${key}: ${JSON.stringify(before)} → ${JSON.stringify(now)}`;
}

/**
 * The observed outputs a refresh found changed, with why, given the Diff's `olds` (outputs) and `news`
 * (inputs); empty when `olds` were not written by a refresh.
 */
export function refreshFindings(
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): { key: string; reason: string }[] {
  const before = olds[REFRESHED_FROM];
  if (!isPlainObject(before)) return [];
  const now = observedState(olds);
  const known = isPlainObject(news.observed) ? news.observed : undefined;
  const out: { key: string; reason: string }[] = [];
  for (const key of OBSERVED_OUTPUTS) {
    const value = canonicalJson(now[key]);
    if (value === canonicalJson(before[key] ?? null)) continue;
    if (known && value === canonicalJson(known[key] ?? null)) continue;
    out.push({ key, reason: describe(key, before[key] ?? null, now[key]) });
  }
  return out;
}

/**
 * The output key under which create and update record the backend Services the proxy was written
 * from (as {@link backendRecord}); a refresh keeps it.
 */
export const BACKENDS = "backends";

/**
 * The output key under which a refresh's Read records the backend Services as it read them (or why it
 * could not). Create and update never write it, so only a Diff after a refresh compares it with
 * {@link BACKENDS}: a difference is an update that rewrites the proxy from the Services as they are.
 * Unlike the watched outputs above it is reported until that update runs: the proxy is wrong until then.
 */
export const BACKENDS_READ = "backendsRead";

/** What a backend Service record holds: the facts the proxy is planned from (plan/backends.ts). */
export interface BackendRecord {
  namespace: string;
  name: string;
  type?: string;
  clusterIP?: string;
  clusterIPs?: string[];
  externalName?: string;
  ports?: { name?: string; port: number; protocol?: string }[];
  /** Set instead of the facts when the Service could not be read (it was deleted, say). */
  error?: string;
}

/** The backend Services' facts, sorted by `<namespace>/<name>` so the order of reading is no change. */
export function backendRecord(facts: Iterable<BackendRecord>): BackendRecord[] {
  // Without absent keys, as the state stores it, so a record compares equal to its stored copy.
  const sorted = [...facts].sort((a, b) =>
    `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`),
  );
  return JSON.parse(JSON.stringify(sorted));
}

/**
 * Why the backend Services a refresh read differ from those the proxy was written from, or undefined
 * when they do not (or `olds` were not written by a refresh, or by a version that recorded neither).
 */
export function backendDrift(olds: Record<string, unknown>): string | undefined {
  const read = olds[BACKENDS_READ];
  const written = olds[BACKENDS];
  if (!Array.isArray(read) || !Array.isArray(written)) return undefined;
  if (canonicalJson(read) === canonicalJson(written)) return undefined;
  const key = (r: BackendRecord) => `${r.namespace}/${r.name}`;
  const before = new Map((written as BackendRecord[]).map((r) => [key(r), r]));
  const changes = (read as BackendRecord[])
    .filter((r) => canonicalJson(r) !== canonicalJson(before.get(key(r)) ?? null))
    .map((r) => {
      if (r.error) return `Service ${key(r)}: ${r.error}`;
      const old = before.get(key(r));
      const parts = ["type", "clusterIPs", "externalName", "ports"]
        .filter((k) => canonicalJson((old as any)?.[k] ?? null) !== canonicalJson((r as any)[k] ?? null))
        .map(
          (k) =>
            `${k} ${JSON.stringify((old as any)?.[k] ?? null)} → ${JSON.stringify((r as any)[k] ?? null)}`,
        );
      return `Service ${key(r)}: ${parts.join(", ") || "changed"}`;
    });
  return (
    `refresh read backend Services that differ from what the proxy was written from (${changes.join("; ")}): ` +
    "the update rewrites the proxy from the Services as they are now"
  );
}

/**
 * The output key under which a refresh's Read of a standalone layer-3 proxy records, when they differ,
 * the tailnet IPs the proxy forwards and those it would forward if rewritten from its backend Service
 * and device as they are (`{ forwarded, planned }`): a proxy of a dual-stack backend written by a
 * version that forwarded one family, or a DNAT config that maps an address the device no longer has.
 * Like {@link BACKENDS_READ}, create and update never write it, and the Diff after a refresh reports it
 * as an update until one rewrites the proxy.
 */
export const FORWARDING_READ = "forwardingRead";

/** Why the proxy a refresh read does not forward what a rewrite would, or undefined when it does. */
export function forwardingDrift(olds: Record<string, unknown>): string | undefined {
  const read = olds[FORWARDING_READ];
  if (!isPlainObject(read) || !Array.isArray(read.forwarded) || !Array.isArray(read.planned))
    return undefined;
  return (
    `refresh read that the proxy forwards ${JSON.stringify(read.forwarded)} of its device's addresses, ` +
    `where its backend Service's families make it ${JSON.stringify(read.planned)}: the update rewrites its DNAT config`
  );
}
