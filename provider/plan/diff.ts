/**
 * Pure diff classification for TailnetService and TailnetIngress: which input changes update the proxy in
 * place, which replace it, and in which order a replacement runs.
 *
 * `olds` are the previous outputs, which echo the inputs; only input keys are compared. `credentials`,
 * `timeoutSeconds` and `__provider` never cause a diff (rotating a credential or upgrading the package must
 * not touch the proxy). A value that is, or contains, the preview unknown sentinel counts as changed, and
 * as a replacement when the field forces one.
 *
 * Why a replacement, and in which order:
 * - `hostname`: the device (standalone) or Tailscale Service (HA) is named by it; a new name is a new
 *   device. Create-before-delete is safe because the names differ.
 * - `namespace` (standalone), `ownerId`: the objects move or are renamed/relabelled (the selector is
 *   immutable), so a new proxy is built.
 * - `tags` (standalone): tags only reach a device through a new auth key, i.e. a new device. In HA mode
 *   tags belong to the Tailscale Service and are updated in place.
 * - `proxyGroup` added or removed: a migration between a standalone device and a Tailscale Service; it is
 *   replaced create-before-delete so traffic has somewhere to go during the switch. Moving between two
 *   ProxyGroups keeps the Tailscale Service name, so the old one must go first.
 * `deleteBeforeReplace` is true exactly when the replacement keeps the same tailnet name outside a
 * standalone↔HA migration: otherwise control would give the new device a `-1` suffixed name while the old
 * one still holds it (the operator's users hit exactly that).
 */
import { canonicalJson } from "./gojson";
import type { TailnetIngressInput, TailnetServiceInput } from "./inputs";
import { containsUnknown, DEFAULT_TAGS, ingressHostname, isUnknown, serviceHostname } from "./validate";

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

/** Keys that are never compared. */
export const IGNORED_KEYS: readonly string[] = ["credentials", "timeoutSeconds", "__provider"];

const SERVICE_KEYS = [
  "ownerId",
  "namespace",
  "hostname",
  "tags",
  "proxyClass",
  "proxyGroup",
  "service",
  "joinToken",
] as const;
const INGRESS_KEYS = [
  "ownerId",
  "namespace",
  "hostname",
  "tags",
  "proxyClass",
  "proxyGroup",
  "defaultBackend",
  "rules",
  "funnel",
  "httpRedirect",
  "backendProtocol",
  "waitForCertificate",
  "joinToken",
] as const;

/** Values equal to a field's default compare as the default, so spelling out a default is no change. */
function normalized(key: string, v: unknown): unknown {
  if (v === undefined || v === null) {
    switch (key) {
      case "tags":
        return [...DEFAULT_TAGS];
      case "funnel":
      case "httpRedirect":
        return false;
      case "waitForCertificate":
        return true;
      default:
        return undefined;
    }
  }
  return v;
}

