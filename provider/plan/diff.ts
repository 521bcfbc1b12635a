/**
 * Pure diff classification of every kind, from its declaration (schema/): which input changes update
 * in place, which replace, and in which order a replacement runs.
 *
 * `olds` are the previous outputs, which echo the inputs; only declared inputs are compared, each
 * normalised by its default, so spelling out a default is no change. Fields whose effect is `none`
 * (`credentials`, `__provider`, `plannedObjects`) never cause a diff: rotating a
 * credential or upgrading the package must not touch what exists. A value that is, or contains, the
 * preview unknown sentinel counts as changed, and as a replacement when the field's effect is one.
 *
 * TailnetService and TailnetIngress add the named special rules of schema/proxy.ts (`tailnetName`,
 * `proxyNamespace`, `migration`) and three more, here:
 * - derived name: with no explicit hostname the name derives from other fields (the backend Service,
 *   a rule host, the resource name); a change there that changes the name is a replacement too;
 * - derived namespace: a standalone proxy without `namespace` lives in its first backend's namespace;
 *   a backend change that moves it is a replacement;
 * - Tailscale Service fields (HA tags) are in place only while the resource stays HA; in a
 *   standalone↔HA migration the new side makes the service, so they take their standalone effect.
 * A Diff after a refresh's Read also reports the watched outputs (device, addresses, certificate) that
 * refresh read anew (plan/refresh.ts), as updates, so the refresh step shows them. State written by a
 * version that labelled its objects as the operator does is an update that relabels them (labels.ts).
 * `deleteBeforeReplace` is true exactly when the replacement keeps the same tailnet name outside a
 * standalone↔HA migration: otherwise control would give the new device a `-1` suffixed name while the old
 * one still holds it (the operator's users hit exactly that). A ProxyGroup is deleted first when its
 * device hostnames stay the same, for the same reason.
 */
import { containsUnknown, isUnknown } from "./inputs";
import { OBJECT_LABELS, relabelReason } from "./labels";
import { BACKENDS, backendDrift, FORWARDING_READ, forwardingDrift, refreshFindings } from "./refresh";
import { CERTIFICATE_BUDGET } from "./schema/certificateBudget";
import {
  changedFields,
  type Effect,
  effectIn,
  type FieldChange,
  type KindSchema,
  normalizedValue,
  reasonText,
} from "./schema/field";
import type { Derived, ProxyEffect, ProxySchema } from "./schema/proxy";
import { PROXY_GROUP } from "./schema/proxyGroup";
import { TAILNET_INGRESS } from "./schema/tailnetIngress";
import { TAILNET_SERVICE } from "./schema/tailnetService";

/** Kind of change of one property, as Pulumi's detailed diff names them. */
export type DiffKind = "update" | "update-replace" | "add" | "add-replace" | "delete" | "delete-replace";

/** The classification of a diff. */
export interface DiffClassification {
  changes: boolean;
  /** Top-level properties whose change forces a replacement. */
  replaces: string[];
  deleteBeforeReplace: boolean;
  /** Per top-level property: the kind of change and why. */
  detailedDiff: Record<string, { kind: DiffKind; reason: string }>;
}

const PENDING = " (not known until the update runs)";

/** Collects the classification of each changed field. */
class Classification {
  readonly detailedDiff: DiffClassification["detailedDiff"] = {};
  readonly replaces: string[] = [];

  record(c: FieldChange, replace: boolean, reason: string): void {
    this.detailedDiff[c.key] = {
      kind: replace ? (`${c.base}-replace` as DiffKind) : c.base,
      reason: reason + (c.unknown ? PENDING : ""),
    };
    if (replace && !this.replaces.includes(c.key)) this.replaces.push(c.key);
  }

  /** The classification; `order` says why a replacement runs in its order (appended to each reason). */
  result(deleteBeforeReplace: boolean, order?: string): DiffClassification {
    if (order) for (const k of this.replaces) this.detailedDiff[k]!.reason += order;
    return {
      changes: Object.keys(this.detailedDiff).length > 0,
      replaces: this.replaces,
      deleteBeforeReplace,
      detailedDiff: this.detailedDiff,
    };
  }
}

/** Records a change by one of the common effects. */
function recordEffect(out: Classification, c: FieldChange, effect: Effect): void {
  if (effect.kind === "replace") out.record(c, true, reasonText(effect.reason, c.old, c.now));
  else if (effect.kind !== "none") out.record(c, false, reasonText(effect.reason, c.old, c.now));
}

