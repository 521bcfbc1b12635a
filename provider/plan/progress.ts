/**
 * What a user is told while a step waits, and when (provider/progress.ts sends it): nothing for a wait
 * shorter than {@link FIRST_REPORT_MS}, then a line naming what is awaited, what was last seen and for
 * how long, again when what is seen changes (at most every {@link MIN_GAP_MS}) and at least every
 * {@link INTERVAL_MS}. Pure: the caller passes the time.
 */
import type { KubeObject } from "../kube/types";

/** A wait that ends sooner is not reported at all. */
export const FIRST_REPORT_MS = 2_000;
/** The fastest a changed state is reported again. */
export const MIN_GAP_MS = 2_000;
/** The longest a wait goes unreported. */
export const INTERVAL_MS = 10_000;

/** One wait, as far as its reports go. */
export interface WaitReport {
  /** What is awaited, e.g. "StatefulSet tailscale/ingress to run 2 ready replicas of its current template". */
  what: string;
  startedAt: number;
  /** What the wait last saw, in words (no secret values), e.g. "StatefulSet tailscale/ingress: 1 of 2 replicas ready". */
  state?: string;
  /** When the last report was sent, and the state it named. */
  sentAt?: number;
  sentState?: string;
}

/** When the next report of `w` is due. */
export function reportDueAt(w: WaitReport): number {
  if (w.sentAt === undefined) return w.startedAt + FIRST_REPORT_MS;
  if (w.state !== w.sentState) return w.sentAt + MIN_GAP_MS;
  return w.sentAt + INTERVAL_MS;
}

/** The report of `w` at `now`, and the wait as it is once that report is sent. */
export function report(w: WaitReport, now: number): { message: string; next: WaitReport } {
  const seen = w.state ? `; ${w.state}` : "";
  return {
    message: `[${formatElapsed(now - w.startedAt)}] waiting for ${w.what}${seen}`,
    next: { ...w, sentAt: now, sentState: w.state },
  };
}

/** The line that ends a wait that was reported, or undefined when none was (a short wait says nothing). */
export function finished(w: WaitReport, now: number, outcome: "done" | "failed"): string | undefined {
  if (w.sentAt === undefined) return undefined;
  return `[${formatElapsed(now - w.startedAt)}] ${outcome === "done" ? "done" : "stopped"} waiting for ${w.what}`;
}

/** `7s`, `1m05s`, `12m00s`. */
export function formatElapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}

/**
 * What a waited-for Kubernetes object shows, in words: whether it exists, is being deleted, and for the
 * kinds whose progress is in their status, that progress. Of a Secret or a ConfigMap only the key names
 * are told, never a value (a state Secret holds the device's private keys).
 */
export function observedState(obj: KubeObject | undefined): string {
  if (obj === undefined) return "not there yet";
  if (obj.metadata.deletionTimestamp) return "being deleted";
  const status = (obj as { status?: Record<string, unknown> }).status ?? {};
  const spec = (obj as { spec?: Record<string, unknown> }).spec ?? {};
  const n = (v: unknown) => (typeof v === "number" ? v : 0);
  if (obj.kind === "StatefulSet") {
    const want = typeof spec.replicas === "number" ? spec.replicas : 1;
    return `${n(status.readyReplicas)} of ${want} replicas ready, ${n(status.updatedReplicas)} of the current template`;
  }
  if (obj.kind === "Pod") {
    const conditions = Array.isArray(status.conditions)
      ? (status.conditions as Record<string, unknown>[])
      : [];
    const ready = conditions.some((c) => c.type === "Ready" && c.status === "True");
    const phase = typeof status.phase === "string" ? status.phase : "Pending";
    return ready ? `${phase}, ready` : `${phase}, not ready`;
  }
  if (obj.kind === "Secret" || obj.kind === "ConfigMap") {
    const { data, binaryData } = obj as { data?: object; binaryData?: object };
    const keys = Object.keys({ ...(data ?? {}), ...(binaryData ?? {}) });
    if (keys.length === 0) return "no keys yet";
    const shown = keys.sort().slice(0, MAX_KEYS_SHOWN);
    const more = keys.length > shown.length ? ` and ${keys.length - shown.length} more` : "";
    return `keys ${shown.join(", ")}${more}`;
  }
  return "exists";
}

const MAX_KEYS_SHOWN = 8;