function sameValue(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

const unknownOr = <T>(v: T | undefined, fallback: "unknown"): T | "unknown" =>
  v === undefined ? fallback : v;

/** Effective value that may be unknown during preview. */
type Eff = string | "unknown" | undefined;

function effectiveEqual(a: Eff, b: Eff): boolean | "unknown" {
  if (a === "unknown" || b === "unknown") return "unknown";
  return (a ?? "").toLowerCase() === (b ?? "").toLowerCase();
}

interface Facts {
  /** Effective tailnet hostname (lowercased when compared). */
  hostname: Eff;
  /** Effective standalone namespace. */
  namespace: Eff;
  /** HA mode (proxyGroup set)? */
  ha: boolean | "unknown";
}

function pgState(v: unknown): boolean | "unknown" {
  if (isUnknown(v)) return "unknown";
  return v !== undefined && v !== null;
}

function serviceFacts(i: Partial<TailnetServiceInput>): Facts {
  const h =
    containsUnknown(i.hostname) || containsUnknown(i.service)
      ? undefined
      : serviceHostname(i as TailnetServiceInput);
  let namespace: Eff;
  if (i.namespace !== undefined) namespace = isUnknown(i.namespace) ? "unknown" : i.namespace;
  else if (!i.service || isUnknown(i.service) || isUnknown(i.service.namespace)) namespace = "unknown";
  else namespace = i.service.namespace;
  return { hostname: unknownOr(h?.hostname, "unknown"), namespace, ha: pgState(i.proxyGroup) };
}

function firstBackendNamespace(i: Partial<TailnetIngressInput>): Eff {
  if (containsUnknown(i.defaultBackend) || containsUnknown(i.rules)) return "unknown";
  if (i.defaultBackend) return i.defaultBackend.service?.namespace;
  for (const r of i.rules ?? []) for (const p of r.paths ?? []) return p.backend?.service?.namespace;
  return undefined;
}

function ingressFacts(i: Partial<TailnetIngressInput>): Facts {
  const h =
    containsUnknown(i.hostname) || containsUnknown(i.ownerId)
      ? undefined
      : ingressHostname(i as TailnetIngressInput);
  let namespace: Eff;
  if (i.namespace !== undefined) namespace = isUnknown(i.namespace) ? "unknown" : i.namespace;
  else namespace = firstBackendNamespace(i);
  return { hostname: unknownOr(h?.hostname, "unknown"), namespace, ha: pgState(i.proxyGroup) };
}

type Olds = Record<string, unknown>;
type News = Record<string, unknown>;

function classify(
  olds: Olds,
  news: News,
  keys: readonly string[],
  oldFacts: Facts,
  newFacts: Facts,
  inPlaceReason: (key: string) => string,
  namespaceSourceKey: string,
  hostnameSourceKeys: readonly string[],
): DiffClassification {
  const detailedDiff: DiffClassification["detailedDiff"] = {};
  const replaces: string[] = [];
  const sameHost = effectiveEqual(oldFacts.hostname, newFacts.hostname);
  const sameNamespace = effectiveEqual(oldFacts.namespace, newFacts.namespace);
  const newHa = newFacts.ha;
  const migration =
    oldFacts.ha === "unknown" || newHa === "unknown" ? ("unknown" as const) : oldFacts.ha !== newHa;

  const record = (key: string, replace: boolean, reason: string) => {
    const o = olds[key];
    const n = news[key];
    const base: "add" | "delete" | "update" =
      (o === undefined || o === null) && n !== undefined && n !== null
        ? "add"
        : (n === undefined || n === null) && o !== undefined && o !== null
          ? "delete"
          : "update";
    detailedDiff[key] = { kind: replace ? (`${base}-replace` as DiffKind) : base, reason };
    if (replace && !replaces.includes(key)) replaces.push(key);
  };

  for (const key of keys) {
    if (IGNORED_KEYS.includes(key)) continue;
    const o = normalized(key, olds[key]);
    const n = normalized(key, news[key]);
    const unknown = containsUnknown(n);
    if (!unknown && sameValue(o, n)) continue;
    const pending = unknown ? " (not known until the update runs)" : "";
    switch (key) {
      case "hostname":
        if (sameHost === true)
          record(key, false, `same tailnet name after normalisation; nothing to recreate${pending}`);
        else
          record(
            key,
            true,
            `the ${newHa === true ? "Tailscale Service" : "device"} is named by the hostname: a new name needs a new one${pending}`,
          );
        break;
      case "namespace":
        if (newHa === true)
          record(key, false, `ignored in HA mode (the ProxyGroup's namespace is used)${pending}`);
        else if (sameNamespace === true)
          record(key, false, `same effective namespace; nothing moves${pending}`);
        else
          record(
            key,
            true,
            `the proxy's objects live in this namespace, so they are recreated there${pending}`,
          );
        break;
      case "ownerId":
        record(key, true, `the owner identity is in the proxy's labels and immutable selector${pending}`);
        break;
      case "tags":
        if (newHa === true && migration === false) {
          record(key, false, `tags of the Tailscale Service are updated in place${pending}`);
        } else {
          record(
            key,
            true,
            `tags only reach a device through a new auth key, so a new device is created${pending}`,
          );
        }
        break;
      case "proxyGroup":
        if (migration === false) {
          record(
            key,
            true,
            `moving between ProxyGroups re-advertises the same Tailscale Service from other replicas${pending}`,
          );
        } else {
          record(
            key,
            true,
            `switching between a standalone proxy and a ProxyGroup is a migration: the new one is created before the old one is removed${pending}`,
          );
        }
        break;
      default:
        if (
          key === namespaceSourceKey &&
          newHa !== true &&
          news.namespace === undefined &&
          sameNamespace !== true
        ) {
          record(
            key,
            true,
            `the proxy lives in the backend Service's namespace by default, and that namespace changes${pending}`,
          );
        } else record(key, false, `${inPlaceReason(key)}${pending}`);
    }
  }

  // With no explicit hostname, the name is derived from other inputs (the backend Service, a rule host,
  // the resource name): a change there that changes the name is a replacement too.
  if (sameHost !== true && (news.hostname === undefined || olds.hostname === undefined)) {
    for (const key of hostnameSourceKeys) {
      const d = detailedDiff[key];
      if (d && !d.kind.endsWith("-replace")) {
        d.kind = `${d.kind}-replace` as DiffKind;
        d.reason = `the tailnet hostname is derived from it (hostname is not set) and ${sameHost === "unknown" ? "may change" : "changes"}`;
        replaces.push(key);
      }
    }
  }

  let deleteBeforeReplace = false;
  if (replaces.length > 0) {
    if (migration === true) {
      deleteBeforeReplace = false;
      for (const k of replaces) {
        detailedDiff[k]!.reason += "; created before the old one is deleted (standalone↔HA migration)";
      }
    } else if (sameHost === false) {
      deleteBeforeReplace = false;
      for (const k of replaces) {
        detailedDiff[k]!.reason +=
          "; the tailnet name changes, so the new one is created before the old one is deleted";
      }
    } else {
      // Same (or possibly same) name: creating first would make control name the new device `<name>-1`,
      // or the new resource would adopt the Tailscale Service that the old one's delete then removes.
      deleteBeforeReplace = true;
      for (const k of replaces) {
        detailedDiff[k]!.reason +=
          sameHost === "unknown" || migration === "unknown"
            ? "; the old one is deleted first in case the tailnet name stays the same (it is not known yet), so the name is not taken"
            : "; the tailnet name stays the same, so the old one is deleted first (otherwise control would name the new device with a -1 suffix)";
      }
    }
  }
  return { changes: Object.keys(detailedDiff).length > 0, replaces, deleteBeforeReplace, detailedDiff };
}

function serviceInPlaceReason(key: string): string {
  switch (key) {
    case "service":
      return "the layer-3 target changes: the proxy's TS_DEST_IP (or DNS name) is updated and the Pod restarts";
    case "proxyClass":
      return "the proxy Pod template is updated in place (rolling restart)";
    case "joinToken":
      return "HA only: changes which Tailscale Service may be joined; checked again on update";
    default:
      return "updated in place";
  }
}

function ingressInPlaceReason(key: string): string {
  switch (key) {
    case "defaultBackend":
    case "rules":
    case "funnel":
    case "httpRedirect":
    case "backendProtocol":
      return "only the serve config changes; tailscaled reloads it without a restart";
    case "proxyClass":
      return "the proxy Pod template is updated in place (rolling restart)";
    case "waitForCertificate":
      return "changes only how the next update waits";
    default:
      return "updated in place";
  }
}

/** Classifies the change from the previous outputs `olds` to the new inputs `news` of a TailnetService. */
export function diffTailnetService(olds: Olds, news: News): DiffClassification {
  return classify(
    olds,
    news,
    SERVICE_KEYS,
    serviceFacts(olds as Partial<TailnetServiceInput>),
    serviceFacts(news as Partial<TailnetServiceInput>),
    serviceInPlaceReason,
    "service",
    ["service"],
  );
}

/** Classifies the change from the previous outputs `olds` to the new inputs `news` of a TailnetIngress. */
export function diffTailnetIngress(olds: Olds, news: News): DiffClassification {
  const oldFacts = ingressFacts(olds as Partial<TailnetIngressInput>);
  const newFacts = ingressFacts(news as Partial<TailnetIngressInput>);
  // The namespace defaults to the first backend's: changing the backends may move the proxy.
  const namespaceSource =
    news.defaultBackend !== undefined || olds.defaultBackend !== undefined ? "defaultBackend" : "rules";
  return classify(olds, news, INGRESS_KEYS, oldFacts, newFacts, ingressInPlaceReason, namespaceSource, [
    "rules",
    "ownerId",
  ]);
}