/** Compares two derived values case-insensitively; `unknown` when either is not known yet. */
function sameDerived(a: Derived, b: Derived): boolean | "unknown" {
  if (a === "unknown" || b === "unknown") return "unknown";
  return (a ?? "").toLowerCase() === (b ?? "").toLowerCase();
}

/** Whether `proxyGroup` is set (HA), or not known yet. */
function haOf(v: unknown): boolean | "unknown" {
  if (isUnknown(v)) return "unknown";
  return v !== undefined && v !== null;
}

/** The tailnet name the inputs give: known, or `unknown` while an input it derives from is. */
function tailnetName(schema: ProxySchema<any>, i: Record<string, unknown>): Derived {
  if ([i.hostname, ...schema.nameDependsOn.map((k) => i[k])].some(containsUnknown)) return "unknown";
  return schema.hostnameOf(i)?.hostname ?? "unknown";
}

/** The standalone proxy's namespace the inputs give: `namespace`, else the kind's default. */
export function proxyNamespace(schema: ProxySchema<any>, i: Record<string, unknown>): Derived {
  if (i.namespace === undefined) return schema.defaultNamespace(i);
  return isUnknown(i.namespace) ? "unknown" : (i.namespace as string);
}

function classifyProxy(
  schema: ProxySchema<any>,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
) {
  const sameName = sameDerived(tailnetName(schema, olds), tailnetName(schema, news));
  const sameNamespace = sameDerived(proxyNamespace(schema, olds), proxyNamespace(schema, news));
  const oldHa = haOf(olds.proxyGroup);
  const newHa = haOf(news.proxyGroup);
  const migration = oldHa === "unknown" || newHa === "unknown" ? ("unknown" as const) : oldHa !== newHa;
  const namespaceSource = schema.namespaceSource(olds, news);
  const out = new Classification();

  const apply = (c: FieldChange, effect: ProxyEffect): void => {
    switch (effect.kind) {
      case "tailnetName":
        if (sameName === true)
          out.record(c, false, "same tailnet name after normalisation; nothing to recreate");
        else {
          const named = newHa === true ? "Tailscale Service" : "device";
          out.record(c, true, `the ${named} is named by the hostname: a new name needs a new one`);
        }
        return;
      case "proxyNamespace":
        if (sameNamespace === true) out.record(c, false, "same effective namespace; nothing moves");
        else out.record(c, true, "the proxy's objects live in this namespace, so they are recreated there");
        return;
      case "migration":
        out.record(
          c,
          true,
          migration === false
            ? "moving between ProxyGroups re-advertises the same Tailscale Service from other replicas"
            : "switching between a standalone proxy and a ProxyGroup is a migration: the new one is created before the old one is removed",
        );
        return;
      case "inPlace":
        if (effect.target === "tailscaleService" && migration !== false) {
          apply(c, effectIn<ProxyEffect>(c.spec.change, false));
          return;
        }
        if (
          c.key === namespaceSource &&
          newHa !== true &&
          news.namespace === undefined &&
          sameNamespace !== true
        ) {
          out.record(
            c,
            true,
            "the proxy lives in the backend Service's namespace by default, and that namespace changes",
          );
          return;
        }
        recordEffect(out, c, effect);
        return;
      default:
        recordEffect(out, c, effect);
    }
  };
  for (const c of changedFields(schema, olds, news))
    apply(c, effectIn<ProxyEffect>(c.spec.change, newHa === true));
  // Refresh: the outputs users watch that the refresh read anew (plan/refresh.ts); outputs are no inputs,
  // so nothing else would show them.
  for (const f of refreshFindings(olds, news))
    out.detailedDiff[f.key] ??= { kind: "update", reason: f.reason };
  // Refresh: backend Services changed in the cluster since the proxy was written (plan/refresh.ts); the
  // inputs name them only, so nothing else would show it, and the update re-reads them.
  const drift = backendDrift(olds);
  if (drift) out.detailedDiff[BACKENDS] = { kind: "update", reason: drift };
  // Refresh: a standalone layer-3 proxy that does not forward what its Service's families ask for.
  const forwarding = forwardingDrift(olds);
  if (forwarding) out.detailedDiff[FORWARDING_READ] = { kind: "update", reason: forwarding };
  relabelIfWrittenBefore(out, olds);

  // Derived name: with no explicit hostname, a change of a field the name derives from that changes
  // the name is a replacement too.
  if (sameName !== true && (news.hostname === undefined || olds.hostname === undefined)) {
    for (const key of schema.nameSources) {
      const d = out.detailedDiff[key];
      if (d && !d.kind.endsWith("-replace")) {
        d.kind = `${d.kind}-replace` as DiffKind;
        d.reason = `the tailnet hostname is derived from it (hostname is not set) and ${sameName === "unknown" ? "may change" : "changes"}`;
        out.replaces.push(key);
      }
    }
  }

  if (out.replaces.length === 0) return out.result(false);
  if (migration === true) {
    return out.result(false, "; created before the old one is deleted (standalone↔HA migration)");
  }
  if (sameName === false) {
    return out.result(
      false,
      "; the tailnet name changes, so the new one is created before the old one is deleted",
    );
  }
  // Same (or possibly same) name: creating first would make control name the new device `<name>-1`,
  // or the new resource would adopt the Tailscale Service that the old one's delete then removes.
  return out.result(
    true,
    sameName === "unknown" || migration === "unknown"
      ? "; the old one is deleted first in case the tailnet name stays the same (it is not known yet), so the name is not taken"
      : "; the tailnet name stays the same, so the old one is deleted first (otherwise control would name the new device with a -1 suffix)",
  );
}

