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