/** Objects written by a version that labelled them as the operator does are relabelled by an update (labels.ts). */
function relabelIfWrittenBefore(out: Classification, olds: Record<string, unknown>): void {
  const reason = relabelReason(olds);
  if (reason) out.detailedDiff[OBJECT_LABELS] ??= { kind: "update", reason };
}

/** A kind's diff: the change from its previous outputs `olds` to its new inputs `news`. */
export type Diff = (olds: Record<string, unknown>, news: Record<string, unknown>) => DiffClassification;

/** Classifies a TailnetService's change. */
export const diffTailnetService: Diff = (olds, news) => classifyProxy(TAILNET_SERVICE, olds, news);

/** Classifies a TailnetIngress's change. */
export const diffTailnetIngress: Diff = (olds, news) => classifyProxy(TAILNET_INGRESS, olds, news);

/** Classifies by the common effects only (no special rules). */
function classifyFields(
  schema: KindSchema<any>,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
) {
  const out = new Classification();
  for (const c of changedFields(schema, olds, news))
    recordEffect(out, c, effectIn<Effect>(c.spec.change, false));
  return out;
}

/**
 * Classifies a ProxyGroup's change. A replacement deletes the old ProxyGroup first when the device
 * hostnames (`hostnamePrefix`, else the name) stay the same, or may.
 */
export const diffProxyGroup: Diff = (olds, news) => {
  const out = classifyFields(PROXY_GROUP, olds, news);
  relabelIfWrittenBefore(out, olds);
  const missing = replicasWithoutDevice(olds);
  if (missing.length > 0 && !out.detailedDiff.devices) {
    out.detailedDiff.devices = {
      kind: "update",
      reason:
        `replica${missing.length > 1 ? "s" : ""} ${missing.join(", ")} of the last refresh ha${missing.length > 1 ? "ve" : "s"} ` +
        "no tailnet device (deleted out of band?): the update logs them in again under the same hostname",
    };
  }
  if (out.replaces.length === 0) return out.result(false);
  const prefix = PROXY_GROUP.fields.hostnamePrefix;
  const oldPrefix = normalizedValue(prefix, olds.hostnamePrefix) || olds.name;
  const newPrefix = normalizedValue(prefix, news.hostnamePrefix) || news.name;
  const sameHostnames = containsUnknown(newPrefix) || oldPrefix === newPrefix;
  return out.result(
    sameHostnames,
    sameHostnames
      ? "; the device hostnames stay the same, so the old ProxyGroup is deleted first (otherwise control would name the new devices with a -1 suffix)"
      : "; the device hostnames change, so the new ProxyGroup is created before the old one is deleted",
  );
};

/**
 * Ordinals of the recorded replicas that the recorded `devices` output lacks: a refresh found their
 * devices gone. Empty for anything that is not a recorded ProxyGroup's outputs.
 */
function replicasWithoutDevice(olds: Record<string, unknown>): number[] {
  const { devices, replicas } = olds;
  if (!Array.isArray(devices) || typeof replicas !== "number" || !Number.isSafeInteger(replicas)) return [];
  if (replicas < 0 || replicas > 1000) return [];
  const present = new Set(
    devices.map((d) => (d && typeof d === "object" ? (d as { ordinal?: unknown }).ordinal : undefined)),
  );
  return Array.from({ length: replicas }, (_, i) => i).filter((i) => !present.has(i));
}

/** Classifies a CertificateBudget's change: it has no replacements, and its evaluation time is no change. */
export const diffCertificateBudget: Diff = (olds, news) =>
  classifyFields(CERTIFICATE_BUDGET, olds, news).result(false);
